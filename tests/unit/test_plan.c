/* test_plan.c - added, removed, changed (with fields), reset and reasons. */
#include "unit.h"

static struct cascade *
load_path(const char *rel)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	struct buf path = BUF_INIT;

	buf_addf(&path, "%s/%s", SRCDIR, rel);
	if (cascade_load_file(&c, path.ptr, 0, &d) != 0) {
		diags_print(stderr, &d);
		fail_msg("cannot load %s", path.ptr);
	}
	diags_release(&d);
	buf_release(&path);
	return c;
}

/* "name:action" for every entry, comma separated. */
static char *
summary(const struct plan *p)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < p->n; i++)
		buf_addf(&b, "%s%s:%s", i ? "," : "", p->v[i].task,
			 plan_action_names[p->v[i].action]);
	return buf_detach(&b, NULL);
}

static const struct plan_entry *
entry(const struct plan *p, const char *task)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].task, task))
			return &p->v[i];
	fail_msg("no plan entry for '%s'", task);
	return NULL;
}

static void
test_eks_create_db_users(void **state)
{
	struct cascade *old = load_path("examples/application-deploy.yaml");
	struct cascade *new = load_path("examples/application-deploy.yaml");
	struct task *t = cascade_task(new, "create_db_users");
	struct plan p;
	char *s;

	(void)state;
	/* edit the script of create_db_users in the loaded model */
	t->run = "sleep 1\necho \"Users created, again\"\n";
	t->run_len = strlen(t->run);
	plan_compute(&p, old, new, NULL, NULL);
	assert_int_equal(plan_reset_count(&p), 11);
	assert_int_equal(p.count[PLAN_CHANGED], 1);
	assert_int_equal(p.count[PLAN_RESET], 10);
	assert_int_equal(p.count[PLAN_UNCHANGED], 4);
	s = summary(&p);
	assert_string_equal(s, "build_images:unchanged,"
			       "create_db_schemas:unchanged,"
			       "create_db_users:changed,"
			       "deploy_application:reset,"
			       "deploy_terraform:unchanged,"
			       "deploy_traefik:reset,"
			       "deregister_old:reset,"
			       "destroy_old_application:reset,"
			       "destroy_old_traefik:reset,"
			       "east_coast_check:reset,"
			       "midwest_check:reset,"
			       "push_images:unchanged,"
			       "register_new:reset,"
			       "run_tests:reset,"
			       "west_coast_check:reset");
	free(s);
	assert_string_equal(entry(&p, "create_db_users")->reason,
			    "changed: run");
	assert_string_equal(entry(&p, "destroy_old_traefik")->reason,
			    "downstream of 'create_db_users' (changed)");
	assert_null(entry(&p, "push_images")->reason);
	plan_release(&p);
	cascade_free(old);
	cascade_free(new);
}

static void
test_added_removed_changed(void **state)
{
	struct cascade *old = load_ok(
		"version: v1\nname: p\ntasks:\n"
		"- {name: a, run: x}\n"
		"- {name: b, run: x, depends_on: [a]}\n"
		"- {name: gone, run: x}\n"
		"- {name: c, run: x, env: {K: 1}}\n");
	struct cascade *new = load_ok(
		"version: v1\nname: p\ntasks:\n"
		"- {name: a, run: x}\n"
		"- {name: new, run: x, depends_on: [a]}\n"
		"- {name: b, run: x, depends_on: [a, new]}\n"
		"- {name: c, run: y, env: {K: 2}}\n"
		"- {name: d, run: x, depends_on: {error: [c]}}\n");
	struct plan p;
	char *s;

	(void)state;
	plan_compute(&p, old, new, NULL, NULL);
	s = summary(&p);
	assert_string_equal(s, "a:unchanged,b:changed,c:changed,d:added,"
			       "gone:removed,new:added");
	free(s);
	assert_string_equal(entry(&p, "b")->reason, "changed: depends_on");
	assert_string_equal(entry(&p, "c")->reason, "changed: run, env");
	assert_int_equal(entry(&p, "c")->changed,
			 (1u << FP_RUN) | (1u << FP_ENV));
	assert_string_equal(entry(&p, "d")->reason, "new task");
	assert_string_equal(entry(&p, "gone")->reason,
			    "removed from the cascade");
	assert_int_equal(plan_reset_count(&p), 4);
	plan_release(&p);

	/* from nothing, everything is added */
	plan_compute(&p, NULL, new, NULL, NULL);
	assert_int_equal(p.count[PLAN_ADDED], 5);
	assert_int_equal(plan_reset_count(&p), 5);
	plan_release(&p);

	/* against itself, nothing */
	plan_compute(&p, new, new, NULL, NULL);
	assert_int_equal(p.count[PLAN_UNCHANGED], 5);
	assert_int_equal(plan_reset_count(&p), 0);
	plan_release(&p);
	cascade_free(old);
	cascade_free(new);
}

static void
test_reset_names_nearest_change(void **state)
{
	struct cascade *old = load_ok(
		"version: v1\nname: p\ntasks:\n"
		"- {name: a, run: x}\n"
		"- {name: b, run: x, depends_on: [a]}\n"
		"- {name: c, run: x, depends_on: [b]}\n");
	struct cascade *new = load_ok(
		"version: v1\nname: p\ntasks:\n"
		"- {name: a, run: changed}\n"
		"- {name: b, run: x, depends_on: [a]}\n"
		"- {name: c, run: x, depends_on: {always: [b]}}\n");
	struct plan p;

	(void)state;
	plan_compute(&p, old, new, NULL, NULL);
	assert_string_equal(entry(&p, "b")->reason,
			    "downstream of 'a' (changed)");
	assert_int_equal(entry(&p, "b")->action, PLAN_RESET);
	assert_string_equal(entry(&p, "c")->reason, "changed: depends_on");
	plan_release(&p);
	cascade_free(old);
	cascade_free(new);
}

/* The fields as a plan shows them side by side: sorted where the
 * fingerprint sorts, a password's value never. */
static void
test_field_texts(void **state)
{
	struct cascade *c = load_ok(
		"version: v1\nname: f\nrunner: docker\n"
		"inputs:\n- {name: pw, type: password, default: s3cret}\n"
		"- {name: region, default: eu}\n"
		"tasks:\n- {name: a, image: alpine, run: x}\n"
		"- name: b\n  image: alpine:3\n  run: \"one\\ntwo\\n\"\n"
		"  env: {Z: 1, A: 2}\n  inputs: {P: pw, R: region}\n"
		"  depends_on: {success: [a]}\n");
	const struct task *b = cascade_task(c, "b");
	struct buf t = BUF_INIT;

	(void)state;
	task_field_text(&t, c, b, FP_RUN, NULL);
	assert_string_equal(t.ptr, "one\ntwo\n");
	buf_reset(&t);
	task_field_text(&t, c, b, FP_ENV, NULL);
	assert_string_equal(t.ptr, "A=2\nZ=1");
	buf_reset(&t);
	task_field_text(&t, c, b, FP_INPUTS, NULL);
	assert_string_equal(t.ptr, "P <- pw\nR <- region");
	buf_reset(&t);
	task_field_text(&t, c, b, FP_INPUT_VALUES, NULL);
	assert_string_equal(t.ptr, "pw = ******** (a password: never shown)\n"
				   "region = eu");
	assert_null(strstr(t.ptr, "s3cret"));
	buf_reset(&t);
	task_field_text(&t, c, b, FP_IMAGE, NULL);
	assert_string_equal(t.ptr, "alpine:3");
	buf_reset(&t);
	task_field_text(&t, c, b, FP_DEPENDS_ON, NULL);
	assert_string_equal(t.ptr, "success: a");
	buf_reset(&t);
	task_field_text(&t, c, b, FP_HOSTS, NULL);
	assert_string_equal(t.ptr, "");
	buf_release(&t);
	cascade_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eks_create_db_users),
		cmocka_unit_test(test_added_removed_changed),
		cmocka_unit_test(test_reset_names_nearest_change),
		cmocka_unit_test(test_field_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
