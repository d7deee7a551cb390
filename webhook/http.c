/*
 * http.c - the HTTP server (libmicrohttpd, a thread per connection): body
 * limits, routing by method and path pattern, tokens and roles, JSON
 * replies, and each request thread's own store connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "webhook-int.h"

const char *const forge_names[3] = { "github", "gitlab", "gitea" };
const char *const delivery_results[5] = { "accepted", "duplicate", "ignored",
					  "unauthorized", "rejected" };

/* Each request thread's store and scheduler, closed when it ends. */
struct tl {
	struct store *st;
	struct sched *s;
};
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static const char *tl_data_dir;
/* the data dir resolved (symlinks, ".."), when it differs; for
 * http_public_msg */
static char *tl_data_real;

static void
tl_free(void *p)
{
	struct tl *t = p;

	sched_free(t->s);
	store_close(t->st);
	free(t);
}

static void
tl_init(void)
{
	pthread_key_create(&tl_key, tl_free);
}

static struct tl *
tl_get(struct req *r)
{
	struct tl *t = pthread_getspecific(tl_key);

	if (t)
		return t;
	t = xcalloc(1, sizeof(*t));
	if (store_open(&t->st, tl_data_dir) < 0 ||
	    sched_new(&t->s, t->st) < 0) {
		log_warnx("http: %s", err_msg());
		reply_error(r, 500, "the state store cannot be opened: %s",
			    err_msg());
		sched_free(t->s);
		store_close(t->st);
		free(t);
		return NULL;
	}
	pthread_setspecific(tl_key, t);
	return t;
}

struct store *
req_store(struct req *r)
{
	struct tl *t = tl_get(r);

	return t ? t->st : NULL;
}

struct sched *
req_sched(struct req *r)
{
	struct tl *t = tl_get(r);

	return t ? t->s : NULL;
}

const char *
req_header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
req_query(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

void
reply_data(struct req *r, int code, const char *ctype, const void *data,
	   size_t len)
{
	r->code = code;
	r->ctype = ctype;
	buf_reset(&r->out);
	buf_add(&r->out, data, len);
	r->done = 1;
}

void
reply_json(struct req *r, int code, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);

	reply_data(r, code, "application/json", s ? s : "{}",
		   s ? strlen(s) : 2);
	buf_putc(&r->out, '\n');
	free(s);
	json_decref(body);
}

/* The length of the data dir's path at s (either spelling), or 0. */
static size_t
data_dir_at(const char *s)
{
	const char *const dirs[] = { tl_data_dir, tl_data_real };
	size_t i, l;
	char c;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (!dirs[i] || !*dirs[i] || strcmp(dirs[i], "/") == 0)
			continue;
		l = strlen(dirs[i]);
		while (l > 1 && dirs[i][l - 1] == '/')
			l--;
		if (strncmp(s, dirs[i], l))
			continue;
		c = s[l];
		/* the whole name: not "/data" in "/database" */
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '.' && c != '_' &&
		    c != '-')
			return l;
	}
	return 0;
}

void
http_public_msg(struct req *r, int code, struct buf *out, const char *msg)
{
	size_t l;
	const char *s;

	for (s = msg; *s;) {
		if ((l = data_dir_at(s))) {
			buf_puts(out, "$DATA_DIR");
			s += l;
		} else {
			buf_putc(out, *s++);
		}
	}
	if (code >= 500)
		log_warnx("http: %s %s: %d %s", r->method ? r->method : "?",
			  r->url ? r->url : "?", code, msg);
}

void
reply_error(struct req *r, int code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT, pub = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	http_public_msg(r, code, &pub, msg.ptr);
	reply_json(r, code, json_pack("{s:s}", "error", pub.ptr));
	buf_release(&msg);
	buf_release(&pub);
}

void
http_count_delivery(struct http_server *h, int forge, int result)
{
	atomic_fetch_add(&h->deliveries[forge][result], 1);
}

void
http_note_sync(struct http_server *h, const char *repo, int64_t duration_ms,
	       int ok)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->cf->nrepos; i++) {
		if (strcmp(h->cf->repos[i].name, repo))
			continue;
		pthread_mutex_lock(&h->mlock);
		h->syncs[i].count++;
		h->syncs[i].failures += !ok;
		h->syncs[i].sum_ms += duration_ms;
		h->syncs[i].last_ms = duration_ms;
		pthread_mutex_unlock(&h->mlock);
	}
}

/*
 * Match path against a pattern; {x} takes one non-empty segment, {x*}
 * (last in a pattern) the non-empty rest of the path, slashes included.
 * 1 on a match, with the segments in r->params.
 */
static int
route_match(struct req *r, const char *pattern, const char *path)
{
	const char *p = pattern, *u = path, *end;
	size_t n = 0, i;

	while (*p && *u) {
		if (*p == '{') {
			end = strchr(p, '}');
			if (end > p && end[-1] == '*')
				end = u + strlen(u);
			else if (!(end = strchr(u, '/')))
				end = u + strlen(u);
			if (end == u || n == HTTP_MAX_PARAMS)
				goto no;
			r->params[n++] = xstrndup(u, (size_t)(end - u));
			u = end;
			p = strchr(p, '}') + 1;
			continue;
		}
		if (*p != *u)
			goto no;
		p++;
		u++;
	}
	if (*p || *u)
		goto no;
	r->nparams = n;
	return 1;
no:
	for (i = 0; i < n; i++) {
		free(r->params[i]);
		r->params[i] = NULL;
	}
	return 0;
}

static void
dispatch(struct req *r)
{
	static const struct route *const tables[] = { hook_routes, api_routes,
						      ui_routes };
	const struct route *rt, *found = NULL;
	int path_matched = 0;
	enum role need;
	size_t t;

	for (t = 0; t < ARRAY_SIZE(tables) && !found; t++)
		for (rt = tables[t]; rt->pattern; rt++) {
			if (!route_match(r, rt->pattern, r->url))
				continue;
			path_matched = 1;
			if (!strcmp(rt->method, r->method)) {
				found = rt;
				break;
			}
			while (r->nparams)
				free(r->params[--r->nparams]);
		}
	if (!found) {
		if (path_matched)
			reply_error(r, 405, "%s is not allowed on '%s'",
				    r->method, r->url);
		else
			reply_error(r, 404, "no such path '%s'", r->url);
		return;
	}
	if (r->too_big) {
		reply_error(r, 413, "the request body is larger than %u bytes",
			    HTTP_MAX_BODY);
		return;
	}
	/* who may see what: auth.c */
	need = auth_need(found, r->srv->cf);
	if (auth_request(r, found) < 0)
		return;
	if (r->role < need) {
		auth_refuse(r, found, need);
		return;
	}
	found->fn(r);
	if (!r->done)
		reply_error(r, 500, "no answer");
}

static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
	      const char *value)
{
	unsigned *n = cls;

	(void)kind;
	(void)value;
	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH))
		n[0]++;
	else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		n[1]++;
	return MHD_YES;
}

/*
 * A body whose length two headers could disagree on (RFC 9112, 6.3): a
 * proxy in front might read another request into it than we would.
 * libmicrohttpd takes the first Content-Length and ignores the rest: refuse
 * the request instead, before reading any of its body.
 */
static int
ambiguous_length(struct req *r)
{
	unsigned n[2] = { 0, 0 };

	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, n);
	if (n[0] > 1)
		reply_error(r, 400, "the request has %u Content-Length headers: "
				    "send one",
			    n[0]);
	else if (n[0] && n[1])
		reply_error(r, 400, "the request has both Content-Length and "
				    "Transfer-Encoding headers: send one");
	return n[0] > 1 || (n[0] && n[1]);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct req *r = *con_cls;
	struct MHD_Response *resp;
	const char *cl;
	enum MHD_Result ret;

	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->srv = h;
		r->conn = conn;
		r->method = method;
		r->url = url;
		buf_init(&r->body);
		buf_init(&r->out);
		*con_cls = r;
		if (ambiguous_length(r))
			goto respond;
		cl = MHD_lookup_connection_value(
			conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (!cl || strtoull(cl, NULL, 10) <= HTTP_MAX_BODY)
			return MHD_YES;
		/* answer before reading a body that is too big */
		r->too_big = 1;
		reply_error(r, 413, "the request body is larger than %u bytes",
			    HTTP_MAX_BODY);
		goto respond;
	}
	if (*upload_size) {
		if (r->too_big || r->body.len + *upload_size > HTTP_MAX_BODY) {
			/* refuse to read gigabytes: answer now */
			r->too_big = 1;
			buf_release(&r->body);
			if (r->body.len + *upload_size > 4 * HTTP_MAX_BODY)
				return MHD_NO;
		} else {
			buf_add(&r->body, upload, *upload_size);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		reply_error(r, 413, "the request body is larger than %u bytes",
			    HTTP_MAX_BODY);
	else
		dispatch(r);
respond:
	if (r->resp) {
		resp = r->resp;
		r->resp = NULL;
	} else {
		resp = MHD_create_response_from_buffer(
			r->out.len, r->out.ptr, MHD_RESPMEM_MUST_COPY);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					r->ctype ? r->ctype : "text/plain");
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	ret = MHD_queue_response(conn, (unsigned)r->code, resp);
	MHD_destroy_response(resp);
	log_debug("http: %s %s %d", method, url, r->code);
	return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode why)
{
	struct req *r = *con_cls;
	size_t i;

	(void)cls;
	(void)conn;
	(void)why;
	if (!r)
		return;
	for (i = 0; i < r->nparams; i++)
		free(r->params[i]);
	if (r->resp)
		MHD_destroy_response(r->resp);
	buf_release(&r->body);
	buf_release(&r->out);
	free(r);
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	(void)cls;
	buf_vaddf(&b, fmt, ap);
	while (b.len && b.ptr[b.len - 1] == '\n')
		b.ptr[--b.len] = '\0';
	log_warnx("http: %s", b.ptr);
	buf_release(&b);
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" into an address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *out,
	     socklen_t *out_len)
{
	struct addrinfo hints, *ai = NULL;
	struct buf host = BUF_INIT;
	const char *colon, *port;
	int ret = -1, rc;

	if (listen[0] == '[') {
		colon = strstr(listen, "]:");
		if (!colon)
			goto bad;
		buf_add(&host, listen + 1, (size_t)(colon - listen - 1));
		port = colon + 2;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			goto bad;
		buf_add(&host, listen, (size_t)(colon - listen));
		port = colon + 1;
	}
	if (!*port || strspn(port, "0123456789") != strlen(port) ||
	    atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host.len ? host.ptr : NULL, port, &hints, &ai);
	if (rc) {
		err_set("listen '%s': %s", listen, gai_strerror(rc));
		goto out;
	}
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	*out_len = ai->ai_addrlen;
	ret = 0;
	goto out;
bad:
	err_set("listen '%s': use HOST:PORT, [IPV6]:PORT or :PORT", listen);
out:
	if (ai)
		freeaddrinfo(ai);
	buf_release(&host);
	return ret;
}

int
http_start(struct http_server **out, const struct config *cf,
	   const struct http_hooks *hooks)
{
	struct http_server *h = xcalloc(1, sizeof(*h));
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	const union MHD_DaemonInfo *info;
	unsigned flags;
	size_t i;

	*out = NULL;
	pthread_once(&tl_once, tl_init);
	tl_data_dir = cf->data_dir;
	if (!tl_data_real)
		tl_data_real = realpath(cf->data_dir, NULL);
	h->cf = cf;
	h->hooks = hooks;
	pthread_mutex_init(&h->mlock, NULL);
	plan_gate_init(h);
	h->syncs = xcalloc(cf->nrepos + 1, sizeof(*h->syncs));
	h->secrets = xcalloc(cf->nrepos + 1, sizeof(*h->secrets));
	for (i = 0; i < cf->nrepos; i++) {
		buf_init(&h->secrets[i]);
		if (!cf->repos[i].webhook_secret_file)
			continue;
		if (buf_read_file(&h->secrets[i],
				  cf->repos[i].webhook_secret_file, 4096) < 0)
			goto fail;
		/* a trailing newline from `echo > file` is not the secret */
		while (h->secrets[i].len &&
		       (h->secrets[i].ptr[h->secrets[i].len - 1] == '\n' ||
			h->secrets[i].ptr[h->secrets[i].len - 1] == '\r'))
			h->secrets[i].ptr[--h->secrets[i].len] = '\0';
		if (!h->secrets[i].len) {
			err_set("repo '%s': webhook_secret_file '%s' is empty",
				cf->repos[i].name,
				cf->repos[i].webhook_secret_file);
			goto fail;
		}
	}
	if (parse_listen(cf->listen, &sa, &salen) < 0)
		goto fail;
	flags = MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, h, MHD_OPTION_CONNECTION_LIMIT, 512u,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u,
		MHD_OPTION_END);
	if (!h->mhd) {
		err_set("cannot listen on '%s': %s", cf->listen,
			errno ? strerror(errno) : "libmicrohttpd failed");
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	return 0;
fail:
	http_stop(h);
	return -1;
}

int
http_port(const struct http_server *h)
{
	return h->port;
}

void
http_stop(struct http_server *h)
{
	size_t i;

	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	for (i = 0; i < h->cf->nrepos; i++)
		buf_release(&h->secrets[i]);
	free(h->secrets);
	free(h->syncs);
	pthread_mutex_destroy(&h->mlock);
	plan_gate_release(h);
	free(h);
}
