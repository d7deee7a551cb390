/* cmd-run.c - scaffold run: run one task by hand, then what it triggers. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../webhook/webhook.h"

/* Is any task of a cascade view waiting or running? */
static int
busy(json_t *v)
{
	const char *st;
	json_t *t;
	size_t i;

	json_array_foreach(json_object_get(v, "tasks"), i, t) {
		st = json_string_value(json_object_get(t, "state"));
		if (st && (!strcmp(st, "waiting") || !strcmp(st, "running")))
			return 1;
	}
	return 0;
}

/*
 * The daemon runs it: trigger, then wait until nothing of the cascade is
 * waiting or running, and print its states as a local run would.
 */
static int
run_remote(const struct cmd_entry *self, const struct cmd_opts *o,
	   const char *spec, const char *task)
{
	struct client *c = client_new(self, o->server);
	struct buf path = BUF_INIT, run = BUF_INIT;
	json_t *v = NULL, *ans = NULL;
	int ret = EXIT_FINDING, all_ok = 0;

	if (!c)
		return EXIT_FINDING;
	if (client_cascade(c, spec, &v, &path) < 0)
		goto out;
	buf_addf(&run, "%s/tasks/", path.ptr);
	client_path_add(&run, task, 0);
	buf_addf(&run, "/run%s", o->force ? "?force=1" : "");
	if (client_json(c, "POST", run.ptr, NULL, 0, NULL, &ans) < 0)
		goto out;
	for (;;) {
		json_decref(v);
		if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &v) < 0)
			goto out;
		if (!busy(v))
			break;
		usleep(200 * 1000);
	}
	v = json_pack("{s:[o]}", "cascades", v);
	print_status_view(v, o->json, &all_ok);
	ret = all_ok ? EXIT_OK : EXIT_FINDING;
out:
	json_decref(v);
	json_decref(ans);
	buf_release(&path);
	buf_release(&run);
	client_free(c);
	return ret;
}

/*
 * scaffold serve holds the data dir: the trigger is recorded in the store,
 * where the daemon finds the task waiting and runs it (within its half a
 * second of sleep).  Wait as run_remote does, reading the store, until
 * nothing of the cascade is waiting or running; the daemon stopping first
 * is an error.
 */
static int
wait_for_daemon(const struct cmd_entry *self, struct store *st,
		const char *data_dir, const struct cascade_row *row,
		int json)
{
	json_t *v = NULL;
	int all_ok = 0, ret = EXIT_FINDING;

	for (;;) {
		json_decref(v);
		if (view_cascades(&v, st, NULL, &row->id, 1) < 0) {
			fprintf(stderr, "scaffold %s: %s\n", self->name,
				err_msg());
			goto out;
		}
		if (!busy(json_array_get(json_object_get(v, "cascades"), 0)))
			break;
		if (!lock_held_by(data_dir, "serve")) {
			fprintf(stderr,
				"scaffold %s: scaffold serve stopped before "
				"cascade '%s' was done; it runs the rest when "
				"it starts again\n",
				self->name, row->name);
			goto out;
		}
		usleep(200 * 1000);
	}
	print_status_view(v, json, &all_ok);
	ret = all_ok ? EXIT_OK : EXIT_FINDING;
out:
	json_decref(v);
	return ret;
}

static int
cmd_run(const struct cmd_entry *self, int argc, char **argv)
{
	struct cascade_row row;
	struct store *st = NULL;
	struct sched *s = NULL;
	struct cmd_opts o;
	struct config *cf = NULL;
	int first, ret = EXIT_FINDING, lockfd = -1, all_ok = 0, r, daemon;

	memset(&row, 0, sizeof(row));
	first = cmd_parse(self, argc, argv, "oqdfjcS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 2) {
		ret = cmd_usage_error(self, "expected CASCADE and TASK");
		goto out;
	}
	if (o.server) {
		ret = run_remote(self, &o, argv[first], argv[first + 1]);
		goto out;
	}
	if (cmd_runners_setup(self, o.config, &cf) < 0)
		goto out;
	if (cmd_lock_or_daemon(self, o.data_dir, &lockfd, &daemon) < 0 ||
	    !(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (daemon) {
		sched_new(&s, st);
		if (cmd_cascade(self, st, argv[first], &row) < 0)
			goto out;
		if (sched_trigger(s, row.repo, row.name, argv[first + 1],
				  o.force, NULL) < 0)
			goto fail;
		ret = wait_for_daemon(self, st, o.data_dir, &row, o.json);
		goto out;
	}
	if (runners_configure_local(cf, o.data_dir) < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		goto out;
	}
	sched_new(&s, st);
	if (cmd_cascade(self, st, argv[first], &row) < 0)
		goto out;
	r = sched_trigger(s, row.repo, row.name, argv[first + 1], o.force,
			  NULL);
	if (r < 0)
		goto fail;
	if (exec_until_idle(st, s, o.max_parallel, o.quiet) < 0)
		goto fail;
	if (print_status(st, &row.id, 1, o.json, &all_ok) < 0)
		goto fail;
	ret = all_ok ? EXIT_OK : EXIT_FINDING;
	goto out;
fail:
	fprintf(stderr, "scaffold run: %s\n", err_msg());
out:
	sched_free(s);
	store_close(st);
	config_free(cf);
	if (lockfd >= 0)
		close(lockfd);
	cascade_row_release(&row);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_run_entry = {
	"run",
	"run a task by hand (its descendants reset and follow)",
	"usage: scaffold run [-d DIR | --server URL] [--force] [REPO/]CASCADE "
	"TASK\n"
	"\n"
	"Run TASK now, even with auto_execute: false.  Everything downstream\n"
	"of it resets and runs again as it becomes ready.  Refused while a\n"
	"parent is not in the state its dependency needs, unless --force.\n"
	"A task on several ssh hosts that failed on some runs again only on\n"
	"those (on every host when none failed).\n"
	"When scaffold serve holds the data dir, the request is recorded\n"
	"there and the daemon runs it; scaffold run waits as --server does.\n"
	"\n"
	"  -d, --data-dir DIR     default ./.scaffold-data\n"
	"      --server URL       let scaffold serve at URL run it, and wait\n"
	"                         until the cascade is idle (default\n"
	"                         $SCAFFOLD_SERVER; -j and -c are then the\n"
	"                         daemon's)\n"
	"  -f, --force            run even with unmet parents\n"
	"  -j, --max-parallel N   run at most N tasks at once (default 4)\n"
	"  -c, --config FILE      the ssh host inventory and docker settings\n"
	"  -o, --output FORMAT    'text' (default) or 'json'\n"
	"  -q, --quiet            print only the final states\n"
	"  -h, --help             show this help\n"
	"\n"
	"Exit status: 0 every task of the cascade succeeded, 1 otherwise.\n",
	cmd_run,
};
