/*
 * test_fingerprint.c - only meaningful changes alter a fingerprint: YAML
 * formatting, comments, key order and quoting do not; any byte of 'run',
 * the environment, mapped input values and dependencies do.
 */
#include "unit.h"

static const char base[] =
	"version: v1\n"
	"name: fp\n"
	"inputs:\n"
	"  - {name: PW, type: password, default: hunter2}\n"
	"tasks:\n"
	"  - name: a\n"
	"    run: echo a\n"
	"  - name: t\n"
	"    image: alpine:3\n"
	"    run: |\n"
	"      echo one\n"
	"      echo two\n"
	"    env:\n"
	"      A: 1\n"
	"      B: two\n"
	"    inputs: {PGPASSWORD: PW}\n"
	"    store: {file: [x, y], env: [V]}\n"
	"    depends_on: [a]\n"
	"    timeout: 5m\n";

/* The same task, written as differently as YAML allows. */
static const char reformatted[] =
	"# a comment changes nothing\n"
	"{\"tasks\": [\n"
	"  {run: \"echo a\", name: 'a'},\n"
	"  {\"depends_on\": {success: [a]},   # the mapping form\n"
	"   store: {env: [\"V\"], file: [y, x]},\n"
	"   inputs: {\"PGPASSWORD\": 'PW'},\n"
	"   env: {B: \"two\", A: '1'},\n"
	"   run: \"echo one\\necho two\\n\",\n"
	"   image: \"alpine:3\", name: t,\n"
	"   description: descriptions are not part of it,\n"
	"   timeout: 1h, retries: 3, auto_execute: false,\n"
	"   check: {interval: 1m, run: true}}],\n"
	" inputs: [{default: \"hunter2\", type: password, name: PW}],\n"
	" name: fp, version: v1}\n";

static void
test_formatting_invariance(void **state)
{
	struct cascade *a = load_ok(base), *b = load_ok(reformatted);
	struct fingerprint fa, fb;

	(void)state;
	assert_string_equal(fp_of(a, "t", &fa), fp_of(b, "t", &fb));
	assert_string_equal(fp_of(a, "a", &fa), fp_of(b, "a", &fb));
	cascade_free(a);
	cascade_free(b);
}

/* Replace the first occurrence of from by to in base. */
static char *
edit(const char *from, const char *to)
{
	struct buf b = BUF_INIT;
	const char *p = strstr(base, from);

	assert_non_null(p);
	buf_add(&b, base, (size_t)(p - base));
	buf_puts(&b, to);
	buf_puts(&b, p + strlen(from));
	return buf_detach(&b, NULL);
}

#define B(f) (1u << (f))

static void
test_meaningful_changes(void **state)
{
	static const struct {
		const char *from, *to;
		int changes;
		unsigned fields;
	} cases[] = {
		{ "echo one\n", "echo  one\n", 1, B(FP_RUN) },
		{ "echo two\n", "echo two  \n", 1, B(FP_RUN) },
		{ "      echo two\n", "        echo two\n", 1, B(FP_RUN) },
		/* a block scalar clips trailing blank lines: same value */
		{ "echo two\n", "echo two\n\n", 0, B(FP_RUN) },
		{ "A: 1\n", "A: 2\n", 1, B(FP_ENV) },
		{ "A: 1\n", "A: \"1\"\n", 0, B(FP_ENV) },
		{ "A: 1\n", "A: 1.0\n", 1, B(FP_ENV) },
		{ "default: hunter2", "default: hunter3", 1,
		  B(FP_INPUT_VALUES) },
		{ "{PGPASSWORD: PW}", "{PGPASS: PW}", 1, B(FP_INPUTS) },
		{ "[x, y]", "[x]", 1, B(FP_STORE) },
		{ "[x, y]", "[y, x]", 0, B(FP_STORE) },
		{ "depends_on: [a]", "depends_on: {always: [a]}", 1,
		  B(FP_DEPENDS_ON) },
		{ "image: alpine:3", "image: alpine:4", 1, B(FP_IMAGE) },
		{ "timeout: 5m", "timeout: 10m", 0, B(FP_RUN) },
		{ "timeout: 5m", "retries: 4", 0, B(FP_RUN) },
		{ "timeout: 5m", "auto_execute: false", 0, B(FP_RUN) },
		/* the image is unused without docker: both change (and
		 * ssh adds its hosts; an image on local is an error) */
		{ "timeout: 5m", "runner: ssh\n    hosts: [h1]", 1,
		  B(FP_RUNNER) | B(FP_IMAGE) | B(FP_HOSTS) },
		{ "    run: echo a\n", "    run: echo b\n", 0, B(FP_RUN) },
		{ "timeout: 5m", "umask: \"077\"", 1, B(FP_UMASK) },
		/* a load the file store satisfies (content unknown here) */
		{ "timeout: 5m", "load: {file: [conf]}", 1,
		  B(FP_LOAD) | B(FP_FILES) },
		/* swarm: placement and resources count with the image */
		{ "timeout: 5m", "runner: swarm", 1, B(FP_RUNNER) | B(FP_IMAGE) },
	};
	struct cascade *a = load_ok(base), *b;
	struct fingerprint fa, fb;
	size_t i, f;
	char *y;

	(void)state;
	fp_of(a, "t", &fa);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		y = edit(cases[i].from, cases[i].to);
		b = load_ok(y);
		fp_of(b, "t", &fb);
		if (!cases[i].changes) {
			if (strcmp(fa.hex, fb.hex))
				fail_msg("'%s' -> '%s' changed the fingerprint",
					 cases[i].from, cases[i].to);
		} else {
			if (!strcmp(fa.hex, fb.hex))
				fail_msg("'%s' -> '%s' kept the fingerprint",
					 cases[i].from, cases[i].to);
			for (f = 0; f < FP_NFIELDS; f++)
				if ((strcmp(fa.field[f], fb.field[f]) != 0) !=
				    !!(cases[i].fields & B(f)))
					fail_msg("'%s' -> '%s': field '%s'",
						 cases[i].from, cases[i].to,
						 fp_field_names[f]);
		}
		cascade_free(b);
		free(y);
	}
	cascade_free(a);
}

/* A swarm task's placement and resources change its image field only. */
static void
test_swarm_fields(void **state)
{
	static const char *const tails[] = {
		"",
		"    placement: [node.role==worker]\n",
		"    placement: [node.role==manager]\n",
		"    resources: {cpus: 0.5}\n",
		"    resources: {memory: 64M}\n",
		"    placement: {mode: global}\n",
		"    placement: {mode: global, constraints: "
		"[node.role==worker]}\n",
	};
	struct fingerprint fp[ARRAY_SIZE(tails)];
	struct cascade *c;
	struct buf y = BUF_INIT;
	size_t i, k, f;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tails); i++) {
		buf_reset(&y);
		buf_addf(&y, "version: v1\nname: s\ntasks:\n  - name: t\n"
			     "    runner: swarm\n    image: i\n    run: x\n%s",
			 tails[i]);
		c = load_ok(y.ptr);
		fp_of(c, "t", &fp[i]);
		cascade_free(c);
	}
	for (i = 0; i < ARRAY_SIZE(tails); i++)
		for (k = i + 1; k < ARRAY_SIZE(tails); k++)
			for (f = 0; f < FP_NFIELDS; f++)
				if ((strcmp(fp[i].field[f], fp[k].field[f]) !=
				     0) != (f == FP_IMAGE))
					fail_msg("tails %zu and %zu: field '%s'",
						 i, k, fp_field_names[f]);
	buf_release(&y);
}

/* The mapping form of placement in mode replicated is the list form. */
static void
test_swarm_placement_forms(void **state)
{
	struct fingerprint a, b;
	struct cascade *c;
	size_t f;

	(void)state;
	c = load_ok("version: v1\nname: s\ntasks:\n  - name: t\n"
		    "    runner: swarm\n    image: i\n    run: x\n"
		    "    placement: [node.role==worker]\n");
	fp_of(c, "t", &a);
	cascade_free(c);
	c = load_ok("version: v1\nname: s\ntasks:\n  - name: t\n"
		    "    runner: swarm\n    image: i\n    run: x\n"
		    "    placement: {mode: replicated, constraints: "
		    "[node.role==worker]}\n");
	assert_false(cascade_task(c, "t")->placement_global);
	fp_of(c, "t", &b);
	cascade_free(c);
	for (f = 0; f < FP_NFIELDS; f++)
		assert_string_equal(a.field[f], b.field[f]);
}

static const char *
fixed_value(void *ctx, const struct cascade *c, const struct input *in,
	    size_t *len)
{
	(void)c;
	(void)in;
	*len = strlen(ctx);
	return ctx;
}

static void
test_input_values_from_caller(void **state)
{
	struct cascade *a = load_ok(base);
	struct task *t = cascade_task(a, "t");
	struct fingerprint f1, f2, f3;

	(void)state;
	task_fingerprint(&f1, a, t, fixed_value, "v1");
	task_fingerprint(&f2, a, t, fixed_value, "v2");
	task_fingerprint(&f3, a, t, fixed_value, "v1");
	assert_string_not_equal(f1.hex, f2.hex);
	assert_string_equal(f1.hex, f3.hex);
	assert_string_equal(f1.field[FP_RUN], f2.field[FP_RUN]);
	/* a task with no mapped input does not depend on input values */
	task_fingerprint(&f1, a, cascade_task(a, "a"), fixed_value, "v1");
	task_fingerprint(&f2, a, cascade_task(a, "a"), fixed_value, "v2");
	assert_string_equal(f1.hex, f2.hex);
	cascade_free(a);
}

static const char *
file_hash(void *ctx, const struct cascade *c, const char *name)
{
	(void)c;
	return strcmp(name, "conf") ? NULL : ctx;
}

/* The content of a file the store gives a task is in its fingerprint;
 * nothing changes for a task that loads none. */
static void
test_file_store_content(void **state)
{
	static const char y[] =
		"version: v1\nname: fs\ntasks:\n"
		"  - {name: a, run: x, store: {file: [built]}}\n"
		"  - {name: b, run: x, depends_on: [a],\n"
		"     load: {file: [built, conf]}}\n"
		"  - {name: c, run: x, load: {file: [built]}}\n"
		"  - {name: d, run: x, umask: '22'}\n";
	struct cascade *c = load_ok(y);
	struct fingerprint f0, f1, f2, f3;

	(void)state;
	task_fingerprint(&f0, c, cascade_task(c, "b"), NULL, NULL);
	task_fingerprint_files(&f1, c, cascade_task(c, "b"), NULL, file_hash,
			       "1111");
	task_fingerprint_files(&f2, c, cascade_task(c, "b"), NULL, file_hash,
			       "2222");
	task_fingerprint_files(&f3, c, cascade_task(c, "b"), NULL, file_hash,
			       "1111");
	assert_string_not_equal(f0.hex, f1.hex);
	assert_string_not_equal(f1.hex, f2.hex);
	assert_string_equal(f1.hex, f3.hex);
	assert_string_not_equal(f1.field[FP_FILES], f2.field[FP_FILES]);
	assert_string_equal(f1.field[FP_LOAD], f2.field[FP_LOAD]);
	/* 'built' comes from a, not the store: only conf counts */
	assert_true(task_loads_from_file_store(c, cascade_task(c, "b"),
					       "conf"));
	assert_false(task_loads_from_file_store(c, cascade_task(c, "b"),
						"built"));
	/* a task with no store load: the same with or without contents */
	task_fingerprint(&f0, c, cascade_task(c, "a"), NULL, NULL);
	task_fingerprint_files(&f1, c, cascade_task(c, "a"), NULL, file_hash,
			       "1111");
	assert_string_equal(f0.hex, f1.hex);
	/* c loads 'built' from the store (a is not its parent) */
	task_fingerprint_files(&f1, c, cascade_task(c, "c"), NULL, file_hash,
			       "1111");
	task_fingerprint_files(&f2, c, cascade_task(c, "c"), NULL, NULL,
			       NULL);
	assert_string_not_equal(f1.hex, f2.hex);
	/* the umask, normalized */
	assert_string_equal(cascade_task(c, "d")->umask, "022");
	cascade_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formatting_invariance),
		cmocka_unit_test(test_meaningful_changes),
		cmocka_unit_test(test_swarm_fields),
		cmocka_unit_test(test_swarm_placement_forms),
		cmocka_unit_test(test_input_values_from_caller),
		cmocka_unit_test(test_file_store_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
