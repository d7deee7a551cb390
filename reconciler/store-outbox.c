/*
 * store-outbox.c - the commit status outbox: a status is a row before it
 * is posted (durable intent, DESIGN §5), so a forge outage or a restart
 * delays statuses but loses none.  The sender takes rows oldest first and
 * skips a row a newer one of the same (repo, commit, context) replaces:
 * the forge ends with the latest state, never an older one after it.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define STATUS_COLS                                                          \
	"s.id, s.repo, s.commit_id, s.context, s.state, s.description, "    \
	"s.target_url, s.changed, s.opened_at, s.created_at, s.attempts, "  \
	"s.next_at, COALESCE(s.sent_at, 0), s.outcome, s.last_error "

/* The tracked rows of a subject: those that follow a revision's runs. */
#define TRACKED "state <> 'error'"

int64_t
status_backoff_ms(int attempts)
{
	int64_t ms = 1000;

	if (attempts < 1)
		return 0;
	while (--attempts > 0 && ms < STATUS_BACKOFF_MAX_MS)
		ms *= 2;
	return ms < STATUS_BACKOFF_MAX_MS ? ms : STATUS_BACKOFF_MAX_MS;
}

void
status_row_release(struct status_row *r)
{
	if (!r)
		return;
	free(r->repo);
	free(r->commit_id);
	free(r->context);
	free(r->state);
	free(r->description);
	free(r->target_url);
	free(r->outcome);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void
status_rows_free(struct status_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		status_row_release(&v[i]);
	free(v);
}

static void
read_status(sqlite3_stmt *st, struct status_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->repo = db_col_str(st, 1);
	r->commit_id = db_col_str(st, 2);
	r->context = db_col_str(st, 3);
	r->state = db_col_str(st, 4);
	r->description = db_col_str(st, 5);
	r->target_url = db_col_str(st, 6);
	r->changed = sqlite3_column_int(st, 7);
	r->opened_at = sqlite3_column_int64(st, 8);
	r->created_at = sqlite3_column_int64(st, 9);
	r->attempts = sqlite3_column_int(st, 10);
	r->next_at = sqlite3_column_int64(st, 11);
	r->sent_at = sqlite3_column_int64(st, 12);
	r->outcome = db_col_str(st, 13);
	r->last_error = db_col_str(st, 14);
}

/* One row from a prepared statement: 0, ERR_NOTFOUND, or -1. */
static int
one_status(struct store *s, sqlite3_stmt *st, struct status_row *out,
	   const char *what)
{
	int rc = sqlite3_step(st);

	memset(out, 0, sizeof(*out));
	if (rc == SQLITE_ROW)
		read_status(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return db_err(s, what);
}

/* Every row of a prepared statement; with_superseded: column 15 is it. */
static int
list_status(struct store *s, sqlite3_stmt *st, int with_superseded,
	    struct status_row **out, size_t *n, const char *what)
{
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_status(st, &(*out)[*n]);
		if (with_superseded)
			(*out)[*n].superseded = sqlite3_column_int(st, 15);
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		status_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, what);
	}
	return 0;
}

int
store_status_enqueue(struct store *s, struct status_row *row)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO statuses (repo, commit_id, context, state, "
		   "description, target_url, changed, opened_at, created_at, "
		   "attempts, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		   "?9, 0, ?9)");

	if (!st)
		return -1;
	row->created_at = row->next_at = store_now_ms();
	row->attempts = 0;
	row->sent_at = 0;
	sqlite3_bind_text(st, 1, row->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->commit_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->context, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->description ? row->description : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(st, 6, row->target_url, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, row->changed);
	sqlite3_bind_int64(st, 8, row->opened_at);
	sqlite3_bind_int64(st, 9, row->created_at);
	if (db_step_done(s, st, "enqueue commit status") < 0)
		return -1;
	row->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_status_last(struct store *s, const char *repo, const char *commit,
		  const char *context, struct status_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " STATUS_COLS "FROM statuses s "
				      "WHERE repo = ?1 AND context = ?2 AND "
				      "commit_id = ?3 ORDER BY id DESC LIMIT 1");

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, context, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, commit, -1, SQLITE_STATIC);
	return one_status(s, st, out, "find commit status");
}

int
store_status_tracked(struct store *s, const char *repo, const char *context,
		     struct status_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " STATUS_COLS "FROM statuses s "
				      "WHERE repo = ?1 AND context = ?2 AND "
				      TRACKED " ORDER BY id DESC LIMIT 1");

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, context, -1, SQLITE_STATIC);
	return one_status(s, st, out, "find commit status");
}

int
store_status_open(struct store *s, struct status_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(
		s, "SELECT " STATUS_COLS "FROM statuses s WHERE s.id IN "
		   "(SELECT MAX(id) FROM statuses WHERE " TRACKED
		   " GROUP BY repo, context) AND s.state = 'pending' "
		   "ORDER BY s.id");

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	return list_status(s, st, 0, out, n, "list open commit statuses");
}

int
store_status_unsent(struct store *s, size_t limit, struct status_row **out,
		    size_t *n)
{
	sqlite3_stmt *st = db_stmt(
		s, "SELECT " STATUS_COLS ", EXISTS (SELECT 1 FROM statuses n "
		   "WHERE n.repo = s.repo AND n.context = s.context AND "
		   "n.commit_id = s.commit_id AND n.id > s.id) FROM statuses s "
		   "WHERE s.sent_at IS NULL ORDER BY s.id LIMIT ?1");

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	return list_status(s, st, 1, out, n, "list unsent commit statuses");
}

int
store_status_done(struct store *s, int64_t id, const char *outcome,
		  const char *error)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE statuses SET sent_at = ?1, "
				      "outcome = ?2, last_error = "
				      "COALESCE(?3, last_error) WHERE id = ?4");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now_ms());
	sqlite3_bind_text(st, 2, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	return db_step_done(s, st, "mark commit status done");
}

int
store_status_retry(struct store *s, int64_t id, const char *error)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT attempts FROM statuses WHERE "
				      "id = ?1");
	int attempts = 0, rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		attempts = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return err_set("commit status %lld does not exist",
			       (long long)id),
		       ERR_NOTFOUND;
	if (rc != SQLITE_ROW)
		return db_err(s, "find commit status");
	attempts++;
	st = db_stmt(s, "UPDATE statuses SET attempts = ?1, next_at = ?2, "
			"last_error = ?3 WHERE id = ?4");
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, attempts);
	sqlite3_bind_int64(st, 2, store_now_ms() + status_backoff_ms(attempts));
	sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, id);
	return db_step_done(s, st, "postpone commit status");
}

int
store_status_runs(struct store *s, int64_t cascade_id, int64_t since,
		  struct run_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(
		s, "SELECT r.id, r.task_id, t.name, r.state, "
		   "COALESCE(r.exit_code, -1), r.message, r.started_at, "
		   "COALESCE(r.ended_at, 0), r.host FROM runs r JOIN tasks t ON "
		   "t.id = r.task_id WHERE t.cascade_id = ?1 AND t.present = 1 "
		   "AND r.superseded = 0 AND r.started_at >= ?2 ORDER BY r.id");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct run_row *r;
		const char *state;
		int k;

		GROW(*out, *n + 1, alloc);
		r = &(*out)[(*n)++];
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		r->task_id = sqlite3_column_int64(st, 1);
		r->task = db_col_str(st, 2);
		state = (const char *)sqlite3_column_text(st, 3);
		r->state = RS_ERROR;
		for (k = 0; state && k < RS_N; k++)
			if (!strcmp(state, run_state_names[k]))
				r->state = (enum run_state)k;
		r->exit_code = sqlite3_column_int(st, 4);
		r->message = db_col_str(st, 5);
		r->started_at = sqlite3_column_int64(st, 6);
		r->ended_at = sqlite3_column_int64(st, 7);
		r->host = db_col_str(st, 8);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		run_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "list the runs of a cascade");
	}
	return 0;
}
