/* unit.h - shared helpers for the cmocka unit tests. */
#ifndef SCAFFOLD_UNIT_H
#define SCAFFOLD_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#endif
