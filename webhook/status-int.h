/*
 * status-int.h - shared by the commit status files of webhook/: status.c
 * decides statuses, forge.c posts them, outbox.c is the thread that sends
 * them.
 */
#ifndef SCAFFOLD_STATUS_INT_H
#define SCAFFOLD_STATUS_INT_H

#include <stdatomic.h>

#include "webhook.h"

/* forge.c */

/* Process-wide libcurl setup; call before any thread posts. */
void forge_init(void);
/* Append s percent-encoded (RFC 3986 unreserved kept); keep_slash leaves
 * '/' as is. */
void forge_url_escape(struct buf *out, const char *s, int keep_slash);
/* The word forge kind ("github", "gitlab", "gitea") uses for a scaffold
 * state; NULL for an unknown kind or state. */
const char *forge_state(const char *kind, const char *state);
enum forge_outcome {
	FORGE_SENT,	 /* the forge took it */
	FORGE_UNCHANGED, /* GitLab: "Cannot transition status": done */
};
/*
 * Post one status to the repo's forge (the token is read from its file
 * now).  0 and *out; ERR_INVALID when the forge refused it for good (do
 * not retry); another negative code when it may work later.  A transfer
 * in flight is abandoned when *stop becomes non-zero.  The error names the
 * repo, commit, context, HTTP status and the forge's message; never the
 * token.
 */
int forge_post(enum forge_outcome *out, const struct repo_config *rc,
	       const struct status_row *row, const atomic_int *stop);
/*
 * One request to the repo's forge, with its authentication: METHOD
 * api_url + path (escaped by the caller), body the JSON text (NULL: none).
 * 0 when the forge answered: *code, its body appended to answer (at most
 * 64 KiB), and for an answer not 2xx its message in msg (escaped, the
 * token masked).  <0 with err_set ("cannot WHAT to KIND: ...") when no
 * answer came (ERR_TIMEOUT), ERR_INVALID when the repo has no forge.
 */
int forge_call(long *code, struct buf *answer, struct buf *msg,
	       const struct repo_config *rc, const char *method, const char *path,
	       const char *body, const char *what, const atomic_int *stop);
/* An HTTP status worth another try later. */
int forge_retryable(long code);

/* prcomment.c */

/*
 * Send the pull request comments due (create or update in place), each
 * repo's in order; returns when to look again (INT64_MAX: nothing waits).
 * Any thread with its own store; the outbox thread's.
 */
int64_t prcomment_send_due(struct store *st, const struct config *cf,
			   int all, const atomic_int *stop);

/* status.c */

/*
 * Decide again the status of the revision cascade_id last opened (its
 * tracked status), and enqueue it when it changed.  *enqueued (if given)
 * counts the rows added.  Any thread, with its own store.
 */
int status_cascade(struct store *st, const struct config *cf,
		   int64_t cascade_id, size_t *enqueued);
/* The same for every open (pending) status; *open counts those that
 * stay open. */
int status_sweep(struct store *st, const struct config *cf, size_t *enqueued,
		 size_t *open);
/* Cut b to at most max bytes on a UTF-8 boundary, ending in "..." when
 * something was cut. */
void status_truncate(struct buf *b, size_t max);
/* public_url + "/c/REPO/CASCADE?rev=SHA", each part escaped. */
void status_target_url(struct buf *out, const struct config *cf,
		       const char *repo, const char *cascade,
		       const char *commit);

/* outbox.c */


#endif
