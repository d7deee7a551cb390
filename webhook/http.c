/*
 * http.c - the HTTP server (libmicrohttpd, a thread per connection): body
 * limits, routing by method and path pattern, tokens and roles, JSON
 * replies, and each request thread's own store connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

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
http_note_gc(struct http_server *h, int64_t data_bytes, int64_t freed_bytes,
	     int64_t runs, int64_t blobs)
{
	if (!h)
		return;
	atomic_store(&h->data_bytes, data_bytes);
	atomic_fetch_add(&h->gc_freed, freed_bytes);
	atomic_fetch_add(&h->gc_runs, runs);
	atomic_fetch_add(&h->gc_blobs, blobs);
	atomic_store(&h->gc_at, store_now_ms() / 1000);
}

void
http_note_sync(struct http_server *h, const char *repo, int64_t duration_ms,
	       int ok)
{
	size_t i;

	if (!h)
		return;
	pthread_mutex_lock(&h->mlock);
	for (i = 0; i < h->cf->nrepos; i++) {
		if (strcmp(h->cf->repos[i].name, repo))
			continue;
		h->syncs[i].count++;
		h->syncs[i].failures += !ok;
		h->syncs[i].sum_ms += duration_ms;
		h->syncs[i].last_ms = duration_ms;
	}
	pthread_mutex_unlock(&h->mlock);
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

/* The role a route needs of the request: the one rule, in auth.c. */
static enum role
route_need(const struct req *r)
{
	return auth_need(r->route, r->cf);
}

/* Find the route of method and path: 0, or -1 with a 404 or 405 reply. */
static int
route_find(struct req *r)
{
	static const struct route *const tables[] = { hook_routes, api_routes,
						      ui_routes };
	const struct route *rt;
	int path_matched = 0;
	size_t t;

	for (t = 0; t < ARRAY_SIZE(tables); t++)
		for (rt = tables[t]; rt->pattern; rt++) {
			if (!route_match(r, rt->pattern, r->url))
				continue;
			path_matched = 1;
			if (!strcmp(rt->method, r->method)) {
				r->route = rt;
				return 0;
			}
			while (r->nparams)
				free(r->params[--r->nparams]);
		}
	if (path_matched)
		reply_error(r, 405, "%s is not allowed on '%s'", r->method,
			    r->url);
	else
		reply_error(r, 404, "no such path '%s'", r->url);
	return -1;
}

/* The role check of the found route: 0, or -1 with a 401/403 reply (or,
 * for an anonymous browser, a 303 to the sign-in page). */
static int
admit(struct req *r)
{
	enum role need = route_need(r);

	if (auth_request(r, r->route) < 0)
		return -1;
	if (r->role >= need)
		return 0;
	auth_refuse(r, r->route, need);
	return -1;
}

struct http_fields {
	struct http_field *v;
	size_t n, alloc;
};

static enum MHD_Result
collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
	      size_t key_size, const char *value, size_t value_size)
{
	struct http_fields *f = cls;

	(void)kind;
	(void)value_size;
	f->v = xgrow(f->v, sizeof(*f->v), f->n + 1, &f->alloc);
	f->v[f->n].name = key;
	f->v[f->n].name_len = key_size;
	f->v[f->n].value = value ? value : "";
	f->n++;
	return MHD_YES;
}

/* The framing rules (http-screen.c): 0, or -1 with a 400 reply. */
static int
screen(struct req *r)
{
	struct http_fields f = { NULL, 0, 0 };
	struct buf why = BUF_INIT;
	int code;

	if (r->bad_target) {
		reply_error(r, 400, "%s", r->target_err.ptr);
		return -1;
	}
	MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, collect_field,
				    &f);
	code = http_screen_head(f.v, f.n, &why);
	if (code)
		reply_error(r, code, "%s", why.ptr);
	free(f.v);
	buf_release(&why);
	return code ? -1 : 0;
}

/* Reserve n more bytes of the memory all bodies share: 0, or -1. */
static int
reserve(struct req *r, long long n)
{
	long long was = atomic_fetch_add(&r->srv->buffered, n);

	if (was + n > HTTP_MAX_BUFFERED) {
		atomic_fetch_sub(&r->srv->buffered, n);
		return -1;
	}
	r->reserved += n;
	return 0;
}

static void
body_too_big(struct req *r)
{
	if (r->max_body == HTTP_STREAM_BODY)
		reply_error(r, 413, "the request body is larger than %lld "
				    "bytes (limits.store_file)",
			    (long long)r->cf->store_file_max);
	else
		reply_error(r, 413, "the request body is larger than %zu "
				    "bytes (the limit of %s '%s')",
			    r->max_body, r->method, r->url);
}

static void
too_much_buffered(struct req *r)
{
	reply_error(r, 503, "the server holds %lld MiB of request bodies "
			    "already: try again later",
		    HTTP_MAX_BUFFERED >> 20);
}

/* A streamed body's file in the data dir, removed when the request ends. */
static int
upload_open(struct req *r)
{
	buf_addf(&r->upload_path, "%s/.upload-XXXXXX", r->cf->data_dir);
	r->upload_fd = mkostemp(r->upload_path.ptr, O_CLOEXEC);
	if (r->upload_fd < 0) {
		log_warn("http: cannot create '%s'", r->upload_path.ptr);
		reply_error(r, 500, "cannot create a file for the upload in "
				    "the data dir: %s",
			    strerror(errno));
		buf_reset(&r->upload_path);
		return -1;
	}
	r->upload_hash = sha256_new();
	return 0;
}

static void
upload_drop(struct req *r)
{
	char discard[SHA256_HEX_LEN + 1];

	if (r->upload_hash)
		sha256_final_hex(r->upload_hash, discard);
	r->upload_hash = NULL;
	if (r->upload_fd >= 0)
		close(r->upload_fd);
	r->upload_fd = -1;
	if (r->upload_path.len)
		unlink(r->upload_path.ptr);
	buf_release(&r->upload_path);
}

/*
 * The request head is complete: screen it, route it, authenticate it, let
 * the route check it (a webhook's proof), and set the body's limit, all
 * before any byte of the body is read.  0, or -1 with the reply set.
 */
static int
on_head(struct req *r)
{
	const char *cl;
	unsigned long long len = 0;

	if (screen(r) < 0 || route_find(r) < 0 || admit(r) < 0)
		return -1;
	if (r->route->head) {
		r->route->head(r);
		if (r->done)
			return -1;
	}
	r->max_body = r->route->max_body ? r->route->max_body : HTTP_MAX_JSON;
	cl = req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl)
		len = strtoull(cl, NULL, 10);
	if (r->max_body == HTTP_STREAM_BODY) {
		if (len > (unsigned long long)r->cf->store_file_max) {
			body_too_big(r);
			return -1;
		}
		return upload_open(r);
	}
	if (len > r->max_body) {
		body_too_big(r);
		return -1;
	}
	if (len) {
		/* the whole body, at once: the memory it takes is known */
		if (reserve(r, (long long)len + 1) < 0) {
			too_much_buffered(r);
			return -1;
		}
		r->body.ptr = xmalloc(len + 1);
		r->body.ptr[0] = '\0';
		r->body.alloc = len + 1;
	}
	return 0;
}

/*
 * Answer in the middle of a body and close: libmicrohttpd 0.9.75 refuses
 * MHD_queue_response while it reads one, so the reply is written to the
 * socket here and the connection dropped (MHD_NO).
 */
static enum MHD_Result
answer_and_close(struct req *r)
{
	const union MHD_ConnectionInfo *ci;
	struct buf msg = BUF_INIT;
	size_t off = 0;
	ssize_t n;
	int fd;

	upload_drop(r);
	ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		goto out;
	fd = ci->connect_fd;
	buf_addf(&msg, "HTTP/1.1 %d %s\r\nConnection: close\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\n"
		       "X-Content-Type-Options: nosniff\r\n"
		       "Cache-Control: no-store\r\n\r\n",
		 r->code, MHD_get_reason_phrase_for((unsigned)r->code),
		 r->out.len);
	buf_add(&msg, r->out.ptr, r->out.len);
	while (off < msg.len) {
		n = send(fd, msg.ptr + off, msg.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a full socket buffer: the peer reads nothing */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	log_debug("http: %s %s %d, closed", r->method, r->url, r->code);
out:
	buf_release(&msg);
	return MHD_NO;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Take a piece of the body: 0, or -1 with the reply set. */
static int
on_body(struct req *r, const char *data, size_t n)
{
	size_t cap;

	r->received += n;
	guard_body(r->conn, n);
	if (r->upload_fd >= 0) {
		if (r->received > (uint64_t)r->cf->store_file_max) {
			body_too_big(r);
			return -1;
		}
		sha256_update(r->upload_hash, data, n);
		if (write_all(r->upload_fd, data, n) < 0) {
			log_warn("http: cannot write '%s'", r->upload_path.ptr);
			reply_error(r, 500, "cannot write the upload to the "
					    "data dir: %s",
				    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (r->body.len + n > r->max_body) {
		body_too_big(r);
		return -1;
	}
	if (r->body.len + n + 1 > r->body.alloc) {
		/* a body of unknown length (chunked): grow, counted */
		cap = r->body.alloc ? r->body.alloc * 2 : 16384;
		if (cap < r->body.len + n + 1)
			cap = r->body.len + n + 1;
		if (cap > r->max_body + 1)
			cap = r->max_body + 1;
		if (reserve(r, (long long)(cap - r->body.alloc)) < 0) {
			too_much_buffered(r);
			return -1;
		}
		r->body.ptr = xrealloc(r->body.alloc ? r->body.ptr : NULL,
				       cap);
		if (!r->body.alloc)
			r->body.ptr[0] = '\0';
		r->body.alloc = cap;
	}
	buf_add(&r->body, data, n);
	return 0;
}

int
req_upload_store(struct req *r, char out[SHA256_HEX_LEN + 1], int64_t *size)
{
	struct store *st = req_store(r);

	if (!st)
		return -1;
	if (!r->upload_hash)
		BUG("req_upload_store: not a streamed route");
	sha256_final_hex(r->upload_hash, out);
	r->upload_hash = NULL;
	*size = (int64_t)r->received;
	if (store_blob_adopt(st, r->upload_path.ptr, r->upload_fd, out) < 0)
		return -1;
	buf_reset(&r->upload_path); /* renamed: nothing to remove */
	return 0;
}

/* The request line came: the request starts here, with its raw target. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct req *r = xcalloc(1, sizeof(*r));

	r->srv = cls;
	pthread_mutex_lock(&r->srv->mlock);
	r->cf = r->srv->cf;
	r->secrets = r->srv->secrets;
	pthread_mutex_unlock(&r->srv->mlock);
	r->conn = conn;
	r->upload_fd = -1;
	buf_init(&r->body);
	buf_init(&r->out);
	buf_init(&r->target_err);
	buf_init(&r->upload_path);
	r->bad_target = http_screen_target(uri, &r->target_err) != 0;
	guard_set(conn, GUARD_HEAD);
	return r;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
	   const char *method, const char *version, const char *upload,
	   size_t *upload_size, void **con_cls)
{
	struct req *r = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!r)
		return MHD_NO; /* on_uri makes every request */
	if (!r->head_done) {
		r->head_done = 1;
		r->method = method;
		r->url = url;
		if (on_head(r) < 0)
			goto respond;
		guard_set(conn, GUARD_BODY);
		return MHD_YES;
	}
	if (*upload_size) {
		if (!r->done && on_body(r, upload, *upload_size) < 0)
			return answer_and_close(r);
		*upload_size = 0;
		return MHD_YES;
	}
	guard_set(conn, GUARD_BUSY);
	r->route->fn(r);
	if (!r->done)
		reply_error(r, 500, "no answer");
respond:
	guard_set(conn, GUARD_BUSY);
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
	(void)why;
	if (!r)
		return;
	for (i = 0; i < r->nparams; i++)
		free(r->params[i]);
	if (r->resp)
		MHD_destroy_response(r->resp);
	upload_drop(r);
	if (r->reserved)
		atomic_fetch_sub(&r->srv->buffered, r->reserved);
	buf_release(&r->target_err);
	buf_release(&r->body);
	buf_release(&r->out);
	free(r);
	*con_cls = NULL;
	guard_set(conn, GUARD_IDLE);
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

static void
secrets_free(struct buf *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		/* a secret: not left in freed memory */
		if (v[i].len)
			explicit_bzero(v[i].ptr, v[i].len);
		buf_release(&v[i]);
	}
	free(v);
}

/* The webhook secret of each repo of cf ([nrepos], empty: none). */
static int
read_secrets(struct buf **out, const struct config *cf)
{
	struct buf *v = xcalloc(cf->nrepos + 1, sizeof(*v));
	size_t i;

	*out = NULL;
	for (i = 0; i < cf->nrepos; i++)
		buf_init(&v[i]);
	for (i = 0; i < cf->nrepos; i++) {
		if (!cf->repos[i].webhook_secret_file)
			continue;
		if (buf_read_file(&v[i], cf->repos[i].webhook_secret_file,
				  4096) < 0)
			goto fail;
		/* a trailing newline from `echo > file` is not the secret */
		while (v[i].len && (v[i].ptr[v[i].len - 1] == '\n' ||
				    v[i].ptr[v[i].len - 1] == '\r'))
			v[i].ptr[--v[i].len] = '\0';
		if (!v[i].len) {
			err_set("repo '%s': webhook_secret_file '%s' is empty",
				cf->repos[i].name,
				cf->repos[i].webhook_secret_file);
			goto fail;
		}
	}
	*out = v;
	return 0;
fail:
	secrets_free(v, cf->nrepos);
	return -1;
}

int
http_reload(struct http_server *h, const struct config *cf)
{
	struct buf *secrets = NULL;
	struct sync_stat *syncs;
	struct http_gen *g;
	size_t i, j;

	if (read_secrets(&secrets, cf) < 0)
		return -1;
	syncs = xcalloc(cf->nrepos + 1, sizeof(*syncs));
	pthread_mutex_lock(&h->mlock);
	/* a repo's counters go on under its name */
	for (i = 0; i < cf->nrepos; i++)
		for (j = 0; j < h->cf->nrepos; j++)
			if (!strcmp(cf->repos[i].name, h->cf->repos[j].name))
				syncs[i] = h->syncs[j];
	GROW(h->old, h->nold + 1, h->aold);
	g = &h->old[h->nold++];
	g->cf = h->cf;
	g->secrets = h->secrets;
	g->syncs = h->syncs;
	h->cf = cf;
	h->secrets = secrets;
	h->syncs = syncs;
	pthread_mutex_unlock(&h->mlock);
	return 0;
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

	*out = NULL;
	pthread_once(&tl_once, tl_init);
	tl_data_dir = cf->data_dir;
	if (!tl_data_real)
		tl_data_real = realpath(cf->data_dir, NULL);
	h->cf = cf;
	h->hooks = hooks;
	pthread_mutex_init(&h->mlock, NULL);
	plan_gate_init(h);
	h->login_limit = login_limit_new();
	h->syncs = xcalloc(cf->nrepos + 1, sizeof(*h->syncs));
	if (read_secrets(&h->secrets, cf) < 0)
		goto fail;
	if (parse_listen(cf->listen, &sa, &salen) < 0)
		goto fail;
	flags = MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->guard = guard_new(cf->http_head_timeout_ms, cf->http_head_timeout_ms,
			     cf->http_body_rate);
	/* No per-address limit of libmicrohttpd's: the guard's (http-guard.c)
	 * makes room by evicting half-sent and idle connections instead. */
	h->mhd = MHD_start_daemon(
		flags, 0, guard_accept, h->guard, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, guard_notify,
		h->guard, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
		MHD_OPTION_CONNECTION_LIMIT, 512u,
		MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
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
	guard_free(h->guard);
	login_limit_free(h->login_limit);
	secrets_free(h->secrets, h->cf->nrepos);
	free(h->syncs);
	for (i = 0; i < h->nold; i++) {
		secrets_free(h->old[i].secrets, h->old[i].cf->nrepos);
		free(h->old[i].syncs);
	}
	free(h->old);
	pthread_mutex_destroy(&h->mlock);
	plan_gate_release(h);
	free(h);
}
