/*
 * fuzz-sse.c - libFuzzer target: the framing of a run's log as server-sent
 * events (sse_data_lines, sse_event), with an oracle.  The first byte
 * seeds how the log is cut into reads (as the follower reads a growing
 * file); the rest is the log, any bytes.  The stream produced is parsed
 * as the WHATWG event-stream parser does (lines end at "\r\n", "\n" or
 * "\r"; "field: value"; a blank line dispatches), and the events must be
 * exactly the intended ones: message events whose data lines are the
 * log's complete lines with their original bytes, in order, then one
 * "partial" event with the unended rest (when there is one), then "end".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../webhook/webhook-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define END_DATA "{\"id\":1,\"state\":\"success\"}"

/* Where the next line of s (from *pos) ends; its end in *end_len. */
static size_t
next_line(const char *s, size_t len, size_t pos, size_t *end_len)
{
	size_t i;

	for (i = pos; i < len; i++) {
		if (s[i] == '\n') {
			*end_len = 1;
			return i;
		}
		if (s[i] == '\r') {
			*end_len = i + 1 < len && s[i + 1] == '\n' ? 2 : 1;
			return i;
		}
	}
	*end_len = 0;
	return len;
}

struct oracle {
	const char *log; /* the expected lines, consumed as events come */
	size_t len, pos;
	bool partial, end;
	const char *rest; /* the unended last line */
	size_t rest_len;
};

/* One event the parser dispatched: check it against what is expected. */
static void
check_event(struct oracle *o, const char *type, const char *d, size_t dl)
{
	size_t at = 0, l, el, want, wel;

	if (o->end)
		abort(); /* nothing after the end */
	if (!strcmp(type, "end")) {
		if (dl != strlen(END_DATA) || memcmp(d, END_DATA, dl))
			abort();
		if (o->rest_len && !o->partial)
			abort();
		if (o->pos != o->len - o->rest_len)
			abort(); /* a complete line never came */
		o->end = true;
		return;
	}
	if (!strcmp(type, "partial")) {
		if (o->partial || !o->rest_len || dl != o->rest_len ||
		    memcmp(d, o->rest, dl) || o->pos != o->len - o->rest_len)
			abort();
		o->partial = true;
		return;
	}
	if (strcmp(type, "message") || o->partial)
		abort();
	/* each "\n"-separated piece of the data is the next line of the log */
	for (;;) {
		l = next_line(d, dl, at, &el);
		want = next_line(o->log, o->len, o->pos, &wel);
		if (!wel || want - o->pos != l - at ||
		    memcmp(o->log + o->pos, d + at, l - at))
			abort();
		o->pos = want + wel;
		if (l == dl)
			break;
		if (d[l] != '\n')
			abort(); /* the parser joins data lines with "\n" */
		at = l + 1;
	}
}

/* The WHATWG event-stream parser, over bytes. */
static void
parse(struct oracle *o, const char *s, size_t len)
{
	struct buf dbuf = BUF_INIT, type = BUF_INIT;
	size_t pos = 0, l, el, flen;
	const char *line, *colon, *v;
	size_t vlen;

	while (pos < len) {
		l = next_line(s, len, pos, &el);
		if (!el)
			break; /* an unended line at the end is discarded */
		line = s + pos;
		flen = l - pos;
		pos = l + el;
		if (!flen) {
			if (dbuf.len) {
				dbuf.len--; /* the last "\n" */
				check_event(o, type.len ? type.ptr : "message",
					    dbuf.ptr, dbuf.len);
			}
			buf_reset(&dbuf);
			buf_reset(&type);
			continue;
		}
		if (line[0] == ':')
			continue;
		colon = memchr(line, ':', flen);
		v = colon ? colon + 1 : line + flen;
		vlen = (size_t)(line + flen - v);
		if (vlen && *v == ' ')
			v++, vlen--;
		if (!colon)
			colon = line + flen;
		if ((size_t)(colon - line) == 5 && !memcmp(line, "event", 5)) {
			buf_reset(&type);
			buf_add(&type, v, vlen);
		} else if ((size_t)(colon - line) == 4 &&
			   !memcmp(line, "data", 4)) {
			buf_add(&dbuf, v, vlen);
			buf_putc(&dbuf, '\n');
		} else {
			abort(); /* id, retry or another field: never sent */
		}
	}
	buf_release(&dbuf);
	buf_release(&type);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT, partial = BUF_INIT;
	struct oracle o;
	const char *log;
	size_t len, pos = 0, n, taken, i, el;
	unsigned seed;
	bool cr = false;

	if (!size)
		return 0;
	seed = data[0] | 1u;
	log = (const char *)data + 1;
	len = size - 1;
	/* the log read in pieces, as it grows */
	while (pos < len) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 17;
		if (n > len - pos)
			n = len - pos;
		buf_add(&partial, log + pos, n);
		pos += n;
		taken = sse_data_lines(&out, &cr, partial.ptr, partial.len);
		if (taken > partial.len)
			abort();
		memmove(partial.ptr, partial.ptr + taken, partial.len - taken);
		partial.len -= taken;
		if ((seed >> 8) % 5 == 0)
			buf_puts(&out, ": keep-alive\n\n");
	}
	if (partial.len)
		sse_event(&out, "partial", partial.ptr, partial.len);
	sse_event(&out, "end", END_DATA, strlen(END_DATA));

	memset(&o, 0, sizeof(o));
	o.log = log;
	o.len = len;
	/* the unended rest: after the last line end of the log */
	for (i = 0; i < len; i = next_line(log, len, i, &el) + el) {
		next_line(log, len, i, &el);
		if (!el) {
			o.rest = log + i;
			o.rest_len = len - i;
			break;
		}
	}
	parse(&o, out.ptr, out.len);
	if (!o.end)
		abort();
	buf_release(&out);
	buf_release(&partial);
	return 0;
}
