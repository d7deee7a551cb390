/*
 * engine.h - the Docker Engine API client shared by the runners that speak
 * it ("docker" on one engine, "swarm" on a swarm's manager): HTTP over the
 * engine's unix socket or a TCP URL with TLS client certificates (libcurl),
 * JSON answers (jansson), the 8-byte multiplexed stream of attach and logs.
 * The only file of runner/ that includes curl.h.
 *
 * Errors: 0 or -1 with err_set(); messages name the engine ("cannot reach
 * the Docker engine at '...': ...").
 */
#ifndef SCAFFOLD_RUNNER_ENGINE_H
#define SCAFFOLD_RUNNER_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/common.h"

#define ENGINE_DEFAULT_SOCKET "/var/run/docker.sock"
#define ENGINE_ANSWER_MAX (16 << 20) /* a JSON answer */
#define ENGINE_IDLE_TIMEOUT_S 300    /* an answer silent for so long */

/* Where an engine is: a unix socket, or a URL (http:// or https://). */
struct engine_addr {
	const char *socket; /* NULL with url NULL: ENGINE_DEFAULT_SOCKET */
	const char *url;    /* "https://manager:2376" */
	const char *ca;	    /* TLS: CA bundle, client cert and key files */
	const char *cert;
	const char *key;
};

/* An engine and the API version agreed on. */
struct engine {
	char *where;  /* the socket path or the URL, for messages */
	char *socket; /* one of socket and url is set */
	char *url;
	char *ca, *cert, *key;
	char prefix[16]; /* "/v1.41" */
};

/*
 * Connect to the engine at addr and agree on an API version: the engine's
 * own, or the newest scaffold knows (1.41) when the engine's is newer.
 * Release with engine_release() (also after a failure).
 */
int engine_open(struct engine *eng, const struct engine_addr *addr);
void engine_release(struct engine *eng);

/* One request and its answer. */
struct engine_call {
	const char *method; /* GET POST PUT DELETE HEAD */
	const char *path;   /* below the version prefix: "/containers/create" */
	bool unversioned;   /* path is from the root (GET /version) */
	const char *ctype;  /* of the body */
	const void *body;
	size_t body_len;
	long idle_s;	 /* give up after so long silent; 0: default */
	int64_t max;	 /* largest answer kept; 0: ENGINE_ANSWER_MAX */

	long status;	 /* the answer's HTTP status */
	struct buf resp; /* its body */
	struct buf stat; /* its X-Docker-Container-Path-Stat header */
	bool too_big;
	char reason[320]; /* why there is no answer */
};
void engine_call_init(struct engine_call *c, const char *method,
		      const char *path);
void engine_call_release(struct engine_call *c);
/*
 * Send c and take its answer (whatever its status).  -1 with err_set()
 * ("cannot reach the Docker engine at ...") and c->reason set when there
 * is no answer; a too big answer is an answer with c->too_big.
 */
int engine_call_do(const struct engine *eng, struct engine_call *c);

/* The message of an error answer: its JSON "message", else its body. */
void engine_answer_text(long status, const char *body, size_t blen,
			struct buf *out);
void engine_answer_message(const struct engine_call *c, struct buf *out);
/*
 * err_set() for an error answer: "what: message", or the engine's message
 * as it is when the engine is out of disk space.  Returns -1.
 */
int engine_answer_error(const struct engine_call *c, const char *what);
/*
 * DELETE container id (and its anonymous volumes), even running; gone
 * already is no error.  0, or -1 with err_set (the engine unreachable:
 * engine_call_do's error).
 */
int engine_container_remove(const struct engine *eng, const char *id);
/*
 * GET the list what ("/containers/json?all=1", "/configs") of the objects
 * labelled scaffold.run=run_id (and scaffold.instance=instance, unless
 * empty) into c, which this initialises (the caller releases it).
 * engine_call_do's result.
 */
int engine_list_of_run(const struct engine *eng, const char *what,
		       int64_t run_id, const char *instance,
		       struct engine_call *c);
/* The answer's body as JSON (new reference), or NULL with err_set(). */
json_t *engine_answer_json(const struct engine_call *c, const char *what);

/* Append s percent-encoded for a URL; bytes in keep pass as they are. */
void engine_url_escape(struct buf *b, const char *s, const char *keep);
/* Standard padded base64 of data (caller frees). */
char *engine_base64_encode(const void *data, size_t len);
/* Decode base64; -1 when malformed. */
int engine_base64_decode(struct buf *out, const char *s, size_t len);
/* "2026-11-22T12:07:26.123456789Z" → ms since the epoch; -1 if not. */
int64_t engine_time_ms(const char *s);

/*
 * The 8-byte framing of attach and logs (stream, 0, 0, 0, length
 * big-endian, then the payload): engine_demux_feed() hands each payload
 * piece to fn with its stream (1 stdout, 2 stderr).
 */
struct engine_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	uint32_t left;
	int stream;
};
typedef void (*engine_data_fn)(void *arg, int stream, const char *data,
			       size_t len);
void engine_demux_feed(struct engine_demux *d, const char *data, size_t len,
		       engine_data_fn fn, void *arg);

/*
 * Long transfers driven together (an attach or a log stream beside a
 * wait), polled with an eventfd of the caller's.
 */
struct engine_set;
struct engine_xfer;
/* Body bytes of an answer 2xx; other answers are kept (the first 4 KiB). */
typedef void (*engine_body_fn)(void *arg, const char *data, size_t len);

struct engine_set *engine_set_new(void); /* NULL: out of resources */
void engine_set_free(struct engine_set *s);
/*
 * Start method path (below the prefix) in s; body_fn NULL: the answer is
 * kept (engine_xfer_body).  NULL with err_set when libcurl cannot.
 */
struct engine_xfer *engine_xfer_start(struct engine_set *s,
				      const struct engine *eng,
				      const char *method, const char *path,
				      engine_body_fn body_fn, void *arg);
/* Remove x from s and free it; NULL is a no-op. */
void engine_xfer_free(struct engine_set *s, struct engine_xfer *x);
/*
 * Wait (at most timeout_ms) until x's answer has come: 0 when it is 2xx,
 * else -1 with err_set ("what: message", or the engine unreachable).
 */
int engine_xfer_answered(struct engine_set *s, struct engine_xfer *x,
			 const char *what, int64_t timeout_ms);
/* Move the transfers on (never blocks). */
void engine_set_run(struct engine_set *s);
/*
 * Block until a transfer has something, fd (>= 0) is readable (then
 * *fd_ready), or timeout_ms.
 */
void engine_set_poll(struct engine_set *s, int fd, int timeout_ms,
		     bool *fd_ready);
bool engine_xfer_done(const struct engine_xfer *x);
/* Done with a transfer error (not an HTTP status): reason in out. */
bool engine_xfer_broke(const struct engine_xfer *x, char *out, size_t len);
long engine_xfer_status(const struct engine_xfer *x);
const struct buf *engine_xfer_body(const struct engine_xfer *x);
int64_t engine_xfer_last_ms(const struct engine_xfer *x); /* data came */

/* Monotonic milliseconds. */
int64_t engine_now_ms(void);

#endif
