/*
 * client.c - the CLI as a client of scaffold serve's JSON API (libcurl).
 *
 * The server is --server URL (or SCAFFOLD_SERVER); the token comes from
 * SCAFFOLD_TOKEN, else from ~/.scaffold/creds, a file of lines
 *
 *	# comment
 *	http://scaffold.example:8080 scf_0123...
 *
 * (the URL as given to --server, a trailing '/' ignored), which must not
 * be readable by group or others.  No token: requests go without one, and
 * the server says what it needs.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

struct client {
	const struct cmd_entry *self;
	CURL *curl;
	char *base;  /* the server URL without a trailing '/' */
	char *token; /* NULL: none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
client_err(const struct client *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void
client_err(const struct client *c, const char *fmt, ...)
{
	struct buf m = BUF_INIT, e = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	/* a server's message may quote repository text: one safe line */
	escape_log_line(&e, m.ptr, m.len);
	fprintf(stderr, "scaffold %s: %s\n", c->self->name, e.ptr);
	buf_release(&m);
	buf_release(&e);
}

/* The token for base from ~/.scaffold/creds: 0 (*out NULL when none). */
static int
creds_token(struct client *c, char **out)
{
	const char *home = getenv("HOME");
	struct buf path = BUF_INIT, data = BUF_INIT;
	char *line, *save = NULL, *url, *tok, *rest;
	struct stat sb;
	size_t l;
	int ret = -1;

	*out = NULL;
	if (!home || !*home)
		return 0;
	buf_addf(&path, "%s/.scaffold/creds", home);
	if (stat(path.ptr, &sb) < 0) {
		ret = errno == ENOENT ? 0 : -1;
		if (ret < 0)
			client_err(c, "cannot read '%s': %s", path.ptr,
				    strerror(errno));
		goto out;
	}
	if (sb.st_mode & 077) {
		client_err(c, "'%s' may be read by group or others (mode "
			      "%03o): it holds tokens; run 'chmod 600 %s'",
			   path.ptr, (unsigned)(sb.st_mode & 0777), path.ptr);
		goto out;
	}
	if (buf_read_file(&data, path.ptr, 1 << 20) < 0) {
		client_err(c, "%s", err_msg());
		goto out;
	}
	for (line = strtok_r(data.ptr, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		url = line + strspn(line, " \t");
		if (*url == '#' || !*url)
			continue;
		l = strcspn(url, " \t");
		tok = url + l;
		if (!*tok)
			continue;
		*tok++ = '\0';
		tok += strspn(tok, " \t");
		rest = tok + strcspn(tok, " \t\r");
		*rest = '\0';
		l = strlen(url);
		while (l && url[l - 1] == '/')
			url[--l] = '\0';
		if (*tok && !strcmp(url, c->base)) {
			*out = xstrdup(tok);
			break;
		}
	}
	ret = 0;
out:
	if (data.len)
		memset(data.ptr, 0, data.len);
	buf_release(&data);
	buf_release(&path);
	return ret;
}

struct client *
client_new(const struct cmd_entry *self, const char *server)
{
	struct client *c = xcalloc(1, sizeof(*c));
	const char *env = getenv("SCAFFOLD_TOKEN");
	size_t l;

	pthread_once(&curl_once, curl_init_once);
	c->self = self;
	c->base = xstrdup(server);
	l = strlen(c->base);
	while (l && c->base[l - 1] == '/')
		c->base[--l] = '\0';
	if (strncmp(c->base, "http://", 7) && strncmp(c->base, "https://", 8)) {
		client_err(c, "--server '%s' is not an http:// or https:// URL",
			   server);
		goto fail;
	}
	if (env && *env)
		c->token = xstrdup(env);
	else if (creds_token(c, &c->token) < 0)
		goto fail;
	if (!(c->curl = curl_easy_init())) {
		client_err(c, "cannot start libcurl");
		goto fail;
	}
	return c;
fail:
	client_free(c);
	return NULL;
}

void
client_free(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	free(c->base);
	free(c);
}

void
client_path_add(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;

	for (; *s; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '.' || ch == '~' || (ch == '/' && keep_slash)) {
			buf_putc(b, (char)ch);
		} else {
			buf_putc(b, '%');
			buf_putc(b, hex[ch >> 4]);
			buf_putc(b, hex[ch & 15]);
		}
	}
}

/* The answer: status, body, and (when following) the event parser. */
struct answer {
	struct buf body;
	/* following server-sent events */
	FILE *follow;
	struct buf line;
	char event[32];
	struct buf end;
	int got_end;
};

/* One line of an event stream (without its newline). */
static void
sse_line(struct answer *a, const char *l, size_t len)
{
	const char *v;
	size_t vlen;

	if (!len) {
		a->event[0] = '\0';
		return;
	}
	if (l[0] == ':')
		return;
	v = memchr(l, ':', len);
	vlen = v ? len - (size_t)(v + 1 - l) : 0;
	if (v) {
		v++;
		if (vlen && *v == ' ') {
			v++;
			vlen--;
		}
	}
	if (len >= 5 && !memcmp(l, "event", 5) && (len == 5 || l[5] == ':')) {
		snprintf(a->event, sizeof(a->event), "%.*s",
			 (int)(vlen < 31 ? vlen : 31), v ? v : "");
	} else if (len >= 4 && !memcmp(l, "data", 4) &&
		   (len == 4 || l[4] == ':')) {
		if (!strcmp(a->event, "end")) {
			buf_add(&a->end, v ? v : "", vlen);
			a->got_end = 1;
		} else if (!strcmp(a->event, "partial")) {
			fwrite(v ? v : "", 1, vlen, a->follow);
			fflush(a->follow);
		} else {
			fwrite(v ? v : "", 1, vlen, a->follow);
			fputc('\n', a->follow);
			fflush(a->follow);
		}
	}
}

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, i, start = 0;

	if (!a->follow) {
		buf_add(&a->body, ptr, n);
		return n;
	}
	for (i = 0; i < n; i++) {
		if (ptr[i] != '\n')
			continue;
		buf_add(&a->line, ptr + start, i - start);
		sse_line(a, a->line.ptr, a->line.len);
		buf_reset(&a->line);
		start = i + 1;
	}
	buf_add(&a->line, ptr + start, n - start);
	/* keep the raw text too, for an error answer */
	if (a->body.len < 65536)
		buf_add(&a->body, ptr, n);
	return n;
}

/* The message of an error answer: its {"error"}, else a summary. */
static void
print_http_error(struct client *c, long code, const struct buf *body)
{
	json_t *j = json_loadb(body->ptr, body->len, 0, NULL);
	json_t *e = j ? json_object_get(j, "error") : NULL;

	if (json_is_string(e))
		client_err(c, "%s", json_string_value(e));
	else
		client_err(c, "the server at '%s' answered HTTP %ld", c->base,
			   code);
	json_decref(j);
}

/*
 * One request.  0 with the body in a->body (or followed), or -1 after
 * printing the error (ERR_NOTFOUND for a 404).
 */
static int
request(struct client *c, const char *method, const char *path,
	const void *body, size_t len, const char *ctype, struct answer *a)
{
	struct curl_slist *hdrs = NULL;
	struct buf url = BUF_INIT, h = BUF_INIT;
	long code = 0;
	CURLcode rc;
	int ret = -1;

	curl_easy_reset(c->curl);
	buf_addf(&url, "%s%s", c->base, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url.ptr);
	curl_easy_setopt(c->curl, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT,
			 "scaffold/" SCAFFOLD_VERSION);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	if (body || strcmp(method, "GET")) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS,
				 body ? body : "");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)len);
		buf_addf(&h, "Content-Type: %s",
			 ctype ? ctype : "application/octet-stream");
		hdrs = curl_slist_append(hdrs, h.ptr);
		buf_reset(&h);
	}
	if (c->token) {
		buf_addf(&h, "Authorization: Bearer %s", c->token);
		hdrs = curl_slist_append(hdrs, h.ptr);
		memset(h.ptr, 0, h.len);
		buf_reset(&h);
	}
	/* no "Expect: 100-continue" round trip for uploads */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK && code) {
		client_err(c, "the scaffold server at '%s' broke off its "
			      "answer: %s",
			   c->base, curl_easy_strerror(rc));
		goto out;
	}
	if (rc != CURLE_OK) {
		client_err(c, "cannot reach the scaffold server at '%s': %s",
			   c->base, curl_easy_strerror(rc));
		goto out;
	}
	if (code >= 400) {
		print_http_error(c, code, &a->body);
		ret = code == 404 ? ERR_NOTFOUND : -1;
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	buf_release(&url);
	buf_release(&h);
	return ret;
}

static void
answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->body);
	buf_init(&a->line);
	buf_init(&a->end);
}

static void
answer_release(struct answer *a)
{
	buf_release(&a->body);
	buf_release(&a->line);
	buf_release(&a->end);
}

int
client_json(struct client *c, const char *method, const char *path,
	    const void *body, size_t len, const char *ctype, json_t **out)
{
	struct answer a;
	json_error_t jerr;
	int ret;

	*out = NULL;
	answer_init(&a);
	ret = request(c, method, path, body, len, ctype, &a);
	if (ret == 0 &&
	    !(*out = json_loadb(a.body.ptr, a.body.len, 0, &jerr))) {
		client_err(c, "the server at '%s' answered with invalid JSON: "
			      "%s",
			   c->base, jerr.text);
		ret = -1;
	}
	answer_release(&a);
	return ret;
}

int
client_raw(struct client *c, const char *method, const char *path,
	   const void *body, size_t len, const char *ctype, struct buf *out)
{
	struct answer a;
	int ret;

	answer_init(&a);
	ret = request(c, method, path, body, len, ctype, &a);
	if (ret == 0)
		buf_add(out, a.body.ptr, a.body.len);
	answer_release(&a);
	return ret;
}

int
client_follow(struct client *c, const char *path, FILE *f, json_t **out_end)
{
	struct answer a;
	int ret;

	*out_end = NULL;
	answer_init(&a);
	a.follow = f;
	ret = request(c, "GET", path, NULL, 0, NULL, &a);
	if (ret == 0 && a.line.len)
		sse_line(&a, a.line.ptr, a.line.len);
	if (ret == 0 && !a.got_end) {
		client_err(c, "the server at '%s' ended the log before the run "
			      "ended",
			   c->base);
		ret = -1;
	}
	if (ret == 0 && !(*out_end = json_loadb(a.end.ptr, a.end.len, 0,
						NULL)))
		*out_end = json_object();
	answer_release(&a);
	return ret;
}

int
client_cascade(struct client *c, const char *spec, json_t **out,
	       struct buf *path)
{
	const char *slash = strchr(spec, '/');
	struct buf p = BUF_INIT;
	const char *name;
	json_t *repo;
	int ret;

	*out = NULL;
	buf_puts(&p, "/api/v1/cascades/");
	client_path_add(&p, spec, slash != NULL && !strchr(slash + 1, '/'));
	ret = client_json(c, "GET", p.ptr, NULL, 0, NULL, out);
	buf_release(&p);
	if (ret < 0)
		return ret;
	if (path) {
		buf_reset(path);
		buf_puts(path, "/api/v1/cascades/");
		repo = json_object_get(*out, "repo");
		client_path_add(path,
				json_is_string(repo) ? json_string_value(repo)
						     : "-",
				0);
		buf_putc(path, '/');
		name = json_string_value(json_object_get(*out, "name"));
		client_path_add(path, name ? name : "", 0);
	}
	return 0;
}
