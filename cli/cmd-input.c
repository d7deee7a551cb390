/* cmd-input.c - scaffold input set|ls: a cascade's input values. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../webhook/webhook.h"

/* The value from the operand, or from stdin for '-' or none. */
static void
read_value(struct buf *value, int argc, char **argv)
{
	char chunk[4096];
	size_t n;

	if (argc == 3 && strcmp(argv[2], "-")) {
		buf_puts(value, argv[2]);
		return;
	}
	/* from stdin, so a password never shows in ps or history */
	if (isatty(0))
		fprintf(stderr, "value for '%s': ", argv[1]);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		buf_add(value, chunk, n);
	if (value->len && value->ptr[value->len - 1] == '\n')
		value->ptr[--value->len] = '\0';
}

/*
 * A password given as an operand has been in ps(1) and the shell's
 * history since the command started: refuse it, so that the habit does not
 * stick, and say how to give it.  view is the cascade's inputs view.
 */
static int
argv_password(const struct cmd_entry *self, json_t *view, const char *name,
	      int from_argv)
{
	const char *type;
	json_t *in;
	size_t i;

	if (!from_argv)
		return 0;
	json_array_foreach(json_object_get(view, "inputs"), i, in) {
		if (strcmp(json_string_value(json_object_get(in, "name"))
				   ?: "",
			   name))
			continue;
		type = json_string_value(json_object_get(in, "type"));
		if (!type || strcmp(type, "password"))
			return 0;
		fprintf(stderr, "scaffold %s: input '%s' is a password: give "
				"its value on stdin or at the prompt (VALUE "
				"'-' or none), not on the command line, where "
				"ps and the shell's history show it\n",
			self->name, name);
		return -1;
	}
	return 0;
}

/* PUT .../inputs/NAME {"value": ...}; the report as a local set prints. */
static int
input_set_remote(const struct cmd_entry *self, const struct cmd_opts *o,
		 char **argv, const struct buf *value, int from_argv)
{
	struct client *c = client_new(self, o->server);
	struct buf path = BUF_INIT;
	json_t *v = NULL, *body = NULL, *ans = NULL, *jv, *view = NULL;
	const char *report;
	char *s = NULL;
	size_t base;
	int ret = EXIT_FINDING;

	if (!c)
		return EXIT_FINDING;
	if (client_cascade(c, argv[0], &v, &path) < 0)
		goto out;
	base = path.len;
	buf_puts(&path, "/inputs");
	if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &view) < 0 ||
	    argv_password(self, view, argv[1], from_argv) < 0)
		goto out;
	path.ptr[path.len = base] = '\0';
	buf_puts(&path, "/inputs/");
	client_path_add(&path, argv[1], 0);
	if (!(jv = json_stringn(value->ptr, value->len))) {
		fprintf(stderr, "scaffold input: the value of input '%s' is "
				"not UTF-8 text: the API carries only text\n",
			argv[1]);
		goto out;
	}
	body = json_pack("{s:o}", "value", jv);
	s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (client_json(c, "PUT", path.ptr, s, strlen(s), "application/json",
			&ans) < 0)
		goto out;
	report = json_string_value(json_object_get(ans, "report"));
	if (!o->quiet && report)
		fputs(report, stderr);
	ret = EXIT_OK;
out:
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
	if (body && (jv = json_object_get(body, "value")))
		memset((char *)json_string_value(jv), 0,
		       json_string_length(jv));
	json_decref(body);
	json_decref(ans);
	json_decref(v);
	json_decref(view);
	buf_release(&path);
	client_free(c);
	return ret;
}

static int
input_set(const struct cmd_entry *self, struct cmd_opts *o, int argc,
	  char **argv)
{
	struct store *st = NULL;
	struct sched *s = NULL;
	struct buf value = BUF_INIT, report = BUF_INIT;
	struct cascade_row row;
	json_t *view = NULL;
	int ret = EXIT_FINDING, lockfd = -1, from_argv, daemon;

	memset(&row, 0, sizeof(row));

	if (argc != 2 && argc != 3)
		return cmd_usage_error(self, "expected set CASCADE NAME "
					     "[VALUE]");
	from_argv = argc == 3 && strcmp(argv[2], "-");
	read_value(&value, argc, argv);
	if (o->server) {
		ret = input_set_remote(self, o, argv, &value, from_argv);
		goto out;
	}
	/* with scaffold serve on the data dir, the value is stored here and
	 * the daemon runs what it resets */
	if (cmd_lock_or_daemon(self, o->data_dir, &lockfd, &daemon) < 0 ||
	    !(st = cmd_open_store(self, o, 0)))
		goto out;
	sched_new(&s, st);
	if (cmd_cascade(self, st, argv[0], &row) < 0)
		goto out;
	if (view_inputs(&view, st, s, &row, NULL) < 0) {
		fprintf(stderr, "scaffold input: %s\n", err_msg());
		goto out;
	}
	if (argv_password(self, view, argv[1], from_argv) < 0)
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
	json_decref(view);
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
	struct client *c = NULL;
	struct cascade_row row;
	struct buf path = BUF_INIT;
	json_t *v = NULL, *cv = NULL;
	int ret = EXIT_FINDING;

	memset(&row, 0, sizeof(row));
	if (argc != 1)
		return cmd_usage_error(self, "expected ls CASCADE");
	if (o->server) {
		if (!(c = client_new(self, o->server)) ||
		    client_cascade(c, argv[0], &cv, &path) < 0)
			goto out;
		buf_puts(&path, "/inputs");
		if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &v) < 0)
			goto out;
	} else {
		if (!(st = cmd_open_store(self, o, 0)))
			goto out;
		sched_new(&s, st);
		if (cmd_cascade(self, st, argv[0], &row) < 0)
			goto out;
		if (view_inputs(&v, st, s, &row, NULL) < 0) {
			fprintf(stderr, "scaffold input: %s\n", err_msg());
			goto out;
		}
	}
	print_inputs_view(v, o->json);
	ret = EXIT_OK;
out:
	json_decref(v);
	json_decref(cv);
	buf_release(&path);
	client_free(c);
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

	first = cmd_parse(self, argc, argv, "dqoS", &o);
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
	"usage: scaffold input set [-d DIR | --server URL] CASCADE NAME "
	"[VALUE|-]\n"
	"       scaffold input ls [-d DIR | --server URL] [-o text|json] "
	"CASCADE\n"
	"\n"
	"'set' stores a value (read from stdin when VALUE is '-' or absent,\n"
	"so a password stays out of ps and shell history); the tasks that\n"
	"map the input, and everything downstream of them, reset and run on\n"
	"the next 'scaffold apply' (at once under scaffold serve).  Password\n"
	"values are stored encrypted, and are taken only from stdin or the\n"
	"prompt: a VALUE operand for a password input is refused.\n"
	"'ls' lists the inputs; password values show as ******** (and as\n"
	"null with -o json).\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"      --server URL      ask scaffold serve at URL (default\n"
	"                        $SCAFFOLD_SERVER)\n"
	"  -o, --output FORMAT   'text' (default) or 'json' (ls)\n"
	"  -q, --quiet           print nothing on success\n"
	"  -h, --help            show this help\n",
	cmd_input,
};
