/*
 * test_checks.c - drift probes in the scheduler (sched-check.c), on a real
 * store and no processes: probes are claimed and ended by the test.
 */
#include <ftw.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

struct h {
	char dir[64];
	struct store *st;
	struct sched *s;
	int64_t cascade_id;
};

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static struct h *
h_new(const char *yaml)
{
	struct h *h = xcalloc(1, sizeof(*h));
	struct sched_def def;
	struct cascade_row row;
	struct cascade *c = load_ok(yaml);

	unit_tmpdir(h->dir, sizeof(h->dir), "scaffold-unit");
	if (store_open(&h->st, h->dir) < 0)
		fail_msg("store_open: %s", err_msg());
	sched_new(&h->s, h->st);
	def.cascade = c;
	def.source = yaml;
	def.file = "t.yaml";
	if (sched_apply(h->s, "", "rev", &def, 1, 0, NULL, NULL) < 0)
		fail_msg("sched_apply: %s", err_msg());
	cascade_free(c);
	assert_int_equal(store_cascade_find(h->st, "", "c", &row), 0);
	h->cascade_id = row.id;
	cascade_row_release(&row);
	return h;
}

static void
h_free(struct h *h)
{
	sched_free(h->s);
	store_close(h->st);
	nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(h);
}

static int64_t
task_id(struct h *h, const char *name)
{
	struct task_row r;
	int64_t id;

	assert_int_equal(store_task_find(h->st, h->cascade_id, name, &r), 0);
	id = r.id;
	free(r.name);
	return id;
}

/* Run every waiting task to the given end (one round). */
static void
h_run(struct h *h, const char *task, enum run_state state)
{
	struct run_req **reqs;
	struct run_done d;
	size_t n, i, found = 0;

	assert_int_equal(sched_claim(h->s, 64, &reqs, &n), 0);
	for (i = 0; i < n; i++) {
		memset(&d, 0, sizeof(d));
		d.run_id = reqs[i]->run_id;
		d.state = !strcmp(reqs[i]->task, task) ? state : RS_SUCCESS;
		d.exit_code = d.state == RS_SUCCESS ? 0 : 1;
		found += !strcmp(reqs[i]->task, task);
		assert_int_equal(sched_finish(h->s, &d), 0);
		run_req_free(reqs[i]);
	}
	free(reqs);
	assert_true(found > 0);
}

static char *
h_states(struct h *h)
{
	struct task_row *rows;
	struct buf b = BUF_INIT;
	size_t n, i;

	assert_int_equal(store_tasks(h->st, h->cascade_id, &rows, &n), 0);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%s:%s", b.len ? " " : "", rows[i].name,
			 task_state_names[rows[i].state]);
	task_rows_free(rows, n);
	return buf_detach(&b, NULL);
}

#define EXPECT(h, want)                                   \
	do {                                              \
		char *got_ = h_states(h);                 \
		assert_string_equal(got_, (want));        \
		free(got_);                               \
	} while (0)

static char *
h_reason(struct h *h, const char *task)
{
	char *r = NULL;

	assert_int_equal(store_task_reason(h->st, task_id(h, task), &r), 0);
	return r;
}

/* Make the task's probe due now; claim; expect n requests. */
static struct run_req **
h_probe(struct h *h, const char *task, size_t want)
{
	struct check_due due;
	struct run_req **reqs;
	size_t n;

	if (store_check_due_get(h->st, task_id(h, task), &due) == 0)
		assert_int_equal(store_check_due_set(h->st, due.task_id,
						     store_now_ms() - 1,
						     due.run_id),
				 0);
	assert_int_equal(sched_check_claim(h->s, 8, &reqs, &n), 0);
	assert_int_equal(n, want);
	return reqs;
}

static void
h_probe_end(struct h *h, struct run_req *r, enum run_state state, int code,
	    const char *want_note)
{
	struct run_done d;
	struct buf note = BUF_INIT;

	memset(&d, 0, sizeof(d));
	d.run_id = r->run_id;
	d.state = state;
	d.exit_code = code;
	assert_int_equal(sched_check_finish(h->s, &d, &note), 0);
	assert_string_equal(note.ptr, want_note);
	buf_release(&note);
	run_req_free(r);
}

static const char *
env_of(const struct run_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nenv; i++)
		if (!strcmp(r->env[i].name, name))
			return r->env[i].value;
	return NULL;
}

#define WEB                                                                  \
	"version: v1\nname: c\nrunner: local\ntasks:\n"                      \
	"- name: a\n  run: deploy\n  env: {K: v}\n  timeout: 5m\n"           \
	"  check: {interval: 2s, run: probe}\n"                              \
	"- {name: fix, run: x, depends_on: {error: [a]}}\n"

/* After a success: due within the second half of an interval; the probe
 * gets the task's env, SCAFFOLD_CHECK=1, its own log and an id of its
 * own; one at a time. */
static void
test_arm_and_claim(void **state)
{
	struct h *h = h_new(WEB);
	struct check_due due;
	struct run_req **reqs, **more;
	int64_t t0 = store_now_ms();
	size_t n;

	(void)state;
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &due),
			 ERR_NOTFOUND);
	h_run(h, "a", RS_SUCCESS);
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &due), 0);
	assert_true(due.due_at >= t0 + 1000 && due.due_at <= store_now_ms() + 2000);
	assert_int_equal(sched_check_claim(h->s, 8, &reqs, &n), 0);
	assert_int_equal(n, 0); /* not due yet */
	free(reqs);
	reqs = h_probe(h, "a", 1);
	assert_true(reqs[0]->run_id >= 1000000000000LL);
	assert_string_equal(reqs[0]->script, "probe");
	assert_string_equal(reqs[0]->runner, "local");
	assert_int_equal(reqs[0]->timeout_ms, 2000);
	assert_string_equal(env_of(reqs[0], "SCAFFOLD_CHECK"), "1");
	assert_string_equal(env_of(reqs[0], "K"), "v");
	assert_string_equal(env_of(reqs[0], "SCAFFOLD_TASK"), "a");
	assert_int_equal(reqs[0]->store_files.n + reqs[0]->store_env.n, 0);
	assert_non_null(strstr(reqs[0]->log_path, "/logs/check-"));
	/* a second probe of the same task while one runs: skipped */
	more = h_probe(h, "a", 0);
	free(more);
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &due), 0);
	assert_true(due.due_at > store_now_ms());
	h_probe_end(h, reqs[0], RS_SUCCESS, 0, "");
	free(reqs);
	/* fix is an error: handler of a success: skipped (DESIGN §3) */
	EXPECT(h, "a:success fix:skipped");
	h_free(h);
}

/* A failing probe: error with the reason, the handler promoted, no probe
 * after; the task's runs untouched. */
static void
test_drift(void **state)
{
	struct h *h = h_new(WEB);
	struct run_req **reqs;
	struct check_due due;
	struct check_row k;
	char *why;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	h_probe_end(h, reqs[0], RS_ERROR, 3, "drift: the task is error");
	free(reqs);
	EXPECT(h, "a:error fix:waiting");
	why = h_reason(h, "a");
	assert_string_equal(why, "drift: check failed on local (exit 3)");
	free(why);
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &due),
			 ERR_NOTFOUND);
	assert_int_equal(store_check_last(h->st, task_id(h, "a"), &k), 0);
	assert_int_equal(k.state, RS_ERROR);
	assert_int_equal(k.exit_code, 3);
	assert_int_equal(k.drift, 1);
	assert_string_equal(k.host, "local");
	check_row_release(&k);
	h_free(h);
}

/* A timed-out probe names the timeout; a probe of a success that is no
 * longer current (the task runs again) is no verdict. */
static void
test_timeout_and_stale(void **state)
{
	struct h *h = h_new(WEB);
	struct run_req **reqs;
	struct run_done d;
	struct buf note = BUF_INIT;
	char *why;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	assert_int_equal(sched_trigger(h->s, "", "c", "a", 0, NULL), 0);
	h_probe_end(h, reqs[0], RS_ERROR, 1,
		    "no drift: the task changed while it ran");
	free(reqs);
	EXPECT(h, "a:waiting fix:not_started");
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	memset(&d, 0, sizeof(d));
	d.run_id = reqs[0]->run_id;
	d.state = RS_ERROR;
	d.exit_code = -1;
	d.message = "timed out after 2s";
	assert_int_equal(sched_check_finish(h->s, &d, &note), 0);
	why = h_reason(h, "a");
	assert_string_equal(why,
			    "drift: check failed on local (timed out after 2s)");
	free(why);
	run_req_free(reqs[0]);
	free(reqs);
	buf_release(&note);
	h_free(h);
}

/* Interrupted by scaffold stopping: lost, no verdict, due at once. */
static void
test_interrupt(void **state)
{
	struct h *h = h_new(WEB);
	struct run_req **reqs;
	struct check_due due;
	struct check_row k;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	assert_int_equal(sched_check_interrupt(h->s, reqs[0]->run_id,
					       "stopped"),
			 0);
	EXPECT(h, "a:success fix:skipped");
	assert_int_equal(store_check_get(h->st, reqs[0]->run_id, &k), 0);
	assert_int_equal(k.state, RS_LOST);
	assert_int_equal(k.drift, 0);
	check_row_release(&k);
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &due), 0);
	assert_true(due.due_at <= store_now_ms());
	run_req_free(reqs[0]);
	free(reqs);
	h_free(h);
}

/* Never while an ancestor waits or runs: the due time moves on. */
static void
test_ancestor_busy(void **state)
{
	struct h *h = h_new("version: v1\nname: c\nrunner: local\ntasks:\n"
			    "- {name: p, run: x}\n"
			    "- name: a\n  run: y\n  depends_on: [p]\n"
			    "  check: {interval: 1s, run: probe}\n");
	struct run_req **reqs;

	(void)state;
	h_run(h, "p", RS_SUCCESS);
	h_run(h, "a", RS_SUCCESS);
	assert_int_equal(store_task_set_state(h->st, task_id(h, "p"),
					      TS_SUCCESS, TS_RUNNING, "test"),
			 0);
	reqs = h_probe(h, "a", 0);
	free(reqs);
	assert_int_equal(store_task_set_state(h->st, task_id(h, "p"),
					      TS_RUNNING, TS_SUCCESS, "test"),
			 0);
	reqs = h_probe(h, "a", 1);
	h_probe_end(h, reqs[0], RS_SUCCESS, 0, "");
	free(reqs);
	h_free(h);
}

/* heal: the task runs again (its handler does not), at most max_heals
 * times an hour; then it stays error and the handler runs. */
static void
test_heal(void **state)
{
	struct h *h = h_new("version: v1\nname: c\nrunner: local\ntasks:\n"
			    "- name: a\n  run: deploy\n"
			    "  check: {interval: 1s, run: probe, heal: true, "
			    "max_heals: 2}\n"
			    "- {name: fix, run: x, depends_on: {error: [a]}}\n");
	struct run_req **reqs;
	char *why;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	h_probe_end(h, reqs[0], RS_ERROR, 1,
		    "healing: the task runs again (heal 1 of 2 this hour)");
	free(reqs);
	EXPECT(h, "a:waiting fix:not_started");
	why = h_reason(h, "a");
	assert_non_null(strstr(why, "heal 1 of 2 this hour: re-run after "
				    "check run "));
	free(why);
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	h_probe_end(h, reqs[0], RS_ERROR, 1,
		    "healing: the task runs again (heal 2 of 2 this hour)");
	free(reqs);
	h_run(h, "a", RS_SUCCESS);
	reqs = h_probe(h, "a", 1);
	h_probe_end(h, reqs[0], RS_ERROR, 1,
		    "drift; not healed: 2 heals in the last hour "
		    "(max_heals 2)");
	free(reqs);
	EXPECT(h, "a:error fix:waiting");
	why = h_reason(h, "a");
	assert_string_equal(why, "drift: check failed on local (exit 1)");
	free(why);
	h_free(h);
}

/* Validation: interval under 1s, check keys that the runner cannot
 * honour, max_heals out of range: file:line:col errors. */
static void
test_validation(void **state)
{
	char *e;

	(void)state;
	e = load_errors("version: v1\nname: c\ntasks:\n- name: a\n  run: x\n"
			"  check: {interval: 500ms, run: y}\n");
	assert_string_equal(e, "6:21: error: task 'a': 'check.interval' must "
			       "be at least 1s, not '500ms'\n");
	free(e);
	e = load_errors("version: v1\nname: c\ntasks:\n- name: a\n  run: x\n"
			"  check: {interval: 1s, run: y, hosts: [h1]}\n");
	assert_string_equal(e, "6:40: error: task 'a': 'check.hosts' needs "
			       "runner 'ssh'; the task runs on 'local', and "
			       "so does its check\n");
	free(e);
	e = load_errors("version: v1\nname: c\ntasks:\n- name: a\n  run: x\n"
			"  image: alpine\n"
			"  check: {interval: 1s, run: y, image: busybox, "
			"heal: maybe}\n");
	assert_string_equal(e, "7:55: error: task 'a': 'check.heal' must be "
			       "true or false, not 'maybe'\n");
	free(e);
	e = load_errors("version: v1\nname: c\ntasks:\n- name: a\n  run: x\n"
			"  check: {interval: 1s, run: y, image: busybox}\n");
	assert_string_equal(e, "6:40: error: task 'a': 'check.image' needs "
			       "runner 'docker'; the task runs on 'local', "
			       "and so does its check\n");
	free(e);
	e = load_errors("version: v1\nname: c\ntasks:\n- name: a\n  run: x\n"
			"  check: {interval: 1s, run: y, max_heals: 0}\n");
	assert_string_equal(e, "6:44: error: task 'a': 'check.max_heals' must "
			       "be a whole number from 1 to 1000, not '0'\n");
	free(e);
}

/* The bound holds for a fan-out: an ssh task probed on two hosts is not
 * claimed beside another probe when only one more fits; it stays due. */
static void
test_fan_out_room(void **state)
{
	struct h *h = h_new("version: v1\nname: c\ntasks:\n"
			    "- name: a\n  run: x\n"
			    "  check: {interval: 1s, run: y}\n"
			    "- name: b\n  run: x\n  runner: ssh\n"
			    "  hosts: [h1, h2]\n"
			    "  check: {interval: 1s, run: y}\n");
	struct check_due da, db;
	struct run_req **reqs;
	int64_t now = store_now_ms();
	size_t n, i;

	(void)state;
	h_run(h, "a", RS_SUCCESS); /* b too: both are roots */
	assert_int_equal(store_check_due_get(h->st, task_id(h, "a"), &da), 0);
	assert_int_equal(store_check_due_get(h->st, task_id(h, "b"), &db), 0);
	assert_int_equal(store_check_due_set(h->st, da.task_id, now - 20,
					     da.run_id), 0);
	assert_int_equal(store_check_due_set(h->st, db.task_id, now - 10,
					     db.run_id), 0);
	assert_int_equal(sched_check_claim(h->s, 2, &reqs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(reqs[0]->task, "a");
	run_req_free(reqs[0]);
	free(reqs);
	assert_int_equal(store_check_due_get(h->st, db.task_id, &db), 0);
	assert_int_equal(db.due_at, now - 10);
	/* alone, it goes over the bound rather than never running */
	assert_int_equal(sched_check_claim(h->s, 1, &reqs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(reqs[0]->host, "h1");
	assert_string_equal(reqs[1]->host, "h2");
	for (i = 0; i < n; i++)
		run_req_free(reqs[i]);
	free(reqs);
	h_free(h);
}

/* Retention: the newest CHECK_KEEP_RUNS probes of a task stay, with their
 * logs; older ones go. */
static void
test_prune(void **state)
{
	struct h *h = h_new(WEB);
	struct run_req **reqs;
	struct check_row *rows;
	struct buf path = BUF_INIT;
	int64_t first = 0;
	size_t n, i;
	FILE *f;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	for (i = 0; i < CHECK_KEEP_RUNS + 3; i++) {
		reqs = h_probe(h, "a", 1);
		if (!first) {
			first = reqs[0]->run_id;
			assert_int_equal(mkdir_p(h->dir, 0700), 0);
			buf_addf(&path, "%s/logs", h->dir);
			mkdir_p(path.ptr, 0700);
			buf_reset(&path);
			store_check_log_path(h->st, first, &path);
			f = fopen(path.ptr, "w");
			assert_non_null(f);
			fclose(f);
		}
		h_probe_end(h, reqs[0], RS_SUCCESS, 0, "");
		free(reqs);
	}
	assert_int_equal(store_checks_of_task(h->st, task_id(h, "a"), 1000,
					      &rows, &n),
			 0);
	assert_int_equal(n, CHECK_KEEP_RUNS);
	assert_int_equal(rows[n - 1].id, first + 3);
	check_rows_free(rows, n);
	assert_int_equal(access(path.ptr, F_OK), -1);
	buf_release(&path);
	h_free(h);
}

/* The check run ids store_gc_checks picks, as "i1 i2 ..." relative to
 * base (the first probe's id). */
static char *
gc_checks(struct h *h, const struct gc_policy *p, int dry_run, int64_t base)
{
	struct buf b = BUF_INIT;
	int64_t *ids;
	size_t n, i;

	assert_int_equal(store_gc_checks(h->st, p, 100, dry_run, &ids, &n), 0);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s%lld", i ? " " : "",
			 (long long)(ids[i] - base));
	free(ids);
	return buf_detach(&b, NULL);
}

#define EXPECT_GC(h, p, dry, base, want)                       \
	do {                                                   \
		char *got_ = gc_checks(h, p, dry, base);       \
		assert_string_equal(got_, (want));             \
		free(got_);                                    \
	} while (0)

/* Retention (store_gc_checks): check runs beyond keep_last_runs newest of
 * their task, or ended before the age limit, go; never a running one,
 * never the task's newest; a dry run deletes nothing. */
static void
test_gc_checks(void **state)
{
	struct h *h = h_new(WEB);
	struct gc_policy keep2 = { 0, 2 }, age = { 1, 0 }, none = { 0, 0 };
	struct run_req **reqs, *running;
	struct check_row *rows;
	struct timespec ms2 = { 0, 2 * 1000 * 1000 };
	int64_t base = 0;
	size_t n, i;

	(void)state;
	h_run(h, "a", RS_SUCCESS);
	for (i = 0; i < 5; i++) {
		reqs = h_probe(h, "a", 1);
		if (!base)
			base = reqs[0]->run_id;
		h_probe_end(h, reqs[0], RS_SUCCESS, 0, "");
		free(reqs);
	}
	reqs = h_probe(h, "a", 1);
	running = reqs[0];
	free(reqs);
	EXPECT_GC(h, &none, 0, base, "");
	EXPECT_GC(h, &keep2, 1, base, "0 1 2 3");
	EXPECT_GC(h, &keep2, 0, base, "0 1 2 3");
	assert_int_equal(store_checks_of_task(h->st, task_id(h, "a"), 100,
					      &rows, &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].id, base + 5);
	assert_int_equal(rows[0].state, RS_RUNNING);
	assert_int_equal(rows[1].id, base + 4);
	check_rows_free(rows, n);
	EXPECT_GC(h, &keep2, 0, base, "");
	/* everything ended 2 ms ago is past an age of 1 ms but the running
	 * one; once it ends it is the newest, and stays */
	nanosleep(&ms2, NULL);
	EXPECT_GC(h, &age, 0, base, "4");
	h_probe_end(h, running, RS_SUCCESS, 0, "");
	nanosleep(&ms2, NULL);
	EXPECT_GC(h, &age, 0, base, "");
	assert_int_equal(store_checks_of_task(h->st, task_id(h, "a"), 100,
					      &rows, &n),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].id, base + 5);
	check_rows_free(rows, n);
	h_free(h);
}

/* A check on a task run only by hand is fine; the timeout defaults to the
 * interval, at most the task's timeout, and a longer one is cut to it. */
static void
test_defaults(void **state)
{
	struct cascade *c;

	(void)state;
	c = load_ok("version: v1\nname: c\ntasks:\n"
		    "- name: a\n  run: x\n  auto_execute: false\n"
		    "  check: {interval: 5m, run: y}\n"
		    "- name: b\n  run: x\n  timeout: 1m\n"
		    "  check: {interval: 5m, run: y, timeout: 2m}\n"
		    "- name: d\n  run: x\n"
		    "  check: {interval: 5s, run: y, timeout: 9s}\n");
	assert_int_equal(c->tasks[0].check->timeout_ms, 5 * 60 * 1000);
	assert_int_equal(c->tasks[0].check->heal, 0);
	assert_int_equal(c->tasks[0].check->max_heals, 3);
	assert_int_equal(c->tasks[1].check->timeout_ms, 60 * 1000);
	assert_int_equal(c->tasks[2].check->timeout_ms, 9000);
	cascade_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arm_and_claim),
		cmocka_unit_test(test_drift),
		cmocka_unit_test(test_timeout_and_stale),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_ancestor_busy),
		cmocka_unit_test(test_heal),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_fan_out_room),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_gc_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
