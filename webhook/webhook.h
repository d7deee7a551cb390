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
	/* fetch and reconcile the repo (config name) now: 1 queued, 0 when
	 * it was due to sync already (one sync serves both) */
	int (*sync)(void *arg, const char *repo);
	/* something may have become ready to run, or a kill was requested */
	void (*wake)(void *arg);
	/* rows were added to the forge outbox (a comment to update) */
	void (*outbox)(void *arg);
};

struct http_server;

/*
 * Listen on cf->listen ("HOST:PORT", "[V6]:PORT", ":PORT"; port 0 picks
 * one).  The config and hooks must outlive the server.
 */
int http_start(struct http_server **out, const struct config *cf,
	       const struct http_hooks *hooks);
/*
 * A reloaded config (SIGHUP): its webhook secrets are read first (-1 with
 * the message when one cannot be: nothing changed).  Requests that came
 * before go on with the old one; it must outlive the server too.
 */
int http_reload(struct http_server *h, const struct config *cf);
/* For /metrics: the data dir's size after a gc, what that gc removed. */
void http_note_gc(struct http_server *h, int64_t data_bytes,
		  int64_t freed_bytes, int64_t runs, int64_t blobs);
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

/*
 * JSON views of the state (view.c): what the API answers, and what the CLI
 * prints from a data dir, so that both show the same.  Each sets *out to a
 * new jansson reference (json_decref it), or returns <0 with err_set.
 * Password input values are never part of a view.
 */
struct json_t;
/* {"cascades": [CASCADE, ...]}: the active ones, or those in ids.  s: the
 * scheduler, for the definitions it has parsed already; NULL (the CLI on a
 * data dir) parses them from the store. */
int view_cascades(struct json_t **out, struct store *st, struct sched *s,
		  const int64_t *ids, size_t nids);
/* CASCADE: {"name", "repo", "revision", "file", "active", "updated_at",
 * "state", "missing_files": [{"task", "file"}], "tasks": [{"name", "state", "runs", "last_run", "attempts",
 * "manual", "updated_at"[, "hosts": [RUN, ...]]}]}, present tasks only;
 * "hosts" (a task that ran on ssh hosts) has each host's last run
 * (docs/api.md says what each field means). */
int view_cascade(struct json_t **out, struct store *st, struct sched *s,
		 const struct cascade_row *c);
/* {"repo", "cascade", "task", "total", "runs": [RUN, ...]}: the task's
 * runs, newest first, at most limit.  RUN: {"id", "host", "attempt",
 * "state", "exit_code", "message", "revision", "started_at", "ended_at",
 * "duration_ms"}. */
#define RUNS_LIMIT_DEFAULT 50
#define RUNS_LIMIT_MAX 1000
int view_task_runs(struct json_t **out, struct store *st,
		   const struct cascade_row *c, const struct task_row *t,
		   size_t limit);
/* {"id", "repo", "cascade", "task", "attempt", "state", "exit_code", ...} */
int view_run(struct json_t **out, struct store *st, const struct run_row *run);
/* {"inputs": [{"name", "type", "description", "source", "has_value",
 * "value"}]}; only: that input alone (ERR_NOTFOUND when not declared).
 * "value" is null for passwords and unset inputs. */
int view_inputs(struct json_t **out, struct store *st, struct sched *s,
		const struct cascade_row *c, const char *only);
/* {"files": [{"name", "size", "sha256", "updated_at"}]} */
int view_files(struct json_t **out, struct store *st,
	       const struct cascade_row *c);
struct json_t *view_file(const struct file_row *f);
/* {"repos": [{"name", "url", ..., "revisions": [...]}]}: with cf the
 * config's repos in its order (never synced ones too), else the store's. */
int view_repos(struct json_t **out, struct store *st,
	       const struct config *cf);
/* {"tokens": [{"name", "role", "created_at", "last_used_at"}]} */
int view_tokens(struct json_t **out, struct store *st);
/* A plan: {"cascade", ["from", "to",] "added", "removed", "changed",
 * "reset", "unchanged", "reasons"}; from/to NULL: left out.  A new
 * reference. */
struct json_t *view_plan(const struct plan *p, const char *from,
			 const char *to);

/*
 * Commit statuses (status.c decides, forge.c posts, outbox.c sends; DESIGN
 * §3): per cascade and revision, context "scaffold/<cascade>", for repos
 * with a forge.  Decisions become rows of the store's outbox first; the
 * outbox thread posts them, retrying with backoff.
 */
struct outbox;
/* Start the sender thread (its own store connection); cf must outlive it. */
int outbox_start(struct outbox **out, const struct config *cf);
/* A reloaded config (forge settings): the thread takes it before its
 * next round.  cf must outlive the outbox. */
void outbox_set_config(struct outbox *ob, const struct config *cf);
/* Stop it; an attempt in flight is abandoned (its row stays, to be sent
 * after a restart).  NULL is a no-op. */
void outbox_stop(struct outbox *ob);
/* A run of cascade_id ended, so its status may have settled: decided on
 * the outbox thread.  Any thread; never waits for I/O.  NULL ob: no-op. */
void outbox_note_cascade(struct outbox *ob, int64_t cascade_id);

/* An invalid cascade file at a revision, with its first error. */
struct status_invalid {
	const char *file;
	int line, col; /* 0: no position */
	const char *msg;
};
/*
 * Bracket the sched_apply() of a revision of rc: status decisions wait
 * from status_revision_begin() to status_revision_end(), so that the new
 * revision's runs are never counted for the old one.  begin returns the
 * time to pass as applied_at.  No-ops (but the time) without a forge.
 */
int64_t status_revision_begin(const struct repo_config *rc);
void status_revision_end(const struct repo_config *rc);
/*
 * Between the two: the revision was applied.  Open its cascades' statuses
 * (pending, or success/failure at once when nothing is to run), supersede
 * the unsettled statuses of older revisions, and mark invalid files
 * error.  report is sched_apply's, one "cascade 'NAME': ..." line per
 * cascade.  A cascade whose definition did not change gets a status too
 * when its file is among touched (the cascade files the commit changed;
 * NULL: all), its current state: "no change to the definition; all
 * succeeded".  Does nothing for a repo without a forge.  ob (may be NULL)
 * is woken.
 */
int status_note_revision(struct outbox *ob, struct store *st,
			 const struct config *cf, const struct repo_config *rc,
			 const char *revision, int64_t applied_at,
			 const char *report, const struct strvec *touched,
			 const struct status_invalid *inv, size_t ninv);
/*
 * The same inside the caller's transaction (sched_apply's hook, so that a
 * revision is never applied without its statuses): adds the statuses it
 * opens to *enqueued; the caller wakes the outbox after its commit.
 */
int status_note_revision_in(struct store *st, const struct config *cf,
			    const struct repo_config *rc, const char *revision,
			    int64_t applied_at, const char *report,
			    const struct strvec *touched,
			    const struct status_invalid *inv, size_t ninv,
			    size_t *enqueued);
/*
 * A pull request's plan: the commit status "scaffold/plan" of its head
 * (state "success", "failure" or "error", the description cut to
 * STATUS_DESCRIPTION_MAX bytes), linking to public_url/p/REPO/HEAD.  In
 * the caller's transaction; *enqueued (may be NULL) counts the row; wake
 * the outbox after the commit.  Nothing for a repo without a forge.
 */
int status_note_plan(struct store *st, const struct config *cf,
		     const struct repo_config *rc, const char *head,
		     const char *state, const char *description,
		     size_t *enqueued);
/*
 * The pull request's comment (forge.plan_comments; prcomment.c): its body
 * now says the plan of head (summary, a table row per cascade of the
 * plan's JSON "cascades", the link to the page), to be created or updated
 * in place by the outbox thread.  In the caller's transaction; *enqueued
 * (may be NULL) counts it; wake the outbox after the commit.  Nothing
 * for a repo without a forge or plan_comments.
 */
int prcomment_plan(struct store *st, const struct config *cf,
		   const struct repo_config *rc, int64_t number,
		   const char *head, const char *summary, struct json_t *plan,
		   size_t *enqueued);
/* The same when the pull request closed (how: "closed", "merged"): a
 * comment made before says so; none is made for it. */
int prcomment_closed(struct store *st, const struct config *cf,
		     const struct repo_config *rc, int64_t number,
		     const char *head, const char *how, size_t *enqueued);
/* Tell the sender thread that rows were added.  NULL is a no-op. */
void outbox_wake(struct outbox *ob);

#endif
