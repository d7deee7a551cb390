/*
 * store-prplans.c - pull request plans in the store: a verified
 * pull_request delivery asks for the plan of a head commit (a row
 * "pending"); the repo's worker fetches the head, plans it and keeps the
 * result ("success", "failure" or "error", the status description and the
 * plan as JSON for the page /p/REPO/SHA).  Nothing of a pull request is
 * ever applied or run: these rows are all of its state.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

const char store_prplans_schema[] =
	"CREATE TABLE pr_plans ("
	"  id INTEGER PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  number INTEGER NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  head TEXT NOT NULL,"
	"  base TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  summary TEXT,"
	"  plan TEXT,"
	"  received_at INTEGER NOT NULL,"
	"  planned_at INTEGER,"
	"  UNIQUE (repo, number, head));"
	"CREATE INDEX pr_plans_state ON pr_plans (repo, state);"
	"CREATE INDEX pr_plans_head ON pr_plans (repo, head)";

#define PRPLAN_COLS                                                          \
	"id, repo, number, head, base, state, summary, plan, received_at, "  \
	"COALESCE(planned_at, 0), ref, COALESCE(closed_at, 0), closed_how "

void
prplan_row_release(struct prplan_row *r)
{
	if (!r)
		return;
	free(r->repo);
	free(r->ref);
	free(r->head);
	free(r->base);
	free(r->state);
	free(r->summary);
	free(r->plan);
	free(r->closed_how);
	memset(r, 0, sizeof(*r));
}

void
prplan_rows_free(struct prplan_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		prplan_row_release(&v[i]);
	free(v);
}

static void
read_prplan(sqlite3_stmt *st, struct prplan_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->repo = db_col_str(st, 1);
	r->number = sqlite3_column_int64(st, 2);
	r->head = db_col_str(st, 3);
	r->base = db_col_str(st, 4);
	r->state = db_col_str(st, 5);
	r->summary = db_col_str(st, 6);
	r->plan = db_col_str(st, 7);
	r->received_at = sqlite3_column_int64(st, 8);
	r->planned_at = sqlite3_column_int64(st, 9);
	r->ref = db_col_str(st, 10);
	r->closed_at = sqlite3_column_int64(st, 11);
	r->closed_how = db_col_str(st, 12);
}

int
store_prplan_request(struct store *s, const char *repo, int64_t number,
		     const char *ref, const char *head, const char *base,
		     int *out_new)
{
	sqlite3_stmt *st;
	int ret;

	/* the same head again is planned again only when the pull request
	 * was closed (reopened) or goes into another branch now (its base
	 * edited): against what is applied then */
	st = db_stmt(s, "INSERT INTO pr_plans (repo, number, ref, head, base, "
			"state, received_at) VALUES (?, ?, ?, ?, ?, 'pending', "
			"?) ON CONFLICT (repo, number, head) DO UPDATE SET "
			"state = 'pending', base = excluded.base, closed_at = "
			"NULL, closed_how = NULL, received_at = "
			"excluded.received_at WHERE closed_at IS NOT NULL OR "
			"base <> excluded.base");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	sqlite3_bind_text(st, 3, ref, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, head, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, base, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, store_now_ms());
	ret = db_step_done(s, st, "record a pull request plan");
	if (ret == 0 && out_new)
		*out_new = sqlite3_changes(s->db) > 0;
	return ret;
}

int
store_prplans_pending(struct store *s, const char *repo,
		      struct prplan_row **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	st = db_stmt(s, "SELECT " PRPLAN_COLS "FROM pr_plans WHERE repo = ? "
			"AND state = 'pending' AND closed_at IS NULL ORDER BY "
			"id");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_prplan(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		prplan_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "list pending pull request plans");
	}
	return 0;
}

int
store_prplan_finish(struct store *s, int64_t id, const char *state,
		    const char *summary, const char *plan)
{
	sqlite3_stmt *st;

	st = db_stmt(s, "UPDATE pr_plans SET state = ?, summary = ?, plan = ?, "
			"planned_at = ? WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, summary, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, plan, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now_ms());
	sqlite3_bind_int64(st, 5, id);
	return db_step_done(s, st, "record a pull request plan");
}

int
store_prplan_get(struct store *s, const char *repo, const char *head,
		 struct prplan_row *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	st = db_stmt(s, "SELECT " PRPLAN_COLS "FROM pr_plans WHERE repo = ? "
			"AND head = ? ORDER BY id DESC LIMIT 1");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, head, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_prplan(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE) {
		err_set("no plan of commit '%s' in repo '%s'", head, repo);
		return ERR_NOTFOUND;
	}
	return db_err(s, "read a pull request plan");
}

int
store_prplans_close(struct store *s, const char *repo, int64_t number,
		    const char *how, int *out_closed)
{
	sqlite3_stmt *st;

	*out_closed = 0;
	st = db_stmt(s, "UPDATE pr_plans SET closed_at = ?, closed_how = ? "
			"WHERE repo = ? AND number = ? AND closed_at IS NULL");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, store_now_ms());
	sqlite3_bind_text(st, 2, how, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, repo, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, number);
	if (db_step_done(s, st, "close a pull request's plans") < 0)
		return -1;
	*out_closed = sqlite3_changes(s->db);
	return 0;
}

int
store_prplan_find(struct store *s, const char *repo, const char *prefix,
		  struct prplan_row *out)
{
	sqlite3_stmt *st;
	char *other = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	/* the newest row of the newest head the prefix matches, and whether
	 * another head matches too */
	st = db_stmt(s, "SELECT " PRPLAN_COLS "FROM pr_plans WHERE repo = ? "
			"AND substr(head, 1, length(?2)) = lower(?2) ORDER BY "
			"id DESC");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, repo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 3);

		if (!out->head) {
			read_prplan(st, out);
			continue;
		}
		if (h && strcmp(h, out->head)) {
			other = xstrdup(h);
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		prplan_row_release(out);
		return db_err(s, "read a pull request plan");
	}
	if (!out->head) {
		err_set("no pull request of repo '%s' has asked for a plan "
			"of '%s'",
			repo, prefix);
		return ERR_NOTFOUND;
	}
	if (other) {
		err_set("'%s' is ambiguous in repo '%s': heads %.12s and %.12s "
			"of pull requests start with it",
			prefix, repo, out->head, other);
		free(other);
		prplan_row_release(out);
		return ERR_CONFLICT;
	}
	return 0;
}
