/* cmd-runs.c - scaffold runs: a task's runs, newest first (one per host
 * of a fan-out), from a data dir or a daemon's API. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../webhook/webhook.h"

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/*
 * The view of view_task_runs as it is (JSON), or a table: run, host,
 * attempt, outcome, exit code, start (UTC), duration, revision.
 */
static void
print_runs_view(json_t *v, int json)
{
	struct buf e[2] = { BUF_INIT, BUF_INIT };
	json_t *runs = json_object_get(v, "runs"), *r, *x;
	char when[32], took[32], code[16];
	struct tm tm;
	time_t t;
	size_t i;
	char *s;

	if (json) {
		s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s ? s : "{}");
		free(s);
		return;
	}
	printf("%-6s %-16s %-7s %-8s %4s  %-20s %-10s %s\n", "RUN", "HOST",
	       "ATTEMPT", "OUTCOME", "EXIT", "STARTED", "DURATION",
	       "REVISION");
	json_array_foreach(runs, i, r) {
		t = (time_t)(json_integer_value(json_object_get(
				     r, "started_at")) /
			     1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		x = json_object_get(r, "duration_ms");
		if (json_is_integer(x))
			duration_format(took, sizeof(took),
					json_integer_value(x));
		else
			snprintf(took, sizeof(took), "-");
		x = json_object_get(r, "exit_code");
		if (json_is_integer(x))
			snprintf(code, sizeof(code), "%lld",
				 (long long)json_integer_value(x));
		else
			snprintf(code, sizeof(code), "-");
		/* hosts and revisions come from repositories: escaped */
		printf("%-6lld %-16s %-7lld %-8s %4s  %-20s %-10s %.12s\n",
		       (long long)json_integer_value(json_object_get(r, "id")),
		       escape_text(&e[0], str_or(r, "host", "-")),
		       (long long)json_integer_value(
			       json_object_get(r, "attempt")),
		       str_or(r, "state", ""), code, when, took,
		       escape_text(&e[1], str_or(r, "revision", "-")));
	}
	if ((json_int_t)json_array_size(runs) <
	    json_integer_value(json_object_get(v, "total")))
		printf("(the newest %zu of %lld runs; --limit N shows more)\n",
		       json_array_size(runs),
		       (long long)json_integer_value(
			       json_object_get(v, "total")));
	for (i = 0; i < ARRAY_SIZE(e); i++)
		buf_release(&e[i]);
}

/* The same through a daemon's API. */
static int
runs_remote(const struct cmd_entry *self, const struct cmd_opts *o,
	    const char *spec, const char *task, size_t limit)
{
	struct client *c = client_new(self, o->server);
	struct buf path = BUF_INIT;
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	if (!c)
		return EXIT_FINDING;
	if (client_cascade(c, spec, &v, &path) < 0)
		goto out;
	json_decref(v);
	v = NULL;
	buf_puts(&path, "/tasks/");
	client_path_add(&path, task, 0);
	buf_addf(&path, "/runs?limit=%zu", limit);
	if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &v) < 0)
		goto out;
	print_runs_view(v, o->json);
	ret = EXIT_OK;
out:
	json_decref(v);
	buf_release(&path);
	client_free(c);
	return ret;
}

static int
cmd_runs(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct cascade_row row;
	struct task_row task;
	struct cmd_opts o;
	json_t *v = NULL;
	size_t limit;
	int first, ret = EXIT_FINDING, r;

	memset(&row, 0, sizeof(row));
	memset(&task, 0, sizeof(task));
	first = cmd_parse(self, argc, argv, "odSL", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	limit = o.limit ? (size_t)o.limit : RUNS_LIMIT_DEFAULT;
	if (argc - first != 2) {
		ret = cmd_usage_error(self, "expected CASCADE and TASK");
		goto out;
	}
	if (o.server) {
		ret = runs_remote(self, &o, argv[first], argv[first + 1],
				  limit);
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)) ||
	    cmd_cascade(self, st, argv[first], &row) < 0)
		goto out;
	r = store_task_find(st, row.id, argv[first + 1], &task);
	if (r == ERR_NOTFOUND || (r == 0 && !task.present)) {
		fprintf(stderr, "scaffold runs: cascade '%s' has no task "
				"'%s'\n",
			row.name, argv[first + 1]);
		goto out;
	}
	if (r < 0 || view_task_runs(&v, st, &row, &task, limit) < 0) {
		fprintf(stderr, "scaffold runs: %s\n", err_msg());
		goto out;
	}
	print_runs_view(v, o.json);
	ret = EXIT_OK;
out:
	json_decref(v);
	free(task.name);
	cascade_row_release(&row);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_runs_entry = {
	"runs",
	"list a task's runs, newest first (one per host of a fan-out)",
	"usage: scaffold runs [-d DIR | --server URL] [-o text|json] "
	"[--limit N]\n"
	"                     [REPO/]CASCADE TASK\n"
	"\n"
	"List the task's runs, newest first: run id, host (ssh), attempt,\n"
	"outcome, exit code, start (UTC), duration and revision.  A task on\n"
	"several hosts has a run per host and attempt; a retry runs again\n"
	"only the hosts that failed.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"      --server URL     ask scaffold serve at URL (default\n"
	"                       $SCAFFOLD_SERVER)\n"
	"  -o, --output FMT     text (default) or json\n"
	"      --limit N        at most N runs (1 to 1000, default 50)\n"
	"  -h, --help           show this help\n",
	cmd_runs,
};
