/*
 * local.c - the "local" runner: the task's script in a process on this
 * machine.
 *
 * Layout of the work dir the caller gives us:
 *
 *	run/			the run dir: the script's cwd,
 *				$SCAFFOLD_RUN_DIR, loaded and stored files
 *	meta/script		the task's script, byte for byte
 *	meta/wrapper.sh		sources the script, then records the exit
 *				status (meta/exit) and store env (meta/env/NAME)
 *	meta/pgid		"PGID STARTTIME": the run's process group
 *
 * The shell runs as "/bin/sh -e ../meta/wrapper.sh" from the run dir, in a
 * process group of its own (setsid), with a clean environment, stdin from
 * /dev/null and stdout and stderr in one pipe.  wait() streams that pipe
 * through the secret masker into the log, notices the shell's exit through
 * a pidfd (or a short waitid() tick) even when a background process keeps
 * the pipe open, enforces the timeout and kill requests (SIGTERM to the
 * group, SIGKILL 2 s later), and kills whatever is left of the group once
 * the shell is gone.  The shell is only reaped after that, so its pid, the
 * group's id, cannot be reused while we signal the group.
 *
 * A local run cannot be re-adopted (its output pipe died with the old
 * scaffold), but it must not run on beside its next attempt: adopt() ends
 * what is left of its process group, found by meta/pgid and checked by the
 * leader's start time so that a recycled pid is never signalled, and
 * reports the run gone.
 *
 * The caller must not ignore SIGCHLD or reap children it did not start
 * (waitpid(-1)); it should ignore SIGPIPE if log_fd may be a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
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
#define POLL_TICK_MS 50	      /* without a pidfd */
#define READ_CHUNK 65536
#define DRAIN_MAX (64 << 20)  /* output read after the shell is gone */
#define ENV_VALUE_MAX (16 << 20)

bool local_force_poll;

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

struct run_handle {
	int64_t run_id;
	char *run_dir;	/* absolute, symlinks resolved */
	char *meta_dir; /* absolute */
	struct strvec store_files;
	struct strvec store_env;
	int64_t timeout_ms;
	int64_t started_ms;

	struct run_log log; /* fd, masker, last byte */

	pid_t pid;
	int pidfd;  /* -1 without */
	int out_fd; /* read end of the output pipe; -1 at EOF */
	int kill_fd; /* eventfd: kill() → wait() */
	bool reaped;
	bool waited;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
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
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '\'');
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
 * (exit, set -e, end of the script) records the status and, on success,
 * the store env.  The end is also run by hand after the script, for
 * scripts that replace the EXIT trap but end normally.
 */
static void
build_wrapper(struct buf *w, const struct run_handle *h)
{
	struct buf exit_path = BUF_INIT, env_path = BUF_INIT;
	size_t i;
	const char *n;

	buf_addf(&exit_path, "%s/exit", h->meta_dir);
	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# its exit status and, on success, the store env.\n"
		    "__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tcommand printf '%s\\n' \"$1\" >");
	sh_quote(w, exit_path.ptr);
	buf_puts(w, "\n\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < h->store_env.n; i++) {
		n = h->store_env.v[i];
		buf_reset(&env_path);
		buf_addf(&env_path, "%s/env/%s", h->meta_dir, n);
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >",
			 n, n);
		sh_quote(w, env_path.ptr);
		buf_puts(w, "; fi\n");
	}
	buf_puts(w, "\tfi\n"
		    "}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". ../meta/script\n"
		    "__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
	buf_release(&exit_path);
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

static void
home_dir(struct buf *out)
{
	struct passwd pw, *res = NULL;
	char *tmp;
	long sz = sysconf(_SC_GETPW_R_SIZE_MAX);

	if (sz < 1024)
		sz = 16384;
	tmp = xmalloc((size_t)sz);
	if (!getpwuid_r(getuid(), &pw, tmp, (size_t)sz, &res) && res &&
	    res->pw_dir && *res->pw_dir)
		buf_puts(out, res->pw_dir);
	else
		buf_puts(out, "/");
	free(tmp);
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

/* Move fd to 3 or above (0-2 are the child's stdio). */
static int
fd_above_stdio(int *fd)
{
	int n;

	if (*fd > 2)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (n < 0)
		return -1;
	close(*fd);
	*fd = n;
	return 0;
}

enum { FAIL_DUP = 1, FAIL_CHDIR, FAIL_EXEC };

/* Close every fd from lo up to hi (inclusive); async-signal-safe. */
static void
close_range_safe(unsigned lo, unsigned hi, int maxfd)
{
	unsigned fd;

	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (!syscall(SYS_close_range, lo, hi, 0))
		return;
#endif
	for (fd = lo; fd <= hi && fd < (unsigned)maxfd; fd++)
		close((int)fd);
}

/*
 * In the child between fork and exec: only async-signal-safe calls.  On
 * failure, reports {stage, errno} through st.
 */
static NORETURN void
child(int in, int out, int st, const char *dir, char *const argv[],
      char *const envp[], int maxfd)
{
	struct sigaction sa;
	sigset_t none;
	int sig, report[2];

	setsid();
	report[0] = FAIL_DUP;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	report[0] = FAIL_CHDIR;
	if (chdir(dir) < 0)
		goto fail;
	close_range_safe(3, (unsigned)st - 1, maxfd);
	close_range_safe((unsigned)st + 1, ~0U, maxfd);
	/* Ignored signals stay ignored across exec; blocked ones blocked. */
	for (sig = 1; sig < NSIG; sig++) {
		if (sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_IGN) {
			sa.sa_handler = SIG_DFL;
			sigaction(sig, &sa, NULL);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	report[0] = FAIL_EXEC;
	execve(SHELL, argv, envp);
fail:
	report[1] = errno;
	if (write(st, report, sizeof(report)) < 0)
		_exit(127);
	_exit(127);
}

/* Fork and exec the wrapper; on success h->pid, out_fd, pidfd are set. */
static int
spawn(struct run_handle *h, char *const argv[], char *const envp[])
{
	int out[2] = { -1, -1 }, st[2] = { -1, -1 }, devnull = -1;
	int report[2], maxfd, ret = -1;
	ssize_t n;
	pid_t pid;
	long lim;

	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0) {
		err_set("cannot open /dev/null: %s", strerror(errno));
		goto out;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
		err_set("cannot create a pipe: %s", strerror(errno));
		goto out;
	}
	if (fd_above_stdio(&devnull) < 0 || fd_above_stdio(&out[1]) < 0 ||
	    fd_above_stdio(&st[1]) < 0) {
		err_set("cannot duplicate a descriptor: %s", strerror(errno));
		goto out;
	}
	lim = sysconf(_SC_OPEN_MAX);
	maxfd = lim > 0 && lim < 65536 ? (int)lim : 65536;

	pid = fork();
	if (pid < 0) {
		err_set("cannot fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(devnull, out[1], st[1], h->run_dir, argv, envp, maxfd);
	h->pid = pid;
	close_fd(&st[1]);
	close_fd(&out[1]);

	/* EOF: exec succeeded (st[1] was close-on-exec). */
	do
		n = read(st[0], report, sizeof(report));
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		h->reaped = true;
		if (n == sizeof(report) && report[0] == FAIL_CHDIR)
			err_set("cannot enter the run dir '%s': %s", h->run_dir,
				strerror(report[1]));
		else if (n == sizeof(report))
			err_set("cannot run %s: %s", SHELL,
				strerror(report[1]));
		else
			err_set("cannot run %s", SHELL);
		goto out;
	}

	h->out_fd = out[0];
	out[0] = -1;
	if (fcntl(h->out_fd, F_SETFL,
		  fcntl(h->out_fd, F_GETFL) | O_NONBLOCK) < 0) {
		err_set("cannot set up the output pipe: %s", strerror(errno));
		goto out;
	}
#ifdef SYS_pidfd_open
	if (!local_force_poll)
		h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	ret = 0;
out:
	close_fd(&devnull);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&st[0]);
	close_fd(&st[1]);
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

/* Record the group for a later scaffold (see adopt); best effort. */
static void
note_group(struct run_handle *h)
{
	struct buf p = BUF_INIT, v = BUF_INIT;

	buf_addf(&p, "%s/pgid", h->meta_dir);
	buf_addf(&v, "%d %llu\n", (int)h->pid, start_time(h->pid));
	if (write_file(p.ptr, v.ptr, v.len) < 0) {
		log_warnx("runner: %s", err_msg());
		err_clear();
	}
	buf_release(&p);
	buf_release(&v);
}

static void local_free(struct run_handle *h);

static int
local_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	struct buf path = BUF_INIT, w = BUF_INIT, e = BUF_INIT;
	struct strvec env = STRVEC_INIT, argv = STRVEC_INIT;
	char *work = NULL;
	int run_fd = -1, ret = -1;
	size_t i;

	*out = NULL;
	h->pid = -1;
	h->pidfd = -1;
	h->out_fd = -1;
	h->kill_fd = -1;
	h->log.fd = spec->log_fd;
	h->log.run_id = spec->run_id;
	h->log.last = '\n';
	h->run_id = spec->run_id;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	h->log.masker = masker_new(spec->secrets, spec->secret_lens,
			       spec->secrets ? spec->nsecrets : 0);

	if (!spec->work_dir || !spec->script) {
		ret = err_set("run %lld: no work dir or no script",
			      (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nstore_env; i++) {
		if (!runner_valid_env_name(spec->store_env[i])) {
			err_set("store env '%s' is not a valid variable name",
				spec->store_env[i] ?
					runner_esc(&e, spec->store_env[i]) : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_env, spec->store_env[i]);
	}
	for (i = 0; i < spec->nstore_files; i++) {
		if (!runner_valid_rel_path(spec->store_files[i])) {
			err_set("store file '%s' is not a path inside the run "
				"dir",
				spec->store_files[i] ?
					runner_esc(&e, spec->store_files[i]) : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_files, spec->store_files[i]);
	}
	for (i = 0; i < spec->nfiles; i++) {
		if (!runner_valid_rel_path(spec->files[i].path) ||
		    !spec->files[i].src) {
			err_set("file '%s' is not a path inside the run dir",
				spec->files[i].path ?
					runner_esc(&e, spec->files[i].path) : "");
			ret = ERR_INVALID;
			goto out;
		}
	}

	work = realpath(spec->work_dir, NULL);
	if (!work) {
		err_set("work dir '%s': %s", spec->work_dir, strerror(errno));
		goto out;
	}
	buf_addf(&path, "%s/run", work);
	h->run_dir = buf_detach(&path, NULL);
	buf_addf(&path, "%s/meta", work);
	h->meta_dir = buf_detach(&path, NULL);
	if (build_env(&env, spec, h->run_dir) < 0) {
		ret = ERR_INVALID;
		goto out;
	}
	if (mkdir(h->run_dir, 0755) < 0 || mkdir(h->meta_dir, 0700) < 0) {
		err_set("cannot create the run dir in '%s': %s", work,
			strerror(errno));
		goto out;
	}
	buf_addf(&path, "%s/env", h->meta_dir);
	if (mkdir(path.ptr, 0700) < 0) {
		err_set("cannot create '%s': %s", path.ptr, strerror(errno));
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

	buf_reset(&path);
	buf_addf(&path, "%s/script", h->meta_dir);
	if (write_file(path.ptr, spec->script, spec->script_len) < 0)
		goto out;
	build_wrapper(&w, h);
	buf_reset(&path);
	buf_addf(&path, "%s/wrapper.sh", h->meta_dir);
	if (write_file(path.ptr, w.ptr, w.len) < 0)
		goto out;

	strvec_push(&argv, SHELL);
	strvec_push(&argv, "-e");
	strvec_push(&argv, "../meta/wrapper.sh");

	h->kill_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->kill_fd < 0) {
		err_set("cannot create an eventfd: %s", strerror(errno));
		goto out;
	}
	h->started_ms = now_ms();
	if (spawn(h, argv.v, env.v) < 0)
		goto out;
	note_group(h);
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h)
		local_free(h);
	if (run_fd >= 0)
		close(run_fd);
	free(work);
	strvec_clear(&env);
	strvec_clear(&argv);
	buf_release(&path);
	buf_release(&w);
	buf_release(&e);
	return ret;
}

/* 1 when the shell has exited (not reaped: WNOWAIT), 0 if not, -1. */
static int
shell_exited(struct run_handle *h, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	while (waitid(P_PID, (id_t)h->pid, si,
		      WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno != EINTR)
			return err_set("run %lld: waitid: %s",
				       (long long)h->run_id, strerror(errno));
	}
	return si->si_pid != 0;
}

/* Read what the pipe has now into the log; 1 at EOF. */
static int
read_output(struct run_handle *h, char *chunk)
{
	ssize_t n;

	n = read(h->out_fd, chunk, READ_CHUNK);
	if (n > 0) {
		run_log_output(&h->log, chunk, (size_t)n);
		return 0;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		log_warn("runner: run %lld: reading the output",
			 (long long)h->run_id);
	close_fd(&h->out_fd);
	return 1;
}

/*
 * The shell is gone: kill what is left of its group (its pid is still
 * reserved by the zombie), take what is left in the pipe, reap it.
 */
static void
finish(struct run_handle *h, char *chunk)
{
	struct buf b = BUF_INIT;
	size_t drained = 0;
	ssize_t n;

	killpg(h->pid, SIGKILL);
	while (h->out_fd >= 0 && drained < DRAIN_MAX) {
		n = read(h->out_fd, chunk, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		run_log_output(&h->log, chunk, (size_t)n);
		drained += (size_t)n;
	}
	close_fd(&h->out_fd);
	masker_flush(h->log.masker, &b);
	run_log_emit(&h->log, &b);
	buf_release(&b);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	h->reaped = true;
}

/* Start stopping the run: SIGTERM to the group now, SIGKILL later. */
static void
terminate(struct run_handle *h, int64_t *term_at)
{
	*term_at = now_ms();
	killpg(h->pid, SIGTERM);
}

/*
 * The run's RUN_DISPLAY_FILE into *out when it wrote one, copied into
 * store_dir/display as a store file is; its absence, or a .display that
 * is refused (a link, over a cap), is no error.  1 when it was collected.
 */
static int
collect_display(struct run_handle *h, int run_fd, const char *store_dir,
		int64_t *total, struct runner_file *out)
{
	struct buf dst = BUF_INIT;
	int ok;

	if (!runner_display_wanted(&h->store_files))
		return 0;
	buf_addf(&dst, "%s/display", store_dir);
	ok = runner_collect_file(run_fd, RUN_DISPLAY_FILE, dst.ptr, total) == 0;
	err_clear();
	if (ok) {
		out->path = xstrdup(RUN_DISPLAY_FILE);
		out->src = buf_detach(&dst, NULL);
	}
	buf_release(&dst);
	return ok;
}

/*
 * After success: copy the store files out of the run dir into
 * WORK/store/N (runner_collect_file: no symlink followed, no hard link,
 * the caps) and read the store env into out; false with out->message set
 * when one is missing or refused.  WORK/store, beside run/ and meta/, is
 * in neither of the directories the task's shell writes to.
 */
static bool
collect(struct run_handle *h, struct run_result *out)
{
	struct buf path = BUF_INIT, val = BUF_INIT, store = BUF_INIT;
	struct runner_file *files;
	struct runner_env *env;
	int64_t total = 0;
	int run_fd = -1, env_fd = -1;
	size_t i;
	bool ok = false;

	files = xcalloc(h->store_files.n + 1, sizeof(*files));
	env = xcalloc(h->store_env.n + 1, sizeof(*env));
	run_fd = open(h->run_dir,
		      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (run_fd < 0) {
		snprintf(out->message, sizeof(out->message),
			 "cannot open the run dir '%s': %s", h->run_dir,
			 strerror(errno));
		goto out;
	}
	/* the copies, out of the task's reach (WORK is meta_dir's parent);
	 * a store dir left by an earlier try goes first */
	buf_add(&store, h->meta_dir, strlen(h->meta_dir) - strlen("/meta"));
	buf_puts(&store, "/store");
	if (rm_rf(store.ptr) < 0) {
		snprintf(out->message, sizeof(out->message), "%s", err_msg());
		goto out;
	}
	if (mkdir(store.ptr, 0700) < 0) {
		snprintf(out->message, sizeof(out->message),
			 "cannot create '%s': %s", store.ptr, strerror(errno));
		goto out;
	}
	for (i = 0; i < h->store_files.n; i++) {
		const char *name = h->store_files.v[i];

		buf_reset(&path);
		buf_addf(&path, "%s/%zu", store.ptr, i);
		if (runner_collect_file(run_fd, name, path.ptr, &total) < 0) {
			snprintf(out->message, sizeof(out->message), "%s",
				 err_msg());
			goto out;
		}
		files[i].path = xstrdup(name);
		files[i].src = buf_detach(&path, NULL);
	}
	buf_reset(&path);
	buf_addf(&path, "%s/env", h->meta_dir);
	if (h->store_env.n &&
	    (env_fd = open(path.ptr, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC)) < 0) {
		snprintf(out->message, sizeof(out->message),
			 "cannot open '%s': %s", path.ptr, strerror(errno));
		goto out;
	}
	for (i = 0; i < h->store_env.n; i++) {
		const char *name = h->store_env.v[i];
		int r;

		buf_reset(&val);
		/* the task's shell writes these: read them as safely */
		r = runner_collect_read(env_fd, "store env", name,
					ENV_VALUE_MAX, &val);
		if (r == ERR_NOTFOUND) {
			snprintf(out->message, sizeof(out->message),
				 "store env '%s' is not set", name);
			buf_reset(&path);
			buf_addf(&path, "%s/exit", h->meta_dir);
			if (access(path.ptr, F_OK) < 0)
				run_log_note(&h->log, "store env was not captured: did "
					    "the script replace the EXIT trap "
					    "and exit, or exec?");
			goto out;
		}
		if (r == ERR_TOOBIG) {
			snprintf(out->message, sizeof(out->message),
				 "store env '%s' is larger than 16M", name);
			goto out;
		}
		if (r < 0) {
			snprintf(out->message, sizeof(out->message), "%s",
				 err_msg());
			goto out;
		}
		env[i].name = xstrdup(name);
		env[i].len = val.len;
		env[i].value = buf_detach(&val, NULL);
	}
	ok = true;
out:
	if (ok) {
		out->files = files;
		out->nfiles = h->store_files.n +
			      collect_display(h, run_fd, store.ptr, &total,
					      &files[h->store_files.n]);
		out->env = env;
		out->nenv = h->store_env.n;
	} else {
		for (i = 0; i < h->store_files.n; i++) {
			free(files[i].path);
			free(files[i].src);
		}
		for (i = 0; i < h->store_env.n; i++) {
			free(env[i].name);
			free(env[i].value);
		}
		free(files);
		free(env);
	}
	if (run_fd >= 0)
		close(run_fd);
	if (env_fd >= 0)
		close(env_fd);
	buf_release(&path);
	buf_release(&val);
	buf_release(&store);
	return ok;
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
	siginfo_t si;
	char *chunk = NULL;
	char dur[32];
	int64_t now, t, deadline = 0, term_at = -1;
	enum why_stop why = STOP_NONE;
	bool sigkilled = false;
	int n, nfds, i_out, i_pid, i_kill, r, ret = -1;
	uint64_t cnt;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited || h->reaped)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	chunk = xmalloc(READ_CHUNK);
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - h->started_ms)
		deadline = h->started_ms + h->timeout_ms;

	for (;;) {
		r = shell_exited(h, &si);
		if (r < 0)
			goto out;
		if (r)
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
			run_log_note(&h->log, "still running %s after SIGTERM, sending "
				    "SIGKILL",
				 dur);
			killpg(h->pid, SIGKILL);
			sigkilled = true;
			continue;
		}

		t = -1;
		if (why == STOP_NONE && deadline)
			t = deadline - now;
		if (term_at >= 0 && !sigkilled)
			t = min_wait(t, term_at + GRACE_MS - now);
		if (h->pidfd < 0)
			t = min_wait(t, POLL_TICK_MS);
		if (t > INT_MAX)
			t = INT_MAX;

		nfds = 0;
		i_out = i_pid = i_kill = -1;
		if (h->out_fd >= 0) {
			i_out = nfds++;
			pfd[i_out].fd = h->out_fd;
			pfd[i_out].events = POLLIN;
		}
		if (h->pidfd >= 0) {
			i_pid = nfds++;
			pfd[i_pid].fd = h->pidfd;
			pfd[i_pid].events = POLLIN;
		}
		if (why == STOP_NONE) {
			i_kill = nfds++;
			pfd[i_kill].fd = h->kill_fd;
			pfd[i_kill].events = POLLIN;
		}
		n = poll(pfd, (nfds_t)nfds, (int)t);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err_set("run %lld: poll: %s", (long long)h->run_id,
				strerror(errno));
			goto out;
		}
		if (i_kill >= 0 && pfd[i_kill].revents) {
			if (read(h->kill_fd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			why = STOP_KILLED;
			run_log_note(&h->log, "killed");
			terminate(h, &term_at);
		}
		if (i_out >= 0 && pfd[i_out].revents)
			read_output(h, chunk);
	}

	finish(h, chunk);
	if (why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (si.si_code == CLD_EXITED && si.si_status == 0) {
		out->outcome = RUN_SUCCESS;
		out->exit_code = 0;
		if (!collect(h, out)) {
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
		}
	} else if (si.si_code == CLD_EXITED) {
		out->outcome = RUN_ERROR;
		out->exit_code = si.si_status;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 si.si_status);
	} else {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message),
			 "killed by signal %d", si.si_status);
	}
	ret = 0;
out:
	if (ret < 0 && !h->reaped)
		finish(h, chunk);
	free(chunk);
	return ret;
}

/* Safe from any thread: wait() sees the eventfd and stops the run. */
static int
local_kill(struct run_handle *h)
{
	uint64_t one = 1;

	if (write(h->kill_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return err_set("run %lld: cannot signal the waiter: %s",
			       (long long)h->run_id, strerror(errno));
	return 0;
}

static void
local_free(struct run_handle *h)
{
	if (!h)
		return;
	if (h->pid > 0 && !h->reaped) {
		killpg(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	close_fd(&h->pidfd);
	close_fd(&h->out_fd);
	close_fd(&h->kill_fd);
	masker_free(h->log.masker);
	strvec_clear(&h->store_files);
	strvec_clear(&h->store_env);
	free(h->run_dir);
	free(h->meta_dir);
	free(h);
}

/*
 * After a restart: end what is left of the run's process group (SIGTERM,
 * SIGKILL 2 s later) and report the run gone: ERR_NOTFOUND.
 */
static int
local_adopt(struct run_handle **out, const struct run_spec *spec)
{
	struct buf p = BUF_INIT, v = BUF_INIT, note = BUF_INIT;
	unsigned long long t = 0;
	int64_t until;
	int pgid = 0;

	*out = NULL;
	if (spec->work_dir)
		buf_addf(&p, "%s/meta/pgid", spec->work_dir);
	if (!p.len || buf_read_file(&v, p.ptr, 64) < 0 ||
	    sscanf(v.ptr, "%d %llu", &pgid, &t) != 2 || pgid <= 1 || !t ||
	    start_time(pgid) != t) {
		/* the leader is gone: its group may live on, but then its
		 * id could be anyone's by now; nothing is signalled */
		pgid = 0;
	}
	if (pgid && kill(-pgid, SIGTERM) == 0) {
		buf_addf(&note, "scaffold: the run's processes (group %d) "
				"outlived the scaffold that started them; "
				"ending them\n",
			 pgid);
		if (spec->log_fd >= 0 &&
		    runner_write_all(spec->log_fd, note.ptr, note.len) < 0)
			err_clear();
		until = now_ms() + GRACE_MS;
		while (kill(-pgid, 0) == 0 && now_ms() < until)
			usleep(20000);
		kill(-pgid, SIGKILL);
	}
	buf_release(&p);
	buf_release(&v);
	buf_release(&note);
	err_set("run %lld: its process is gone", (long long)spec->run_id);
	return ERR_NOTFOUND;
}

const struct runner_ops runner_local = {
	.name = "local",
	.start = local_start,
	.wait = local_wait,
	.kill = local_kill,
	.free = local_free,
	.adopt = local_adopt,
};
