/*
 * store-sessions.c - browsers' sessions from /login (webhook/auth.c): a
 * row per session, keyed by the SHA-256 of its id (the id itself is only
 * ever in the browser's cookie), tied to the token that made it: revoking
 * the token deletes its sessions (ON DELETE CASCADE), and a lookup joins
 * the token, so its role is the token's own.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

int
store_session_insert(struct store *s, const char *hash, int64_t token_id,
		     int64_t expires_at)
{
	sqlite3_stmt *st;
	int64_t now = store_now_ms();

	/* expired sessions go as new ones come: the table stays small */
	st = db_stmt(s, "DELETE FROM sessions WHERE expires_at <= ?1");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	if (db_step_done(s, st, "prune sessions") < 0)
		return -1;
	st = db_stmt(s, "INSERT INTO sessions (hash, token_id, created_at, "
			"expires_at) VALUES (?1, ?2, ?3, ?4)");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, token_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, expires_at);
	return db_step_done(s, st, "create session");
}

int
store_session_find(struct store *s, const char *hash, int64_t now,
		   struct session_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT t.id, t.name, t.role, "
				      "s.expires_at FROM sessions s JOIN "
				      "tokens t ON t.id = s.token_id WHERE "
				      "s.hash = ?1 AND s.expires_at > ?2");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->token_id = sqlite3_column_int64(st, 0);
		out->token_name = db_col_str(st, 1);
		out->role = db_col_str(st, 2);
		out->expires_at = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return db_err(s, "find session");
}

int
store_session_delete(struct store *s, const char *hash)
{
	sqlite3_stmt *st = db_stmt(s, "DELETE FROM sessions WHERE hash = ?1");

	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	return db_step_done(s, st, "end session");
}

void
session_row_release(struct session_row *r)
{
	free(r->token_name);
	free(r->role);
	memset(r, 0, sizeof(*r));
}
