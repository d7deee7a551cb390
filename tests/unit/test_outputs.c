/*
 * test_outputs.c - the one collection of a run's stored files, stored env
 * and .display (outputs.c) behind a backend of the test's: the order it
 * asks in, the texts a user sees for each refusal, .display never failing
 * the run, a lost backend passed up, the files of a failed collection
 * removed when asked, and the checks of a store file reached by path.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/runner-int.h"

/* A backend: what each name gives (by its first letter), and a trace. */
struct fake {
	char dir[64];
	struct buf trace;
	int uncaptured;
	bool lose_display;
};

/* "f..." a file, "m..." missing, "b..." over the caps, "l..." lost,
 * "x..." refused; env: "E..." a value, "U..." unset, "B..." too big. */
static int
fake_file(void *arg, size_t i, const char *name, int64_t *total, char **src)
{
	struct fake *f = arg;
	struct buf p = BUF_INIT;
	FILE *fp;

	buf_addf(&f->trace, "file %zu %s;", i, name);
	if (!strcmp(name, RUN_DISPLAY_FILE) && f->lose_display)
		return RUNNER_OUT_LOST;
	switch (name[0]) {
	case 'm':
		return runner_outputs_check(name, RUNNER_PATH_MISSING, -1, 0);
	case 'b':
		return runner_outputs_check(name, RUNNER_PATH_FILE,
					    (int64_t)1 << 40, *total);
	case 'l':
		return RUNNER_OUT_LOST;
	case 'x':
		return err_set("store file '%s': refused by the backend", name);
	}
	buf_addf(&p, "%s/%zu", f->dir, i);
	fp = fopen(p.ptr, "w");
	assert_non_null(fp);
	fputs(name, fp);
	fclose(fp);
	*total += (int64_t)strlen(name);
	*src = buf_detach(&p, NULL);
	return 0;
}

static int
fake_env(void *arg, size_t i, const char *name, size_t max, struct buf *val)
{
	struct fake *f = arg;

	buf_addf(&f->trace, "env %zu %s;", i, name);
	assert_int_equal(max, RUNNER_ENV_VALUE_MAX);
	switch (name[0]) {
	case 'U':
		return ERR_NOTFOUND;
	case 'B':
		return ERR_TOOBIG;
	}
	buf_add(val, "a\0b", 3); /* binary-safe */
	return 0;
}

static int
fake_uncaptured(void *arg)
{
	struct fake *f = arg;

	buf_puts(&f->trace, "uncaptured;");
	return f->uncaptured;
}

struct fixture {
	struct fake f;
	struct strvec files, env;
	struct run_log log;
	char logpath[128];
	struct runner_outputs o;
	struct run_result res;
};

static void
fx_init(struct fixture *x, const char *const *files, const char *const *env)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->f.dir, sizeof(x->f.dir), "/tmp/scaffold-outputs-XXXXXX");
	assert_non_null(mkdtemp(x->f.dir));
	buf_init(&x->f.trace);
	strvec_init(&x->files);
	strvec_init(&x->env);
	while (files && *files)
		strvec_push(&x->files, *files++);
	while (env && *env)
		strvec_push(&x->env, *env++);
	snprintf(x->logpath, sizeof(x->logpath), "%s.log", x->f.dir);
	x->log.fd = open(x->logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	x->log.last = '\n';
	x->log.masker = masker_new(NULL, NULL, 0);
	x->o.store_files = &x->files;
	x->o.store_env = &x->env;
	x->o.log = &x->log;
	x->o.arg = &x->f;
	x->o.file = fake_file;
	x->o.env = fake_env;
	x->o.uncaptured = fake_uncaptured;
	x->res.exit_code = -1;
}

static char *
fx_log(struct fixture *x)
{
	struct buf b = BUF_INIT;

	run_log_flush(&x->log);
	buf_read_file(&b, x->logpath, 1 << 20);
	return buf_detach(&b, NULL);
}

static void
fx_done(struct fixture *x)
{
	struct buf cmd = BUF_INIT;

	run_result_release(&x->res);
	masker_free(x->log.masker);
	close(x->log.fd);
	unlink(x->logpath);
	buf_addf(&cmd, "rm -rf '%s'", x->f.dir);
	assert_int_equal(system(cmd.ptr), 0);
	buf_release(&cmd);
	buf_release(&x->f.trace);
	strvec_clear(&x->files);
	strvec_clear(&x->env);
}

static void
test_all_in_order(void **state)
{
	static const char *const files[] = {"f1", "dir/f2", NULL};
	static const char *const env[] = {"E1", "E2", NULL};
	struct fixture x;

	(void)state;
	fx_init(&x, files, env);
	assert_int_equal(runner_outputs_collect(&x.o, &x.res), 0);
	assert_string_equal(x.f.trace.ptr, "file 0 f1;file 1 dir/f2;"
					   "env 0 E1;env 1 E2;"
					   "file 2 .display;");
	assert_int_equal(x.res.nfiles, 3);
	assert_string_equal(x.res.files[1].path, "dir/f2");
	assert_string_equal(x.res.files[2].path, RUN_DISPLAY_FILE);
	assert_int_equal(x.res.nenv, 2);
	assert_string_equal(x.res.env[1].name, "E2");
	assert_int_equal(x.res.env[1].len, 3);
	assert_memory_equal(x.res.env[1].value, "a\0b", 3);
	assert_string_equal(x.res.message, "");
	fx_done(&x);
}

/* A backend that meets the files in another order (the swarm's frame)
 * has them taken, and the first failure told, in that order. */
static void
test_order(void **state)
{
	static const char *const files[] = {"missing", "xref", "f3", NULL};
	static const size_t order[] = {2, 1, 0};
	struct fixture x;

	(void)state;
	fx_init(&x, files, NULL);
	x.o.order = order;
	assert_int_equal(runner_outputs_collect(&x.o, &x.res),
			 RUNNER_OUT_FAILED);
	assert_string_equal(x.f.trace.ptr, "file 2 f3;file 1 xref;");
	assert_string_equal(x.res.message,
			    "store file 'xref': refused by the backend");
	fx_done(&x);
}

static void
test_display_stored_or_skipped(void **state)
{
	static const char *const stored[] = {RUN_DISPLAY_FILE, NULL};
	static const char *const refused[] = {"f1", NULL};
	struct fixture x;

	(void)state;
	/* stored by the task: taken once, as a store file */
	fx_init(&x, stored, NULL);
	assert_int_equal(runner_outputs_collect(&x.o, &x.res), 0);
	assert_string_equal(x.f.trace.ptr, "file 0 .display;");
	assert_int_equal(x.res.nfiles, 1);
	fx_done(&x);

	/* the backend knows there is none */
	fx_init(&x, refused, NULL);
	x.o.no_display = true;
	assert_int_equal(runner_outputs_collect(&x.o, &x.res), 0);
	assert_string_equal(x.f.trace.ptr, "file 0 f1;");
	assert_int_equal(x.res.nfiles, 1);
	fx_done(&x);

	/* a lost backend while taking it is lost */
	fx_init(&x, refused, NULL);
	x.f.lose_display = true;
	assert_int_equal(runner_outputs_collect(&x.o, &x.res), RUNNER_OUT_LOST);
	assert_null(x.res.files);
	fx_done(&x);
}

static void
test_refusals(void **state)
{
	static const struct {
		const char *file, *env, *message;
		int ret;
	} cases[] = {
	    {"missing", NULL, "store file 'missing' was not created",
	     RUNNER_OUT_FAILED},
	    {"big", NULL,
	     "store file 'big' is larger than the limit of 1 GiB "
	     "(limits.store_file)",
	     RUNNER_OUT_FAILED},
	    {"xref", NULL, "store file 'xref': refused by the backend",
	     RUNNER_OUT_FAILED},
	    {"lost", NULL, "", RUNNER_OUT_LOST},
	    {"f1", "Unset", "store env 'Unset' is not set", RUNNER_OUT_FAILED},
	    {"f1", "Big", "store env 'Big' is larger than 16M",
	     RUNNER_OUT_FAILED},
	};
	struct fixture x;
	const char *files[2] = {NULL, NULL}, *env[2] = {NULL, NULL};
	size_t i;

	(void)state;
	runner_store_limits(1LL << 30, 4LL << 30);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		files[0] = cases[i].file;
		env[0] = cases[i].env;
		fx_init(&x, files, env);
		assert_int_equal(runner_outputs_collect(&x.o, &x.res),
				 cases[i].ret);
		assert_string_equal(x.res.message, cases[i].message);
		assert_null(x.res.files);
		assert_null(x.res.env);
		assert_int_equal(x.res.nfiles, 0);
		fx_done(&x);
	}
}

static void
test_uncaptured_note(void **state)
{
	static const char *const env[] = {"Unset", NULL};
	struct fixture x;
	char *log;

	(void)state;
	fx_init(&x, NULL, env);
	x.f.uncaptured = 1;
	assert_int_equal(runner_outputs_collect(&x.o, &x.res),
			 RUNNER_OUT_FAILED);
	assert_string_equal(x.f.trace.ptr, "env 0 Unset;uncaptured;");
	log = fx_log(&x);
	assert_string_equal(log, "scaffold: store env was not captured: did "
				 "the script replace the EXIT trap and exit, "
				 "or exec?\n");
	free(log);
	fx_done(&x);

	fx_init(&x, NULL, env);
	x.f.uncaptured = 0;
	assert_int_equal(runner_outputs_collect(&x.o, &x.res),
			 RUNNER_OUT_FAILED);
	log = fx_log(&x);
	assert_string_equal(log, "");
	free(log);
	fx_done(&x);
}

static void
test_unlink_on_fail(void **state)
{
	static const char *const files[] = {"f1", "missing", NULL};
	struct fixture x;
	struct buf p = BUF_INIT;

	(void)state;
	fx_init(&x, files, NULL);
	buf_addf(&p, "%s/0", x.f.dir);
	assert_int_equal(runner_outputs_collect(&x.o, &x.res),
			 RUNNER_OUT_FAILED);
	assert_int_equal(access(p.ptr, F_OK), 0); /* left as it was */
	fx_done(&x);

	fx_init(&x, files, NULL);
	x.o.unlink_on_fail = true;
	buf_reset(&p);
	buf_addf(&p, "%s/0", x.f.dir);
	assert_int_equal(runner_outputs_collect(&x.o, &x.res),
			 RUNNER_OUT_FAILED);
	assert_int_equal(access(p.ptr, F_OK), -1);
	fx_done(&x);
	buf_release(&p);
}

/* kind(): "a" a dir, "a/l" a symlink, "a/f" a file, "a/u" unknown */
static int
fake_kind(void *arg, const char *rel, enum runner_path_kind *k)
{
	struct buf *trace = arg;

	buf_addf(trace, "%s;", rel);
	if (!strcmp(rel, "lost"))
		return RUNNER_OUT_LOST;
	*k = !strcmp(rel, "a") || !strcmp(rel, "a/b") ? RUNNER_PATH_DIR
	     : !strcmp(rel, "a/l")		      ? RUNNER_PATH_LINK
	     : !strcmp(rel, "a/f")		      ? RUNNER_PATH_FILE
	     : !strcmp(rel, "a/u")		      ? RUNNER_PATH_UNKNOWN
						      : RUNNER_PATH_MISSING;
	return 0;
}

static void
test_walk_and_check(void **state)
{
	static const struct {
		const char *name, *trace, *message;
		int ret;
	} cases[] = {
	    {"a/b/c", "a;a/b;", NULL, 0},
	    {"./a//b/c", "a;a/b;", NULL, 0},
	    {"top", "", NULL, 0},
	    {"a/l/c", "a;a/l;",
	     "store file 'a/l/c' is behind a symlink "
	     "('a/l')",
	     ERR_INVALID},
	    {"a/f/c", "a;a/f;", "store file 'a/f/c' was not created",
	     ERR_NOTFOUND},
	    {"a/u/c", "a;a/u;", "store file 'a/u/c' is not a regular file",
	     ERR_INVALID},
	    {"no/c", "no;", "store file 'no/c' was not created", ERR_NOTFOUND},
	    {"lost/c", "lost;", NULL, RUNNER_OUT_LOST},
	};
	struct buf trace = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&trace);
		err_clear();
		assert_int_equal(
		    runner_outputs_walk(cases[i].name, fake_kind, &trace),
		    cases[i].ret);
		assert_string_equal(trace.ptr, cases[i].trace);
		if (cases[i].message)
			assert_string_equal(err_msg(), cases[i].message);
	}
	buf_release(&trace);

	runner_store_limits(1000, 1500);
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_LINK, 1, 0),
			 ERR_INVALID);
	assert_string_equal(err_msg(), "store file 'f' is a symlink");
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_OTHER, 1, 0),
			 ERR_INVALID);
	assert_string_equal(err_msg(), "store file 'f' is not a regular file");
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_FILE, -1, 0), 0);
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_FILE, 1000, 500),
			 0);
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_FILE, 1001, 0),
			 ERR_TOOBIG);
	assert_string_equal(err_msg(),
			    "store file 'f' is larger than the "
			    "limit of 1000 bytes (limits.store_file)");
	assert_int_equal(runner_outputs_check("f", RUNNER_PATH_FILE, 600, 1000),
			 ERR_TOOBIG);
	assert_string_equal(err_msg(), "store file 'f' takes the store files "
				       "of this run over the limit of 1500 "
				       "bytes (limits.store_run)");
	assert_int_equal(
	    runner_outputs_check("f", RUNNER_PATH_FILE, INT64_MAX, 0),
	    ERR_TOOBIG);
	runner_store_limits(0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_all_in_order),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_display_stored_or_skipped),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_uncaptured_note),
	    cmocka_unit_test(test_unlink_on_fail),
	    cmocka_unit_test(test_walk_and_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
