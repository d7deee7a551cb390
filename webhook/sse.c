/*
 * sse.c - the framing of a run's log as server-sent events, for the live
 * log of the run page and GET /api/v1/runs/ID/log?follow=1.  A log is
 * task output: any byte.  The WHATWG parser ends a line at "\r\n", "\n"
 * and a bare "\r"; framing on "\n" alone let a task that printed
 * "x\revent: end\rdata: {...}\r\r" end the stream with a fake outcome.  So
 * lines end here exactly where the parser will end them, and every one is
 * a data: line of its own.
 */
#include <string.h>

#include "webhook-int.h"

/* The length of the line at in (without its end), or len when unended. */
static size_t
line_len(const char *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (in[i] == '\n' || in[i] == '\r')
			return i;
	return len;
}

size_t
sse_data_lines(struct buf *out, bool *cr, const char *in, size_t len)
{
	size_t pos = 0, l;
	bool any = false;

	if (*cr && len && in[0] == '\n')
		pos = 1; /* the "\n" of a "\r\n" cut between two reads */
	if (len)
		*cr = false;
	while (pos < len) {
		l = line_len(in + pos, len - pos);
		if (pos + l == len)
			break;
		buf_puts(out, "data: ");
		buf_add(out, in + pos, l);
		buf_putc(out, '\n');
		any = true;
		pos += l;
		if (in[pos] == '\r' && pos + 1 < len && in[pos + 1] == '\n')
			pos += 2;
		else if (in[pos] == '\r' && pos + 1 == len)
			pos++, *cr = true;
		else
			pos++;
	}
	if (any)
		buf_putc(out, '\n');
	return pos;
}

void
sse_event(struct buf *out, const char *type, const char *data, size_t len)
{
	size_t pos = 0, l;

	if (type) {
		buf_puts(out, "event: ");
		buf_puts(out, type);
		buf_putc(out, '\n');
	}
	for (;;) {
		l = line_len(data + pos, len - pos);
		buf_puts(out, "data: ");
		buf_add(out, data + pos, l);
		buf_putc(out, '\n');
		pos += l;
		if (pos == len)
			break;
		if (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n')
			pos++;
		pos++;
	}
	buf_putc(out, '\n');
}
