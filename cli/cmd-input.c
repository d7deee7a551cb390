/* cmd-input.c - scaffold input set|ls: a cascade's input values. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int
input_set(const struct cmd_entry *self, struct cmd_opts *o, int argc,
	  char **argv)
{
	struct store *st = NULL;
	struct sched *s = NULL;
	struct buf value = BUF_INIT, report = BUF_INIT;
	struct cascade_row row;
	int ret = EXIT_FINDING, lockfd = -1;

	memset(&row, 0, sizeof(row));

	if (argc != 2 && argc != 3)
		return cmd_usage_error(self, "expected set CASCADE NAME "
					     "[VALUE]");
	if (argc == 3 && strcmp(argv[2], "-")) {
		buf_puts(&value, argv[2]);
	} else {
		/* from stdin, so a password never shows in ps or history */
		char chunk[4096];
		size_t n;

		if (isatty(0))
			fprintf(stderr, "value for '%s': ", argv[1]);
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			buf_add(&value, chunk, n);
		if (value.len && value.ptr[value.len - 1] == '\n')
			value.ptr[--value.len] = '\0';
	}
	if (cmd_lock(self, o->data_dir, &lockfd) < 0 ||
	    !(st = cmd_open_store(self, o, 0)))
		goto out;
	sched_new(&s, st);
	if (cmd_cascade(self, st, argv[0], &row) < 0)
		goto out;
	if (sched_input_set(s, row.repo, row.name, argv[1], value.ptr,
			    value.len, &report) < 0) {
		fprintf(stderr, "scaffold input: %s\n", err_msg());
		goto out;
	}
	if (!o->quiet)
		fputs(report.ptr, stderr);
	ret = EXIT_OK;
out:
	if (value.len)
		memset(value.ptr, 0, value.len);
	buf_release(&value);
	buf_release(&report);
	cascade_row_release(&row);
	sched_free(s);
	store_close(st);
	if (lockfd >= 0)
		close(lockfd);
	return ret;
}

static int
input_ls(const struct cmd_entry *self, struct cmd_opts *o, int argc,
	 char **argv)
{
	struct store *st = NULL;
	struct sched *s = NULL;
	struct cascade_row row;
	const struct cascade *c;
	struct buf v = BUF_INIT;
	size_t i;
	int ret = EXIT_FINDING, r;

	memset(&row, 0, sizeof(row));
	if (argc != 1)
		return cmd_usage_error(self, "expected ls CASCADE");
	if (!(st = cmd_open_store(self, o, 0)))
		goto out;
	sched_new(&s, st);
	if (cmd_cascade(self, st, argv[0], &row) < 0)
		goto out;
	if (sched_definition(s, row.id, &c) < 0) {
		fprintf(stderr, "scaffold input: %s\n", err_msg());
		goto out;
	}
	printf("%-24s %-9s %-8s %s\n", "NAME", "TYPE", "SOURCE", "VALUE");
	for (i = 0; i < c->ninputs; i++) {
		const struct input *in = &c->inputs[i];
		const char *source = "unset";

		buf_reset(&v);
		r = store_input_get(st, row.id, in->name, &v);
		if (r == 0) {
			source = "set";
		} else if (in->default_value) {
			source = "default";
			buf_add(&v, in->default_value, in->default_len);
		} else if (r != ERR_NOTFOUND) {
			fprintf(stderr, "scaffold input: %s\n", err_msg());
			goto out;
		}
		printf("%-24s %-9s %-8s ", in->name,
		       in->type == INPUT_PASSWORD ? "password" : "text",
		       source);
		if (!strcmp(source, "unset")) {
			printf("-\n");
		} else if (in->type == INPUT_PASSWORD) {
			printf("********\n");
		} else {
			struct buf esc = BUF_INIT;

			escape_log(&esc, v.ptr, v.len);
			printf("%s\n", esc.ptr);
			buf_release(&esc);
		}
	}
	ret = EXIT_OK;
out:
	if (v.len)
		memset(v.ptr, 0, v.len);
	buf_release(&v);
	cascade_row_release(&row);
	sched_free(s);
	store_close(st);
	return ret;
}

static int
cmd_input(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "dq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (first < argc && !strcmp(argv[first], "set"))
		ret = input_set(self, &o, argc - first - 1, argv + first + 1);
	else if (first < argc && !strcmp(argv[first], "ls"))
		ret = input_ls(self, &o, argc - first - 1, argv + first + 1);
	else
		ret = cmd_usage_error(self, "expected 'set' or 'ls'");
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_input_entry = {
	"input",
	"set or list a cascade's input values",
	"usage: scaffold input set [-d DIR] CASCADE NAME [VALUE|-]\n"
	"       scaffold input ls [-d DIR] CASCADE\n"
	"\n"
	"'set' stores a value (read from stdin when VALUE is '-' or absent,\n"
	"so a password stays out of ps and shell history); the tasks that\n"
	"map the input, and everything downstream of them, reset and run on\n"
	"the next 'scaffold apply'.  Password values are stored encrypted.\n"
	"'ls' lists the inputs; password values show as ********.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"  -q, --quiet          print nothing on success\n"
	"  -h, --help           show this help\n",
	cmd_input,
};
