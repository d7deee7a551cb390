/* test_dag.c - children, topological order, reachability, DOT. */
#include "unit.h"

static const char diamond[] =
	"version: v1\nname: d\ntasks:\n"
	"- {name: d, run: x, depends_on: [b, c]}\n"
	"- {name: b, run: x, depends_on: [a]}\n"
	"- {name: c, run: x, depends_on: {error: [a]}}\n"
	"- {name: a, run: x}\n"
	"- {name: e, run: x, depends_on: {always: [d]}}\n"
	"- {name: lone, run: x}\n";

static size_t
pos_in_topo(const struct cascade *c, const char *name)
{
	size_t i, idx = cascade_task_index(c, cascade_task(c, name));

	for (i = 0; i < c->ntasks; i++)
		if (c->topo[i] == idx)
			return i;
	fail_msg("task '%s' not in the topological order", name);
	return 0;
}

static void
test_topo(void **state)
{
	struct cascade *c = load_ok(diamond);
	size_t i, j, k;

	(void)state;
	for (i = 0; i < c->ntasks; i++)
		for (j = 0; j < c->tasks[i].ndeps; j++) {
			k = c->tasks[i].deps[j].task;
			assert_true(pos_in_topo(c, c->tasks[k].name) <
				    pos_in_topo(c, c->tasks[i].name));
		}
	/* stable: roots in file order come first */
	assert_string_equal(c->tasks[c->topo[0]].name, "a");
	assert_string_equal(c->tasks[c->topo[1]].name, "lone");
	assert_int_equal(cascade_task(c, "a")->nchildren, 2);
	cascade_free(c);
}

static void
test_reach(void **state)
{
	struct cascade *c = load_ok(diamond);
	size_t origin[6], seeds[2];

	(void)state;
	seeds[0] = cascade_task_index(c, cascade_task(c, "c"));
	dag_reach(c, seeds, 1, origin);
	/* c reaches d (success) and e (always): every kind of edge */
	assert_int_equal(origin[0], 0);	       /* d */
	assert_int_equal(origin[1], SIZE_MAX); /* b */
	assert_int_equal(origin[2], 0);	       /* c */
	assert_int_equal(origin[3], SIZE_MAX); /* a */
	assert_int_equal(origin[4], 0);	       /* e */
	assert_int_equal(origin[5], SIZE_MAX); /* lone */

	seeds[0] = cascade_task_index(c, cascade_task(c, "d"));
	seeds[1] = cascade_task_index(c, cascade_task(c, "a"));
	dag_reach(c, seeds, 2, origin);
	assert_int_equal(origin[0], 0); /* d is a seed itself */
	assert_int_equal(origin[1], 1);
	assert_int_equal(origin[4], 0); /* e is nearer to d */
	cascade_free(c);
}

static void
test_dot(void **state)
{
	struct cascade *c = load_ok("version: v1\nname: g\ntasks:\n"
				    "- {name: a, run: x}\n"
				    "- {name: b, run: x, auto_execute: no,\n"
				    "   depends_on: {success: [a], "
				    "error: [c]}}\n"
				    "- {name: c, run: x, depends_on: "
				    "{always: [a]}}\n");
	struct buf b = BUF_INIT;

	(void)state;
	dag_write_dot(&b, c);
	assert_string_equal(
		b.ptr,
		"digraph \"g\" {\n"
		"\trankdir=LR;\n"
		"\tnode [shape=box, style=rounded, fontname=\"sans-serif\"];\n"
		"\t\"a\";\n"
		"\t\"c\";\n"
		"\t\"b\" [style=\"rounded,dashed\"];\n"
		"\t\"a\" -> \"c\" [color=\"#7f8c8d\", fontcolor=\"#7f8c8d\", "
		"style=dotted, label=\"always\"];\n"
		"\t\"a\" -> \"b\";\n"
		"\t\"c\" -> \"b\" [color=\"#c0392b\", fontcolor=\"#c0392b\", "
		"style=dashed, label=\"error\"];\n"
		"}\n");
	buf_release(&b);
	cascade_free(c);
}

static void
test_long_chain(void **state)
{
	struct buf y = BUF_INIT;
	struct cascade *c;
	size_t i, origin[20000], seed = 0;

	(void)state;
	/* deep enough to break a recursive walk on a small stack */
	buf_puts(&y, "version: v1\nname: chain\ntasks:\n- {name: t0, run: x}\n");
	for (i = 1; i < 20000; i++)
		buf_addf(&y, "- {name: t%zu, run: x, depends_on: [t%zu]}\n", i,
			 i - 1);
	c = load_ok(y.ptr);
	dag_reach(c, &seed, 1, origin);
	assert_int_equal(origin[19999], 0);
	assert_string_equal(c->tasks[c->topo[19999]].name, "t19999");
	cascade_free(c);
	buf_release(&y);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_topo),
		cmocka_unit_test(test_reach),
		cmocka_unit_test(test_dot),
		cmocka_unit_test(test_long_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
