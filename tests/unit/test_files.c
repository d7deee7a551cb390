/*
 * test_files.c - a cascade's file store (store-files.c) and the loads it
 * satisfies (sched.c): names, put/get/list/delete, and the nearest
 * ancestor winning over the file store; blobs streamed into the store, and
 * the modes of the data dir and its files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

static char dir[64];
static struct store *st;
static struct sched *sc;

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static int
setup(void **state)
{
	(void)state;
	unit_tmpdir(dir, sizeof(dir), "scaffold-unit");
	if (store_open(&st, dir) < 0)
		fail_msg("store_open: %s", err_msg());
	sched_new(&sc, st);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sched_free(sc);
	store_close(st);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static void
test_names(void **state)
{
	static const char *const good[] = { "a", "conf/app.conf", ".env",
					    "a/.b/c", "x..y" };
	static const struct {
		const char *name, *msg;
	} bad[] = {
		{ "", "a file name must not be empty" },
		{ "/etc/passwd", "file name '/etc/passwd' must be a relative "
				 "path inside the run dir, not an absolute "
				 "path" },
		{ "a/../../b", "file name 'a/../../b' must stay inside the run "
			       "dir ('..' is not allowed)" },
		{ "..", "file name '..' must stay inside the run dir ('..' is "
			"not allowed)" },
		{ "dir/", "file name 'dir/' must name a file inside the run "
			  "dir" },
		{ "a\nb", "file name 'a\nb' contains a control character" },
		{ "./a", "file name './a' is not canonical: write it without "
			 "empty or '.' segments" },
		{ "a//b", "file name 'a//b' is not canonical: write it "
			  "without empty or '.' segments" },
		{ "a/./b", "file name 'a/./b' is not canonical: write it "
			   "without empty or '.' segments" },
		{ "a/.", "file name 'a/.' is not canonical: write it without "
			 "empty or '.' segments" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(store_file_name_check(good[i]), 0);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(store_file_name_check(bad[i].name),
				 ERR_INVALID);
		assert_string_equal(err_msg(), bad[i].msg);
	}
}

static int64_t
apply(const char *yaml)
{
	struct sched_def def;
	struct cascade_row row;
	struct cascade *c = load_ok(yaml);
	int64_t id;

	def.cascade = c;
	def.source = yaml;
	def.file = "t.yaml";
	if (sched_apply(sc, "", "rev", &def, 1, 0, NULL, NULL) < 0)
		fail_msg("sched_apply: %s", err_msg());
	assert_int_equal(store_cascade_find(st, "", c->name, &row), 0);
	id = row.id;
	cascade_row_release(&row);
	cascade_free(c);
	return id;
}

static void
test_put_get_list_delete(void **state)
{
	struct file_row f, *v;
	struct buf path = BUF_INIT, data = BUF_INIT;
	size_t n;
	int created;
	int64_t id;

	(void)state;
	id = apply("version: v1\nname: store\ntasks:\n- {name: a, run: x}\n");
	assert_int_equal(store_file_get(st, id, "x", &f), ERR_NOTFOUND);
	assert_int_equal(store_file_put(st, id, "b/two", "2\0two", 5, &f,
					&created),
			 0);
	assert_int_equal(created, 1);
	assert_int_equal(f.size, 5);
	free(f.name);
	assert_int_equal(store_file_put(st, id, "a", "one", 3, NULL, &created),
			 0);
	assert_int_equal(created, 1);
	assert_int_equal(store_file_put(st, id, "a", "uno", 3, &f, &created),
			 0);
	assert_int_equal(created, 0);
	store_blob_path(st, f.blob, &path);
	assert_int_equal(buf_read_file(&data, path.ptr, 100), 0);
	assert_int_equal(data.len, 3);
	assert_memory_equal(data.ptr, "uno", 3);
	free(f.name);
	assert_int_equal(store_file_put(st, id, "../x", "x", 1, NULL, NULL),
			 ERR_INVALID);
	assert_int_equal(store_file_list(st, id, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[1].name, "b/two");
	assert_int_equal(v[1].size, 5);
	file_rows_free(v, n);
	assert_int_equal(store_file_delete(st, id, "a"), 0);
	assert_int_equal(store_file_delete(st, id, "a"), ERR_NOTFOUND);
	assert_string_equal(err_msg(), "the file store has no file 'a'");
	assert_int_equal(store_file_list(st, id, &v, &n), 0);
	assert_int_equal(n, 1);
	file_rows_free(v, n);
	buf_release(&path);
	buf_release(&data);
}

/* Claim what is waiting; the request of task (NULL when none). */
static struct run_req *
claim(const char *task, struct run_req ***all, size_t *n)
{
	size_t i;

	if (sched_claim(sc, 64, all, n) < 0)
		fail_msg("sched_claim: %s", err_msg());
	for (i = 0; i < *n; i++)
		if (!strcmp((*all)[i]->task, task))
			return (*all)[i];
	return NULL;
}

static void
release(struct run_req **all, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		run_req_free(all[i]);
	free(all);
}

static void
finish(struct run_req *r, const char *stored_path, const char *stored_src)
{
	struct run_load_file f;
	struct run_done d;

	memset(&d, 0, sizeof(d));
	d.run_id = r->run_id;
	d.state = RS_SUCCESS;
	d.message = "";
	if (stored_path) {
		f.path = (char *)stored_path;
		f.src = (char *)stored_src;
		d.files = &f;
		d.nfiles = 1;
	}
	if (sched_finish(sc, &d) < 0)
		fail_msg("sched_finish: %s", err_msg());
}

static void
test_load_from_file_store(void **state)
{
	struct run_req **all = NULL, *r;
	struct run_row run;
	struct task_row t;
	struct file_row f;
	size_t n = 0;
	int64_t id;

	(void)state;
	id = apply("version: v1\nname: loads\ntasks:\n"
		   "- {name: use, run: x, load: {file: [conf/app.conf]}}\n");
	/* nothing has it: the run ends at once as an error */
	assert_null(claim("use", &all, &n));
	release(all, n);
	assert_int_equal(store_task_find(st, id, "use", &t), 0);
	free(t.name);
	assert_int_equal(store_run_get(st, t.last_run, &run), 0);
	assert_int_equal(run.state, RS_ERROR);
	assert_string_equal(run.message,
			    "load file 'conf/app.conf': no task it depends on "
			    "has stored it, and the cascade's file store does "
			    "not have it");
	run_row_release(&run);
	/* uploaded: the same task, run again, gets it */
	assert_int_equal(store_file_put(st, id, "conf/app.conf", "port=1\n", 7,
					&f, NULL),
			 0);
	assert_int_equal(sched_trigger(sc, "", "loads", "use", 0, NULL), 0);
	r = claim("use", &all, &n);
	assert_non_null(r);
	assert_int_equal(r->nfiles, 1);
	assert_string_equal(r->files[0].path, "conf/app.conf");
	assert_non_null(strstr(r->files[0].src, f.blob + 2));
	release(all, n);
	free(f.name);
}

/* The reason of the task's state change back from the latest. */
static char *
last_reason(int64_t cascade_id, const char *task, size_t back)
{
	struct history_row *h = NULL;
	struct task_row t;
	size_t n = 0;
	char *why;

	assert_int_equal(store_task_find(st, cascade_id, task, &t), 0);
	assert_int_equal(store_task_history(st, t.id, &h, &n), 0);
	free(t.name);
	assert_true(n > back);
	why = xstrdup(h[n - 1 - back].reason ? h[n - 1 - back].reason : "");
	history_rows_free(h, n);
	return why;
}

static enum task_state
state_of(int64_t cascade_id, const char *task)
{
	struct task_row t;

	assert_int_equal(store_task_find(st, cascade_id, task, &t), 0);
	free(t.name);
	return t.state;
}

/* A put resets the tasks that load the file from the store, with why; the
 * same bytes again, or a file a task gets from an ancestor, reset none. */
static void
test_file_put_resets_consumers(void **state)
{
	struct run_req **all = NULL;
	struct buf report = BUF_INIT;
	char blob[SHA256_HEX_LEN + 1];
	struct file_row f;
	size_t n = 0;
	int64_t id;
	char *why;

	(void)state;
	id = apply("version: v1\nname: moves\ntasks:\n"
		   "- {name: make, run: x, store: {file: [made]}}\n"
		   "- {name: use, run: x, load: {file: [app.tar]}}\n"
		   "- {name: after, run: x, depends_on: [use]}\n"
		   "- {name: mine, run: x, depends_on: [make], "
		   "load: {file: [made]}}\n");
	assert_null(claim("use", &all, &n));
	release(all, n);
	assert_int_equal(state_of(id, "use"), TS_ERROR);
	assert_int_equal(store_blob_put_data(st, "v1", 2, blob), 0);
	assert_int_equal(sched_file_put(sc, id, "app.tar", blob, 2, &f, NULL,
					&report),
			 0);
	free(f.name);
	assert_string_equal(report.ptr, "cascade 'moves': 0 new, 1 changed, "
					"0 removed; 1 downstream reset\n");
	assert_int_equal(state_of(id, "use"), TS_WAITING);
	why = last_reason(id, "use", 1);
	assert_string_equal(why, "file 'app.tar' changed in the file store");
	free(why);
	why = last_reason(id, "use", 0);
	assert_string_equal(why, "ready: no dependencies");
	free(why);
	/* the same bytes: no change */
	buf_reset(&report);
	assert_int_equal(sched_file_put(sc, id, "app.tar", blob, 2, NULL, NULL,
					&report),
			 0);
	assert_string_equal(report.ptr, "cascade 'moves': no change\n");
	/* a file 'mine' gets from 'make': the store's copy moves nothing */
	buf_reset(&report);
	assert_int_equal(sched_file_put(sc, id, "made", blob, 2, NULL, NULL,
					&report),
			 0);
	assert_string_equal(report.ptr, "cascade 'moves': no change\n");
	/* removed: 'use' resets, saying so */
	buf_reset(&report);
	assert_int_equal(sched_file_delete(sc, id, "app.tar", &report), 0);
	assert_string_equal(report.ptr, "cascade 'moves': 0 new, 1 changed, "
					"0 removed; 1 downstream reset\n");
	why = last_reason(id, "use", 1);
	assert_string_equal(why, "file 'app.tar' removed from the file store");
	free(why);
	assert_int_equal(sched_file_delete(sc, id, "app.tar", &report),
			 ERR_NOTFOUND);
	buf_release(&report);
}

static void
test_ancestor_wins_over_file_store(void **state)
{
	struct run_req **all = NULL, *r;
	struct file_row f;
	char src[128];
	size_t n = 0;
	FILE *fp;
	int64_t id;

	(void)state;
	id = apply("version: v1\nname: both\ntasks:\n"
		   "- {name: make, run: x, store: {file: [out.txt]}}\n"
		   "- {name: use, run: x, depends_on: [make], "
		   "load: {file: [out.txt]}}\n");
	assert_int_equal(store_file_put(st, id, "out.txt", "uploaded", 8, &f,
					NULL),
			 0);
	free(f.name);
	snprintf(src, sizeof(src), "%s/made.txt", dir);
	fp = fopen(src, "w");
	assert_non_null(fp);
	fputs("made", fp);
	fclose(fp);
	r = claim("make", &all, &n);
	assert_non_null(r);
	finish(r, "out.txt", src);
	release(all, n);
	r = claim("use", &all, &n);
	assert_non_null(r);
	assert_int_equal(r->nfiles, 1);
	/* the blob of "made", not of "uploaded" */
	{
		char hex[SHA256_HEX_LEN + 1];

		sha256_hex(hex, "made", 4);
		assert_non_null(strstr(r->files[0].src, hex + 2));
	}
	release(all, n);
}

/* A file that cannot be stored (a full disk, here a missing copy): the run
 * is recorded as error naming the task's file, and the caller is told. */
static void
test_store_failure_named(void **state)
{
	struct run_req **all = NULL, *r;
	struct run_load_file f;
	struct run_done d;
	struct run_row run;
	char src[128], why[512];
	size_t n = 0;

	(void)state;
	apply("version: v1\nname: lost\ntasks:\n"
	      "- {name: make, run: x, store: {file: [out.txt]}}\n");
	r = claim("make", &all, &n);
	assert_non_null(r);
	snprintf(src, sizeof(src), "%s/not-there.txt", dir);
	memset(&d, 0, sizeof(d));
	d.run_id = r->run_id;
	d.state = RS_SUCCESS;
	d.message = "";
	f.path = "out.txt";
	f.src = src;
	d.files = &f;
	d.nfiles = 1;
	why[0] = '\0';
	d.store_error = why;
	d.store_error_len = sizeof(why);
	assert_int_equal(sched_finish(sc, &d), 0);
	assert_int_equal(store_run_get(st, r->run_id, &run), 0);
	assert_int_equal(run.state, RS_ERROR);
	assert_true(!strncmp(run.message, "cannot store file 'out.txt': ",
			     29));
	assert_non_null(strstr(run.message, "No such file or directory"));
	assert_string_equal(why, run.message);
	run_row_release(&run);
	release(all, n);
}

/* Entries of dir/blobs whose name starts with ".tmp-". */
static int
blob_temps(void)
{
	char p[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/blobs", dir);
	d = opendir(p);
	assert_non_null(d);
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, ".tmp-", 5);
	closedir(d);
	return n;
}

/* A file of several chunks, streamed: its SHA-256, its size, 0600, the
 * same bytes; the same content again is one blob; no temporary is left. */
static void
test_blob_put_streams(void **state)
{
	struct buf got = BUF_INIT, path = BUF_INIT;
	char src[128], hex[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	char again[SHA256_HEX_LEN + 1], *data;
	size_t i, n = 1000003;
	int64_t size = -1;
	struct stat sb;
	int fd;

	(void)state;
	data = xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 31 + i / 997);
	snprintf(src, sizeof(src), "%s/src.bin", dir);
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	sha256_hex(want, data, n);

	assert_int_equal(store_blob_put(st, src, hex, &size), 0);
	assert_string_equal(hex, want);
	assert_int_equal(size, (int64_t)n);
	store_blob_path(st, hex, &path);
	assert_int_equal(stat(path.ptr, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(buf_read_file(&got, path.ptr, n + 1), 0);
	assert_int_equal(got.len, n);
	assert_memory_equal(got.ptr, data, n);
	assert_int_equal(blob_temps(), 0);

	assert_int_equal(store_blob_put(st, src, again, &size), 0);
	assert_string_equal(again, want);
	assert_int_equal(blob_temps(), 0);

	/* an empty file is a blob too; a symlink or a directory is not */
	fd = open(src, O_WRONLY | O_TRUNC);
	close(fd);
	assert_int_equal(store_blob_put(st, src, hex, &size), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b"
				 "934ca495991b7852b855");
	assert_int_equal(size, 0);
	buf_reset(&path);
	buf_addf(&path, "%s/link", dir);
	assert_int_equal(symlink(src, path.ptr), 0);
	assert_int_equal(store_blob_put(st, path.ptr, hex, &size), -1);
	assert_non_null(strstr(err_msg(), "Too many levels of symbolic links"));
	assert_int_equal(store_blob_put(st, dir, hex, &size), -1);
	buf_reset(&got);
	buf_addf(&got, "'%s' is not a regular file", dir);
	assert_string_equal(err_msg(), got.ptr);
	assert_int_equal(blob_temps(), 0);
	unlink(path.ptr);
	unlink(src);
	free(data);
	buf_release(&got);
	buf_release(&path);
}

static unsigned
mode_of(const char *d, const char *name)
{
	char p[160];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/%s", d, name);
	if (stat(p, &sb) < 0)
		fail_msg("stat '%s': %s", p, strerror(errno));
	return (unsigned)sb.st_mode & 07777;
}

/*
 * The data dir is 0700 and its database files 0600, whatever the umask;
 * an existing data dir other users can reach is refused, naming the fix;
 * files an older scaffold left wider are narrowed.
 */
static void
test_data_dir_modes(void **state)
{
	char d[96], want[256], p[160];
	struct store *s2 = NULL;
	mode_t old;

	(void)state;
	old = umask(0);
	snprintf(d, sizeof(d), "%s/data", dir);
	assert_int_equal(store_open(&s2, d), 0);
	/* a write: the WAL and its index exist now */
	assert_int_equal(store_begin(s2), 0);
	assert_int_equal(store_commit(s2), 0);
	assert_int_equal(mode_of(d, "."), 0700);
	assert_int_equal(mode_of(d, "blobs"), 0700);
	assert_int_equal(mode_of(d, "logs"), 0700);
	assert_int_equal(mode_of(d, "runs"), 0700);
	assert_int_equal(mode_of(d, "secret.key"), 0600);
	assert_int_equal(mode_of(d, "scaffold.db"), 0600);
	assert_int_equal(mode_of(d, "scaffold.db-wal"), 0600);
	assert_int_equal(mode_of(d, "scaffold.db-shm"), 0600);
	store_close(s2);
	s2 = NULL;

	/* left wider by an older scaffold: narrowed on open */
	snprintf(p, sizeof(p), "%s/scaffold.db", d);
	assert_int_equal(chmod(p, 0644), 0);
	snprintf(p, sizeof(p), "%s/logs", d);
	assert_int_equal(chmod(p, 0755), 0);
	assert_int_equal(store_open(&s2, d), 0);
	assert_int_equal(mode_of(d, "scaffold.db"), 0600);
	assert_int_equal(mode_of(d, "logs"), 0700);
	store_close(s2);
	s2 = NULL;

	/* other users can read it, write it, or only enter it */
	assert_int_equal(chmod(d, 0755), 0);
	assert_int_equal(store_open(&s2, d), -1);
	assert_null(s2);
	snprintf(want, sizeof(want),
		 "data dir '%s' is readable by other users (mode 0755): "
		 "chmod 700 '%s'",
		 d, d);
	assert_string_equal(err_msg(), want);
	assert_int_equal(store_open_existing(&s2, d), -1);
	assert_string_equal(err_msg(), want);
	assert_int_equal(chmod(d, 0730), 0);
	assert_int_equal(store_open(&s2, d), -1);
	snprintf(want, sizeof(want),
		 "data dir '%s' is writable by other users (mode 0730): "
		 "chmod 700 '%s'",
		 d, d);
	assert_string_equal(err_msg(), want);
	assert_int_equal(chmod(d, 0701), 0);
	assert_int_equal(store_open(&s2, d), -1);
	snprintf(want, sizeof(want),
		 "data dir '%s' is open to other users (mode 0701): "
		 "chmod 700 '%s'",
		 d, d);
	assert_string_equal(err_msg(), want);
	/* the fix it names works */
	assert_int_equal(chmod(d, 0700), 0);
	assert_int_equal(store_open(&s2, d), 0);
	store_close(s2);
	umask(old);
}

/* Whether another process sees a lock on len bytes at off of path. */
static int
locked_elsewhere(const char *path, off_t off, off_t len)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct flock fl;
		int fd = open(path, O_RDONLY);

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fl.l_start = off;
		fl.l_len = len;
		if (fd < 0 || fcntl(fd, F_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type == F_UNLCK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 2);
	return WEXITSTATUS(status);
}

/*
 * Opening the store again (each thread of serve has its own connection)
 * must not drop the locks SQLite holds for the others: closing any
 * descriptor of the database file drops every POSIX lock this process has
 * on it, and another process closing its connection would then take the
 * WAL away from under them ("database disk image is malformed").
 */
static void
test_open_keeps_locks(void **state)
{
	char db[96];
	struct store *s2 = NULL;
	/* SQLite's SHARED range, held by every connection in WAL mode */
	const off_t shared = 0x40000002, nshared = 510;

	(void)state;
	snprintf(db, sizeof(db), "%s/scaffold.db", dir);
	assert_int_equal(locked_elsewhere(db, shared, nshared), 1);
	assert_int_equal(store_open(&s2, dir), 0);
	assert_int_equal(locked_elsewhere(db, shared, nshared), 1);
	store_close(s2);
	assert_int_equal(locked_elsewhere(db, shared, nshared), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_put_get_list_delete),
		cmocka_unit_test(test_load_from_file_store),
		cmocka_unit_test(test_file_put_resets_consumers),
		cmocka_unit_test(test_ancestor_wins_over_file_store),
		cmocka_unit_test(test_store_failure_named),
		cmocka_unit_test(test_blob_put_streams),
		cmocka_unit_test(test_data_dir_modes),
		cmocka_unit_test(test_open_keeps_locks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
