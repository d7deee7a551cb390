/*
 * store-backup.c - a consistent copy of the database while the daemon
 * writes to it (SQLite's online backup API, one read snapshot), and the
 * files of the data dir that copy refers to: the blobs of stored and
 * uploaded files, the logs of runs and of drift probes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-int.h"

int
store_backup_db(struct store *s, const char *dest)
{
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	int rc, ret = -1;

	if (sqlite3_open_v2(dest, &out,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err_set("store: cannot create '%s': %s", dest,
			out ? sqlite3_errmsg(out) : "out of memory");
		goto out;
	}
	b = sqlite3_backup_init(out, "main", s->db, "main");
	if (!b) {
		err_set("store: backup to '%s': %s", dest, sqlite3_errmsg(out));
		goto out;
	}
	/*
	 * All pages in one step: one read transaction, so one snapshot.  In
	 * WAL mode the daemon's writers go on meanwhile; a busy source (a
	 * checkpoint holding it) is tried again.
	 */
	do {
		rc = sqlite3_backup_step(b, -1);
		if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		err_set("store: backup to '%s': %s", dest, sqlite3_errstr(rc));
		goto out;
	}
	/* one file in the archive: no -wal beside it */
	if (sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL, NULL,
			 NULL) != SQLITE_OK) {
		err_set("store: backup to '%s': %s", dest, sqlite3_errmsg(out));
		goto out;
	}
	ret = 0;
out:
	sqlite3_close(out);
	return ret;
}

enum ref_kind { REF_BLOB, REF_RUN_LOG, REF_CHECK_LOG };

/* Each row's first column, as the path of a file of its kind, on v. */
static int
collect(sqlite3 *db, const char *sql, enum ref_kind kind, struct strvec *v)
{
	sqlite3_stmt *st = NULL;
	struct buf b = BUF_INIT;
	const unsigned char *t;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return err_set("store: %s", sqlite3_errmsg(db));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_reset(&b);
		if (kind == REF_BLOB) {
			t = sqlite3_column_text(st, 0);
			/* a blob name is a SHA-256 in hex, nothing else */
			if (!t || strlen((const char *)t) != SHA256_HEX_LEN ||
			    strspn((const char *)t, "0123456789abcdef") !=
				    SHA256_HEX_LEN)
				continue;
			buf_addf(&b, "blobs/%.2s/%s", (const char *)t,
				 (const char *)t + 2);
		} else {
			buf_addf(&b, "logs/%s%lld.log",
				 kind == REF_CHECK_LOG ? "check-" : "",
				 (long long)sqlite3_column_int64(st, 0));
		}
		strvec_push(v, b.ptr);
	}
	sqlite3_finalize(st);
	buf_release(&b);
	return rc == SQLITE_DONE ? 0 : err_set("store: %s", sqlite3_errmsg(db));
}

int
store_backup_refs(const char *db_path, struct strvec *blobs,
		  struct strvec *logs)
{
	sqlite3 *db = NULL;
	int ret = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		err_set("store: cannot open '%s': %s", db_path,
			db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (collect(db,
		    "SELECT blob FROM run_files UNION SELECT blob FROM "
		    "cascade_files ORDER BY 1",
		    REF_BLOB, blobs) < 0 ||
	    collect(db, "SELECT id FROM runs ORDER BY id", REF_RUN_LOG,
		    logs) < 0 ||
	    collect(db, "SELECT id FROM check_runs ORDER BY id",
		    REF_CHECK_LOG, logs) < 0)
		goto out;
	ret = 0;
out:
	sqlite3_close(db);
	return ret;
}

int
store_integrity(struct store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int ret = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st,
			       NULL) != SQLITE_OK)
		return db_err(s, "integrity check");
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = sqlite3_column_text(st, 0)) && !strcmp((const char *)t, "ok"))
		ret = 0;
	else
		err_set("store: the database is damaged: %s",
			(t = sqlite3_column_text(st, 0)) ? (const char *)t
							 : sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return ret;
}
