/*
 * test_sched.c - every rule of DESIGN §3, table-driven, on a real store and
 * no processes: runs are claimed and ended by the test.
 */
#include <ftw.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

struct h {
	char dir[64];
	struct store *st;
	struct sched *s;
	struct run_req *running[64];
	size_t nrunning;
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
h_new(void)
{
	struct h *h = xcalloc(1, sizeof(*h));

	unit_tmpdir(h->dir, sizeof(h->dir), "scaffold-unit");
	if (store_open(&h->st, h->dir) < 0)
		fail_msg("store_open: %s", err_msg());
	sched_new(&h->s, h->st);
	return h;
}

static void
h_free(struct h *h)
{
	size_t i;

	for (i = 0; i < h->nrunning; i++)
		run_req_free(h->running[i]);
	sched_free(h->s);
	store_close(h->st);
	nftw(h->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(h);
}

static void
h_apply(struct h *h, const char *yaml)
{
	struct sched_def def;
	struct cascade *c = load_ok(yaml);

	def.cascade = c;
	def.source = yaml;
	def.file = "t.yaml";
	if (sched_apply(h->s, "", "rev", &def, 1, 0, NULL, NULL) < 0)
		fail_msg("sched_apply: %s", err_msg());
	cascade_free(c);
}

/* Claim everything waiting. */
static void
h_claim(struct h *h)
{
	struct run_req **reqs;
	size_t n, i;

	if (sched_claim(h->s, 64, &reqs, &n) < 0)
		fail_msg("sched_claim: %s", err_msg());
	for (i = 0; i < n; i++)
		h->running[h->nrunning++] = reqs[i];
	free(reqs);
}

/* End the run of task (claiming first) with the given state. */
static void
h_end(struct h *h, const char *task, enum run_state state)
{
	struct run_done d;
	size_t i;

	h_claim(h);
	for (i = 0; i < h->nrunning; i++)
		if (!strcmp(h->running[i]->task, task))
			break;
	if (i == h->nrunning)
		fail_msg("task '%s' is not running", task);
	memset(&d, 0, sizeof(d));
	d.run_id = h->running[i]->run_id;
	d.state = state;
	d.exit_code = state == RS_SUCCESS ? 0 : 1;
	d.message = state == RS_SUCCESS ? "" : "exit code 1";
	if (sched_finish(h->s, &d) < 0)
		fail_msg("sched_finish: %s", err_msg());
	run_req_free(h->running[i]);
	h->running[i] = h->running[--h->nrunning];
}

/* "a:success b:waiting ..." in definition order of the store. */
static char *
h_states(struct h *h, const char *cascade)
{
	struct cascade_row row;
	struct task_row *rows;
	struct buf b = BUF_INIT;
	size_t n, i;

	assert_int_equal(store_cascade_find(h->st, "", cascade, &row), 0);
	assert_int_equal(store_tasks(h->st, row.id, &rows, &n), 0);
	for (i = 0; i < n; i++) {
		if (!rows[i].present)
			continue;
		buf_addf(&b, "%s%s:%s", b.len ? " " : "", rows[i].name,
			 task_state_names[rows[i].state]);
	}
	task_rows_free(rows, n);
	cascade_row_release(&row);
	return buf_detach(&b, NULL);
}

#define EXPECT(h, want)                                   \
	do {                                              \
		char *got_ = h_states((h), "c");          \
		assert_string_equal(got_, (want));        \
		free(got_);                               \
	} while (0)

#define HEAD "version: v1\nname: c\n"

static const char kinds[] =
	HEAD "tasks:\n"
	"- {name: a, run: x}\n"
	"- {name: ok, run: x, depends_on: [a]}\n"
	"- {name: onerr, run: x, depends_on: {error: [a]}}\n"
	"- {name: fin, run: x, depends_on: {always: [a]}}\n";

static void
test_triggering_success(void **state)
{
	struct h *h = h_new();

	(void)state;
	h_apply(h, kinds);
	EXPECT(h, "a:waiting ok:not_started onerr:not_started "
		  "fin:not_started");
	h_claim(h);
	EXPECT(h, "a:running ok:not_started onerr:not_started "
		  "fin:not_started");
	h_end(h, "a", RS_SUCCESS);
	EXPECT(h, "a:success ok:waiting onerr:skipped fin:waiting");
	h_free(h);
}

static void
test_triggering_error_and_killed(void **state)
{
	static const struct {
		enum run_state end;
		const char *want;
	} cases[] = {
		{ RS_ERROR, "a:error ok:skipped onerr:waiting fin:waiting" },
		{ RS_LOST, "a:error ok:skipped onerr:waiting fin:waiting" },
		{ RS_KILLED,
		  "a:killed ok:skipped onerr:skipped fin:waiting" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct h *h = h_new();

		h_apply(h, kinds);
		h_end(h, "a", cases[i].end);
		EXPECT(h, cases[i].want);
		h_free(h);
	}
}

/*
 * Skipped (DESIGN §3): what only a dead trigger leads to is skipped, down
 * the graph (an always: of a skipped task too); a task with another live
 * path is not; a new run of the parent resets them like any state.
 */
static void
test_skipped(void **state)
{
	struct h *h = h_new();
	int64_t id;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: onerr, run: x, depends_on: {error: [a]}}\n"
			"- {name: after, run: x, depends_on: [onerr]}\n"
			"- {name: fin, run: x, depends_on: {always: [after]}}\n"
			"- {name: ok, run: x, depends_on: [a]}\n");
	h_end(h, "a", RS_SUCCESS);
	EXPECT(h, "a:success onerr:skipped after:skipped fin:skipped "
		  "ok:waiting");
	h_end(h, "ok", RS_SUCCESS);
	EXPECT(h, "a:success onerr:skipped after:skipped fin:skipped "
		  "ok:success");
	/* a run by hand of a: its descendants reset, then settle again */
	assert_int_equal(sched_trigger(h->s, "", "c", "a", 0, &id), 0);
	EXPECT(h, "a:waiting onerr:not_started after:not_started "
		  "fin:not_started ok:not_started");
	h_end(h, "a", RS_ERROR);
	EXPECT(h, "a:error onerr:waiting after:not_started fin:not_started "
		  "ok:skipped");
	/* a promotion pass over everything changes nothing settled */
	assert_int_equal(sched_promote(h->s, NULL), 0);
	EXPECT(h, "a:error onerr:waiting after:not_started fin:not_started "
		  "ok:skipped");
	h_free(h);
}

static void
test_auto_execute_and_manual(void **state)
{
	struct h *h = h_new();
	int64_t id;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: gate, run: x, auto_execute: false, "
			"depends_on: [a]}\n"
			"- {name: after, run: x, depends_on: [gate]}\n");
	EXPECT(h, "a:waiting gate:not_started after:not_started");
	/* refused: its parent has not succeeded */
	assert_int_equal(sched_trigger(h->s, "", "c", "gate", 0, &id),
			 ERR_CONFLICT);
	assert_string_equal(err_msg(), "task 'gate' is not ready: 'a' is "
				       "waiting (needs success); use --force "
				       "to run it anyway");
	h_end(h, "a", RS_SUCCESS);
	EXPECT(h, "a:success gate:not_started after:not_started");
	assert_int_equal(sched_trigger(h->s, "", "c", "gate", 0, &id), 0);
	EXPECT(h, "a:success gate:waiting after:not_started");
	h_end(h, "gate", RS_SUCCESS);
	EXPECT(h, "a:success gate:success after:waiting");
	h_end(h, "after", RS_SUCCESS);

	/* a manual run of a: its descendants reset, gate waits for a hand */
	assert_int_equal(sched_trigger(h->s, "", "c", "a", 0, &id), 0);
	EXPECT(h, "a:waiting gate:not_started after:not_started");
	h_end(h, "a", RS_SUCCESS);
	EXPECT(h, "a:success gate:not_started after:not_started");
	/* forced, even with an unmet parent */
	assert_int_equal(sched_trigger(h->s, "", "c", "after", 1, &id), 0);
	EXPECT(h, "a:success gate:not_started after:waiting");
	h_claim(h);
	assert_int_equal(sched_trigger(h->s, "", "c", "after", 1, &id),
			 ERR_CONFLICT);
	assert_string_equal(err_msg(), "task 'after' is already running");
	assert_int_equal(sched_trigger(h->s, "", "c", "nope", 1, &id),
			 ERR_NOTFOUND);
	assert_string_equal(err_msg(), "cascade 'c' has no task 'nope'");
	h_free(h);
}

static const char chain_v1[] = HEAD "tasks:\n"
				    "- {name: a, run: x}\n"
				    "- {name: b, run: x, depends_on: [a]}\n"
				    "- {name: c, run: x, depends_on: [b]}\n"
				    "- {name: side, run: x}\n";

static void
run_all(struct h *h)
{
	struct run_req **reqs;
	struct run_done d;
	size_t n, i;

	for (;;) {
		if (sched_claim(h->s, 64, &reqs, &n) < 0)
			fail_msg("claim: %s", err_msg());
		if (!n) {
			free(reqs);
			break;
		}
		for (i = 0; i < n; i++) {
			memset(&d, 0, sizeof(d));
			d.run_id = reqs[i]->run_id;
			d.state = RS_SUCCESS;
			assert_int_equal(sched_finish(h->s, &d), 0);
			run_req_free(reqs[i]);
		}
		free(reqs);
	}
}

static int
count_runs(struct h *h, const char *task)
{
	struct cascade_row row;
	struct task_row t;
	int n;

	assert_int_equal(store_cascade_find(h->st, "", "c", &row), 0);
	assert_int_equal(store_task_find(h->st, row.id, task, &t), 0);
	n = t.runs;
	free(t.name);
	cascade_row_release(&row);
	return n;
}

static void
test_new_definition_resets_descendants(void **state)
{
	struct h *h = h_new();

	(void)state;
	h_apply(h, chain_v1);
	run_all(h);
	EXPECT(h, "a:success b:success c:success side:success");
	/* the same definition again: nothing resets, nothing runs */
	h_apply(h, chain_v1);
	EXPECT(h, "a:success b:success c:success side:success");
	run_all(h);
	assert_int_equal(count_runs(h, "a"), 1);
	/* b changes: b and c reset, a and side keep their state */
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: b, run: y, depends_on: [a]}\n"
			"- {name: c, run: x, depends_on: [b]}\n"
			"- {name: side, run: x}\n");
	EXPECT(h, "a:success b:waiting c:not_started side:success");
	run_all(h);
	assert_int_equal(count_runs(h, "a"), 1);
	assert_int_equal(count_runs(h, "b"), 2);
	assert_int_equal(count_runs(h, "c"), 2);
	/* back to v1 (a force push): b differs again */
	h_apply(h, chain_v1);
	EXPECT(h, "a:success b:waiting c:not_started side:success");
	/* a task removed leaves the DAG */
	run_all(h);
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: b, run: x, depends_on: [a]}\n"
			"- {name: c, run: x, depends_on: [b]}\n");
	EXPECT(h, "a:success b:success c:success");
	h_free(h);
}

static void
test_running_task_superseded(void **state)
{
	struct h *h = h_new();

	(void)state;
	h_apply(h, chain_v1);
	h_end(h, "a", RS_SUCCESS);
	h_claim(h);
	EXPECT(h, "a:success b:running c:not_started side:running");
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: b, run: changed, depends_on: [a]}\n"
			"- {name: c, run: x, depends_on: [b]}\n"
			"- {name: side, run: x}\n");
	/* b keeps running; when it ends it triggers nothing and is redone */
	EXPECT(h, "a:success b:running c:not_started side:running");
	h_end(h, "b", RS_SUCCESS);
	EXPECT(h, "a:success b:waiting c:not_started side:running");
	h_end(h, "b", RS_SUCCESS);
	EXPECT(h, "a:success b:success c:waiting side:running");
	h_free(h);
}

static void
test_retries(void **state)
{
	struct h *h = h_new();

	(void)state;
	h_apply(h, HEAD "tasks:\n- {name: flaky, run: x, retries: 2}\n"
			"- {name: next, run: x, depends_on: [flaky]}\n");
	h_end(h, "flaky", RS_ERROR);
	EXPECT(h, "flaky:waiting next:not_started");
	h_end(h, "flaky", RS_LOST);
	EXPECT(h, "flaky:waiting next:not_started");
	h_end(h, "flaky", RS_ERROR);
	EXPECT(h, "flaky:error next:skipped");
	assert_int_equal(count_runs(h, "flaky"), 3);
	/* a retry that succeeds counts */
	assert_int_equal(sched_trigger(h->s, "", "c", "flaky", 0, NULL), 0);
	h_end(h, "flaky", RS_ERROR);
	h_end(h, "flaky", RS_SUCCESS);
	EXPECT(h, "flaky:success next:waiting");
	h_free(h);
}

static void
test_input_change(void **state)
{
	struct h *h = h_new();
	struct buf report = BUF_INIT;
	static const char y[] =
		HEAD "inputs: [{name: PW, type: password, default: d}, "
		"{name: OTHER}]\n"
		"tasks:\n"
		"- {name: a, run: x}\n"
		"- {name: uses, run: x, inputs: {P: PW}, depends_on: [a]}\n"
		"- {name: down, run: x, depends_on: [uses]}\n"
		"- {name: other, run: x}\n";

	(void)state;
	h_apply(h, y);
	run_all(h);
	EXPECT(h, "a:success uses:success down:success other:success");
	assert_int_equal(sched_input_set(h->s, "", "c", "PW", "new", 3,
					 &report),
			 0);
	EXPECT(h, "a:success uses:waiting down:not_started other:success");
	assert_string_equal(report.ptr, "cascade 'c': 0 new, 1 changed, 0 "
					"removed; 1 downstream reset\n");
	run_all(h);
	/* the same value again changes nothing */
	assert_int_equal(sched_input_set(h->s, "", "c", "PW", "new", 3, NULL),
			 0);
	EXPECT(h, "a:success uses:success down:success other:success");
	/* an input no task maps resets nothing */
	assert_int_equal(sched_input_set(h->s, "", "c", "OTHER", "v", 1, NULL),
			 0);
	EXPECT(h, "a:success uses:success down:success other:success");
	assert_int_equal(sched_input_set(h->s, "", "c", "NOPE", "v", 1, NULL),
			 ERR_NOTFOUND);
	assert_string_equal(err_msg(), "cascade 'c' has no input 'NOPE'");
	buf_release(&report);
	h_free(h);
}

static void
test_input_without_value_fails_run(void **state)
{
	struct h *h = h_new();
	struct run_row run;

	(void)state;
	h_apply(h, HEAD "inputs: [{name: TOKEN}]\n"
			"tasks: [{name: a, run: x, inputs: {T: TOKEN}}]\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 0);
	EXPECT(h, "a:error");
	assert_int_equal(store_run_get(h->st, 1, &run), 0);
	assert_string_equal(run.message,
			    "input 'TOKEN' has no value; set it with "
			    "'scaffold input set c TOKEN VALUE'");
	run_row_release(&run);
	/* setting it resets the task, which then runs */
	assert_int_equal(sched_input_set(h->s, "", "c", "TOKEN", "t", 1, NULL),
			 0);
	EXPECT(h, "a:waiting");
	h_free(h);
}

static void
test_kill_request(void **state)
{
	struct h *h = h_new();
	struct run_row run;

	(void)state;
	h_apply(h, HEAD "tasks: [{name: a, run: x}]\n");
	h_claim(h);
	assert_int_equal(sched_kill(h->s, 1), 0);
	h_end(h, "a", RS_ERROR); /* the runner saw a signal */
	EXPECT(h, "a:killed");
	assert_int_equal(store_run_get(h->st, 1, &run), 0);
	assert_int_equal(run.state, RS_KILLED);
	run_row_release(&run);
	assert_int_equal(sched_kill(h->s, 1), ERR_CONFLICT);
	assert_string_equal(err_msg(), "run 1 is not running (it ended "
				       "killed)");
	h_free(h);
}

static void
test_recover_lost(void **state)
{
	struct h *h = h_new();
	size_t n;

	(void)state;
	h_apply(h, kinds);
	h_claim(h);
	assert_int_equal(sched_recover_lost(h->s, "scaffold stopped", &n), 0);
	assert_int_equal(n, 1);
	EXPECT(h, "a:error ok:skipped onerr:waiting fin:waiting");
	h_free(h);
}

static void
test_loads_from_nearest_ancestor(void **state)
{
	struct h *h = h_new();
	struct run_done d;
	struct run_env_var env = { "V", "far", 3 };
	size_t i;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: far, run: x, store: {env: [V]}}\n"
			"- {name: near, run: x, store: {env: [V]}, "
			"depends_on: [far]}\n"
			"- {name: use, run: x, load: {env: [V]}, "
			"depends_on: [near]}\n");
	h_claim(h);
	memset(&d, 0, sizeof(d));
	d.run_id = h->running[0]->run_id;
	d.state = RS_SUCCESS;
	d.env = &env;
	d.nenv = 1;
	assert_int_equal(sched_finish(h->s, &d), 0);
	run_req_free(h->running[0]);
	h->nrunning = 0;
	h_claim(h);
	env.value = "near";
	env.len = 4;
	d.run_id = h->running[0]->run_id;
	assert_int_equal(sched_finish(h->s, &d), 0);
	run_req_free(h->running[0]);
	h->nrunning = 0;
	h_claim(h);
	assert_int_equal(h->nrunning, 1);
	for (i = 0; i < h->running[0]->nenv; i++)
		if (!strcmp(h->running[0]->env[i].name, "V"))
			break;
	assert_true(i < h->running[0]->nenv);
	assert_string_equal(h->running[0]->env[i].value, "near");
	h_free(h);
}

/* A process dies in the middle of a transaction: nothing of it remains. */
static void
test_store_crash_mid_transaction(void **state)
{
	struct h *h = h_new();
	struct store *st;
	struct cascade_row row;
	pid_t pid;
	int status;

	(void)state;
	h_apply(h, chain_v1);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs;
		struct task_row t;

		if (store_open(&cs, h->dir) < 0)
			_exit(3);
		store_begin(cs);
		store_cascade_find(cs, "", "c", &row);
		store_task_find(cs, row.id, "a", &t);
		store_task_set_state(cs, t.id, t.state, TS_SUCCESS, "half");
		_exit(0); /* no commit, no close */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(store_open(&st, h->dir), 0);
	store_close(st);
	EXPECT(h, "a:waiting b:not_started c:not_started side:waiting");
	h_free(h);
}

static void
test_password_sealed_and_fingerprint_keyed(void **state)
{
	struct h *h = h_new();
	struct buf db = BUF_INIT, path = BUF_INIT, v = BUF_INIT;
	struct cascade_row row;

	(void)state;
	h_apply(h, HEAD "inputs: [{name: PW, type: password}]\n"
			"tasks: [{name: a, run: x, inputs: {P: PW}}]\n");
	assert_int_equal(sched_input_set(h->s, "", "c", "PW",
					 "zebra-canary-42", 15, NULL),
			 0);
	assert_int_equal(store_cascade_find(h->st, "", "c", &row), 0);
	assert_int_equal(store_input_get(h->st, row.id, "PW", &v), 0);
	assert_string_equal(v.ptr, "zebra-canary-42");
	cascade_row_release(&row);
	store_close(h->st);
	h->st = NULL;
	buf_addf(&path, "%s/scaffold.db", h->dir);
	assert_int_equal(buf_read_file(&db, path.ptr, 1 << 26), 0);
	assert_null(memmem(db.ptr, db.len, "zebra-canary-42", 15));
	buf_reset(&path);
	buf_addf(&path, "%s/scaffold.db-wal", h->dir);
	buf_reset(&db);
	if (buf_read_file(&db, path.ptr, 1 << 26) == 0)
		assert_null(memmem(db.ptr, db.len, "zebra-canary-42", 15));
	assert_int_equal(store_open(&h->st, h->dir), 0);
	sched_free(h->s);
	sched_new(&h->s, h->st);
	buf_release(&db);
	buf_release(&path);
	buf_release(&v);
	h_free(h);
}

/* End the run of task on host with state (claiming first). */
static void
h_end_host(struct h *h, const char *task, const char *host,
	   enum run_state state)
{
	struct run_done d;
	size_t i;

	h_claim(h);
	for (i = 0; i < h->nrunning; i++)
		if (!strcmp(h->running[i]->task, task) && h->running[i]->host &&
		    !strcmp(h->running[i]->host, host))
			break;
	if (i == h->nrunning)
		fail_msg("task '%s' is not running on '%s'", task, host);
	memset(&d, 0, sizeof(d));
	d.run_id = h->running[i]->run_id;
	d.state = state;
	d.exit_code = state == RS_SUCCESS ? 0 : 1;
	d.message = state == RS_SUCCESS ? "" : "exit code 1";
	if (sched_finish(h->s, &d) < 0)
		fail_msg("sched_finish: %s", err_msg());
	run_req_free(h->running[i]);
	h->running[i] = h->running[--h->nrunning];
}

static void
test_fan_out(void **state)
{
	struct h *h = h_new();
	struct run_row run;
	size_t i, k, hosts = 0;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: patch, run: x, runner: ssh, "
			"hosts: [web1, web2, web3]}\n"
			"- {name: after, run: x, depends_on: [patch]}\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 3);
	for (i = 0; i < 3; i++) {
		assert_string_equal(h->running[i]->runner, "ssh");
		for (k = 0; k < h->running[i]->nenv; k++)
			if (!strcmp(h->running[i]->env[k].name,
				    "SCAFFOLD_HOST") &&
			    !strcmp(h->running[i]->env[k].value,
				    h->running[i]->host))
				hosts++;
	}
	assert_int_equal(hosts, 3);
	h_end_host(h, "patch", "web1", RS_SUCCESS);
	EXPECT(h, "patch:running after:not_started");
	h_end_host(h, "patch", "web2", RS_ERROR);
	EXPECT(h, "patch:running after:not_started");
	h_end_host(h, "patch", "web3", RS_SUCCESS);
	EXPECT(h, "patch:error after:skipped");
	/* each host's run is its own; the task's history says why it failed */
	assert_int_equal(store_run_get(h->st, 2, &run), 0);
	assert_string_equal(run.host, "web2");
	assert_string_equal(run.message, "exit code 1");
	{
		struct history_row *hist;
		size_t nh;

		assert_int_equal(store_task_history(h->st, run.task_id, &hist,
						    &nh),
				 0);
		assert_string_equal(hist[nh - 1].reason,
				    "run 3 failed: 1 of 3 hosts failed: web2: "
				    "exit code 1");
		history_rows_free(hist, nh);
	}
	run_row_release(&run);
	/* a run by hand runs again only where it failed */
	assert_int_equal(sched_trigger(h->s, "", "c", "patch", 0, NULL), 0);
	h_claim(h);
	assert_int_equal(h->nrunning, 1);
	assert_string_equal(h->running[0]->host, "web2");
	assert_int_equal(h->running[0]->attempt, 1);
	h_end_host(h, "patch", "web2", RS_SUCCESS);
	EXPECT(h, "patch:success after:waiting");
	h_end(h, "after", RS_SUCCESS);
	/* each host's last run: web1's and web3's first, web2's second */
	{
		struct run_row *last;
		size_t n;

		assert_int_equal(store_runs_per_host(h->st, 1, &last, &n),
				 0);
		assert_int_equal(n, 3);
		assert_string_equal(last[0].host, "web1");
		assert_int_equal(last[0].id, 1);
		assert_string_equal(last[1].host, "web2");
		assert_int_equal(last[1].id, 4);
		assert_string_equal(last[2].host, "web3");
		assert_int_equal(last[2].id, 3);
		run_rows_free(last, n);
		assert_int_equal(store_runs_page(h->st, 1, 2, &last, &n), 0);
		assert_int_equal(n, 2);
		assert_int_equal(last[0].id, 4);
		assert_int_equal(last[1].id, 3);
		run_rows_free(last, n);
	}
	/* forced again when every host succeeded: all of them run */
	assert_int_equal(sched_trigger(h->s, "", "c", "patch", 0, NULL), 0);
	h_claim(h);
	assert_int_equal(h->nrunning, 3);
	h_end_host(h, "patch", "web1", RS_SUCCESS);
	h_end_host(h, "patch", "web2", RS_SUCCESS);
	h_end_host(h, "patch", "web3", RS_SUCCESS);
	EXPECT(h, "patch:success after:waiting");
	h_free(h);
}

/* The swarm's nodes, as the fake hook gives them. */
static const char *fake_nodes[4];
static int fake_fail;
static char fake_asked[128];

static int
fake_nodes_hook(void *arg, const char *const *constraints, size_t n,
		struct strvec *out)
{
	size_t i;

	(void)arg;
	fake_asked[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(fake_asked + strlen(fake_asked),
			 sizeof(fake_asked) - strlen(fake_asked), "%s%s",
			 i ? "," : "", constraints[i]);
	if (fake_fail)
		return err_set("cannot list the swarm's nodes: it is gone");
	for (i = 0; fake_nodes[i]; i++)
		strvec_push(out, fake_nodes[i]);
	return 0;
}

/* The last reason in the task's history. */
static char *
last_reason(struct h *h, const char *task)
{
	struct history_row *hist;
	struct task_row row;
	struct cascade_row c;
	size_t nh;
	char *r;

	assert_int_equal(store_cascade_find(h->st, "", "c", &c), 0);
	assert_int_equal(store_task_find(h->st, c.id, task, &row), 0);
	assert_int_equal(store_task_history(h->st, row.id, &hist, &nh), 0);
	r = xstrdup(hist[nh - 1].reason);
	history_rows_free(hist, nh);
	free(row.name);
	cascade_row_release(&c);
	return r;
}

/*
 * Placement mode global: a run per node the hook names (asked with the
 * task's constraints), each node's outcome its own, a run by hand runs
 * again only the node that failed (and one that joined); no node, or a
 * swarm that cannot say, ends the attempt error with why.
 */
static void
test_global_nodes(void **state)
{
	struct h *h = h_new();
	size_t i, k, hosts = 0;
	char *r;

	(void)state;
	sched_set_nodes_hook(h->s, fake_nodes_hook, NULL);
	fake_nodes[0] = "n1";
	fake_nodes[1] = "n2";
	fake_nodes[2] = NULL;
	fake_fail = 0;
	h_apply(h, HEAD "tasks:\n"
			"- {name: each, run: x, runner: swarm, image: i, "
			"placement: {mode: global, constraints: "
			"[node.role==worker]}}\n");
	h_claim(h);
	assert_string_equal(fake_asked, "node.role==worker");
	assert_int_equal(h->nrunning, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(h->running[i]->runner, "swarm");
		assert_int_equal(h->running[i]->placement.n, 1);
		for (k = 0; k < h->running[i]->nenv; k++)
			if (!strcmp(h->running[i]->env[k].name,
				    "SCAFFOLD_HOST") &&
			    !strcmp(h->running[i]->env[k].value,
				    fake_nodes[i]) &&
			    !strcmp(h->running[i]->host, fake_nodes[i]))
				hosts++;
	}
	assert_int_equal(hosts, 2);
	h_end_host(h, "each", "n1", RS_SUCCESS);
	EXPECT(h, "each:running");
	h_end_host(h, "each", "n2", RS_ERROR);
	EXPECT(h, "each:error");
	r = last_reason(h, "each");
	assert_string_equal(r, "run 2 failed: 1 of 2 hosts failed: n2: exit "
			       "code 1");
	free(r);
	/* by hand: n2 again, and n3 that joined; not n1 */
	fake_nodes[2] = "n3";
	fake_nodes[3] = NULL;
	assert_int_equal(sched_trigger(h->s, "", "c", "each", 0, NULL), 0);
	h_claim(h);
	assert_int_equal(h->nrunning, 2);
	assert_string_equal(h->running[0]->host, "n2");
	assert_string_equal(h->running[1]->host, "n3");
	r = last_reason(h, "each");
	assert_string_equal(r, "run 3 on n2, 4 on n3 started (attempt 1); "
			       "not again on n1: succeeded there already");
	free(r);
	h_end_host(h, "each", "n2", RS_SUCCESS);
	h_end_host(h, "each", "n3", RS_SUCCESS);
	EXPECT(h, "each:success");
	/* no node meets the constraints */
	fake_nodes[0] = NULL;
	assert_int_equal(sched_trigger(h->s, "", "c", "each", 0, NULL), 0);
	h_claim(h);
	assert_int_equal(h->nrunning, 0);
	EXPECT(h, "each:error");
	r = last_reason(h, "each");
	assert_string_equal(r, "run 5 failed: placement mode 'global': no "
			       "swarm node meets node.role==worker");
	free(r);
	/* the swarm cannot be asked */
	fake_fail = 1;
	assert_int_equal(sched_trigger(h->s, "", "c", "each", 0, NULL), 0);
	h_claim(h);
	assert_int_equal(h->nrunning, 0);
	r = last_reason(h, "each");
	assert_string_equal(r, "run 6 failed: cannot list the swarm's nodes: "
			       "it is gone");
	free(r);
	h_free(h);
}

/*
 * The task's retries on a fan-out run again only the hosts that failed;
 * a new definition runs every host.
 */
static void
test_fan_out_retry(void **state)
{
	struct h *h = h_new();
	struct history_row *hist;
	struct task_row row;
	struct cascade_row c;
	size_t nh;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: patch, run: x, runner: ssh, retries: 2, "
			"hosts: [web1, web2, web3]}\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 3);
	h_end_host(h, "patch", "web1", RS_ERROR);
	h_end_host(h, "patch", "web2", RS_SUCCESS);
	h_end_host(h, "patch", "web3", RS_ERROR);
	EXPECT(h, "patch:waiting");
	h_claim(h);
	assert_int_equal(h->nrunning, 2);
	assert_string_equal(h->running[0]->host, "web1");
	assert_string_equal(h->running[1]->host, "web3");
	assert_int_equal(h->running[0]->attempt, 2);
	assert_int_equal(store_cascade_find(h->st, "", "c", &c), 0);
	assert_int_equal(store_task_find(h->st, c.id, "patch", &row), 0);
	assert_int_equal(store_task_history(h->st, row.id, &hist, &nh), 0);
	assert_string_equal(hist[nh - 1].reason,
			    "run 4 on web1, 5 on web3 started (attempt 2); "
			    "not again on web2: succeeded there already");
	history_rows_free(hist, nh);
	h_end_host(h, "patch", "web3", RS_SUCCESS);
	h_end_host(h, "patch", "web1", RS_ERROR);
	EXPECT(h, "patch:waiting");
	h_claim(h);
	assert_int_equal(h->nrunning, 1);
	assert_string_equal(h->running[0]->host, "web1");
	h_end_host(h, "patch", "web1", RS_ERROR);
	EXPECT(h, "patch:error");
	/* a changed definition: every host again */
	h_apply(h, HEAD "tasks:\n"
			"- {name: patch, run: y, runner: ssh, retries: 2, "
			"hosts: [web1, web2, web3]}\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 3);
	free(row.name);
	cascade_row_release(&c);
	h_free(h);
}

/*
 * A run an earlier scaffold claimed but died before starting: its task
 * waits again and the next attempt has its number; a host of a fan-out
 * ends lost instead, the task not started again over the other hosts.
 */
static void
test_not_started(void **state)
{
	struct h *h = h_new();
	struct run_row run;
	int64_t id;
	size_t i;

	(void)state;
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: x}\n"
			"- {name: b, run: x, depends_on: [a]}\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 1);
	id = h->running[0]->run_id;
	assert_int_equal(sched_not_started(h->s, id, "scaffold stopped "
						     "before the run started"),
			 1);
	EXPECT(h, "a:waiting b:not_started");
	assert_int_equal(store_run_get(h->st, id, &run), 0);
	assert_int_equal(run.state, RS_LOST);
	assert_string_equal(run.message,
			    "scaffold stopped before the run started");
	run_row_release(&run);
	assert_true(sched_not_started(h->s, id, "again") < 0);
	assert_string_equal(err_msg(), "run 1 already ended (lost)");
	run_req_free(h->running[0]);
	h->nrunning = 0;
	h_claim(h);
	assert_int_equal(h->nrunning, 1);
	assert_int_equal(h->running[0]->attempt, 1);
	h_end(h, "a", RS_SUCCESS);
	EXPECT(h, "a:success b:waiting");
	h_free(h);

	h = h_new();
	h_apply(h, HEAD "tasks:\n"
			"- {name: patch, run: x, runner: ssh, "
			"hosts: [web1, web2]}\n");
	h_claim(h);
	assert_int_equal(h->nrunning, 2);
	for (i = 0; i < 2 && strcmp(h->running[i]->host, "web2"); i++)
		;
	assert_int_equal(sched_not_started(h->s, h->running[i]->run_id,
					   "scaffold stopped before the run "
					   "started"),
			 0);
	EXPECT(h, "patch:running");
	h_end_host(h, "patch", "web1", RS_SUCCESS);
	EXPECT(h, "patch:error");
	h_free(h);

	/* superseded while it was claimed: not_started, as its parent is
	 * not done */
	h = h_new();
	h_apply(h, chain_v1);
	h_end(h, "a", RS_SUCCESS);
	h_claim(h);
	h_apply(h, HEAD "tasks:\n"
			"- {name: a, run: changed}\n"
			"- {name: b, run: x, depends_on: [a]}\n"
			"- {name: c, run: x, depends_on: [b]}\n"
			"- {name: side, run: x}\n");
	EXPECT(h, "a:waiting b:running c:not_started side:running");
	for (i = 0; i < h->nrunning && strcmp(h->running[i]->task, "b"); i++)
		;
	assert_true(i < h->nrunning);
	assert_int_equal(sched_not_started(h->s, h->running[i]->run_id,
					   "scaffold stopped before the run "
					   "started"),
			 1);
	EXPECT(h, "a:waiting b:not_started c:not_started side:running");
	h_free(h);
}

/* What each revision reset is recorded with it, for its ?rev= page. */
static void
apply_at(struct h *h, const char *revision, const char *yaml)
{
	struct sched_def def;
	struct cascade *c = load_ok(yaml);

	def.cascade = c;
	def.source = yaml;
	def.file = "t.yaml";
	if (sched_apply(h->s, "infra", revision, &def, 1, 1, NULL, NULL) < 0)
		fail_msg("sched_apply: %s", err_msg());
	cascade_free(c);
}

static char *
resets_of(struct h *h, const char *revision)
{
	struct cascade_row c;
	struct reset_row *v;
	struct buf b = BUF_INIT;
	size_t n, ntasks, i;
	int ret;

	assert_int_equal(store_cascade_find(h->st, "infra", "t", &c), 0);
	ret = store_resets_get(h->st, c.id, revision, &ntasks, &v, &n);
	cascade_row_release(&c);
	if (ret == ERR_NOTFOUND)
		return xstrdup("not recorded");
	assert_int_equal(ret, 0);
	buf_addf(&b, "%zu tasks", ntasks);
	for (i = 0; i < n; i++)
		buf_addf(&b, "; %s %s (%s)", plan_action_names[v[i].action],
			 v[i].task, v[i].reason);
	reset_rows_free(v, n);
	return buf_detach(&b, NULL);
}

#define EXPECT_RESETS(h, rev, want)                      \
	do {                                             \
		char *got_ = resets_of((h), (rev));      \
		assert_string_equal(got_, (want));       \
		free(got_);                              \
	} while (0)

static void
test_resets_recorded(void **state)
{
	struct h *h = h_new();
	const char *abc = "version: v1\nname: t\ntasks:\n"
			  "- {name: a, run: x}\n"
			  "- {name: b, run: y, depends_on: [a]}\n"
			  "- {name: c, run: z}\n";
	const char *abc2 = "version: v1\nname: t\ntasks:\n"
			   "- {name: a, run: x2}\n"
			   "- {name: b, run: y, depends_on: [a]}\n";

	(void)state;
	apply_at(h, "c1", abc);
	EXPECT_RESETS(h, "c1", "3 tasks; added a (new task); added b (new "
			       "task); added c (new task)");
	apply_at(h, "c2", abc2);
	EXPECT_RESETS(h, "c2", "2 tasks; changed a (changed: run); reset b "
			       "(downstream of 'a' (changed)); removed c "
			       "(removed from the cascade)");
	/* a comment: nothing reset, recorded all the same */
	apply_at(h, "c3", abc2);
	EXPECT_RESETS(h, "c3", "2 tasks");
	EXPECT_RESETS(h, "c1", "3 tasks; added a (new task); added b (new "
			       "task); added c (new task)");
	EXPECT_RESETS(h, "c9", "not recorded");
	/* the same commit applied again says what it did the last time */
	apply_at(h, "c1", abc);
	EXPECT_RESETS(h, "c1", "3 tasks; changed a (changed: run); reset b "
			       "(downstream of 'a' (changed)); changed c "
			       "(back in the cascade)");
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_triggering_success),
		cmocka_unit_test(test_triggering_error_and_killed),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_auto_execute_and_manual),
		cmocka_unit_test(test_new_definition_resets_descendants),
		cmocka_unit_test(test_running_task_superseded),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_input_change),
		cmocka_unit_test(test_input_without_value_fails_run),
		cmocka_unit_test(test_kill_request),
		cmocka_unit_test(test_recover_lost),
		cmocka_unit_test(test_not_started),
		cmocka_unit_test(test_loads_from_nearest_ancestor),
		cmocka_unit_test(test_store_crash_mid_transaction),
		cmocka_unit_test(test_password_sealed_and_fingerprint_keyed),
		cmocka_unit_test(test_fan_out),
		cmocka_unit_test(test_global_nodes),
		cmocka_unit_test(test_fan_out_retry),
		cmocka_unit_test(test_resets_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
