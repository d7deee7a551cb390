/* cmd-logs.c - scaffold logs: the output of a task's run, or of its
 * latest drift probe (--check). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../webhook/webhook.h"

#define FOLLOW_POLL_US (100 * 1000)

/* Copy what fd has from its position to stdout; -1 on a read error. */
static int
copy_new(int fd)
{
	char chunk[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		fwrite(chunk, 1, (size_t)n, stdout);
	}
	fflush(stdout);
	return n < 0 ? -1 : 0;
}

/*
 * Print the log as it grows until the run ends (then what it wrote last).
 * 0 when the run succeeded, 1 when it ended otherwise, -1 on an error.
 */
static int
follow_local(struct store *st, int64_t id, const char *path)
{
	struct run_row run;
	int fd = -1, ended = 0, ret = -1;
	enum run_state state = RS_RUNNING;

	for (;;) {
		if (fd < 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 &&
		    errno != ENOENT) {
			err_set("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (fd >= 0 && copy_new(fd) < 0) {
			err_set("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (ended)
			break;
		if (store_run_get(st, id, &run) < 0)
			goto out;
		state = run.state;
		run_row_release(&run);
		if (state != RS_RUNNING) {
			/* read once more: what it wrote before it ended */
			ended = 1;
			continue;
		}
		usleep(FOLLOW_POLL_US);
	}
	ret = state == RS_SUCCESS ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static const char *
str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* Where logs come from: a data dir, or a daemon. */
struct logsrc {
	struct store *st;
	struct client *c;
};

/* Write run id's log to stdout; -1 after printing the error. */
static int
log_print(struct logsrc *src, int64_t id)
{
	struct buf path = BUF_INIT, log = BUF_INIT;
	int ret = -1;

	if (src->c) {
		buf_addf(&path, "/api/v1/runs/%lld/log", (long long)id);
		if (client_raw(src->c, "GET", path.ptr, NULL, 0, NULL, &log) <
		    0)
			goto out;
	} else {
		store_log_path(src->st, id, &path);
		if (buf_read_file(&log, path.ptr, (size_t)1 << 30) < 0) {
			fprintf(stderr, "scaffold logs: %s\n", err_msg());
			goto out;
		}
	}
	fwrite(log.ptr, 1, log.len, stdout);
	ret = 0;
out:
	buf_release(&path);
	buf_release(&log);
	return ret;
}

/* A run of a fan-out that failed (what an operator reads first). */
static int
host_failed(json_t *h)
{
	const char *state = str_of(h, "state");

	return strcmp(state, "success") && strcmp(state, "running");
}

/*
 * The last run on host of a task's "hosts" (view.c): its id, or 0 after
 * printing why there is none.
 */
static json_int_t
host_run(json_t *hosts, const char *task, const char *host)
{
	struct buf names = BUF_INIT, e = BUF_INIT;
	json_t *h;
	size_t i;

	json_array_foreach(hosts, i, h) {
		if (!strcmp(str_of(h, "host"), host)) {
			buf_release(&names);
			return json_integer_value(json_object_get(h, "id"));
		}
		buf_addf(&names, "%s%s", i ? ", " : "", str_of(h, "host"));
	}
	fprintf(stderr, "scaffold logs: task '%s' has not run on host '%s'",
		task, escape_text(&e, host));
	if (names.len)
		fprintf(stderr, " (it ran on %s)",
			escape_text(&e, names.ptr));
	fprintf(stderr, "\n");
	buf_release(&names);
	buf_release(&e);
	return 0;
}

/*
 * A task on several hosts: each host's last run, the failed ones first,
 * each headed by its host ("==> web1 (run 58, error, exit 3) <==").
 */
static int
logs_hosts(struct logsrc *src, json_t *hosts)
{
	struct buf e = BUF_INIT;
	json_t *h, *code;
	size_t i, shown = 0;
	int pass, ret = EXIT_OK;

	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(hosts, i, h) {
			if (host_failed(h) != !pass)
				continue;
			printf("%s==> %s (run %lld, %s", shown++ ? "\n" : "",
			       escape_text(&e, str_of(h, "host")),
			       (long long)json_integer_value(
				       json_object_get(h, "id")),
			       str_of(h, "state"));
			code = json_object_get(h, "exit_code");
			if (json_is_integer(code))
				printf(", exit %lld",
				       (long long)json_integer_value(code));
			else if (*str_of(h, "message"))
				/* it never exited (lost, could not start):
				 * why, which its log may not say */
				printf(": %s",
				       escape_text(&e, str_of(h, "message")));
			printf(") <==\n");
			fflush(stdout);
			if (log_print(src, json_integer_value(
						   json_object_get(h, "id"))) <
			    0)
				ret = EXIT_FINDING;
		}
	}
	buf_release(&e);
	return ret;
}

/*
 * Did the run end before its script started (an image that is not there, a
 * host that does not answer, a file the store lacks)?  It ended in error or
 * was lost with no exit code, and either wrote no log at all or says it
 * could not start.
 */
static int
never_started(const char *state, int has_exit_code, const char *message,
	      size_t log_len)
{
	if (has_exit_code || (strcmp(state, "error") && strcmp(state, "lost")))
		return 0;
	return !log_len || (message && !strncmp(message, "cannot start: ", 14));
}

/*
 * After the log of a run that never started: its reason on stderr when the
 * log did not say it (there was none); EXIT_FINDING, as for any failure.
 */
static int
report_unstarted(long long id, const char *message, size_t log_len)
{
	if (!log_len)
		fprintf(stderr, "scaffold logs: run %lld never started: %s\n",
			id,
			message && *message ? message : "no reason recorded");
	return EXIT_FINDING;
}

/* --check through a daemon's API: the probe's log, not followed. */
static int
check_log_remote(struct client *c, const struct cmd_opts *o, json_t *v,
		 json_t *found, const char *task)
{
	struct buf path = BUF_INIT, log = BUF_INIT;
	json_t *k = NULL;
	json_int_t id;
	int ret = EXIT_FINDING;

	id = o->run ? o->run
		    : json_integer_value(json_object_get(
			      json_object_get(json_object_get(found, "check"),
					      "last"),
			      "id"));
	if (!id) {
		fprintf(stderr, "scaffold logs: task '%s' has not been probed "
				"yet\n",
			task);
		goto out;
	}
	buf_addf(&path, "/api/v1/checks/%lld", (long long)id);
	if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &k) < 0)
		goto out;
	if (strcmp(str_of(k, "task"), task) ||
	    strcmp(str_of(k, "cascade"), str_of(v, "name"))) {
		fprintf(stderr, "scaffold logs: check run %lld is not a probe "
				"of '%s/%s'\n",
			(long long)id, str_of(v, "name"), task);
		goto out;
	}
	buf_puts(&path, "/log");
	if (client_raw(c, "GET", path.ptr, NULL, 0, NULL, &log) < 0)
		goto out;
	fwrite(log.ptr, 1, log.len, stdout);
	ret = EXIT_OK;
out:
	json_decref(k);
	buf_release(&path);
	buf_release(&log);
	return ret;
}

/* --check on a data dir: the task's last probe's log, or probe N's. */
static int
check_log_local(struct store *st, const struct cmd_opts *o,
		const struct cascade_row *row, const struct task_row *task)
{
	struct check_row k;
	struct buf path = BUF_INIT, log = BUF_INIT;
	int ret = EXIT_FINDING, r;

	r = o->run ? store_check_get(st, o->run, &k)
		   : store_check_last(st, task->id, &k);
	if (r == ERR_NOTFOUND && !o->run) {
		fprintf(stderr, "scaffold logs: task '%s' has not been probed "
				"yet\n",
			task->name);
		return EXIT_FINDING;
	}
	if (r < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		return EXIT_FINDING;
	}
	if (k.task_id != task->id) {
		fprintf(stderr, "scaffold logs: check run %lld is not a probe "
				"of '%s/%s'\n",
			(long long)k.id, row->name, task->name);
		goto out;
	}
	store_check_log_path(st, k.id, &path);
	if (buf_read_file(&log, path.ptr, (size_t)1 << 30) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	fwrite(log.ptr, 1, log.len, stdout);
	ret = EXIT_OK;
out:
	check_row_release(&k);
	buf_release(&path);
	buf_release(&log);
	return ret;
}

/* --follow of a fan-out without --host: which log? */
static int
follow_needs_host(const char *task, json_t *hosts)
{
	struct buf names = BUF_INIT, e = BUF_INIT;
	json_t *h;
	size_t i;

	json_array_foreach(hosts, i, h)
		buf_addf(&names, "%s%s", i ? ", " : "", str_of(h, "host"));
	fprintf(stderr, "scaffold logs: task '%s' runs on %zu hosts: "
			"--follow needs --host NAME (one of %s)\n",
		task, json_array_size(hosts), escape_text(&e, names.ptr));
	buf_release(&names);
	buf_release(&e);
	return EXIT_USAGE;
}

/* The same through a daemon's API. */
static int
logs_remote(const struct cmd_entry *self, const struct cmd_opts *o,
	    const char *spec, const char *task)
{
	struct client *c = client_new(self, o->server);
	struct buf path = BUF_INIT, log = BUF_INIT;
	json_t *v = NULL, *t, *found = NULL, *run = NULL, *end = NULL, *hosts;
	struct logsrc src = { NULL, NULL };
	json_int_t id;
	size_t i;
	int ret = EXIT_FINDING;

	if (!c)
		return EXIT_FINDING;
	if (client_cascade(c, spec, &v, NULL) < 0)
		goto out;
	json_array_foreach(json_object_get(v, "tasks"), i, t)
		if (!strcmp(str_of(t, "name"), task))
			found = t;
	if (!found) {
		fprintf(stderr,
			"scaffold logs: cascade '%s' has no task '%s'\n", spec,
			task);
		goto out;
	}
	if (o->check) {
		ret = check_log_remote(c, o, v, found, task);
		goto out;
	}
	hosts = json_object_get(found, "hosts");
	if (!o->run && !o->host && json_array_size(hosts) > 1) {
		if (o->follow) {
			ret = follow_needs_host(task, hosts);
			goto out;
		}
		src.c = c;
		ret = logs_hosts(&src, hosts);
		goto out;
	}
	if (o->host) {
		if (!(id = host_run(hosts, task, o->host)))
			goto out;
	} else {
		id = o->run ? o->run
			    : json_integer_value(
				      json_object_get(found, "last_run"));
	}
	if (!id) {
		fprintf(stderr, "scaffold logs: task '%s' has not run yet\n",
			task);
		goto out;
	}
	buf_addf(&path, "/api/v1/runs/%lld", (long long)id);
	if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &run) < 0)
		goto out;
	if (strcmp(str_of(run, "task"), task) ||
	    strcmp(str_of(run, "cascade"), str_of(v, "name")) ||
	    strcmp(str_of(run, "repo"), str_of(v, "repo"))) {
		fprintf(stderr, "scaffold logs: run %lld is not a run of "
				"'%s/%s'\n",
			(long long)id, str_of(v, "name"), task);
		goto out;
	}
	if (o->follow) {
		buf_puts(&path, "/log?follow=1");
		if (client_follow(c, path.ptr, stdout, &end) < 0)
			goto out;
		ret = strcmp(str_of(end, "state"), "success") ? EXIT_FINDING
							       : EXIT_OK;
		goto out;
	}
	buf_puts(&path, "/log");
	if (client_raw(c, "GET", path.ptr, NULL, 0, NULL, &log) < 0)
		goto out;
	fwrite(log.ptr, 1, log.len, stdout);
	fflush(stdout);
	if (never_started(str_of(run, "state"),
			  json_is_integer(json_object_get(run, "exit_code")),
			  str_of(run, "message"), log.len))
		ret = report_unstarted(id, str_of(run, "message"), log.len);
	else
		ret = EXIT_OK;
out:
	json_decref(v);
	json_decref(run);
	json_decref(end);
	buf_release(&path);
	buf_release(&log);
	client_free(c);
	return ret;
}

/*
 * A task's "hosts" from its cascade's view (view.c), as the API shows
 * them: *hosts points into *view (NULL when it never ran on a host).
 */
static int
task_hosts(struct store *st, const struct cascade_row *row, const char *task,
	   json_t **view, json_t **hosts)
{
	json_t *t;
	size_t i;

	*hosts = NULL;
	if (view_cascade(view, st, NULL, row) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		return EXIT_FINDING;
	}
	json_array_foreach(json_object_get(*view, "tasks"), i, t)
		if (!strcmp(str_of(t, "name"), task))
			*hosts = json_object_get(t, "hosts");
	return EXIT_OK;
}

static int
cmd_logs(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct cascade_row row;
	struct task_row task;
	struct run_row run;
	struct buf path = BUF_INIT, log = BUF_INIT;
	struct cmd_opts o;
	struct logsrc src = { NULL, NULL };
	json_t *view = NULL, *hosts = NULL;
	int64_t id;
	int first, ret = EXIT_FINDING, r;

	memset(&row, 0, sizeof(row));
	memset(&task, 0, sizeof(task));
	memset(&run, 0, sizeof(run));
	first = cmd_parse(self, argc, argv, "drSFKH", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (o.host && (o.run || o.check)) {
		ret = cmd_usage_error(self, "--host and %s cannot go together",
				      o.run ? "--run" : "--check");
		goto out;
	}
	if (o.check && o.follow) {
		ret = cmd_usage_error(self, "--check and --follow cannot go "
					    "together (a probe's log is "
					    "printed whole)");
		goto out;
	}
	if (argc - first != 2) {
		ret = cmd_usage_error(self, "expected CASCADE and TASK");
		goto out;
	}
	if (o.server) {
		ret = logs_remote(self, &o, argv[first], argv[first + 1]);
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (store_cascade_lookup(st, argv[first], &row) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	if (store_task_find(st, row.id, argv[first + 1], &task) < 0) {
		fprintf(stderr, "scaffold logs: cascade '%s' has no task '%s'\n",
			argv[first], argv[first + 1]);
		goto out;
	}
	if (o.check) {
		ret = check_log_local(st, &o, &row, &task);
		goto out;
	}
	if (!o.run && (ret = task_hosts(st, &row, task.name, &view,
					&hosts)) != EXIT_OK)
		goto out;
	ret = EXIT_FINDING;
	if (!o.run && !o.host && json_array_size(hosts) > 1) {
		if (o.follow) {
			ret = follow_needs_host(task.name, hosts);
			goto out;
		}
		src.st = st;
		ret = logs_hosts(&src, hosts);
		goto out;
	}
	if (o.host) {
		if (!(id = host_run(hosts, task.name, o.host)))
			goto out;
	} else {
		id = o.run ? o.run : task.last_run;
	}
	if (!id) {
		fprintf(stderr, "scaffold logs: task '%s' has not run yet\n",
			task.name);
		goto out;
	}
	if (store_run_get(st, id, &run) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	if (run.task_id != task.id) {
		fprintf(stderr, "scaffold logs: run %lld is not a run of "
				"'%s/%s'\n",
			(long long)id, row.name, task.name);
		goto out;
	}
	store_log_path(st, id, &path);
	if (o.follow) {
		if ((r = follow_local(st, id, path.ptr)) < 0) {
			fprintf(stderr, "scaffold logs: %s\n", err_msg());
			goto out;
		}
		ret = r ? EXIT_FINDING : EXIT_OK;
		/* no log written at all: the reason is the run's message */
		if (r && access(path.ptr, F_OK) < 0 && errno == ENOENT) {
			run_row_release(&run);
			if (store_run_get(st, id, &run) == 0)
				report_unstarted(id, run.message, 0);
		}
		goto out;
	}
	if (access(path.ptr, F_OK) < 0 && errno == ENOENT &&
	    run.state != RS_RUNNING) {
		/* no log: the run ended before it began to write one */
	} else if (buf_read_file(&log, path.ptr, (size_t)1 << 30) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	fwrite(log.ptr, 1, log.len, stdout);
	fflush(stdout);
	if (never_started(run_state_names[run.state], run.exit_code >= 0,
			  run.message, log.len))
		ret = report_unstarted(id, run.message, log.len);
	else
		ret = EXIT_OK;
out:
	json_decref(view);
	run_row_release(&run);
	free(task.name);
	cascade_row_release(&row);
	buf_release(&path);
	buf_release(&log);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_logs_entry = {
	"logs",
	"print the log of a task's latest run (or of run N)",
	"usage: scaffold logs [-d DIR | --server URL] [--run N | --host NAME]\n"
	"                     [-f] [--check] CASCADE TASK\n"
	"\n"
	"Print the output of the task's latest run, or of run N.  Password\n"
	"input values never appear: they were masked as they were written.\n"
	"A task on several hosts (a fan-out) prints each host's last run,\n"
	"the failed ones first, each headed by its host:\n"
	"  ==> web1 (run 58, error, exit 3) <==\n"
	"With --host, only that host's last run.  With --check, the log of\n"
	"the task's latest drift probe (or of check run N) instead.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"      --server URL     ask scaffold serve at URL (default\n"
	"                       $SCAFFOLD_SERVER)\n"
	"  -r, --run N          that run instead of the latest\n"
	"      --host NAME      the last run on host NAME (ssh)\n"
	"  -f, --follow         print the log as it grows, until the run ends\n"
	"      --check          a drift probe's log (the task's check)\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status with --follow: 0 the run succeeded, 1 it did not.\n"
	"A run that never started (its runner or host could not start it,\n"
	"a file it loads was missing) exits 1, its reason on stderr when it\n"
	"wrote no log.\n",
	cmd_logs,
};
