/*
 * store-repos.c - repositories and their revisions in the store: the state
 * of each configured repository's mirror (head, what is applied, the last
 * fetch and its error) and what each fetched revision did.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define REPO_COLS                                                          \
	"name, url, branch, head, applied, last_fetch_at, last_ok_at, "    \
	"last_error, failures, branch_missing"

static void
read_repo(sqlite3_stmt *st, struct repo_row *r)
{
	memset(r, 0, sizeof(*r));
	r->name = db_col_str(st, 0);
	r->url = db_col_str(st, 1);
	r->branch = db_col_str(st, 2);
	r->head = db_col_str(st, 3);
	r->applied = db_col_str(st, 4);
	r->last_fetch_at = sqlite3_column_int64(st, 5);
	r->last_ok_at = sqlite3_column_int64(st, 6);
	r->last_error = db_col_str(st, 7);
	r->failures = sqlite3_column_int(st, 8);
	r->branch_missing = sqlite3_column_int(st, 9);
}

void
repo_row_release(struct repo_row *r)
{
	free(r->name);
	free(r->url);
	free(r->branch);
	free(r->head);
	free(r->applied);
	free(r->last_error);
	memset(r, 0, sizeof(*r));
}

void
repo_rows_free(struct repo_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		repo_row_release(&v[i]);
	free(v);
}

int
store_repo_get(struct store *s, const char *name, struct repo_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " REPO_COLS " FROM repos WHERE "
				   "name = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_repo(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : db_err(s, "read repo");
}

int
store_repo_list(struct store *s, struct repo_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " REPO_COLS " FROM repos ORDER BY "
				   "name");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_repo(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list repos");
}

int
store_repo_save(struct store *s, const struct repo_row *r)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT OR REPLACE INTO repos (" REPO_COLS ") VALUES (?1, "
		   "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->branch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->head, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->applied, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->last_fetch_at);
	sqlite3_bind_int64(st, 7, r->last_ok_at);
	sqlite3_bind_text(st, 8, r->last_error, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, r->failures);
	sqlite3_bind_int(st, 10, r->branch_missing);
	return db_step_done(s, st, "save repo");
}

int
store_revision_put(struct store *s, const struct revision_row *r)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO revisions (repo, commit_id, author, subject, "
		   "time, result, errors, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, "
		   "?6, ?7, ?8) ON CONFLICT (repo, commit_id) DO UPDATE SET "
		   "result = ?6, errors = ?7, seen_at = ?8");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, r->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->commit_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->author, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->time);
	sqlite3_bind_text(st, 6, r->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->errors, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, store_now_ms());
	return db_step_done(s, st, "record revision");
}

int
store_revisions(struct store *s, const char *repo, size_t limit,
		struct revision_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT repo, commit_id, author, subject, "
				   "time, result, errors, seen_at FROM "
				   "revisions WHERE repo = ?1 ORDER BY "
				   "seen_at DESC, id DESC LIMIT ?2");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct revision_row *r;

		GROW(*out, *n + 1, alloc);
		r = &(*out)[(*n)++];
		r->repo = db_col_str(st, 0);
		r->commit_id = db_col_str(st, 1);
		r->author = db_col_str(st, 2);
		r->subject = db_col_str(st, 3);
		r->time = sqlite3_column_int64(st, 4);
		r->result = db_col_str(st, 5);
		r->errors = db_col_str(st, 6);
		r->seen_at = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list revisions");
}

void
revision_rows_free(struct revision_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].repo);
		free(v[i].commit_id);
		free(v[i].author);
		free(v[i].subject);
		free(v[i].result);
		free(v[i].errors);
	}
	free(v);
}
