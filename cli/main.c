/* main.c - scaffold's entry point: dispatch to cli/cmd-*.c by name. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../gitsync/gitsync.h"

static const struct cmd_entry *const commands[] = {
	&cmd_validate_entry,
	&cmd_plan_entry,
	&cmd_graph_entry,
	&cmd_apply_entry,
	&cmd_status_entry,
	&cmd_logs_entry,
	&cmd_runs_entry,
	&cmd_run_entry,
	&cmd_input_entry,
	&cmd_kill_entry,
	&cmd_serve_entry,
	&cmd_config_entry,
	&cmd_backup_entry,
	&cmd_restore_entry,
	&cmd_gc_entry,
	&cmd_repos_entry,
	&cmd_token_entry,
	&cmd_repo_entry,
	&cmd_file_entry,
};

static void
print_usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: scaffold [--version] [--help] COMMAND [ARGS]\n\n"
		   "scaffold reconciles infrastructure cascades kept in git.\n\n"
		   "Commands:\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(f, "\nRun 'scaffold COMMAND --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
	size_t i, best = ARRAY_SIZE(commands), d, bestd = 3;

	/* the child process of a fetch (gitsync/mirror.c) */
	if (argc >= 2 && !strcmp(argv[1], "__gitsync-fetch"))
		return gitsync_fetch_child_main(argc, argv);
	if (argc < 2) {
		print_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("scaffold %s\n", SCAFFOLD_VERSION);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		print_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i]->name))
			return commands[i]->exec(commands[i], argc - 1,
						 argv + 1);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		d = edit_distance(argv[1], commands[i]->name, 2);
		if (d < bestd) {
			bestd = d;
			best = i;
		}
	}
	if (best < ARRAY_SIZE(commands))
		fprintf(stderr,
			"scaffold: unknown command '%s'; did you mean '%s'?\n",
			argv[1], commands[best]->name);
	else
		fprintf(stderr, "scaffold: unknown command '%s'\n", argv[1]);
	fprintf(stderr, "Run 'scaffold --help' for the list of commands.\n");
	return EXIT_USAGE;
}
