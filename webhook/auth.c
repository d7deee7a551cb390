/*
 * auth.c - API tokens and roles.  A token is "scf_" and 48 hex digits of
 * randomness, shown once; the store keeps a random salt and
 * HMAC-SHA256(salt, token), compared in constant time.
 *
 * And who may see what: the role a route needs under public_status, the
 * request's role (a bearer token, or a browser's session cookie), and
 * the sessions themselves: a random id in an HttpOnly, SameSite=Strict
 * cookie, its SHA-256 in the store, with an absolute expiry, gone when
 * its token is revoked.  Neither tokens nor session ids are ever logged.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "webhook-int.h"

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *
role_name(enum role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

int
role_parse(const char *name, enum role *out)
{
	size_t i;

	for (i = ROLE_VIEWER; i < ARRAY_SIZE(role_names); i++)
		if (!strcmp(name, role_names[i])) {
			*out = (enum role)i;
			return 0;
		}
	return -1;
}

int
token_create(struct store *st, const char *name, enum role role,
	     struct buf *out)
{
	unsigned char raw[24];
	struct token_row t;
	size_t i;
	int ret;

	if (!name_is_valid(name))
		return err_set("invalid token name '%s': use 1-63 characters "
			       "a-z, 0-9, '_', '.', '-', starting with a "
			       "letter or digit",
			       name),
		       ERR_INVALID;
	memset(&t, 0, sizeof(t));
	if (crypto_random(raw, sizeof(raw)) < 0 ||
	    crypto_random(t.salt, sizeof(t.salt)) < 0)
		return -1;
	buf_reset(out);
	buf_puts(out, "scf_");
	for (i = 0; i < sizeof(raw); i++)
		buf_addf(out, "%02x", raw[i]);
	hmac_sha256(t.hash, t.salt, sizeof(t.salt), out->ptr, out->len);
	t.name = (char *)name;
	t.role = (char *)role_name(role);
	ret = store_token_insert(st, &t);
	if (ret < 0)
		buf_reset(out);
	memset(raw, 0, sizeof(raw));
	return ret;
}

/* The token's row: its role and id (and name, when out_name). */
static int
token_find(struct store *st, const char *token, enum role *out, int64_t *out_id,
	   char **out_name)
{
	struct token_row *v = NULL;
	unsigned char hash[32];
	size_t n = 0, i, len = strlen(token);
	int ret = ERR_AUTH;
	enum role r;

	*out = ROLE_NONE;
	if (len != 52 || strncmp(token, "scf_", 4))
		return ERR_AUTH;
	if (store_token_list(st, &v, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		hmac_sha256(hash, v[i].salt, sizeof(v[i].salt), token, len);
		if (crypto_equal(hash, v[i].hash, sizeof(hash)) &&
		    role_parse(v[i].role, &r) == 0) {
			*out = r;
			if (out_id)
				*out_id = v[i].id;
			if (out_name)
				*out_name = xstrdup(v[i].name);
			ret = 0;
			/* once a minute is enough to show it is in use */
			if (store_now_ms() - v[i].last_used_at > 60000)
				store_token_used(st, v[i].id);
			break;
		}
	}
	token_rows_free(v, n);
	return ret;
}

int
token_check(struct store *st, const char *token, enum role *out)
{
	return token_find(st, token, out, NULL, NULL);
}

/* ---- who may see what ---- */

/* The role a class of page needs under public_status. */
static enum role
class_need(enum page_class c, const struct config *cf)
{
	switch (c) {
	case PAGE_STATE:
		return cf->public_status == PUBLIC_NONE ? ROLE_VIEWER
							: ROLE_NONE;
	case PAGE_DETAIL:
		return cf->public_status == PUBLIC_FULL ? ROLE_NONE
							: ROLE_VIEWER;
	case PAGE_API:
	case PAGE_OPEN:
		break;
	}
	return ROLE_NONE;
}

enum role
auth_need(const struct route *rt, const struct config *cf)
{
	enum role c = class_need(rt->page, cf);

	return rt->need > c ? rt->need : c;
}

int
auth_may_see(const struct req *r, enum page_class c)
{
	return r->role >= class_need(c, r->cf);
}

/* A session id as we make them: 64 lowercase hex digits. */
static int
session_id_ok(const char *id)
{
	return strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64;
}

/* The role of a session cookie; anonymous when there is none or it is
 * no longer good.  -1 (reply set) when the store fails. */
static int
session_role(struct req *r)
{
	const char *id =
	    MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, AUTH_COOKIE);
	char hash[SHA256_HEX_LEN + 1];
	struct session_row row;
	struct store *st;
	int ret;

	if (!id || !session_id_ok(id))
		return 0;
	if (!(st = req_store(r)))
		return -1;
	sha256_hex(hash, id, strlen(id));
	ret = store_session_find(st, hash, store_now_ms(), &row);
	if (ret == ERR_NOTFOUND)
		return 0;
	if (ret < 0) {
		reply_error(r, 500, "%s", err_msg());
		return -1;
	}
	if (role_parse(row.role, &r->role) < 0)
		r->role = ROLE_NONE;
	else
		snprintf(r->session_token, sizeof(r->session_token), "%s",
			 row.token_name);
	session_row_release(&row);
	return 0;
}

int
auth_request(struct req *r, const struct route *rt)
{
	const char *h = req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
	struct store *st;
	int ret;

	r->role = ROLE_NONE;
	r->session_token[0] = '\0';
	/* another scheme (a proxy's Basic auth) is not ours: on a page, or
	 * on a route that needs no role, it is as if absent */
	if (h && strncasecmp(h, "Bearer ", 7) &&
	    (rt->page != PAGE_API || auth_need(rt, r->cf) == ROLE_NONE))
		h = NULL;
	if (!h) {
		/* a cookie never makes a change: GET and HEAD of pages only
		 * (the sign-out form checks its own) */
		if (rt->page == PAGE_API ||
		    (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")))
			return 0;
		return session_role(r);
	}
	if (strncasecmp(h, "Bearer ", 7)) {
		reply_error(r, 401,
			    "the Authorization header must be "
			    "'Bearer TOKEN'");
		return -1;
	}
	if (!(st = req_store(r)))
		return -1;
	ret = token_check(st, h + 7, &r->role);
	if (ret == ERR_AUTH) {
		reply_error(r, 401,
			    "the token is not valid (revoked, or not "
			    "made by this scaffold)");
		return -1;
	}
	if (ret < 0) {
		reply_error(r, 500, "%s", err_msg());
		return -1;
	}
	return 0;
}

void
auth_root(struct buf *out, const char *path)
{
	const char *sl;

	for (sl = strchr(path + (*path == '/'), '/'); sl;
	     sl = strchr(sl + 1, '/'))
		buf_puts(out, "../");
}

static enum MHD_Result
add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct buf *b = cls;

	(void)kind;
	buf_putc(b, strchr(b->ptr, '?') ? '&' : '?');
	html_url_arg(b, key);
	if (value) {
		buf_putc(b, '=');
		html_url_arg(b, value);
	}
	return MHD_YES;
}

/* 303 to location (made safe by the caller), with a cookie if given. */
static void
redirect(struct req *r, const char *location, const char *cookie)
{
	struct MHD_Response *resp;
	struct buf body = BUF_INIT;

	buf_puts(&body, "<!DOCTYPE html>\n<html><body><p><a href=\"");
	html_attr(&body, location);
	buf_puts(&body, "\">Continue</a></p></body></html>\n");
	resp = MHD_create_response_from_buffer(body.len, body.ptr,
					       MHD_RESPMEM_MUST_COPY);
	buf_release(&body);
	if (!resp) {
		reply_error(r, 500, "cannot make the response");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/html; charset=utf-8");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
	if (cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
					cookie);
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->code = 303;
	r->done = 1;
}

void
auth_redirect(struct req *r, const char *next, const char *cookie)
{
	struct buf loc = BUF_INIT;

	/* relative, as every link of the pages: "./PATH" from /login */
	buf_puts(&loc, ".");
	buf_puts(&loc, next && auth_next_ok(next) ? next : "/");
	redirect(r, loc.ptr, cookie);
	buf_release(&loc);
}

void
auth_refuse(struct req *r, const struct route *rt, enum role need)
{
	const char *accept = req_header(r, MHD_HTTP_HEADER_ACCEPT);
	struct buf next = BUF_INIT, loc = BUF_INIT;

	if (r->role == ROLE_NONE && rt->page != PAGE_API &&
	    !strcmp(r->method, "GET") && accept &&
	    strstr(accept, "text/html")) {
		/* a browser: sign in, then come back here */
		html_url_path(&next, r->url);
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND,
					  add_arg, &next);
		auth_root(&loc, r->url);
		buf_puts(&loc, "login?next=");
		html_url_arg(&loc, next.ptr);
		redirect(r, loc.ptr, NULL);
	} else if (r->role == ROLE_NONE && rt->page != PAGE_API) {
		reply_error(r, 401,
			    "this page needs a viewer: sign in at "
			    "/login, or send 'Authorization: Bearer "
			    "TOKEN'");
	} else if (r->role == ROLE_NONE) {
		reply_error(r, 401,
			    "this needs a token with role %s or more: "
			    "send 'Authorization: Bearer TOKEN'",
			    role_name(need));
	} else {
		reply_error(r, 403,
			    "this needs role %s or more; the token "
			    "has role %s",
			    role_name(need), role_name(r->role));
	}
	buf_release(&next);
	buf_release(&loc);
}

int
auth_next_ok(const char *next)
{
	size_t i;

	if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\')
		return 0;
	for (i = 0; next[i]; i++)
		if (i >= 2048 || (unsigned char)next[i] <= ' ' ||
		    (unsigned char)next[i] >= 0x7f || next[i] == '\\')
			return 0;
	return 1;
}

int
auth_session_start(struct store *st, const char *token, int64_t lifetime_ms,
		   struct buf *out, char **out_name)
{
	unsigned char raw[32];
	char hash[SHA256_HEX_LEN + 1];
	int64_t token_id = 0;
	enum role role;
	size_t i;
	int ret;

	buf_reset(out);
	*out_name = NULL;
	if ((ret = token_find(st, token, &role, &token_id, out_name)) < 0)
		return ret;
	if (crypto_random(raw, sizeof(raw)) < 0) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < sizeof(raw); i++)
		buf_addf(out, "%02x", raw[i]);
	sha256_hex(hash, out->ptr, out->len);
	ret = store_session_insert(st, hash, token_id,
				   store_now_ms() + lifetime_ms);
out:
	memset(raw, 0, sizeof(raw));
	if (ret < 0) {
		memset(out->ptr, 0, out->len);
		buf_reset(out);
		free(*out_name);
		*out_name = NULL;
	}
	return ret;
}

int
auth_session_end(struct store *st, const char *id)
{
	char hash[SHA256_HEX_LEN + 1];

	if (!id || !session_id_ok(id))
		return 0;
	sha256_hex(hash, id, strlen(id));
	return store_session_delete(st, hash);
}

void
auth_cookie(struct buf *out, const struct config *cf, const char *id)
{
	int64_t age = cf->session_lifetime_ms / 1000;

	buf_reset(out);
	buf_addf(out, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict",
		 AUTH_COOKIE, id ? id : "",
		 id ? (long long)(age > 0 ? age : 1) : 0LL);
	if (cf->public_url && !strncasecmp(cf->public_url, "https://", 8))
		buf_puts(out, "; Secure");
}

/* The "scheme://host[:port]" that begins url, or "" for none. */
static void
origin_of(struct buf *out, const char *url)
{
	const char *p = url ? strstr(url, "://") : NULL;

	buf_reset(out);
	if (!p || p == url)
		return;
	p += 3;
	p += strcspn(p, "/?#");
	buf_add(out, url, (size_t)(p - url));
}

int
auth_same_origin(struct req *r)
{
	const char *from = req_header(r, "Origin"), *host;
	struct buf o = BUF_INIT, mine = BUF_INIT;
	int ok = 0;

	if (!from)
		from = req_header(r, "Referer");
	if (!from)
		return 1; /* a browser sends one of them on every POST */
	origin_of(&o, from);
	origin_of(&mine, r->cf->public_url);
	host = req_header(r, MHD_HTTP_HEADER_HOST);
	if (o.len && mine.len && !strcasecmp(o.ptr, mine.ptr))
		ok = 1;
	else if (o.len && host && *host &&
		 !strcasecmp(strstr(o.ptr, "://") + 3, host))
		ok = 1;
	buf_release(&o);
	buf_release(&mine);
	return ok;
}

void
auth_peer(struct req *r, char out[64])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	    r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len;

	snprintf(out, 64, "?");
	if (!sa)
		return;
	len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in);
	if (getnameinfo(sa, len, out, 64, NULL, 0, NI_NUMERICHOST))
		snprintf(out, 64, "?");
}
