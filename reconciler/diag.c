/* diag.c - collecting, sorting and printing diagnostics. */
#include <stdlib.h>
#include <string.h>

#include "reconciler.h"

void
diags_add(struct diags *d, enum diag_severity sev, const char *file,
	  struct pos pos, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	struct diag *x;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	GROW(d->v, d->n + 1, d->alloc);
	x = &d->v[d->n];
	x->file = xstrdup(file ? file : "-");
	x->pos = pos;
	x->sev = sev;
	x->msg = buf_detach(&b, NULL);
	x->seq = d->n++;
	x->derived = 0;
	if (sev == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	if (c)
		return c;
	if (x->derived != y->derived)
		return x->derived ? 1 : -1;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
diags_mark_derived(struct diags *d, size_t from)
{
	for (; from < d->n; from++)
		d->v[from].derived = 1;
}

void
diags_sort(struct diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), diag_cmp);
}

void
diag_format(struct buf *b, const struct diag *x)
{
	if (x->pos.line > 0)
		buf_addf(b, "%s:%d:%d: %s: %s", x->file, x->pos.line,
			 x->pos.col, x->sev == DIAG_ERROR ? "error" : "warning",
			 x->msg);
	else
		buf_addf(b, "%s: %s: %s", x->file,
			 x->sev == DIAG_ERROR ? "error" : "warning", x->msg);
}

void
diags_print(FILE *f, const struct diags *d)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < d->n; i++) {
		buf_reset(&b);
		diag_format(&b, &d->v[i]);
		fprintf(f, "%s\n", b.ptr);
	}
	buf_release(&b);
}

int
diags_drop(struct diags *d, enum diag_severity sev, const char *file,
	   struct pos pos)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->v[i].sev != sev || d->v[i].pos.line != pos.line ||
		    d->v[i].pos.col != pos.col || strcmp(d->v[i].file, file))
			continue;
		free(d->v[i].file);
		free(d->v[i].msg);
		memmove(&d->v[i], &d->v[i + 1],
			(d->n - i - 1) * sizeof(*d->v));
		d->n--;
		if (sev == DIAG_ERROR)
			d->nerrors--;
		else
			d->nwarnings--;
		return 1;
	}
	return 0;
}

void
diags_release(struct diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
