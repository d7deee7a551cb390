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
	/* the repos' webhook secrets, read at start and at each reload;
	 * empty: none.  cf, secrets and syncs change together, under mlock;
	 * a request reads its own copy of cf and secrets (struct req) */
	struct buf *secrets; /* [cf->nrepos] */
	/* what reloads replaced, freed by http_stop: requests may hold them */
	struct http_gen {
		const struct config *cf;
		struct buf *secrets;
		struct sync_stat *syncs;
	} *old;
	size_t nold, aold;
	/* counters for /metrics */
	atomic_llong deliveries[3][5]; /* [forge][result], see http.c */
	/* body bytes held in memory by all requests (HTTP_MAX_BUFFERED) */
	atomic_llong buffered;
	/* retention (the daemon's gc, http_note_gc) for /metrics */
	atomic_llong data_bytes, gc_freed, gc_runs, gc_blobs, gc_at;
	struct guard *guard; /* the connections, http-guard.c */
	struct login_limit *login_limit; /* failed sign-ins, login-limit.c */
	pthread_mutex_t mlock;	       /* guards syncs, cf, secrets */
	struct sync_stat *syncs;       /* [cf->nrepos] */
	/* plans being computed, plan-gate.c */
	pthread_mutex_t plan_lock;
	pthread_cond_t plan_cond;
	int plans;
};

/*
 * At most PLAN_GATE_MAX plans are computed at once (plan-gate.c);
 * plan_gate_enter waits PLAN_GATE_WAIT_MS for a turn, then fails (-1, the
 * message set: answer 503).  Each successful enter takes one leave.
 */
#define PLAN_GATE_MAX 2
#define PLAN_GATE_WAIT_MS 2000
void plan_gate_init(struct http_server *h);
void plan_gate_release(struct http_server *h);
int plan_gate_enter(struct http_server *h);
void plan_gate_leave(struct http_server *h);

struct sync_stat {
	int64_t count, failures;
	int64_t sum_ms, last_ms;
};

struct route;

/* One request, from its request line to its completion. */
struct req {
	struct http_server *srv;
	/* the config and webhook secrets when the request came (a reload
	 * replaces the server's; these stay valid until http_stop) */
	const struct config *cf;
	const struct buf *secrets; /* [cf->nrepos] */
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
	/* the name of the token whose browser session authenticated the
	 * request ("" for none: anonymous, or a bearer token) */
	char session_token[64];
	/* the reply */
	int code;
	struct buf out;
	const char *ctype;
	struct MHD_Response *resp; /* a prepared one (streams), or NULL */
	int done;
};

/*
 * What a route shows, for public_status (auth.c decides):
 *   PAGE_API    not a page: a role as its need says, from a bearer token
 *   PAGE_STATE  states, the DAG, revisions: public unless "none"
 *   PAGE_DETAIL logs, stored files, .display, env names, input values:
 *               public only with "full"
 *   PAGE_OPEN   always public (/healthz, /login, ui.js)
 * A page is PAGE_STATE, PAGE_DETAIL or PAGE_OPEN; a browser session
 * (cookie) counts for GET and HEAD on pages only.
 */
enum page_class { PAGE_API, PAGE_STATE, PAGE_DETAIL, PAGE_OPEN };

typedef void (*route_fn)(struct req *r);
struct route {
	const char *method;
	const char *pattern; /* "/api/v1/runs/{id}/log": {x} is a segment */
	enum role need;	     /* ROLE_NONE: public (see public_status) */
	enum page_class page;
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

/*
 * Who may see what (auth.c).
 *
 * auth_need: the role a route needs under the config's public_status.
 * auth_request: the request's role, from its bearer token or (GET and HEAD
 * of a page) its session cookie; 0, or -1 with a reply set (a bad bearer
 * token: 401).  An unknown, expired or revoked cookie is no error: the
 * request is anonymous.
 * auth_refuse: the reply to a request whose role is below need: an
 * anonymous browser asking for a page is sent to /login?next=PATH (303);
 * others get 401 or 403 with a JSON error.
 * auth_may_see: may the request see what a page of class c shows (the
 * pages of summary mode leave out what it may not).
 */
enum role auth_need(const struct route *rt, const struct config *cf);
int auth_request(struct req *r, const struct route *rt);
void auth_refuse(struct req *r, const struct route *rt, enum role need);
int auth_may_see(const struct req *r, enum page_class c);

/* Reply 303 to next, a path of this site (auth_next_ok; else "/"),
 * relative to /login, with a Set-Cookie value if cookie. */
void auth_redirect(struct req *r, const char *next, const char *cookie);

/* The browser session's cookie. */
#define AUTH_COOKIE "scaffold_session"
/*
 * Is next a path of this site to send a browser to after /login: one
 * "/" then no second "/" or "\\" at its start, no scheme, no control
 * characters or spaces, at most 2048 bytes.  1 or 0.  Pure.
 */
int auth_next_ok(const char *next);
/*
 * Start a session for token (sign-in): *out gets the session id (the
 * cookie's value; the store keeps its SHA-256) and *out_name the token's
 * name (free it).  ERR_AUTH when the token is not valid.
 */
int auth_session_start(struct store *st, const char *token,
		       int64_t lifetime_ms, struct buf *out, char **out_name);
/* End the session of a cookie value (sign-out); an unknown one is fine. */
int auth_session_end(struct store *st, const char *id);
/* The Set-Cookie value for id (NULL: one that clears the cookie). */
void auth_cookie(struct buf *out, const struct config *cf, const char *id);
/* Did a browser's POST come from a page of this site (Origin, else
 * Referer; neither: not a browser, 1)?  1 or 0. */
int auth_same_origin(struct req *r);
/* The client's address as text, for the log. */
void auth_peer(struct req *r, char out[64]);
/* "../../" from the request's path back to "/". */
void auth_root(struct buf *out, const char *path);

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
 * The files def's tasks load from the cascade's file store that the store
 * does not have (view.c): fn(arg, task, file) for each, in task order.
 * 0, or -1 (err_set) when the store cannot be read.
 */
struct cascade;
int view_missing_files(struct store *st, int64_t cascade_id,
		       const struct cascade *def,
		       void (*fn)(void *arg, const char *task,
				  const char *file),
		       void *arg);

/*
 * Failed sign-ins per source address (login-limit.c): LOGIN_BURST
 * failures, then one more every LOGIN_REFILL_MS.  login_limit_check: 1 when
 * the address must wait (answer 429, Retry-After *retry_after seconds;
 * *log_it for the first refusal of that wait), else 0.  login_limit_fail
 * counts one failure.  IPv6 addresses count per /64; an address-less
 * connection is never limited.  The _at forms take the time (ms of
 * CLOCK_MONOTONIC), for the tests.
 */
#define LOGIN_BURST 5
#define LOGIN_REFILL_MS (60 * 1000 / LOGIN_BURST)
struct login_limit;
struct sockaddr;
struct login_limit *login_limit_new(void);
void login_limit_free(struct login_limit *l); /* NULL: no-op */
int login_limit_check(struct login_limit *l, const struct sockaddr *sa,
		      int *retry_after, int *log_it);
void login_limit_fail(struct login_limit *l, const struct sockaddr *sa);
int login_limit_check_at(struct login_limit *l, const struct sockaddr *sa,
			 int64_t now, int *retry_after, int *log_it);
void login_limit_fail_at(struct login_limit *l, const struct sockaddr *sa,
			 int64_t now);

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
	/* a pull request event (hooks_parse_event with pull): its action;
	 * for the actions that bring a head (opened, synchronize(d),
	 * reopened; GitLab's open, update, reopen: new_head 1) its number
	 * (GitLab's iid), head commit and base branch, checked */
	const char *action;
	int new_head;
	/* closed (GitHub's and Gitea's closed, GitLab's close and merge):
	 * "closed" or "merged", with number and head checked as above */
	const char *closed;
	/* edited that changed the base (GitHub's changes.base, Gitea's
	 * changes.ref): new_head is 1 too; edited otherwise: 0 */
	int base_edited;
	int64_t number;
	const char *head;
	const char *base;
};
/* Parse body (len bytes, no NUL needed) sent with content_type (NULL:
 * none): 0, or -1 with out->status and out->error set.  Pure: no I/O. */
int hooks_parse_push(struct hooks_push *out, int forge,
		     const char *content_type, const char *body, size_t len);
void hooks_push_release(struct hooks_push *p);
/* The same for a push (pull 0) or a pull request event (pull 1: GitHub's
 * and Gitea's pull_request, GitLab's Merge Request Hook; no 'ref' needed;
 * the repository is the base repository, the one the pull request goes
 * into; a head-bringing action needs its number 1 to 999999999, its head
 * commit of 40 hex digits and its base branch, else 400). */
int hooks_parse_event(struct hooks_push *out, int forge, int pull,
		      const char *content_type, const char *body, size_t len);

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
