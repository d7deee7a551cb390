/* cli.h - the subcommand table and helpers shared by cli/cmd-*.c. */
#ifndef SCAFFOLD_CLI_H
#define SCAFFOLD_CLI_H

#include "../common/common.h"
#include "../reconciler/reconciler.h"

/* Exit codes of every subcommand. */
#define EXIT_OK 0
#define EXIT_FINDING 1
#define EXIT_USAGE 2

struct cmd_entry {
	const char *name;
	const char *summary;
	const char *usage; /* full --help text, starting with the usage line */
	int (*exec)(const struct cmd_entry *self, int argc, char **argv);
};

extern const struct cmd_entry cmd_validate_entry;
extern const struct cmd_entry cmd_plan_entry;
extern const struct cmd_entry cmd_graph_entry;

/* Print "scaffold NAME: MSG" and the usage line to stderr; returns 2. */
int cmd_usage_error(const struct cmd_entry *self, const char *fmt, ...)
	PRINTF_LIKE(2, 3);
/* Print the --help text to stdout; returns 0. */
int cmd_help(const struct cmd_entry *self);
/*
 * Parse the options common to every command (--help, -o FORMAT).  Returns
 * the index of the first operand, -1 after --help was printed, or -2 after
 * a usage error was printed.  json_out is set for "-o json".
 */
struct cmd_opts {
	int json;
	int quiet;
};
int cmd_parse(const struct cmd_entry *self, int argc, char **argv,
	      const char *allowed, struct cmd_opts *opts);

/* Expand operands: directories become their *.yaml / *.yml files, sorted. */
int cascade_paths(struct strvec *out, char **argv, int argc,
		  struct diags *diags);

#endif
