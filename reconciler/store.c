/*
 * store.c - the state store on SQLite: the only file that includes
 * sqlite3.h.  WAL mode, one connection per struct store (one per thread),
 * a versioned schema migrated on open.  SQLite's errors are translated into
 * err_set() messages here, once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-int.h"

const char *const task_state_names[TS_N] = {
	"not_started", "waiting", "running", "success", "error", "killed",
	"skipped",
};
const char *const run_state_names[RS_N] = {
	"running", "success", "error", "killed", "lost",
};


/*
 * The schema, one entry per version.  Never edit a released entry: add a
 * new one.  PRAGMA user_version holds the number applied.
 */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE cascades ("
	"  id INTEGER PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  file TEXT,"
	"  source TEXT NOT NULL,"
	"  revision TEXT,"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (repo, name));"
	"CREATE TABLE tasks ("
	"  id INTEGER PRIMARY KEY,"
	"  cascade_id INTEGER NOT NULL REFERENCES cascades(id),"
	"  name TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  present INTEGER NOT NULL DEFAULT 1,"
	"  fingerprint TEXT NOT NULL,"
	"  success_fingerprint TEXT NOT NULL DEFAULT '',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  manual INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (cascade_id, name));"
	"CREATE TABLE task_history ("
	"  id INTEGER PRIMARY KEY,"
	"  task_id INTEGER NOT NULL REFERENCES tasks(id),"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  at INTEGER NOT NULL);"
	"CREATE INDEX task_history_task ON task_history(task_id);"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  task_id INTEGER NOT NULL REFERENCES tasks(id),"
	"  attempt INTEGER NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  revision TEXT,"
	"  runner TEXT NOT NULL,"
	"  host TEXT,"
	"  state TEXT NOT NULL,"
	"  superseded INTEGER NOT NULL DEFAULT 0,"
	"  kill_requested INTEGER NOT NULL DEFAULT 0,"
	"  exit_code INTEGER,"
	"  message TEXT,"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER);"
	"CREATE INDEX runs_task ON runs(task_id);"
	"CREATE INDEX runs_state ON runs(state);"
	"CREATE TABLE run_env ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  name TEXT NOT NULL,"
	"  value BLOB NOT NULL,"
	"  sealed INTEGER NOT NULL,"
	"  PRIMARY KEY (run_id, name));"
	"CREATE TABLE run_files ("
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  path TEXT NOT NULL,"
	"  blob TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  PRIMARY KEY (run_id, path));"
	"CREATE TABLE inputs ("
	"  cascade_id INTEGER NOT NULL REFERENCES cascades(id),"
	"  name TEXT NOT NULL,"
	"  value BLOB NOT NULL,"
	"  sealed INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (cascade_id, name));",
	/* 2: repositories and every revision seen */
	"CREATE TABLE repos ("
	"  name TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  branch TEXT NOT NULL,"
	"  head TEXT,"
	"  applied TEXT,"
	"  last_fetch_at INTEGER,"
	"  last_ok_at INTEGER,"
	"  last_error TEXT,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  branch_missing INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE revisions ("
	"  id INTEGER PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  commit_id TEXT NOT NULL,"
	"  author TEXT,"
	"  subject TEXT,"
	"  time INTEGER,"
	"  result TEXT NOT NULL,"
	"  errors TEXT,"
	"  seen_at INTEGER NOT NULL,"
	"  UNIQUE (repo, commit_id));",
	/* 3: a counter of definitions, so readers can cache them */
	"ALTER TABLE cascades ADD COLUMN generation INTEGER NOT NULL "
	"DEFAULT 0",
	/* 4: the runs started together (one per host of a fan-out) */
	"ALTER TABLE runs ADD COLUMN batch INTEGER NOT NULL DEFAULT 0",
	/* 5: the HTTP side: webhook deliveries, API tokens, the commit
	 * status outbox, the cascades' file stores */
	"CREATE TABLE deliveries ("
	"  id INTEGER PRIMARY KEY,"
	"  forge TEXT NOT NULL,"
	"  delivery TEXT,"
	"  event TEXT NOT NULL,"
	"  repo TEXT,"
	"  ref TEXT,"
	"  after TEXT,"
	"  received_at INTEGER NOT NULL,"
	"  processed_at INTEGER,"
	"  UNIQUE (forge, delivery, repo));"
	"CREATE INDEX deliveries_pending ON deliveries (processed_at, repo);"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL,"
	"  salt BLOB NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  last_used_at INTEGER);"
	"CREATE TABLE statuses ("
	"  id INTEGER PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  commit_id TEXT NOT NULL,"
	"  context TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  target_url TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL,"
	"  sent_at INTEGER,"
	"  last_error TEXT);"
	"CREATE INDEX statuses_pending ON statuses (sent_at, next_at);"
	"CREATE TABLE cascade_files ("
	"  cascade_id INTEGER NOT NULL REFERENCES cascades(id),"
	"  name TEXT NOT NULL,"
	"  blob TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (cascade_id, name));",
	/* 6: commit statuses remember what their revision changed and when
	 * it was applied (later statuses of the same revision describe the
	 * runs since), and how each row ended (sent, skipped for a newer
	 * one, refused) */
	"ALTER TABLE statuses ADD COLUMN changed INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE statuses ADD COLUMN opened_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE statuses ADD COLUMN outcome TEXT;"
	"CREATE INDEX statuses_subject ON statuses (repo, context, commit_id);",
	/* 7: browsers' sessions from /login: the SHA-256 of the session id
	 * (never the id), gone with the token that made them */
	"CREATE TABLE sessions ("
	"  hash TEXT PRIMARY KEY,"
	"  token_id INTEGER NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL);"
	"CREATE INDEX sessions_token ON sessions (token_id);",
	/* 8: a delivery is known by the digest of its signed body too: a
	 * captured push sent again under a fresh delivery id is a duplicate */
	"ALTER TABLE deliveries ADD COLUMN digest TEXT;"
	"CREATE UNIQUE INDEX deliveries_digest ON deliveries (forge, digest, "
	"repo);"
	"CREATE INDEX deliveries_received ON deliveries (repo, received_at);",
	/* 9: drift probes: check runs and due times (store-checks.c) */
	store_checks_schema,
	/* 10: what each revision did to each cascade (store-resets.c) */
	store_resets_schema,
	/* 11: pull request plans (store-prplans.c) */
	store_prplans_schema,
	/* 12: pull request comments to keep up to date, closed pull
	 * requests' plans (store-prcomments.c) */
	store_prcomments_schema,
};

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
db_err(struct store *s, const char *what)
{
	return err_set("store: %s: %s", what, sqlite3_errmsg(s->db));
}

sqlite3_stmt *
db_stmt(struct store *s, const char *sql)
{
	sqlite3_stmt *st = strmap_get(&s->stmts, sql);

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		db_err(s, "prepare");
		return NULL;
	}
	strmap_put(&s->stmts, sql, st);
	return st;
}

int
db_exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set("store: %s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Run a statement that returns no rows. */
int
db_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_err(s, what);
	return 0;
}

char *
db_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? xstrdup((const char *)t) : NULL;
}

void
db_col_hex(sqlite3_stmt *st, int i, char out[SHA256_HEX_LEN + 1])
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, SHA256_HEX_LEN + 1, "%s", t ? (const char *)t : "");
}

/* secret.key: 32 random bytes, 0600, made on first use. */
static int
load_key(struct store *s)
{
	struct buf path = BUF_INIT, data = BUF_INIT, tmp = BUF_INIT;
	struct stat st;
	int fd = -1, ret = -1;

	buf_addf(&path, "%s/secret.key", s->dir);
	if (stat(path.ptr, &st) == 0) {
		if (st.st_mode & 077) {
			err_set("'%s' is readable by others (mode %03o); "
				"it must be 0600",
				path.ptr, (unsigned)(st.st_mode & 0777));
			goto out;
		}
		if (buf_read_file(&data, path.ptr, 64) < 0)
			goto out;
		if (data.len != AEAD_KEY_LEN) {
			err_set("'%s' holds %zu bytes, expected %d", path.ptr,
				data.len, AEAD_KEY_LEN);
			goto out;
		}
		memcpy(s->key, data.ptr, AEAD_KEY_LEN);
		ret = 0;
		goto out;
	}
	if (crypto_random(s->key, AEAD_KEY_LEN) < 0)
		goto out;
	/* write a temporary file, then link it: two processes starting at
	 * once agree on one key */
	buf_addf(&tmp, "%s/.secret.key.%d", s->dir, (int)getpid());
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, s->key, AEAD_KEY_LEN) != AEAD_KEY_LEN ||
	    fsync(fd) < 0) {
		err_set("cannot write '%s': %s", tmp.ptr, strerror(errno));
		unlink(tmp.ptr);
		goto out;
	}
	if (link(tmp.ptr, path.ptr) < 0) {
		int e = errno;

		unlink(tmp.ptr);
		if (e == EEXIST) {
			ret = load_key(s);
			goto out;
		}
		err_set("cannot create '%s': %s", path.ptr, strerror(e));
		goto out;
	}
	unlink(tmp.ptr);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	buf_release(&data);
	buf_release(&tmp);
	return ret;
}

static int
migrate(struct store *s)
{
	sqlite3_stmt *st;
	int version = 0, i, n = (int)ARRAY_SIZE(migrations);

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(s, "read schema version");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > n)
		return err_set("store: the database has schema version %d; "
			       "this scaffold knows up to %d (a newer "
			       "scaffold wrote it)",
			       version, n);
	for (i = version; i < n; i++) {
		struct buf sql = BUF_INIT;
		int r;

		buf_addf(&sql, "BEGIN IMMEDIATE; %s; PRAGMA user_version = %d; "
			       "COMMIT;",
			 migrations[i], i + 1);
		r = db_exec(s, sql.ptr);
		buf_release(&sql);
		if (r < 0) {
			db_exec(s, "ROLLBACK");
			return -1;
		}
	}
	return 0;
}

int
store_open_existing(struct store **out, const char *data_dir)
{
	struct buf path = BUF_INIT;
	int ok;

	*out = NULL;
	buf_addf(&path, "%s/scaffold.db", data_dir);
	ok = access(path.ptr, F_OK) == 0;
	buf_release(&path);
	if (!ok)
		return err_set("no scaffold data in '%s' (nothing applied "
			       "there yet)",
			       data_dir),
		       ERR_NOTFOUND;
	return store_open(out, data_dir);
}

/*
 * The data dir holds the secret key, the database and every run's output:
 * an existing one that other users can reach is refused, naming the fix
 * (one scaffold created is 0700 already).
 */
int
store_check_data_dir(const char *dir)
{
	struct stat st;
	unsigned mode;
	const char *how;

	if (stat(dir, &st) < 0)
		return err_set("data dir '%s': %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set("data dir '%s' is not a directory", dir);
	mode = (unsigned)st.st_mode & 07777;
	if (!(mode & 077))
		return 0;
	how = mode & 044 ? "readable by" : mode & 022 ? "writable by"
						       : "open to";
	return err_set("data dir '%s' is %s other users (mode %04o): "
		       "chmod 700 '%s'",
		       dir, how, mode, dir);
}

/*
 * A directory of the data dir: made 0700, and made 0700 again when an
 * older scaffold or a hand left it wider.
 */
static int
private_dir(const char *path)
{
	struct stat st;

	if (mkdir_p(path, 0700) < 0)
		return -1;
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & 077) && chmod(path, 0700) < 0)
		return err_set("cannot chmod '%s': %s", path, strerror(errno));
	return 0;
}

/*
 * The database files are 0600: scaffold.db is created here (0600), before
 * SQLite opens it, and SQLite gives its -wal and -shm files the mode of
 * the database file; files an older scaffold left wider are narrowed.
 * No descriptor of them is opened: closing one would drop the POSIX locks
 * that SQLite holds on them for the other connections of this process.
 */
static int
private_db_files(const char *db)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	struct buf p = BUF_INIT;
	struct stat st;
	size_t i;
	int ret = -1;

	if (mknod(db, S_IFREG | 0600, 0) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", db, strerror(errno));
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(suffix); i++) {
		buf_reset(&p);
		buf_addf(&p, "%s%s", db, suffix[i]);
		if (lstat(p.ptr, &st) == 0 && S_ISREG(st.st_mode) &&
		    (st.st_mode & 077) && chmod(p.ptr, 0600) < 0) {
			err_set("cannot chmod '%s': %s", p.ptr,
				strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int
store_open(struct store **out, const char *data_dir)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct buf path = BUF_INIT;
	int ret = -1;

	*out = NULL;
	s->dir = xstrdup(data_dir);
	if (mkdir_p(data_dir, 0700) < 0 || store_check_data_dir(data_dir) < 0)
		goto out;
	buf_addf(&path, "%s/blobs", data_dir);
	if (private_dir(path.ptr) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "%s/logs", data_dir);
	if (private_dir(path.ptr) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "%s/runs", data_dir);
	if (private_dir(path.ptr) < 0)
		goto out;
	if (load_key(s) < 0)
		goto out;
	{
		char hex[SHA256_HEX_LEN + 1];

		hmac_sha256_hex(hex, s->key, sizeof(s->key), "instance", 8);
		memcpy(s->instance, hex, sizeof(s->instance) - 1);
	}
	buf_reset(&path);
	buf_addf(&path, "%s/scaffold.db", data_dir);
	if (private_db_files(path.ptr) < 0)
		goto out;
	if (sqlite3_open_v2(path.ptr, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		err_set("cannot open '%s': %s", path.ptr,
			s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (db_exec(s, "PRAGMA journal_mode = WAL; "
			"PRAGMA synchronous = NORMAL; "
			"PRAGMA foreign_keys = ON;") < 0 ||
	    migrate(s) < 0)
		goto out;
	*out = s;
	ret = 0;
out:
	buf_release(&path);
	if (ret < 0)
		store_close(s);
	return ret;
}

void
store_close(struct store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->stmts.cap; i++)
		if (s->stmts.slots[i].key)
			sqlite3_finalize(s->stmts.slots[i].value);
	strmap_release(&s->stmts);
	if (s->db)
		sqlite3_close(s->db);
	memset(s->key, 0, sizeof(s->key));
	free(s->dir);
	free(s);
}

const char *
store_data_dir(const struct store *s)
{
	return s->dir;
}

const unsigned char *
store_secret_key(const struct store *s)
{
	return s->key;
}

const char *
store_instance_id(const struct store *s)
{
	return s->instance;
}

int
store_begin(struct store *s)
{
	return db_exec(s, "BEGIN IMMEDIATE");
}

int
store_commit(struct store *s)
{
	return db_exec(s, "COMMIT");
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		db_exec(s, "ROLLBACK");
}

int
task_state_parse(const char *str)
{
	int i;

	for (i = 0; i < TS_N; i++)
		if (!strcmp(str, task_state_names[i]))
			return i;
	return -1;
}

static int
run_state_parse(const char *str)
{
	int i;

	for (i = 0; i < RS_N; i++)
		if (!strcmp(str, run_state_names[i]))
			return i;
	return RS_LOST;
}

/* ---- tasks ---- */

#define TASK_COLS                                                          \
	"t.id, t.cascade_id, t.name, t.state, t.present, t.fingerprint, "  \
	"t.success_fingerprint, t.attempts, t.manual, t.updated_at, "      \
	"(SELECT max(id) FROM runs WHERE task_id = t.id), "                \
	"(SELECT count(*) FROM runs WHERE task_id = t.id)"

static void
read_task(sqlite3_stmt *st, struct task_row *r)
{
	const char *state;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->cascade_id = sqlite3_column_int64(st, 1);
	r->name = db_col_str(st, 2);
	state = (const char *)sqlite3_column_text(st, 3);
	r->state = (enum task_state)task_state_parse(state ? state : "");
	if ((int)r->state < 0)
		r->state = TS_ERROR;
	r->present = sqlite3_column_int(st, 4);
	db_col_hex(st, 5, r->fingerprint);
	db_col_hex(st, 6, r->success_fingerprint);
	r->attempts = sqlite3_column_int(st, 7);
	r->manual = sqlite3_column_int(st, 8);
	r->updated_at = sqlite3_column_int64(st, 9);
	r->last_run = sqlite3_column_int64(st, 10);
	r->runs = sqlite3_column_int(st, 11);
}

void
task_rows_free(struct task_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

int
store_tasks(struct store *s, int64_t cascade_id, struct task_row **out,
	    size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " TASK_COLS " FROM tasks t "
				   "WHERE t.cascade_id = ?1 ORDER BY t.id");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_task(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list tasks");
}

int
store_task_find(struct store *s, int64_t cascade_id, const char *name,
		struct task_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " TASK_COLS " FROM tasks t "
				   "WHERE t.cascade_id = ?1 AND t.name = ?2");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_task(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : db_err(s, "find task");
}

int
store_task_get(struct store *s, int64_t task_id, struct task_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " TASK_COLS " FROM tasks t "
				   "WHERE t.id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_task(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : db_err(s, "get task");
}

int
store_task_insert(struct store *s, struct task_row *row)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO tasks (cascade_id, name, state, present, "
		   "fingerprint, updated_at) VALUES (?1, ?2, 'not_started', 1, "
		   "?3, ?4)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, row->cascade_id);
	sqlite3_bind_text(st, 2, row->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, store_now_ms());
	if (db_step_done(s, st, "insert task") < 0)
		return -1;
	row->id = sqlite3_last_insert_rowid(s->db);
	row->state = TS_NOT_STARTED;
	row->present = 1;
	return 0;
}

int
store_task_update(struct store *s, const struct task_row *row)
{
	sqlite3_stmt *st = db_stmt(
		s, "UPDATE tasks SET present = ?2, fingerprint = ?3, "
		   "success_fingerprint = ?4, attempts = ?5, manual = ?6, "
		   "updated_at = ?7 WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int(st, 2, row->present);
	sqlite3_bind_text(st, 3, row->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->success_fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, row->attempts);
	sqlite3_bind_int(st, 6, row->manual);
	sqlite3_bind_int64(st, 7, store_now_ms());
	return db_step_done(s, st, "update task");
}

int
store_task_set_state(struct store *s, int64_t task_id, enum task_state from,
		     enum task_state to, const char *reason)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE tasks SET state = ?2, "
				   "updated_at = ?3 WHERE id = ?1");
	int64_t now = store_now_ms();

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_text(st, 2, task_state_names[to], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (db_step_done(s, st, "set task state") < 0)
		return -1;
	st = db_stmt(s, "INSERT INTO task_history (task_id, from_state, "
		     "to_state, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_text(st, 2, task_state_names[from], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, task_state_names[to], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	return db_step_done(s, st, "record task history");
}

int
store_task_history(struct store *s, int64_t task_id, struct history_row **out,
		   size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT from_state, to_state, reason, at "
				   "FROM task_history WHERE task_id = ?1 "
				   "ORDER BY id");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_row *h;

		GROW(*out, *n + 1, alloc);
		h = &(*out)[(*n)++];
		h->from = db_col_str(st, 0);
		h->to = db_col_str(st, 1);
		h->reason = db_col_str(st, 2);
		h->at = sqlite3_column_int64(st, 3);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "read history");
}

void
history_rows_free(struct history_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].from);
		free(v[i].to);
		free(v[i].reason);
	}
	free(v);
}

/* ---- runs ---- */

#define RUN_COLS                                                         \
	"r.id, r.task_id, c.name, t.name, r.attempt, r.fingerprint, "    \
	"r.revision, r.runner, r.host, r.message, r.state, r.superseded, " \
	"r.kill_requested, r.exit_code, r.started_at, r.ended_at, r.batch"
#define RUN_FROM                                                         \
	" FROM runs r JOIN tasks t ON t.id = r.task_id "                 \
	"JOIN cascades c ON c.id = t.cascade_id "

static void
read_run(sqlite3_stmt *st, struct run_row *r)
{
	const char *state;

	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, 0);
	r->task_id = sqlite3_column_int64(st, 1);
	r->cascade = db_col_str(st, 2);
	r->task = db_col_str(st, 3);
	r->attempt = sqlite3_column_int(st, 4);
	db_col_hex(st, 5, r->fingerprint);
	r->revision = db_col_str(st, 6);
	r->runner = db_col_str(st, 7);
	r->host = db_col_str(st, 8);
	r->message = db_col_str(st, 9);
	state = (const char *)sqlite3_column_text(st, 10);
	r->state = (enum run_state)run_state_parse(state ? state : "");
	r->superseded = sqlite3_column_int(st, 11);
	r->kill_requested = sqlite3_column_int(st, 12);
	r->exit_code = sqlite3_column_type(st, 13) == SQLITE_NULL
			       ? -1
			       : sqlite3_column_int(st, 13);
	r->started_at = sqlite3_column_int64(st, 14);
	r->ended_at = sqlite3_column_int64(st, 15);
	r->batch = sqlite3_column_int64(st, 16);
}

void
run_row_release(struct run_row *r)
{
	free(r->cascade);
	free(r->task);
	free(r->revision);
	free(r->runner);
	free(r->host);
	free(r->message);
	memset(r, 0, sizeof(*r));
}

void
run_rows_free(struct run_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_row_release(&v[i]);
	free(v);
}

int
store_run_insert(struct store *s, struct run_row *row)
{
	sqlite3_stmt *st = db_stmt(
		s, "INSERT INTO runs (task_id, attempt, fingerprint, revision, "
		   "runner, host, state, started_at, batch) VALUES (?1, ?2, "
		   "?3, ?4, ?5, ?6, 'running', ?7, ?8)");

	if (!st)
		return -1;
	row->started_at = store_now_ms();
	sqlite3_bind_int64(st, 1, row->task_id);
	sqlite3_bind_int(st, 2, row->attempt);
	sqlite3_bind_text(st, 3, row->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row->revision, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, row->runner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, row->host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, row->started_at);
	sqlite3_bind_int64(st, 8, row->batch);
	if (db_step_done(s, st, "insert run") < 0)
		return -1;
	row->id = sqlite3_last_insert_rowid(s->db);
	row->state = RS_RUNNING;
	if (!row->batch) {
		/* the first run of a batch names it */
		row->batch = row->id;
		st = db_stmt(s, "UPDATE runs SET batch = id WHERE id = ?1");
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, row->id);
		return db_step_done(s, st, "insert run");
	}
	return 0;
}

int
store_run_finish(struct store *s, int64_t run_id, enum run_state state,
		 int exit_code, const char *message)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE runs SET state = ?2, exit_code = "
				   "?3, message = ?4, ended_at = ?5 "
				   "WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, run_state_names[state], -1, SQLITE_STATIC);
	if (exit_code >= 0)
		sqlite3_bind_int(st, 3, exit_code);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now_ms());
	return db_step_done(s, st, "finish run");
}

int
store_run_mark(struct store *s, int64_t run_id, int superseded,
	       int kill_requested)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE runs SET superseded = "
				   "max(superseded, ?2), kill_requested = "
				   "max(kill_requested, ?3) WHERE id = ?1");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int(st, 2, superseded);
	sqlite3_bind_int(st, 3, kill_requested);
	return db_step_done(s, st, "mark run");
}

int
store_runs_supersede(struct store *s, int64_t task_id)
{
	sqlite3_stmt *st = db_stmt(s, "UPDATE runs SET superseded = 1 WHERE "
				   "task_id = ?1 AND state = 'running'");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	return db_step_done(s, st, "supersede runs");
}

int
store_run_get(struct store *s, int64_t run_id, struct run_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " RUN_COLS RUN_FROM
				   "WHERE r.id = ?1");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_run(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return err_set("run %lld does not exist", (long long)run_id),
		       ERR_NOTFOUND;
	return db_err(s, "read run");
}

static int
list_runs(struct store *s, sqlite3_stmt *st, struct run_row **out, size_t *n)
{
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_run(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list runs");
}

int
store_runs_of_task(struct store *s, int64_t task_id, struct run_row **out,
		   size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " RUN_COLS RUN_FROM
				   "WHERE r.task_id = ?1 ORDER BY r.id");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	return list_runs(s, st, out, n);
}

int
store_runs_page(struct store *s, int64_t task_id, size_t limit,
		struct run_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " RUN_COLS RUN_FROM
				   "WHERE r.task_id = ?1 ORDER BY r.id DESC "
				   "LIMIT ?2");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	return list_runs(s, st, out, n);
}

/*
 * The hosts are those of the runs at the fingerprint of the task's newest
 * run (a definition's host list is part of its fingerprint); each host's
 * last run may be older (a retry runs only the failed hosts), ordered by
 * the host's first run at that fingerprint: the definition's order.
 */
int
store_runs_per_host(struct store *s, int64_t task_id, struct run_row **out,
		    size_t *n)
{
	sqlite3_stmt *st = db_stmt(
		s, "SELECT " RUN_COLS " FROM (SELECT max(id) AS last, "
		   "min(CASE WHEN fingerprint = (SELECT fingerprint FROM runs "
		   "WHERE task_id = ?1 ORDER BY id DESC LIMIT 1) THEN id END) "
		   "AS first FROM runs WHERE task_id = ?1 AND host IS NOT NULL "
		   "GROUP BY host) h JOIN runs r ON r.id = h.last "
		   "JOIN tasks t ON t.id = r.task_id "
		   "JOIN cascades c ON c.id = t.cascade_id "
		   "WHERE h.first IS NOT NULL ORDER BY h.first");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	return list_runs(s, st, out, n);
}

int
store_runs_running(struct store *s, struct run_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " RUN_COLS RUN_FROM
				   "WHERE r.state = 'running' ORDER BY r.id");

	if (!st)
		return -1;
	return list_runs(s, st, out, n);
}

int
store_runs_of_revision(struct store *s, int64_t cascade_id,
		       const char *revision, struct run_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " RUN_COLS RUN_FROM
				   "WHERE t.cascade_id = ?1 AND r.revision = "
				   "?2 ORDER BY r.id");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, revision, -1, SQLITE_STATIC);
	return list_runs(s, st, out, n);
}

int
store_run_last_success(struct store *s, int64_t task_id, int64_t *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT max(id) FROM runs WHERE task_id = "
				   "?1 AND state = 'success' AND "
				   "superseded = 0");
	int rc;

	*out = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, task_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_err(s, "find last successful run");
	return *out ? 0 : ERR_NOTFOUND;
}

/* ---- stored env and files ---- */

static int
put_value(struct store *s, sqlite3_stmt *st, int col, const char *value,
	  size_t len, int seal)
{
	struct buf sealed = BUF_INIT;

	if (!seal) {
		sqlite3_bind_blob(st, col, value, (int)len, SQLITE_TRANSIENT);
		return 0;
	}
	if (aead_seal(&sealed, s->key, value, len) < 0)
		return -1;
	sqlite3_bind_blob(st, col, sealed.ptr, (int)sealed.len,
			  SQLITE_TRANSIENT);
	buf_release(&sealed);
	return 0;
}

static int
get_value(struct store *s, sqlite3_stmt *st, int col, int sealed,
	  struct buf *out)
{
	const void *p = sqlite3_column_blob(st, col);
	size_t len = (size_t)sqlite3_column_bytes(st, col);

	if (!sealed) {
		buf_add(out, p, len);
		return 0;
	}
	return aead_open(out, s->key, p, len);
}

int
store_run_env_put(struct store *s, int64_t run_id, const char *name,
		  const char *value, size_t len, int seal)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT OR REPLACE INTO run_env (run_id, "
				   "name, value, sealed) VALUES (?1, ?2, ?3, "
				   "?4)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (put_value(s, st, 3, value, len, seal) < 0)
		return -1;
	sqlite3_bind_int(st, 4, seal);
	return db_step_done(s, st, "store env");
}

int
store_run_env_get(struct store *s, int64_t run_id, const char *name,
		  struct buf *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT value, sealed FROM run_env WHERE "
				   "run_id = ?1 AND name = ?2");
	int rc, ret;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = get_value(s, st, 0, sqlite3_column_int(st, 1), out);
	else
		ret = rc == SQLITE_DONE ? ERR_NOTFOUND
					: db_err(s, "read stored env");
	sqlite3_reset(st);
	return ret;
}

static int
list_names(struct store *s, sqlite3_stmt *st, int64_t run_id,
	   struct strvec *out)
{
	int rc;

	sqlite3_bind_int64(st, 1, run_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		strvec_push(out, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list names");
}

int
store_run_env_names(struct store *s, int64_t run_id, struct strvec *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT name FROM run_env WHERE run_id = "
				   "?1 ORDER BY name");

	return st ? list_names(s, st, run_id, out) : -1;
}

int
store_run_file_put(struct store *s, int64_t run_id, const char *path,
		   const char *blob, int64_t size)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT OR REPLACE INTO run_files (run_id, "
				   "path, blob, size) VALUES (?1, ?2, ?3, "
				   "?4)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, blob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, size);
	return db_step_done(s, st, "store file");
}

int
store_run_file_get(struct store *s, int64_t run_id, const char *path,
		   char blob[SHA256_HEX_LEN + 1])
{
	sqlite3_stmt *st = db_stmt(s, "SELECT blob FROM run_files WHERE run_id = "
				   "?1 AND path = ?2");
	int rc;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_hex(st, 0, blob);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ERR_NOTFOUND : db_err(s, "read file");
}

int
store_run_file_names(struct store *s, int64_t run_id, struct strvec *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT path FROM run_files WHERE run_id "
				   "= ?1 ORDER BY path");

	return st ? list_names(s, st, run_id, out) : -1;
}

void
store_blob_path(const struct store *s, const char *hash, struct buf *out)
{
	buf_addf(out, "%s/blobs/%.2s/%s", s->dir, hash, hash + 2);
}

void
store_log_path(const struct store *s, int64_t run_id, struct buf *out)
{
	buf_addf(out, "%s/logs/%lld.log", s->dir, (long long)run_id);
}

void
store_run_dir(const struct store *s, int64_t run_id, struct buf *out)
{
	buf_addf(out, "%s/runs/%lld", s->dir, (long long)run_id);
}

#define BLOB_CHUNK 65536

/* write(2) all of data, through EINTR: 0 or -1 (errno set). */
static int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Copy src into blobs/ under its SHA-256, streamed: hashed while it is
 * copied to a temporary name unique to this call (threads may store the
 * same bytes at once), synced, then renamed, so a crash never leaves a
 * partial blob and a big file is never held in memory.  src is opened
 * once, without following a final symlink, and must be a regular file.
 */
int
store_blob_put(struct store *s, const char *src,
	       char out[SHA256_HEX_LEN + 1], int64_t *size)
{
	struct buf path = BUF_INIT, tmp = BUF_INIT, dir = BUF_INIT;
	struct sha256_ctx *h = NULL;
	unsigned char rnd[8];
	struct stat st;
	char *chunk = NULL;
	int in = -1, fd = -1, ret = -1;
	int64_t total = 0;
	ssize_t n;
	size_t i;

	out[0] = '\0';
	in = open(src, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		err_set("cannot open '%s': %s", src, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("'%s' is not a regular file", src);
		goto out;
	}
	if (crypto_random(rnd, sizeof(rnd)) < 0)
		goto out;
	buf_addf(&tmp, "%s/blobs/.tmp-%d-", s->dir, (int)getpid());
	for (i = 0; i < sizeof(rnd); i++)
		buf_addf(&tmp, "%02x", rnd[i]);
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set("cannot create '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	h = sha256_new();
	chunk = xmalloc(BLOB_CHUNK);
	for (;;) {
		n = read(in, chunk, BLOB_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set("cannot read '%s': %s", src, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		sha256_update(h, chunk, (size_t)n);
		total += n;
		if (write_all(fd, chunk, (size_t)n) < 0) {
			err_set("cannot write '%s': %s", tmp.ptr,
				strerror(errno));
			goto out;
		}
	}
	sha256_final_hex(h, out);
	h = NULL;
	*size = total;
	store_blob_path(s, out, &path);
	if (access(path.ptr, F_OK) == 0) {
		ret = 0; /* the same bytes are there already */
		goto out;
	}
	buf_addf(&dir, "%s/blobs/%.2s", s->dir, out);
	if (mkdir(dir.ptr, 0700) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", dir.ptr, strerror(errno));
		goto out;
	}
	if (fsync(fd) < 0 || rename(tmp.ptr, path.ptr) < 0) {
		err_set("cannot store blob '%s': %s", path.ptr,
			strerror(errno));
		goto out;
	}
	buf_reset(&tmp); /* renamed: nothing to remove */
	ret = 0;
out:
	if (h) {
		char discard[SHA256_HEX_LEN + 1];

		sha256_final_hex(h, discard);
	}
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (tmp.len)
		unlink(tmp.ptr);
	free(chunk);
	buf_release(&path);
	buf_release(&tmp);
	buf_release(&dir);
	return ret;
}

/* ---- inputs ---- */

int
store_input_put(struct store *s, int64_t cascade_id, const char *name,
		const char *value, size_t len, int password)
{
	sqlite3_stmt *st = db_stmt(s, "INSERT OR REPLACE INTO inputs (cascade_id, "
				   "name, value, sealed, updated_at) VALUES "
				   "(?1, ?2, ?3, ?4, ?5)");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (put_value(s, st, 3, value, len, password) < 0)
		return -1;
	sqlite3_bind_int(st, 4, password);
	sqlite3_bind_int64(st, 5, store_now_ms());
	return db_step_done(s, st, "store input");
}

int
store_input_get(struct store *s, int64_t cascade_id, const char *name,
		struct buf *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT value, sealed FROM inputs WHERE "
				   "cascade_id = ?1 AND name = ?2");
	int rc, ret;

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = get_value(s, st, 0, sqlite3_column_int(st, 1), out);
	else
		ret = rc == SQLITE_DONE ? ERR_NOTFOUND
					: db_err(s, "read input");
	sqlite3_reset(st);
	return ret;
}

int
store_tasks_in_state(struct store *s, enum task_state state, size_t limit,
		     struct task_row **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT " TASK_COLS " FROM tasks t JOIN "
				   "cascades c ON c.id = t.cascade_id WHERE "
				   "t.state = ?1 AND t.present = 1 AND "
				   "c.active = 1 ORDER BY t.updated_at, t.id "
				   "LIMIT ?2");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, task_state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_task(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list tasks by state");
}

int
store_runs_kill_requested(struct store *s, int64_t **out, size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT id FROM runs WHERE state = "
				   "'running' AND kill_requested = 1");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		(*out)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : db_err(s, "list kill requests");
}
