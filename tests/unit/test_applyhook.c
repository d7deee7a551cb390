/*
 * test_applyhook.c - a revision and its commit statuses are recorded in
 * one transaction (sched_apply's hook), so that a crash keeps both or
 * neither.  Found by the crash campaign (tests/crash/): scaffold killed
 * between the apply and the statuses' own transaction applied the same
 * revision again at restart, which then changed nothing, and its commit
 * never got a status.
 */
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"
#include "../../webhook/webhook.h"

struct h {
	char dir[64];
	struct store *st;
	struct sched *s;
	struct config cf;
	struct repo_config rc;
	int fail;     /* the hook fails after noting the statuses */
	size_t noted; /* statuses the hook opened */
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

	snprintf(h->dir, sizeof(h->dir), "/tmp/scaffold-unit.XXXXXX");
	assert_non_null(mkdtemp(h->dir));
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

static int
hook(void *arg, const char *report)
{
	struct h *h = arg;
	int ret;

	ret = status_note_revision_in(h->st, &h->cf, &h->rc, "c1", 1, report,
				      NULL, 0, &h->noted);
	if (ret < 0)
		return ret;
	return h->fail ? err_set("the hook fails on purpose") : 0;
}

/* Apply revision c1 of a two-task cascade through the hook. */
static int
h_apply(struct h *h)
{
	static const char yaml[] = "version: v1\nname: deploy\ntasks:\n"
				   "- {name: a, run: x}\n"
				   "- {name: b, run: y, depends_on: [a]}\n";
	struct sched_def def;
	struct buf report = BUF_INIT;
	int ret;

	def.cascade = load_ok(yaml);
	def.source = yaml;
	def.file = ".scaffold/deploy.yaml";
	sched_set_apply_hook(h->s, hook, h);
	ret = sched_apply(h->s, "infra", "c1", &def, 1, 1, NULL, &report);
	sched_set_apply_hook(h->s, NULL, NULL);
	cascade_free(def.cascade);
	buf_release(&report);
	return ret;
}

static void
test_both(void **state)
{
	struct h *h = h_new();
	struct cascade_row c;
	struct status_row r;

	(void)state;
	if (h_apply(h) < 0)
		fail_msg("sched_apply: %s", err_msg());
	assert_int_equal(h->noted, 1);
	assert_int_equal(store_cascade_find(h->st, "infra", "deploy", &c), 0);
	cascade_row_release(&c);
	assert_int_equal(store_status_tracked(h->st, "infra",
					      "scaffold/deploy", &r),
			 0);
	assert_string_equal(r.commit_id, "c1");
	assert_string_equal(r.state, "pending");
	status_row_release(&r);
	h_free(h);
}

static void
test_neither(void **state)
{
	struct h *h = h_new();
	struct cascade_row c;
	struct status_row r;

	(void)state;
	h->fail = 1;
	assert_true(h_apply(h) < 0);
	assert_string_equal(err_msg(), "the hook fails on purpose");
	assert_int_equal(h->noted, 1);
	/* nothing of the apply is left, nor of its statuses */
	assert_int_equal(store_cascade_find(h->st, "infra", "deploy", &c),
			 ERR_NOTFOUND);
	assert_int_equal(store_status_tracked(h->st, "infra",
					      "scaffold/deploy", &r),
			 ERR_NOTFOUND);
	/* and the next attempt applies both */
	h->fail = 0;
	h->noted = 0;
	if (h_apply(h) < 0)
		fail_msg("sched_apply: %s", err_msg());
	assert_int_equal(h->noted, 1);
	assert_int_equal(store_status_tracked(h->st, "infra",
					      "scaffold/deploy", &r),
			 0);
	status_row_release(&r);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both),
		cmocka_unit_test(test_neither),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
