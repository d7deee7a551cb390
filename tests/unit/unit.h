/* unit.h - shared helpers for the cmocka unit tests. */
#ifndef SCAFFOLD_UNIT_H
#define SCAFFOLD_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../common/common.h"
#include "../../reconciler/reconciler.h"

/* Load a cascade that must be valid; fails the test otherwise. */
static inline struct cascade *
load_ok(const char *yaml)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	int r = cascade_load(&c, "t.yaml", yaml, strlen(yaml), 0, &d);

	if (r != 0) {
		diags_print(stderr, &d);
		fail_msg("cascade did not load");
	}
	diags_release(&d);
	return c;
}

/*
 * Load a cascade that must be invalid; return every diagnostic as
 * "LINE:COL: error: MSG" lines (caller frees).
 */
static inline char *
load_errors(const char *yaml)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	struct buf b = BUF_INIT;
	size_t i;

	assert_int_not_equal(cascade_load(&c, "t.yaml", yaml, strlen(yaml), 0,
					  &d),
			     0);
	assert_null(c);
	diags_sort(&d);
	for (i = 0; i < d.n; i++)
		buf_addf(&b, "%d:%d: %s: %s\n", d.v[i].pos.line,
			 d.v[i].pos.col,
			 d.v[i].sev == DIAG_ERROR ? "error" : "warning",
			 d.v[i].msg);
	diags_release(&d);
	return buf_detach(&b, NULL);
}

#define assert_errors(yaml, want)                   \
	do {                                        \
		char *got_ = load_errors(yaml);     \
		assert_string_equal(got_, want);    \
		free(got_);                         \
	} while (0)

static inline const char *
fp_of(const struct cascade *c, const char *task, struct fingerprint *fp)
{
	struct task *t = cascade_task(c, task);

	assert_non_null(t);
	task_fingerprint(fp, c, t, NULL, NULL);
	return fp->hex;
}

/*
 * Temp dirs and files of a test: unit_tmpdir makes $TMPDIR/NAME.XXXXXX
 * (TMPDIR unset: /tmp), unit_tmpfile the same as a file (its fd).  A
 * failing assertion jumps over the test's own cleanup, so whatever these
 * made is also removed when the process that made it exits (not a forked
 * child).  make test runs the unit tests with a TMPDIR of their own and
 * fails when anything is left in it.
 */
struct unit_tmps {
	char **v;
	size_t n, alloc;
	pid_t pid;
};

static inline struct unit_tmps *
unit_tmps(void)
{
	static struct unit_tmps t;

	return &t;
}

static inline void
unit_tmps_remove(void)
{
	struct unit_tmps *t = unit_tmps();
	size_t i;

	if (t->pid != getpid())
		return;
	for (i = 0; i < t->n; i++) {
		rm_rf(t->v[i]);
		free(t->v[i]);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static inline void
unit_tmp_path(char *out, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(out, len, "%s/%s.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp", name);

	if (n < 0 || (size_t)n >= len)
		fail_msg("the temp path of '%s' does not fit %zu bytes", name,
			 len);
}

static inline void
unit_tmps_add(const char *path)
{
	struct unit_tmps *t = unit_tmps();

	if (!t->pid) {
		t->pid = getpid();
		atexit(unit_tmps_remove);
	}
	GROW(t->v, t->n + 1, t->alloc);
	t->v[t->n++] = xstrdup(path);
}

/* Make a temp dir into out (len bytes); fails the test when it cannot. */
static inline char *
unit_tmpdir(char *out, size_t len, const char *name)
{
	unit_tmp_path(out, len, name);
	if (!mkdtemp(out))
		fail_msg("cannot make '%s'", out);
	unit_tmps_add(out);
	return out;
}

/* Make a temp file into out (len bytes): its fd, open for writing. */
static inline int
unit_tmpfile(char *out, size_t len, const char *name)
{
	int fd;

	unit_tmp_path(out, len, name);
	if ((fd = mkstemp(out)) < 0)
		fail_msg("cannot make '%s'", out);
	unit_tmps_add(out);
	return fd;
}

#endif
