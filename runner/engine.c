/*
 * engine.c - the Docker Engine API client of the docker and swarm runners
 * (see engine.h): requests over the engine's unix socket or a TCP URL with
 * TLS client certificates, and the long transfers (attach, logs, wait)
 * driven together in a curl multi handle.  The only file of runner/ that
 * includes curl.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "engine.h"

#define API_MAJOR 1 /* the newest API version scaffold knows */
#define API_MINOR 41
#define API_MIN_MINOR 25 /* the oldest it accepts (1.25: Docker 1.13) */
#define CONNECT_TIMEOUT_S 10
#define POLL_MAX_MS 1000
#define ERR_BODY_MAX 4096

/*
 * The API version agreed on with each engine (by where), once per process:
 * it cannot change while the engine answers on that address, and asking
 * costs a GET /version (two execs in the engine) on every run.
 */
static pthread_mutex_t ver_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strvec ver_where = STRVEC_INIT, ver_prefix = STRVEC_INIT;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int64_t
engine_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append s percent-encoded for a URL; bytes in keep pass as they are. */
void
engine_url_escape(struct buf *b, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (keep && strchr(keep, c))) {
			buf_putc(b, (char)c);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		}
	}
}

char *
engine_base64_encode(const void *data, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	struct buf b = BUF_INIT;
	uint32_t v;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_putc(&b, tab[v >> 18]);
		buf_putc(&b, tab[(v >> 12) & 63]);
		buf_putc(&b, tab[(v >> 6) & 63]);
		buf_putc(&b, tab[v & 63]);
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		buf_putc(&b, tab[v >> 18]);
		buf_putc(&b, tab[(v >> 12) & 63]);
		buf_putc(&b, i + 1 < len ? tab[(v >> 6) & 63] : '=');
		buf_putc(&b, '=');
	}
	return buf_detach(&b, NULL);
}

/* Decode base64 (path-stat headers, configs); -1 when malformed. */
int
engine_base64_decode(struct buf *out, const char *s, size_t len)
{
	uint32_t acc = 0;
	int bits = 0, v;
	size_t i;
	char c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || c == ' ' || c == '\r' || c == '\n')
			continue;
		else
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
	return 0;
}

void
engine_call_init(struct engine_call *c, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->path = path;
	buf_init(&c->resp);
	buf_init(&c->stat);
}

void
engine_call_release(struct engine_call *c)
{
	buf_release(&c->resp);
	buf_release(&c->stat);
}

static size_t
call_body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct engine_call *c = arg;
	curl_off_t max = c->max ? (curl_off_t)c->max : ENGINE_ANSWER_MAX;

	if ((curl_off_t)(c->resp.len + n) > max) {
		c->too_big = true;
		return 0;
	}
	buf_add(&c->resp, data, n);
	(void)size;
	return n;
}

static size_t
call_header_cb(char *data, size_t size, size_t n, void *arg)
{
	static const char name[] = "X-Docker-Container-Path-Stat:";
	struct engine_call *c = arg;
	size_t l = sizeof(name) - 1, len = n;

	(void)size;
	if (len > l && !strncasecmp(data, name, l)) {
		data += l;
		len -= l;
		while (len && (*data == ' ' || *data == '\t')) {
			data++;
			len--;
		}
		while (len && (data[len - 1] == '\r' || data[len - 1] == '\n' ||
			       data[len - 1] == ' '))
			len--;
		buf_reset(&c->stat);
		buf_add(&c->stat, data, len);
	}
	return n;
}

/* Why a transfer failed, for people. */
static void
transfer_reason(CURL *e, CURLcode rc, const char *errbuf, char *out,
		size_t len)
{
	long os = 0;

	curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os);
	if (rc == CURLE_COULDNT_CONNECT && os)
		snprintf(out, len, "%s", strerror((int)os));
	else if (rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
		 rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR)
		snprintf(out, len, "the connection was closed");
	else
		snprintf(out, len, "%s",
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

/* A curl handle for method on the engine's URL path (already prefixed). */
static CURL *
easy_new(const struct engine *eng, const char *method, const char *url_path,
	 char *errbuf)
{
	struct buf url = BUF_INIT;
	CURL *e;

	e = curl_easy_init();
	if (!e)
		return NULL;
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	if (eng->url) {
		buf_addf(&url, "%s%s", eng->url, url_path);
		if (eng->ca)
			curl_easy_setopt(e, CURLOPT_CAINFO, eng->ca);
		if (eng->cert)
			curl_easy_setopt(e, CURLOPT_SSLCERT, eng->cert);
		if (eng->key)
			curl_easy_setopt(e, CURLOPT_SSLKEY, eng->key);
	} else {
		buf_addf(&url, "http://localhost%s", url_path);
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, eng->socket);
	}
	curl_easy_setopt(e, CURLOPT_URL, url.ptr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scaffold/" SCAFFOLD_VERSION);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (!strcmp(method, "POST"))
		curl_easy_setopt(e, CURLOPT_POST, 1L);
	else if (strcmp(method, "GET"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	buf_release(&url);
	return e;
}

/*
 * Send c to the engine and take its answer (whatever its status).  -1 with
 * err_set() ("cannot reach the Docker engine at ...") and c->reason set
 * when there is no answer.
 */
int
engine_call_do(const struct engine *eng, struct engine_call *c)
{
	struct curl_slist *hdrs = NULL;
	struct buf path = BUF_INIT, ct = BUF_INIT;
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc;
	CURL *e = NULL;
	int ret = -1;

	if (!c->unversioned)
		buf_puts(&path, eng->prefix);
	buf_puts(&path, c->path);
	e = easy_new(eng, c->method, path.ptr, errbuf);
	if (!e) {
		snprintf(c->reason, sizeof(c->reason), "out of resources");
		err_set("cannot reach the Docker engine at '%s': %s",
			eng->where, c->reason);
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (c->body || !strcmp(c->method, "POST") ||
	    !strcmp(c->method, "PUT")) {
		buf_addf(&ct, "Content-Type: %s",
			 c->ctype ? c->ctype : "application/json");
		hdrs = curl_slist_append(hdrs, ct.ptr);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 c->body ? c->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)c->body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, call_body_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, call_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
			 c->idle_s ? c->idle_s : (long)ENGINE_IDLE_TIMEOUT_S);

	rc = curl_easy_perform(e);
	if (rc == CURLE_WRITE_ERROR && c->too_big) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
		ret = 0;
		goto out;
	}
	if (rc != CURLE_OK) {
		transfer_reason(e, rc, errbuf, c->reason, sizeof(c->reason));
		err_set("cannot reach the Docker engine at '%s': %s",
			eng->where, c->reason);
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
	ret = 0;
out:
	if (e)
		curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	buf_release(&path);
	buf_release(&ct);
	return ret;
}

/* The message of an error answer: its JSON "message", else its body. */
void
engine_answer_text(long status, const char *body, size_t blen, struct buf *out)
{
	json_t *j, *m;
	const char *s = NULL;
	size_t len = 0;

	buf_reset(out);
	j = json_loadb(body, blen, 0, NULL);
	m = json_object_get(j, "message");
	if (json_is_string(m)) {
		s = json_string_value(m);
		len = json_string_length(m);
	} else {
		s = body;
		len = blen;
		while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
			       s[len - 1] == ' '))
			len--;
	}
	if (len)
		escape_log(out, s, len);
	else
		buf_addf(out, "HTTP status %ld", status);
	json_decref(j);
}

void
engine_answer_message(const struct engine_call *c, struct buf *out)
{
	engine_answer_text(c->status, c->resp.ptr, c->resp.len, out);
}

/*
 * err_set() for an engine's error answer: "what: message", or the engine's
 * message as it is when the engine is out of disk space.
 */
int
engine_answer_error(const struct engine_call *c, const char *what)
{
	struct buf m = BUF_INIT;

	engine_answer_message(c, &m);
	if (strstr(m.ptr, "no space left on device"))
		err_set("the Docker engine is out of disk space: %s", m.ptr);
	else
		err_set("%s: %s", what, m.ptr);
	buf_release(&m);
	return -1;
}

/* The answer's body as JSON (new reference), or NULL with err_set(). */
json_t *
engine_answer_json(const struct engine_call *c, const char *what)
{
	json_error_t je;
	json_t *j;

	j = json_loadb(c->resp.ptr, c->resp.len, 0, &je);
	if (!j)
		err_set("%s: the Docker engine's answer is not JSON: %s", what,
			je.text);
	return j;
}

/* "1.41" → 1, 41; -1 when not a version. */
static int
parse_version(const char *s, int *major, int *minor)
{
	char *end;
	long a, b;

	errno = 0;
	a = strtol(s, &end, 10);
	if (end == s || *end != '.' || errno)
		return -1;
	s = end + 1;
	b = strtol(s, &end, 10);
	if (end == s || *end || errno || a < 0 || b < 0 || a > 99 || b > 999)
		return -1;
	*major = (int)a;
	*minor = (int)b;
	return 0;
}

/*
 * Connect to the configured engine and agree on an API version: the
 * engine's own, or the newest scaffold knows when the engine's is newer.
 */
int
engine_open(struct engine *eng, const struct engine_addr *addr)
{
	struct engine_call c;
	json_t *j = NULL, *v;
	int major, minor, ret = -1;
	size_t i;

	pthread_once(&curl_once, curl_init);
	memset(eng, 0, sizeof(*eng));
	if (addr && addr->url && *addr->url) {
		eng->url = xstrdup(addr->url);
		while (*eng->url && eng->url[strlen(eng->url) - 1] == '/')
			eng->url[strlen(eng->url) - 1] = '\0';
		eng->where = xstrdup(addr->url);
		eng->ca = addr->ca ? xstrdup(addr->ca) : NULL;
		eng->cert = addr->cert ? xstrdup(addr->cert) : NULL;
		eng->key = addr->key ? xstrdup(addr->key) : NULL;
	} else {
		eng->socket = xstrdup(addr && addr->socket && *addr->socket ?
					      addr->socket :
					      ENGINE_DEFAULT_SOCKET);
		eng->where = xstrdup(eng->socket);
	}
	engine_call_init(&c, "GET", "/version");
	c.unversioned = true;
	pthread_mutex_lock(&ver_lock);
	for (i = 0; i < ver_where.n; i++)
		if (!strcmp(ver_where.v[i], eng->where))
			snprintf(eng->prefix, sizeof(eng->prefix), "%s",
				 ver_prefix.v[i]);
	pthread_mutex_unlock(&ver_lock);
	if (eng->prefix[0]) {
		ret = 0;
		goto out;
	}
	if (curl_init_rc != CURLE_OK) {
		err_set("cannot reach the Docker engine at '%s': libcurl: %s",
			eng->where, curl_easy_strerror(curl_init_rc));
		goto out;
	}
	if (engine_call_do(eng, &c) < 0)
		goto out;
	if (c.status != 200) {
		engine_answer_error(&c, "the Docker engine's version");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "the Docker engine's version")))
		goto out;
	v = json_object_get(j, "ApiVersion");
	if (!json_is_string(v) ||
	    parse_version(json_string_value(v), &major, &minor) < 0) {
		err_set("the Docker engine at '%s' did not say which API "
			"version it speaks",
			eng->where);
		goto out;
	}
	if (major > API_MAJOR || (major == API_MAJOR && minor > API_MINOR)) {
		major = API_MAJOR;
		minor = API_MINOR;
	}
	if (major < API_MAJOR || minor < API_MIN_MINOR) {
		err_set("the Docker engine at '%s' speaks API %d.%d; scaffold "
			"needs %d.%d or later",
			eng->where, major, minor, API_MAJOR, API_MIN_MINOR);
		goto out;
	}
	snprintf(eng->prefix, sizeof(eng->prefix), "/v%d.%d", major, minor);
	pthread_mutex_lock(&ver_lock);
	for (i = 0; i < ver_where.n; i++)
		if (!strcmp(ver_where.v[i], eng->where))
			break;
	if (i == ver_where.n) {
		strvec_push(&ver_where, eng->where);
		strvec_push(&ver_prefix, eng->prefix);
	}
	pthread_mutex_unlock(&ver_lock);
	ret = 0;
out:
	json_decref(j);
	engine_call_release(&c);
	return ret;
}

void
engine_release(struct engine *eng)
{
	free(eng->where);
	free(eng->socket);
	free(eng->url);
	free(eng->ca);
	free(eng->cert);
	free(eng->key);
	memset(eng, 0, sizeof(*eng));
}

int64_t
engine_time_ms(const char *s)
{
	struct tm tm;
	int y, mo, d, hh, mm, ss, n = 0;
	int64_t ms = 0, scale = 100;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &hh, &mm, &ss,
		   &n) != 6)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++) {
			ms += (*s - '0') * scale;
			scale /= 10;
		}
	if (*s != 'Z')
		return -1; /* the engine speaks UTC */
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	t = timegm(&tm);
	if (t == (time_t)-1 || y < 1971)
		return -1;
	return (int64_t)t * 1000 + ms;
}


/* ---- the multiplexed stream -------------------------------------------- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		  engine_data_fn fn, void *arg)
{
	size_t take;

	while (len) {
		if (!d->left) {
			take = sizeof(d->hdr) - d->hdr_len;
			if (take > len)
				take = len;
			memcpy(d->hdr + d->hdr_len, data, take);
			d->hdr_len += take;
			data += take;
			len -= take;
			if (d->hdr_len < sizeof(d->hdr))
				break;
			d->hdr_len = 0;
			d->stream = d->hdr[0];
			d->left = be32(d->hdr + 4);
			continue;
		}
		take = d->left < len ? d->left : len;
		fn(arg, d->stream, data, take);
		d->left -= (uint32_t)take;
		data += take;
		len -= take;
	}
}

/* ---- long transfers ---------------------------------------------------- */

struct engine_set {
	CURLM *multi;
};

struct engine_xfer {
	CURL *e;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	engine_body_fn fn;
	void *arg;
	bool headers; /* the answer's headers are in */
	bool done;
	CURLcode rc;
	long status;
	struct buf body; /* kept: an error answer, or all when fn is NULL */
	char *where;	 /* the engine, for messages */
	int64_t last_ms;
};

struct engine_set *
engine_set_new(void)
{
	struct engine_set *s;

	pthread_once(&curl_once, curl_init);
	s = xcalloc(1, sizeof(*s));
	s->multi = curl_multi_init();
	if (!s->multi) {
		free(s);
		return NULL;
	}
	return s;
}

void
engine_set_free(struct engine_set *s)
{
	if (!s)
		return;
	curl_multi_cleanup(s->multi);
	free(s);
}

static size_t
xfer_body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct engine_xfer *x = arg;

	(void)size;
	x->last_ms = engine_now_ms();
	if (x->status < 200 || x->status > 299) {
		if (x->body.len < ERR_BODY_MAX)
			buf_add(&x->body, data, n);
		return n;
	}
	if (x->fn) {
		x->fn(x->arg, data, n);
		return n;
	}
	if (x->body.len + n > ENGINE_ANSWER_MAX)
		return 0;
	buf_add(&x->body, data, n);
	return n;
}

/* The end of the answer's headers (an interim 100 is not the answer). */
static size_t
xfer_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct engine_xfer *x = arg;

	(void)size;
	if ((n == 2 && data[0] == '\r' && data[1] == '\n') ||
	    (n == 1 && data[0] == '\n')) {
		curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &x->status);
		if (x->status >= 200)
			x->headers = true;
	}
	return n;
}

struct engine_xfer *
engine_xfer_start(struct engine_set *s, const struct engine *eng,
		  const char *method, const char *path, engine_body_fn fn,
		  void *arg)
{
	struct engine_xfer *x = xcalloc(1, sizeof(*x));
	struct buf url = BUF_INIT;

	buf_init(&x->body);
	x->where = xstrdup(eng->where);
	x->fn = fn;
	x->arg = arg;
	buf_addf(&url, "%s%s", eng->prefix, path);
	x->e = easy_new(eng, method, url.ptr, x->errbuf);
	buf_release(&url);
	if (!x->e) {
		free(x->where);
		free(x);
		err_set("cannot set up libcurl");
		return NULL;
	}
	x->hdrs = curl_slist_append(x->hdrs, "Expect:");
	curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(x->e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, xfer_body_cb);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_HEADERFUNCTION, xfer_header_cb);
	curl_easy_setopt(x->e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
	curl_multi_add_handle(s->multi, x->e);
	return x;
}

void
engine_xfer_free(struct engine_set *s, struct engine_xfer *x)
{
	if (!x)
		return;
	if (s)
		curl_multi_remove_handle(s->multi, x->e);
	curl_easy_cleanup(x->e);
	curl_slist_free_all(x->hdrs);
	buf_release(&x->body);
	free(x->where);
	free(x);
}

void
engine_set_run(struct engine_set *s)
{
	struct engine_xfer *x;
	CURLMsg *msg;
	int running, q;

	curl_multi_perform(s->multi, &running);
	while ((msg = curl_multi_info_read(s->multi, &q))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &x);
		if (!x)
			continue;
		x->done = true;
		x->rc = msg->data.result;
		if (!x->status)
			curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE,
					  &x->status);
	}
}

void
engine_set_poll(struct engine_set *s, int fd, int timeout_ms, bool *fd_ready)
{
	struct curl_waitfd w;

	w.fd = fd;
	w.events = CURL_WAIT_POLLIN;
	w.revents = 0;
	curl_multi_poll(s->multi, fd >= 0 ? &w : NULL, fd >= 0 ? 1 : 0,
			timeout_ms, NULL);
	if (fd_ready)
		*fd_ready = fd >= 0 && w.revents;
}

int
engine_xfer_answered(struct engine_set *s, struct engine_xfer *x,
		     const char *what, int64_t timeout_ms)
{
	int64_t until = engine_now_ms() + timeout_ms;
	char reason[CURL_ERROR_SIZE + 64];
	struct buf m = BUF_INIT;
	int ret = -1;

	for (;;) {
		engine_set_run(s);
		if (x->headers || x->done)
			break;
		if (engine_now_ms() >= until)
			return err_set("%s: the Docker engine did not answer",
				       what);
		engine_set_poll(s, -1, POLL_MAX_MS, NULL);
	}
	/* an error answer is short: take all of it */
	while (x->headers && (x->status < 200 || x->status > 299) &&
	       !x->done) {
		engine_set_poll(s, -1, POLL_MAX_MS, NULL);
		engine_set_run(s);
	}
	if (x->headers && x->status >= 200 && x->status <= 299)
		return 0;
	if (!x->headers) {
		transfer_reason(x->e, x->rc, x->errbuf, reason, sizeof(reason));
		return err_set("cannot reach the Docker engine at '%s': %s",
			       x->where, reason);
	}
	engine_answer_text(x->status, x->body.ptr, x->body.len, &m);
	if (strstr(m.ptr, "no space left on device"))
		err_set("the Docker engine is out of disk space: %s", m.ptr);
	else
		err_set("%s: %s", what, m.ptr);
	buf_release(&m);
	return ret;
}

bool
engine_xfer_done(const struct engine_xfer *x)
{
	return x->done;
}

bool
engine_xfer_broke(const struct engine_xfer *x, char *out, size_t len)
{
	if (!x->done || x->rc == CURLE_OK)
		return false;
	transfer_reason(x->e, x->rc, x->errbuf, out, len);
	return true;
}

long
engine_xfer_status(const struct engine_xfer *x)
{
	return x->status;
}

const struct buf *
engine_xfer_body(const struct engine_xfer *x)
{
	return &x->body;
}

int64_t
engine_xfer_last_ms(const struct engine_xfer *x)
{
	return x->last_ms;
}

int
engine_container_remove(const struct engine *eng, const char *id)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	int ret = -1;

	buf_addf(&path, "/containers/%s?force=1&v=1", id);
	engine_call_init(&c, "DELETE", path.ptr);
	if (engine_call_do(eng, &c) < 0)
		goto out;
	if (c.status != 204 && c.status != 200 && c.status != 404) {
		engine_answer_error(&c, "cannot remove the container");
		goto out;
	}
	ret = 0;
out:
	engine_call_release(&c);
	buf_release(&path);
	return ret;
}

int
engine_list_of_run(const struct engine *eng, const char *what,
		   int64_t run_id, const char *instance,
		   struct engine_call *c)
{
	struct buf path = BUF_INIT, f = BUF_INIT;
	int ret;

	buf_addf(&f, "{\"label\":[\"scaffold.run=%lld\"", (long long)run_id);
	if (instance && *instance)
		buf_addf(&f, ",\"scaffold.instance=%s\"", instance);
	buf_puts(&f, "]}");
	buf_addf(&path, "%s%cfilters=", what, strchr(what, '?') ? '&' : '?');
	engine_url_escape(&path, f.ptr, NULL);
	engine_call_init(c, "GET", path.ptr);
	ret = engine_call_do(eng, c);
	buf_release(&path);
	buf_release(&f);
	return ret;
}
