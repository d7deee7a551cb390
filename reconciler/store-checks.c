/*
 * store-checks.c - drift probes in the store: each probe is a check run,
 * in a table of its own (never one of the task's runs), with its own log;
 * the due time of each task's next probe is a row too, so that it
 * survives a restart.  Check run ids start at CHECK_ID_BASE: the runners
 * name their work after the id, and a probe must never share a name with
 * a task's run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-int.h"

const char store_checks_schema[] =
	"CREATE TABLE check_runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  task_id INTEGER NOT NULL REFERENCES tasks(id),"
	"  run_id INTEGER NOT NULL,"
	"  runner TEXT NOT NULL,"
	"  host TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  exit_code INTEGER,"
	"  message TEXT,"
	"  drift INTEGER NOT NULL DEFAULT 0,"
	"  heal INTEGER NOT NULL DEFAULT 0,"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER);"
	"CREATE INDEX check_runs_task ON check_runs (task_id, id);"
	"CREATE INDEX check_runs_state ON check_runs (state);"
	"INSERT INTO sqlite_sequence (name, seq) VALUES ('check_runs', "
	"  999999999999);"
	"CREATE TABLE check_due ("
	"  task_id INTEGER PRIMARY KEY REFERENCES tasks(id),"
	"  due_at INTEGER NOT NULL,"
	"  run_id INTEGER NOT NULL);"
	"CREATE INDEX check_due_at ON check_due (due_at)";

void
check_row_release(struct check_row *r)
{
	if (!r)
		return;
	free(r->cascade);
	free(r->task);
	free(r->host);
	free(r->runner);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

void
check_rows_free(struct check_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		check_row_release(&v[i]);
	free(v);
}

static enum run_state
state_parse(const unsigned char *s)
{
	int i;

	for (i = 0; s && i < RS_N; i++)
		if (!strcmp((const char *)s, run_state_names[i]))
			return (enum run_state)i;
	return RS_LOST;
}

#define CHECK_COLS                                                            \
	"k.id, k.task_id, k.run_id, c.name, t.name, k.host, k.state, "        \
	"k.exit_code, k.message, k.drift, k.heal, k.started_at, k.ended_at, " \
	"k.runner "
#define CHECK_FROM                                                            \
	"FROM check_runs k JOIN tasks t ON t.id = k.task_id JOIN cascades c " \
	"ON c.id = t.cascade_id "

static void
read_check(sqlite3_stmt *st, struct check_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->task_id = sqlite3_column_int64(st, 1);
	r->run_id = sqlite3_column_int64(st, 2);
	r->cascade = db_col_str(st, 3);
	r->task = db_col_str(st, 4);
	r->host = db_col_str(st, 5);
	r->state = state_parse(sqlite3_column_text(st, 6));
	r->exit_code = sqlite3_column_type(st, 7) == SQLITE_NULL
			       ? -1
			       : sqlite3_column_int(st, 7);
	r->message = db_col_str(st, 8);
	r->drift = sqlite3_column_int(st, 9);
	r->heal = sqlite3_column_int(st, 10);
	r->started_at = sqlite3_column_int64(st, 11);
	r->ended_at = sqlite3_column_int64(st, 12);
	r->runner = db_col_str(st, 13);
}

static int
list_checks(struct store *s, sqlite3_stmt *st, struct check_row **out,
	    size_t *n)
{
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_check(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list check runs");
}

int
store_check_insert(struct store *s, struct check_row *row)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT INTO check_runs (task_id, "
				      "run_id, host, state, started_at, "
				      "runner) VALUES (?1, ?2, ?3, "
				      "'running', ?4, ?5)");
	int ret;

	if (!st)
		return -1;
	row->started_at = store_now_ms();
	row->state = RS_RUNNING;
	sqlite3_bind_int64(st, 1, row->task_id);
	sqlite3_bind_int64(st, 2, row->run_id);
	sqlite3_bind_text(st, 3, row->host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, row->started_at);
	sqlite3_bind_text(st, 5, row->runner, -1, SQLITE_TRANSIENT);
	if ((ret = db_step_done(s, st, "insert check run")) < 0)
		return ret;
	row->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

int
store_check_finish(struct store *s, int64_t id, enum run_state state,
		   int exit_code, const char *message, int drift, int heal)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE check_runs SET state = ?2, "
				      "exit_code = ?3, message = ?4, drift = "
				      "?5, heal = ?6, ended_at = ?7 WHERE id "
				      "= ?1 AND state = 'running'");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, run_state_names[state], -1, SQLITE_STATIC);
	if (exit_code >= 0)
		sqlite3_bind_int(st, 3, exit_code);
	if (message)
		sqlite3_bind_text(st, 4, message, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, drift);
	sqlite3_bind_int(st, 6, heal);
	sqlite3_bind_int64(st, 7, store_now_ms());
	if (db_step_done(s, st, "end check run") < 0)
		return -1;
	if (!sqlite3_changes(s->db))
		return err_set("check run %lld is not running", (long long)id);
	return 0;
}

int
store_check_get(struct store *s, int64_t id, struct check_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CHECK_COLS CHECK_FROM
				      "WHERE k.id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_check(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return err_set("check run %lld does not exist", (long long)id),
		       ERR_NOTFOUND;
	return db_err(s, "read check run");
}

int
store_check_last(struct store *s, int64_t task_id, struct check_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CHECK_COLS CHECK_FROM
				      "WHERE k.task_id = ?1 ORDER BY k.id "
				      "DESC LIMIT 1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_check(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return db_err(s, "read check run");
}

int
store_checks_of_task(struct store *s, int64_t task_id, size_t limit,
		     struct check_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CHECK_COLS CHECK_FROM
				      "WHERE k.task_id = ?1 ORDER BY k.id "
				      "DESC LIMIT ?2");

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	return list_checks(s, st, out, n);
}

int
store_checks_running(struct store *s, struct check_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " CHECK_COLS CHECK_FROM
				      "WHERE k.state = 'running' ORDER BY "
				      "k.id");

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	return list_checks(s, st, out, n);
}

int
store_check_running_count(struct store *s, int64_t task_id, int *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT COUNT(*) FROM check_runs WHERE "
				      "state = 'running' AND task_id = ?1");
	int rc;

	*out = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "count check runs");
}

int
store_check_heals_since(struct store *s, int64_t task_id, int64_t since,
			int *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT COUNT(*) FROM check_runs WHERE "
				      "task_id = ?1 AND heal = 1 AND "
				      "ended_at >= ?2");
	int rc;

	*out = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int64(st, 2, since);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "count heals");
}

int
store_check_counts(struct store *s, int64_t out[RS_N])
{
	sqlite3_stmt *st = db_stmt(s, "SELECT state, COUNT(*) FROM "
				      "check_runs GROUP BY state");
	int rc;

	memset(out, 0, RS_N * sizeof(*out));
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out[state_parse(sqlite3_column_text(st, 0))] +=
			sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "count check runs");
}

int
store_drifted_count(struct store *s, int64_t *out)
{
	/* present tasks in error whose last transition was a drift */
	sqlite3_stmt *st = db_stmt(
		s, "SELECT COUNT(*) FROM tasks t JOIN cascades c ON c.id = "
		   "t.cascade_id WHERE t.present = 1 AND c.active = 1 AND "
		   "t.state = 'error' AND (SELECT h.reason FROM task_history "
		   "h WHERE h.task_id = t.id ORDER BY h.id DESC LIMIT 1) "
		   "LIKE 'drift: %'");
	int rc;

	*out = 0;
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : db_err(s, "count drifted tasks");
}

void
store_check_log_path(const struct store *s, int64_t id, struct buf *out)
{
	buf_addf(out, "%s/logs/check-%lld.log", s->dir, (long long)id);
}

void
store_check_dir(const struct store *s, int64_t id, struct buf *out)
{
	buf_addf(out, "%s/runs/check-%lld", s->dir, (long long)id);
}

int
store_check_due_set(struct store *s, int64_t task_id, int64_t due_at,
		    int64_t run_id)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT OR REPLACE INTO check_due "
				      "(task_id, due_at, run_id) VALUES (?1, "
				      "?2, ?3)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int64(st, 2, due_at);
	sqlite3_bind_int64(st, 3, run_id);
	return db_step_done(s, st, "set a check's due time");
}

int
store_check_due_get(struct store *s, int64_t task_id, struct check_due *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT task_id, due_at, run_id FROM "
				      "check_due WHERE task_id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->task_id = sqlite3_column_int64(st, 0);
		out->due_at = sqlite3_column_int64(st, 1);
		out->run_id = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND
				 : db_err(s, "read a check's due time");
}

int
store_check_due_delete(struct store *s, int64_t task_id)
{
	sqlite3_stmt *st = db_stmt(s, "DELETE FROM check_due WHERE task_id = "
				      "?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	return db_step_done(s, st, "drop a check's due time");
}

int
store_check_due_list(struct store *s, int64_t until, size_t limit,
		     struct check_due **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT task_id, due_at, run_id FROM "
				      "check_due WHERE due_at <= ?1 ORDER BY "
				      "due_at LIMIT ?2");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, until);
	sqlite3_bind_int64(st, 2, (int64_t)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		(*out)[*n].task_id = sqlite3_column_int64(st, 0);
		(*out)[*n].due_at = sqlite3_column_int64(st, 1);
		(*out)[*n].run_id = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list due checks");
}

int
store_check_due_next(struct store *s, int64_t *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT MIN(due_at) FROM check_due");
	int rc, null = 1;

	*out = 0;
	if (!st)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = sqlite3_column_int64(st, 0);
		null = 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_err(s, "read the next due check");
	return null ? ERR_NOTFOUND : 0;
}

int
store_task_reason(struct store *s, int64_t task_id, char **out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT reason FROM task_history WHERE "
				      "task_id = ?1 ORDER BY id DESC LIMIT 1");
	int rc;

	*out = NULL;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = db_col_str(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND
				 : db_err(s, "read a task's history");
}

int
store_cascade_brief(struct store *s, int64_t id, struct cascade_row *out)
{
	/* NULL for the source: its text is the size of the cascade, and a
	 * probe of a task in a 1,000-task cascade needs none of it */
	sqlite3_stmt *st = db_stmt(s, "SELECT id, repo, name, file, revision, "
				      "active, updated_at, generation FROM "
				      "cascades WHERE id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->repo = db_col_str(st, 1);
		out->name = db_col_str(st, 2);
		out->file = db_col_str(st, 3);
		out->revision = db_col_str(st, 4);
		out->active = sqlite3_column_int(st, 5);
		out->updated_at = sqlite3_column_int64(st, 6);
		out->generation = sqlite3_column_int64(st, 7);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return err_set("cascade %lld does not exist", (long long)id),
		       ERR_NOTFOUND;
	return db_err(s, "read cascade");
}

int
store_checks_prune(struct store *s, int64_t task_id, size_t keep,
		   int64_t **out, size_t *n)
{
	/* the newest keep ended ones stay, and every one that drifted or
	 * healed (as many as the task's runs at most) */
	sqlite3_stmt *sel = db_stmt(
		s, "SELECT id FROM check_runs WHERE task_id = ?1 AND state != "
		   "'running' AND drift = 0 AND heal = 0 ORDER BY id DESC "
		   "LIMIT -1 OFFSET ?2");
	sqlite3_stmt *del = db_stmt(s, "DELETE FROM check_runs WHERE id = ?1");
	size_t alloc = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if (!sel || !del)
		return -1;
	sqlite3_bind_int64(sel, 1, task_id);
	sqlite3_bind_int64(sel, 2, (int64_t)keep);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = sqlite3_column_int64(sel, 0);
	}
	sqlite3_reset(sel);
	if (rc != SQLITE_DONE)
		return db_err(s, "list old check runs");
	for (i = 0; i < *n; i++) {
		sqlite3_bind_int64(del, 1, (*out)[i]);
		if (db_step_done(s, del, "drop an old check run") < 0)
			return -1;
	}
	return 0;
}

void
store_check_log_remove(const struct store *s, int64_t id)
{
	struct buf path = BUF_INIT;

	store_check_log_path(s, id, &path);
	if (unlink(path.ptr) < 0 && errno != ENOENT)
		log_warnx("store: cannot remove '%s': %s", path.ptr,
			  strerror(errno));
	buf_release(&path);
}
