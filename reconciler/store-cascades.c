/*
 * store-cascades.c - cascades in the store: each cascade's row (its repo,
 * name, file, source and the revision it was applied from), found by name,
 * by "repo/name" or by id, saved, listed.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

#define CASCADE_COLS \
	"id, repo, name, file, source, revision, active, updated_at, " \
	"generation"

static void
read_cascade(sqlite3_stmt *st, struct cascade_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->repo = db_col_str(st, 1);
	r->name = db_col_str(st, 2);
	r->file = db_col_str(st, 3);
	r->source = db_col_str(st, 4);
	r->revision = db_col_str(st, 5);
	r->active = sqlite3_column_int(st, 6);
	r->updated_at = sqlite3_column_int64(st, 7);
	r->generation = sqlite3_column_int64(st, 8);
}

void
cascade_row_release(struct cascade_row *r)
{
	free(r->repo);
	free(r->name);
	free(r->file);
	free(r->source);
	free(r->revision);
	memset(r, 0, sizeof(*r));
}

void
cascade_rows_free(struct cascade_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cascade_row_release(&v[i]);
	free(v);
}

static int
one_cascade(struct store *s, sqlite3_stmt *st, struct cascade_row *out)
{
	int rc = sqlite3_step(st);

	memset(out, 0, sizeof(*out));
	if (rc == SQLITE_ROW) {
		read_cascade(st, out);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return db_err(s, "read cascade");
}

int
store_cascade_find(struct store *s, const char *repo, const char *name,
		   struct cascade_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CASCADE_COLS " FROM cascades "
				   "WHERE repo = ?1 AND name = ?2");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	return one_cascade(s, st, out);
}

int
store_cascade_lookup(struct store *s, const char *spec,
		     struct cascade_row *out)
{
	sqlite3_stmt *st;
	const char *slash = strchr(spec, '/');
	struct cascade_row other;
	int rc;

	memset(out, 0, sizeof(*out));
	if (slash) {
		struct buf repo = BUF_INIT;
		int ret;

		buf_add(&repo, spec, (size_t)(slash - spec));
		ret = store_cascade_find(s, repo.ptr, slash + 1, out);
		buf_release(&repo);
		if (ret == ERR_NOTFOUND)
			err_set("no cascade '%s'", spec);
		return ret;
	}
	st = db_stmt(s, "SELECT " CASCADE_COLS " FROM cascades WHERE name = ?1 "
		     "ORDER BY active DESC, repo");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, spec, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return db_err(s, "find cascade");
		return err_set("no cascade '%s'", spec), ERR_NOTFOUND;
	}
	read_cascade(st, out);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_cascade(st, &other);
		if (other.active && out->active) {
			err_set("cascade '%s' is in repos '%s' and '%s': say "
				"which, as REPO/%s",
				spec, out->repo, other.repo, spec);
			cascade_row_release(&other);
			cascade_row_release(out);
			sqlite3_reset(st);
			return ERR_CONFLICT;
		}
		cascade_row_release(&other);
	}
	sqlite3_reset(st);
	return 0;
}

int
store_cascade_get(struct store *s, int64_t id, struct cascade_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CASCADE_COLS " FROM cascades "
				   "WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return one_cascade(s, st, out);
}

int
store_cascade_save(struct store *s, struct cascade_row *row)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO cascades (repo, name, file, source, revision, "
		   "active, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
		   "ON CONFLICT (repo, name) DO UPDATE SET file = ?3, "
		   "source = ?4, revision = ?5, active = ?6, updated_at = ?7, "
		   "generation = generation + (source IS NOT ?4) "
		   "RETURNING id, generation");
	int rc;

	if (!st)
		return -1;
	row->updated_at = store_now_ms();
	sqlite3_bind_text(st, 1, row->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->file, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->revision, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, row->active);
	sqlite3_bind_int64(st, 7, row->updated_at);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row->id = sqlite3_column_int64(st, 0);
		row->generation = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "save cascade");
}

int
store_cascade_generation(struct store *s, int64_t id, int64_t *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT generation FROM cascades WHERE "
				   "id = ?1");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : db_err(s, "read cascade");
}

int
store_cascade_list(struct store *s, int active_only, struct cascade_row **out,
		   size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CASCADE_COLS " FROM cascades "
				   "WHERE active >= ?1 ORDER BY repo, name");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int(st, 1, active_only ? 1 : 0);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_cascade(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list cascades");
}
