/*
 * sandbox.c - the namespaces a local run lives in.
 *
 * A local run is a process tree that must neither see the daemon nor
 * outlive its run, and must outlive the daemon itself (a SIGKILLed
 * scaffold's successor adopts it).  The kernel gives all three: the
 * daemon clones a process straight into new PID, mount, IPC and UTS
 * namespaces (and a user namespace when scaffold is not root); that
 * process, the run's "init", is pid 1 there and the leader of a session
 * of its own, so nothing of the daemon's death reaches it.  It:
 *
 *	- makes every mount read-only and private, then mounts an empty
 *	  tmpfs over the data dir and every other path the daemon hides
 *	  (the config, secret files), /dev/null over hidden files, fresh
 *	  tmpfs on /tmp, /var/tmp and /dev/shm, and a /proc of the new PID
 *	  namespace (no /proc/$PPID/cmdline to read a config path from);
 *	- binds the run dir and the task dir (wrapper, script, store env)
 *	  back, writable, at their own paths: the only writable places
 *	  besides its own /tmp;
 *	- waits for the go (the spawner or the daemon has recorded the
 *	  init's pid by then, so that a successor can always find it), then
 *	  forks the shell,
 *	  which drops to the task user, sets no_new_privs, closes every
 *	  descriptor but its stdio and execs /bin/sh;
 *	- reaps whatever is reparented to it, and when the shell ends
 *	  kills and reaps everything left in the namespace (setsid and
 *	  double forks included), records the shell's status in meta/exit
 *	  (out of the task's reach), tells the daemon so on the go socket
 *	  ("e"), and exits.  The daemon goes on at the "e" rather than at
 *	  the init's end: tearing the namespaces down (the mounts wait for
 *	  an RCU grace period) takes milliseconds it need not wait for.
 *
 * SIGTERM (and SIGINT, SIGHUP) sent to the init are passed on to every
 * process of the namespace; SIGKILL to the init ends them all.
 *
 * Between clone and exec only async-signal-safe calls are made: the
 * daemon is multithreaded.  Everything is prepared in struct sandbox
 * beforehand.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-int.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
struct sb_mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

#define SHELL "/bin/sh"

/* Where a setup failure happened: the init reports {stage, errno, index}. */
enum {
	SB_OK,
	SB_USERNS,
	SB_PRIVATE,
	SB_OPEN,
	SB_READONLY,
	SB_TMP,
	SB_HIDE,
	SB_BIND,
	SB_PROC,
	SB_FORK,
	SB_DUP,
	SB_USER,
	SB_NNP,
	SB_CHDIR,
	SB_EXEC,
};

static const char *const sb_stage[] = {
	[SB_OK] = "",
	[SB_USERNS] = "cannot map the user namespace",
	[SB_PRIVATE] = "cannot make the mounts private",
	[SB_OPEN] = "cannot open the run's directories",
	[SB_READONLY] = "cannot make the file system read-only",
	[SB_TMP] = "cannot mount a tmpfs",
	[SB_HIDE] = "cannot hide",
	[SB_BIND] = "cannot bind",
	[SB_PROC] = "cannot mount /proc",
	[SB_FORK] = "cannot fork the shell",
	[SB_DUP] = "cannot set up the shell's output",
	[SB_USER] = "cannot switch to the task user",
	[SB_NNP] = "cannot set no_new_privs",
	[SB_CHDIR] = "cannot enter the run dir",
	[SB_EXEC] = "cannot run " SHELL,
};

/* Fixed descriptors of the init, whatever they were in the daemon. */
enum { FD_NULL = 3, FD_OUT, FD_ST, FD_GO, FD_META, FD_RUN, FD_TASK, FD_LAST };

static const char *const tmp_dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };
#define HIDDEN_FILE "/tmp/.scaffold-hidden"

/* ---- the init, in the namespaces (async-signal-safe only) ------------ */

static NORETURN void
fail(int stage, int index)
{
	int report[3];

	report[0] = stage;
	report[1] = errno;
	report[2] = index;
	if (write(FD_ST, report, sizeof(report)) < 0)
		_exit(126);
	_exit(126);
}

static int
write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok ? 0 : -1;
}

/* "N" for a small unsigned number. */
static char *
fmt_uint(char *end, unsigned long v)
{
	*--end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

/* uid_map/gid_map "ID ID 1": the daemon's ids are themselves inside. */
static void
map_ids(const struct sandbox *sb)
{
	char line[64], num[24], *n;
	size_t l;

	if (write_str("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
		fail(SB_USERNS, -1);
	for (int i = 0; i < 2; i++) {
		n = fmt_uint(num + sizeof(num),
			     i ? (unsigned long)sb->outer_gid :
				 (unsigned long)sb->outer_uid);
		l = strlen(n);
		memcpy(line, n, l);
		line[l] = ' ';
		memcpy(line + l + 1, n, l);
		memcpy(line + 2 * l + 1, " 1", 3);
		if (write_str(i ? "/proc/self/gid_map" : "/proc/self/uid_map",
			      line) < 0)
			fail(SB_USERNS, -1);
	}
}

/* mkdir -p, for a mount point on a tmpfs of ours. */
static void
mkdir_all(char *path)
{
	char *p;

	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

/* fd at number to, close-on-exec; fd itself closed. */
static void
keep_at(int fd, int to, int stage)
{
	if (fd < 0)
		fail(stage, -1);
	if (fd == to) {
		if (fcntl(to, F_SETFD, FD_CLOEXEC) < 0)
			fail(stage, -1);
		return;
	}
	if (dup3(fd, to, O_CLOEXEC) < 0)
		fail(stage, -1);
	close(fd);
}

/* What the init passes on to every process of the run. */
static const int forwarded[] = { SIGTERM, SIGINT, SIGHUP };

static void
forward(int sig)
{
	kill(-1, sig); /* every process of the namespace but the init */
}

/* The shell, forked by the init. */
static NORETURN void
shell(const struct sandbox *sb)
{
	struct sigaction sa;
	sigset_t none;

	if (dup2(FD_NULL, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_OUT, 2) < 0)
		fail(SB_DUP, -1);
	if (sb->drop) {
		/* raw system calls: glibc's would signal the daemon's
		 * threads, which are not in this process */
		if (syscall(SYS_setgroups, 1, &sb->gid) < 0 ||
		    syscall(SYS_setresgid, sb->gid, sb->gid, sb->gid) < 0 ||
		    syscall(SYS_setresuid, sb->uid, sb->uid, sb->uid) < 0)
			fail(SB_USER, -1);
	}
	if (!sb->drop && geteuid() == 0) {
		/* root with no task user: root without capabilities, so that
		 * it cannot undo the mounts that hide the daemon */
		for (int c = 0; c < 64; c++)
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(SB_NNP, -1);
	if (chdir(sb->run_dir) < 0)
		fail(SB_CHDIR, -1);
	/* the init's handlers: forward() on these three, SIG_DFL on every
	 * other (init() made them so); one system call each, not 2 x 64 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t k = 0; k < ARRAY_SIZE(forwarded); k++)
		sigaction(forwarded[k], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* FD_ST stays open until the exec succeeds (close-on-exec) */
	runner_close_range(FD_NULL, FD_ST - 1, sb->maxfd);
	runner_close_range(FD_ST + 1, ~0U, sb->maxfd);
	execve(SHELL, sb->argv, sb->envp);
	fail(SB_EXEC, -1);
}

/* Record the shell's status where the task cannot write: meta/exit; 0
 * when it is there. */
static int
record_exit(int status)
{
	char buf[64], num[24], *n, *p = buf;
	const char *what = WIFEXITED(status) ? "exit " : "signal ";
	int fd, ret = -1;

	n = fmt_uint(num + sizeof(num),
		     (unsigned long)(WIFEXITED(status) ? WEXITSTATUS(status) :
							 WTERMSIG(status)));
	memcpy(p, what, strlen(what));
	p += strlen(what);
	memcpy(p, n, strlen(n));
	p += strlen(n);
	*p++ = '\n';
	fd = openat(FD_META, "exit.tmp",
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, buf, (size_t)(p - buf)) == p - buf &&
	    renameat(FD_META, "exit.tmp", FD_META, "exit") == 0)
		ret = 0;
	close(fd);
	return ret;
}

static NORETURN void
init(struct sandbox *sb)
{
	struct sb_mount_attr ro = { MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0,
				    0, 0 };
	struct sigaction sa;
	char src[64], num[24], *n;
	const char *bind[2];
	sigset_t none;
	int fds[4], i, fd, status;
	size_t k;
	struct stat st;
	pid_t sh, p;
	char go = 0;

	setsid();
	/* the daemon's command line and environment, which this clone of
	 * it shows in /proc/1, go */
	if (sb->args_end > sb->args_start)
		memset(sb->args_start, 0, (size_t)(sb->args_end - sb->args_start));
	if (sb->args_end - sb->args_start > 12)
		memcpy(sb->args_start, "scaffold-run", 12);
	if (sb->env_end > sb->env_start)
		memset(sb->env_start, 0, (size_t)(sb->env_end - sb->env_start));
	/* the descriptors this process keeps, at fixed numbers; every
	 * other one of the daemon is closed */
	fds[0] = fcntl(sb->devnull, F_DUPFD, FD_LAST + 16);
	fds[1] = fcntl(sb->out, F_DUPFD, FD_LAST + 16);
	fds[2] = fcntl(sb->st, F_DUPFD, FD_LAST + 16);
	fds[3] = fcntl(sb->go, F_DUPFD, FD_LAST + 16);
	if (fds[2] < 0 || dup3(fds[2], FD_ST, O_CLOEXEC) < 0)
		_exit(126);
	keep_at(fds[0], FD_NULL, SB_DUP);
	keep_at(fds[1], FD_OUT, SB_DUP);
	keep_at(fds[3], FD_GO, SB_DUP);
	runner_close_range(FD_GO + 1, ~0U, sb->maxfd);
	if (dup2(FD_NULL, 0) < 0 || dup2(FD_NULL, 1) < 0 ||
	    dup2(FD_NULL, 2) < 0)
		fail(SB_DUP, -1);

	/* the daemon's signal handlers and mask are not ours; the
	 * spawner's are known (spawner_main): two to reset, not 2 x 64
	 * system calls to find them */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	if (sb->spawner) {
		sigaction(SIGQUIT, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
	} else {
		for (i = 1; i < NSIG; i++) {
			if (sigaction(i, NULL, &sa) == 0 &&
			    sa.sa_handler != SIG_DFL) {
				sa.sa_handler = SIG_DFL;
				sa.sa_flags = 0;
				sigaction(i, &sa, NULL);
			}
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	for (k = 0; k < ARRAY_SIZE(forwarded); k++)
		sigaction(forwarded[k], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (sb->userns)
		map_ids(sb);
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		fail(SB_PRIVATE, -1);
	/* the meta dir, a mount of its own: once everything is read-only
	 * and the data dir covered, the init makes it writable again through
	 * its descriptor and records the exit status there, where the task
	 * cannot see it */
	if (mount(sb->meta_dir, sb->meta_dir, "none", MS_BIND, NULL) < 0)
		fail(SB_OPEN, -1);
	keep_at(open(sb->meta_dir, O_PATH | O_DIRECTORY), FD_META, SB_OPEN);
	keep_at(open(sb->run_dir, O_PATH | O_DIRECTORY), FD_RUN, SB_OPEN);
	keep_at(open(sb->task_dir, O_PATH | O_DIRECTORY), FD_TASK, SB_OPEN);

	if (syscall(SYS_mount_setattr, -1, "/", AT_RECURSIVE, &ro,
		    sizeof(ro)) < 0) {
		/* valgrind does not know mount_setattr (5.12): under it, the
		 * root alone goes read-only; anywhere else, no sandbox */
		if (errno != ENOSYS || !sb->valgrind ||
		    mount("none", "/", "none",
			  MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
			fail(SB_READONLY, -1);
	}
	for (k = 0; k < ARRAY_SIZE(tmp_dirs); k++) {
		if (stat(tmp_dirs[k], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (mount("tmpfs", tmp_dirs[k], "tmpfs", MS_NOSUID | MS_NODEV,
			  "mode=1777") < 0)
			fail(SB_TMP, (int)k);
	}
	/* a hidden file becomes an empty one that no one may open: made on
	 * our /tmp, bound over each, then unlinked from /tmp */
	fd = open(HIDDEN_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0 || fchmod(fd, 0) < 0)
		fail(SB_HIDE, -1);
	close(fd);
	for (k = 0; k < sb->nhide; k++) {
		if (stat(sb->hide[k], &st) < 0)
			continue; /* gone, or under a path hidden already */
		if (S_ISDIR(st.st_mode) ?
			    mount("tmpfs", sb->hide[k], "tmpfs",
				  MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "size=64k,mode=0755") < 0 :
			    mount(HIDDEN_FILE, sb->hide[k], "none",
				  MS_BIND | MS_RDONLY, NULL) < 0)
			fail(SB_HIDE, (int)k);
	}
	unlink(HIDDEN_FILE);
	/* the run and task dirs, back at their paths, writable */
	bind[0] = sb->run_dir;
	bind[1] = sb->task_dir;
	for (i = 0; i < 2; i++) {
		n = fmt_uint(num + sizeof(num), (unsigned long)(FD_RUN + i));
		memcpy(src, "/proc/self/fd/", 14);
		memcpy(src + 14, n, strlen(n) + 1);
		mkdir_all(sb->bind_buf[i]);
		if (mount(src, bind[i], "none", MS_BIND, NULL) < 0 ||
		    mount("none", bind[i], "none",
			  MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV,
			  NULL) < 0)
			fail(SB_BIND, i);
	}
	for (k = 0; k < sb->nhide; k++) {
		if (stat(sb->hide[k], &st) == 0 && S_ISDIR(st.st_mode))
			mount("none", sb->hide[k], "none",
			      MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
				      MS_NODEV | MS_NOEXEC,
			      NULL);
	}
	close(FD_RUN);
	close(FD_TASK);
	n = fmt_uint(num + sizeof(num), (unsigned long)FD_META);
	memcpy(src, "/proc/self/fd/", 14);
	memcpy(src + 14, n, strlen(n) + 1);
	if (mount("none", src, "none", MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		fail(SB_BIND, 2);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "hidepid=invisible") < 0)
		fail(SB_PROC, -1);

	/* the daemon has recorded our pid: go (EOF: it died, run nothing) */
	while (read(FD_GO, &go, 1) < 0 && errno == EINTR)
		;
	if (go != 'g') {
		/* for the daemon's successor: this run never started */
		close(openat(FD_META, "never-started",
			     O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
		_exit(125);
	}
	/* FD_GO stays open (close-on-exec: not the shell's): the end is
	 * told on it */

	/* vfork(): no copy of the daemon's page tables (this process is a
	 * copy of the daemon) and, unlike fork(), no lock of glibc's taken,
	 * which another thread of the daemon may have held when it was
	 * cloned.  The child only makes system calls until it execs. */
	sh = vfork();
	if (sh < 0)
		fail(SB_FORK, -1);
	if (sh == 0)
		shell(sb);
	close(FD_ST);
	close(FD_NULL);
	close(FD_OUT);
	for (;;) {
		p = waitpid(-1, &status, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			_exit(124); /* cannot happen: the shell is ours */
		if (p == sh)
			break;
	}
	/* what is left of the run ends now, setsid and double forks
	 * included (all of them are ours to reap: pid 1 of the namespace),
	 * so that the run is over before it is said to be */
	kill(-1, SIGKILL);
	for (;;) {
		p = waitpid(-1, NULL, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
	}
	/* the daemon can go on now: the namespaces' teardown below (the
	 * mounts, an RCU grace period) is no longer its wait */
	if (record_exit(status) == 0)
		send(FD_GO, "e", 1, MSG_NOSIGNAL);
	/* the status again, for a daemon that is still our parent, in case
	 * meta/exit could not be written (a full disk) */
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) :
				  128 + WTERMSIG(status));
}

/* ---- the daemon's side ---------------------------------------------- */

/*
 * Where this process keeps its command line and environment (fields 48 to
 * 51 of /proc/self/stat), for the init to wipe in its copy.
 */
static void
proc_areas(struct sandbox *sb)
{
	struct buf b = BUF_INIT;
	unsigned long long v[4] = { 0, 0, 0, 0 };
	const char *f;
	int i;

	if (buf_read_file(&b, "/proc/self/stat", 4096) == 0 &&
	    (f = strrchr(b.ptr, ')'))) {
		/* fields after the name: state is 3, arg_start 48 */
		for (i = 2; i < 48 && f; i++)
			f = strchr(f + 1, ' ');
		for (i = 0; i < 4 && f; i++) {
			v[i] = strtoull(f + 1, NULL, 10);
			f = strchr(f + 1, ' ');
		}
	}
	err_clear();
	buf_release(&b);
	sb->args_start = (char *)(uintptr_t)v[0];
	sb->args_end = (char *)(uintptr_t)v[1];
	sb->env_start = (char *)(uintptr_t)v[2];
	sb->env_end = (char *)(uintptr_t)v[3];
	/* under valgrind those are the real process's, not the client's */
	sb->valgrind = RUNNING_ON_VALGRIND;
	if (sb->valgrind)
		v[0] = v[2] = 0;
	if (!v[0] || v[1] < v[0] || v[1] - v[0] > (1 << 20))
		sb->args_start = sb->args_end = NULL;
	if (!v[2] || v[3] < v[2] || v[3] - v[2] > (1 << 20))
		sb->env_start = sb->env_end = NULL;
}

/* What does not change while this process lives, read once. */
static pthread_once_t areas_once = PTHREAD_ONCE_INIT;
static struct sandbox areas;

static void
areas_init(void)
{
	long lim = sysconf(_SC_OPEN_MAX);

	areas.maxfd = lim > 0 && lim < 65536 ? (int)lim : 65536;
	proc_areas(&areas);
}

/* The daemon's part of a spawn: what the init needs, computed here. */
void
sandbox_prepare(struct sandbox *sb)
{
	sb->outer_uid = geteuid();
	sb->outer_gid = getegid();
	sb->userns = sb->outer_uid != 0;
	pthread_once(&areas_once, areas_init);
	sb->maxfd = areas.maxfd;
	sb->args_start = areas.args_start;
	sb->args_end = areas.args_end;
	sb->env_start = areas.env_start;
	sb->env_end = areas.env_end;
	sb->valgrind = areas.valgrind;
	for (int i = 0; i < 2; i++) {
		free(sb->bind_buf[i]);
		sb->bind_buf[i] = xstrdup(i ? sb->task_dir : sb->run_dir);
	}
}

/*
 * The clone itself, for a prepared sb: -errno, or the init's pid (0 in
 * no process).  Async-signal-safe: the spawner (spawner.c) calls it.
 */
pid_t
sandbox_clone(const struct sandbox *sb, unsigned long extra)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS | SIGCHLD | extra;
	pid_t pid;

	if (sb->userns)
		flags |= CLONE_NEWUSER;
	pid = (pid_t)syscall(SYS_clone, flags, NULL, NULL, NULL, 0);
	if (pid < 0)
		return -errno;
	if (pid == 0)
		init((struct sandbox *)sb);
	return pid;
}

static int
init_entry(void *arg)
{
	init(arg);
}

pid_t
sandbox_clone_vm(struct sandbox *sb, unsigned long extra, void *stack_top,
		 int *pidfd)
{
	unsigned long flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC |
			      CLONE_NEWUTS | CLONE_VM | CLONE_PIDFD | SIGCHLD |
			      extra;
	pid_t pid;

	if (sb->userns)
		flags |= CLONE_NEWUSER;
	*pidfd = -1;
	pid = clone(init_entry, (void *)((uintptr_t)stack_top & ~(uintptr_t)15),
		    (int)flags, sb, pidfd);
	return pid < 0 ? -errno : pid;
}

int
sandbox_spawn(pid_t *out, struct sandbox *sb)
{
	pid_t pid;

	*out = -1;
	sandbox_prepare(sb);
	if (!spawner_enabled())
		pid = sandbox_clone(sb, 0);
	else if (spawner_spawn(&pid, sb) < 0) {
		if (pid > 0)
			*out = pid; /* cloned, but not let go: to be ended */
		return -1;
	}
	if (pid < 0)
		return err_set("cannot create the sandbox's namespaces: %s",
			       strerror(-pid));
	*out = pid;
	return 0;
}

void
sandbox_release(struct sandbox *sb)
{
	free(sb->bind_buf[0]);
	free(sb->bind_buf[1]);
	sb->bind_buf[0] = sb->bind_buf[1] = NULL;
}

int
sandbox_report(const struct sandbox *sb, const int report[3])
{
	int stage = report[0], err = report[1], idx = report[2];
	const char *what = stage > 0 && stage < (int)ARRAY_SIZE(sb_stage) ?
				   sb_stage[stage] :
				   "failed";
	const char *path = NULL;

	if (stage == SB_HIDE && idx >= 0 && (size_t)idx < sb->nhide)
		path = sb->hide[idx];
	else if (stage == SB_TMP && idx >= 0 &&
		 (size_t)idx < ARRAY_SIZE(tmp_dirs))
		path = tmp_dirs[idx];
	else if (stage == SB_BIND)
		path = idx == 2 ? sb->meta_dir : idx ? sb->task_dir : sb->run_dir;
	else if (stage == SB_CHDIR)
		path = sb->run_dir;
	if (stage == SB_EXEC)
		return err_set("%s: %s", what, strerror(err));
	if (path)
		return err_set("sandbox: %s '%s': %s", what, path,
			       strerror(err));
	return err_set("sandbox: %s: %s", what, strerror(err));
}
