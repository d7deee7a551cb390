/*
 * mask.c - replace secrets in a stream of log output with "********".
 *
 * Every occurrence of every secret is masked; occurrences that overlap are
 * merged into one mask, so no byte of any occurrence is ever written.  The
 * masker holds back the shortest tail that could still be the start of a
 * secret (at most longest-secret - 1 bytes) until more data or the end of
 * the stream decides it.
 *
 * Candidates are found through a table of the bytes secrets start with,
 * and the secrets starting with a given byte are tried longest first, so
 * the cost is one table lookup per byte plus a memcmp where a secret could
 * start.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

#define MASK "********"

struct masker {
	char **sec;	/* copies, sorted by first byte then longest first */
	size_t *len;
	size_t n;
	size_t first[257]; /* secrets starting with byte c: first[c]..[c+1] */
	struct buf pending; /* undecided bytes */
	size_t covered;	    /* bytes at the start of pending already masked */
};

struct sec_ref {
	const char *s;
	size_t len;
};

static int
sec_cmp(const void *a, const void *b)
{
	const struct sec_ref *x = a, *y = b;
	unsigned char cx = (unsigned char)x->s[0], cy = (unsigned char)y->s[0];

	if (cx != cy)
		return cx < cy ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return 0;
}

struct masker *
masker_new(const char *const *secrets, const size_t *lens, size_t n)
{
	struct masker *m = xcalloc(1, sizeof(*m));
	struct sec_ref *refs = xcalloc(n ? n : 1, sizeof(*refs));
	size_t i, k = 0, c;

	for (i = 0; i < n; i++) {
		if (!secrets[i] || !lens[i])
			continue;
		refs[k].s = secrets[i];
		refs[k].len = lens[i];
		k++;
	}
	qsort(refs, k, sizeof(*refs), sec_cmp);
	m->sec = xcalloc(k ? k : 1, sizeof(*m->sec));
	m->len = xcalloc(k ? k : 1, sizeof(*m->len));
	for (i = 0; i < k; i++) {
		m->sec[i] = xmalloc(refs[i].len);
		memcpy(m->sec[i], refs[i].s, refs[i].len);
		m->len[i] = refs[i].len;
	}
	m->n = k;
	for (c = 0, i = 0; c < 256; c++) {
		m->first[c] = i;
		while (i < k && (unsigned char)m->sec[i][0] == c)
			i++;
	}
	m->first[256] = k;
	buf_init(&m->pending);
	free(refs);
	return m;
}

enum { NO_MATCH, MATCH, PARTIAL };

/*
 * What starts at p (rem bytes known): the longest secret found whole
 * (MATCH, *len set), or PARTIAL when a longer secret could still match
 * once more bytes arrive (never at the end of the stream).
 */
static int
match_at(const struct masker *m, const unsigned char *p, size_t rem,
	 bool final, size_t *len)
{
	size_t k;

	for (k = m->first[p[0]]; k < m->first[p[0] + 1]; k++) {
		if (m->len[k] > rem) {
			if (!final && !memcmp(p, m->sec[k], rem))
				return PARTIAL;
			continue;
		}
		if (!memcmp(p, m->sec[k], m->len[k])) {
			*len = m->len[k];
			return MATCH;
		}
	}
	return NO_MATCH;
}

/* Mask pending into out; keep what is still undecided. */
static void
scan(struct masker *m, bool final, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)m->pending.ptr;
	size_t len = m->pending.len, i = 0, from = 0, end = m->covered, l;
	bool in_mask = m->covered > 0;

	for (; i < len; i++) {
		if (in_mask && i >= end) {
			in_mask = false;
			from = i;
		}
		if (m->first[p[i]] == m->first[p[i] + 1])
			continue;
		switch (match_at(m, p + i, len - i, final, &l)) {
		case PARTIAL:
			goto stop;
		case MATCH:
			if (i + l <= end)
				break;
			if (!in_mask) {
				buf_add(out, p + from, i - from);
				buf_add(out, MASK, strlen(MASK));
				in_mask = true;
			}
			end = i + l;
			break;
		}
	}
stop:
	if (in_mask && i >= end) {
		in_mask = false;
		from = end;
	}
	if (!in_mask)
		buf_add(out, p + from, i - from);
	m->covered = in_mask ? end - i : 0;
	memmove(m->pending.ptr, p + i, len - i);
	m->pending.len = len - i;
	m->pending.ptr[m->pending.len] = '\0';
}

void
masker_feed(struct masker *m, const char *data, size_t len, struct buf *out)
{
	if (!len)
		return;
	if (!m->n) {
		buf_add(out, data, len);
		return;
	}
	buf_add(&m->pending, data, len);
	scan(m, false, out);
}

void
masker_flush(struct masker *m, struct buf *out)
{
	if (!m->n)
		return;
	scan(m, true, out);
	m->covered = 0;
}

void
masker_free(struct masker *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->sec[i]);
	free(m->sec);
	free(m->len);
	buf_release(&m->pending);
	free(m);
}
