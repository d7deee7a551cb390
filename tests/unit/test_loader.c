/* test_loader.c - every field of the v1 format lands in the model. */
#include "unit.h"

static const char full[] =
	"version: v1\n"
	"name: deploy\n"
	"description: the whole format\n"
	"runner: ssh\n"
	"hosts: [web1, web2]\n"
	"inputs:\n"
	"  - name: DB_PASSWORD\n"
	"    description: admin password\n"
	"    type: password\n"
	"    default: \"s3cr=t\"\n"
	"  - name: REGION\n"
	"tasks:\n"
	"  - name: build\n"
	"    runner: docker\n"
	"    image: ubuntu:20.04\n"
	"    run: |\n"
	"      make\n"
	"      echo done\n"
	"    env: {A: 1, B: \"two\", C: true, D: }\n"
	"    store: {file: [out/app.tar], env: [VERSION]}\n"
	"  - name: migrate\n"
	"    hosts: [db1]\n"
	"    run: ./migrate.sh\n"
	"    inputs: {PGPASSWORD: DB_PASSWORD}\n"
	"    depends_on: [build]\n"
	"    load: {file: [out/app.tar], env: [VERSION]}\n"
	"    auto_execute: false\n"
	"    timeout: 1h30m\n"
	"    retries: 2\n"
	"    check:\n"
	"      interval: 5m\n"
	"      run: curl -fsS http://localhost/health\n"
	"  - name: notify\n"
	"    runner: local\n"
	"    run: echo\n"
	"    depends_on:\n"
	"      success: [migrate]\n"
	"      error: [build]\n"
	"      always: []\n";

static void
test_every_field(void **state)
{
	struct cascade *c = load_ok(full);
	struct task *b, *m, *n;
	const struct input *in;

	(void)state;
	assert_string_equal(c->name, "deploy");
	assert_string_equal(c->description, "the whole format");
	assert_string_equal(c->runner, "ssh");
	assert_int_equal(c->hosts.n, 2);
	assert_int_equal(c->ntasks, 3);

	in = cascade_input(c, "DB_PASSWORD");
	assert_non_null(in);
	assert_int_equal(in->type, INPUT_PASSWORD);
	assert_string_equal(in->default_value, "s3cr=t");
	assert_string_equal(in->description, "admin password");
	in = cascade_input(c, "REGION");
	assert_int_equal(in->type, INPUT_TEXT);
	assert_null(in->default_value);

	b = cascade_task(c, "build");
	assert_string_equal(b->runner, "docker");
	assert_string_equal(b->image, "ubuntu:20.04");
	assert_string_equal(b->run, "make\necho done\n");
	assert_int_equal(b->nenv, 4);
	assert_string_equal(b->env[0].key, "A");
	assert_string_equal(b->env[0].value, "1");
	assert_string_equal(b->env[1].value, "two");
	assert_string_equal(b->env[2].value, "true");
	assert_string_equal(b->env[3].value, "");
	assert_string_equal(b->store_file.v[0].name, "out/app.tar");
	assert_string_equal(b->store_env.v[0].name, "VERSION");
	assert_int_equal(b->auto_execute, 1);
	assert_int_equal(b->timeout_ms, TASK_DEFAULT_TIMEOUT_MS);
	assert_int_equal(b->retries, 0);
	assert_null(b->check);

	m = cascade_task(c, "migrate");
	assert_string_equal(m->runner, "ssh");
	assert_int_equal(m->hosts.n, 1);
	assert_string_equal(m->hosts.v[0].name, "db1");
	assert_int_equal(m->ninputs, 1);
	assert_string_equal(m->inputs[0].key, "PGPASSWORD");
	assert_string_equal(m->inputs[0].value, "DB_PASSWORD");
	assert_int_equal(m->ndeps, 1);
	assert_int_equal(m->deps[0].kind, DEP_SUCCESS);
	assert_int_equal(m->deps[0].task, 0);
	assert_int_equal(m->auto_execute, 0);
	assert_int_equal(m->timeout_ms, 5400000);
	assert_int_equal(m->retries, 2);
	assert_non_null(m->check);
	assert_int_equal(m->check->interval_ms, 300000);
	assert_string_equal(m->check->run, "curl -fsS http://localhost/health");
	assert_int_equal(m->deps[0].pos.line, 25);
	assert_int_equal(m->deps[0].pos.col, 18);

	n = cascade_task(c, "notify");
	assert_string_equal(n->runner, "local");
	assert_int_equal(n->ndeps, 2);
	assert_string_equal(n->deps[0].name, "migrate");
	assert_int_equal(n->deps[0].kind, DEP_SUCCESS);
	assert_string_equal(n->deps[1].name, "build");
	assert_int_equal(n->deps[1].kind, DEP_ERROR);
	/* hosts inherited from the cascade */
	assert_int_equal(n->hosts.n, 2);
	cascade_free(c);
}

static void
test_runner_defaults(void **state)
{
	struct cascade *c = load_ok("version: v1\nname: x\ntasks:\n"
				    "- {name: a, image: alpine, run: x}\n"
				    "- {name: b, run: x}\n");

	(void)state;
	assert_string_equal(cascade_task(c, "a")->runner, "docker");
	assert_string_equal(cascade_task(c, "b")->runner, "local");
	cascade_free(c);
}

/*
 * A task with an image never runs local: an error wherever the local
 * comes from (the task's runner or the cascade's); ssh only ignores it.
 * The position of the 'runner' that chose is kept for later messages.
 */
static void
test_image_never_local(void **state)
{
	struct cascade *c;

	(void)state;
	assert_errors("version: v1\nname: x\ntasks:\n"
		      "- name: a\n  runner: local\n  image: alpine\n"
		      "  run: x\n",
		      "6:10: error: task 'a': a task with an 'image' cannot "
		      "use runner 'local' (set at line 5): use runner "
		      "'docker', or remove 'image'\n");
	assert_errors("version: v1\nname: x\nrunner: local\ntasks:\n"
		      "- {name: a, run: x}\n"
		      "- {name: b, image: alpine, run: x}\n"
		      "- {name: c, image: alpine, run: x, runner: docker}\n",
		      "6:20: error: task 'b': a task with an 'image' cannot "
		      "use runner 'local' (set at line 3): use runner "
		      "'docker', or remove 'image'\n");
	c = load_ok("version: v1\nname: x\nrunner: local\ntasks:\n"
		    "- {name: a, run: x}\n"
		    "- {name: b, image: alpine, run: x, runner: docker}\n"
		    "- {name: c, run: x, runner: local}\n");
	assert_int_equal(c->runner_pos.line, 3);
	assert_int_equal(c->runner_pos.col, 9);
	assert_int_equal(cascade_task(c, "a")->runner_pos.line, 0);
	assert_string_equal(cascade_task(c, "a")->runner, "local");
	assert_int_equal(cascade_task(c, "b")->runner_pos.line, 6);
	assert_int_equal(cascade_task(c, "b")->runner_pos.col, 44);
	assert_int_equal(cascade_task(c, "c")->runner_pos.line, 7);
	cascade_free(c);
}

static void
test_quoting_and_flow_style(void **state)
{
	struct cascade *a = load_ok("version: v1\nname: x\ntasks:\n"
				    "- name: t\n  run: echo\n"
				    "  auto_execute: false\n  retries: 3\n");
	struct cascade *b = load_ok("{\"version\": 'v1', name: \"x\", "
				    "tasks: [{retries: '3', "
				    "auto_execute: \"false\", run: \"echo\", "
				    "name: 't'}]}");

	(void)state;
	assert_int_equal(cascade_task(a, "t")->retries, 3);
	assert_int_equal(cascade_task(b, "t")->retries, 3);
	assert_int_equal(cascade_task(b, "t")->auto_execute, 0);
	cascade_free(a);
	cascade_free(b);
}

static void
test_anchors_and_aliases(void **state)
{
	struct cascade *c = load_ok("version: v1\nname: x\n"
				    "tasks:\n"
				    "- name: a\n  env: &common {A: 1, B: 2}\n"
				    "  run: echo\n"
				    "- name: b\n  env: *common\n  run: echo\n");

	(void)state;
	assert_int_equal(cascade_task(c, "b")->nenv, 2);
	assert_string_equal(cascade_task(c, "b")->env[1].value, "2");
	cascade_free(c);
}

static void
test_empty_document(void **state)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;

	(void)state;
	assert_int_equal(cascade_load(&c, "e.yaml", "", 0, 1, &d),
			 ERR_NOTFOUND);
	assert_null(c);
	assert_int_equal(d.n, 0);
	assert_int_equal(cascade_load(&c, "e.yaml", "# only a comment\n", 17,
				      0, &d),
			 ERR_INVALID);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.v[0].msg,
			    "the file is empty; expected a cascade with "
			    "'version', 'name' and 'tasks'");
	diags_release(&d);
}

static void
test_run_keeps_bytes(void **state)
{
	struct cascade *c = load_ok("version: v1\nname: x\ntasks:\n"
				    "- name: t\n  run: \"a\\tb\\n  c\"\n");

	(void)state;
	assert_string_equal(cascade_task(c, "t")->run, "a\tb\n  c");
	cascade_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_runner_defaults),
		cmocka_unit_test(test_image_never_local),
		cmocka_unit_test(test_quoting_and_flow_style),
		cmocka_unit_test(test_anchors_and_aliases),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_run_keeps_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
