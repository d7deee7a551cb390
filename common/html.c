/*
 * html.c - escaping for HTML pages, cgit's way: the helper is named for
 * the context its output goes into (element text, a quoted attribute
 * value, a URL path segment or query value), so every call site shows how
 * it escapes.  Bytes that are not valid UTF-8, and the characters HTML
 * and XML forbid, become U+FFFD: a page stays well-formed whatever a log
 * or a name holds.
 */
#include <string.h>

#include "common.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/*
 * The length of the valid UTF-8 sequence at s (at most len bytes), 0 when
 * it is not one (overlong forms, surrogates and code points past U+10FFFF
 * are not).  *cp gets the code point.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, unsigned *cp)
{
	unsigned c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that may not appear in HTML text, nor in XML (pages are
 * well-formed as both): control characters but tab, newline and carriage
 * return, and the noncharacters. */
static int
is_forbidden(unsigned cp)
{
	if (cp < 0x20)
		return cp != '\t' && cp != '\n' && cp != '\r';
	if (cp >= 0x7f && cp <= 0x9f)
		return 1;
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/*
 * Append s[0..len) escaping the ASCII characters in special, each as an
 * entity, and replacing what is not valid text.  Runs of plain bytes are
 * copied at once: logs of megabytes go through here.
 */
static void
escape(struct buf *b, const char *s, size_t len, const char *special)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0, n;
	unsigned cp;

	buf_grow(b, len + len / 8);
	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f && !strchr(special, p[i])) {
			i++;
			continue;
		}
		n = utf8_seq(p + i, len - i, &cp);
		if (n > 1 && !is_forbidden(cp)) {
			i += n;
			continue;
		}
		if (n == 1 && !is_forbidden(cp) && !strchr(special, p[i])) {
			i++;
			continue;
		}
		buf_add(b, s + start, i - start);
		switch (n == 1 ? p[i] : 0) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_puts(b, REPLACEMENT);
		}
		i += n ? n : 1;
		start = i;
	}
	buf_add(b, s + start, i - start);
}

void
html_ntxt(struct buf *b, const char *s, size_t len)
{
	escape(b, s, len, "&<>");
}

void
html_txt(struct buf *b, const char *s)
{
	if (s)
		html_ntxt(b, s, strlen(s));
}

void
html_attr(struct buf *b, const char *s)
{
	if (s)
		escape(b, s, strlen(s), "&<>\"'");
}

/*
 * Percent-encode s but for the unreserved characters (and '/' with
 * keep_slash).  A segment that is "." or ".." is encoded whole: a browser
 * would otherwise resolve it as a step up the path.
 */
static void
url_escape(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p, *seg;
	char pct[3] = { '%', 0, 0 };
	size_t n;

	if (!s)
		return;
	for (seg = p = (const unsigned char *)s; *p; p++) {
		if (*p == '/' && keep_slash)
			seg = p + 1;
		if (*p == '.' && p == seg) {
			n = strcspn((const char *)p, "/");
			if (n == 1 || (n == 2 && p[1] == '.')) {
				buf_puts(b, n == 1 ? "%2E" : "%2E%2E");
				p += n - 1;
				continue;
			}
		}
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
			buf_putc(b, (char)*p);
			continue;
		}
		pct[1] = hex[*p >> 4];
		pct[2] = hex[*p & 15];
		buf_add(b, pct, 3);
	}
}

void
html_url_arg(struct buf *b, const char *s)
{
	url_escape(b, s, 0);
}

void
html_url_path(struct buf *b, const char *s)
{
	url_escape(b, s, 1);
}
