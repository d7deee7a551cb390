/*
 * test_validate.c - one case per validation rule, with the exact message
 * and position a user sees.  (tests/cases/invalid/ holds the file corpus.)
 */
#include "unit.h"

#define HEAD "version: v1\nname: x\n"

static const struct {
	const char *name;
	const char *yaml;
	const char *want;
} cases[] = {
	{ "syntax", HEAD "tasks: [\n",
	  "4:1: error: YAML syntax: did not find expected node content while "
	  "parsing a flow node\n" },
	{ "root not a mapping", "- a\n- b\n",
	  "1:1: error: the document must be a mapping with 'version', 'name' "
	  "and 'tasks', not a list\n" },
	{ "missing keys", "description: x\n",
	  "1:1: error: missing required key 'version'\n"
	  "1:1: error: missing required key 'name'\n"
	  "1:1: error: missing required key 'tasks'\n" },
	{ "missing run", HEAD "tasks:\n- name: a\n",
	  "4:3: error: task 'a': missing required key 'run'\n" },
	{ "version", "version: v2\nname: x\ntasks: [{name: a, run: x}]\n",
	  "1:10: error: unsupported version 'v2' (expected 'v1')\n" },
	{ "cascade name", "version: v1\nname: Deploy\n"
			  "tasks: [{name: a, run: x}]\n",
	  "2:7: error: invalid cascade name 'Deploy': use 1-63 characters "
	  "a-z, 0-9, '_', '.', '-', starting with a letter or digit\n" },
	{ "task name", HEAD "tasks: [{name: -a, run: x}]\n",
	  "3:16: error: task #1: invalid task name '-a': use 1-63 characters "
	  "a-z, 0-9, '_', '.', '-', starting with a letter or digit\n" },
	{ "duplicate task", HEAD "tasks:\n- {name: a, run: x}\n"
				 "- {name: a, run: y}\n",
	  "5:3: error: duplicate task name 'a' (first at line 4)\n" },
	{ "duplicate input", HEAD "inputs: [{name: A}, {name: A}]\n"
				  "tasks: [{name: a, run: x}]\n",
	  "3:21: error: duplicate input name 'A' (first at line 3)\n" },
	{ "unknown key", HEAD "tasks:\n- name: a\n  run: x\n"
			      "  depend_on: [b]\n",
	  "6:3: error: task 'a': unknown key 'depend_on'; did you mean "
	  "'depends_on'?\n" },
	{ "unknown key, no suggestion", HEAD "colour: red\n"
					     "tasks: [{name: a, run: x}]\n",
	  "3:1: error: unknown key 'colour'\n" },
	{ "unknown dependency", HEAD "tasks:\n- {name: build, run: x}\n"
				     "- {name: b, run: x, "
				     "depends_on: [biuld]}\n",
	  "5:34: error: task 'b' depends on unknown task 'biuld'; did you "
	  "mean 'build'?\n" },
	{ "cycle", HEAD "tasks:\n"
			"- {name: a, run: x, depends_on: [c]}\n"
			"- {name: b, run: x, depends_on: [a]}\n"
			"- {name: c, run: x, depends_on: [b]}\n",
	  "4:34: error: dependency cycle: a -> c -> b -> a\n" },
	{ "self cycle", HEAD "tasks:\n"
			     "- {name: a, run: x, depends_on: "
			     "{always: [a]}}\n",
	  "4:43: error: dependency cycle: a -> a\n" },
	{ "undeclared input", HEAD "tasks:\n- name: a\n  run: x\n"
				   "  inputs: {PW: DB_PW}\n",
	  "6:16: error: task 'a': input mapping 'PW' refers to undeclared "
	  "input 'DB_PW'\n" },
	{ "input type", HEAD "inputs: [{name: A, type: secret}]\n"
			     "tasks: [{name: a, run: x}]\n",
	  "3:26: error: input 'A': unknown input type 'secret' (expected "
	  "'text' or 'password')\n" },
	{ "duration", HEAD "tasks: [{name: a, run: x, timeout: 5min}]\n",
	  "3:36: error: task 'a': invalid duration '5min' for 'timeout' (use "
	  "a number and a unit: 500ms, 30s, 5m, 1h30m, 2d)\n" },
	{ "docker without image",
	  HEAD "tasks: [{name: a, run: x, runner: docker}]\n",
	  "3:9: error: task 'a': runner 'docker' needs an 'image'\n" },
	{ "ssh without hosts", HEAD "tasks: [{name: a, run: x, runner: ssh}]\n",
	  "3:9: error: task 'a': runner 'ssh' needs 'hosts' (on the task or "
	  "the cascade)\n" },
	{ "absolute store path",
	  HEAD "tasks: [{name: a, run: x, store: {file: [/etc/x]}}]\n",
	  "3:42: error: task 'a': store file '/etc/x' must be a relative path "
	  "inside the run dir, not an absolute path\n" },
	{ "dotdot load path",
	  HEAD "tasks: [{name: a, run: x, load: {file: [a/../../x]}}]\n",
	  "3:41: error: task 'a': load file 'a/../../x' must stay inside the "
	  "run dir ('..' is not allowed)\n" },
	{ "load env nobody stores",
	  HEAD "tasks: [{name: a, run: x, load: {env: [V]}}]\n",
	  "3:40: error: task 'a': loads env 'V' but no task it depends on "
	  "stores it\n" },
	{ "duplicate key", HEAD "tasks: [{name: a, run: x, run: y}]\n",
	  "3:27: error: task 'a': duplicate key 'run' (first at line 3)\n" },
	{ "alias bomb",
	  HEAD "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	       "tasks: []\n",
	  "6:36: error: YAML aliases expand to more than 10000 nodes\n" },
};

static void
test_rules(void **state)
{
	size_t i, failed = 0;
	char *got;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		got = load_errors(cases[i].yaml);
		if (strcmp(got, cases[i].want)) {
			print_error("case '%s':\nwant: %sgot:  %s",
				    cases[i].name, cases[i].want, got);
			failed++;
		}
		free(got);
	}
	if (failed)
		fail_msg("%zu of %zu cases failed", failed, ARRAY_SIZE(cases));
}

static void
test_depth_limit(void **state)
{
	struct buf y = BUF_INIT;
	char *got;
	int i;

	(void)state;
	/* the root, tasks and the task make three levels: the 62nd
	 * bracket is the 65th level */
	buf_puts(&y, HEAD "tasks: [{name: a, run: x, env: ");
	for (i = 0; i < 70; i++)
		buf_putc(&y, '[');
	for (i = 0; i < 70; i++)
		buf_putc(&y, ']');
	buf_puts(&y, "}]\n");
	got = load_errors(y.ptr);
	assert_string_equal(got, "3:93: error: YAML nesting is deeper than 64 "
				 "levels\n");
	free(got);
	buf_release(&y);
}

static void
test_all_errors_reported(void **state)
{
	char *got;

	(void)state;
	got = load_errors("version: v3\nname: X\ntasks:\n"
			  "- {name: a, run: x, depends_on: [nope], "
			  "retries: many}\n"
			  "- {name: b, timeout: 0s}\n");
	assert_string_equal(
		got,
		"1:10: error: unsupported version 'v3' (expected 'v1')\n"
		"2:7: error: invalid cascade name 'X': use 1-63 characters "
		"a-z, 0-9, '_', '.', '-', starting with a letter or digit\n"
		"4:34: error: task 'a' depends on unknown task 'nope'\n"
		"4:50: error: task 'a': 'retries' must be a whole number from "
		"0 to 100, not 'many'\n"
		"5:3: error: task 'b': missing required key 'run'\n"
		"5:22: error: task 'b': 'timeout' must be longer than 0\n");
	free(got);
}

static void
test_load_file_warning(void **state)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	const char *y = HEAD "tasks: [{name: a, run: x, load: {file: [f]}}]\n";

	(void)state;
	assert_int_equal(cascade_load(&c, "t.yaml", y, strlen(y), 0, &d), 0);
	assert_non_null(c);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	assert_string_equal(d.v[0].msg,
			    "task 'a': loads file 'f' but no task it depends "
			    "on stores it; it must be in the cascade's file "
			    "store");
	cascade_free(c);
	diags_release(&d);
}

/*
 * A misspelt depends_on leaves a load no ancestor stores: the unknown key
 * is the root cause and sorts first, though the load comes first in the
 * file; in another file, position still decides.
 */
static void
test_root_cause_first(void **state)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	const char *y = HEAD "tasks:\n"
			     "  - {name: a, run: x, store: {env: [M]}}\n"
			     "  - name: b\n"
			     "    load: {env: [M]}\n"
			     "    depend_on: [a]\n"
			     "    run: x\n";

	(void)state;
	diags_add(&d, DIAG_ERROR, "a.yaml", (struct pos){ 9, 1 }, "late");
	assert_int_equal(cascade_load(&c, "t.yaml", y, strlen(y), 0, &d),
			 ERR_INVALID);
	diags_add(&d, DIAG_ERROR, "t.yaml", (struct pos){ 1, 1 }, "early");
	diags_sort(&d);
	assert_int_equal(d.n, 4);
	assert_string_equal(d.v[0].msg, "late");
	assert_string_equal(d.v[1].msg, "early");
	assert_string_equal(d.v[2].msg, "task 'b': unknown key 'depend_on'; "
					"did you mean 'depends_on'?");
	assert_int_equal(d.v[2].derived, 0);
	assert_string_equal(d.v[3].msg, "task 'b': loads env 'M' but no task "
					"it depends on stores it");
	assert_int_equal(d.v[3].derived, 1);
	assert_true(d.v[3].pos.line < d.v[2].pos.line);
	diags_release(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_all_errors_reported),
		cmocka_unit_test(test_load_file_warning),
		cmocka_unit_test(test_root_cause_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
