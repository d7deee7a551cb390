/*
 * test_outbox.c - commit statuses without a network: the outbox rows
 * (backoff, a newer row superseding an older unsent one, what counts as
 * tracked), the forges' state words, descriptions and links, and the
 * decisions of status.c on a real store and scheduler.
 */
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"
#include "../../webhook/status-int.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct h {
	char dir[64];
	struct store *st;
	struct sched *s;
	struct config cf;
	struct repo_config rc;
	const struct strvec *touched; /* the files a revision touched */
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
	h->rc.name = "infra";
	h->rc.forge_kind = "github";
	h->rc.forge_api_url = "http://127.0.0.1:1";
	h->rc.project = "acme/infra";
	h->cf.public_url = "https://scaffold.example.com/";
	h->cf.repos = &h->rc;
	h->cf.nrepos = 1;
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

static void
enqueue(struct h *h, const char *commit, const char *state)
{
	struct status_row r;

	memset(&r, 0, sizeof(r));
	r.repo = "infra";
	r.commit_id = (char *)commit;
	r.context = "scaffold/deploy";
	r.state = (char *)state;
	r.description = "d";
	r.changed = -1;
	if (store_status_enqueue(h->st, &r) < 0)
		fail_msg("enqueue: %s", err_msg());
	assert_true(r.id > 0);
}

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(status_backoff_ms(0), 0);
	assert_int_equal(status_backoff_ms(1), 1000);
	assert_int_equal(status_backoff_ms(2), 2000);
	assert_int_equal(status_backoff_ms(3), 4000);
	assert_int_equal(status_backoff_ms(9), 256000);
	assert_int_equal(status_backoff_ms(10), STATUS_BACKOFF_MAX_MS);
	assert_int_equal(status_backoff_ms(1000), STATUS_BACKOFF_MAX_MS);
}

/* A newer row of the same (repo, commit, context) supersedes an older
 * unsent one; rows of other commits do not. */
static void
test_supersede(void **state)
{
	struct h *h = h_new();
	struct status_row *v;
	size_t n;
	int64_t t0;

	(void)state;
	enqueue(h, "c1", "pending");
	enqueue(h, "c1", "success");
	enqueue(h, "c2", "pending");
	assert_int_equal(store_status_unsent(h->st, 100, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].state, "pending");
	assert_int_equal(v[0].superseded, 1);
	assert_int_equal(v[1].superseded, 0);
	assert_int_equal(v[2].superseded, 0);
	assert_int_equal(store_status_done(h->st, v[1].id, "sent", NULL), 0);
	t0 = store_now_ms();
	assert_int_equal(store_status_retry(h->st, v[2].id, "down"), 0);
	assert_int_equal(store_status_retry(h->st, v[2].id, "still down"), 0);
	status_rows_free(v, n);

	assert_int_equal(store_status_unsent(h->st, 100, &v, &n), 0);
	assert_int_equal(n, 2);
	/* a sent newer row still supersedes the older unsent one */
	assert_int_equal(v[0].superseded, 1);
	assert_string_equal(v[1].commit_id, "c2");
	assert_int_equal(v[1].attempts, 2);
	assert_string_equal(v[1].last_error, "still down");
	assert_true(v[1].next_at >= t0 + 2000);
	assert_true(v[1].next_at <= store_now_ms() + 2000);
	status_rows_free(v, n);
	assert_int_equal(store_status_retry(h->st, 999, "x"), ERR_NOTFOUND);
	h_free(h);
}

/* error rows (invalid files) are not what a cascade's status follows. */
static void
test_tracked(void **state)
{
	struct h *h = h_new();
	struct status_row r, *v;
	size_t n;

	(void)state;
	assert_int_equal(store_status_tracked(h->st, "infra",
					      "scaffold/deploy", &r),
			 ERR_NOTFOUND);
	enqueue(h, "c1", "pending");
	enqueue(h, "c2", "error");
	assert_int_equal(store_status_tracked(h->st, "infra",
					      "scaffold/deploy", &r),
			 0);
	assert_string_equal(r.commit_id, "c1");
	status_row_release(&r);
	assert_int_equal(store_status_last(h->st, "infra", "c2",
					   "scaffold/deploy", &r),
			 0);
	assert_string_equal(r.state, "error");
	status_row_release(&r);
	assert_int_equal(store_status_open(h->st, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].commit_id, "c1");
	status_rows_free(v, n);
	enqueue(h, "c1", "success");
	assert_int_equal(store_status_open(h->st, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	h_free(h);
}

static void
test_forge_states(void **state)
{
	(void)state;
	assert_string_equal(forge_state("github", "canceled"), "error");
	assert_string_equal(forge_state("gitea", "failure"), "failure");
	assert_string_equal(forge_state("gitlab", "failure"), "failed");
	assert_string_equal(forge_state("gitlab", "error"), "failed");
	assert_string_equal(forge_state("gitlab", "canceled"), "canceled");
	assert_string_equal(forge_state("gitlab", "pending"), "pending");
	assert_null(forge_state("gitlab", "running"));
	assert_null(forge_state("bitbucket", "success"));
}

static void
test_text(void **state)
{
	struct buf b = BUF_INIT;
	struct config cf;

	(void)state;
	buf_puts(&b, "0123456789");
	status_truncate(&b, 10);
	assert_string_equal(b.ptr, "0123456789");
	status_truncate(&b, 8);
	assert_string_equal(b.ptr, "01234...");
	buf_reset(&b);
	/* "é" is two bytes: never cut in the middle */
	buf_puts(&b, "abcd\xc3\xa9xyz");
	status_truncate(&b, 8);
	assert_string_equal(b.ptr, "abcd...");
	buf_reset(&b);
	memset(&cf, 0, sizeof(cf));
	cf.public_url = "https://s.example.com/x//";
	status_target_url(&b, &cf, "infra", "deploy.v2", "abc");
	assert_string_equal(b.ptr,
			    "https://s.example.com/x/c/infra/deploy.v2?rev=abc");
	buf_reset(&b);
	forge_url_escape(&b, "group/sub proj", 0);
	assert_string_equal(b.ptr, "group%2Fsub%20proj");
	buf_reset(&b);
	forge_url_escape(&b, "owner/name", 1);
	assert_string_equal(b.ptr, "owner/name");
	buf_release(&b);
}

/* A missing token file is an error worth retrying, naming the repo. */
static void
test_token_missing(void **state)
{
	struct repo_config rc;
	struct status_row r;
	enum forge_outcome out;

	(void)state;
	memset(&rc, 0, sizeof(rc));
	memset(&r, 0, sizeof(r));
	rc.name = "infra";
	rc.forge_kind = "gitea";
	rc.forge_api_url = "http://127.0.0.1:1";
	rc.forge_token_file = "/nonexistent/token";
	rc.project = "acme/infra";
	r.commit_id = "abc";
	r.context = "scaffold/deploy";
	r.state = "success";
	assert_int_equal(forge_post(&out, &rc, &r, NULL), -1);
	assert_non_null(strstr(err_msg(), "repo 'infra': cannot read the "
					  "forge token: "));
	rc.project = NULL;
	assert_int_equal(forge_post(&out, &rc, &r, NULL), ERR_INVALID);
}

/* ---- decisions ---- */

#define YAML_AB                                                     \
	"version: v1\nname: deploy\ntasks:\n"                       \
	"- {name: a, run: x}\n"                                     \
	"- {name: b, run: %s, depends_on: [a]}\n"

/* Apply a revision (b's script given) and open its statuses. */
static void
h_revision(struct h *h, const char *commit, const char *b_run)
{
	struct sched_def def;
	struct buf yaml = BUF_INIT, report = BUF_INIT;
	struct cascade *c;
	int64_t at;

	buf_addf(&yaml, YAML_AB, b_run);
	c = load_ok(yaml.ptr);
	def.cascade = c;
	def.source = yaml.ptr;
	def.file = ".scaffold/deploy.yaml";
	at = status_revision_begin(&h->rc);
	if (sched_apply(h->s, "infra", commit, &def, 1, 1, NULL, &report) < 0)
		fail_msg("sched_apply: %s", err_msg());
	if (status_note_revision(NULL, h->st, &h->cf, &h->rc, commit, at,
				 report.ptr, h->touched, NULL, 0) < 0)
		fail_msg("status_note_revision: %s", err_msg());
	status_revision_end(&h->rc);
	cascade_free(c);
	buf_release(&yaml);
	buf_release(&report);
}

/* Claim what waits and end the run of task with state and exit code. */
static void
h_end(struct h *h, const char *task, enum run_state st, int code)
{
	struct run_req **reqs;
	struct run_done d;
	size_t n, i, k;
	int found = 0;

	if (sched_claim(h->s, 64, &reqs, &n) < 0)
		fail_msg("sched_claim: %s", err_msg());
	for (i = 0; i < n; i++) {
		if (!strcmp(reqs[i]->task, task)) {
			memset(&d, 0, sizeof(d));
			d.run_id = reqs[i]->run_id;
			d.state = st;
			d.exit_code = code;
			d.message = "";
			if (sched_finish(h->s, &d) < 0)
				fail_msg("sched_finish: %s", err_msg());
			found = 1;
		}
	}
	for (k = 0; k < n; k++)
		run_req_free(reqs[k]);
	free(reqs);
	if (!found)
		fail_msg("task '%s' was not ready", task);
}

static void
h_settle(struct h *h)
{
	struct cascade_row row;

	assert_int_equal(store_cascade_find(h->st, "infra", "deploy", &row), 0);
	if (status_cascade(h->st, &h->cf, row.id, NULL) < 0)
		fail_msg("status_cascade: %s", err_msg());
	cascade_row_release(&row);
}

/* Every row, "commit state description" per line. */
static char *
h_rows(struct h *h)
{
	struct status_row *v;
	struct buf b = BUF_INIT;
	size_t n, i;

	assert_int_equal(store_status_unsent(h->st, 100, &v, &n), 0);
	for (i = 0; i < n; i++)
		buf_addf(&b, "%s %s %s\n", v[i].commit_id, v[i].state,
			 v[i].description);
	if (n)
		assert_string_equal(v[0].target_url,
				    "https://scaffold.example.com/c/infra/"
				    "deploy?rev=c1");
	status_rows_free(v, n);
	return buf_detach(&b, NULL);
}

#define EXPECT_ROWS(h, want)                         \
	do {                                         \
		char *got_ = h_rows(h);              \
		assert_string_equal(got_, (want));   \
		free(got_);                          \
	} while (0)

static void
test_decisions(void **state)
{
	struct h *h = h_new();
	struct strvec other = STRVEC_INIT, mine = STRVEC_INIT;

	strvec_push(&other, ".scaffold/other.yaml");
	strvec_push(&mine, ".scaffold/deploy.yaml");

	(void)state;
	h_revision(h, "c1", "y");
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n");
	h_end(h, "a", RS_SUCCESS, 0);
	h_settle(h);
	/* still running: no second pending */
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n");
	h_end(h, "b", RS_ERROR, 3);
	h_settle(h);
	h_settle(h);
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n"
		       "c1 failure 1 of 2 failed: b (exit 3)\n");

	/* c2 changes b; before it settles c3 changes it again */
	h_revision(h, "c2", "z");
	h_revision(h, "c3", "w");
	h_end(h, "b", RS_SUCCESS, 0);
	h_settle(h);
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n"
		       "c1 failure 1 of 2 failed: b (exit 3)\n"
		       "c2 pending 1 changed, 1 to run\n"
		       "c2 canceled superseded by c3\n"
		       "c3 pending 1 changed, 1 to run\n"
		       "c3 success 1 changed, 1 re-ran, all succeeded\n");

	/* a revision that touches another file opens nothing */
	h->touched = &other;
	h_revision(h, "c4", "w");
	h_settle(h);
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n"
		       "c1 failure 1 of 2 failed: b (exit 3)\n"
		       "c2 pending 1 changed, 1 to run\n"
		       "c2 canceled superseded by c3\n"
		       "c3 pending 1 changed, 1 to run\n"
		       "c3 success 1 changed, 1 re-ran, all succeeded\n");
	/* one that touches its file (a comment) says its state */
	h->touched = &mine;
	h_revision(h, "c5", "w");
	h_settle(h);
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n"
		       "c1 failure 1 of 2 failed: b (exit 3)\n"
		       "c2 pending 1 changed, 1 to run\n"
		       "c2 canceled superseded by c3\n"
		       "c3 pending 1 changed, 1 to run\n"
		       "c3 success 1 changed, 1 re-ran, all succeeded\n"
		       "c5 success no change to the definition; all "
		       "succeeded\n");
	/* a failing one names what fails, from its last run */
	h_revision(h, "c6", "v");
	h_end(h, "b", RS_ERROR, 4);
	h_settle(h);
	h->touched = NULL;
	h_revision(h, "c7", "v");
	h_settle(h);
	EXPECT_ROWS(h, "c1 pending 2 changed, 2 to run\n"
		       "c1 failure 1 of 2 failed: b (exit 3)\n"
		       "c2 pending 1 changed, 1 to run\n"
		       "c2 canceled superseded by c3\n"
		       "c3 pending 1 changed, 1 to run\n"
		       "c3 success 1 changed, 1 re-ran, all succeeded\n"
		       "c5 success no change to the definition; all "
		       "succeeded\n"
		       "c6 pending 1 changed, 1 to run\n"
		       "c6 failure 1 of 1 failed: b (exit 4)\n"
		       "c7 failure no change to the definition; failing: b "
		       "(exit 4)\n");
	strvec_clear(&other);
	strvec_clear(&mine);
	h_free(h);
}

/* No forge: no statuses at all. */
static void
test_no_forge(void **state)
{
	struct h *h = h_new();

	(void)state;
	h->rc.forge_kind = NULL;
	h_revision(h, "c1", "y");
	h_end(h, "a", RS_SUCCESS, 0);
	h_end(h, "b", RS_SUCCESS, 0);
	h_settle(h);
	EXPECT_ROWS(h, "");
	h_free(h);
}

/* An invalid file is error at its commit, once. */
static void
test_invalid(void **state)
{
	struct h *h = h_new();
	struct status_invalid inv = { ".scaffold/deploy.yaml", 4, 9,
				      "unknown key 'imag'" };
	int64_t at;
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		at = status_revision_begin(&h->rc);
		assert_int_equal(status_note_revision(NULL, h->st, &h->cf,
						      &h->rc, "c1", at, "",
						      NULL, &inv, 1),
				 0);
		status_revision_end(&h->rc);
	}
	EXPECT_ROWS(h, "c1 error invalid: .scaffold/deploy.yaml:4:9: "
		       "unknown key 'imag'\n");
	h_free(h);
}

/*
 * A revision and its commit statuses are recorded in one transaction
 * (sched_apply's hook), so that a crash keeps both or neither.  Found by
 * the crash campaign (tests/crash/): scaffold killed between the apply
 * and the statuses' own transaction applied the same revision again at
 * restart, which then changed nothing, and its commit never got a status.
 */
struct hook_arg {
	struct h *h;
	int fail;     /* the hook fails after noting the statuses */
	size_t noted; /* statuses the hook opened */
};

static int
apply_hook(void *arg, const char *report)
{
	struct hook_arg *a = arg;
	int ret;

	ret = status_note_revision_in(a->h->st, &a->h->cf, &a->h->rc, "c1", 1,
				      report, NULL, NULL, 0, &a->noted);
	if (ret < 0)
		return ret;
	return a->fail ? err_set("the hook fails on purpose") : 0;
}

/* Apply revision c1 of the two-task cascade through the hook. */
static int
h_apply_hooked(struct hook_arg *a)
{
	struct sched_def def;
	struct buf yaml = BUF_INIT, report = BUF_INIT;
	int ret;

	buf_addf(&yaml, YAML_AB, "y");
	def.cascade = load_ok(yaml.ptr);
	def.source = yaml.ptr;
	def.file = ".scaffold/deploy.yaml";
	sched_set_apply_hook(a->h->s, apply_hook, a);
	ret = sched_apply(a->h->s, "infra", "c1", &def, 1, 1, NULL, &report);
	sched_set_apply_hook(a->h->s, NULL, NULL);
	cascade_free(def.cascade);
	buf_release(&yaml);
	buf_release(&report);
	return ret;
}

static void
test_apply_atomic(void **state)
{
	struct hook_arg a = { h_new(), 1, 0 };
	struct cascade_row c;
	struct status_row r;

	(void)state;
	assert_true(h_apply_hooked(&a) < 0);
	assert_string_equal(err_msg(), "the hook fails on purpose");
	assert_int_equal(a.noted, 1);
	/* nothing of the apply is left, nor of its statuses */
	assert_int_equal(store_cascade_find(a.h->st, "infra", "deploy", &c),
			 ERR_NOTFOUND);
	assert_int_equal(store_status_tracked(a.h->st, "infra",
					      "scaffold/deploy", &r),
			 ERR_NOTFOUND);
	/* the next attempt records both */
	a.fail = 0;
	a.noted = 0;
	if (h_apply_hooked(&a) < 0)
		fail_msg("sched_apply: %s", err_msg());
	assert_int_equal(a.noted, 1);
	assert_int_equal(store_cascade_find(a.h->st, "infra", "deploy", &c), 0);
	cascade_row_release(&c);
	EXPECT_ROWS(a.h, "c1 pending 2 changed, 2 to run\n");
	h_free(a.h);
}

/* Pull request comments: one row per pull request, versions so that a
 * body sent late never hides a newer one, the marker kept, the body's
 * table escaped; nothing without plan_comments, and no comment made for a
 * close alone. */
static void
test_prcomments(void **state)
{
	struct h *h = h_new();
	struct prcomment_row *rows = NULL;
	char marker[PRCOMMENT_MARKER_LEN + 1], again[PRCOMMENT_MARKER_LEN + 1];
	size_t n = 0, enq = 0;
	json_t *plan;

	(void)state;
	plan = json_pack("{s:[{s:s,s:s,s:s,s:{s:[s,s]}},{s:s,s:s,s:[s]}]}",
			 "cascades", "file", ".scaffold/a.yaml", "cascade",
			 "deploy", "action", "changed", "plan", "reset",
			 "build", "db_test", "file", ".scaffold/b.yaml",
			 "action", "invalid", "errors",
			 "b.yaml:1:1: unknown key '<x>|@all'");
	/* off: nothing */
	assert_int_equal(prcomment_plan(h->st, &h->cf, &h->rc, 7, SHA_A,
					"sum", plan, &enq),
			 0);
	assert_int_equal(enq, 0);
	assert_int_equal(prcomment_closed(h->st, &h->cf, &h->rc, 7, SHA_A,
					  "closed", &enq),
			 0);
	h->rc.plan_comments = 1;
	/* a close of a pull request never commented: no comment */
	assert_int_equal(prcomment_closed(h->st, &h->cf, &h->rc, 7, SHA_A,
					  "closed", &enq),
			 0);
	assert_int_equal(enq, 0);
	assert_int_equal(store_prcomment_marker(h->st, "infra", 7, marker),
			 ERR_NOTFOUND);
	assert_int_equal(prcomment_plan(h->st, &h->cf, &h->rc, 7, SHA_A,
					"2 cascades: 1 changed", plan, &enq),
			 0);
	assert_int_equal(enq, 1);
	assert_int_equal(store_prcomment_marker(h->st, "infra", 7, marker), 0);
	assert_int_equal(strlen(marker), PRCOMMENT_MARKER_LEN);
	assert_int_equal(store_prcomments_due(h->st, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].version, 1);
	assert_null(rows[0].comment_id);
	assert_string_equal(rows[0].marker, marker);
	assert_non_null(strstr(rows[0].body, marker));
	assert_non_null(strstr(
		rows[0].body,
		"| deploy | changed | 2: build, db\\_test |  |\n"
		"| .scaffold/b.yaml | invalid |  | b.yaml:1:1: unknown key "
		"'&lt;x&gt;&#124;&#64;all' |\n"));
	prcomment_rows_free(rows, n);
	/* a new head before the first went out: version 2 */
	assert_int_equal(prcomment_plan(h->st, &h->cf, &h->rc, 7, SHA_B,
					"sum", plan, &enq),
			 0);
	assert_int_equal(store_prcomment_marker(h->st, "infra", 7, again), 0);
	assert_string_equal(again, marker);
	/* version 1 sent late: version 2 is still due */
	assert_int_equal(store_prcomment_tried(h->st, "infra", 7), 0);
	assert_int_equal(store_prcomment_id(h->st, "infra", 7, "1000"), 0);
	assert_int_equal(store_prcomment_sent(h->st, "infra", 7, 1, NULL), 0);
	assert_int_equal(store_prcomments_due(h->st, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].version, 2);
	assert_string_equal(rows[0].comment_id, "1000");
	assert_int_equal(rows[0].create_tried, 0);
	prcomment_rows_free(rows, n);
	/* a failed attempt waits */
	assert_int_equal(store_prcomment_retry(h->st, "infra", 7, 1, "down"),
			 0);
	assert_int_equal(store_prcomments_due(h->st, 10, &rows, &n), 0);
	assert_int_equal(rows[0].attempts, 1);
	assert_true(rows[0].next_at > store_now_ms());
	prcomment_rows_free(rows, n);
	assert_int_equal(store_prcomment_sent(h->st, "infra", 7, 2, NULL), 0);
	assert_int_equal(store_prcomments_due(h->st, 10, &rows, &n), 0);
	assert_int_equal(n, 0);
	/* closed: the comment says so */
	assert_int_equal(prcomment_closed(h->st, &h->cf, &h->rc, 7, SHA_B,
					  "merged", &enq),
			 0);
	assert_int_equal(store_prcomments_due(h->st, 10, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(rows[0].body, "the pull request is merged"));
	prcomment_rows_free(rows, n);
	json_decref(plan);
	h_free(h);
}

/* A closed pull request's plans: marked closed with how, shown by
 * store_prplan_get, not pending; reopened (the same head asked again) or
 * into another base, planned again; the same head again otherwise not. */
static void
test_prplan_close(void **state)
{
	struct h *h = h_new();
	struct prplan_row row, *rows = NULL;
	size_t n = 0;
	int isnew = -1, closed = -1;

	(void)state;
	assert_int_equal(store_prplan_request(h->st, "infra", 7,
					      "refs/pull/7/head", SHA_A,
					      "main", &isnew),
			 0);
	assert_int_equal(isnew, 1);
	assert_int_equal(store_prplans_close(h->st, "infra", 7, "merged",
					     &closed),
			 0);
	assert_int_equal(closed, 1);
	assert_int_equal(store_prplan_get(h->st, "infra", SHA_A, &row), 0);
	assert_true(row.closed_at > 0);
	assert_string_equal(row.closed_how, "merged");
	prplan_row_release(&row);
	assert_int_equal(store_prplans_pending(h->st, "infra", &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_prplans_close(h->st, "infra", 7, "closed",
					     &closed),
			 0);
	assert_int_equal(closed, 0);
	/* reopened: pending again, open */
	assert_int_equal(store_prplan_request(h->st, "infra", 7,
					      "refs/pull/7/head", SHA_A,
					      "main", &isnew),
			 0);
	assert_int_equal(isnew, 1);
	assert_int_equal(store_prplan_get(h->st, "infra", SHA_A, &row), 0);
	assert_int_equal(row.closed_at, 0);
	assert_null(row.closed_how);
	assert_string_equal(row.state, "pending");
	prplan_row_release(&row);
	assert_int_equal(store_prplan_finish(h->st, 1, "success", "s", "{}"),
			 0);
	/* the same head and base again: nothing new */
	assert_int_equal(store_prplan_request(h->st, "infra", 7,
					      "refs/pull/7/head", SHA_A,
					      "main", &isnew),
			 0);
	assert_int_equal(isnew, 0);
	/* into another base: planned again */
	assert_int_equal(store_prplan_request(h->st, "infra", 7,
					      "refs/pull/7/head", SHA_A,
					      "release", &isnew),
			 0);
	assert_int_equal(isnew, 1);
	assert_int_equal(store_prplans_pending(h->st, "infra", &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].base, "release");
	prplan_rows_free(rows, n);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_supersede),
		cmocka_unit_test(test_tracked),
		cmocka_unit_test(test_forge_states),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_token_missing),
		cmocka_unit_test(test_decisions),
		cmocka_unit_test(test_no_forge),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_apply_atomic),
		cmocka_unit_test(test_prcomments),
		cmocka_unit_test(test_prplan_close),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
