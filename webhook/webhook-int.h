/*
 * webhook-int.h - shared by the files of webhook/: the request, the route
 * tables, the reply helpers.
 */
#ifndef SCAFFOLD_WEBHOOK_INT_H
#define SCAFFOLD_WEBHOOK_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "webhook.h"

/*
 * Body limits (docs/api.md): a route's max_body, else HTTP_MAX_JSON; the
 * webhooks HTTP_MAX_HOOK (a push payload lists at most 20 commits on
 * GitHub, GitLab and Gitea: tens of KiB, a few MiB with thousands of
 * paths); file uploads go to disk, capped by limits.store_file.  What all
 * requests hold in memory at once is capped by HTTP_MAX_BUFFERED (503).
 */
#define HTTP_MAX_JSON ((size_t)1 << 20)
#define HTTP_MAX_HOOK ((size_t)5 << 20)
#define HTTP_MAX_BUFFERED ((long long)64 << 20)
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
	/* body bytes held in memory by all requests (HTTP_MAX_BUFFERED) */
	atomic_llong buffered;
	struct guard *guard; /* the connections, http-guard.c */
	pthread_mutex_t mlock;	       /* guards syncs */
	struct sync_stat *syncs;       /* [cf->nrepos] */
};

struct sync_stat {
	int64_t count, failures;
	int64_t sum_ms, last_ms;
};

struct route;

/* One request, from its request line to its completion. */
struct req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	int bad_target;	      /* the raw target broke a rule: 400 */
	struct buf target_err; /* and why */
	int head_done;	      /* the head was screened, routed, admitted */
	const struct route *route;
	/* the {name} segments of the route, decoded, in order */
	char *params[HTTP_MAX_PARAMS];
	size_t nparams;
	/* the body: in memory (body, counted in srv->buffered as reserved),
	 * or, for a streamed route, in the file upload_path (upload_fd) */
	struct buf body;
	size_t max_body;
	long long reserved;
	uint64_t received;
	int upload_fd;
	struct buf upload_path;
	struct sha256_ctx *upload_hash; /* of what upload_fd holds so far */
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
	/* the largest body taken, in memory; 0: HTTP_MAX_JSON;
	 * HTTP_STREAM_BODY: streamed to a file, up to limits.store_file */
	size_t max_body;
	/* called with the headers, before any body byte is read: may reply
	 * (a webhook without its proof); NULL: nothing to check */
	route_fn head;
};
#define HTTP_STREAM_BODY ((size_t)-1)
extern const struct route hook_routes[];
extern const struct route api_routes[];
extern const struct route ui_routes[]; /* the status pages, ui.c */

/* The calling thread's store and scheduler (opened on first use), or NULL
 * with the reply already set to 500. */
struct store *req_store(struct req *r);
struct sched *req_sched(struct req *r);

/* A streamed body (HTTP_STREAM_BODY), made a blob of the store without a
 * copy: out its SHA-256, *size its length; -1 with err_set. */
int req_upload_store(struct req *r, char out[SHA256_HEX_LEN + 1],
		     int64_t *size);

const char *req_header(struct req *r, const char *name);
const char *req_query(struct req *r, const char *name);

/* Replies; each replaces any earlier one. */
void reply_json(struct req *r, int code, json_t *body); /* steals body */
void reply_error(struct req *r, int code, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
void reply_data(struct req *r, int code, const char *ctype, const void *data,
		size_t len);

/*
 * The header screening (http-screen.c), pure: 0 when the head keeps the
 * rules, else the status to answer (400) with the reason added to out.
 * http_screen_target takes the request target as sent, before
 * percent-decoding; http_screen_head the header fields, as received.
 */
struct http_field {
	const char *name;
	size_t name_len;
	const char *value;
};
int http_screen_target(const char *raw, struct buf *out);
int http_screen_head(const struct http_field *f, size_t n, struct buf *out);

/*
 * The connections (http-guard.c): deadlines for the request head and body,
 * and room for new connections when too many are half-sent or idle.
 */
enum guard_state {
	GUARD_IDLE,	/* no request yet, or between requests */
	GUARD_HEAD,	/* a request line came, the headers are not complete */
	GUARD_BODY,	/* the body is coming */
	GUARD_BUSY,	/* being answered */
};
struct guard;
struct guard *guard_new(int64_t head_ms, int64_t body_grace_ms,
			int64_t body_rate);
void guard_free(struct guard *g); /* NULL: no-op */
/* the libmicrohttpd callbacks (MHD_OPTION_NOTIFY_CONNECTION and
 * MHD_OPTION_APPLY_POLICY), with the guard as their cls */
void guard_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
		  enum MHD_ConnectionNotificationCode code);
enum MHD_Result guard_accept(void *cls, const struct sockaddr *addr,
			     socklen_t addrlen);
void guard_set(struct MHD_Connection *conn, enum guard_state state);
void guard_body(struct MHD_Connection *conn, size_t n);

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

#endif
