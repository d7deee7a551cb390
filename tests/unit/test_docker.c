/*
 * test_docker.c - the docker runner against a real Docker engine of the
 * test's own (dockerd with its own socket, data root and exec root in a
 * temporary directory, stopped at the end: an engine shared with another
 * test run could be stopped under it, or hold its containers), and against
 * a small fake engine on a socket of our own for what a real one will not
 * do on demand: run out of disk, stop in the middle of a run, speak
 * another API version.
 *
 * The test images are built without a registry: a rootfs of busybox-static
 * fed to "docker import".  Every container a test makes carries a run id
 * from a range of this process's own, and is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/runner-int.h"

#define IMAGE "scaffold-test:busybox"
#define IMAGE_USER "scaffold-test:busybox-user" /* USER 1000, ENTRYPOINT */

static const char *skip_reason;
/* the test's engine: its directory, and the socket every run and docker
 * CLI call here uses (DOCKER_HOST) */
static char engine_dir[64];
static char engine_sock[sizeof(engine_dir) + 16];
static bool started_dockerd;
static int64_t next_run_id;
static int64_t first_run_id;

/* ---- helpers ---------------------------------------------------------- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* Output of a shell command (caller frees); NULL when it failed. */
static char *
sh_out(const char *cmd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");

	if (!p)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&b, chunk, n);
	if (pclose(p) != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static bool
engine_answers(void)
{
	return system("docker version --format '{{.Server.Version}}' "
		      ">/dev/null 2>&1") == 0;
}

/* How many containers carry scaffold.run=id. */
static int
containers_of(int64_t id)
{
	char cmd[160], *out, *p;
	int n = 0;

	snprintf(cmd, sizeof(cmd),
		 "docker ps -aq --no-trunc --filter label=scaffold.run=%lld",
		 (long long)id);
	out = sh_out(cmd);
	assert_non_null(out);
	for (p = out; *p; p++)
		if (*p == '\n')
			n++;
	free(out);
	return n;
}

static void
remove_containers_of(int64_t id)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd),
		 "docker ps -aq --filter label=scaffold.run=%lld | "
		 "xargs -r docker rm -f >/dev/null 2>&1",
		 (long long)id);
	if (system(cmd) != 0)
		fprintf(stderr, "test_docker: cannot remove containers of run "
				"%lld\n",
			(long long)id);
}

/* A field of the container of run id, through docker inspect. */
static char *
inspect_of(int64_t id, const char *format)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd),
		 "docker inspect --format '%s' $(docker ps -aq --filter "
		 "label=scaffold.run=%lld)",
		 format, (long long)id);
	return sh_out(cmd);
}

/* ---- engine and images ------------------------------------------------ */

/* The test images, built once per engine (a new import each run would
 * leave the old ones behind untagged). */
static int
build_images(void)
{
	char dir[128];
	struct buf cmd = BUF_INIT;
	int r;

	if (system("docker image inspect " IMAGE " " IMAGE_USER
		   " >/dev/null 2>&1") == 0)
		return 0;
	unit_tmp_path(dir, sizeof(dir), "scaffold-test-rootfs");
	if (!mkdtemp(dir))
		return -1;
	unit_tmps_add(dir);
	buf_addf(&cmd,
		 "set -e; d='%s'; mkdir -p \"$d/bin\" \"$d/tmp\"; "
		 "chmod 1777 \"$d/tmp\"; cp /bin/busybox \"$d/bin/busybox\"; "
		 "for a in $(/bin/busybox --list); do "
		 "[ \"$a\" = busybox ] || ln -sf busybox \"$d/bin/$a\"; done; "
		 "tar -C \"$d\" -c . | docker import - " IMAGE " >/dev/null; "
		 "tar -C \"$d\" -c . | docker import --change 'USER 1000:1000' "
		 "--change 'ENTRYPOINT [\"/bin/false\"]' --change 'CMD "
		 "[\"nope\"]' - " IMAGE_USER " >/dev/null; rm -rf \"$d\"",
		 dir);
	r = system(cmd.ptr);
	buf_release(&cmd);
	return r == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
	char cmd[768];
	int i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (system("command -v docker >/dev/null 2>&1") != 0) {
		skip_reason = "the docker CLI is not installed";
		goto out;
	}
	if (system("command -v dockerd >/dev/null 2>&1") != 0) {
		skip_reason = "dockerd is not installed (scripts/install-deps.sh "
			      "installs docker.io)";
		goto out;
	}
	unit_tmp_path(engine_dir, sizeof(engine_dir),
		      "scaffold-test-dockerd");
	if (!mkdtemp(engine_dir)) {
		skip_reason = "cannot make a directory for the test's engine";
		goto out;
	}
	unit_tmps_add(engine_dir);
	snprintf(engine_sock, sizeof(engine_sock), "%s/docker.sock",
		 engine_dir);
	snprintf(cmd, sizeof(cmd), "unix://%s", engine_sock);
	setenv("DOCKER_HOST", cmd, 1);
	/* its temp files (containerd's stack dump when it stops) go with
	 * its dir, not into the tests' TMPDIR */
	snprintf(cmd, sizeof(cmd),
		 "TMPDIR=%s dockerd --host unix://%s/docker.sock --data-root "
		 "%s/data --exec-root %s/exec --pidfile %s/docker.pid "
		 "--iptables=false --bridge=none >%s/dockerd.log 2>&1 &",
		 engine_dir, engine_dir, engine_dir, engine_dir, engine_dir,
		 engine_dir);
	if (system(cmd) != 0) {
		skip_reason = "dockerd cannot be started";
		goto out;
	}
	started_dockerd = true;
	for (i = 0; i < 300 && !engine_answers(); i++)
		usleep(100000);
	if (!engine_answers()) {
		/* its log goes with its dir: shown here */
		skip_reason = "dockerd did not come up (its log above)";
		snprintf(cmd, sizeof(cmd), "tail -n 20 %s/dockerd.log >&2",
			 engine_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_docker: no dockerd.log\n");
		goto out;
	}
	if (build_images() < 0)
		skip_reason = "cannot build the busybox test images";
out:
	if (skip_reason)
		fprintf(stderr, "test_docker: skipping: %s\n", skip_reason);
	/* a run id range of our own: the engine may be shared */
	first_run_id = next_run_id =
		7000000000000LL + (int64_t)getpid() * 100000 +
		(int64_t)(time(NULL) % 1000) * 100;
	runner_docker_configure(engine_sock, 0);
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[512];
	int64_t id;
	char *pid;
	int i;

	(void)state;
	if (!skip_reason)
		for (id = first_run_id; id < next_run_id; id++)
			remove_containers_of(id);
	if (started_dockerd) {
		snprintf(cmd, sizeof(cmd), "%s/docker.pid", engine_dir);
		pid = slurp(cmd, NULL);
		if (pid && atoi(pid) > 1) {
			kill(atoi(pid), SIGTERM);
			for (i = 0; i < 100 && kill(atoi(pid), 0) == 0; i++)
				usleep(100000);
		}
		free(pid);
		/* what the engine leaves mounted, then its directory */
		snprintf(cmd, sizeof(cmd),
			 "grep ' %s/' /proc/mounts | awk '{print $2}' | "
			 "sort -r | xargs -r -n1 umount -l 2>/dev/null; "
			 "rm -rf %s",
			 engine_dir, engine_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_docker: cannot remove %s\n",
				engine_dir);
	}
	return 0;
}

#define NEED_ENGINE()                     \
	do {                              \
		if (skip_reason)          \
			skip();           \
	} while (0)

/* ---- fixture ---------------------------------------------------------- */

struct fx {
	char base[128];
	char work[PATH_MAX];
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
	int fd;

	memset(f, 0, sizeof(*f));
	unit_tmpdir(f->base, sizeof(f->base), "scaffold-test-docker");
	snprintf(f->work, sizeof(f->work), "%s/work", f->base);
	assert_int_equal(mkdir(f->work, 0700), 0);
	snprintf(f->logp, sizeof(f->logp), "%s/log", f->base);
	fd = open(f->logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	f->spec.run_id = next_run_id++;
	f->spec.cascade = "simple";
	f->spec.task = "t";
	f->spec.attempt = 1;
	f->spec.image = IMAGE;
	f->spec.work_dir = f->work;
	f->spec.log_fd = fd;
	run_result_release(&f->res);
}

static int
fx_start(struct fx *f, const char *script)
{
	f->spec.script = script;
	f->spec.script_len = strlen(script);
	return runner_docker.start(&f->h, &f->spec);
}

static void
fx_read_log(struct fx *f)
{
	free(f->log);
	f->log = slurp(f->logp, &f->loglen);
	assert_non_null(f->log);
}

/* Wait, free, read the log. */
static void
fx_finish(struct fx *f, int64_t t0)
{
	f->wait_ret = runner_docker.wait(f->h, &f->res);
	f->elapsed_ms = mono_ms() - t0;
	runner_docker.free(f->h);
	f->h = NULL;
	fx_read_log(f);
}

static void
fx_run(struct fx *f, const char *script)
{
	int64_t t0 = mono_ms();

	if (fx_start(f, script))
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

static const char *
file_of(const struct run_result *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path))
			return r->files[i].src;
	return NULL;
}

/* ---- the real engine -------------------------------------------------- */

static void
test_table(void **state)
{
	(void)state;
	assert_ptr_equal(runner_find("docker"), &runner_docker);
	assert_string_equal(runner_docker.name, "docker");
	assert_non_null(runner_docker.adopt);
}

/* A byte-exact value with a newline, quotes, '=' and bytes not UTF-8. */
static const char tricky[] = "line1\nqu\"ote's = x\xff\xfe end\n";

/*
 * The shape of Scaffold's "simple" example: a task writes a file in the
 * run dir and sets a variable, both stored; a second run loads both.
 */
static void
test_simple_store_load(void **state)
{
	static const char *const sf[] = { "out.txt", "./sub//deep.txt" };
	static const char *const se[] = { "V", "EMPTY", "PLAIN" };
	static const char *const sf2[] = { "v.bin" };
	struct runner_env env[4];
	struct runner_file files[2];
	struct fx f, g;
	struct buf want = BUF_INIT;
	char *copy_out = NULL, *copy_deep = NULL, *s;
	const char *v;
	size_t len;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_files = sf;
	f.spec.nstore_files = 2;
	f.spec.store_env = se;
	f.spec.nstore_env = 3;
	fx_run(&f, "echo \"dir=$SCAFFOLD_RUN_DIR pwd=$(pwd)\"\n"
		   "ls -A /tmp/run\n"
		   "echo hello > out.txt\n"
		   "mkdir sub && printf 'deep' > sub/deep.txt\n"
		   "V='line1\nqu\"ote'\\''s = x\xff\xfe end\n'\n"
		   "EMPTY=\n"
		   "PLAIN=plain\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.exit_code, 0);
	assert_string_equal(f.log, "dir=/tmp/run pwd=/tmp/run\n");
	v = env_of(&f.res, "V", &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(tricky) - 1);
	assert_memory_equal(v, tricky, len);
	assert_string_equal(env_of(&f.res, "EMPTY", &len), "");
	assert_int_equal(len, 0);
	assert_string_equal(env_of(&f.res, "PLAIN", NULL), "plain");
	assert_int_equal(f.res.nfiles, 2);
	assert_string_equal(f.res.files[0].path, "out.txt");
	assert_string_equal(f.res.files[1].path, "./sub//deep.txt");
	s = slurp(file_of(&f.res, "out.txt"), NULL);
	assert_string_equal(s, "hello\n");
	free(s);
	s = slurp(file_of(&f.res, "./sub//deep.txt"), NULL);
	assert_string_equal(s, "deep");
	free(s);
	/* the files stay in the work dir, under run/ */
	buf_addf(&want, "%s/run/out.txt", f.work);
	assert_string_equal(file_of(&f.res, "out.txt"), want.ptr);
	assert_int_equal(containers_of(f.spec.run_id), 0);

	/* keep the collected files: f's work dir goes with fx_done */
	copy_out = xmalloc(128);
	copy_deep = xmalloc(128);
	close(unit_tmpfile(copy_out, 128, "scaffold-test-docker-out"));
	close(unit_tmpfile(copy_deep, 128, "scaffold-test-docker-deep"));
	spit(copy_out, "hello\n", 6);
	spit(copy_deep, "deep", 4);

	/* the second run loads both; later env entries win */
	fx_init(&g);
	env[0] = (struct runner_env){ "V", "overridden", 10 };
	env[1] = (struct runner_env){ "A", "1", 1 };
	env[2] = (struct runner_env){ "V", (char *)v, sizeof(tricky) - 1 };
	env[3] = (struct runner_env){ "A", "two", 3 };
	files[0] = (struct runner_file){ "out.txt", copy_out };
	files[1] = (struct runner_file){ "sub/deep.txt", copy_deep };
	g.spec.env = env;
	g.spec.nenv = 4;
	g.spec.files = files;
	g.spec.nfiles = 2;
	g.spec.store_files = sf2;
	g.spec.nstore_files = 1;
	fx_run(&g, "ls -A\n"
		   "cat out.txt sub/deep.txt; echo\n"
		   "echo \"A=$A\"\n"
		   "printf '%s' \"$V\" > v.bin\n"
		   "printf '[%s]' \"$V\"\n");
	assert_string_equal(g.res.message, "");
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	buf_reset(&want);
	buf_puts(&want, "out.txt\nsub\nhello\ndeep\nA=two\n[");
	buf_add(&want, tricky, sizeof(tricky) - 1);
	buf_putc(&want, ']');
	if (g.loglen != want.len || memcmp(g.log, want.ptr, want.len)) {
		struct buf a = BUF_INIT, b = BUF_INIT;

		escape_log(&a, g.log, g.loglen);
		escape_log(&b, want.ptr, want.len);
		fail_msg("log:\n%s\nwanted:\n%s", a.ptr, b.ptr);
	}
	s = slurp(file_of(&g.res, "v.bin"), &len);
	assert_int_equal(len, sizeof(tricky) - 1);
	assert_memory_equal(s, tricky, len);
	free(s);

	unlink(copy_out);
	unlink(copy_deep);
	free(copy_out);
	free(copy_deep);
	buf_release(&want);
	fx_done(&f);
	fx_done(&g);
}

static void
test_exit_codes(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "X=1\necho before\nfalse\necho never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 1");
	assert_int_equal(f.res.exit_code, 1);
	assert_int_equal(f.res.nenv, 0);
	assert_string_equal(f.log, "before\n");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);

	fx_init(&f);
	fx_run(&f, "echo out; sleep 0.1; echo err >&2; exit 3\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 3");
	assert_int_equal(f.res.exit_code, 3);
	assert_string_equal(f.log, "out\nerr\n");
	fx_done(&f);
}

/* exit 0 mid-script, and a script with an EXIT trap of its own. */
static void
test_exit_trap(void **state)
{
	static const char *const se[] = { "X" };
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "cd /\nX=1\nexit 0\nX=2\necho never\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "1");
	assert_string_equal(f.log, "");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "trap 'echo cleanup' EXIT\nX=5\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "5");
	assert_string_equal(f.log, "cleanup\n");
	fx_done(&f);

	/* ... and one that replaces it and exits: nothing captured */
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "trap 'echo mine' EXIT\nX=5\nexit 0\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store env 'X' is not set");
	assert_string_equal(f.log,
			    "mine\n"
			    "scaffold: store env was not captured: did the "
			    "script replace the EXIT trap and exit, or exec?\n"
			    "scaffold: store env 'X' is not set\n");
	fx_done(&f);
}

static void
test_timeout(void **state)
{
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.timeout_ms = 300;
	fx_run(&f, "echo start\nsleep 30\necho never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "timed out after 300ms");
	assert_int_equal(f.res.exit_code, -1);
	assert_string_equal(f.log, "start\nscaffold: timed out after 300ms\n");
	assert_true(f.elapsed_ms < 10000);
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

struct killer {
	struct fx *f;
	int ret;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;
	char *log;
	int i;

	/* kill once the script is running */
	for (i = 0; i < 200; i++) {
		log = slurp(k->f->logp, NULL);
		if (log && strstr(log, "started")) {
			free(log);
			break;
		}
		free(log);
		usleep(50000);
	}
	k->ret = runner_docker.kill(k->f->h);
	return NULL;
}

static void
test_kill_from_thread(void **state)
{
	struct killer k;
	pthread_t th;
	struct fx f;
	int64_t t0;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	t0 = mono_ms();
	if (fx_start(&f, "echo started\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	k.f = &f;
	k.ret = -1;
	assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
	f.wait_ret = runner_docker.wait(f.h, &f.res);
	pthread_join(th, NULL);
	assert_int_equal(k.ret, 0);
	assert_int_equal(f.wait_ret, 0);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_string_equal(f.res.message, "killed");
	assert_true(mono_ms() - t0 < 15000);
	runner_docker.free(f.h);
	f.h = NULL;
	fx_read_log(&f);
	assert_string_equal(f.log, "started\nscaffold: killed\n");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);

	/* a kill before wait() is acted on when wait() begins */
	fx_init(&f);
	if (fx_start(&f, "sleep 30\n"))
		fail_msg("start: %s", err_msg());
	assert_int_equal(runner_docker.kill(f.h), 0);
	fx_finish(&f, mono_ms());
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

/* free() without wait() removes the running container. */
static void
test_free_without_wait(void **state)
{
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	if (fx_start(&f, "sleep 30\n"))
		fail_msg("start: %s", err_msg());
	assert_int_equal(containers_of(f.spec.run_id), 1);
	runner_docker.free(f.h);
	f.h = NULL;
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

static void
test_missing_image(void **state)
{
	static const char want[] = "image 'scaffold-test:does-not-exist' is "
				   "not on this engine and cannot be pulled: ";
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.image = "scaffold-test:does-not-exist";
	assert_true(fx_start(&f, "true\n") < 0);
	assert_null(f.h);
	/* the rest is the engine's own words (no registry is reachable) */
	if (strncmp(err_msg(), want, sizeof(want) - 1) ||
	    strlen(err_msg()) <= sizeof(want))
		fail_msg("got: %s", err_msg());
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

static void
test_wrong_socket(void **state)
{
	char path[200], msg[300];
	struct fx f;

	(void)state;
	fx_init(&f);
	runner_docker_configure("/nonexistent/docker.sock", 0);
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_string_equal(err_msg(), "cannot reach the Docker engine at "
				       "'/nonexistent/docker.sock': No such "
				       "file or directory");
	assert_null(f.h);

	/* a socket nobody listens on */
	snprintf(path, sizeof(path), "%s/dead.sock", f.base);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		assert_true(strlen(path) < sizeof(sa.sun_path));
		memcpy(sa.sun_path, path, strlen(path) + 1);
		assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		close(s);
	}
	runner_docker_configure(path, 0);
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	snprintf(msg, sizeof(msg),
		 "cannot reach the Docker engine at '%s': Connection refused",
		 path);
	assert_string_equal(err_msg(), msg);
	runner_docker_configure(engine_sock, 0);

	/* DOCKER_HOST's spelling is a path too */
	runner_docker_configure("unix:///nonexistent/docker.sock", 0);
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_string_equal(err_msg(), "cannot reach the Docker engine at "
				       "'/nonexistent/docker.sock': No such "
				       "file or directory");

	/* adopt reports it the same way */
	runner_docker_configure("/nonexistent/docker.sock", 0);
	assert_int_equal(runner_docker.adopt(&f.h, &f.spec), ERR_GENERIC);
	assert_string_equal(err_msg(), "cannot reach the Docker engine at "
				       "'/nonexistent/docker.sock': No such "
				       "file or directory");
	runner_docker_configure(engine_sock, 0);
	fx_done(&f);
}

static void
test_masking(void **state)
{
	static const char *const sec[] = { "s3cr3t-value", "hunter2" };
	static const size_t lens[] = { 12, 7 };
	static const char *const se[] = { "OUT" };
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 2;
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "echo 'whole: s3cr3t-value.'\n"
		   "printf 'split: s3cr'; sleep 0.3; printf '3t-value!\\n'\n"
		   "sleep 0.1; echo 'err: hunter2' >&2; sleep 0.1\n"
		   "printf 'tail: s3cr3t'\n"
		   "OUT=s3cr3t-value\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "whole: ********.\n"
				   "split: ********!\n"
				   "err: ********\n"
				   "tail: s3cr3t");
	/* the value itself is the task's business, not the log's */
	assert_string_equal(env_of(&f.res, "OUT", NULL), "s3cr3t-value");
	fx_done(&f);
}

/* Secrets in the environment reach the script, never the log. */
static void
test_env(void **state)
{
	static const char *const sec[] = { "pa55" };
	static const size_t lens[] = { 4 };
	struct runner_env env[2] = {
		{ "SCAFFOLD_TASK", "t", 1 },
		{ "PASSWORD", "pa55", 4 },
	};
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.env = env;
	f.spec.nenv = 2;
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 1;
	fx_run(&f, "echo \"$SCAFFOLD_TASK $PASSWORD $SCAFFOLD_RUN_DIR\"\n"
		   "test -n \"$PATH\"\n"
		   "ls -a /tmp/.scaffold | tr '\\n' ' '; echo\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "t ******** /tmp/run\n"
				   ". .. env script wrapper.sh \n");
	fx_done(&f);
}

/* A started run is picked up again by a new handle (a restarted scaffold). */
static void
test_adopt(void **state)
{
	static const char *const sf[] = { "out.txt" };
	static const char *const se[] = { "X" };
	struct run_handle *h = NULL;
	struct fx f, g;
	char *s;
	int i;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_files = sf;
	f.spec.nstore_files = 1;
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	if (fx_start(&f, "echo before\nsleep 2\necho after\n"
			 "echo adopted > out.txt\nX=42\n"))
		fail_msg("start: %s", err_msg());
	/* the old scaffold goes away without removing the container */
	docker_detach(f.h);
	runner_docker.free(f.h);
	f.h = NULL;
	assert_int_equal(containers_of(f.spec.run_id), 1);

	/* the new one: same run, its own work dir and log */
	fx_init(&g);
	i = g.spec.log_fd;
	g.spec = f.spec;
	g.spec.work_dir = g.work;
	g.spec.log_fd = i;
	g.spec.script = NULL; /* adopt needs no script */
	assert_int_equal(runner_docker.adopt(&h, &g.spec), 0);
	assert_non_null(h);
	assert_int_equal(runner_docker.wait(h, &g.res), 0);
	runner_docker.free(h);
	assert_string_equal(g.res.message, "");
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&g.res, "X", NULL), "42");
	s = slurp(file_of(&g.res, "out.txt"), NULL);
	assert_string_equal(s, "adopted\n");
	free(s);
	fx_read_log(&g);
	/* the output from the adoption on */
	assert_string_equal(g.log, "after\n");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
	fx_done(&g);

	/* a run that ended while nobody watched: collected at once */
	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	if (fx_start(&f, "X=done\nexit 0\n"))
		fail_msg("start: %s", err_msg());
	docker_detach(f.h);
	runner_docker.free(f.h);
	f.h = NULL;
	for (i = 0; i < 100; i++) {
		s = inspect_of(f.spec.run_id, "{{.State.Status}}");
		if (s && !strcmp(s, "exited\n")) {
			free(s);
			break;
		}
		free(s);
		usleep(100000);
	}
	assert_true(i < 100);
	assert_int_equal(runner_docker.adopt(&h, &f.spec), 0);
	assert_int_equal(runner_docker.wait(h, &f.res), 0);
	runner_docker.free(h);
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "done");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	run_result_release(&f.res);

	/* ... and one that failed */
	f.spec.run_id = next_run_id++;
	if (fx_start(&f, "exit 7\n"))
		fail_msg("start: %s", err_msg());
	docker_detach(f.h);
	runner_docker.free(f.h);
	f.h = NULL;
	assert_int_equal(runner_docker.adopt(&h, &f.spec), 0);
	assert_int_equal(runner_docker.wait(h, &f.res), 0);
	runner_docker.free(h);
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 7");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

/* The timeout of an adopted run counts from the container's start. */
static void
test_adopt_timeout(void **state)
{
	struct run_handle *h = NULL;
	struct fx f;
	int64_t t0;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.timeout_ms = 1500;
	if (fx_start(&f, "sleep 30\n"))
		fail_msg("start: %s", err_msg());
	docker_detach(f.h);
	runner_docker.free(f.h);
	f.h = NULL;
	usleep(1000000);
	t0 = mono_ms();
	assert_int_equal(runner_docker.adopt(&h, &f.spec), 0);
	assert_int_equal(runner_docker.wait(h, &f.res), 0);
	runner_docker.free(h);
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "timed out after 1s500ms");
	assert_true(mono_ms() - t0 < 1400);
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
}

static void
test_adopt_missing(void **state)
{
	struct run_handle *h = (struct run_handle *)&h;
	struct fx f;
	char want[200];

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	assert_int_equal(runner_docker.adopt(&h, &f.spec), RUNNER_NOT_STARTED);
	assert_null(h);
	snprintf(want, sizeof(want),
		 "run %lld: no container labelled scaffold.run=%lld on the "
		 "Docker engine",
		 (long long)f.spec.run_id, (long long)f.spec.run_id);
	assert_string_equal(err_msg(), want);
	fx_done(&f);
}

static void
test_keep_failed(void **state)
{
	struct fx f;
	char want[200], *s;

	(void)state;
	NEED_ENGINE();
	runner_docker_configure(engine_sock, 1);
	fx_init(&f);
	fx_run(&f, "echo failing\nexit 2\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_int_equal(containers_of(f.spec.run_id), 1);
	s = inspect_of(f.spec.run_id, "{{.Id}}");
	assert_non_null(s);
	snprintf(want, sizeof(want),
		 "failing\nscaffold: container %.12s kept for inspection\n", s);
	assert_string_equal(f.log, want);
	free(s);
	/* how it was made: no file to load, so no archive: the command
	 * writes the wrapper and the script (no WorkingDir: the engine
	 * would make it root's) */
	s = inspect_of(f.spec.run_id,
		       "{{.HostConfig.NetworkMode}} [{{.Config.WorkingDir}}] "
		       "{{index .Config.Labels \"scaffold.cascade\"}} "
		       "{{index .Config.Labels \"scaffold.task\"}} "
		       "{{.Config.Tty}} {{index .Config.Entrypoint 0}} "
		       "{{index .Config.Entrypoint 1}} "
		       "{{index .Config.Entrypoint 3}} "
		       "{{json (index .Config.Entrypoint 5)}}");
	assert_string_equal(s, "none [] simple t false /bin/sh -c scaffold "
			       "\"echo failing\\nexit 2\\n\"\n");
	free(s);
	remove_containers_of(f.spec.run_id);
	fx_done(&f);

	/* a success is removed all the same */
	fx_init(&f);
	fx_run(&f, "echo fine\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "fine\n");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);
	runner_docker_configure(engine_sock, 0);
}

static void
test_store_errors(void **state)
{
	static const char *const missing[] = { "nope.txt" };
	static const char *const link[] = { "link" };
	static const char *const behind[] = { "d/f" };
	static const char *const dir[] = { "adir" };
	static const char *const se[] = { "NEVER" };
	static const char *const caps[] = { "a", "b" };
	struct fx f;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_files = missing;
	f.spec.nstore_files = 1;
	fx_run(&f, "true\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store file 'nope.txt' was not "
					   "created");
	assert_string_equal(f.log, "scaffold: store file 'nope.txt' was not "
				   "created\n");
	assert_int_equal(f.res.nfiles, 0);
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = link;
	f.spec.nstore_files = 1;
	fx_run(&f, "echo x > real; ln -s real link\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store file 'link' is a symlink");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = behind;
	f.spec.nstore_files = 1;
	fx_run(&f, "mkdir -p /etc/x && echo secret > /etc/x/f\n"
		   "ln -s /etc/x d\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message,
			    "store file 'd/f' is behind a symlink ('d')");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_files = dir;
	f.spec.nstore_files = 1;
	fx_run(&f, "mkdir adir\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message,
			    "store file 'adir' is not a regular file");
	fx_done(&f);

	fx_init(&f);
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "echo ok\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store env 'NEVER' is not set");
	assert_string_equal(f.log, "ok\nscaffold: store env 'NEVER' is not "
				   "set\n");
	assert_int_equal(containers_of(f.spec.run_id), 0);
	fx_done(&f);

	/* the caps of runner_store_limits, per file and per run */
	runner_store_limits(1000, 1500);
	fx_init(&f);
	f.spec.store_files = caps;
	f.spec.nstore_files = 1;
	fx_run(&f, "head -c 1001 /dev/zero > a\n");
	assert_string_equal(f.res.message,
			    "store file 'a' is larger than the limit of "
			    "1000 bytes (limits.store_file)");
	fx_done(&f);
	fx_init(&f);
	f.spec.store_files = caps;
	f.spec.nstore_files = 2;
	fx_run(&f, "head -c 1000 /dev/zero > a; head -c 501 /dev/zero > b\n");
	assert_string_equal(f.res.message,
			    "store file 'b' takes the store files of this run "
			    "over the limit of 1500 bytes (limits.store_run)");
	fx_done(&f);
	fx_init(&f);
	f.spec.store_files = caps;
	f.spec.nstore_files = 2;
	fx_run(&f, "head -c 1000 /dev/zero > a; head -c 500 /dev/zero > b\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.nfiles, 2);
	fx_done(&f);
	runner_store_limits(0, 0);
}

/* Megabytes of output, on both streams, and a stored file of megabytes. */
static void
test_large(void **state)
{
	static const char *const sf[] = { "big.bin" };
	struct fx f;
	struct stat st;
	size_t i, xs = 0, ys = 0;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	f.spec.store_files = sf;
	f.spec.nstore_files = 1;
	fx_run(&f, "head -c 3000000 /dev/zero | tr '\\0' x\n"
		   "head -c 1000000 /dev/zero | tr '\\0' y >&2\n"
		   "head -c 8388608 /dev/urandom > big.bin\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.loglen, 4000000);
	for (i = 0; i < f.loglen; i++) {
		xs += f.log[i] == 'x';
		ys += f.log[i] == 'y';
	}
	assert_int_equal(xs, 3000000);
	assert_int_equal(ys, 1000000);
	assert_int_equal(stat(file_of(&f.res, "big.bin"), &st), 0);
	assert_int_equal(st.st_size, 8388608);
	fx_done(&f);
}

/* An image with a USER that is not root and an ENTRYPOINT of its own. */
static void
test_image_user(void **state)
{
	static const char *const sf[] = { "new.txt", "in.txt" };
	struct runner_file files[1];
	char src[PATH_MAX];
	struct fx f;
	char *s;

	(void)state;
	NEED_ENGINE();
	fx_init(&f);
	snprintf(src, sizeof(src), "%s/in", f.base);
	spit(src, "loaded\n", 7);
	files[0] = (struct runner_file){ "in.txt", src };
	f.spec.image = IMAGE_USER;
	f.spec.files = files;
	f.spec.nfiles = 1;
	f.spec.store_files = sf;
	f.spec.nstore_files = 2;
	fx_run(&f, "id -u\necho more >> in.txt\necho new > new.txt\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "1000\n");
	s = slurp(file_of(&f.res, "in.txt"), NULL);
	assert_string_equal(s, "loaded\nmore\n");
	free(s);
	fx_done(&f);
}

static void
test_bad_spec(void **state)
{
	static const char *const bad_env[] = { "A-B" };
	static const char *const bad_file[] = { "../x" };
	struct runner_env env[1] = { { "X", "\xff", 1 } };
	struct runner_env env2[1] = { { "X-Y", "\xff", 1 } };
	char want[100];
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
	assert_string_equal(err_msg(),
			    "store file '../x' is not a path inside the run "
			    "dir");
	f.spec.nstore_files = 0;
	f.spec.env = env2;
	f.spec.nenv = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "env 'X-Y': the value is not UTF-8 "
				       "and the name is not a shell variable "
				       "name");
	f.spec.env = env;
	f.spec.image = NULL;
	assert_int_equal(fx_start(&f, "true\n"), -1);
	snprintf(want, sizeof(want), "run %lld: no script or no image",
		 (long long)f.spec.run_id);
	assert_string_equal(err_msg(), want);
	fx_done(&f);
}

/* ---- a fake engine ---------------------------------------------------- */

/*
 * Answers requests on a unix socket from a table of routes, and records
 * every request line.  An answer is a status and a body; or headers of a
 * chunked body and its first chunk, the connection then left open (what
 * the engine does for a wait); or a raw stream left open (an attach); or
 * nothing at all.
 */
enum fake_mode { FAKE_FULL, FAKE_OPEN, FAKE_RAW, FAKE_RAW_END, FAKE_SILENT };

struct fake_route {
	const char *method;
	const char *prefix; /* of the path */
	const char *status; /* "200 OK" */
	const char *body;
	size_t body_len; /* 0: strlen(body) */
	enum fake_mode mode;
};

struct fake {
	char dir[64];
	char path[100]; /* fits sun_path */
	int lfd;
	int stop[2];
	pthread_t th;
	const struct fake_route *routes;
	size_t nroutes;
	pthread_mutex_t lock;
	struct strvec seen; /* "METHOD PATH" */
};

struct fake_conn {
	int fd;
	struct buf in;
	bool answered;
};

static void
fake_send(int fd, const struct fake_route *r)
{
	struct buf b = BUF_INIT;
	size_t len = r->body ? (r->body_len ? r->body_len : strlen(r->body))
			     : 0;

	if (r->mode == FAKE_SILENT)
		return;
	buf_addf(&b, "HTTP/1.1 %s\r\nContent-Type: application/json\r\n",
		 r->status);
	if (r->mode == FAKE_FULL) {
		buf_addf(&b, "Content-Length: %zu\r\n\r\n", len);
		buf_add(&b, r->body, len);
	} else if (r->mode == FAKE_RAW || r->mode == FAKE_RAW_END) {
		buf_puts(&b, "\r\n");
		buf_add(&b, r->body, len);
	} else {
		buf_puts(&b, "Transfer-Encoding: chunked\r\n\r\n");
		if (len) {
			buf_addf(&b, "%zx\r\n", len);
			buf_add(&b, r->body, len);
			buf_puts(&b, "\r\n");
		}
	}
	if (write(fd, b.ptr, b.len) < 0)
		fprintf(stderr, "fake engine: cannot answer\n");
	if (r->mode == FAKE_RAW_END)
		shutdown(fd, SHUT_WR); /* the end of the stream */
	buf_release(&b);
}

static void
fake_answer(struct fake *fk, struct fake_conn *c)
{
	static const struct fake_route nf = { "", "", "404 Not Found",
					      "{\"message\":\"no route\"}", 0,
					      FAKE_FULL };
	char method[16], path[1024];
	const char *end, *cl;
	size_t head, body = 0, i;

	end = strstr(c->in.ptr, "\r\n\r\n");
	if (!end)
		return;
	head = (size_t)(end - c->in.ptr) + 4;
	cl = strcasestr(c->in.ptr, "\r\nContent-Length:");
	if (cl && cl < end)
		body = strtoul(cl + 17, NULL, 10);
	if (c->in.len < head + body)
		return;
	if (sscanf(c->in.ptr, "%15s %1023s", method, path) != 2)
		return;
	c->answered = true;
	pthread_mutex_lock(&fk->lock);
	strvec_pushf(&fk->seen, "%s %s", method, path);
	pthread_mutex_unlock(&fk->lock);
	for (i = 0; i < fk->nroutes; i++) {
		const struct fake_route *r = &fk->routes[i];

		if (!strcmp(r->method, method) &&
		    !strncmp(r->prefix, path, strlen(r->prefix))) {
			fake_send(c->fd, r);
			return;
		}
	}
	fake_send(c->fd, &nf);
}

static void *
fake_main(void *arg)
{
	struct fake *fk = arg;
	struct fake_conn conns[32];
	struct pollfd pfd[34];
	size_t n = 0, i;
	char chunk[65536];
	ssize_t r;

	for (;;) {
		pfd[0].fd = fk->stop[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = fk->lfd;
		pfd[1].events = POLLIN;
		for (i = 0; i < n; i++) {
			pfd[i + 2].fd = conns[i].fd;
			pfd[i + 2].events = POLLIN;
		}
		if (poll(pfd, n + 2, -1) < 0)
			continue;
		if (pfd[0].revents)
			break;
		if (pfd[1].revents && n < ARRAY_SIZE(conns)) {
			conns[n].fd = accept(fk->lfd, NULL, NULL);
			if (conns[n].fd >= 0) {
				buf_init(&conns[n].in);
				conns[n].answered = false;
				n++;
			}
			continue;
		}
		for (i = 0; i < n; i++) {
			if (!pfd[i + 2].revents)
				continue;
			r = read(conns[i].fd, chunk, sizeof(chunk));
			if (r <= 0) {
				close(conns[i].fd);
				buf_release(&conns[i].in);
				conns[i] = conns[--n];
				break; /* pfd no longer matches: poll again */
			}
			buf_add(&conns[i].in, chunk, (size_t)r);
			if (!conns[i].answered)
				fake_answer(fk, &conns[i]);
		}
	}
	for (i = 0; i < n; i++) {
		close(conns[i].fd);
		buf_release(&conns[i].in);
	}
	return NULL;
}

static void
fake_start(struct fake *fk, const struct fake_route *routes, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(fk, 0, sizeof(*fk));
	unit_tmpdir(fk->dir, sizeof(fk->dir), "scaffold-test-fake");
	snprintf(fk->path, sizeof(fk->path), "%s/docker.sock", fk->dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fk->path);
	fk->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fk->lfd >= 0);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(listen(fk->lfd, 16), 0);
	assert_int_equal(pipe(fk->stop), 0);
	fk->routes = routes;
	fk->nroutes = n;
	pthread_mutex_init(&fk->lock, NULL);
	strvec_init(&fk->seen);
	assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
	runner_docker_configure(fk->path, 0);
}

/* The engine goes away: every connection closes, the socket is gone. */
static void
fake_stop(struct fake *fk)
{
	if (fk->lfd < 0)
		return;
	if (write(fk->stop[1], "x", 1) < 0)
		fprintf(stderr, "fake engine: cannot stop\n");
	pthread_join(fk->th, NULL);
	close(fk->lfd);
	fk->lfd = -1;
	close(fk->stop[0]);
	close(fk->stop[1]);
	unlink(fk->path);
}

static void
fake_done(struct fake *fk)
{
	fake_stop(fk);
	rmdir(fk->dir);
	strvec_clear(&fk->seen);
	pthread_mutex_destroy(&fk->lock);
	runner_docker_configure(engine_sock, 0);
}

static bool
fake_saw(struct fake *fk, const char *line)
{
	size_t i;
	bool found = false;

	pthread_mutex_lock(&fk->lock);
	for (i = 0; i < fk->seen.n && !found; i++)
		found = !strcmp(fk->seen.v[i], line);
	pthread_mutex_unlock(&fk->lock);
	return found;
}

#define FAKE_ID "fa4e0123456789abcdef"
#define R_VERSION(v)                                                     \
	{ "GET", "/version", "200 OK",                                   \
	  "{\"ApiVersion\":\"" v "\",\"MinAPIVersion\":\"1.12\"}", 0,    \
	  FAKE_FULL }
#define R_IMAGE(v) { "GET", "/v" v "/images/", "200 OK", "{}", 0, FAKE_FULL }
#define R_CREATE(v)                                                      \
	{ "POST", "/v" v "/containers/create", "201 Created",            \
	  "{\"Id\":\"" FAKE_ID "\",\"Warnings\":[]}", 0, FAKE_FULL }
#define R_ARCHIVE(v)                                                     \
	{ "PUT", "/v" v "/containers/" FAKE_ID "/archive", "200 OK", "", \
	  0, FAKE_FULL }
#define R_START(v)                                                       \
	{ "POST", "/v" v "/containers/" FAKE_ID "/start",                \
	  "204 No Content", "", 0, FAKE_FULL }
#define R_DELETE(v)                                                      \
	{ "DELETE", "/v" v "/containers/" FAKE_ID, "204 No Content", "", \
	  0, FAKE_FULL }

static void
test_fake_disk_full(void **state)
{
	static const struct fake_route routes[] = {
		R_VERSION("1.41"),
		R_IMAGE("1.41"),
		{ "POST", "/v1.41/containers/create",
		  "500 Internal Server Error",
		  "{\"message\":\"mkdir /var/lib/docker/overlay2/abc-init: no "
		  "space left on device\"}\n",
		  0, FAKE_FULL },
	};
	struct fake fk;
	struct fx f;

	(void)state;
	fx_init(&f);
	fake_start(&fk, routes, ARRAY_SIZE(routes));
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_string_equal(err_msg(),
			    "the Docker engine is out of disk space: mkdir "
			    "/var/lib/docker/overlay2/abc-init: no space left "
			    "on device");
	assert_null(f.h);
	fake_done(&fk);
	fx_done(&f);
}

struct stopper {
	struct fake *fk;
	const char *logp;
};

static void *
stopper_main(void *arg)
{
	struct stopper *st = arg;
	char *log;
	int i;

	for (i = 0; i < 200; i++) {
		log = slurp(st->logp, NULL);
		if (log && strstr(log, "hello")) {
			free(log);
			break;
		}
		free(log);
		usleep(20000);
	}
	fake_stop(st->fk);
	return NULL;
}

/* The engine stops in the middle of a run: the run is lost. */
static void
test_fake_engine_stops(void **state)
{
	static const char frame[] = "\x01\x00\x00\x00\x00\x00\x00\x06hello\n";
	static const struct fake_route routes[] = {
		R_VERSION("1.41"),
		R_IMAGE("1.41"),
		R_CREATE("1.41"),
		R_ARCHIVE("1.41"),
		R_START("1.41"),
		/* one frame of output, then silence */
		{ "POST", "/v1.41/containers/" FAKE_ID "/attach", "200 OK",
		  frame, sizeof(frame) - 1, FAKE_RAW },
		/* the engine answers a wait at once, its body comes later */
		{ "POST", "/v1.41/containers/" FAKE_ID "/wait", "200 OK", NULL,
		  0, FAKE_OPEN },
	};
	struct stopper st;
	struct fake fk;
	struct fx f;
	pthread_t th;
	char want[640];

	(void)state;
	fx_init(&f);
	fake_start(&fk, routes, ARRAY_SIZE(routes));
	if (fx_start(&f, "true\n"))
		fail_msg("start: %s", err_msg());
	/* no file to load: no archive to put (issue 19, item 4) */
	assert_false(fake_saw(&fk, "PUT /v1.41/containers/" FAKE_ID
				   "/archive?path=/"));
	st.fk = &fk;
	st.logp = f.logp;
	assert_int_equal(pthread_create(&th, NULL, stopper_main, &st), 0);
	assert_int_equal(runner_docker.wait(f.h, &f.res), 0);
	pthread_join(th, NULL);
	assert_int_equal(f.res.outcome, RUN_LOST);
	assert_int_equal(f.res.exit_code, -1);
	/*
	 * Which the runner meets first is a race the fake's stop cannot
	 * order: the open streams closing, or a new request finding the
	 * socket gone.  Either is the truth, and nothing else is.
	 */
	if (strcmp(f.res.message, "lost contact with the Docker engine: the "
				  "connection was closed"))
		assert_string_equal(f.res.message,
				    "lost contact with the Docker engine: No "
				    "such file or directory");
	/* the log says what the result says, whichever it was */
	snprintf(want, sizeof(want), "hello\nscaffold: %s\n", f.res.message);
	runner_docker.free(f.h); /* cannot remove: warns, goes on */
	f.h = NULL;
	fx_read_log(&f);
	assert_string_equal(f.log, want);
	fake_done(&fk);
	fx_done(&f);
}

/* A container the kernel killed for memory says so. */
static void
test_fake_oom(void **state)
{
	static const char frame[] = "\x02\x00\x00\x00\x00\x00\x00\x08"
				    "Killed\r\n";
	static const struct fake_route routes[] = {
		R_VERSION("1.41"),
		R_IMAGE("1.41"),
		R_CREATE("1.41"),
		R_ARCHIVE("1.41"),
		R_START("1.41"),
		R_DELETE("1.41"),
		{ "POST", "/v1.41/containers/" FAKE_ID "/attach", "200 OK",
		  frame, sizeof(frame) - 1, FAKE_RAW_END },
		{ "POST", "/v1.41/containers/" FAKE_ID "/wait", "200 OK",
		  "{\"Error\":null,\"StatusCode\":137}", 0, FAKE_FULL },
		{ "GET", "/v1.41/containers/" FAKE_ID "/json", "200 OK",
		  "{\"Id\":\"" FAKE_ID "\",\"State\":{\"Status\":\"exited\","
		  "\"OOMKilled\":true,\"ExitCode\":137}}",
		  0, FAKE_FULL },
	};
	struct fake fk;
	struct fx f;

	(void)state;
	fx_init(&f);
	fake_start(&fk, routes, ARRAY_SIZE(routes));
	fx_run(&f, "true\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_int_equal(f.res.exit_code, 137);
	assert_string_equal(f.res.message, "exit code 137 (out of memory)");
	assert_string_equal(f.log, "Killed\r\n");
	assert_true(f.elapsed_ms < 3000);
	assert_true(fake_saw(&fk, "DELETE /v1.41/containers/" FAKE_ID
				  "?force=1&v=1"));
	fake_done(&fk);
	fx_done(&f);
}

/* The API version: the engine's, capped at the newest scaffold knows. */
static void
test_fake_api_version(void **state)
{
	static const struct fake_route newer[] = {
		R_VERSION("1.45"),
		R_IMAGE("1.41"),
		{ "POST", "/v1.41/containers/create", "400 Bad Request",
		  "{\"message\":\"stop here\"}", 0, FAKE_FULL },
	};
	static const struct fake_route older[] = {
		R_VERSION("1.30"),
		R_IMAGE("1.30"),
		{ "POST", "/v1.30/containers/create", "400 Bad Request",
		  "{\"message\":\"stop here\"}", 0, FAKE_FULL },
	};
	static const struct fake_route ancient[] = {
		R_VERSION("1.24"),
	};
	static const struct fake_route broken[] = {
		{ "GET", "/version", "200 OK", "not json", 0, FAKE_FULL },
	};
	struct fake fk;
	struct fx f;

	(void)state;
	fx_init(&f);
	fake_start(&fk, newer, ARRAY_SIZE(newer));
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_string_equal(err_msg(), "cannot create a container of image '"
				       IMAGE "': stop here");
	assert_true(fake_saw(&fk, "GET /version"));
	assert_true(fake_saw(&fk, "GET /v1.41/images/" IMAGE "/json"));
	assert_true(fake_saw(&fk, "POST /v1.41/containers/create"));
	fake_done(&fk);

	fake_start(&fk, older, ARRAY_SIZE(older));
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_string_equal(err_msg(), "cannot create a container of image '"
				       IMAGE "': stop here");
	assert_true(fake_saw(&fk, "POST /v1.30/containers/create"));
	fake_done(&fk);

	fake_start(&fk, ancient, ARRAY_SIZE(ancient));
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	{
		char want[300];

		snprintf(want, sizeof(want),
			 "the Docker engine at '%s' speaks API 1.24; scaffold "
			 "needs 1.25 or later",
			 fk.path);
		assert_string_equal(err_msg(), want);
	}
	fake_done(&fk);

	fake_start(&fk, broken, ARRAY_SIZE(broken));
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	assert_non_null(strstr(err_msg(), "the Docker engine's version: the "
					  "Docker engine's answer is not "
					  "JSON: "));
	fake_done(&fk);
	fx_done(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_simple_store_load),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_exit_trap),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_kill_from_thread),
		cmocka_unit_test(test_free_without_wait),
		cmocka_unit_test(test_missing_image),
		cmocka_unit_test(test_wrong_socket),
		cmocka_unit_test(test_masking),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_adopt_timeout),
		cmocka_unit_test(test_adopt_missing),
		cmocka_unit_test(test_keep_failed),
		cmocka_unit_test(test_store_errors),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_image_user),
		cmocka_unit_test(test_bad_spec),
		cmocka_unit_test(test_fake_disk_full),
		cmocka_unit_test(test_fake_engine_stops),
		cmocka_unit_test(test_fake_oom),
		cmocka_unit_test(test_fake_api_version),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
