/* cmd-repos.c - scaffold repos: the repositories and their revisions
 * (the same as `scaffold repo ls`). */
#include <stdio.h>

#include "cli.h"

static int
cmd_repos(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "odS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc != first)
		ret = cmd_usage_error(self, "expected no operands");
	else
		ret = repo_ls(self, &o);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_repos_entry = {
	"repos",
	"show the repositories, their fetch state and revisions",
	"usage: scaffold repos [-d DIR | --server URL] [-o text|json]\n"
	"\n"
	"For each repository the daemon mirrors: its branch, the commit last\n"
	"reconciled, the last fetch error if any, and the latest revisions\n"
	"seen with their result (applied, invalid with the errors, or no\n"
	"cascade change).  The same as 'scaffold repo ls'.\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"      --server URL      ask scaffold serve at URL (default\n"
	"                        $SCAFFOLD_SERVER)\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -h, --help            show this help\n",
	cmd_repos,
};
