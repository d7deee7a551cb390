/*
 * local.c - the "local" runner: the task's script in a process on this
 * machine, in a sandbox (sandbox.c) that hides the daemon from it.
 *
 * Layout of the work dir the caller gives us:
 *
 *	run/			the run dir: the script's cwd,
 *				$SCAFFOLD_RUN_DIR, loaded and stored files;
 *				the task user's, writable in the sandbox
 *	task/script		the task's script, byte for byte
 *	task/wrapper.sh		sources the script, then records the store
 *				env (task/env/NAME) and that it ended
 *				(task/env/.done)
 *	task/env/		the task user's, writable in the sandbox
 *	meta/			the daemon's, hidden from the task:
 *	meta/pid		"PID STARTTIME WALLMS": the run's init
 *	meta/out		the output of the run, as it is written
 *	meta/out-offset		how far of it is in the log
 *	meta/exit		"exit N" or "signal N", by the init, when the
 *				shell ended
 *
 * The run's init is a process in namespaces of its own, started detached
 * (its own session, output to a file, its exit recorded by itself), so
 * that a SIGKILLed scaffold's successor adopts it: same run, the log
 * continued from meta/out-offset, the exit status from meta/exit.  wait()
 * reads meta/out as it grows (every 50 ms, backing off to 500 ms while
 * quiet) through the secret masker into the log, notices the init's end
 * through a pidfd (or a short tick), enforces the timeout and kill
 * requests (SIGTERM to the init, which passes it to every process of the
 * run; SIGKILL 2 s later, which ends them all).  When the shell ends, the
 * init kills and reaps whatever is left of the run, records the status,
 * says "e" on the go socket and exits; wait() ends at that word (or at
 * the init's end, for an adopted run), and an init still tearing its
 * namespaces down then is reaped later (reap_zombies).  A run whose init
 * is gone without a status (the machine rebooted) is lost.
 *
 * The caller must not ignore SIGCHLD or reap children it did not start
 * (waitpid(-1)); it should ignore SIGPIPE if log_fd may be a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner-int.h"

#define SHELL "/bin/sh"
#define CLEAN_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define GRACE_MS 2000	      /* SIGTERM → SIGKILL */
#define TICK_MIN_MS 50	      /* meta/out is read this often, */
#define TICK_MAX_MS 500	      /* backing off to this while quiet */
#define READ_CHUNK 65536
#define SLICE_MAX (4 << 20)   /* output read before looking around */

bool local_force_poll;

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

/* runner_local_configure(); read-only while runs go, but for hide, which
 * a reload replaces (runner_local_hide) under hide_lock. */
static pthread_mutex_t hide_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool drop;
	uid_t uid;
	gid_t gid;
	char *user;
	char *home;
	struct strvec hide;
} lc = { .hide = STRVEC_INIT };

struct run_handle {
	int64_t run_id;
	char *run_dir;	/* absolute, symlinks resolved */
	char *task_dir; /* absolute */
	char *meta_dir; /* absolute */
	struct strvec store_files;
	struct strvec store_env;
	int64_t timeout_ms;
	int64_t started_ms;    /* monotonic, for the timeout */
	int64_t started_wall;  /* ms since the epoch, kept in meta/pid */

	struct run_log log; /* fd, masker, last byte */

	pid_t pid;		  /* the init */
	unsigned long long start; /* its start time, for a recycled pid */
	bool child;		  /* ours to reap (not adopted) */
	int pidfd;		  /* -1 without */
	int out_fd;		  /* meta/out, read at out_off */
	int64_t out_off;
	int off_fd; /* meta/out-offset */
	int kill_fd; /* eventfd: kill() → wait() */
	int end_fd;  /* the go socket: "e" when the init recorded the end */
	bool reaped;
	int status; /* the init's wait status, once reaped (ours) */
	bool gone; /* the init has ended */
	bool ended; /* it said "e": the run is over, the init is ending */
	bool waited;
};

/*
 * Inits that said their run is over but had not exited yet when their
 * handle was freed: reaped later, without waiting (their namespaces'
 * teardown takes a few milliseconds the daemon does not wait for).
 */
static pthread_mutex_t zombie_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *zombies;
static size_t nzombies, zombies_alloc;

/* Reap the inits whose handles were freed before they exited. */
static void
reap_zombies(void)
{
	size_t i = 0;

	pthread_mutex_lock(&zombie_lock);
	while (i < nzombies) {
		if (waitpid(zombies[i], NULL, WNOHANG) != 0)
			zombies[i] = zombies[--nzombies];
		else
			i++;
	}
	pthread_mutex_unlock(&zombie_lock);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Append s as one single-quoted shell word. */
static void
sh_quote(struct buf *b, const char *s)
{
	runner_sh_quote(b, s, strlen(s));
}

void
runner_local_hide(const char *const *hide, size_t n)
{
	struct strvec v = STRVEC_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		if (hide[i] && hide[i][0] == '/')
			strvec_push(&v, hide[i]);
	pthread_mutex_lock(&hide_lock);
	strvec_clear(&lc.hide);
	lc.hide = v;
	pthread_mutex_unlock(&hide_lock);
}

/* The account local tasks run as, and what they must not see. */
int
runner_local_configure(const char *user, const char *const *hide, size_t n)
{
	struct passwd pw, *res = NULL;
	char *tmp;
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	int e, ret = 0;

	runner_local_hide(hide, n);
	free(lc.user);
	free(lc.home);
	lc.user = lc.home = NULL;
	lc.drop = false;
	/* now, on the caller's main thread and before the heap grows */
	spawner_prestart();
	if (!user)
		return 0;
	if (sz < 1024)
		sz = 16384;
	tmp = xmalloc((size_t)sz);
	e = getpwnam_r(user, &pw, tmp, (size_t)sz, &res);
	if (e || !res)
		ret = err_set("local user '%s': %s", user,
			      e ? strerror(e) : "no such user");
	else if (pw.pw_uid == 0)
		ret = err_set("local user '%s' is root: local tasks must run "
			      "as an unprivileged user",
			      user);
	else if (geteuid() == 0) {
		lc.drop = true;
		lc.uid = pw.pw_uid;
		lc.gid = pw.pw_gid;
		lc.user = xstrdup(user);
		lc.home = xstrdup(pw.pw_dir && *pw.pw_dir ? pw.pw_dir : "/");
	}
	free(tmp);
	return ret;
}

/*
 * Copy src to path under the directory dirfd, creating parent directories;
 * never follows a symlink, never replaces a file.
 */
static int
place_file(int dirfd, const char *path, const char *src)
{
	char seg[NAME_MAX + 1];
	char *data = NULL;
	const char *p = path;
	int dfd = -1, in = -1, outfd = -1, sub, ret = -1;
	size_t l;
	ssize_t n;
	struct stat st;
	struct buf e = BUF_INIT;

	dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0) {
		err_set("file '%s': %s", runner_esc(&e, path), strerror(errno));
		goto out;
	}
	for (;;) {
		l = strcspn(p, "/");
		if (l > NAME_MAX) {
			err_set("file '%s': name too long", runner_esc(&e, path));
			goto out;
		}
		memcpy(seg, p, l);
		seg[l] = '\0';
		p += l;
		if (!*p)
			break;
		p++;
		if (!l || !strcmp(seg, "."))
			continue;
		if (mkdirat(dfd, seg, 0755) < 0 && errno != EEXIST) {
			err_set("file '%s': cannot create directory '%s': %s",
				runner_esc(&e, path), seg, strerror(errno));
			goto out;
		}
		sub = openat(dfd, seg,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			err_set("file '%s': cannot open directory '%s': %s",
				runner_esc(&e, path), seg, strerror(errno));
			goto out;
		}
		close(dfd);
		dfd = sub;
	}

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s", runner_esc(&e, path), src,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("file '%s': '%s' is not a regular file", runner_esc(&e, path),
			src);
		goto out;
	}
	outfd = openat(dfd, seg,
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       (st.st_mode & 0777) | 0600);
	if (outfd < 0) {
		err_set("file '%s': cannot create: %s", runner_esc(&e, path),
			strerror(errno));
		goto out;
	}
	data = xmalloc(READ_CHUNK);
	for (;;) {
		n = read(in, data, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set("file '%s': cannot read '%s': %s",
				runner_esc(&e, path), src, strerror(errno));
			goto out;
		}
		if (!n)
			break;
		if (runner_write_all(outfd, data, (size_t)n) < 0) {
			err_set("file '%s': cannot write: %s", runner_esc(&e, path),
				strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	free(data);
	close_fd(&dfd);
	close_fd(&in);
	if (outfd >= 0 && close(outfd) < 0 && !ret)
		ret = err_set("file '%s': cannot write: %s", runner_esc(&e, path),
			      strerror(errno));
	buf_release(&e);
	return ret;
}

static int
write_file(const char *path, const char *data, size_t len)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return err_set("cannot create '%s': %s", path,
			       strerror(errno));
	if (runner_write_all(fd, data, len) < 0)
		ret = err_set("cannot write '%s': %s", path, strerror(errno));
	if (close(fd) < 0 && !ret)
		ret = err_set("cannot write '%s': %s", path, strerror(errno));
	return ret;
}


/*
 * The wrapper: sources the script in this shell; when the shell leaves
 * (exit, set -e, end of the script) records, on success, the store env
 * and that it got there (env/.done).  The end is also run by hand after
 * the script, for scripts that replace the EXIT trap but end normally.
 * The exit status itself is the init's to record.
 */
static void
build_wrapper(struct buf *w, const struct run_handle *h)
{
	struct buf env_path = BUF_INIT;
	size_t i;
	const char *n;

	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# the store env on success.\n"
		    "__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tumask 077\n"
		    "\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < h->store_env.n; i++) {
		n = h->store_env.v[i];
		buf_reset(&env_path);
		buf_addf(&env_path, "%s/env/%s", h->task_dir, n);
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >",
			 n, n);
		sh_quote(w, env_path.ptr);
		buf_puts(w, "; fi\n");
	}
	buf_puts(w, "\tfi\n");
	if (h->store_env.n) {
		buf_reset(&env_path);
		buf_addf(&env_path, "%s/env/.done", h->task_dir);
		buf_puts(w, "\t: >");
		sh_quote(w, env_path.ptr);
		buf_putc(w, '\n');
	}
	buf_puts(w, "}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". ../task/script\n"
		    "__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
	buf_release(&env_path);
}

/* Set NAME=value in env, replacing an earlier NAME. */
static void
env_set(struct strvec *env, const char *name, const char *value, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i, nl = strlen(name);

	buf_add(&b, name, nl);
	buf_putc(&b, '=');
	buf_add(&b, value, len);
	for (i = 0; i < env->n; i++) {
		if (!strncmp(env->v[i], name, nl) && env->v[i][nl] == '=') {
			free(env->v[i]);
			env->v[i] = buf_detach(&b, NULL);
			return;
		}
	}
	strvec_push(env, b.ptr);
	buf_release(&b);
}

/* The daemon's own home, looked up once (not an NSS lookup per run). */
static pthread_once_t own_home_once = PTHREAD_ONCE_INIT;
static char *own_home;

static void
own_home_init(void)
{
	struct passwd pw, *res = NULL;
	char *tmp;
	long sz;

	sz = sysconf(_SC_GETPW_R_SIZE_MAX);
	if (sz < 1024)
		sz = 16384;
	tmp = xmalloc((size_t)sz);
	if (!getpwuid_r(getuid(), &pw, tmp, (size_t)sz, &res) && res &&
	    res->pw_dir && *res->pw_dir)
		own_home = xstrdup(res->pw_dir);
	else
		own_home = xstrdup("/");
	free(tmp);
}

/* The home of the task user. */
static void
home_dir(struct buf *out)
{
	if (lc.drop) {
		buf_puts(out, lc.home);
		return;
	}
	pthread_once(&own_home_once, own_home_init);
	buf_puts(out, own_home);
}

/* The clean environment of a run. */
static int
build_env(struct strvec *env, const struct run_spec *spec,
	  const char *run_dir)
{
	struct buf home = BUF_INIT, e = BUF_INIT;
	const struct runner_env *v;
	size_t i;
	int ret = -1;

	home_dir(&home);
	env_set(env, "PATH", CLEAN_PATH, strlen(CLEAN_PATH));
	env_set(env, "HOME", home.ptr, home.len);
	env_set(env, "LANG", "C.UTF-8", 7);
	if (lc.drop) {
		env_set(env, "USER", lc.user, strlen(lc.user));
		env_set(env, "LOGNAME", lc.user, strlen(lc.user));
	}
	for (i = 0; i < spec->nenv; i++) {
		v = &spec->env[i];
		if (!v->name || !*v->name || strchr(v->name, '=')) {
			err_set("env '%s': not a valid variable name",
				v->name ? runner_esc(&e, v->name) : "");
			goto out;
		}
		if (v->len && (!v->value || memchr(v->value, '\0', v->len))) {
			err_set("env '%s': the value holds a NUL byte",
				runner_esc(&e, v->name));
			goto out;
		}
		env_set(env, v->name, v->len ? v->value : "", v->len);
	}
	env_set(env, "SCAFFOLD_RUN_DIR", run_dir, strlen(run_dir));
	ret = 0;
out:
	buf_release(&home);
	buf_release(&e);
	return ret;
}

/* A process's start time (field 22 of /proc/PID/stat); 0 if gone. */
static unsigned long long
start_time(pid_t pid)
{
	struct buf b = BUF_INIT, p = BUF_INIT;
	unsigned long long t = 0;
	const char *f;
	int i;

	buf_addf(&p, "/proc/%d/stat", (int)pid);
	if (buf_read_file(&b, p.ptr, 4096) == 0 &&
	    (f = strrchr(b.ptr, ')'))) {
		/* a zombie has ended: its group is gone */
		if (f[1] == ' ' && (f[2] == 'Z' || f[2] == 'X'))
			f = NULL;
		/* fields after the name: state is 3, starttime 22 */
		for (i = 2; i < 22 && f; i++)
			f = strchr(f + 1, ' ');
		if (f)
			t = strtoull(f + 1, NULL, 10);
	}
	err_clear();
	buf_release(&b);
	buf_release(&p);
	return t;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
chown_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* The run dir and what was placed in it become the task user's. */
static int
give_to_user(const char *dir)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int r;

	pthread_mutex_lock(&lock);
	chown_uid = lc.uid;
	chown_gid = lc.gid;
	r = nftw(dir, chown_one, 16, FTW_PHYS | FTW_MOUNT);
	pthread_mutex_unlock(&lock);
	if (r < 0)
		return err_set("cannot give '%s' to the local user '%s': %s",
			       dir, lc.user, strerror(errno));
	return 0;
}

/* Keep how far meta/out went into the log, for the next scaffold. */
static void
save_offset(struct run_handle *h)
{
	struct buf p = BUF_INIT;
	char v[32];
	int n;

	if (h->off_fd < 0) {
		/* made at the first output: a run that prints nothing has
		 * none (no file is one file less per run; none reads 0) */
		buf_addf(&p, "%s/out-offset", h->meta_dir);
		h->off_fd = open(p.ptr,
				 O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				 0600);
		if (h->off_fd < 0)
			log_warnx("runner: run %lld: cannot open '%s': %s",
				  (long long)h->run_id, p.ptr,
				  strerror(errno));
		buf_release(&p);
		if (h->off_fd < 0)
			return;
	}
	n = snprintf(v, sizeof(v), "%020lld\n", (long long)h->out_off);
	if (pwrite(h->off_fd, v, (size_t)n, 0) != n)
		log_warnx("runner: run %lld: cannot write its out-offset: %s",
			  (long long)h->run_id, strerror(errno));
}

static int64_t
load_offset(const char *meta_dir)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	int64_t off = 0;

	buf_addf(&p, "%s/out-offset", meta_dir);
	if (buf_read_file(&v, p.ptr, 64) == 0 && atoll(v.ptr) > 0)
		off = atoll(v.ptr);
	err_clear();
	buf_release(&p);
	buf_release(&v);
	return off;
}

/* The paths of a run's work dir, and its log, into a new handle. */
static struct run_handle *
handle_new(const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));

	h->pid = -1;
	h->pidfd = -1;
	h->out_fd = -1;
	h->off_fd = -1;
	h->kill_fd = -1;
	h->end_fd = -1;
	run_log_init(&h->log, spec);
	h->run_id = spec->run_id;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	return h;
}

/* run_dir, task_dir, meta_dir from the work dir; kill_fd. */
static int
handle_paths(struct run_handle *h, const struct run_spec *spec)
{
	struct buf path = BUF_INIT;
	char *work = NULL;
	int ret = -1;

	if (!spec->work_dir) {
		err_set("run %lld: no work dir", (long long)spec->run_id);
		goto out;
	}
	work = realpath(spec->work_dir, NULL);
	if (!work) {
		err_set("work dir '%s': %s", spec->work_dir, strerror(errno));
		goto out;
	}
	buf_addf(&path, "%s/run", work);
	h->run_dir = buf_detach(&path, NULL);
	buf_addf(&path, "%s/task", work);
	h->task_dir = buf_detach(&path, NULL);
	buf_addf(&path, "%s/meta", work);
	h->meta_dir = buf_detach(&path, NULL);
	if (runner_kill_fd_new(&h->kill_fd) < 0)
		goto out;
	ret = 0;
out:
	free(work);
	buf_release(&path);
	return ret;
}

/* Open meta/out for reading (meta/out-offset is opened at the first
 * output, save_offset). */
static int
open_output(struct run_handle *h)
{
	struct buf p = BUF_INIT;
	int ret = 0;

	buf_addf(&p, "%s/out", h->meta_dir);
	h->out_fd = open(p.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (h->out_fd < 0)
		ret = err_set("cannot open '%s': %s", p.ptr, strerror(errno));
	buf_release(&p);
	return ret;
}

static void
watch_init(struct run_handle *h)
{
#ifdef SYS_pidfd_open
	if (!local_force_poll)
		h->pidfd = (int)syscall(SYS_pidfd_open, h->pid, 0);
#endif
}

/* Start the init in its sandbox; h->pid, meta/pid.  Then let it go. */
static int
spawn(struct run_handle *h, char *const argv[], char *const envp[])
{
	struct sandbox sb;
	struct strvec hide = STRVEC_INIT;
	struct buf p = BUF_INIT, v = BUF_INIT;
	int st[2] = { -1, -1 }, go[2] = { -1, -1 }, devnull = -1, out = -1;
	int report[3], ret = -1, gone = 0;
	ssize_t n;

	memset(&sb, 0, sizeof(sb));
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	buf_addf(&p, "%s/out", h->meta_dir);
	out = open(p.ptr,
		   O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW |
			   O_CLOEXEC,
		   0600);
	if (devnull < 0 || out < 0) {
		err_set("cannot open '%s': %s", devnull < 0 ? "/dev/null" : p.ptr,
			strerror(errno));
		goto out;
	}
	if (open_output(h) < 0)
		goto out;
	/* go: a socket, so that the go to an init that already failed (and
	 * closed it) is EPIPE, not a SIGPIPE that kills scaffold apply */
	if (pipe2(st, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, go) < 0) {
		err_set("cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	sb.run_dir = h->run_dir;
	sb.task_dir = h->task_dir;
	sb.meta_dir = h->meta_dir;
	sb.argv = argv;
	sb.envp = envp;
	pthread_mutex_lock(&hide_lock);
	for (size_t i = 0; i < lc.hide.n; i++)
		strvec_push(&hide, lc.hide.v[i]);
	pthread_mutex_unlock(&hide_lock);
	sb.hide = (const char *const *)hide.v;
	sb.nhide = hide.n;
	sb.drop = lc.drop;
	sb.uid = lc.uid;
	sb.gid = lc.gid;
	sb.devnull = devnull;
	sb.out = out;
	sb.st = st[1];
	sb.go = go[0];
	sb.go_out = go[1];
	h->started_ms = now_ms();
	h->started_wall = wall_ms();
	if (sandbox_spawn(&h->pid, &sb) < 0)
		goto out;
	h->child = true;
	close_fd(&st[1]);
	close_fd(&go[0]);
	if (sb.recorded) {
		/* the spawner wrote meta/pid and said go (spawner.c) */
		h->start = sb.start;
		h->started_wall = sb.wall;
		errno = sb.go_err;
	} else {
		h->start = start_time(h->pid);
		buf_reset(&p);
		buf_addf(&p, "%s/pid", h->meta_dir);
		buf_addf(&v, "%d %llu %lld\n", (int)h->pid, h->start,
			 (long long)h->started_wall);
		if (write_file(p.ptr, v.ptr, v.len) < 0)
			goto out;
		errno = send(go[1], "g", 1, MSG_NOSIGNAL) == 1 ? 0 : errno;
	}
	/* EPIPE: the init failed before the go; its report says why */
	if (errno) {
		if (errno != EPIPE) {
			err_set("cannot start the run: %s", strerror(errno));
			goto out;
		}
		gone = 1;
	}
	/* EOF: the shell was exec'd (st[1] is close-on-exec) */
	do
		n = read(st[0], report, sizeof(report));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (n == sizeof(report))
			sandbox_report(&sb, report);
		else
			err_set("cannot run %s", SHELL);
		goto out;
	}
	if (gone) {
		err_set("cannot start the run: its sandbox ended before it "
			"started");
		goto out;
	}
	watch_init(h);
	h->end_fd = go[1];
	go[1] = -1;
	ret = 0;
out:
	if (ret < 0 && h->pid > 0 && !h->reaped) {
		kill(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
		h->reaped = true;
		h->gone = true;
	}
	sandbox_release(&sb);
	strvec_clear(&hide);
	close_fd(&devnull);
	close_fd(&out);
	close_fd(&st[0]);
	close_fd(&st[1]);
	close_fd(&go[0]);
	close_fd(&go[1]);
	buf_release(&p);
	buf_release(&v);
	return ret;
}

static void local_free(struct run_handle *h);

static int
local_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = handle_new(spec);
	struct buf path = BUF_INIT, w = BUF_INIT;
	struct strvec env = STRVEC_INIT, argv = STRVEC_INIT;
	int run_fd = -1, ret = -1;
	size_t i;

	*out = NULL;
	reap_zombies();
	if (!spec->work_dir || !spec->script) {
		ret = err_set("run %lld: no work dir or no script",
			      (long long)spec->run_id);
		goto out;
	}
	if ((ret = runner_spec_stores(spec, &h->store_files,
				      &h->store_env)) < 0 ||
	    (ret = runner_spec_files(spec)) < 0)
		goto out;
	ret = -1;
	if (handle_paths(h, spec) < 0)
		goto out;
	if (build_env(&env, spec, h->run_dir) < 0) {
		ret = ERR_INVALID;
		goto out;
	}
	buf_addf(&path, "%s/env", h->task_dir);
	/* task/env only for a task that stores env: fewer inodes a run */
	if (mkdir(h->run_dir, 0755) < 0 || mkdir(h->task_dir, 0755) < 0 ||
	    (h->store_env.n && mkdir(path.ptr, 0700) < 0) ||
	    mkdir(h->meta_dir, 0700) < 0) {
		err_set("cannot create the run dir in '%s': %s", spec->work_dir,
			strerror(errno));
		goto out;
	}
	if (lc.drop && h->store_env.n &&
	    chown(path.ptr, lc.uid, lc.gid) < 0) {
		err_set("cannot give '%s' to the local user '%s': %s", path.ptr,
			lc.user, strerror(errno));
		goto out;
	}

	run_fd = open(h->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run_fd < 0) {
		err_set("cannot open '%s': %s", h->run_dir, strerror(errno));
		goto out;
	}
	for (i = 0; i < spec->nfiles; i++)
		if (place_file(run_fd, spec->files[i].path,
			       spec->files[i].src) < 0)
			goto out;
	if (lc.drop && give_to_user(h->run_dir) < 0)
		goto out;

	buf_reset(&path);
	buf_addf(&path, "%s/script", h->task_dir);
	if (write_file(path.ptr, spec->script, spec->script_len) < 0 ||
	    chmod(path.ptr, 0644) < 0)
		goto out;
	runner_umask_line(&w, spec, NULL);
	build_wrapper(&w, h);
	buf_reset(&path);
	buf_addf(&path, "%s/wrapper.sh", h->task_dir);
	if (write_file(path.ptr, w.ptr, w.len) < 0 || chmod(path.ptr, 0644) < 0)
		goto out;

	strvec_push(&argv, SHELL);
	strvec_push(&argv, "-e");
	strvec_push(&argv, "../task/wrapper.sh");
	if (spawn(h, argv.v, env.v) < 0)
		goto out;
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h)
		local_free(h);
	if (run_fd >= 0)
		close(run_fd);
	strvec_clear(&env);
	strvec_clear(&argv);
	buf_release(&path);
	buf_release(&w);
	return ret;
}

/* Whether the init has ended (h->gone); a child of ours is not reaped yet. */
static bool
init_gone(struct run_handle *h)
{
	siginfo_t si;

	if (h->gone)
		return true;
	if (h->child) {
		memset(&si, 0, sizeof(si));
		while (waitid(P_PID, (id_t)h->pid, &si,
			      WEXITED | WNOHANG | WNOWAIT) < 0 &&
		       errno == EINTR)
			;
		h->gone = si.si_pid != 0;
	} else {
		h->gone = start_time(h->pid) != h->start;
	}
	return h->gone;
}

/*
 * Whether the init said "e" on the go socket: the run's processes are all
 * gone and meta/exit is written (h->ended); the init itself may still be
 * tearing its namespaces down.  A socket that closes without it (the init
 * was killed, or could not write meta/exit) says nothing: then the init's
 * own end decides, as for an adopted run.
 */
static bool
end_said(struct run_handle *h)
{
	char c;
	ssize_t n;

	if (h->ended)
		return true;
	if (h->end_fd < 0)
		return false;
	do
		n = recv(h->end_fd, &c, 1, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	close_fd(&h->end_fd);
	h->ended = n == 1 && c == 'e';
	return h->ended;
}

/*
 * Read what meta/out has beyond the log, into the log; at most SLICE_MAX
 * unless all.  1 when it read something.
 */
static int
read_output(struct run_handle *h, char *chunk, bool all)
{
	size_t took = 0;
	ssize_t n;

	while (h->out_fd >= 0 && (all || took < SLICE_MAX)) {
		n = pread(h->out_fd, chunk, READ_CHUNK, h->out_off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			run_log_note(&h->log, "cannot read the output any more: "
					      "%s",
				     strerror(errno));
			close_fd(&h->out_fd);
			break;
		}
		if (!n)
			break;
		run_log_output(&h->log, chunk, (size_t)n);
		h->out_off += n;
		save_offset(h);
		took += (size_t)n;
	}
	return took > 0;
}

/*
 * Reap the init when it is ours.  One that said its run is over is not
 * waited for: it is reaped later (reap_zombies) if it has not exited yet.
 */
static void
reap(struct run_handle *h)
{
	pid_t p;

	h->status = -1;
	if (h->child && !h->reaped && h->pid > 0 && h->ended) {
		do
			p = waitpid(h->pid, &h->status, WNOHANG);
		while (p < 0 && errno == EINTR);
		if (p == 0) {
			h->status = -1;
			pthread_mutex_lock(&zombie_lock);
			GROW(zombies, nzombies + 1, zombies_alloc);
			zombies[nzombies++] = h->pid;
			pthread_mutex_unlock(&zombie_lock);
		}
	} else if (h->child && !h->reaped && h->pid > 0) {
		while (waitpid(h->pid, &h->status, 0) < 0 && errno == EINTR)
			;
	}
	h->reaped = true;
}

/* Signal the init, never a process that took its pid after it. */
static void
signal_init(struct run_handle *h, int sig)
{
#ifdef SYS_pidfd_send_signal
	if (h->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, h->pidfd, sig, NULL, 0);
		return;
	}
#endif
	if (!init_gone(h))
		kill(h->pid, sig);
}

/* Stop the run: SIGTERM to the init (it passes it on), SIGKILL later. */
static void
terminate(struct run_handle *h, int64_t *term_at)
{
	*term_at = now_ms();
	signal_init(h, SIGTERM);
}

/* meta/exit: 0 and *code / *sig, or -1 when the init recorded nothing. */
static int
read_exit(struct run_handle *h, int *code, int *sig)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	int ret = -1;

	*code = -1;
	*sig = 0;
	buf_addf(&p, "%s/exit", h->meta_dir);
	if (buf_read_file(&v, p.ptr, 64) == 0) {
		if (sscanf(v.ptr, "exit %d", code) == 1)
			ret = 0;
		else if (sscanf(v.ptr, "signal %d", sig) == 1)
			ret = 0;
	}
	err_clear();
	buf_release(&p);
	buf_release(&v);
	return ret;
}

/* What the local backend gives runner_outputs_collect(). */
struct local_out {
	struct run_handle *h;
	int run_fd;
	int env_fd; /* task_dir/env, opened at the first store env */
	const char *store_dir;
};

/* Store file i (or .display) copied into STORE/i (STORE/display). */
static int
local_out_file(void *arg, size_t i, const char *name, int64_t *total,
	       char **src)
{
	struct local_out *lo = arg;
	struct buf dst = BUF_INIT;
	int ret;

	if (i == lo->h->store_files.n)
		buf_addf(&dst, "%s/display", lo->store_dir);
	else
		buf_addf(&dst, "%s/%zu", lo->store_dir, i);
	ret = runner_collect_file(lo->run_fd, name, dst.ptr, total);
	if (ret == 0)
		*src = buf_detach(&dst, NULL);
	buf_release(&dst);
	return ret;
}

/* The task's shell writes task_dir/env/NAME: read them as safely. */
static int
local_out_env(void *arg, size_t i, const char *name, size_t max,
	      struct buf *val)
{
	struct local_out *lo = arg;
	struct buf path = BUF_INIT;
	int ret;

	(void)i;
	if (lo->env_fd < 0) {
		buf_addf(&path, "%s/env", lo->h->task_dir);
		lo->env_fd = open(path.ptr, O_RDONLY | O_DIRECTORY |
						    O_NOFOLLOW | O_CLOEXEC);
		if (lo->env_fd < 0) {
			ret = err_set("cannot open '%s': %s", path.ptr,
				      strerror(errno));
			buf_release(&path);
			return ret;
		}
		buf_release(&path);
	}
	return runner_collect_read(lo->env_fd, "store env", name, max, val);
}

/* The wrapper's trap leaves env/.done once it recorded the store env. */
static int
local_out_uncaptured(void *arg)
{
	struct local_out *lo = arg;
	struct buf path = BUF_INIT;
	int ret;

	buf_addf(&path, "%s/env/.done", lo->h->task_dir);
	ret = access(path.ptr, F_OK) < 0;
	buf_release(&path);
	return ret;
}

/*
 * After success: copy the store files (and .display) out of the run dir
 * into WORK/store/N (runner_collect_file: no symlink followed, no hard
 * link, the caps) and read the store env into out; false with
 * out->message set when one is missing or refused.  WORK/store, beside
 * run/ and meta/, is in neither of the directories the task's shell
 * writes to.
 */
static bool
collect(struct run_handle *h, struct run_result *out)
{
	struct buf store = BUF_INIT;
	struct local_out lo = { h, -1, -1, NULL };
	struct runner_outputs o = {
		.store_files = &h->store_files,
		.store_env = &h->store_env,
		.log = &h->log,
		.arg = &lo,
		.file = local_out_file,
		.env = local_out_env,
		.uncaptured = local_out_uncaptured,
	};
	bool ok = false, want_display;
	struct stat sb;

	lo.run_fd = open(h->run_dir,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lo.run_fd < 0) {
		snprintf(out->message, sizeof(out->message),
			 "cannot open the run dir '%s': %s", h->run_dir,
			 strerror(errno));
		goto out;
	}
	/* the copies, out of the task's reach (WORK is meta_dir's parent);
	 * a store dir left by an earlier try goes first.  None when there
	 * is nothing to copy (no store file, no .display): one directory
	 * less per run */
	buf_add(&store, h->meta_dir, strlen(h->meta_dir) - strlen("/meta"));
	buf_puts(&store, "/store");
	want_display = runner_display_wanted(&h->store_files) &&
		       fstatat(lo.run_fd, RUN_DISPLAY_FILE, &sb,
			       AT_SYMLINK_NOFOLLOW) == 0;
	if ((h->store_files.n || want_display) && rm_rf(store.ptr) < 0) {
		snprintf(out->message, sizeof(out->message), "%s", err_msg());
		goto out;
	}
	if ((h->store_files.n || want_display) && mkdir(store.ptr, 0700) < 0) {
		snprintf(out->message, sizeof(out->message),
			 "cannot create '%s': %s", store.ptr, strerror(errno));
		goto out;
	}
	lo.store_dir = store.ptr;
	ok = runner_outputs_collect(&o, out) == 0;
out:
	if (lo.run_fd >= 0)
		close(lo.run_fd);
	if (lo.env_fd >= 0)
		close(lo.env_fd);
	buf_release(&store);
	return ok;
}

/*
 * How the shell ended: meta/exit, or, when the init could not write it
 * (a full disk), the init's own exit status, which repeats it (128 + N
 * for signal N).  false when neither says.
 */
static bool
run_status(struct run_handle *h, int *code, int *sig)
{
	int s;

	if (read_exit(h, code, sig) == 0)
		return true;
	if (!h->child || h->status < 0 || !WIFEXITED(h->status))
		return false;
	s = WEXITSTATUS(h->status);
	if (s > 128 && s < 128 + NSIG)
		*sig = s - 128;
	else
		*code = s;
	return true;
}

static int64_t
min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	return a < b ? a : b;
}

static int
local_wait(struct run_handle *h, struct run_result *out)
{
	struct pollfd pfd[3];
	char *chunk = NULL;
	char dur[32];
	int64_t now, t, deadline = 0, term_at = -1, tick = TICK_MIN_MS;
	enum why_stop why = STOP_NONE;
	bool sigkilled = false;
	int n, nfds, i_kill, code, sig, ret = -1;
	uint64_t cnt;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	chunk = xmalloc(READ_CHUNK);
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - h->started_ms)
		deadline = h->started_ms + h->timeout_ms;

	for (;;) {
		if (read_output(h, chunk, false))
			tick = TICK_MIN_MS;
		if (end_said(h) || init_gone(h))
			break;
		now = now_ms();
		if (why == STOP_NONE && deadline && now >= deadline) {
			why = STOP_TIMEOUT;
			duration_format(dur, sizeof(dur), h->timeout_ms);
			run_log_note(&h->log, "timed out after %s", dur);
			terminate(h, &term_at);
			continue;
		}
		if (term_at >= 0 && !sigkilled && now >= term_at + GRACE_MS) {
			duration_format(dur, sizeof(dur), GRACE_MS);
			run_log_note(&h->log, "still running %s after SIGTERM, "
					      "sending SIGKILL",
				     dur);
			signal_init(h, SIGKILL);
			sigkilled = true;
			continue;
		}

		t = tick;
		if (why == STOP_NONE && deadline)
			t = min_wait(t, deadline - now);
		if (term_at >= 0 && !sigkilled)
			t = min_wait(t, term_at + GRACE_MS - now);
		if (t > INT_MAX)
			t = INT_MAX;
		if (t < 0)
			t = 0;

		nfds = 0;
		i_kill = -1;
		if (h->pidfd >= 0) {
			pfd[nfds].fd = h->pidfd;
			pfd[nfds++].events = POLLIN;
		}
		if (h->end_fd >= 0) {
			pfd[nfds].fd = h->end_fd;
			pfd[nfds++].events = POLLIN;
		}
		if (why == STOP_NONE) {
			i_kill = nfds++;
			pfd[i_kill].fd = h->kill_fd;
			pfd[i_kill].events = POLLIN;
		}
		n = poll(pfd, (nfds_t)nfds, (int)t);
		if (n < 0 && errno != EINTR) {
			err_set("run %lld: poll: %s", (long long)h->run_id,
				strerror(errno));
			goto out;
		}
		if (n == 0 && tick < TICK_MAX_MS)
			tick = tick * 2 > TICK_MAX_MS ? TICK_MAX_MS : tick * 2;
		if (n > 0 && i_kill >= 0 && pfd[i_kill].revents) {
			if (read(h->kill_fd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			why = STOP_KILLED;
			run_log_note(&h->log, "killed");
			terminate(h, &term_at);
		}
	}

	/* everything of the run is gone: the rest of its output is final */
	reap(h);
	read_output(h, chunk, true);
	run_log_flush(&h->log);
	if (why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (!run_status(h, &code, &sig)) {
		out->outcome = h->child ? RUN_ERROR : RUN_LOST;
		if (h->child && h->status >= 0 && WIFSIGNALED(h->status))
			snprintf(out->message, sizeof(out->message),
				 "the run's sandbox was killed by signal %d",
				 WTERMSIG(h->status));
		else
			snprintf(out->message, sizeof(out->message),
				 "the run ended without an exit status (its "
				 "processes are gone)");
	} else if (sig) {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message),
			 "killed by signal %d", sig);
	} else if (code == 0) {
		out->outcome = RUN_SUCCESS;
		out->exit_code = 0;
		if (!collect(h, out)) {
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
		}
	} else {
		out->outcome = RUN_ERROR;
		out->exit_code = code;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 code);
	}
	ret = 0;
out:
	free(chunk);
	return ret;
}

/* Safe from any thread: wait() sees the eventfd and stops the run. */
static int
local_kill(struct run_handle *h)
{
	return runner_kill_fd_signal(h->kill_fd, h->run_id);
}

/* Frees the handle; a run still going is ended (SIGKILL to its init). */
static void
local_free(struct run_handle *h)
{
	if (!h)
		return;
	if (h->pid > 0 && !h->gone && !h->ended)
		signal_init(h, SIGKILL);
	reap(h);
	reap_zombies();
	close_fd(&h->pidfd);
	close_fd(&h->end_fd);
	close_fd(&h->out_fd);
	close_fd(&h->off_fd);
	close_fd(&h->kill_fd);
	masker_free(h->log.masker);
	strvec_clear(&h->store_files);
	strvec_clear(&h->store_env);
	free(h->run_dir);
	free(h->task_dir);
	free(h->meta_dir);
	free(h);
}

/*
 * Forget the init of a handle, so that free() leaves the run going (what
 * a crash of scaffold does).  For tests of adopt.
 */
void
local_detach(struct run_handle *h)
{
	h->gone = true;
	h->reaped = true;
}

/*
 * After a restart: find the run's init by meta/pid (checked by its start
 * time, so that a recycled pid is never taken for it) and go on reading
 * its output where the log stopped.  A run that ended meanwhile is
 * collected as if it had just ended.  ERR_NOTFOUND when the init is gone
 * without an exit status: the run is lost; RUNNER_NOT_STARTED when no init
 * was recorded.
 */
static int
local_adopt(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = handle_new(spec);
	struct buf p = BUF_INIT, v = BUF_INIT;
	long long wall = 0;
	int pid = 0, code, sig, ret = -1;
	size_t i;

	*out = NULL;
	for (i = 0; i < spec->nstore_files; i++)
		strvec_push(&h->store_files, spec->store_files[i]);
	for (i = 0; i < spec->nstore_env; i++)
		strvec_push(&h->store_env, spec->store_env[i]);
	if (handle_paths(h, spec) < 0) {
		ret = ERR_NOTFOUND;
		goto out;
	}
	buf_addf(&p, "%s/pid", h->meta_dir);
	if (buf_read_file(&v, p.ptr, 128) < 0 ||
	    sscanf(v.ptr, "%d %llu %lld", &pid, &h->start, &wall) != 3 ||
	    pid <= 1) {
		/* the init runs the shell only after meta/pid is written */
		err_set("run %lld: it never started",
			(long long)spec->run_id);
		ret = RUNNER_NOT_STARTED;
		goto out;
	}
	h->pid = pid;
	h->started_wall = wall;
	h->started_ms = now_ms() - (wall_ms() - wall);
	if (init_gone(h) && read_exit(h, &code, &sig) < 0) {
		buf_reset(&p);
		buf_addf(&p, "%s/never-started", h->meta_dir);
		if (access(p.ptr, F_OK) == 0) {
			/* the daemon died between meta/pid and the go */
			err_set("run %lld: it never started",
				(long long)spec->run_id);
			ret = RUNNER_NOT_STARTED;
		} else {
			err_set("run %lld: its processes are gone and it "
				"recorded no exit status",
				(long long)spec->run_id);
			ret = ERR_NOTFOUND;
		}
		goto out;
	}
	if (open_output(h) < 0)
		goto out;
	h->out_off = load_offset(h->meta_dir);
	if (!h->gone) {
		watch_init(h);
		/* the pid may have been taken since it was checked */
		if (start_time(h->pid) != h->start) {
			close_fd(&h->pidfd);
			h->gone = true;
		}
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h) {
		h->gone = true; /* not ours to end: it is gone, or unknown */
		local_free(h);
	}
	buf_release(&p);
	buf_release(&v);
	return ret;
}

const struct runner_ops runner_local = {
	.name = "local",
	.start = local_start,
	.wait = local_wait,
	.kill = local_kill,
	.free = local_free,
	.adopt = local_adopt,
};
