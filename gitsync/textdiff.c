/*
 * textdiff.c - a line diff of two texts (a task's run script in a pull
 * request's plan), with libgit2's diff of two buffers: git's own xdiff
 * (Myers' algorithm with its heuristics and its bounds on the work a
 * pathological input can cause), already linked, rather than a second
 * diff of our own.  No repository is involved.
 */
#include <stdlib.h>
#include <string.h>

#include "gitsync-int.h"

struct collect {
	struct diff_line *v;
	size_t n, alloc;
};

static void
push(struct collect *c, char op, int old_no, int new_no, const char *text,
     size_t len)
{
	struct diff_line *l;

	GROW(c->v, c->n + 1, c->alloc);
	l = &c->v[c->n++];
	l->op = op;
	l->old_no = old_no;
	l->new_no = new_no;
	/* a line's own newline is not part of its text */
	if (len && text[len - 1] == '\n')
		len--;
	l->text = xmalloc(len + 1);
	memcpy(l->text, text, len);
	l->text[len] = '\0';
	l->len = len;
}

static int
on_hunk(const git_diff_delta *d, const git_diff_hunk *h, void *payload)
{
	(void)d;
	push(payload, '@', h->old_start, h->new_start, h->header,
	     h->header_len);
	return 0;
}

static int
on_line(const git_diff_delta *d, const git_diff_hunk *h,
	const git_diff_line *l, void *payload)
{
	(void)d;
	(void)h;
	switch (l->origin) {
	case GIT_DIFF_LINE_CONTEXT:
	case GIT_DIFF_LINE_ADDITION:
	case GIT_DIFF_LINE_DELETION:
		push(payload, l->origin, l->old_lineno, l->new_lineno,
		     l->content, l->content_len);
		break;
	case GIT_DIFF_LINE_CONTEXT_EOFNL:
	case GIT_DIFF_LINE_ADD_EOFNL:
	case GIT_DIFF_LINE_DEL_EOFNL:
		push(payload, '\\', -1, -1, "no newline at the end", 21);
		break;
	default:
		break;
	}
	return 0;
}

/* Whether a and b are the same but for a final newline on one side. */
static int
ends_same(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen == blen + 1 && a[blen] == '\n')
		return !memcmp(a, b, blen);
	if (blen == alen + 1 && b[alen] == '\n')
		return !memcmp(a, b, alen);
	return 0;
}

/* 1 and s with a final newline in b when it has none (and is not empty),
 * else 0. */
static int
with_newline(struct buf *b, const char *s, size_t len)
{
	if (!len || s[len - 1] == '\n')
		return 0;
	buf_add(b, s, len);
	buf_putc(b, '\n');
	return 1;
}

int
text_diff(struct diff_line **out, size_t *n, const char *a, size_t alen,
	  const char *b, size_t blen, int context)
{
	git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
	struct buf ba = BUF_INIT, bb = BUF_INIT;
	struct collect c;
	int gerr, na = 0, nb = 0;

	*out = NULL;
	*n = 0;
	memset(&c, 0, sizeof(c));
	if (gitsync_init() < 0)
		return -1;
	opts.context_lines = (uint32_t)(context < 0 ? 0 : context);
	opts.interhunk_lines = 0;
	/* a script is text even with a NUL in it */
	opts.flags = GIT_DIFF_FORCE_TEXT;
	/*
	 * A script in a YAML plain scalar has no final newline, one in a
	 * block scalar has: unless that is all that differs, both end in
	 * one, so that no line says "no newline at the end"
	 */
	if (!ends_same(a, alen, b, blen)) {
		na = with_newline(&ba, a, alen);
		nb = with_newline(&bb, b, blen);
	}
	gerr = git_diff_buffers(na ? ba.ptr : a, na ? ba.len : alen, "old",
				nb ? bb.ptr : b, nb ? bb.len : blen, "new",
				&opts, NULL, NULL, on_hunk, on_line, &c);
	buf_release(&ba);
	buf_release(&bb);
	if (gerr < 0) {
		diff_lines_free(c.v, c.n);
		return gitsync_err(gerr, "cannot diff two texts");
	}
	*out = c.v;
	*n = c.n;
	return 0;
}

void
diff_lines_free(struct diff_line *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}
