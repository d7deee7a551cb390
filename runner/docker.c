/*
 * docker.c - the "docker" runner: the task's script in a container on the
 * local Docker engine, driven through the Engine API over the engine's unix
 * socket (libcurl), with files moved in and out as tar archives built and
 * read in memory (libarchive).  The only file that includes curl.h and
 * archive.h.
 *
 * Inside the container:
 *
 *	/tmp/run		the run dir: WorkingDir, $SCAFFOLD_RUN_DIR,
 *				loaded and stored files
 *	/tmp/.scaffold/script	the task's script, byte for byte
 *	/tmp/.scaffold/wrapper.sh
 *				exports the env values the API cannot carry,
 *				sources the script, then records the exit
 *				status (exit) and the store env (env/NAME)
 *
 * The container runs "/bin/sh -e /tmp/.scaffold/wrapper.sh" as its
 * entrypoint (so an image's own ENTRYPOINT and CMD do not get in the way),
 * with NetworkMode "none", labelled scaffold.run, scaffold.cascade and
 * scaffold.task.  The directories are world-writable so that an image
 * whose USER is not root can use them.
 *
 * A run: GET /version picks the API version, the image is pulled when
 * absent, the container is created, the files are put in with
 * PUT /archive, the output is attached (POST /attach: the engine attaches
 * before it answers, so nothing is missed, and the bytes come as the
 * script wrote them, unlike the json-file log's), then /start.  wait()
 * drives the attach stream (demultiplexed, through the secret masker into
 * the log) and POST /wait together in one curl multi handle, and polls an
 * eventfd for kill requests beside them; timeouts and kills send POST /kill
 * (SIGKILL: the shell is PID 1 and would ignore SIGTERM).  On success the
 * stored files and env come back with GET /archive.  free() removes the
 * container, unless keep_failed is set and the run failed.  adopt() finds
 * a container by its scaffold.run label and attaches to it from now on.
 *
 * When the connection to the engine breaks during a run, the run ends
 * RUN_LOST: the engine may still run the container, but scaffold cannot
 * know how it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>

#include "runner-int.h"

#define DEFAULT_SOCKET "/var/run/docker.sock"
#define API_MAJOR 1 /* the newest API version scaffold knows */
#define API_MINOR 41
#define API_MIN_MINOR 25 /* the oldest it accepts (1.25: Docker 1.13) */

#define RUN_DIR "/tmp/run"
#define META_DIR "/tmp/.scaffold"
#define SHELL "/bin/sh"

#define CONNECT_TIMEOUT_S 10
#define IDLE_TIMEOUT_S 300    /* an answer that sends nothing for so long */
#define PULL_IDLE_TIMEOUT_S 900
#define KILL_WAIT_MS 30000    /* POST /kill → the container has stopped */
#define DRAIN_MS 5000	      /* output still coming after the exit */
#define POLL_MAX_MS 1000
#define ANSWER_MAX (16 << 20)   /* a JSON answer */
#define ARCHIVE_MAX (1LL << 30) /* a stored file, as a tar */
#define ENV_VALUE_MAX (16 << 20)
#define READ_CHUNK 65536

/* Go's os.FileMode bits, in the X-Docker-Container-Path-Stat header. */
#define GO_MODE_DIR (1ULL << 31)
#define GO_MODE_SYMLINK (1ULL << 27)

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

/* The engine a run talks to, and the API version agreed on. */
struct engine {
	char *socket;
	char prefix[16]; /* "/v1.41" */
};

/* The demultiplexer of the attach stream. */
struct demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left; /* payload bytes left in this frame */
};

struct run_handle {
	int64_t run_id;
	char instance[40]; /* spec->instance, or "" */
	struct engine eng;
	char *id;      /* the container */
	char id12[13]; /* its short form, for people */
	char *run_dir; /* work_dir/run: collected files go there */
	struct strvec store_files;
	struct strvec store_env;
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic; 0: none */
	bool keep_failed;
	bool secret_env; /* its env holds a password: never kept */
	bool keep; /* free() leaves the container */
	bool waited;

	struct run_log log; /* fd, masker, last byte */

	int kill_fd; /* eventfd: kill() → wait() */

	/* the transfers: the attach stream (the output), then the wait */
	CURLM *multi;
	CURL *out;
	struct curl_slist *out_hdrs;
	char out_errbuf[CURL_ERROR_SIZE];
	bool out_headers; /* the engine answered: attached */
	bool out_done;
	CURLcode out_rc;
	long out_status;
	struct buf out_err; /* an error answer */
	int64_t out_last_ms; /* when output last came */
	struct demux dm;
	struct strvec notes; /* scaffold's own lines, after the output */
};

/* Settings from runner_docker_configure(). */
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cfg_socket;
static int cfg_keep_failed;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
runner_docker_configure(const char *socket, int keep_failed)
{
	pthread_once(&curl_once, curl_init);
	/* "unix:///run/docker.sock", as in DOCKER_HOST, is a path too */
	if (socket && !strncmp(socket, "unix://", 7))
		socket += 7;
	pthread_mutex_lock(&cfg_lock);
	free(cfg_socket);
	cfg_socket = socket && *socket ? xstrdup(socket) : NULL;
	cfg_keep_failed = keep_failed;
	pthread_mutex_unlock(&cfg_lock);
}

/* ---- small helpers ---------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append s percent-encoded for a URL; bytes in keep pass as they are. */
static void
url_escape(struct buf *b, const char *s, const char *keep)
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

/* Decode base64 (the engine's path-stat header); -1 when malformed. */
static int
base64_decode(struct buf *out, const char *s, size_t len)
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

/* ---- the run log ------------------------------------------------------ */

/* ---- talking to the engine -------------------------------------------- */

/* One request and its answer. */
struct call {
	const char *method; /* GET POST PUT DELETE HEAD */
	const char *path;   /* below the version prefix: "/containers/create" */
	bool unversioned;   /* path is from the root (GET /version) */
	const char *ctype;  /* of the body */
	const void *body;
	size_t body_len;
	long idle_s;	   /* give up after so long silent; 0: default */
	curl_off_t max;	   /* largest answer kept; 0: ANSWER_MAX */

	long status;	 /* the answer's HTTP status */
	struct buf resp; /* its body */
	struct buf stat; /* its X-Docker-Container-Path-Stat header */
	bool too_big;
	char reason[CURL_ERROR_SIZE + 64]; /* why there is no answer */
};

static void
call_init(struct call *c, const char *method, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->method = method;
	c->path = path;
	buf_init(&c->resp);
	buf_init(&c->stat);
}

static void
call_release(struct call *c)
{
	buf_release(&c->resp);
	buf_release(&c->stat);
}

static size_t
call_body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	curl_off_t max = c->max ? c->max : ANSWER_MAX;

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
	struct call *c = arg;
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
	buf_addf(&url, "http://localhost%s", url_path);
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, eng->socket);
	curl_easy_setopt(e, CURLOPT_URL, url.ptr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
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
static int
call_do(const struct engine *eng, struct call *c)
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
			eng->socket, c->reason);
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
			 c->idle_s ? c->idle_s : (long)IDLE_TIMEOUT_S);

	rc = curl_easy_perform(e);
	if (rc == CURLE_WRITE_ERROR && c->too_big) {
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
		ret = 0;
		goto out;
	}
	if (rc != CURLE_OK) {
		transfer_reason(e, rc, errbuf, c->reason, sizeof(c->reason));
		err_set("cannot reach the Docker engine at '%s': %s",
			eng->socket, c->reason);
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
static void
answer_text(long status, const char *body, size_t blen, struct buf *out)
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

static void
answer_message(const struct call *c, struct buf *out)
{
	answer_text(c->status, c->resp.ptr, c->resp.len, out);
}

/*
 * err_set() for an engine's error answer: "what: message", or the engine's
 * message as it is when the engine is out of disk space.
 */
static int
answer_error(const struct call *c, const char *what)
{
	struct buf m = BUF_INIT;

	answer_message(c, &m);
	if (strstr(m.ptr, "no space left on device"))
		err_set("the Docker engine is out of disk space: %s", m.ptr);
	else
		err_set("%s: %s", what, m.ptr);
	buf_release(&m);
	return -1;
}

/* The answer's body as JSON (new reference), or NULL with err_set(). */
static json_t *
answer_json(const struct call *c, const char *what)
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
static int
engine_open(struct engine *eng)
{
	struct call c;
	json_t *j = NULL, *v;
	int major, minor, ret = -1;

	pthread_once(&curl_once, curl_init);
	pthread_mutex_lock(&cfg_lock);
	eng->socket = xstrdup(cfg_socket ? cfg_socket : DEFAULT_SOCKET);
	pthread_mutex_unlock(&cfg_lock);
	call_init(&c, "GET", "/version");
	c.unversioned = true;
	if (curl_init_rc != CURLE_OK) {
		err_set("cannot reach the Docker engine at '%s': libcurl: %s",
			eng->socket, curl_easy_strerror(curl_init_rc));
		goto out;
	}
	if (call_do(eng, &c) < 0)
		goto out;
	if (c.status != 200) {
		answer_error(&c, "the Docker engine's version");
		goto out;
	}
	if (!(j = answer_json(&c, "the Docker engine's version")))
		goto out;
	v = json_object_get(j, "ApiVersion");
	if (!json_is_string(v) ||
	    parse_version(json_string_value(v), &major, &minor) < 0) {
		err_set("the Docker engine at '%s' did not say which API "
			"version it speaks",
			eng->socket);
		goto out;
	}
	if (major > API_MAJOR || (major == API_MAJOR && minor > API_MINOR)) {
		major = API_MAJOR;
		minor = API_MINOR;
	}
	if (major < API_MAJOR || minor < API_MIN_MINOR) {
		err_set("the Docker engine at '%s' speaks API %d.%d; scaffold "
			"needs %d.%d or later",
			eng->socket, major, minor, API_MAJOR, API_MIN_MINOR);
		goto out;
	}
	snprintf(eng->prefix, sizeof(eng->prefix), "/v%d.%d", major, minor);
	ret = 0;
out:
	json_decref(j);
	call_release(&c);
	return ret;
}

/* ---- the image -------------------------------------------------------- */

/* "name:tag", "name@digest", "host:5000/name" → repository and tag. */
static void
image_split(const char *image, struct buf *repo, struct buf *tag)
{
	const char *at = strchr(image, '@');
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(image, ':');

	if (at) {
		buf_add(repo, image, (size_t)(at - image));
		buf_puts(tag, at + 1);
	} else if (colon && (!slash || colon > slash)) {
		buf_add(repo, image, (size_t)(colon - image));
		buf_puts(tag, colon + 1);
	} else {
		buf_puts(repo, image);
		buf_puts(tag, "latest");
	}
}

/* The first "error" in the progress messages of a pull (one JSON object
 * a line), or NULL; caller frees. */
static char *
pull_stream_error(const struct buf *resp)
{
	const char *p = resp->ptr, *end = resp->ptr + resp->len, *nl;
	struct buf b = BUF_INIT;
	json_t *j, *e;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		e = json_object_get(j, "error");
		if (json_is_string(e))
			escape_log(&b, json_string_value(e),
				   json_string_length(e));
		json_decref(j);
		if (b.len)
			return buf_detach(&b, NULL);
	}
	buf_release(&b);
	return NULL;
}

/* Make sure the image is on the engine: pull it when it is not. */
static int
image_ensure(const struct engine *eng, const char *image)
{
	struct buf path = BUF_INIT, repo = BUF_INIT, tag = BUF_INIT;
	struct buf m = BUF_INIT, e = BUF_INIT;
	struct call c;
	char *perr = NULL;
	int ret = -1;

	buf_puts(&path, "/images/");
	url_escape(&path, image, "/:@");
	buf_puts(&path, "/json");
	call_init(&c, "GET", path.ptr);
	if (call_do(eng, &c) < 0)
		goto out;
	if (c.status == 200) {
		ret = 0;
		goto out;
	}
	if (c.status != 404) {
		buf_reset(&e);
		buf_addf(&e, "image '%s'", image);
		answer_error(&c, e.ptr);
		goto out;
	}

	image_split(image, &repo, &tag);
	buf_reset(&path);
	buf_puts(&path, "/images/create?fromImage=");
	url_escape(&path, repo.ptr, NULL);
	buf_puts(&path, "&tag=");
	url_escape(&path, tag.ptr, NULL);
	call_release(&c);
	call_init(&c, "POST", path.ptr);
	c.idle_s = PULL_IDLE_TIMEOUT_S;
	if (call_do(eng, &c) < 0)
		goto out;
	if (c.status != 200)
		answer_message(&c, &m);
	else if ((perr = pull_stream_error(&c.resp)))
		buf_puts(&m, perr);
	if (m.len) {
		if (strstr(m.ptr, "no space left on device"))
			err_set("the Docker engine is out of disk space: %s",
				m.ptr);
		else
			err_set("image '%s' is not on this engine and cannot "
				"be pulled: %s",
				image, m.ptr);
		goto out;
	}
	ret = 0;
out:
	free(perr);
	call_release(&c);
	buf_release(&path);
	buf_release(&repo);
	buf_release(&tag);
	buf_release(&m);
	buf_release(&e);
	return ret;
}

/* ---- tar archives ----------------------------------------------------- */

static la_ssize_t
tar_out_cb(struct archive *a, void *arg, const void *data, size_t len)
{
	(void)a;
	buf_add(arg, data, len);
	return (la_ssize_t)len;
}

static int
tar_error(struct archive *a, const char *what)
{
	const char *s = archive_error_string(a);

	return err_set("%s: %s", what, s ? s : "tar error");
}

static struct archive_entry *
tar_entry(const char *name, mode_t type, mode_t perm, int64_t size)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	archive_entry_set_size(ae, size);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, time(NULL), 0);
	return ae;
}

/* A directory entry, once per name (dirs remembers them). */
static int
tar_dir(struct archive *a, struct strvec *dirs, const char *name)
{
	struct archive_entry *ae;
	size_t i;
	int ret = 0;

	for (i = 0; i < dirs->n; i++)
		if (!strcmp(dirs->v[i], name))
			return 0;
	strvec_push(dirs, name);
	ae = tar_entry(name, AE_IFDIR, 0777, 0);
	if (archive_write_header(a, ae) != ARCHIVE_OK)
		ret = tar_error(a, "cannot build the archive");
	archive_entry_free(ae);
	return ret;
}

static int
tar_data(struct archive *a, const char *name, const void *data, size_t len,
	 mode_t perm)
{
	struct archive_entry *ae;
	int ret = 0;

	ae = tar_entry(name, AE_IFREG, perm, (int64_t)len);
	if (archive_write_header(a, ae) != ARCHIVE_OK ||
	    (len && archive_write_data(a, data, len) != (la_ssize_t)len))
		ret = tar_error(a, "cannot build the archive");
	archive_entry_free(ae);
	return ret;
}

/* The directories leading to path ("tmp/run/a/b/f": .../a/, .../a/b/). */
static int
tar_parents(struct archive *a, struct strvec *dirs, const char *path)
{
	struct buf d = BUF_INIT;
	const char *p;
	int ret = 0;

	for (p = strchr(path, '/'); p && !ret; p = strchr(p + 1, '/')) {
		buf_reset(&d);
		buf_add(&d, path, (size_t)(p - path) + 1);
		ret = tar_dir(a, dirs, d.ptr);
	}
	buf_release(&d);
	return ret;
}

/* A loaded file: name in the archive, content from the local file src. */
static int
tar_file(struct archive *a, struct strvec *dirs, const char *name,
	 const char *shown, const char *src)
{
	struct archive_entry *ae = NULL;
	struct buf e = BUF_INIT;
	struct stat st;
	char *chunk = NULL;
	int fd = -1, ret = -1;
	off_t left;
	ssize_t n;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s", runner_esc(&e, shown), src,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("file '%s': '%s' is not a regular file",
			runner_esc(&e, shown), src);
		goto out;
	}
	if (tar_parents(a, dirs, name) < 0)
		goto out;
	ae = tar_entry(name, AE_IFREG, (st.st_mode & 0777) | 0666,
		       (int64_t)st.st_size);
	if (archive_write_header(a, ae) != ARCHIVE_OK) {
		tar_error(a, "cannot build the archive");
		goto out;
	}
	chunk = xmalloc(READ_CHUNK);
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, chunk,
			 left < READ_CHUNK ? (size_t)left : READ_CHUNK);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			err_set("file '%s': cannot read '%s': %s",
				runner_esc(&e, shown), src,
				n < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		if (archive_write_data(a, chunk, (size_t)n) != n) {
			tar_error(a, "cannot build the archive");
			goto out;
		}
	}
	ret = 0;
out:
	if (ae)
		archive_entry_free(ae);
	if (fd >= 0)
		close(fd);
	free(chunk);
	buf_release(&e);
	return ret;
}

/* ---- the run's files -------------------------------------------------- */

/* A name and a value from the spec (not copied). */
struct env_ref {
	const char *name;
	const char *value;
	size_t len;
};

/* Set name in v, replacing an earlier one: later entries win. */
static void
env_put(struct env_ref **v, size_t *n, size_t *alloc, const char *name,
	const char *value, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].name, name)) {
			(*v)[i].value = value;
			(*v)[i].len = len;
			return;
		}
	}
	*v = xgrow(*v, sizeof(**v), *n + 1, alloc);
	(*v)[*n].name = name;
	(*v)[*n].value = value;
	(*v)[*n].len = len;
	(*n)++;
}

/*
 * The environment: values that are UTF-8 go in the container's Env (a
 * JSON array); the others (JSON cannot carry them) are exported by the
 * wrapper, single-quoted, which keeps every byte.
 */
static int
build_env(json_t *arr, struct buf *exports, const struct run_spec *spec)
{
	struct env_ref *v = NULL;
	struct buf kv = BUF_INIT, e = BUF_INIT;
	size_t i, n = 0, alloc = 0;
	json_t *s;
	int ret = -1;

	for (i = 0; i < spec->nenv; i++) {
		const struct runner_env *x = &spec->env[i];

		if (!x->name || !*x->name || strchr(x->name, '=')) {
			err_set("env '%s': not a valid variable name",
				x->name ? runner_esc(&e, x->name) : "");
			goto out;
		}
		if (x->len && (!x->value || memchr(x->value, '\0', x->len))) {
			err_set("env '%s': the value holds a NUL byte",
				runner_esc(&e, x->name));
			goto out;
		}
		env_put(&v, &n, &alloc, x->name, x->len ? x->value : "",
			x->len);
	}
	env_put(&v, &n, &alloc, "SCAFFOLD_RUN_DIR", RUN_DIR, strlen(RUN_DIR));
	for (i = 0; i < n; i++) {
		buf_reset(&kv);
		buf_puts(&kv, v[i].name);
		buf_putc(&kv, '=');
		buf_add(&kv, v[i].value, v[i].len);
		s = json_stringn(kv.ptr, kv.len);
		if (s) {
			json_array_append_new(arr, s);
			continue;
		}
		if (!runner_valid_env_name(v[i].name)) {
			err_set("env '%s': the value is not UTF-8 and the name "
				"is not a shell variable name",
				runner_esc(&e, v[i].name));
			goto out;
		}
		buf_addf(exports, "export %s=", v[i].name);
		runner_sh_quote(exports, v[i].value, v[i].len);
		buf_putc(exports, '\n');
	}
	ret = 0;
out:
	free(v);
	buf_release(&kv);
	buf_release(&e);
	return ret;
}

/*
 * The wrapper: exports what Env cannot carry, sources the script in this
 * shell; when the shell leaves (exit, set -e, end of the script) records
 * the status and, on success, the store env, one file per name, written
 * with printf so that every byte is kept.  The end also runs by hand after
 * the script, for scripts that replace the EXIT trap but end normally.
 */
static void
build_wrapper(struct buf *w, const struct run_handle *h,
	      const struct buf *exports)
{
	size_t i;
	const char *n;

	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# its exit status and, on success, the store env.\n");
	buf_add(w, exports->ptr, exports->len);
	buf_puts(w, "__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tumask 077\n"
		    "\tcommand printf '%s\\n' \"$1\" >" META_DIR "/exit\n"
		    "\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < h->store_env.n; i++) {
		n = h->store_env.v[i];
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >" META_DIR
			 "/env/%s; fi\n",
			 n, n, n);
	}
	buf_puts(w, "\tfi\n"
		    "}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". " META_DIR "/script\n"
		    "__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
}

/* The archive put at / before the start: run dir, loaded files, meta. */
static int
build_archive(struct buf *out, const struct run_handle *h,
	      const struct run_spec *spec, const struct buf *exports)
{
	struct archive *a = archive_write_new();
	struct strvec dirs = STRVEC_INIT;
	struct buf name = BUF_INIT, np = BUF_INIT, w = BUF_INIT;
	size_t i;
	int ret = -1;

	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, tar_out_cb, NULL) != ARCHIVE_OK) {
		tar_error(a, "cannot build the archive");
		goto out;
	}
	if (tar_dir(a, &dirs, "tmp/run/") < 0)
		goto out;
	for (i = 0; i < spec->nfiles; i++) {
		runner_norm_path(&np, spec->files[i].path);
		buf_reset(&name);
		buf_addf(&name, "tmp/run/%s", np.ptr);
		if (tar_file(a, &dirs, name.ptr, spec->files[i].path,
			     spec->files[i].src) < 0)
			goto out;
	}
	runner_umask_line(&w, spec, NULL);
	build_wrapper(&w, h, exports);
	if (tar_dir(a, &dirs, "tmp/.scaffold/") < 0 ||
	    tar_dir(a, &dirs, "tmp/.scaffold/env/") < 0 ||
	    tar_data(a, "tmp/.scaffold/script", spec->script,
		     spec->script_len, 0644) < 0 ||
	    tar_data(a, "tmp/.scaffold/wrapper.sh", w.ptr, w.len, 0644) < 0)
		goto out;
	if (archive_write_close(a) != ARCHIVE_OK) {
		tar_error(a, "cannot build the archive");
		goto out;
	}
	ret = 0;
out:
	archive_write_free(a);
	strvec_clear(&dirs);
	buf_release(&name);
	buf_release(&np);
	if (w.len)
		memset(w.ptr, 0, w.len); /* may hold secrets */
	buf_release(&w);
	return ret;
}

/* s can travel in JSON (jansson takes only UTF-8). */
static bool
utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* The JSON of POST /containers/create (caller frees). */
static char *
create_body(const struct run_spec *spec, json_t *env)
{
	json_t *root = json_object(), *a, *labels, *hc;
	char id[32];
	char *s;

	snprintf(id, sizeof(id), "%lld", (long long)spec->run_id);
	json_object_set_new(root, "Image", json_string(spec->image));
	a = json_array();
	json_array_append_new(a, json_string(SHELL));
	json_array_append_new(a, json_string("-e"));
	json_array_append_new(a, json_string(META_DIR "/wrapper.sh"));
	json_object_set_new(root, "Entrypoint", a);
	json_object_set_new(root, "Cmd", json_array());
	json_object_set_new(root, "WorkingDir", json_string(RUN_DIR));
	json_object_set(root, "Env", env);
	labels = json_object();
	json_object_set_new(labels, "scaffold.run", json_string(id));
	if (spec->instance)
		json_object_set_new(labels, "scaffold.instance",
				    json_string(spec->instance));
	if (spec->cascade)
		json_object_set_new(labels, "scaffold.cascade",
				    json_string(spec->cascade));
	if (spec->task)
		json_object_set_new(labels, "scaffold.task",
				    json_string(spec->task));
	json_object_set_new(root, "Labels", labels);
	json_object_set_new(root, "AttachStdin", json_false());
	json_object_set_new(root, "AttachStdout", json_true());
	json_object_set_new(root, "AttachStderr", json_true());
	json_object_set_new(root, "OpenStdin", json_false());
	json_object_set_new(root, "Tty", json_false());
	hc = json_object();
	json_object_set_new(hc, "NetworkMode", json_string("none"));
	json_object_set_new(root, "HostConfig", hc);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s)
		BUG("cannot serialize a container's settings");
	return s;
}

/* ---- the handle ------------------------------------------------------- */

static void docker_free(struct run_handle *h);
static int attach_open(struct run_handle *h);

/* A handle for spec, its lists checked; the engine not yet contacted. */
/* Does a value of the run's env hold one of the cascade's passwords (mapped,
 * or inside a value another task stored)? */
static bool
env_holds_secret(const struct run_spec *spec)
{
	size_t i, k;

	for (i = 0; spec->secrets && i < spec->nsecrets; i++)
		for (k = 0; k < spec->nenv; k++)
			if (spec->secret_lens[i] &&
			    memmem(spec->env[k].value, spec->env[k].len,
				   spec->secrets[i], spec->secret_lens[i]))
				return true;
	return false;
}

static int
handle_new(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	struct buf e = BUF_INIT, p = BUF_INIT;
	size_t i;
	int ret = -1;

	*out = NULL;
	h->run_id = spec->run_id;
	if (spec->instance)
		snprintf(h->instance, sizeof(h->instance), "%s",
			 spec->instance);
	h->log.fd = spec->log_fd;
	h->log.run_id = spec->run_id;
	h->log.last = '\n';
	h->kill_fd = -1;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	buf_init(&h->out_err);
	h->log.masker = masker_new(spec->secrets, spec->secret_lens,
			       spec->secrets ? spec->nsecrets : 0);
	pthread_mutex_lock(&cfg_lock);
	h->keep_failed = cfg_keep_failed != 0;
	pthread_mutex_unlock(&cfg_lock);
	h->secret_env = env_holds_secret(spec);

	if (!spec->work_dir) {
		ret = err_set("run %lld: no work dir", (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nstore_env; i++) {
		if (!runner_valid_env_name(spec->store_env[i])) {
			err_set("store env '%s' is not a valid variable name",
				spec->store_env[i] ?
					runner_esc(&e, spec->store_env[i]) : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_env, spec->store_env[i]);
	}
	for (i = 0; i < spec->nstore_files; i++) {
		if (!runner_valid_rel_path(spec->store_files[i])) {
			err_set("store file '%s' is not a path inside the run "
				"dir",
				spec->store_files[i] ?
					runner_esc(&e, spec->store_files[i]) : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_files, spec->store_files[i]);
	}
	buf_addf(&p, "%s/run", spec->work_dir);
	h->run_dir = buf_detach(&p, NULL);
	h->kill_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->kill_fd < 0) {
		err_set("cannot create an eventfd: %s", strerror(errno));
		goto out;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	docker_free(h);
	buf_release(&e);
	buf_release(&p);
	return ret;
}

static void
set_container(struct run_handle *h, const char *id)
{
	free(h->id);
	h->id = xstrdup(id);
	snprintf(h->id12, sizeof(h->id12), "%.12s", id);
}

/* DELETE the container (and its anonymous volumes), even running. */
static int
remove_by_id(const struct engine *eng, const char *id)
{
	struct buf path = BUF_INIT;
	struct call c;
	int ret = -1;

	buf_addf(&path, "/containers/%s?force=1&v=1", id);
	call_init(&c, "DELETE", path.ptr);
	if (call_do(eng, &c) < 0)
		goto out;
	if (c.status != 204 && c.status != 200 && c.status != 404) {
		answer_error(&c, "cannot remove the container");
		goto out;
	}
	ret = 0;
out:
	call_release(&c);
	buf_release(&path);
	return ret;
}

static int
remove_container(struct run_handle *h)
{
	return remove_by_id(&h->eng, h->id);
}

/*
 * Containers that could not be removed when their run ended (the engine
 * was gone: a lost run), as "SOCKET\tID": removed by the next run that
 * reaches that engine.
 */
static pthread_mutex_t leftover_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strvec leftovers = STRVEC_INIT;

static void
leftover_add(const struct run_handle *h)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s\t%s", h->eng.socket, h->id);
	pthread_mutex_lock(&leftover_lock);
	strvec_push(&leftovers, b.ptr);
	pthread_mutex_unlock(&leftover_lock);
	buf_release(&b);
}

/* Remove the leftovers of eng's engine, which answers again. */
static void
leftovers_remove(const struct engine *eng)
{
	struct strvec mine = STRVEC_INIT, rest = STRVEC_INIT;
	size_t i, n = strlen(eng->socket);
	char *saved;

	pthread_mutex_lock(&leftover_lock);
	for (i = 0; i < leftovers.n; i++)
		strvec_push(!strncmp(leftovers.v[i], eng->socket, n) &&
				    leftovers.v[i][n] == '\t'
			    ? &mine
			    : &rest,
			    leftovers.v[i]);
	strvec_clear(&leftovers);
	leftovers = rest;
	pthread_mutex_unlock(&leftover_lock);
	if (!mine.n)
		return;
	saved = xstrdup(err_msg());
	for (i = 0; i < mine.n; i++) {
		if (remove_by_id(eng, mine.v[i] + n + 1) < 0)
			log_warnx("runner: container %.12s of a lost run: %s",
				  mine.v[i] + n + 1, err_msg());
		else
			log_info("runner: removed container %.12s of a run "
				 "lost when the engine went away",
				 mine.v[i] + n + 1);
	}
	strvec_clear(&mine);
	err_set("%s", saved);
	free(saved);
}

static int
docker_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf path = BUF_INIT, exports = BUF_INIT, tar = BUF_INIT;
	struct buf e = BUF_INIT;
	struct call c;
	json_t *env = json_array(), *j = NULL, *id;
	char *body = NULL;
	size_t i;
	int ret = -1;

	*out = NULL;
	call_init(&c, "GET", "/");
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	if (!spec->script || !spec->image || !*spec->image) {
		ret = err_set("run %lld: no script or no image",
			      (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nfiles; i++) {
		if (!runner_valid_rel_path(spec->files[i].path) ||
		    !spec->files[i].src) {
			err_set("file '%s' is not a path inside the run dir",
				spec->files[i].path ?
					runner_esc(&e, spec->files[i].path) : "");
			ret = ERR_INVALID;
			goto out;
		}
	}
	if (!utf8_ok(spec->image)) {
		err_set("image '%s' is not a valid image name",
			runner_esc(&e, spec->image));
		ret = ERR_INVALID;
		goto out;
	}
	if (build_env(env, &exports, spec) < 0) {
		ret = ERR_INVALID;
		goto out;
	}
	if (build_archive(&tar, h, spec, &exports) < 0)
		goto out;

	if (engine_open(&h->eng) < 0)
		goto out;
	leftovers_remove(&h->eng);
	if (image_ensure(&h->eng, spec->image) < 0)
		goto out;

	body = create_body(spec, env);
	call_release(&c);
	call_init(&c, "POST", "/containers/create");
	c.body = body;
	c.body_len = strlen(body);
	if (call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 201 && c.status != 200) {
		buf_addf(&path, "cannot create a container of image '%s'",
			 spec->image);
		answer_error(&c, path.ptr);
		goto out;
	}
	if (!(j = answer_json(&c, "cannot create a container")))
		goto out;
	id = json_object_get(j, "Id");
	if (!json_is_string(id) || !json_string_length(id)) {
		err_set("cannot create a container: the Docker engine did not "
			"say its id");
		goto out;
	}
	set_container(h, json_string_value(id));

	buf_reset(&path);
	buf_addf(&path, "/containers/%s/archive?path=/", h->id);
	call_release(&c);
	call_init(&c, "PUT", path.ptr);
	c.ctype = "application/x-tar";
	c.body = tar.ptr;
	c.body_len = tar.len;
	if (call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 200) {
		answer_error(&c, "cannot put the run's files in the container");
		goto out;
	}

	if (attach_open(h) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "/containers/%s/start", h->id);
	call_release(&c);
	call_init(&c, "POST", path.ptr);
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - now_ms())
		h->deadline_ms = now_ms() + h->timeout_ms;
	if (call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 204 && c.status != 304) {
		answer_error(&c, "cannot start the container");
		goto out;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	docker_free(h); /* removes the container: it never ran */
	call_release(&c);
	json_decref(env);
	json_decref(j);
	if (body) /* the env may hold secrets */
		memset(body, 0, strlen(body));
	free(body);
	if (exports.len)
		memset(exports.ptr, 0, exports.len);
	buf_release(&exports);
	if (tar.len)
		memset(tar.ptr, 0, tar.len);
	buf_release(&tar);
	buf_release(&path);
	buf_release(&e);
	return ret;
}

/* ---- adopt ------------------------------------------------------------ */

/* "2026-11-22T12:07:26.123456789Z" → ms since the epoch; -1 if not. */
static int64_t
parse_rfc3339_ms(const char *s)
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

/*
 * The container labelled scaffold.run=ID: a running one first, else the
 * newest.  0, ERR_NOTFOUND, or -1.
 */
static int
find_container(struct run_handle *h, char **out_id)
{
	struct buf path = BUF_INIT, f = BUF_INIT;
	struct call c;
	json_t *j = NULL, *x, *st;
	const char *pick = NULL;
	size_t i;
	int ret = -1;

	*out_id = NULL;
	buf_addf(&f, "{\"label\":[\"scaffold.run=%lld\"", (long long)h->run_id);
	if (h->instance[0])
		buf_addf(&f, ",\"scaffold.instance=%s\"", h->instance);
	buf_puts(&f, "]}");
	buf_puts(&path, "/containers/json?all=1&filters=");
	url_escape(&path, f.ptr, NULL);
	call_init(&c, "GET", path.ptr);
	if (call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 200) {
		answer_error(&c, "cannot list the containers");
		goto out;
	}
	if (!(j = answer_json(&c, "cannot list the containers")))
		goto out;
	json_array_foreach(j, i, x) {
		const char *id = json_string_value(json_object_get(x, "Id"));

		st = json_object_get(x, "State");
		if (!id)
			continue;
		if (!pick)
			pick = id;
		if (json_is_string(st) &&
		    !strcmp(json_string_value(st), "running")) {
			pick = id;
			break;
		}
	}
	if (!pick) {
		err_set("run %lld: no container labelled scaffold.run=%lld on "
			"the Docker engine",
			(long long)h->run_id, (long long)h->run_id);
		ret = ERR_NOTFOUND;
		goto out;
	}
	*out_id = xstrdup(pick);
	ret = 0;
out:
	json_decref(j);
	call_release(&c);
	buf_release(&path);
	buf_release(&f);
	return ret;
}

static int
docker_adopt(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf path = BUF_INIT;
	struct timespec rt;
	struct call c;
	json_t *j = NULL, *state;
	const char *status, *started;
	char *id = NULL;
	int64_t t0, now_real, left;
	int ret = -1;

	*out = NULL;
	call_init(&c, "GET", "/");
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	if (engine_open(&h->eng) < 0)
		goto out;
	if ((ret = find_container(h, &id)) < 0) {
		/* the container is removed only once the run's end is
		 * recorded: none means it was never created */
		if (ret == ERR_NOTFOUND)
			ret = RUNNER_NOT_STARTED;
		goto out;
	}
	ret = -1;
	set_container(h, id);

	buf_addf(&path, "/containers/%s/json", h->id);
	call_release(&c);
	call_init(&c, "GET", path.ptr);
	if (call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status == 404) {
		err_set("run %lld: container %s is gone", (long long)h->run_id,
			h->id12);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (c.status != 200) {
		answer_error(&c, "cannot inspect the container");
		goto out;
	}
	if (!(j = answer_json(&c, "cannot inspect the container")))
		goto out;
	state = json_object_get(j, "State");
	status = json_string_value(json_object_get(state, "Status"));
	started = json_string_value(json_object_get(state, "StartedAt"));
	if (status && !strcmp(status, "created")) {
		/* scaffold stopped between create and start: never ran, and
		 * once removed, never will */
		if (remove_container(h) < 0)
			goto out;
		err_set("run %lld: its container %s was never started",
			(long long)h->run_id, h->id12);
		ret = RUNNER_NOT_STARTED;
		goto out;
	}

	/* its output from now on; a container that has ended has no more */
	if (status && !strcmp(status, "running") && attach_open(h) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &rt);
	if (h->timeout_ms) {
		now_real = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
		t0 = started ? parse_rfc3339_ms(started) : -1;
		left = h->timeout_ms;
		if (t0 > 0 && now_real > t0)
			left = now_real - t0 >= h->timeout_ms ?
				       0 :
				       h->timeout_ms - (now_real - t0);
		h->deadline_ms = now_ms() + left;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h)
		h->keep = true; /* not ours to remove on a failed adopt */
	docker_free(h);
	json_decref(j);
	call_release(&c);
	buf_release(&path);
	free(id);
	return ret;
}

/* ---- the output stream ------------------------------------------------ */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * Feed attach stream bytes: frames of an 8-byte header (stream, 0, 0, 0,
 * length big-endian) and the payload; stdout and stderr both go to the
 * log, byte for byte.
 */
static void
demux_feed(struct run_handle *h, const char *data, size_t len)
{
	struct demux *d = &h->dm;
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
			d->left = be32(d->hdr + 4);
			continue;
		}
		take = d->left < len ? d->left : len;
		run_log_output(&h->log, data, take);
		d->left -= (uint32_t)take;
		data += take;
		len -= take;
	}
}

static size_t
attach_body_cb(char *data, size_t size, size_t n, void *arg)
{
	struct run_handle *h = arg;

	(void)size;
	h->out_last_ms = now_ms();
	if (h->out_status != 200) {
		if (h->out_err.len < 4096)
			buf_add(&h->out_err, data, n);
		return n;
	}
	demux_feed(h, data, n);
	return n;
}

/* The end of the answer's headers: the attachment is in place. */
static size_t
attach_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct run_handle *h = arg;

	(void)size;
	if ((n == 2 && data[0] == '\r' && data[1] == '\n') ||
	    (n == 1 && data[0] == '\n')) {
		curl_easy_getinfo(h->out, CURLINFO_RESPONSE_CODE,
				  &h->out_status);
		/* an interim answer (100 Continue) is not the one */
		if (h->out_status >= 200)
			h->out_headers = true;
	}
	return n;
}

/* The curl multi handle of the run's transfers. */
static int
multi_get(struct run_handle *h)
{
	if (!h->multi)
		h->multi = curl_multi_init();
	if (!h->multi)
		return err_set("run %lld: cannot set up libcurl",
			       (long long)h->run_id);
	return 0;
}

/*
 * Attach to the container's stdout and stderr, and return once the engine
 * has answered: the engine attaches the streams before it answers, so
 * nothing the container writes after that is missed.  Before the start
 * this gets all of the output; for adopt, the output from now on.
 */
static int
attach_open(struct run_handle *h)
{
	struct buf path = BUF_INIT, m = BUF_INIT;
	int64_t until = now_ms() + IDLE_TIMEOUT_S * 1000LL;
	CURLMsg *msg;
	CURLcode rc = CURLE_OK;
	bool done = false;
	int running, q, ret = -1;

	if (multi_get(h) < 0)
		goto out;
	buf_addf(&path, "%s/containers/%s/attach?stream=1&stdout=1&stderr=1",
		 h->eng.prefix, h->id);
	h->out = easy_new(&h->eng, "POST", path.ptr, h->out_errbuf);
	if (!h->out) {
		err_set("run %lld: cannot set up libcurl",
			(long long)h->run_id);
		goto out;
	}
	h->out_hdrs = curl_slist_append(h->out_hdrs, "Expect:");
	curl_easy_setopt(h->out, CURLOPT_HTTPHEADER, h->out_hdrs);
	curl_easy_setopt(h->out, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(h->out, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(h->out, CURLOPT_WRITEFUNCTION, attach_body_cb);
	curl_easy_setopt(h->out, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->out, CURLOPT_HEADERFUNCTION, attach_header_cb);
	curl_easy_setopt(h->out, CURLOPT_HEADERDATA, h);
	curl_multi_add_handle(h->multi, h->out);

	while (!h->out_headers && !done) {
		curl_multi_perform(h->multi, &running);
		while ((msg = curl_multi_info_read(h->multi, &q))) {
			if (msg->msg == CURLMSG_DONE &&
			    msg->easy_handle == h->out) {
				done = true;
				rc = msg->data.result;
			}
		}
		if (h->out_headers || done)
			break;
		if (now_ms() >= until) {
			err_set("cannot attach to the container: the Docker "
				"engine did not answer");
			goto out;
		}
		curl_multi_poll(h->multi, NULL, 0, POLL_MAX_MS, NULL);
	}
	/* an error answer is short: take all of it */
	while (h->out_status != 200 && !done) {
		curl_multi_perform(h->multi, &running);
		while ((msg = curl_multi_info_read(h->multi, &q)))
			if (msg->msg == CURLMSG_DONE &&
			    msg->easy_handle == h->out) {
				done = true;
				rc = msg->data.result;
			}
		if (!done)
			curl_multi_poll(h->multi, NULL, 0, POLL_MAX_MS, NULL);
	}
	if (h->out_status == 200) {
		h->out_done = done;
		h->out_rc = rc;
		ret = 0;
		goto out;
	}
	if (!h->out_headers) {
		char reason[CURL_ERROR_SIZE + 64];

		transfer_reason(h->out, rc, h->out_errbuf, reason,
				sizeof(reason));
		err_set("cannot reach the Docker engine at '%s': %s",
			h->eng.socket, reason);
		goto out;
	}
	answer_text(h->out_status, h->out_err.ptr, h->out_err.len, &m);
	if (strstr(m.ptr, "no space left on device"))
		err_set("the Docker engine is out of disk space: %s", m.ptr);
	else
		err_set("cannot attach to the container: %s", m.ptr);
out:
	buf_release(&path);
	buf_release(&m);
	return ret;
}

/* A line of scaffold's own, written once the output is all in. */
static void PRINTF_LIKE(2, 3)
note_later(struct run_handle *h, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strvec_push(&h->notes, b.ptr);
	buf_release(&b);
}

/* ---- wait ------------------------------------------------------------- */

static size_t
buf_cb(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	(void)size;
	if (b->len + n > ANSWER_MAX)
		return 0;
	buf_add(b, data, n);
	return n;
}

/* Send SIGKILL; -1 with reason set when the engine cannot be reached. */
static int
kill_container(struct run_handle *h, char *reason, size_t len)
{
	struct buf path = BUF_INIT, m = BUF_INIT;
	struct call c;
	int ret = -1;

	buf_addf(&path, "/containers/%s/kill", h->id);
	call_init(&c, "POST", path.ptr);
	if (call_do(&h->eng, &c) < 0) {
		snprintf(reason, len, "%s", c.reason);
		goto out;
	}
	/* 409: not running any more, which is what we want */
	if (c.status != 204 && c.status != 200 && c.status != 409 &&
	    c.status != 404) {
		answer_message(&c, &m);
		run_log_note(&h->log, "cannot kill the container: %s", m.ptr);
	}
	ret = 0;
out:
	call_release(&c);
	buf_release(&path);
	buf_release(&m);
	return ret;
}

static void
result_lost(struct run_handle *h, struct run_result *out, const char *reason)
{
	out->outcome = RUN_LOST;
	out->exit_code = -1;
	snprintf(out->message, sizeof(out->message),
		 "lost contact with the Docker engine: %s", reason);
	run_log_note(&h->log, "%s", out->message);
}

/*
 * GET one path's archive from the stopped container: 0 with the tar in
 * c->resp (c->status says whether it exists), -1 when the engine is gone
 * (c->reason).
 */
static int
get_archive(struct run_handle *h, const char *method, const char *cpath,
	    struct call *c)
{
	struct buf path = BUF_INIT;
	int ret;

	buf_addf(&path, "/containers/%s/archive?path=", h->id);
	url_escape(&path, cpath, "/");
	call_init(c, method, path.ptr);
	c->max = ARCHIVE_MAX;
	ret = call_do(&h->eng, c);
	buf_release(&path);
	return ret;
}

/* Go's FileMode of a path-stat header; -1 when it cannot be read. */
static int
stat_mode(const struct call *c, unsigned long long *mode)
{
	struct buf raw = BUF_INIT;
	json_t *j = NULL, *m;
	int ret = -1;

	if (!c->stat.len || base64_decode(&raw, c->stat.ptr, c->stat.len) < 0)
		goto out;
	j = json_loadb(raw.ptr, raw.len, 0, NULL);
	m = json_object_get(j, "mode");
	if (!json_is_integer(m))
		goto out;
	*mode = (unsigned long long)json_integer_value(m);
	ret = 0;
out:
	json_decref(j);
	buf_release(&raw);
	return ret;
}

/* Write a tar entry's data to path, creating its directories. */
static int
extract_to(struct archive *a, const char *path)
{
	struct buf dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	char *chunk = xmalloc(READ_CHUNK);
	int fd = -1, ret = -1;
	la_ssize_t n;

	buf_add(&dir, path, slash ? (size_t)(slash - path) : 0);
	if (dir.len && mkdir_p(dir.ptr, 0755) < 0)
		goto out;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		err_set("cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	while ((n = archive_read_data(a, chunk, READ_CHUNK)) > 0) {
		if (runner_write_all(fd, chunk, (size_t)n) < 0) {
			err_set("cannot write '%s': %s", path,
				strerror(errno));
			goto out;
		}
	}
	if (n < 0) {
		tar_error(a, "cannot read the archive");
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) < 0 && !ret)
		ret = err_set("cannot write '%s': %s", path, strerror(errno));
	free(chunk);
	buf_release(&dir);
	return ret;
}

/*
 * Collection: 0 done, 1 the run fails (out->message set), -1 the engine is
 * gone (reason set).
 */
enum { COLLECT_OK = 0, COLLECT_FAILED = 1, COLLECT_LOST = -1 };

/*
 * One store file into run_dir/<path>.  Every directory on its way must be
 * a directory (not a symlink: the engine would follow it), and the file
 * itself a regular file within the caps (*total: the run's bytes so far).
 */
static int
collect_file(struct run_handle *h, const char *name, char **src,
	     int64_t *total, struct run_result *out, char *reason, size_t rlen)
{
	struct buf np = BUF_INIT, cp = BUF_INIT, e = BUF_INIT, dst = BUF_INIT;
	struct archive *a = NULL;
	struct archive_entry *ae;
	unsigned long long mode;
	struct call c;
	const char *p;
	int ret = COLLECT_FAILED, r;

	call_init(&c, "GET", "/");
	runner_norm_path(&np, name);
	for (p = strchr(np.ptr, '/'); p; p = strchr(p + 1, '/')) {
		buf_reset(&cp);
		buf_addf(&cp, RUN_DIR "/%.*s", (int)(p - np.ptr), np.ptr);
		call_release(&c);
		if (get_archive(h, "HEAD", cp.ptr, &c) < 0)
			goto lost;
		if (c.status == 404)
			goto missing;
		if (c.status != 200)
			goto engine_err;
		if (stat_mode(&c, &mode) < 0)
			goto engine_err;
		if (mode & GO_MODE_SYMLINK) {
			snprintf(out->message, sizeof(out->message),
				 "store file '%s' is behind a symlink ('%.*s')",
				 runner_esc(&e, name), (int)(p - np.ptr), np.ptr);
			goto out;
		}
		if (!(mode & GO_MODE_DIR))
			goto missing;
	}

	buf_reset(&cp);
	buf_addf(&cp, RUN_DIR "/%s", np.ptr);
	call_release(&c);
	if (get_archive(h, "GET", cp.ptr, &c) < 0)
		goto lost;
	if (c.status == 404)
		goto missing;
	if (c.too_big) {
		snprintf(out->message, sizeof(out->message),
			 "store file '%s' is larger than 1G", runner_esc(&e, name));
		goto out;
	}
	if (c.status != 200)
		goto engine_err;

	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, c.resp.ptr, c.resp.len) != ARCHIVE_OK ||
	    (r = archive_read_next_header(a, &ae)) != ARCHIVE_OK) {
		const char *why = archive_error_string(a);

		snprintf(out->message, sizeof(out->message),
			 "store file '%s': the Docker engine sent a bad "
			 "archive: %s",
			 runner_esc(&e, name), why ? why : "empty");
		goto out;
	}
	if (archive_entry_filetype(ae) == AE_IFLNK) {
		snprintf(out->message, sizeof(out->message),
			 "store file '%s' is a symlink", runner_esc(&e, name));
		goto out;
	}
	if (archive_entry_filetype(ae) != AE_IFREG) {
		snprintf(out->message, sizeof(out->message),
			 "store file '%s' is not a regular file",
			 runner_esc(&e, name));
		goto out;
	}
	if (runner_store_cap_check(name, (int64_t)archive_entry_size(ae),
				   *total) < 0) {
		snprintf(out->message, sizeof(out->message), "%s", err_msg());
		goto out;
	}
	*total += (int64_t)archive_entry_size(ae);
	buf_addf(&dst, "%s/%s", h->run_dir, np.ptr);
	if (extract_to(a, dst.ptr) < 0) {
		snprintf(out->message, sizeof(out->message),
			 "store file '%s': %s", runner_esc(&e, name), err_msg());
		goto out;
	}
	*src = buf_detach(&dst, NULL);
	ret = COLLECT_OK;
	goto out;

missing:
	snprintf(out->message, sizeof(out->message),
		 "store file '%s' was not created", runner_esc(&e, name));
	goto out;
engine_err:
	answer_message(&c, &cp);
	snprintf(out->message, sizeof(out->message), "store file '%s': %s",
		 runner_esc(&e, name), cp.ptr);
	goto out;
lost:
	snprintf(reason, rlen, "%s", c.reason);
	ret = COLLECT_LOST;
out:
	if (a)
		archive_read_free(a);
	call_release(&c);
	buf_release(&np);
	buf_release(&cp);
	buf_release(&e);
	buf_release(&dst);
	return ret;
}

/* The store env: the wrapper's env/NAME files, from one archive. */
static int
collect_env(struct run_handle *h, struct runner_env *env,
	    struct run_result *out, char *reason, size_t rlen)
{
	struct archive *a = NULL;
	struct archive_entry *ae;
	struct buf val = BUF_INIT;
	struct call c;
	const char *name, *base;
	char *chunk = NULL;
	la_ssize_t n;
	size_t i;
	int ret = COLLECT_FAILED;

	if (get_archive(h, "GET", META_DIR "/env", &c) < 0)
		goto lost;
	if (c.status != 200 || c.too_big) {
		answer_message(&c, &val);
		snprintf(out->message, sizeof(out->message),
			 "store env: cannot read it from the container: %s",
			 val.ptr);
		goto out;
	}
	a = archive_read_new();
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, c.resp.ptr, c.resp.len) != ARCHIVE_OK)
		goto bad;
	chunk = xmalloc(READ_CHUNK);
	while (archive_read_next_header(a, &ae) == ARCHIVE_OK) {
		name = archive_entry_pathname(ae);
		if (!name || archive_entry_filetype(ae) != AE_IFREG)
			continue;
		base = strrchr(name, '/');
		base = base ? base + 1 : name;
		for (i = 0; i < h->store_env.n; i++)
			if (!env[i].name && !strcmp(h->store_env.v[i], base))
				break;
		if (i == h->store_env.n)
			continue;
		buf_reset(&val);
		while ((n = archive_read_data(a, chunk, READ_CHUNK)) > 0) {
			if (val.len + (size_t)n > ENV_VALUE_MAX) {
				snprintf(out->message, sizeof(out->message),
					 "store env '%s' is larger than 16M",
					 h->store_env.v[i]);
				goto out;
			}
			buf_add(&val, chunk, (size_t)n);
		}
		if (n < 0)
			goto bad;
		env[i].name = xstrdup(h->store_env.v[i]);
		env[i].len = val.len;
		env[i].value = buf_detach(&val, NULL);
	}
	for (i = 0; i < h->store_env.n; i++) {
		if (env[i].name)
			continue;
		snprintf(out->message, sizeof(out->message),
			 "store env '%s' is not set", h->store_env.v[i]);
		call_release(&c);
		if (get_archive(h, "HEAD", META_DIR "/exit", &c) < 0)
			goto lost;
		if (c.status == 404)
			run_log_note(&h->log, "store env was not captured: did the "
				    "script replace the EXIT trap and exit, "
				    "or exec?");
		goto out;
	}
	ret = COLLECT_OK;
	goto out;
bad:
	snprintf(out->message, sizeof(out->message),
		 "store env: the Docker engine sent a bad archive: %s",
		 archive_error_string(a) ? archive_error_string(a) : "?");
	goto out;
lost:
	snprintf(reason, rlen, "%s", c.reason);
	ret = COLLECT_LOST;
out:
	if (a)
		archive_read_free(a);
	free(chunk);
	call_release(&c);
	buf_release(&val);
	return ret;
}

/*
 * The run's RUN_DISPLAY_FILE into *f when it wrote one; a missing or
 * unusable one is no error of the run.  COLLECT_OK or COLLECT_LOST.
 */
static int
collect_display(struct run_handle *h, struct runner_file *f, int64_t *total,
		struct run_result *out, char *reason, size_t rlen)
{
	char msg[sizeof(out->message)];
	int ret;

	if (!runner_display_wanted(&h->store_files))
		return COLLECT_OK;
	memcpy(msg, out->message, sizeof(msg));
	ret = collect_file(h, RUN_DISPLAY_FILE, &f->src, total, out, reason,
			   rlen);
	memcpy(out->message, msg, sizeof(msg));
	if (ret == COLLECT_OK)
		f->path = xstrdup(RUN_DISPLAY_FILE);
	return ret == COLLECT_LOST ? ret : COLLECT_OK;
}

/* After success: the store files and env into out. */
static int
collect(struct run_handle *h, struct run_result *out, char *reason,
	size_t rlen)
{
	struct runner_file *files;
	struct runner_env *env;
	int64_t total = 0;
	size_t i;
	int ret = COLLECT_OK;

	files = xcalloc(h->store_files.n + 1, sizeof(*files));
	env = xcalloc(h->store_env.n + 1, sizeof(*env));
	for (i = 0; i < h->store_files.n && ret == COLLECT_OK; i++) {
		ret = collect_file(h, h->store_files.v[i], &files[i].src,
				   &total, out, reason, rlen);
		if (ret == COLLECT_OK)
			files[i].path = xstrdup(h->store_files.v[i]);
	}
	if (ret == COLLECT_OK && h->store_env.n)
		ret = collect_env(h, env, out, reason, rlen);
	if (ret == COLLECT_OK)
		ret = collect_display(h, &files[h->store_files.n], &total, out,
				      reason, rlen);
	if (ret == COLLECT_OK) {
		out->files = files;
		out->nfiles = h->store_files.n +
			      (files[h->store_files.n].path != NULL);
		out->env = env;
		out->nenv = h->store_env.n;
		return ret;
	}
	for (i = 0; i < h->store_files.n; i++) {
		free(files[i].path);
		free(files[i].src);
	}
	for (i = 0; i < h->store_env.n; i++) {
		free(env[i].name);
		free(env[i].value);
	}
	free(files);
	free(env);
	return ret;
}

/*
 * Why a container that failed by itself ended: 1 when the kernel killed it
 * for memory, 0 when nothing more is known, -1 (reason set) when the
 * engine cannot be asked any more.
 */
static int
exit_cause(struct run_handle *h, char *reason, size_t len)
{
	struct buf path = BUF_INIT;
	struct call c;
	json_t *j = NULL, *oom;
	int ret = 0;

	buf_addf(&path, "/containers/%s/json", h->id);
	call_init(&c, "GET", path.ptr);
	if (call_do(&h->eng, &c) < 0) {
		snprintf(reason, len, "%s", c.reason);
		ret = -1;
		goto out;
	}
	if (c.status != 200)
		goto out;
	j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	oom = json_object_get(json_object_get(j, "State"), "OOMKilled");
	if (json_is_true(oom))
		ret = 1;
out:
	json_decref(j);
	call_release(&c);
	buf_release(&path);
	return ret;
}

static int64_t
min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	return a < b ? a : b;
}

/*
 * Follow the run to its end: the attach stream into the log, the wait
 * answer, kill requests, the timeout.  The output may still come in after
 * the exit: it is taken until the stream ends or stays quiet DRAIN_MS.
 */
static int
docker_wait(struct run_handle *h, struct run_result *out)
{
	struct curl_waitfd kfd;
	struct buf path = BUF_INIT, wbody = BUF_INIT, m = BUF_INIT;
	char wait_errbuf[CURL_ERROR_SIZE];
	char reason[CURL_ERROR_SIZE + 128], dur[32];
	struct curl_slist *hdrs = NULL;
	CURL *wt = NULL;
	CURLMsg *msg;
	CURLcode wait_rc = CURLE_OK;
	enum why_stop why = STOP_NONE;
	bool wait_done = false, lost = false;
	int64_t now, t, kill_at = -1, wait_done_at = -1, quiet_until;
	long wait_status = 0;
	json_t *j = NULL, *sc;
	uint64_t cnt;
	size_t i;
	int running, q, ret = -1;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	if (multi_get(h) < 0)
		goto out;

	buf_addf(&path, "%s/containers/%s/wait", h->eng.prefix, h->id);
	wt = easy_new(&h->eng, "POST", path.ptr, wait_errbuf);
	if (!wt) {
		err_set("run %lld: cannot set up libcurl",
			(long long)h->run_id);
		goto out;
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(wt, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(wt, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(wt, CURLOPT_POSTFIELDSIZE, 0L);
	curl_easy_setopt(wt, CURLOPT_WRITEFUNCTION, buf_cb);
	curl_easy_setopt(wt, CURLOPT_WRITEDATA, &wbody);
	curl_multi_add_handle(h->multi, wt);

	for (;;) {
		curl_multi_perform(h->multi, &running);
		while ((msg = curl_multi_info_read(h->multi, &q))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			if (msg->easy_handle == wt) {
				wait_done = true;
				wait_rc = msg->data.result;
			} else if (msg->easy_handle == h->out) {
				h->out_done = true;
				h->out_rc = msg->data.result;
			}
		}
		now = now_ms();
		if (wait_done && wait_done_at < 0)
			wait_done_at = now;
		if (wait_done && wait_rc != CURLE_OK)
			break; /* the engine is gone, and the output with it */
		quiet_until = (h->out_last_ms > wait_done_at ?
				       h->out_last_ms :
				       wait_done_at) +
			      DRAIN_MS;
		if (wait_done && (!h->out || h->out_done || now >= quiet_until))
			break;
		if (why == STOP_NONE && h->deadline_ms &&
		    now >= h->deadline_ms) {
			why = STOP_TIMEOUT;
			duration_format(dur, sizeof(dur), h->timeout_ms);
			note_later(h, "timed out after %s", dur);
			kill_at = now;
			if (kill_container(h, reason, sizeof(reason)) < 0) {
				lost = true;
				break;
			}
			continue;
		}
		if (kill_at >= 0 && !wait_done &&
		    now >= kill_at + KILL_WAIT_MS) {
			duration_format(dur, sizeof(dur), KILL_WAIT_MS);
			snprintf(reason, sizeof(reason),
				 "the container did not stop %s after it was "
				 "killed",
				 dur);
			lost = true;
			break;
		}

		t = POLL_MAX_MS;
		if (why == STOP_NONE && h->deadline_ms)
			t = min_wait(t, h->deadline_ms - now);
		if (kill_at >= 0 && !wait_done)
			t = min_wait(t, kill_at + KILL_WAIT_MS - now);
		if (wait_done)
			t = min_wait(t, quiet_until - now);
		if (t < 0)
			t = 0;
		kfd.fd = h->kill_fd;
		kfd.events = CURL_WAIT_POLLIN;
		kfd.revents = 0;
		curl_multi_poll(h->multi, why == STOP_NONE ? &kfd : NULL,
				why == STOP_NONE ? 1 : 0, (int)t, NULL);
		if (why == STOP_NONE && kfd.revents) {
			if (read(h->kill_fd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			why = STOP_KILLED;
			note_later(h, "killed");
			kill_at = now_ms();
			if (kill_container(h, reason, sizeof(reason)) < 0) {
				lost = true;
				break;
			}
		}
	}

	/* the output stream broke while the engine answered the wait */
	if (!lost && wait_rc == CURLE_OK && h->out && h->out_done &&
	    h->out_rc != CURLE_OK) {
		transfer_reason(h->out, h->out_rc, h->out_errbuf, reason,
				sizeof(reason));
		note_later(h, "the output stream broke: %s", reason);
	}
	run_log_flush(&h->log);
	for (i = 0; i < h->notes.n; i++)
		run_log_note(&h->log, "%s", h->notes.v[i]);

	if (!lost && wait_rc != CURLE_OK) {
		transfer_reason(wt, wait_rc, wait_errbuf, reason,
				sizeof(reason));
		lost = true;
	}
	if (!lost) {
		curl_easy_getinfo(wt, CURLINFO_RESPONSE_CODE, &wait_status);
		if (wait_status != 200) {
			answer_text(wait_status, wbody.ptr, wbody.len, &m);
			snprintf(reason, sizeof(reason),
				 "waiting for container %s: %s", h->id12,
				 m.ptr);
			lost = true;
		}
	}
	if (!lost) {
		j = json_loadb(wbody.ptr, wbody.len, 0, NULL);
		sc = json_object_get(j, "StatusCode");
		if (!json_is_integer(sc)) {
			snprintf(reason, sizeof(reason),
				 "the wait for container %s ended without an "
				 "exit code",
				 h->id12);
			lost = true;
		} else {
			out->exit_code = (int)json_integer_value(sc);
		}
	}

	if (lost) {
		result_lost(h, out, reason);
	} else if (why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		out->exit_code = -1;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		out->exit_code = -1;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (out->exit_code == 0) {
		out->outcome = RUN_SUCCESS;
		switch (collect(h, out, reason, sizeof(reason))) {
		case COLLECT_OK:
			break;
		case COLLECT_FAILED:
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
			break;
		default:
			result_lost(h, out, reason);
			break;
		}
	} else {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 out->exit_code);
		switch (exit_cause(h, reason, sizeof(reason))) {
		case 1:
			snprintf(out->message, sizeof(out->message),
				 "exit code %d (out of memory)",
				 out->exit_code);
			break;
		case -1:
			result_lost(h, out, reason);
			break;
		}
	}
	/*
	 * A kept container's env is there for anyone who can run `docker
	 * inspect`, and the engine cannot scrub it: a run that was given a
	 * password is removed, kept_failed or not.
	 */
	if (out->outcome != RUN_SUCCESS && h->keep_failed && h->secret_env) {
		run_log_note(&h->log,
			     "container %s not kept for inspection: its "
			     "environment holds a password input",
			     h->id12);
	} else if (out->outcome != RUN_SUCCESS && h->keep_failed) {
		h->keep = true;
		run_log_note(&h->log, "container %s kept for inspection", h->id12);
	}
	ret = 0;
out:
	if (wt) {
		curl_multi_remove_handle(h->multi, wt);
		curl_easy_cleanup(wt);
	}
	curl_slist_free_all(hdrs);
	json_decref(j);
	buf_release(&path);
	buf_release(&wbody);
	buf_release(&m);
	return ret;
}

/* Safe from any thread: wait() sees the eventfd and kills the container. */
static int
docker_kill(struct run_handle *h)
{
	uint64_t one = 1;

	if (write(h->kill_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return err_set("run %lld: cannot signal the waiter: %s",
			       (long long)h->run_id, strerror(errno));
	return 0;
}

void
docker_detach(struct run_handle *h)
{
	h->keep = true;
}

/* Removes the container unless kept; the thread's error stays as it was. */
static void
docker_free(struct run_handle *h)
{
	char *saved;

	if (!h)
		return;
	if (h->id && !h->keep) {
		saved = xstrdup(err_msg());
		if (remove_container(h) < 0) {
			log_warnx("runner: run %lld: container %s: %s (to be "
				  "removed when the engine answers again)",
				  (long long)h->run_id, h->id12, err_msg());
			leftover_add(h);
		}
		err_set("%s", saved);
		free(saved);
	}
	if (h->kill_fd >= 0)
		close(h->kill_fd);
	masker_free(h->log.masker);
	strvec_clear(&h->store_files);
	strvec_clear(&h->store_env);
	if (h->out) {
		if (h->multi)
			curl_multi_remove_handle(h->multi, h->out);
		curl_easy_cleanup(h->out);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->out_hdrs);
	buf_release(&h->out_err);
	strvec_clear(&h->notes);
	free(h->eng.socket);
	free(h->id);
	free(h->run_dir);
	free(h);
}

const struct runner_ops runner_docker = {
	.name = "docker",
	.start = docker_start,
	.wait = docker_wait,
	.kill = docker_kill,
	.free = docker_free,
	.adopt = docker_adopt,
};
