/*
 * http-screen.c - the framing rules a request head must keep (RFC 9112)
 * before scaffold routes it: a pure function of the raw request target
 * and the header fields, so that it can be unit tested and fuzzed.
 * libmicrohttpd is lenient where a proxy in front may read the same bytes
 * differently (request smuggling); these checks refuse what it lets by.
 */
#include <string.h>
#include <strings.h>

#include "webhook-int.h"

/* tchar of RFC 9110, 5.6.2 */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Quote untrusted header text for a message: printable ASCII as is, the
 * rest as \xHH, at most 64 bytes of it. */
static void
quote(struct buf *b, const char *s, size_t len)
{
	size_t i;

	buf_putc(b, '\'');
	for (i = 0; i < len && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			buf_putc(b, (char)c);
		else
			buf_addf(b, "\\x%02x", c);
	}
	if (len > 64)
		buf_puts(b, "...");
	buf_putc(b, '\'');
}

/* "chunked" with optional whitespace around it */
static int
is_chunked(const char *v)
{
	size_t n;

	v += strspn(v, " \t");
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == 7 && !strncasecmp(v, "chunked", 7);
}

int
http_screen_target(const char *raw, struct buf *out)
{
	const char *p;

	for (p = raw; (p = strchr(p, '%')); p++) {
		if (p[1] == '0' && p[2] == '0') {
			buf_puts(out, "the request target holds %00 (a NUL "
				      "byte), which no path or query may "
				      "contain");
			return 400;
		}
	}
	return 0;
}

int
http_screen_head(const struct http_field *f, size_t n, struct buf *out)
{
	size_t i, j, ncl = 0, nte = 0;
	const char *te = NULL;

	for (i = 0; i < n; i++) {
		const char *name = f[i].name;
		size_t len = f[i].name_len;

		for (j = 0; j < len && is_tchar((unsigned char)name[j]); j++)
			;
		if (!len || j < len) {
			buf_puts(out, "the header name ");
			quote(out, name, len);
			buf_puts(out, " is not a token (RFC 9112: no space "
				      "before the colon, no control or "
				      "separator characters)");
			return 400;
		}
		if (len == 14 && !strncasecmp(name, "Content-Length", 14))
			ncl++;
		else if (len == 17 &&
			 !strncasecmp(name, "Transfer-Encoding", 17)) {
			nte++;
			te = f[i].value;
		}
	}
	if (ncl > 1) {
		buf_addf(out, "the request has %zu Content-Length headers: "
			      "send one",
			 ncl);
		return 400;
	}
	if (ncl && nte) {
		buf_puts(out, "the request has both Content-Length and "
			      "Transfer-Encoding headers: send one");
		return 400;
	}
	if (nte > 1) {
		buf_addf(out, "the request has %zu Transfer-Encoding headers: "
			      "send one",
			 nte);
		return 400;
	}
	if (te && !is_chunked(te)) {
		buf_puts(out, "Transfer-Encoding ");
		quote(out, te, strlen(te));
		buf_puts(out, " is not supported: send 'chunked' or a "
			      "Content-Length");
		return 400;
	}
	return 0;
}
