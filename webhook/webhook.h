/*
 * webhook.h - the HTTP side of scaffold serve (libmicrohttpd): forge
 * webhooks, the JSON API, the status pages, /metrics and /healthz; and API
 * tokens.  The daemon starts it with the hooks it lends: the HTTP threads
 * touch only their own store connections and reach the daemon's threads
 * through these.
 */
#ifndef SCAFFOLD_WEBHOOK_H
#define SCAFFOLD_WEBHOOK_H

#include "../common/common.h"
#include "../reconciler/reconciler.h"

/* What the daemon lets the HTTP side ask of it; called from HTTP threads. */
struct http_hooks {
	void *arg;
	/* fetch and reconcile the repo (config name) now */
	void (*sync)(void *arg, const char *repo);
	/* something may have become ready to run, or a kill was requested */
	void (*wake)(void *arg);
};

struct http_server;

/*
 * Listen on cf->listen ("HOST:PORT", "[V6]:PORT", ":PORT"; port 0 picks
 * one).  The config and hooks must outlive the server.
 */
int http_start(struct http_server **out, const struct config *cf,
	       const struct http_hooks *hooks);
/* The port listened on. */
int http_port(const struct http_server *h);
/* Stop: waits for the request threads to end.  NULL is a no-op. */
void http_stop(struct http_server *h);

/* Time a repo's sync took, for /metrics (called by the daemon). */
void http_note_sync(struct http_server *h, const char *repo,
		    int64_t duration_ms, int ok);

/* API roles, each allowed what the ones before it are. */
enum role { ROLE_NONE, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };
const char *role_name(enum role r);
/* -1 for an unknown name. */
int role_parse(const char *name, enum role *out);

/*
 * Create a token: *out gets the token text (shown once; the store keeps a
 * salted hash).  ERR_CONFLICT when the name is taken.
 */
int token_create(struct store *st, const char *name, enum role role,
		 struct buf *out);
/* The role of a presented token; ERR_AUTH when it is not one of ours. */
int token_check(struct store *st, const char *token, enum role *out);

#endif
