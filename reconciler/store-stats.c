/*
 * store-stats.c - counts for /metrics: runs by outcome, tasks by state.
 */
#include <string.h>

#include "store-int.h"

/* Count rows by a state column; states not named in names are skipped. */
static int
count_by(struct store *s, const char *sql, const char *const *names,
	 size_t nnames, int64_t *out, const char *what)
{
	sqlite3_stmt *st = db_stmt(s, sql);
	const unsigned char *name;
	size_t i;
	int rc;

	memset(out, 0, nnames * sizeof(*out));
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = sqlite3_column_text(st, 0);
		for (i = 0; name && i < nnames; i++)
			if (!strcmp((const char *)name, names[i]))
				out[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, what);
}

int
store_run_counts(struct store *s, int64_t out[RS_N])
{
	return count_by(s, "SELECT state, COUNT(*) FROM runs GROUP BY state",
			run_state_names, RS_N, out, "count runs");
}

int
store_task_counts(struct store *s, int64_t out[TS_N])
{
	return count_by(s, "SELECT t.state, COUNT(*) FROM tasks t JOIN "
			   "cascades c ON c.id = t.cascade_id WHERE t.present "
			   "= 1 AND c.active = 1 GROUP BY t.state",
			task_state_names, TS_N, out, "count tasks");
}
