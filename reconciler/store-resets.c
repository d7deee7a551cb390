/*
 * store-resets.c - what each revision did to each cascade, recorded when
 * it is applied: the tasks it added, changed, reset downstream or
 * removed, each with the reason reconcile() gave.  The ?rev= page shows
 * it; computing it again later could not know the input values or stored
 * files the fingerprints held then.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

const char store_resets_schema[] =
	"CREATE TABLE revision_applies ("
	"  cascade_id INTEGER NOT NULL REFERENCES cascades(id),"
	"  revision TEXT NOT NULL,"
	"  ntasks INTEGER NOT NULL,"
	"  applied_at INTEGER NOT NULL,"
	"  PRIMARY KEY (cascade_id, revision));"
	"CREATE TABLE revision_resets ("
	"  cascade_id INTEGER NOT NULL REFERENCES cascades(id),"
	"  revision TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  task TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  PRIMARY KEY (cascade_id, revision, seq))";

void
reset_rows_free(struct reset_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].task);
		free(v[i].reason);
	}
	free(v);
}

int
store_resets_put(struct store *s, int64_t cascade_id, const char *revision,
		 size_t ntasks, const struct reset_row *v, size_t n)
{
	sqlite3_stmt *st;
	size_t i;

	/* the same commit applied again (a force push back to it) says
	 * what it did the last time */
	st = db_stmt(s, "DELETE FROM revision_resets WHERE cascade_id = ?1 "
			"AND revision = ?2");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
	if (db_step_done(s, st, "record resets") < 0)
		return -1;
	st = db_stmt(s, "INSERT INTO revision_applies (cascade_id, revision, "
			"ntasks, applied_at) VALUES (?1, ?2, ?3, ?4) ON "
			"CONFLICT (cascade_id, revision) DO UPDATE SET "
			"ntasks = ?3, applied_at = ?4");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)ntasks);
	sqlite3_bind_int64(st, 4, store_now_ms());
	if (db_step_done(s, st, "record resets") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		st = db_stmt(s, "INSERT INTO revision_resets (cascade_id, "
				"revision, seq, task, action, reason) VALUES "
				"(?1, ?2, ?3, ?4, ?5, ?6)");
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, cascade_id);
		sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)i);
		sqlite3_bind_text(st, 4, v[i].task, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, plan_action_names[v[i].action], -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 6, v[i].reason ? v[i].reason : "", -1,
				  SQLITE_STATIC);
		if (db_step_done(s, st, "record resets") < 0)
			return -1;
	}
	return 0;
}

int
store_resets_get(struct store *s, int64_t cascade_id, const char *revision,
		 size_t *ntasks, struct reset_row **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc, k;

	*out = NULL;
	*n = 0;
	*ntasks = 0;
	st = db_stmt(s, "SELECT ntasks FROM revision_applies WHERE "
			"cascade_id = ?1 AND revision = ?2");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ntasks = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	if (rc != SQLITE_ROW)
		return db_err(s, "read resets");
	st = db_stmt(s, "SELECT task, action, reason FROM revision_resets "
			"WHERE cascade_id = ?1 AND revision = ?2 ORDER BY task, "
			"seq");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reset_row *r;
		const char *action = (const char *)sqlite3_column_text(st, 1);

		GROW(*out, *n + 1, alloc);
		r = &(*out)[(*n)++];
		r->task = db_col_str(st, 0);
		r->reason = db_col_str(st, 2);
		r->action = PLAN_RESET;
		for (k = 0; action && k < (int)ARRAY_SIZE(plan_action_names);
		     k++)
			if (!strcmp(action, plan_action_names[k]))
				r->action = (enum plan_action)k;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		reset_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "read resets");
	}
	return 0;
}
