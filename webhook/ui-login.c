/*
 * ui-login.c - signing a browser in and out: /login (a form that takes a
 * token; its POST starts a session: an HttpOnly, SameSite=Strict cookie,
 * and back to the page that sent the browser here, ?next=PATH) and
 * /logout (a POST from the pages' top bar).  Both POSTs must come from
 * scaffold's own pages (Origin or Referer).  auth.c keeps the sessions;
 * login-limit.c counts the failed sign-ins of each address (429 past 5 a
 * minute).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ui-int.h"

#define FORM_TYPE "application/x-www-form-urlencoded"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode one form-encoded part (len bytes) into out; -1 for a %00 or a
 * broken escape. */
static int
form_decode(struct buf *out, const char *s, size_t len)
{
	size_t i;
	int hi, lo;

	buf_reset(out);
	for (i = 0; i < len; i++) {
		if (s[i] == '+') {
			buf_putc(out, ' ');
		} else if (s[i] != '%') {
			buf_putc(out, s[i]);
		} else {
			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			buf_putc(out, (char)(hi * 16 + lo));
			i += 2;
		}
	}
	return 0;
}

/* The value of field key in a form body: 0 and *out, or -1 (absent or
 * broken). */
static int
form_value(struct buf *out, const struct buf *body, const char *key)
{
	struct buf name = BUF_INIT;
	const char *p = body->ptr, *end = body->ptr + body->len, *amp, *eq;
	int ret = -1;

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (!amp)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq && form_decode(&name, p, (size_t)(eq - p)) == 0 &&
		    !strcmp(name.ptr, key)) {
			ret = form_decode(out, eq + 1, (size_t)(amp - eq - 1));
			break;
		}
		p = amp + 1;
	}
	buf_release(&name);
	return ret;
}

/* The sign-in page: the form, with a message (text) above it if any. */
static void
login_page(struct req *r, int code, const char *next, const char *msg)
{
	struct page p;

	ui_begin(&p, r, "", "Sign in", NULL);
	buf_puts(&p.b, "<h1>Sign in</h1>\n");
	if (msg) {
		buf_puts(&p.b, "<p class=\"note bad\" id=\"login-error\">");
		html_txt(&p.b, msg);
		buf_puts(&p.b, "</p>\n");
	}
	if (r->session_token[0]) {
		buf_puts(&p.b, "<p id=\"signed-in\">Signed in with token "
			       "<code>");
		html_txt(&p.b, r->session_token);
		buf_puts(&p.b, "</code>.</p>\n");
	}
	buf_puts(&p.b,
		 "<section>\n<form method=\"post\" action=\"login\" "
		 "id=\"login\">\n<p>Logs, stored files and the output of "
		 "runs need a token with role viewer or more (<code>"
		 "scaffold token create NAME --role viewer</code>). It is "
		 "sent once; this browser then keeps a session.</p>\n"
		 "<p><label for=\"token\">Token</label> <input type=\""
		 "password\" name=\"token\" id=\"token\" autocomplete=\""
		 "off\" required=\"required\" size=\"56\"/></p>\n"
		 "<input type=\"hidden\" name=\"next\" value=\"");
	html_attr(&p.b, next && auth_next_ok(next) ? next : "/");
	buf_puts(&p.b, "\"/>\n<p><button type=\"submit\">Sign in</button>"
		       "</p>\n</form>\n</section>\n");
	ui_end_code(&p, code);
}

/* GET /login[?next=PATH] */
void
ui_login_form(struct req *r)
{
	login_page(r, 200, req_query(r, "next"), NULL);
}

/* A form POST from one of our pages: 1, or 0 with the reply set. */
static int
form_ok(struct req *r)
{
	const char *ct = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(FORM_TYPE);

	if (!ct || strncasecmp(ct, FORM_TYPE, n) ||
	    (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
		ui_fail(r, "", 415, "send the form as %s", FORM_TYPE);
		return 0;
	}
	if (!auth_same_origin(r)) {
		ui_fail(r, "", 403,
			"this form must be sent from scaffold's "
			"own page (Origin or Referer)");
		return 0;
	}
	return 1;
}

/* POST /login: token=TOKEN&next=PATH */
void
ui_login(struct req *r)
{
	struct buf token = BUF_INIT, next = BUF_INIT, id = BUF_INIT;
	struct buf cookie = BUF_INIT;
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;
	struct store *st;
	char peer[64], msg[96], *name = NULL;
	int ret, wait, log_it;

	if (!form_ok(r) || !(st = req_store(r)))
		goto out;
	auth_peer(r, peer);
	form_value(&next, &r->body, "next");
	ci = MHD_get_connection_info(r->conn,
				     MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	sa = ci ? ci->client_addr : NULL;
	/* an address that failed too often waits: its token is not even
	 * looked at, so that guessing goes no faster */
	if (login_limit_check(r->srv->login_limit, sa, &wait, &log_it)) {
		if (log_it)
			log_warnx("http: sign-in from %s refused: %d failed "
				  "sign-ins in a minute; the next is allowed "
				  "in %d s",
				  peer, LOGIN_BURST, wait);
		snprintf(msg, sizeof(msg),
			 "Too many failed sign-ins from your address: try "
			 "again in %d s.",
			 wait);
		login_page(r, 429, next.ptr, msg);
		snprintf(msg, sizeof(msg), "%d", wait);
		if (r->resp)
			MHD_add_response_header(r->resp,
						MHD_HTTP_HEADER_RETRY_AFTER, msg);
		goto out;
	}
	if (form_value(&token, &r->body, "token") < 0 || !token.len) {
		log_warnx("http: sign-in from %s refused: no token", peer);
		login_page(r, 400, next.ptr, "Enter a token.");
		goto out;
	}
	ret = auth_session_start(st, token.ptr, r->cf->session_lifetime_ms,
				 &id, &name);
	if (ret == ERR_AUTH) {
		login_limit_fail(r->srv->login_limit, sa);
		log_warnx("http: sign-in from %s refused: the token is not "
			  "valid",
			  peer);
		login_page(r, 401, next.ptr,
			   "That token is not valid (revoked, or not made by "
			   "this scaffold).");
		goto out;
	}
	if (ret < 0) {
		log_warnx("http: sign-in from %s: %s", peer, err_msg());
		ui_fail(r, "", 500, "%s", err_msg());
		goto out;
	}
	log_info("http: sign-in from %s with token '%s'", peer, name);
	auth_cookie(&cookie, r->cf, id.ptr);
	auth_redirect(r, next.ptr, cookie.ptr);
out:
	if (token.len)
		memset(token.ptr, 0, token.len);
	if (id.len)
		memset(id.ptr, 0, id.len);
	if (cookie.len)
		memset(cookie.ptr, 0, cookie.len);
	free(name);
	buf_release(&token);
	buf_release(&next);
	buf_release(&id);
	buf_release(&cookie);
}

/* POST /logout: the session ends here and in the browser. */
void
ui_logout(struct req *r)
{
	const char *id =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
	struct buf cookie = BUF_INIT;
	struct store *st;
	char peer[64];

	if (!form_ok(r) || !(st = req_store(r)))
		goto out;
	if (auth_session_end(st, id) < 0) {
		ui_fail(r, "", 500, "%s", err_msg());
		goto out;
	}
	auth_peer(r, peer);
	log_info("http: sign-out from %s", peer);
	auth_cookie(&cookie, r->cf, NULL);
	auth_redirect(r, "/", cookie.ptr);
out:
	buf_release(&cookie);
}
