/*
 * webhook-int.h - shared by the files of webhook/: the request, the route
 * tables, the reply helpers.
 */
#ifndef SCAFFOLD_WEBHOOK_INT_H
#define SCAFFOLD_WEBHOOK_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>

#include "webhook.h"

/* Request bodies beyond this get 413. */
#define HTTP_MAX_BODY (25u << 20)
#define HTTP_MAX_PARAMS 4

struct http_server {
	struct MHD_Daemon *mhd;
	const struct config *cf;
	const struct http_hooks *hooks;
	int port;
	/* the repos' webhook secrets, read once at start; NULL: none */
	struct buf *secrets; /* [cf->nrepos] */
	/* counters for /metrics */
	atomic_llong deliveries[3][5]; /* [forge][result], see http.c */
	pthread_mutex_t mlock;	       /* guards syncs */
	struct sync_stat *syncs;       /* [cf->nrepos] */
};

struct sync_stat {
	int64_t count, failures;
	int64_t sum_ms, last_ms;
};

/* One request, from its first callback to its completion. */
struct req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	/* the {name} segments of the route, decoded, in order */
	char *params[HTTP_MAX_PARAMS];
	size_t nparams;
	struct buf body;
	int too_big;
	enum role role;
	/* the reply */
	int code;
	struct buf out;
	const char *ctype;
	struct MHD_Response *resp; /* a prepared one (streams), or NULL */
	int done;
};

typedef void (*route_fn)(struct req *r);
struct route {
	const char *method;
	const char *pattern; /* "/api/v1/runs/{id}/log": {x} is a segment */
	enum role need;	     /* ROLE_NONE: public (see public_status) */
	int page;	     /* a status page: public unless public_status: false */
	route_fn fn;
};
extern const struct route hook_routes[];
extern const struct route api_routes[];
extern const struct route ui_routes[]; /* the status pages, ui.c */

/* The calling thread's store and scheduler (opened on first use), or NULL
 * with the reply already set to 500. */
struct store *req_store(struct req *r);
struct sched *req_sched(struct req *r);

const char *req_header(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);

/* Replies; each replaces any earlier one. */
void reply_json(struct req *r, int code, json_t *body); /* steals body */
/*
 * The message of an error answer (a page or the API), in out, as the
 * world may see it: every spelling of the data dir's path is "$DATA_DIR",
 * so no page tells where scaffold keeps its state.  A 5xx message goes
 * whole to the daemon's log (code 0: a message inside a page, not
 * logged: it is there on every view).  reply_error
 * and ui_fail pass their messages through it.
 */
void http_public_msg(struct req *r, int code, struct buf *out,
		     const char *msg);
void reply_error(struct req *r, int code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
void reply_data(struct req *r, int code, const char *ctype, const void *data,
		size_t len);

/* Count a webhook delivery for /metrics. */
enum { FORGE_GITHUB, FORGE_GITLAB, FORGE_GITEA };
enum { DLV_ACCEPTED, DLV_DUPLICATE, DLV_IGNORED, DLV_UNAUTHORIZED,
       DLV_REJECTED };
extern const char *const forge_names[3];
extern const char *const delivery_results[5];
void http_count_delivery(struct http_server *h, int forge, int result);

/*
 * A push payload of forge (FORGE_*), parsed (hooks.c).  ref, after, project
 * and urls point into json, which the struct owns; after, project and urls
 * entries are NULL when absent.  On failure, status is the HTTP status to
 * answer (400, 415) and error the message.  Release with
 * hooks_push_release whatever hooks_parse_push returned.
 */
struct hooks_push {
	json_t *json;
	const char *ref;
	const char *after;
	const char *project;
	const char *urls[4];
	size_t nurls;
	int status;
	struct buf error;
};
/* Parse body (len bytes, no NUL needed) sent with content_type (NULL:
 * none): 0, or -1 with out->status and out->error set.  Pure: no I/O. */
int hooks_parse_push(struct hooks_push *out, int forge,
		     const char *content_type, const char *body, size_t len);
void hooks_push_release(struct hooks_push *p);

/*
 * sse.c: a log as server-sent events.  A line ends as the WHATWG
 * event-stream parser ends one: at "\r\n", "\n" or a bare "\r", so that
 * no byte of a log can start a field (a task printing "\revent: end" must
 * not end the stream).  Pure: no I/O.
 *
 * sse_data_lines: append a "data: LINE" line for each complete line of
 * in (len bytes, any byte), then the blank line that makes them one event
 * (nothing when in holds no complete line).  *cr says whether the input
 * before in ended with "\r" (then a "\n" that starts in closes nothing);
 * updated.  Returns the bytes taken; the rest is an unfinished line, to be
 * passed again, with what follows it, in the next call.
 */
size_t sse_data_lines(struct buf *out, bool *cr, const char *in, size_t len);
/* Append one event of that type (NULL: a message) whose data is data
 * (len bytes), split into data: lines as above. */
void sse_event(struct buf *out, const char *type, const char *data,
	       size_t len);

#endif
