/*
 * escape.c - untrusted text made safe for a terminal or a log line (see
 * common.h): control characters, C1 and bidirectional controls and
 * invalid UTF-8 as "\xNN".
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/*
 * The length of the valid UTF-8 sequence at s (at most len bytes), its code
 * point in *cp; 0 when the bytes there are not one.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Whether code point c is escaped although it is valid UTF-8. */
static bool
escaped_cp(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static void
escape(struct buf *b, const char *str, size_t len, bool backslash)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, k;
	uint32_t c;

	while (i < len) {
		n = utf8_seq(s + i, len - i, &c);
		if (n && c == '\n') {
			buf_puts(b, "\\n");
		} else if (n && c == '\\') {
			buf_puts(b, backslash ? "\\\\" : "\\");
		} else if (n && !escaped_cp(c)) {
			buf_add(b, s + i, n);
		} else {
			if (!n)
				n = 1; /* one invalid byte at a time */
			for (k = 0; k < n; k++) {
				buf_puts(b, "\\x");
				buf_putc(b, hex[s[i + k] >> 4]);
				buf_putc(b, hex[s[i + k] & 15]);
			}
		}
		i += n;
	}
}

void
escape_log(struct buf *b, const char *s, size_t len)
{
	escape(b, s, len, true);
}

const char *
escape_text(struct buf *b, const char *s)
{
	buf_reset(b);
	if (s)
		escape(b, s, strlen(s), true);
	return b->ptr;
}

void
escape_log_line(struct buf *b, const char *s, size_t len)
{
	escape(b, s, len, false);
}
