/*
 * store-prcomments.c - the pull request comments' outbox: one row per
 * (repo, pull request), the body the comment should say now.  A new plan
 * or a close bumps its version; the outbox thread sends the newest body
 * and records the version it sent, so a body superseded before it went
 * out is never sent, and one the forge refused waits and is retried.
 *
 * The marker, random and made with the row, is written into the body: a
 * comment created whose answer was lost (a crash, a dropped connection)
 * is found by it among the pull request's comments instead of being
 * created a second time.  Nobody can have guessed it before scaffold
 * posted it.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

const char store_prcomments_schema[] =
	"CREATE TABLE pr_comments ("
	"  repo TEXT NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  marker TEXT NOT NULL,"
	"  comment_id TEXT,"
	"  body TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  sent_version INTEGER NOT NULL DEFAULT 0,"
	"  create_tried INTEGER NOT NULL DEFAULT 0,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (repo, number));"
	"ALTER TABLE pr_plans ADD COLUMN closed_at INTEGER;"
	"ALTER TABLE pr_plans ADD COLUMN closed_how TEXT";

#define PRCOMMENT_COLS                                                       \
	"repo, number, marker, comment_id, body, version, create_tried, "   \
	"attempts, next_at, last_error "

void
prcomment_row_release(struct prcomment_row *r)
{
	if (!r)
		return;
	free(r->repo);
	free(r->marker);
	free(r->comment_id);
	free(r->body);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void
prcomment_rows_free(struct prcomment_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		prcomment_row_release(&v[i]);
	free(v);
}

int
store_prcomment_marker(struct store *s, const char *repo, int64_t number,
		       char out[PRCOMMENT_MARKER_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[PRCOMMENT_MARKER_LEN / 2];
	sqlite3_stmt *st;
	size_t i;
	int rc;

	st = db_stmt(s, "SELECT marker FROM pr_comments WHERE repo = ? AND "
			"number = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(out, PRCOMMENT_MARKER_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_err(s, "read a pull request comment");
	if (crypto_random(raw, sizeof(raw)) < 0)
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[PRCOMMENT_MARKER_LEN] = '\0';
	return ERR_NOTFOUND;
}

int
store_prcomment_set(struct store *s, const char *repo, int64_t number,
		    const char *marker, const char *body)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	st = db_stmt(s, "INSERT INTO pr_comments (repo, number, marker, body, "
			"version, next_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
			"1, ?5, ?5) ON CONFLICT (repo, number) DO UPDATE SET "
			"body = excluded.body, version = version + 1, "
			"attempts = 0, next_at = excluded.next_at, "
			"updated_at = excluded.updated_at");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	sqlite3_bind_text(st, 3, marker, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return db_step_done(s, st, "record a pull request comment");
}

int
store_prcomments_due(struct store *s, size_t limit, struct prcomment_row **out,
		     size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	st = db_stmt(s, "SELECT " PRCOMMENT_COLS "FROM pr_comments WHERE "
			"sent_version < version ORDER BY updated_at, number "
			"LIMIT ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct prcomment_row *r;

		GROW(*out, *n + 1, alloc);
		r = &(*out)[(*n)++];
		memset(r, 0, sizeof(*r));
		r->repo = db_col_str(st, 0);
		r->number = sqlite3_column_int64(st, 1);
		r->marker = db_col_str(st, 2);
		r->comment_id = db_col_str(st, 3);
		r->body = db_col_str(st, 4);
		r->version = sqlite3_column_int64(st, 5);
		r->create_tried = sqlite3_column_int(st, 6);
		r->attempts = sqlite3_column_int(st, 7);
		r->next_at = sqlite3_column_int64(st, 8);
		r->last_error = db_col_str(st, 9);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		prcomment_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "list pull request comments to send");
	}
	return 0;
}

/* One UPDATE of a comment row with its key as ?1 (repo), ?2 (number). */
static sqlite3_stmt *
row_stmt(struct store *s, const char *sql, const char *repo, int64_t number)
{
	sqlite3_stmt *st = db_stmt(s, sql);

	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	return st;
}

int
store_prcomment_tried(struct store *s, const char *repo, int64_t number)
{
	sqlite3_stmt *st = row_stmt(s, "UPDATE pr_comments SET create_tried "
				       "= 1 WHERE repo = ?1 AND number = ?2",
				    repo, number);

	return st ? db_step_done(s, st, "record a comment's creation") : -1;
}

int
store_prcomment_id(struct store *s, const char *repo, int64_t number,
		   const char *comment_id)
{
	sqlite3_stmt *st = row_stmt(s, "UPDATE pr_comments SET comment_id = "
				       "?3, create_tried = 0 WHERE repo = ?1 "
				       "AND number = ?2",
				    repo, number);

	if (!st)
		return -1;
	sqlite3_bind_text(st, 3, comment_id, -1, SQLITE_STATIC);
	return db_step_done(s, st, "record a comment's id");
}

int
store_prcomment_sent(struct store *s, const char *repo, int64_t number,
		     int64_t version, const char *error)
{
	sqlite3_stmt *st = row_stmt(s, "UPDATE pr_comments SET sent_version "
				       "= MAX(sent_version, ?3), attempts = 0, "
				       "last_error = ?4 WHERE repo = ?1 AND "
				       "number = ?2",
				    repo, number);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 3, version);
	sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	return db_step_done(s, st, "record a comment sent");
}

int
store_prcomment_retry(struct store *s, const char *repo, int64_t number,
		      int attempts, const char *error)
{
	sqlite3_stmt *st = row_stmt(s, "UPDATE pr_comments SET attempts = ?3, "
				       "next_at = ?4, last_error = ?5 WHERE "
				       "repo = ?1 AND number = ?2",
				    repo, number);

	if (!st)
		return -1;
	sqlite3_bind_int(st, 3, attempts);
	sqlite3_bind_int64(st, 4, store_now_ms() + status_backoff_ms(attempts));
	sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
	return db_step_done(s, st, "postpone a comment");
}
