/*
 * cmd-repo.c - scaffold repo ls|sync: the repositories, from a data dir or
 * a daemon; a sync asks the daemon to fetch and reconcile one now.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../webhook/webhook.h"

int
repo_ls(const struct cmd_entry *self, const struct cmd_opts *o)
{
	struct client *c = NULL;
	struct store *st = NULL;
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	if (o->server) {
		if (!(c = client_new(self, o->server)) ||
		    client_json(c, "GET", "/api/v1/repos", NULL, 0, NULL,
				&v) < 0)
			goto out;
	} else {
		if (!(st = cmd_open_store(self, o, 0)))
			goto out;
		if (view_repos(&v, st, NULL) < 0) {
			fprintf(stderr, "scaffold %s: %s\n", self->name,
				err_msg());
			goto out;
		}
	}
	print_repos_view(v, o->json);
	ret = EXIT_OK;
out:
	json_decref(v);
	client_free(c);
	store_close(st);
	return ret;
}

static int
repo_sync(const struct cmd_entry *self, const struct cmd_opts *o,
	  const char *name)
{
	struct client *c;
	struct buf path = BUF_INIT;
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	if (!o->server)
		return cmd_usage_error(self, "'sync' asks a running scaffold "
					     "serve: give --server URL (or set "
					     "SCAFFOLD_SERVER)");
	if (!(c = client_new(self, o->server)))
		return EXIT_FINDING;
	buf_puts(&path, "/api/v1/repos/");
	client_path_add(&path, name, 0);
	buf_puts(&path, "/sync");
	if (client_json(c, "POST", path.ptr, NULL, 0, NULL, &v) == 0) {
		if (!o->quiet)
			fprintf(stderr, "repo '%s': sync requested\n", name);
		ret = EXIT_OK;
	}
	json_decref(v);
	buf_release(&path);
	client_free(c);
	return ret;
}

static int
cmd_repo(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "odqS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (first < argc && !strcmp(argv[first], "ls") && argc - first == 1)
		ret = repo_ls(self, &o);
	else if (first < argc && !strcmp(argv[first], "sync") &&
		 argc - first == 2)
		ret = repo_sync(self, &o, argv[first + 1]);
	else
		ret = cmd_usage_error(self, "expected 'ls' or 'sync REPO'");
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_repo_entry = {
	"repo",
	"list the repositories, or sync one now (through the daemon)",
	"usage: scaffold repo ls [-d DIR | --server URL] [-o text|json]\n"
	"       scaffold repo sync --server URL [-q] REPO\n"
	"\n"
	"'ls' shows, for each repository, its branch, the commit last\n"
	"reconciled, the last fetch error if any, and the latest revisions\n"
	"with their result (as 'scaffold repos').  Through a daemon it also\n"
	"lists configured repositories never fetched yet.  'sync' asks the\n"
	"daemon to fetch and reconcile REPO now.\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"      --server URL      ask scaffold serve at URL (default\n"
	"                        $SCAFFOLD_SERVER; token: $SCAFFOLD_TOKEN or\n"
	"                        ~/.scaffold/creds)\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -q, --quiet           print nothing on success (sync)\n"
	"  -h, --help            show this help\n",
	cmd_repo,
};
