/*
 * spawner.c - the process that clones the local runs' inits.
 *
 * A clone of the daemon copies its page tables and write-protects its
 * whole heap: every later write of the daemon to a page faults once, with
 * a TLB flush while its other threads run (bench/README.md, "Engine").
 * So the daemon forks once, early (runner_local_configure, on the main
 * thread of apply, run and serve, before the heap grows), a process that
 * does the clones for it: the spawner.  It gets each request on a unix
 * socket (the strings of struct sandbox, and the init's four descriptors
 * by SCM_RIGHTS), clones the init with CLONE_PARENT, and answers its pid.
 *
 *	- The init is the daemon's child, as without the spawner: the
 *	  daemon reaps it and waits for it through a pidfd; a successor
 *	  adopts it the same way.  The spawner has no children and no
 *	  zombies.
 *	- The spawner writes the init's meta/pid (pid, start time, wall
 *	  clock) and says its go right after the clone, with the daemon's
 *	  end of the go socket (a fifth descriptor): the daemon's thread
 *	  does not have to wake up in between for the shell to start.
 *	  The pid is on disk before the go, as when the daemon writes it;
 *	  a spawner killed before the go leaves an init that reads EOF and
 *	  runs nothing.
 *	- The spawner keeps only its socket (at fd 3) and /dev/null on 0, 1
 *	  and 2; the init closes everything but its own four descriptors as
 *	  before, so nothing of the daemon reaches a run.
 *	- It dies with the daemon (PR_SET_PDEATHSIG, SIGKILL, when the main
 *	  thread forked it; and at EOF on its socket).  The daemon restarts
 *	  a dead spawner at the next run (from the run's thread); when that
 *	  fails the run fails with "cannot start the spawner: ...".
 *	- It is a fork of a process that may have threads: it makes only
 *	  system calls (no malloc, no stdio), like the init itself.
 *
 * With SCAFFOLD_NO_SPAWNER=1 the daemon clones the inits itself, as
 * before.  Under valgrind the spawner runs too (valgrind follows the fork
 * and its clones; the init's mount_setattr fallback is decided by the
 * daemon, sb->valgrind).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-int.h"

#define SP_MAGIC 0x53504e31u /* "SPN1" */
#define SP_MAX (64u << 20)   /* the largest request: argv and env */
#define SP_FD 3		     /* the socket, in the spawner */

bool spawner_disable;

/* The fixed part of a request; the strings follow, NUL-terminated. */
struct sp_req {
	uint32_t magic;
	uint32_t len; /* bytes of strings */
	uint32_t nargv, nenv, nhide;
	uint32_t drop, userns, valgrind;
	uint32_t uid, gid, outer_uid, outer_gid;
	int32_t maxfd;
	uint64_t args_start, args_end, env_start, env_end;
};

struct sp_reply {
	int32_t pid;	 /* or -errno */
	int32_t pid_err; /* errno: meta/pid could not be written (no go) */
	int32_t go_err;	 /* errno of the go (EPIPE: the init failed) */
	int32_t pad;
	uint64_t start; /* what meta/pid says: the init's start time */
	int64_t wall;	/* and the wall clock (ms) */
};

#define SP_NFD 5 /* devnull, out, st, go and the daemon's end of go */

static pthread_mutex_t sp_lock = PTHREAD_MUTEX_INITIALIZER;
static int sp_sock = -1;
static pid_t sp_pid = -1;

/* ---- the spawner (system calls only) --------------------------------- */

static int
read_full(int fd, void *p, size_t len)
{
	char *c = p;
	ssize_t n;

	while (len) {
		n = read(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The request's header and descriptors; 0, or -1 at EOF or on junk. */
static int
recv_req(struct sp_req *r, int fds[SP_NFD])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(SP_NFD * sizeof(int))];
	} c;
	struct iovec iov = { r, sizeof(*r) };
	struct msghdr m;
	struct cmsghdr *h;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	do
		n = recvmsg(SP_FD, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	h = CMSG_FIRSTHDR(&m);
	if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(SP_NFD * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(h), SP_NFD * sizeof(int));
	if ((size_t)n < sizeof(*r) &&
	    read_full(SP_FD, (char *)r + n, sizeof(*r) - (size_t)n) < 0)
		return -1;
	if (r->magic != SP_MAGIC || r->len > SP_MAX ||
	    r->nargv + r->nenv + r->nhide > r->len)
		return -1;
	return 0;
}

/* n strings from *p (within end) into v, NULL-terminated. */
static int
split(char **v, uint32_t n, char **p, char *end)
{
	for (uint32_t i = 0; i < n; i++) {
		char *z = memchr(*p, '\0', (size_t)(end - *p));

		if (!z)
			return -1;
		v[i] = *p;
		*p = z + 1;
	}
	v[n] = NULL;
	return 0;
}

/*
 * The inits cloned with CLONE_VM (sandbox_clone_vm): their stack and
 * request live in this process's memory until they end, seen through a
 * pidfd.  Past SP_KIDS at once, or under valgrind (which does not follow
 * a CLONE_VM process that is not a thread), an init is a copy of the
 * spawner, as before.
 */
/*
 * Nor under AddressSanitizer: its instrumented frames and its bookkeeping
 * of stacks do not hold on a stack it did not make, in a process that
 * shares its memory (every sandbox died of SIGSEGV in the ASan build).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SP_ASAN 1
#endif
#endif
#ifndef SP_ASAN
#define SP_ASAN 0
#endif
#define SP_GUARD 4096u
#define SP_STACK (128u << 10)
#define SP_KIDS 256
static struct {
	int pidfd;
	void *mem;
	size_t size;
} kids[SP_KIDS];
static size_t nkids;

/* Unmap what the inits that have ended had. */
static void
sweep(void)
{
	struct pollfd p;
	size_t i = 0;

	while (i < nkids) {
		p.fd = kids[i].pidfd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, 0) == 1) {
			munmap(kids[i].mem, kids[i].size);
			close(kids[i].pidfd);
			kids[i] = kids[--nkids];
		} else {
			i++;
		}
	}
}

/* v in decimal, ending at end (NUL-terminated); its first digit. */
static char *
sp_num(char *end, unsigned long long v)
{
	*--end = '\0';
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

/* The start time of pid (field 22 of /proc/PID/stat); 0 if unreadable. */
static unsigned long long
sp_start_time(pid_t pid)
{
	char path[48], num[24], buf[1024], *n, *f = NULL;
	unsigned long long t = 0;
	ssize_t len, i;
	int fd, field;

	n = sp_num(num + sizeof(num), (unsigned long long)pid);
	memcpy(path, "/proc/", 6);
	memcpy(path + 6, n, strlen(n));
	memcpy(path + 6 + strlen(n), "/stat", 6);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	for (i = len; i-- > 0;)
		if (buf[i] == ')') {
			f = buf + i;
			break;
		}
	/* fields after the name: state is 3, starttime 22 */
	for (field = 2; f && field < 22; field++)
		f = strchr(f + 1, ' ');
	if (!f)
		return 0;
	for (f++; *f >= '0' && *f <= '9'; f++)
		t = t * 10 + (unsigned long long)(*f - '0');
	return t;
}

/*
 * meta/pid for the init just cloned, as the daemon would write it
 * (local.c), then its go: the pid is on disk before the shell can start,
 * so that a successor always finds it.  Into a.
 */
static void
record_and_go(const struct sandbox *sb, int go_out, struct sp_reply *a)
{
	char path[4096], line[96], num[24], *p = line, *n;
	size_t l = strlen(sb->meta_dir);
	struct timespec ts;
	int fd;

	a->start = sp_start_time(a->pid);
	clock_gettime(CLOCK_REALTIME, &ts);
	a->wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (l + sizeof("/pid") > sizeof(path)) {
		a->pid_err = ENAMETOOLONG;
		return;
	}
	memcpy(path, sb->meta_dir, l);
	memcpy(path + l, "/pid", sizeof("/pid"));
	n = sp_num(num + sizeof(num), (unsigned long long)a->pid);
	memcpy(p, n, strlen(n));
	p += strlen(n);
	*p++ = ' ';
	n = sp_num(num + sizeof(num), a->start);
	memcpy(p, n, strlen(n));
	p += strlen(n);
	*p++ = ' ';
	n = sp_num(num + sizeof(num), (unsigned long long)a->wall);
	memcpy(p, n, strlen(n));
	p += strlen(n);
	*p++ = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		a->pid_err = errno ? errno : EIO;
		return;
	}
	if (runner_write_all(fd, line, (size_t)(p - line)) < 0 ||
	    close(fd) < 0) {
		a->pid_err = errno ? errno : EIO;
		return;
	}
	if (send(go_out, "g", 1, MSG_NOSIGNAL) != 1)
		a->go_err = errno ? errno : EPIPE;
}

/* One request: the clone (a->pid, or -errno; -EINVAL: a malformed
 * request), its meta/pid and its go. */
static void
serve_one(const struct sp_req *r, const int fds[SP_NFD], struct sp_reply *a)
{
	size_t nptr = (size_t)r->nargv + r->nenv + r->nhide + 3;
	size_t head = SP_GUARD + SP_STACK + sizeof(struct sandbox);
	size_t size = head + nptr * sizeof(char *) + r->len;
	bool vm = !SP_ASAN && !r->valgrind && nkids < SP_KIDS;
	struct sandbox *sbp;
	char **v, *s, *p, *fix[6];
	pid_t pid = -EINVAL;
	void *mem;
	int pidfd = -1;

	memset(a, 0, sizeof(*a));
	a->pid = -ENOMEM;
	sweep();
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return;
	/* [guard][the init's stack][struct sandbox][pointers][strings]: all
	 * of it the init's while it lives (a CLONE_VM init shares this
	 * process's memory), unmapped once it has ended (sweep) */
	if (vm && mprotect(mem, SP_GUARD, PROT_NONE) < 0)
		vm = false;
	sbp = (struct sandbox *)((char *)mem + SP_GUARD + SP_STACK);
	v = (char **)((char *)mem + head);
	s = (char *)mem + head + nptr * sizeof(char *);
	if (read_full(SP_FD, s, r->len) < 0) {
		pid = -EPIPE;
		goto out;
	}
	p = s;
	if (split(fix, 5, &p, s + r->len) < 0 ||
	    split(v, r->nargv, &p, s + r->len) < 0 ||
	    split(v + r->nargv + 1, r->nenv, &p, s + r->len) < 0 ||
	    split(v + r->nargv + r->nenv + 2, r->nhide, &p, s + r->len) < 0)
		goto out;
	memset(sbp, 0, sizeof(*sbp));
	sbp->run_dir = fix[0];
	sbp->task_dir = fix[1];
	sbp->meta_dir = fix[2];
	sbp->bind_buf[0] = fix[3];
	sbp->bind_buf[1] = fix[4];
	sbp->argv = v;
	sbp->envp = v + r->nargv + 1;
	sbp->hide = (const char *const *)(v + r->nargv + r->nenv + 2);
	sbp->nhide = r->nhide;
	sbp->drop = r->drop;
	sbp->uid = r->uid;
	sbp->gid = r->gid;
	sbp->devnull = fds[0];
	sbp->out = fds[1];
	sbp->st = fds[2];
	sbp->go = fds[3];
	sbp->userns = r->userns;
	sbp->outer_uid = r->outer_uid;
	sbp->outer_gid = r->outer_gid;
	sbp->maxfd = r->maxfd;
	/* the command line and environment the init wipes are this
	 * process's: a CLONE_VM init shares them, and they are no one's
	 * business in a run either way */
	sbp->args_start = (char *)(uintptr_t)r->args_start;
	sbp->args_end = (char *)(uintptr_t)r->args_end;
	sbp->env_start = (char *)(uintptr_t)r->env_start;
	sbp->env_end = (char *)(uintptr_t)r->env_end;
	sbp->valgrind = r->valgrind;
	sbp->spawner = true;
	if (vm) {
		pid = sandbox_clone_vm(sbp, CLONE_PARENT,
				       (char *)mem + SP_GUARD + SP_STACK,
				       &pidfd);
		if (pid > 0) {
			kids[nkids].pidfd = pidfd;
			kids[nkids].mem = mem;
			kids[nkids++].size = size;
		}
	} else {
		pid = sandbox_clone(sbp, CLONE_PARENT);
	}
	a->pid = pid;
	if (pid > 0)
		record_and_go(sbp, fds[4], a);
out:
	a->pid = pid;
	if (!vm || pid <= 0)
		munmap(mem, size);
}

static NORETURN void
spawner_main(pid_t parent, int sock, bool pdeath)
{
	struct sigaction sa;
	struct sp_req r;
	struct sp_reply a;
	sigset_t none;
	int fds[SP_NFD], null, i;

	/* dies with the daemon (the signal comes when the thread that forked
	 * it ends: only the main thread's is the daemon's death); and in any
	 * case when its socket reads EOF: the daemon's end is gone */
	if ((pdeath && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) ||
	    getppid() != parent)
		_exit(1);
	if (sock != SP_FD) {
		if (dup2(sock, SP_FD) < 0)
			_exit(1);
		close(sock);
	} else if (fcntl(SP_FD, F_SETFD, 0) < 0) {
		_exit(1);
	}
	null = open("/dev/null", O_RDWR);
	for (i = 0; i < 3; i++)
		if (null < 0 || (null != i && dup2(null, i) < 0))
			_exit(1);
	runner_close_range(SP_FD + 1, ~0U, 65536);
	prctl(PR_SET_NAME, "scaffold-spawn", 0, 0, 0);
	/* the daemon's handlers are not ours; a ^C is the daemon's */
	for (i = 1; i < NSIG; i++) {
		if (sigaction(i, NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_DFL) {
			sa.sa_handler = SIG_DFL;
			sa.sa_flags = 0;
			sigaction(i, &sa, NULL);
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (;;) {
		if (recv_req(&r, fds) < 0)
			_exit(0);
		serve_one(&r, fds, &a);
		for (i = 0; i < SP_NFD; i++)
			close(fds[i]);
		if (runner_write_all(SP_FD, &a, sizeof(a)) < 0)
			_exit(0);
	}
}

/* ---- the daemon's side ------------------------------------------------ */

bool
spawner_enabled(void)
{
	static int off = -1;

	if (off < 0) {
		const char *e = getenv("SCAFFOLD_NO_SPAWNER");

		off = e && !strcmp(e, "1");
	}
	return !off && !spawner_disable;
}

pid_t
spawner_pid(void)
{
	return sp_pid;
}

/* Forget a dead (or misbehaving) spawner: kill and reap it. */
static void
stop(void)
{
	if (sp_sock >= 0)
		close(sp_sock);
	sp_sock = -1;
	if (sp_pid > 0) {
		kill(sp_pid, SIGKILL);
		while (waitpid(sp_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	sp_pid = -1;
}

static int
start(void)
{
	pid_t parent = getpid(), pid;
	bool main_thread = (pid_t)syscall(SYS_gettid) == parent;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set("cannot start the spawner: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_set("cannot start the spawner: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		spawner_main(parent, sv[1], main_thread);
	}
	close(sv[1]);
	sp_sock = sv[0];
	sp_pid = pid;
	return 0;
}

/* The request for sb: its header, then its strings, in b. */
static void
encode(struct sp_req *r, struct buf *b, const struct sandbox *sb)
{
	size_t n;

	memset(r, 0, sizeof(*r));
	buf_add(b, sb->run_dir, strlen(sb->run_dir) + 1);
	buf_add(b, sb->task_dir, strlen(sb->task_dir) + 1);
	buf_add(b, sb->meta_dir, strlen(sb->meta_dir) + 1);
	buf_add(b, sb->bind_buf[0], strlen(sb->bind_buf[0]) + 1);
	buf_add(b, sb->bind_buf[1], strlen(sb->bind_buf[1]) + 1);
	for (n = 0; sb->argv[n]; n++)
		buf_add(b, sb->argv[n], strlen(sb->argv[n]) + 1);
	r->nargv = (uint32_t)n;
	for (n = 0; sb->envp[n]; n++)
		buf_add(b, sb->envp[n], strlen(sb->envp[n]) + 1);
	r->nenv = (uint32_t)n;
	for (n = 0; n < sb->nhide; n++)
		buf_add(b, sb->hide[n], strlen(sb->hide[n]) + 1);
	r->nhide = (uint32_t)sb->nhide;
	r->magic = SP_MAGIC;
	r->len = (uint32_t)b->len;
	r->drop = sb->drop;
	r->uid = sb->uid;
	r->gid = sb->gid;
	r->userns = sb->userns;
	r->valgrind = sb->valgrind;
	r->outer_uid = sb->outer_uid;
	r->outer_gid = sb->outer_gid;
	r->maxfd = sb->maxfd;
	r->args_start = (uint64_t)(uintptr_t)sb->args_start;
	r->args_end = (uint64_t)(uintptr_t)sb->args_end;
	r->env_start = (uint64_t)(uintptr_t)sb->env_start;
	r->env_end = (uint64_t)(uintptr_t)sb->env_end;
}

/*
 * One round trip: 0 and *out; -1 (errno) when the spawner is gone before
 * it took the whole request (it can be started again and asked again);
 * -2 when it took it and did not answer (an init may exist: no second).
 */
static int
ask(struct sp_reply *out, const struct sp_req *r, const struct buf *b,
    const struct sandbox *sb)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(SP_NFD * sizeof(int))];
	} c;
	int fds[SP_NFD] = { sb->devnull, sb->out, sb->st, sb->go, sb->go_out };
	struct iovec iov = { (void *)r, sizeof(*r) };
	struct sp_reply a;
	struct msghdr m;
	struct cmsghdr *h;
	ssize_t n;
	size_t off;

	memset(&m, 0, sizeof(m));
	memset(&c, 0, sizeof(c));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = c.buf;
	m.msg_controllen = sizeof(c.buf);
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(h), fds, sizeof(fds));
	do
		n = sendmsg(sp_sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	/* the rest of the header, if the socket took only part of it */
	for (off = (size_t)n; off < sizeof(*r); off += (size_t)n) {
		n = send(sp_sock, (const char *)r + off, sizeof(*r) - off,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0)
			return -1;
	}
	for (off = 0; off < b->len; off += (size_t)n) {
		n = send(sp_sock, b->ptr + off, b->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			n = 0;
		else if (n < 0)
			return -1;
	}
	errno = 0;
	if (read_full(sp_sock, &a, sizeof(a)) < 0) {
		/* a reset: it died with some of the request unread, so before
		 * its clone (which comes after the whole request) */
		if (errno == ECONNRESET)
			return -1;
		if (!errno)
			errno = EPIPE;
		return -2;
	}
	*out = a;
	return 0;
}

void
spawner_prestart(void)
{
	if (!spawner_enabled())
		return;
	pthread_mutex_lock(&sp_lock);
	if (sp_sock < 0 && start() < 0)
		err_clear(); /* the first run tries again, and says why */
	pthread_mutex_unlock(&sp_lock);
}

int
spawner_spawn(pid_t *out, struct sandbox *sb)
{
	struct sp_req r;
	struct sp_reply a;
	struct buf b = BUF_INIT;
	int ret = -1, tries;

	*out = -EINVAL;
	encode(&r, &b, sb);
	if (b.len > SP_MAX) {
		err_set("cannot start the run: its command and environment "
			"take %zu bytes, more than %u",
			b.len, SP_MAX);
		buf_release(&b);
		return -1;
	}
	pthread_mutex_lock(&sp_lock);
	/* a spawner that died (killed, or its thread of the daemon ended)
	 * is started again, once per run */
	for (tries = 0; tries < 2; tries++) {
		if (sp_sock < 0 && start() < 0)
			goto out;
		errno = 0;
		ret = ask(&a, &r, &b, sb);
		if (ret == 0)
			goto answered;
		if (ret == -2 || tries)
			err_set("cannot start the run: the spawner did not "
				"answer: %s",
				strerror(errno ? errno : EPIPE));
		stop();
		if (ret == -2)
			break;
		ret = -1;
	}
	ret = -1;
	goto out;
answered:
	*out = a.pid;
	if (a.pid > 0 && a.pid_err) {
		/* no go was said: the caller ends the init */
		ret = err_set("cannot create '%s/pid': %s", sb->meta_dir,
			      strerror(a.pid_err));
	} else if (a.pid > 0) {
		sb->recorded = true;
		sb->start = a.start;
		sb->wall = a.wall;
		sb->go_err = a.go_err;
	}
out:
	pthread_mutex_unlock(&sp_lock);
	buf_release(&b);
	return ret;
}
