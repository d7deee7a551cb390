/*
 * store-hooks.c - the HTTP side's rows: webhook deliveries (durable
 * intent: recorded before the forge gets its answer) and API tokens (only
 * a salted hash is kept).
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

int
store_delivery_record(struct store *s, const struct delivery_row *d,
		      int64_t *out_id)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO deliveries (forge, delivery, event, repo, ref, "
		   "after, received_at, digest) VALUES (?1, ?2, ?3, ?4, ?5, "
		   "?6, ?7, ?8) ON CONFLICT DO NOTHING");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, d->forge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->delivery, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, d->ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, d->after, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, store_now_ms());
	sqlite3_bind_text(st, 8, d->digest, -1, SQLITE_STATIC);
	if (db_step_done(s, st, "record delivery") < 0)
		return -1;
	rc = sqlite3_changes(s->db);
	if (out_id)
		*out_id = rc ? sqlite3_last_insert_rowid(s->db) : 0;
	if (!rc)
		return err_set("delivery '%s' from %s (or its body) was "
			       "already received",
			       d->delivery ? d->delivery : "", d->forge),
		       ERR_CONFLICT;
	return 0;
}

int
store_delivery_seen(struct store *s, const char *forge, const char *delivery,
		    const char *digest, int *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT 1 FROM deliveries WHERE forge = "
				      "?1 AND (delivery = ?2 OR digest = ?3) "
				      "LIMIT 1");
	int rc;

	*out = 0;
	if (!st)
		return -1;
	if (!delivery && !digest)
		return 0;
	sqlite3_bind_text(st, 1, forge, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, delivery, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, digest, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? 0
		       : db_err(s, "look up delivery");
}

/*
 * Deliveries are kept to answer a forge's retries, and a replayed body,
 * as duplicates; only processed ones go, the oldest first.
 */
int
store_deliveries_prune(struct store *s, const char *repo,
		       int64_t older_than_ms, int64_t keep_rows, int64_t *out_n)
{
	sqlite3_stmt *st = db_stmt(
		s, "DELETE FROM deliveries WHERE repo = ?1 AND processed_at IS "
		   "NOT NULL AND (received_at < ?2 OR id <= (SELECT id FROM "
		   "deliveries WHERE repo = ?1 ORDER BY id DESC LIMIT 1 OFFSET "
		   "?3))");

	*out_n = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, older_than_ms);
	sqlite3_bind_int64(st, 3, keep_rows);
	if (db_step_done(s, st, "prune deliveries") < 0)
		return -1;
	*out_n = sqlite3_changes(s->db);
	return 0;
}

int
store_deliveries_pending(struct store *s, const char *repo, int64_t *out_max)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT COALESCE(MAX(id), 0) FROM "
				      "deliveries WHERE processed_at IS NULL "
				      "AND repo = ?1");
	int rc;

	*out_max = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out_max = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "pending deliveries");
}

int
store_deliveries_done(struct store *s, const char *repo, int64_t up_to)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE deliveries SET processed_at = "
				      "?1 WHERE processed_at IS NULL AND repo "
				      "= ?2 AND id <= ?3");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now_ms());
	sqlite3_bind_text(st, 2, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, up_to);
	return db_step_done(s, st, "mark deliveries processed");
}

int
store_delivery_counts(struct store *s, int64_t *out_total,
		      int64_t *out_pending)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT COUNT(*), COUNT(*) - "
				      "COUNT(processed_at) FROM deliveries");
	int rc;

	*out_total = *out_pending = 0;
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out_total = sqlite3_column_int64(st, 0);
		*out_pending = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "count deliveries");
}

void
token_rows_free(struct token_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].role);
	}
	free(v);
}

int
store_token_insert(struct store *s, const struct token_row *t)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT INTO tokens (name, role, salt, "
				      "hash, created_at) VALUES (?1, ?2, ?3, "
				      "?4, ?5)");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->role, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, t->salt, sizeof(t->salt), SQLITE_STATIC);
	sqlite3_bind_blob(st, 4, t->hash, sizeof(t->hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now_ms());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return err_set("a token named '%s' exists already; revoke it "
			       "first",
			       t->name),
		       ERR_CONFLICT;
	if (rc != SQLITE_DONE)
		return db_err(s, "create token");
	return 0;
}

int
store_token_list(struct store *s, struct token_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT id, name, role, salt, hash, "
				      "created_at, COALESCE(last_used_at, 0) "
				      "FROM tokens ORDER BY name");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct token_row *t;

		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 8;
			*out = xrealloc(*out, alloc * sizeof(**out));
		}
		t = &(*out)[(*n)++];
		memset(t, 0, sizeof(*t));
		t->id = sqlite3_column_int64(st, 0);
		t->name = db_col_str(st, 1);
		t->role = db_col_str(st, 2);
		if (sqlite3_column_bytes(st, 3) == (int)sizeof(t->salt))
			memcpy(t->salt, sqlite3_column_blob(st, 3),
			       sizeof(t->salt));
		if (sqlite3_column_bytes(st, 4) == (int)sizeof(t->hash))
			memcpy(t->hash, sqlite3_column_blob(st, 4),
			       sizeof(t->hash));
		t->created_at = sqlite3_column_int64(st, 5);
		t->last_used_at = sqlite3_column_int64(st, 6);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		token_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "list tokens");
	}
	return 0;
}

int
store_token_delete(struct store *s, const char *name)
{
	sqlite3_stmt *st = db_stmt(s, "DELETE FROM tokens WHERE name = ?1");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (db_step_done(s, st, "revoke token") < 0)
		return -1;
	if (!sqlite3_changes(s->db))
		return err_set("no token named '%s'", name), ERR_NOTFOUND;
	return 0;
}

int
store_token_used(struct store *s, int64_t id)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE tokens SET last_used_at = ?1 "
				      "WHERE id = ?2");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now_ms());
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(s, st, "note token use");
}
