/*
 * store-gc.c - retention in the store: the runs a policy lets go (never
 * a running run, never the last run of a task), in small transactions so
 * that the scheduler's writes wait at most one batch; the drift probes'
 * check runs by the same policy; processed webhook deliveries past their
 * age; the blobs that rows still refer to.
 */
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

/* The runs that may go, oldest first: not running, not of the task's last
 * batch (its last run, or its hosts' runs of a fan-out), and older than
 * ?1 (ms; 0: no age limit) or beyond the ?2 newest of its task (0: none).
 */
#define GC_RUNS_SQL                                                         \
	"SELECT r.id FROM runs r JOIN (SELECT task_id, MAX(id) AS id FROM "  \
	"runs GROUP BY task_id) last ON last.task_id = r.task_id JOIN runs " \
	"l ON l.id = last.id WHERE r.state != 'running' AND r.id != l.id "   \
	"AND NOT (r.batch != 0 AND r.batch = l.batch) AND ((?1 > 0 AND "     \
	"COALESCE(r.ended_at, r.started_at) < ?1) OR (?2 > 0 AND (SELECT "   \
	"COUNT(*) FROM runs n WHERE n.task_id = r.task_id AND n.id > r.id) " \
	">= ?2)) ORDER BY r.id LIMIT ?3"

static int
run_ids(struct store *s, const struct gc_policy *p, int64_t now, size_t max,
	int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, GC_RUNS_SQL);
	size_t alloc = 0;
	int rc;

	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, p->runs_ms > 0 ? now - p->runs_ms : 0);
	sqlite3_bind_int64(st, 2, p->keep_last_runs);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*ids, *n + 1, alloc);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "gc: select runs");
}

int
store_gc_runs(struct store *s, const struct gc_policy *p, size_t max,
	      int dry_run, int64_t **ids, size_t *n)
{
	static const char *const del[] = {
		"DELETE FROM run_env WHERE run_id = ?1",
		"DELETE FROM run_files WHERE run_id = ?1",
		"DELETE FROM runs WHERE id = ?1",
	};
	sqlite3_stmt *st;
	size_t i, k;

	*ids = NULL;
	*n = 0;
	if (!p->runs_ms && !p->keep_last_runs)
		return 0;
	if (dry_run)
		return run_ids(s, p, store_now_ms(), (size_t)INT64_MAX >> 1,
			       ids, n);
	if (store_begin(s) < 0)
		return -1;
	if (run_ids(s, p, store_now_ms(), max, ids, n) < 0)
		goto fail;
	for (i = 0; i < *n; i++)
		for (k = 0; k < ARRAY_SIZE(del); k++) {
			if (!(st = db_stmt(s, del[k])))
				goto fail;
			sqlite3_bind_int64(st, 1, (*ids)[i]);
			if (db_step_done(s, st, "gc: delete a run") < 0)
				goto fail;
		}
	if (store_commit(s) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(s);
	free(*ids);
	*ids = NULL;
	*n = 0;
	return -1;
}

/* The check runs that may go, oldest first: the policy of the runs, over
 * each task's check runs (never a running one, never the task's newest).
 */
#define GC_CHECKS_SQL                                                        \
	"SELECT k.id FROM check_runs k JOIN (SELECT task_id, MAX(id) AS id "  \
	"FROM check_runs GROUP BY task_id) last ON last.task_id = k.task_id " \
	"WHERE k.state != 'running' AND k.id != last.id AND ((?1 > 0 AND "    \
	"COALESCE(k.ended_at, k.started_at) < ?1) OR (?2 > 0 AND (SELECT "    \
	"COUNT(*) FROM check_runs n WHERE n.task_id = k.task_id AND n.id > "  \
	"k.id) >= ?2)) ORDER BY k.id LIMIT ?3"

int
store_gc_checks(struct store *s, const struct gc_policy *p, size_t max,
		int dry_run, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st;
	size_t alloc = 0, i;
	int64_t now = store_now_ms();
	int rc;

	*ids = NULL;
	*n = 0;
	if (!p->runs_ms && !p->keep_last_runs)
		return 0;
	if (!dry_run && store_begin(s) < 0)
		return -1;
	if (!(st = db_stmt(s, GC_CHECKS_SQL)))
		goto fail;
	sqlite3_bind_int64(st, 1, p->runs_ms > 0 ? now - p->runs_ms : 0);
	sqlite3_bind_int64(st, 2, p->keep_last_runs);
	sqlite3_bind_int64(st, 3,
			   dry_run ? INT64_MAX : (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*ids, *n + 1, alloc);
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		db_err(s, "gc: select check runs");
		goto fail;
	}
	if (dry_run)
		return 0;
	for (i = 0; i < *n; i++) {
		if (!(st = db_stmt(s, "DELETE FROM check_runs WHERE id = ?1")))
			goto fail;
		sqlite3_bind_int64(st, 1, (*ids)[i]);
		if (db_step_done(s, st, "gc: delete a check run") < 0)
			goto fail;
	}
	if (store_commit(s) < 0)
		goto fail;
	return 0;
fail:
	if (!dry_run)
		store_rollback(s);
	free(*ids);
	*ids = NULL;
	*n = 0;
	return -1;
}

int
store_gc_deliveries(struct store *s, int64_t before_ms, size_t max,
		    int dry_run, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	st = db_stmt(s, dry_run ? "SELECT COUNT(*) FROM deliveries WHERE "
				  "processed_at IS NOT NULL AND received_at "
				  "< ?1 AND ?2 > 0"
				: "DELETE FROM deliveries WHERE id IN (SELECT "
				  "id FROM deliveries WHERE processed_at IS "
				  "NOT NULL AND received_at < ?1 LIMIT ?2)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
	if (dry_run) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*n = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return rc == SQLITE_ROW ? 0 : db_err(s, "gc: deliveries");
	}
	if (db_step_done(s, st, "gc: delete deliveries") < 0)
		return -1;
	*n = sqlite3_changes(s->db);
	return 0;
}

static int
cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
store_gc_blob_refs(struct store *s, const int64_t *gone, size_t ngone,
		   struct strvec *refs)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT run_id, blob FROM run_files "
				      "UNION ALL SELECT -1, blob FROM "
				      "cascade_files");
	const unsigned char *b;
	int64_t id;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		/* a run about to go (a dry run's) refers to nothing */
		if (id >= 0 && ngone &&
		    bsearch(&id, gone, ngone, sizeof(*gone), cmp_id))
			continue;
		if ((b = sqlite3_column_text(st, 1)))
			strvec_push(refs, (const char *)b);
	}
	sqlite3_reset(st);
	if (refs->n > 1)
		qsort(refs->v, refs->n, sizeof(*refs->v), cmp_str);
	return rc == SQLITE_DONE ? 0 : db_err(s, "gc: blob references");
}
