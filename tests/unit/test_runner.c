/*
 * test_runner.c - the runner table, the secret masker, and the local runner
 * with real processes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/runner-int.h"

/* ---- helpers ---------------------------------------------------------- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whole file (caller frees), or NULL; *len set. */
static char *
slurp(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path, 1 << 26) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

static void
spit(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Alive and not a zombie. */
static bool
pid_alive(pid_t pid)
{
	char path[64], *s, *p;
	bool zombie = false;

	if (kill(pid, 0) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = slurp(path, NULL);
	if (s && (p = strrchr(s, ')')) && p[1] == ' ' && p[2] == 'Z')
		zombie = true;
	free(s);
	return !zombie;
}

struct fx {
	char base[128];
	char work[PATH_MAX];
	char run[PATH_MAX]; /* realpath of work + /run */
	char logp[PATH_MAX];
	struct run_spec spec;
	struct run_result res;
	char *log;
	size_t loglen;
	int64_t elapsed_ms;
	struct run_handle *h;
	int wait_ret;
};

static void
fx_init(struct fx *f)
{
	char *real;
	int fd;

	memset(f, 0, sizeof(*f));
	unit_tmpdir(f->base, sizeof(f->base), "scaffold-test-runner");
	/* a quote and a space: the wrapper must quote its paths */
	snprintf(f->work, sizeof(f->work), "%s/wo'rk dir", f->base);
	assert_int_equal(mkdir(f->work, 0700), 0);
	real = realpath(f->work, NULL);
	assert_non_null(real);
	snprintf(f->run, sizeof(f->run), "%s/run", real);
	free(real);
	snprintf(f->logp, sizeof(f->logp), "%s/log", f->base);
	fd = open(f->logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	f->spec.run_id = 1;
	f->spec.cascade = "c";
	f->spec.task = "t";
	f->spec.attempt = 1;
	f->spec.work_dir = f->work;
	f->spec.log_fd = fd;
}

/* A file of scaffold's beside the run dir: WORK/NAME. */
static void
fx_work_path(struct fx *f, char *out, size_t len, const char *name)
{
	size_t rl = strlen(f->run);

	assert_true(rl > 4 && !strcmp(f->run + rl - 4, "/run"));
	snprintf(out, len, "%.*s/%s", (int)(rl - 4), f->run, name);
}

/* Start; returns start's result. */
static int
fx_start(struct fx *f, const char *script)
{
	f->spec.script = script;
	f->spec.script_len = strlen(script);
	return runner_local.start(&f->h, &f->spec);
}

/* Wait, free, read the log. */
static void
fx_finish(struct fx *f, int64_t t0)
{
	f->wait_ret = runner_local.wait(f->h, &f->res);
	f->elapsed_ms = mono_ms() - t0;
	runner_local.free(f->h);
	f->h = NULL;
	free(f->log);
	f->log = slurp(f->logp, &f->loglen);
	assert_non_null(f->log);
}

static void
fx_run(struct fx *f, const char *script)
{
	int64_t t0 = mono_ms();
	int r = fx_start(f, script);

	if (r)
		fail_msg("start: %s", err_msg());
	fx_finish(f, t0);
	if (f->wait_ret)
		fail_msg("wait: %s", err_msg());
}

static void
fx_done(struct fx *f)
{
	run_result_release(&f->res);
	close(f->spec.log_fd);
	free(f->log);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
env_of(const struct run_result *r, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i < r->nenv; i++) {
		if (!strcmp(r->env[i].name, name)) {
			if (len)
				*len = r->env[i].len;
			return r->env[i].value;
		}
	}
	return NULL;
}

/*
 * The pid, as this process sees it, of the process whose command line is
 * "sleep ARG"; 0 when there is none.  A run lives in a PID namespace of
 * its own: the pids it could write down are not ours.
 */
static pid_t
find_sleep(const char *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[300], want[64], got[64];
	size_t wl;
	ssize_t n;
	pid_t pid = 0;
	int fd;

	wl = (size_t)snprintf(want, sizeof(want), "sleep%c%s", 0, arg) + 1;
	while (d && !pid && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, got, sizeof(got));
		close(fd);
		if (n == (ssize_t)wl && !memcmp(got, want, wl) &&
		    pid_alive(atoi(e->d_name)))
			pid = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return pid;
}

/* Wait (ms at most) until no process is "sleep ARG". */
static bool
sleep_dies(const char *arg, int ms)
{
	int64_t end = mono_ms() + ms;

	while (find_sleep(arg)) {
		if (mono_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* A sleep argument no other test or process uses: "30.PID0N". */
static const char *
tag(char *buf, size_t size, int n)
{
	snprintf(buf, size, "30.%d0%d", (int)getpid(), n);
	return buf;
}

/* ---- table ------------------------------------------------------------ */

static void
test_find(void **state)
{
	(void)state;
	assert_ptr_equal(runner_find("local"), &runner_local);
	assert_string_equal(runner_local.name, "local");
	assert_null(runner_find("nope"));
	assert_null(runner_find(""));
	assert_null(runner_find(NULL));
	assert_string_equal(run_outcome_names[RUN_SUCCESS], "success");
	assert_string_equal(run_outcome_names[RUN_ERROR], "error");
	assert_string_equal(run_outcome_names[RUN_KILLED], "killed");
	assert_string_equal(run_outcome_names[RUN_LOST], "lost");
}

/* ---- masker ----------------------------------------------------------- */

/* Feed in at the given cut points (sorted, ncuts of them), then flush. */
static char *
mask_cuts(const char *const *sec, const size_t *lens, size_t n,
	  const char *in, size_t len, const size_t *cuts, size_t ncuts,
	  size_t *outlen)
{
	struct masker *m = masker_new(sec, lens, n);
	struct buf out = BUF_INIT;
	size_t i, from = 0;

	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		masker_feed(m, in + from, to - from, &out);
		from = to;
	}
	masker_flush(m, &out);
	masker_free(m);
	return buf_detach(&out, outlen);
}

/*
 * The reference: every occurrence of every secret is an interval;
 * overlapping intervals merge; each merged interval becomes one mask.
 */
static char *
mask_ref(const char *const *sec, const size_t *lens, size_t n, const char *in,
	 size_t len, size_t *outlen)
{
	struct buf out = BUF_INIT;
	size_t *ends = xcalloc(len + 1, sizeof(*ends)); /* longest at i */
	size_t i, k, end = 0;
	bool open = false;

	for (i = 0; i < len; i++)
		for (k = 0; k < n; k++)
			if (lens[k] && lens[k] <= len - i &&
			    !memcmp(in + i, sec[k], lens[k]) &&
			    i + lens[k] > ends[i])
				ends[i] = i + lens[k];
	for (i = 0; i < len; i++) {
		if (open && i >= end)
			open = false;
		if (ends[i] > i && (!open || ends[i] > end)) {
			if (!open)
				buf_puts(&out, "********");
			open = true;
			if (ends[i] > end)
				end = ends[i];
		}
		if (!open)
			buf_putc(&out, in[i]);
	}
	free(ends);
	return buf_detach(&out, outlen);
}

static void
check_mask(const char *const *sec, size_t n, const char *in, const char *want)
{
	size_t lens[8], len = strlen(in), i, j, cuts[2], ol, wl = strlen(want);
	char *got;

	assert_true(n <= 8);
	for (i = 0; i < n; i++)
		lens[i] = strlen(sec[i]);
	got = mask_ref(sec, lens, n, in, len, &ol);
	assert_string_equal(got, want);
	free(got);
	/* every 2-way and 3-way split */
	for (i = 0; i <= len; i++) {
		for (j = i; j <= len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			got = mask_cuts(sec, lens, n, in, len, cuts, 2, &ol);
			if (ol != wl || memcmp(got, want, wl))
				fail_msg("'%s' cut at %zu,%zu: got '%s' want "
					 "'%s'",
					 in, i, j, got, want);
			free(got);
		}
	}
}

static void
test_masker_examples(void **state)
{
	static const char *const one[] = { "hunter2" };
	static const char *const two[] = { "abc", "bcdef" };
	static const char *const nested[] = { "ab", "abcd" };
	static const char *const aa[] = { "aa" };
	static const char *const empty[] = { "", "x" };
	static const char *const none[] = { "" };

	(void)state;
	check_mask(one, 1, "", "");
	check_mask(one, 1, "hunter2", "********");
	check_mask(one, 1, "xhunter2y", "x********y");
	check_mask(one, 1, "pw hunter2 and hunter2\n",
		   "pw ******** and ********\n");
	check_mask(one, 1, "hunter2hunter2", "****************");
	check_mask(one, 1, "hunte", "hunte");
	check_mask(one, 1, "hhunter2hunter", "h********hunter");
	/* overlapping occurrences merge: no byte of either leaks */
	check_mask(two, 2, "xabcdefx", "x********x");
	check_mask(two, 2, "abcdabcdef", "********d********");
	/* longest first at a position */
	check_mask(nested, 2, "abcd", "********");
	check_mask(nested, 2, "abce", "********ce");
	check_mask(nested, 2, "abcab", "********c********");
	check_mask(aa, 1, "aaa", "********");
	check_mask(aa, 1, "aaaa", "********");
	check_mask(aa, 1, "a a", "a a");
	check_mask(empty, 2, "axb", "a********b");
	check_mask(none, 1, "plain text", "plain text");
	check_mask(NULL, 0, "plain text", "plain text");
}

static void
test_masker_binary(void **state)
{
	static const char sec[] = { 'a', '\0', '\xff', 'b' };
	const char *secs[] = { sec };
	size_t lens[] = { sizeof(sec) };
	static const char in[] = { 'x', 'a',  '\0', '\xff',
				    'b', '\0', 'a',  '\0' };
	size_t cuts[1], i, ol;
	char *got;

	(void)state;
	for (i = 0; i <= sizeof(in); i++) {
		cuts[0] = i;
		got = mask_cuts(secs, lens, 1, in, sizeof(in), cuts, 1, &ol);
		assert_int_equal(ol, 1 + 8 + 3);
		assert_memory_equal(got, "x********\0a\0", ol);
		free(got);
	}
}

/* The tail held back is at most longest-secret - 1 bytes. */
static void
test_masker_holdback(void **state)
{
	static const char *const sec[] = { "hunter2", "xyz" };
	size_t lens[] = { 7, 3 };
	struct masker *m = masker_new(sec, lens, 2);
	struct buf out = BUF_INIT;

	(void)state;
	masker_feed(m, "abc hun", 7, &out);
	assert_string_equal(out.ptr, "abc ");
	masker_feed(m, "ter", 3, &out);
	assert_string_equal(out.ptr, "abc ");
	masker_feed(m, "2!", 2, &out);
	assert_string_equal(out.ptr, "abc ********!");
	buf_reset(&out);
	masker_feed(m, "hunter", 6, &out);
	assert_string_equal(out.ptr, "");
	masker_feed(m, "x", 1, &out);
	assert_string_equal(out.ptr, "hunter");
	masker_flush(m, &out);
	assert_string_equal(out.ptr, "hunterx");
	buf_reset(&out);
	masker_feed(m, "no secret here", 14, &out);
	assert_string_equal(out.ptr, "no secret here");
	masker_flush(m, &out);
	assert_string_equal(out.ptr, "no secret here");
	masker_free(m);
	buf_release(&out);
	masker_free(NULL);
}

/* Random secrets, text and cuts over a small alphabet against mask_ref. */
static void
test_masker_random(void **state)
{
	char secbuf[4][8], in[64];
	const char *secs[4];
	size_t lens[4], cuts[6], len, n, i, k, ol, wl;
	unsigned seed = 12345;
	char *want, *got;
	int iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		n = (size_t)rand_r(&seed) % 4 + 1;
		for (k = 0; k < n; k++) {
			lens[k] = (size_t)rand_r(&seed) % 6;
			for (i = 0; i < lens[k]; i++)
				secbuf[k][i] = (char)('a' + rand_r(&seed) % 3);
			secs[k] = secbuf[k];
		}
		len = (size_t)rand_r(&seed) % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = (char)('a' + rand_r(&seed) % 3);
		for (i = 0; i < ARRAY_SIZE(cuts); i++)
			cuts[i] = len ? (size_t)rand_r(&seed) % (len + 1) : 0;
		for (i = 1; i < ARRAY_SIZE(cuts); i++) /* insertion sort */
			for (k = i; k > 0 && cuts[k - 1] > cuts[k]; k--) {
				size_t t = cuts[k];

				cuts[k] = cuts[k - 1];
				cuts[k - 1] = t;
			}
		want = mask_ref(secs, lens, n, in, len, &wl);
		got = mask_cuts(secs, lens, n, in, len, cuts, ARRAY_SIZE(cuts),
				&ol);
		if (ol != wl || memcmp(got, want, wl))
			fail_msg("iteration %d: got '%s' want '%s'", iter, got,
				 want);
		free(want);
		free(got);
	}
}

/* Megabytes in 4 KiB writes: every secret masked, nothing else touched. */
static void
test_masker_large(void **state)
{
	static const char *const sec[] = { "s3cr3t-token", "hunter2" };
	size_t lens[] = { 12, 7 };
	struct masker *m = masker_new(sec, lens, 2);
	struct buf in = BUF_INIT, out = BUF_INIT, want = BUF_INIT;
	size_t i, off;

	(void)state;
	for (i = 0; i < 200000; i++) {
		buf_addf(&in, "line %zu %s\n", i, i % 7 ? "ok" : "hunter2");
		buf_addf(&want, "line %zu %s\n", i, i % 7 ? "ok" : "********");
		if (i % 1000 == 0) {
			buf_puts(&in, "s3cr3t-tokens3cr3t-token");
			buf_puts(&want, "****************");
		}
	}
	for (off = 0; off < in.len; off += 4093)
		masker_feed(m, in.ptr + off,
			    in.len - off < 4093 ? in.len - off : 4093, &out);
	masker_flush(m, &out);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.ptr, want.ptr, want.len);
	masker_free(m);
	buf_release(&in);
	buf_release(&out);
	buf_release(&want);
}

/* ---- the local runner ------------------------------------------------- */

static void
test_success_files_env(void **state)
{
	static const char content[] = "hello\0world\xff\n";
	static const char *const sf[] = { "out.bin", "sub/res.txt" };
	static const char *const se[] = { "A", "B", "C", "D", "E" };
	struct runner_file files[1];
	struct fx f;
	char src[PATH_MAX + 16], want[PATH_MAX + 16], *data;
	const char *v;
	size_t len;

	(void)state;
	fx_init(&f);
	snprintf(src, sizeof(src), "%s/src.bin", f.base);
	spit(src, content, sizeof(content) - 1);
	files[0].path = "in/data.bin";
	files[0].src = src;
	f.spec.files = files;
	f.spec.nfiles = 1;
	f.spec.store_files = sf;
	f.spec.nstore_files = 2;
	f.spec.store_env = se;
	f.spec.nstore_env = 5;
	fx_run(&f, "set -u\n"
		   "cat in/data.bin > out.bin\n"
		   "mkdir -p sub\n"
		   "printf x > sub/res.txt\n"
		   "A='line1\nline2'\n"
		   "B=\"it's \\\"quoted\\\" = yes\"\n"
		   "C='trail\n'\n"
		   "D=$(printf '\\377\\376x')\n"
		   "E=\n"
		   "echo done\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.exit_code, 0);
	assert_string_equal(f.log, "done\n");

	/* copies out of the run dir, in scaffold's WORK/store */
	assert_int_equal(f.res.nfiles, 2);
	assert_string_equal(f.res.files[0].path, "out.bin");
	fx_work_path(&f, want, sizeof(want), "store/0");
	assert_string_equal(f.res.files[0].src, want);
	data = slurp(f.res.files[0].src, &len);
	assert_int_equal(len, sizeof(content) - 1);
	assert_memory_equal(data, content, len);
	free(data);
	assert_string_equal(f.res.files[1].path, "sub/res.txt");
	fx_work_path(&f, want, sizeof(want), "store/1");
	assert_string_equal(f.res.files[1].src, want);
	data = slurp(f.res.files[1].src, &len);
	assert_int_equal(len, 1);
	assert_memory_equal(data, "x", 1);
	free(data);

	assert_int_equal(f.res.nenv, 5);
	assert_string_equal(f.res.env[0].name, "A");
	v = env_of(&f.res, "A", &len);
	assert_int_equal(len, 11);
	assert_memory_equal(v, "line1\nline2", 11);
	v = env_of(&f.res, "B", &len);
	assert_int_equal(len, 19);
	assert_memory_equal(v, "it's \"quoted\" = yes", 19);
	v = env_of(&f.res, "C", &len);
	assert_int_equal(len, 6);
	assert_memory_equal(v, "trail\n", 6);
	v = env_of(&f.res, "D", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "\xff\xfex", 3);
	v = env_of(&f.res, "E", &len);
	assert_non_null(v);
	assert_int_equal(len, 0);
	fx_done(&f);
}

/* A run's .display comes back as a file after its store files; a link
 * does not, nor does a failed run's; absent, it is no error. */
static void
test_display(void **state)
{
	static const char *const sf[] = { "out.txt" };
	char want[PATH_MAX + 16];
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_files = sf;
	f.spec.nstore_files = 1;
	fx_run(&f, "echo x > out.txt\n"
		   "echo '[{\"kind\": \"value\", \"name\": \"v\", "
		   "\"data\": \"1\"}]' > .display\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.nfiles, 2);
	assert_string_equal(f.res.files[0].path, "out.txt");
	assert_string_equal(f.res.files[1].path, RUN_DISPLAY_FILE);
	fx_work_path(&f, want, sizeof(want), "store/display");
	assert_string_equal(f.res.files[1].src, want);
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "echo ok\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.nfiles, 0);
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "ln -s /etc/passwd .display\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.nfiles, 0);
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "echo '[]' > .display; exit 3\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_int_equal(f.res.nfiles, 0);
	fx_done(&f);
}

static void
test_exit0_mid_script(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "cd /\nX=1\nexit 0\nX=2\necho never\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "1");
	assert_string_equal(f.log, "");
	fx_done(&f);
}

/* Whether WORK/rel exists. */
static bool
in_work(const struct fx *f, const char *rel)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", f->work, rel);
	return access(path, F_OK) == 0;
}

/*
 * The files of a run (bench/README.md, "Fewer wake-ups"): a silent run
 * that stores nothing makes no task/env, .done, store dir or
 * meta/out-offset (each inode costs on ext4); one that prints and stores
 * env makes all of them but the store dir.
 */
static void
test_run_files(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_run(&f, "true\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_true(in_work(&f, "run") && in_work(&f, "task/script") &&
		    in_work(&f, "task/wrapper.sh") && in_work(&f, "meta/out") &&
		    in_work(&f, "meta/pid") && in_work(&f, "meta/exit"));
	assert_false(in_work(&f, "task/env"));
	assert_false(in_work(&f, "meta/out-offset"));
	assert_false(in_work(&f, "store"));
	fx_done(&f);

	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "X=1\necho out\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "1");
	assert_string_equal(f.log, "out\n");
	assert_true(in_work(&f, "task/env/.done"));
	assert_true(in_work(&f, "meta/out-offset"));
	assert_false(in_work(&f, "store"));
	fx_done(&f);
}

/*
 * The spawner (runner/spawner.c): a spawner killed between two runs is
 * started again at the next one, which runs as usual, with its exit code
 * (the init is our child, not the spawner's).
 */
static void
test_spawner_restart(void **state)
{
	struct fx f;
	pid_t first;

	(void)state;
	if (!spawner_enabled())
		skip();
	fx_init(&f);
	fx_run(&f, "exit 3\n");
	assert_int_equal(f.res.exit_code, 3);
	fx_done(&f);
	first = spawner_pid();
	assert_true(first > 0);
	assert_int_equal(kill(first, SIGKILL), 0);
	fx_init(&f);
	fx_run(&f, "echo again\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "again\n");
	fx_done(&f);
	assert_true(spawner_pid() > 0);
	assert_true(spawner_pid() != first);
}

/* A script that sets its own EXIT trap and ends normally still stores. */
static void
test_user_exit_trap(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "trap 'echo cleanup' EXIT\nX=5\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "5");
	assert_string_equal(f.log, "cleanup\n");
	fx_done(&f);
}

static void
test_exit_codes(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "X=1\necho before\nfalse\necho never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 1");
	assert_int_equal(f.res.exit_code, 1);
	assert_int_equal(f.res.nenv, 0);
	assert_string_equal(f.log, "before\n");
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "echo out; echo err >&2; exit 3\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 3");
	assert_int_equal(f.res.exit_code, 3);
	assert_string_equal(f.log, "out\nerr\n");
	fx_done(&f);

	/* stdin is /dev/null: cat ends at once */
	fx_init(&f);
	fx_run(&f, "cat; echo end\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "end\n");
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "kill -9 $$\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "killed by signal 9");
	assert_int_equal(f.res.exit_code, -1);
	fx_done(&f);
}

/* sh's messages name the script and its own line numbers. */
static void
test_error_lines(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	fx_run(&f, "true\n\nno_such_command_xyz\n");
	assert_string_equal(f.res.message, "exit code 127");
	if (!strstr(f.log, ": 3: ../task/script: no_such_command_xyz: not "
			   "found\n") &&
	    !strstr(f.log, "../task/script: line 3: no_such_command_xyz: "))
		fail_msg("unexpected log: %s", f.log);
	fx_done(&f);
}

static void
test_timeout(void **state)
{
	struct fx f;
	char t1[64], t2[64], script[256];

	(void)state;
	fx_init(&f);
	f.spec.timeout_ms = 300;
	snprintf(script, sizeof(script),
		 "sleep %s &\n"
		 "printf 'partial'\n"
		 "sleep %s\n",
		 tag(t1, sizeof(t1), 1), tag(t2, sizeof(t2), 2));
	fx_run(&f, script);
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "timed out after 300ms");
	assert_int_equal(f.res.exit_code, -1);
	assert_true(f.elapsed_ms >= 300);
	assert_true(f.elapsed_ms < 2000);
	assert_string_equal(f.log,
			    "partial\nscaffold: timed out after 300ms\n");
	/* gone when wait() returns: the run's init took them along */
	assert_int_equal(find_sleep(t1), 0);
	assert_int_equal(find_sleep(t2), 0);
	fx_done(&f);
}

/*
 * SIGTERM ignored: SIGKILL after the 2 s grace.  The timeout leaves the
 * shell a second to set its trap, even on a loaded machine.
 */
static void
test_timeout_grace(void **state)
{
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.timeout_ms = 1000;
	fx_run(&f, "trap '' TERM\nsleep 30\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "timed out after 1s");
	assert_true(f.elapsed_ms >= 2900);
	assert_true(f.elapsed_ms < 6000);
	assert_string_equal(f.log,
			    "scaffold: timed out after 1s\n"
			    "scaffold: still running 2s after SIGTERM, "
			    "sending SIGKILL\n");
	fx_done(&f);
}

static void *
kill_later(void *arg)
{
	struct run_handle *h = arg;

	usleep(200000);
	if (runner_local.kill(h) < 0)
		return (void *)1;
	return NULL;
}

static void
test_kill_from_thread(void **state)
{
	struct fx f;
	pthread_t th;
	void *tr;
	int64_t t0 = mono_ms();
	char t1[64], script[256];

	(void)state;
	fx_init(&f);
	snprintf(script, sizeof(script),
		 "setsid sleep %s &\necho started\nsleep 30\n",
		 tag(t1, sizeof(t1), 3));
	assert_int_equal(fx_start(&f, script), 0);
	assert_int_equal(pthread_create(&th, NULL, kill_later, f.h), 0);
	fx_finish(&f, t0);
	assert_int_equal(pthread_join(th, &tr), 0);
	assert_null(tr);
	assert_int_equal(f.wait_ret, 0);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_string_equal(f.res.message, "killed");
	assert_int_equal(f.res.exit_code, -1);
	assert_true(f.elapsed_ms < 2000);
	assert_string_equal(f.log, "started\nscaffold: killed\n");
	assert_int_equal(find_sleep(t1), 0);
	fx_done(&f);
}

/* kill() before wait(): wait() stops the run at once. */
static void
test_kill_before_wait(void **state)
{
	struct fx f;
	int64_t t0 = mono_ms();

	(void)state;
	fx_init(&f);
	assert_int_equal(fx_start(&f, "sleep 30\n"), 0);
	assert_int_equal(runner_local.kill(f.h), 0);
	fx_finish(&f, t0);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_true(f.elapsed_ms < 2000);
	fx_done(&f);
}

/* free() without wait(): the whole group is killed and reaped. */
static void
test_free_without_wait(void **state)
{
	struct fx f;
	char t1[64], t2[64], script[256];
	int64_t end;

	(void)state;
	fx_init(&f);
	snprintf(script, sizeof(script), "setsid sleep %s &\nsleep %s\n",
		 tag(t1, sizeof(t1), 4), tag(t2, sizeof(t2), 5));
	assert_int_equal(fx_start(&f, script), 0);
	end = mono_ms() + 5000;
	while ((!find_sleep(t1) || !find_sleep(t2)) && mono_ms() < end)
		usleep(10000);
	assert_true(find_sleep(t1) && find_sleep(t2));
	runner_local.free(f.h);
	f.h = NULL;
	assert_true(sleep_dies(t1, 2000));
	assert_true(sleep_dies(t2, 2000));
	fx_done(&f);
}

/* A background process holding stdout open does not hold up wait(). */
static void
background_holds_pipe(bool poll_only)
{
	struct fx f;
	char t1[64], t2[64], script[256];

	local_force_poll = poll_only;
	fx_init(&f);
	snprintf(script, sizeof(script),
		 "sleep %s &\nsetsid sleep %s &\necho out\n",
		 tag(t1, sizeof(t1), 6), tag(t2, sizeof(t2), 7));
	fx_run(&f, script);
	local_force_poll = false;
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_true(f.elapsed_ms < 2000);
	assert_string_equal(f.log, "out\n");
	/* both are gone, the one that left the group (setsid) too */
	assert_int_equal(find_sleep(t1), 0);
	assert_int_equal(find_sleep(t2), 0);
	fx_done(&f);
}

static void
test_background_pidfd(void **state)
{
	(void)state;
	background_holds_pipe(false);
}

static void
test_background_poll(void **state)
{
	struct fx f;

	(void)state;
	background_holds_pipe(true);
	/* the timeout works on the polling path too */
	local_force_poll = true;
	fx_init(&f);
	f.spec.timeout_ms = 200;
	fx_run(&f, "sleep 30\n");
	local_force_poll = false;
	assert_string_equal(f.res.message, "timed out after 200ms");
	assert_true(f.elapsed_ms < 2000);
	fx_done(&f);
}

static void
test_masking(void **state)
{
	static const char *const sec[] = { "hunter2", "", "s3cr3t" };
	static const size_t lens[] = { 7, 0, 6 };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 3;
	fx_run(&f, "echo hunter2\n"
		   "echo \"before hunter2 after\"\n"
		   "printf 'hun'; sleep 0.1; printf 'ter2\\n'\n"
		   "echo \"hunter2 and s3cr3t\" >&2\n"
		   "echo hunter\n"
		   "printf hunte\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_null(strstr(f.log, "hunter2"));
	assert_null(strstr(f.log, "ter2"));
	assert_string_equal(f.log, "********\n"
				   "before ******** after\n"
				   "********\n"
				   "******** and ********\n"
				   "hunter\n"
				   "hunte");
	fx_done(&f);

	/* scaffold's own lines go through the masker, in order */
	fx_init(&f);
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 3;
	f.spec.timeout_ms = 300;
	fx_run(&f, "printf 'hunt'; sleep 30\n");
	assert_string_equal(f.log, "hunt\nscaffold: timed out after 300ms\n");
	fx_done(&f);
}

/* Megabytes through the pipe, masked across every read boundary. */
static void
test_large_output(void **state)
{
	static const char *const sec[] = { "hunter2" };
	static const size_t lens[] = { 7 };
	struct fx f;
	size_t i;

	(void)state;
	fx_init(&f);
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 1;
	fx_run(&f, "yes 'hunter2 x' | head -n 300000\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.loglen, 300000 * 11);
	for (i = 0; i < 300000; i++)
		if (memcmp(f.log + i * 11, "******** x\n", 11))
			fail_msg("line %zu: %.11s", i, f.log + i * 11);
	fx_done(&f);
}

static void
test_clean_env(void **state)
{
	static const char *const se[] = { "P", "H", "L", "F", "T", "NAMES" };
	struct runner_env env[] = {
		{ "SCAFFOLD_TASK", "t", 1 },
		{ "FOO", "bar", 3 },
		{ "MULTI", "a\nb=c", 5 },
		{ "FOO", "baz", 3 },
		{ "SCAFFOLD_RUN_DIR", "/nope", 5 },
	};
	struct fx f;
	struct passwd *pw;

	(void)state;
	setenv("SCAFFOLD_TEST_LEAK", "leaked", 1);
	fx_init(&f);
	f.spec.env = env;
	f.spec.nenv = ARRAY_SIZE(env);
	f.spec.store_env = se;
	f.spec.nstore_env = ARRAY_SIZE(se);
	fx_run(&f, "[ -z \"${SCAFFOLD_TEST_LEAK+x}\" ] || exit 9\n"
		   "P=$PATH H=$HOME L=$LANG F=$FOO T=$SCAFFOLD_TASK\n"
		   "NAMES=$(env -0 | tr '\\n\\0' '?\\n' | sed 's/=.*//' | "
		   "sort | "
		   "tr '\\n' ' ')\n"
		   "[ \"$MULTI\" = 'a\nb=c' ]\n");
	unsetenv("SCAFFOLD_TEST_LEAK");
	assert_string_equal(f.res.message, "");
	assert_string_equal(env_of(&f.res, "P", NULL),
			    "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			    "/usr/bin:/sbin:/bin");
	assert_string_equal(env_of(&f.res, "L", NULL), "C.UTF-8");
	assert_string_equal(env_of(&f.res, "F", NULL), "baz");
	assert_string_equal(env_of(&f.res, "T", NULL), "t");
	assert_string_equal(env_of(&f.res, "NAMES", NULL),
			    "FOO HOME LANG MULTI PATH PWD SCAFFOLD_RUN_DIR "
			    "SCAFFOLD_TASK ");
	pw = getpwuid(getuid());
	assert_non_null(pw);
	assert_string_equal(env_of(&f.res, "H", NULL), pw->pw_dir);
	fx_done(&f);
}

static void
test_run_dir(void **state)
{
	static const char *const se[] = { "R", "LS" };
	struct fx f;
	char meta[PATH_MAX + 16];
	struct stat st;

	(void)state;
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 2;
	fx_run(&f, "[ \"$(pwd -P)\" = \"$SCAFFOLD_RUN_DIR\" ] || exit 5\n"
		   "[ ! -e meta ] || exit 6\n"
		   "R=$SCAFFOLD_RUN_DIR\n"
		   "LS=$(ls -A)\n");
	assert_string_equal(f.res.message, "");
	assert_string_equal(env_of(&f.res, "R", NULL), f.run);
	assert_string_equal(env_of(&f.res, "LS", NULL), "");
	/* scaffold's files are beside the run dir, not in it */
	snprintf(meta, sizeof(meta), "%s/../task/script", f.run);
	assert_int_equal(stat(meta, &st), 0);
	fx_done(&f);
}

static void
test_store_errors(void **state)
{
	static const char *const missing[] = { "nope.txt" };
	static const char *const unset[] = { "SET", "NOPE" };
	static const char *const lnk[] = { "link" };
	static const char *const dirlink[] = { "d/passwd" };
	static const char *const inner[] = { "inner", "sub" };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_files = missing;
	f.spec.nstore_files = 1;
	fx_run(&f, "echo hi\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message,
			    "store file 'nope.txt' was not created");
	assert_int_equal(f.res.nfiles, 0);
	assert_string_equal(f.log, "hi\nscaffold: store file 'nope.txt' was "
				   "not created\n");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_env = unset;
	f.spec.nstore_env = 2;
	fx_run(&f, "SET=1\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store env 'NOPE' is not set");
	assert_int_equal(f.res.nenv, 0);
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = lnk;
	f.spec.nstore_files = 1;
	fx_run(&f, "ln -s /etc/passwd link\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store file 'link' is a symlink");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = dirlink;
	f.spec.nstore_files = 1;
	fx_run(&f, "ln -s /etc d\n");
	assert_string_equal(f.res.message,
			    "store file 'd/passwd' is behind a symlink ('d')");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = lnk;
	f.spec.nstore_files = 1;
	fx_run(&f, "ln -s ../task/script link\n");
	assert_string_equal(f.res.message, "store file 'link' is a symlink");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = inner;
	f.spec.nstore_files = 1;
	/* no symlink is followed, not even one that stays inside */
	fx_run(&f, "echo x > real\nln -s real inner\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store file 'inner' is a symlink");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = inner;
	f.spec.nstore_files = 2;
	fx_run(&f, "touch inner; mkdir sub\n");
	assert_string_equal(f.res.message,
			    "store file 'sub' is not a regular file");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = lnk;
	f.spec.nstore_files = 1;
	fx_run(&f, "ln -s nowhere link\n");
	assert_string_equal(f.res.message, "store file 'link' is a symlink");
	fx_done(&f);

	/* a file with another name: one from outside the run dir cannot
	 * even be linked in (the sandbox's mounts are apart: EXDEV), but
	 * the check does not count on that */
	fx_init(&f);
	f.spec.store_files = lnk;
	f.spec.nstore_files = 1;
	fx_run(&f, "echo x > other\nln other link\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message,
			    "store file 'link' has other hard links");
	assert_int_equal(f.res.nfiles, 0);
	fx_done(&f);

	/* a FIFO: refused, and the collection does not block on it */
	fx_init(&f);
	f.spec.store_files = lnk;
	f.spec.nstore_files = 1;
	fx_run(&f, "mkfifo link\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message,
			    "store file 'link' is not a regular file");
	fx_done(&f);

	/* the store env is read without following a symlink either */
	fx_init(&f);
	f.spec.store_env = unset;
	f.spec.nstore_env = 1;
	fx_run(&f, "SET=1\n"
		   "echo secret > ../../outside\n"
		   "ln -s ../../outside ../task/env/SET\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store env 'SET' is a symlink");
	assert_int_equal(f.res.nenv, 0);
	fx_done(&f);
}

static void
test_bad_spec(void **state)
{
	static const char *const bad_env[] = { "A-B" };
	static const char *const bad_file[] = { "/etc/passwd" };
	struct runner_file files[] = { { "../x", "/etc/hostname" } };
	struct runner_file dup[] = { { "a", "/etc/hostname" },
				     { "a/b", "/etc/hostname" } };
	struct runner_env env[] = { { "A=B", "x", 1 } };
	struct fx f;

	(void)state;
	fx_init(&f);
	f.spec.store_env = bad_env;
	f.spec.nstore_env = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "store env 'A-B' is not a valid variable name");
	f.spec.nstore_env = 0;
	f.spec.store_files = bad_file;
	f.spec.nstore_files = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "store file '/etc/passwd' is not a "
				       "path inside the run dir");
	f.spec.nstore_files = 0;
	f.spec.files = files;
	f.spec.nfiles = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "file '../x' is not a path inside the run dir");
	f.spec.nfiles = 0;
	f.spec.env = env;
	f.spec.nenv = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "env 'A=B': not a valid variable name");
	fx_done(&f);

	/* a file where a directory is wanted */
	fx_init(&f);
	f.spec.files = dup;
	f.spec.nfiles = 2;
	assert_true(fx_start(&f, "true\n") < 0);
	assert_non_null(strstr(err_msg(), "file 'a/b': cannot open directory "
					  "'a': "));
	fx_done(&f);

	/* the work dir must not hold a run already */
	fx_init(&f);
	fx_run(&f, "true\n");
	run_result_release(&f.res);
	assert_true(fx_start(&f, "true\n") < 0);
	assert_non_null(strstr(err_msg(), "cannot create the run dir"));
	fx_done(&f);
}

/*
 * A run whose scaffold died before it recorded the init (meta/pid): the
 * init never ran the shell, and adopt says the run never started; one
 * whose init is gone without an exit status is lost.
 */
static void
test_adopt_never_started(void **state)
{
	struct run_handle *h = (struct run_handle *)&h;
	char p[PATH_MAX + 32];
	struct fx f;

	(void)state;
	fx_init(&f);
	assert_int_equal(runner_local.adopt(&h, &f.spec), RUNNER_NOT_STARTED);
	assert_null(h);
	assert_string_equal(err_msg(), "run 1: it never started");
	snprintf(p, sizeof(p), "%s/meta", f.work);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/meta/pid", f.work);
	spit(p, "2147483000 1 1\n", 15);
	assert_int_equal(runner_local.adopt(&h, &f.spec), ERR_NOTFOUND);
	assert_null(h);
	/* the init left word that the go never came: never started */
	snprintf(p, sizeof(p), "%s/meta/never-started", f.work);
	spit(p, "", 0);
	assert_int_equal(runner_local.adopt(&h, &f.spec), RUNNER_NOT_STARTED);
	assert_null(h);
	fx_done(&f);
}

/* The log's bytes, read back from its fd. */
static void
log_bytes(struct buf *out, int fd)
{
	char chunk[4096];
	ssize_t n;
	off_t off = 0;

	buf_reset(out);
	while ((n = pread(fd, chunk, sizeof(chunk), off)) > 0) {
		buf_add(out, chunk, (size_t)n);
		off += n;
	}
}

/*
 * The cap of runner_log_limit: output past it is dropped and counted, a
 * secret held back at the cut never leaks, scaffold's notes are never
 * cut, and an adopted log goes on counting from its size.
 */
static void
test_log_cap(void **state)
{
	static const char *const sec[] = { "hunter2" };
	static const size_t lens[] = { 7 };
	struct run_log l;
	struct buf b = BUF_INIT;
	char path[128];
	int fd;

	(void)state;
	fd = unit_tmpfile(path, sizeof(path), "scaffold-logcap");
	unlink(path);
	runner_log_limit(16);
	memset(&l, 0, sizeof(l));
	l.fd = fd;
	l.masker = masker_new(sec, lens, 1);
	run_log_output(&l, "0123456789", 10);
	run_log_note(&l, "a note");
	/* the log is at 27 bytes: the next output is cut at once; the
	 * bytes dropped are counted as the log would have had them (the
	 * secret masked: 8 + 5) */
	run_log_output(&l, "hunt", 4);
	run_log_output(&l, "er2 more", 8);
	run_log_note(&l, "killed");
	run_log_flush(&l);
	log_bytes(&b, fd);
	assert_string_equal(b.ptr,
			    "0123456789\nscaffold: a note\n"
			    "scaffold: output cut at 16 bytes (limits: "
			    "{run_log}): the rest of the output is dropped\n"
			    "scaffold: killed\n"
			    "scaffold: output cut at 16 bytes: 13 bytes "
			    "dropped\n");
	masker_free(l.masker);

	/* a cut inside a line, after a secret: it is masked, then cut */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	memset(&l, 0, sizeof(l));
	l.fd = fd;
	l.masker = masker_new(sec, lens, 1);
	run_log_output(&l, "ab hunter2 cdefghijkl", 21);
	run_log_flush(&l);
	log_bytes(&b, fd);
	assert_string_equal(b.ptr,
			    "ab ******** cdef\n"
			    "scaffold: output cut at 16 bytes (limits: "
			    "{run_log}): the rest of the output is dropped\n"
			    "scaffold: output cut at 16 bytes: 6 bytes "
			    "dropped\n");
	masker_free(l.masker);

	/* an adopted run: the log has 14 bytes already */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(runner_write_all(fd, "from before.\n\n", 14), 0);
	memset(&l, 0, sizeof(l));
	l.fd = fd;
	l.masker = masker_new(NULL, NULL, 0);
	run_log_output(&l, "abcd", 4);
	run_log_flush(&l);
	log_bytes(&b, fd);
	assert_string_equal(b.ptr, "from before.\n\nab\n"
				   "scaffold: output cut at 16 bytes (limits: "
				   "{run_log}): the rest of the output is "
				   "dropped\n"
				   "scaffold: output cut at 16 bytes: 2 bytes "
				   "dropped\n");
	masker_free(l.masker);
	runner_log_limit(0);
	close(fd);
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_adopt_never_started),
		cmocka_unit_test(test_masker_examples),
		cmocka_unit_test(test_masker_binary),
		cmocka_unit_test(test_masker_holdback),
		cmocka_unit_test(test_masker_random),
		cmocka_unit_test(test_masker_large),
		cmocka_unit_test(test_success_files_env),
		cmocka_unit_test(test_display),
		cmocka_unit_test(test_exit0_mid_script),
		cmocka_unit_test(test_spawner_restart),
		cmocka_unit_test(test_user_exit_trap),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_error_lines),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_run_files),
		cmocka_unit_test(test_timeout_grace),
		cmocka_unit_test(test_kill_from_thread),
		cmocka_unit_test(test_kill_before_wait),
		cmocka_unit_test(test_free_without_wait),
		cmocka_unit_test(test_background_pidfd),
		cmocka_unit_test(test_background_poll),
		cmocka_unit_test(test_masking),
		cmocka_unit_test(test_log_cap),
		cmocka_unit_test(test_large_output),
		cmocka_unit_test(test_clean_env),
		cmocka_unit_test(test_run_dir),
		cmocka_unit_test(test_store_errors),
		cmocka_unit_test(test_bad_spec),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
