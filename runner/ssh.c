/*
 * ssh.c - the "ssh" runner: the task's script on a host of the inventory,
 * over SSH with libssh2.  The only file that includes libssh2.h; libssh2's
 * errors are translated here.
 *
 * On the host, in the home directory of the inventory's user:
 *
 *	~/.scaffold/agent-HASH.sh	the helper (below), one per version
 *	~/.scaffold/runs/ID/run		the run dir: the script's cwd,
 *					$SCAFFOLD_RUN_DIR, loaded and stored
 *					files
 *	~/.scaffold/runs/ID/meta/	scaffold's own files (0700):
 *	    script			the task's script, byte for byte
 *	    wrapper.sh			exports the run's environment,
 *					sources the script, then records the
 *					store env (env/NAME) and, last, the
 *					exit status (exit)
 *	    out				stdout and stderr of the run, in the
 *					order written
 *	    pid				its process group and the leader's
 *					start time
 *
 * Files go up and come back by SFTP.  Each session has one more channel:
 * a helper shell (agent_script) that starts runs, signals them and
 * removes their dirs, on one line of stdin each, and reports each run's
 * end on one line of stdout.  A run costs the host a fork of the helper,
 * setsid and the wrapper's shell: no channel, no sshd session child, no
 * login shell (the first design, a channel per run running a launcher,
 * cost three times the server CPU of "ssh host true" over a master).  The
 * environment is exported by the wrapper, single-quoted, never passed as a
 * command line nor by the channel's setenv.  The I/O thread reads meta/out
 * as it grows (every 50 ms, backing off to 1 s while it does not) through
 * the run's masker into the log, and saves how far it got in the work dir
 * (ssh-out-offset), so that a scaffold that adopts the run after a restart
 * reads on from there: a run outlives a restart of scaffold or a dropped
 * connection (setsid, and nothing of it writes to the connection) and
 * loses no output.  Its exit status is the helper's report, or meta/exit
 * for an adopted run.  Timeouts and kills go to the helper: SIGTERM to the
 * group, SIGKILL 2 s later (a signal that comes before the group is
 * recorded is sent again; the helper checks the leader's start time, so
 * that a recycled pid is never signalled).
 *
 * Sessions.  One libssh2 session per host, opened on first use and shared
 * by every run on the host: the helper's channel, one SFTP channel; at
 * most max_sessions runs at once (start() waits for a free slot).
 *
 * Threads and locking.  A libssh2 session is not thread-safe: every use of
 * one happens under its host's lock (struct conn).  The session is
 * non-blocking.  A call that would block returns EAGAIN and is repeated,
 * lock held, once the socket is ready in the direction libssh2 names
 * (libssh2_session_block_directions): libssh2 needs a half-sent packet
 * finished by the same call before any other may send.  Each host has an
 * I/O thread that reads the helper's reports and the output of all its
 * runs into their logs, enforces their timeouts and kill requests, sends
 * keepalives, and closes the session after five idle minutes.  wait()
 * sleeps on the host's condition variable until its run has ended and
 * its output is in.  start(), the
 * collection in wait() and adopt() take the lock for one SFTP call at a
 * time, so a long transfer does not starve the output of the other runs.
 *
 * Faults.  When the connection breaks (or stays silent through the TCP and
 * SSH keepalives), or the helper ends, every run started on it ends
 * RUN_LOST (its process on the host goes on, as after a restart of
 * scaffold; the run is recorded lost and retried); the next start()
 * connects again, and a start() that finds its shared session dead retries
 * once on a new one.  The host key is always checked against the host's
 * known_hosts file.
 *
 * libssh2 1.10 (Debian 12) signs with RSA keys only as "ssh-rsa" (SHA-1),
 * which OpenSSH 8.8 and later refuse unless the server has
 * "PubkeyAcceptedAlgorithms +ssh-rsa": prefer ed25519 or ECDSA keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "runner-int.h"

#define DEFAULT_PORT 22
#define DEFAULT_MAX_SESSIONS 8
#define CONNECT_TIMEOUT_MS 15000 /* TCP connect; then each login step */
#define IO_TIMEOUT_MS 60000	 /* an answer to one request */
#define KEEPALIVE_S 15
#define TCP_TIMEOUT_MS 60000 /* sent data unacknowledged: the link is dead */
#define IDLE_CLOSE_MS (5 * 60 * 1000)
#define GRACE_MS 2000	    /* SIGTERM → SIGKILL */
#define KILL_WAIT_MS 30000  /* SIGKILL → the run must be over */
#define SIGNAL_RETRY_MS 200 /* a signal before the group is recorded */
#define ADOPT_POLL_MS 1000
#define ALIVE_EVERY 5 /* adopt polls between two "does it still run?" */
#define OUT_POLL_MIN_MS 50   /* meta/out of a run: read again after... */
#define OUT_POLL_MAX_MS 1000 /* ...doubling while it does not grow */
#define EXIT_CHECK_MS 5000   /* a started run: meta/exit looked at */
#define AGENT_LINE_MAX 1024
#define RUN_LINE_MAX 8192 /* a run started by one line to the helper */
#define CHUNK 65536
#define SLICE_MAX (256 << 10) /* output of one run per turn of the I/O */
#define EXIT_MAX 64

/* Internal: the connection broke (conn_lost() ran); runner_ops never say it. */
#define SSH_LOST (-1000)

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

/* The socket under a session; once dead, it swallows and reads EOF. */
struct link {
	int fd;
	bool dead;
};

struct run_handle;

/* A host of the inventory and its connection. */
struct conn {
	/* the inventory entry, read-only */
	char *name;
	char *address;
	int port;
	char *user;
	char *key_file;
	char *known_hosts;
	int max_sessions;
	char *umask; /* the runs' unless the task has one; NULL: 022 */
	char *where; /* "127.0.0.1:2222", for messages */
	int refs;    /* under inv_lock: the inventory's and each handle's */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* a slot freed, a run over, a kill request */
	/* all below under lock */
	LIBSSH2_SESSION *s;
	struct link *link;
	LIBSSH2_SFTP *sftp;
	bool ready;   /* logged in: keepalives may go */
	char *home;   /* the user's home directory on the host */
	unsigned gen; /* bumped at every login; older handles are gone */
	char lost_reason[256];	 /* why the last session ended */
	int slots;		 /* runs holding one of max_sessions */
	struct run_handle *runs; /* started or adopted, not yet freed */
	int64_t idle_since;
	bool io_started;
	bool stopping;
	pthread_t io;
	int wake[2]; /* wakes the I/O thread from its poll */
	bool connecting; /* conn_connect() runs: the lock is never dropped */
	bool probe;	 /* runner_ssh_probe's: log in, and no more */

	/* the helper shell of the session (all under lock) */
	LIBSSH2_CHANNEL *agent;
	struct buf ain, aerr; /* what it wrote: a line not complete yet */
	unsigned tag;	      /* of the last call */
	bool replied;	      /* the call tag has its answer, */
	int reply;	      /* this one */
	/* run dirs of runs ended lost with the connection: their process
	 * may still run on the host; the next session kills and removes */
	struct strvec orphans;
};

struct run_handle {
	struct conn *c; /* holds a reference */
	int64_t run_id;
	char instance[40]; /* spec->instance, or "" */
	struct strvec store_files;
	struct strvec store_env;
	char *base;	 /* on the host: HOME/.scaffold/runs/ID */
	char *rdir;	 /* base/run */
	char *mdir;	 /* base/meta */
	char *local_run; /* work_dir/run: collected files go there */
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic; 0: none */

	struct run_log log; /* fd, masker, last byte */

	int off_fd;	/* work_dir/ssh-out-offset, or -1 */
	char *off_path; /* how far meta/out went into the log */

	/* under c->lock */
	struct run_handle *next; /* in c->runs */
	bool listed;
	bool live;   /* started on this session; its end not seen yet */
	bool exited; /* the helper saw it end: the rest of out, then done */
	int display; /* the helper saw run/.display: 1, 0; -1: ask SFTP */
	int64_t check_at; /* when meta/exit is looked at next (live) */
	bool exit_seen;	  /* ...and was there the last time */
	bool out_empty;	  /* the helper saw an empty meta/out at the end */
	bool start_failed; /* the helper could not make the run dir */
	LIBSSH2_SFTP_HANDLE *out; /* meta/out, read as it grows */
	int64_t out_off;	  /* what of it is in the log */
	int64_t read_at;	  /* next read (live) */
	int read_every;
	bool slot;
	bool polling;  /* adopted while running: wait() polls meta/exit */
	bool finished; /* adopted after its end */
	bool kill_req;
	enum why_stop why;
	int64_t term_at;     /* SIGTERM due since; 0: not */
	int64_t kill_at;     /* SIGKILL due since; 0: not */
	const char *pending; /* a signal not delivered yet: "TERM", "KILL" */
	int64_t retry_at;
	bool done; /* the channel closed, or the connection broke */
	bool lost;
	char reason[256]; /* why it was lost */
	int exit_status;  /* from the helper, or meta/exit */
	bool waited;
	bool detached; /* free() leaves the remote run alone */
	bool removed;  /* the remote run dir is gone */
};

static pthread_mutex_t inv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn **inv;
static size_t ninv;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc = -1;

static void ssh_free(struct run_handle *h);

/* ---- small helpers ---------------------------------------------------- */

static void
lib_init(void)
{
	lib_rc = libssh2_init(0);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* err_set("PREFIX: MESSAGE"), MESSAGE being the thread's current one.  -1. */
static int PRINTF_LIKE(1, 2) err_wrap(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char *inner = xstrdup(err_msg());
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	err_set("%s: %s", b.ptr, inner);
	free(inner);
	buf_release(&b);
	return -1;
}

/* s single-quoted for /bin/sh. */
static void
sh_quote_str(struct buf *b, const char *s)
{
	runner_sh_quote(b, s, strlen(s));
}

/* The sooner of two waits in ms (-1: none); an overdue one counts as 0. */
static int64_t
sooner(int64_t t, int64_t x)
{
	if (x < 0)
		x = 0;
	return t < 0 || x < t ? x : t;
}

/* ---- the run log ------------------------------------------------------ */

/* ---- the inventory ---------------------------------------------------- */

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct conn *
conn_new(const struct ssh_host *hc)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	struct buf b = BUF_INIT;

	c->name = xstrdup(hc->name ? hc->name : "");
	c->address = xstrdup(hc->address ? hc->address : c->name);
	c->port = hc->port > 0 ? hc->port : DEFAULT_PORT;
	c->user = dup_or_null(hc->user);
	c->key_file = dup_or_null(hc->key_file);
	c->known_hosts = dup_or_null(hc->known_hosts_file);
	c->umask = dup_or_null(hc->umask);
	c->max_sessions =
	    hc->max_sessions > 0 ? hc->max_sessions : DEFAULT_MAX_SESSIONS;
	if (strchr(c->address, ':'))
		buf_addf(&b, "[%s]:%d", c->address, c->port);
	else
		buf_addf(&b, "%s:%d", c->address, c->port);
	c->where = buf_detach(&b, NULL);
	c->refs = 1;
	buf_init(&c->ain);
	buf_init(&c->aerr);
	strvec_init(&c->orphans);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->wake[0] = c->wake[1] = -1;
	if (pipe2(c->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		c->wake[0] = c->wake[1] = -1; /* start() will say so */
	return c;
}

/* Wake the host's I/O thread from its poll. */
static void
conn_wake(struct conn *c)
{
	char one = 1;

	if (c->wake[1] >= 0 && write(c->wake[1], &one, 1) < 0 &&
	    errno != EAGAIN)
		log_warn("runner: host '%s': cannot wake the I/O thread",
			 c->name);
}

static void teardown(struct conn *c, bool graceful);

/* The last reference is gone: stop the I/O thread, log out, free. */
static void
conn_destroy(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	if (c->io_started)
		pthread_join(c->io, NULL);
	pthread_mutex_lock(&c->lock);
	teardown(c, true);
	pthread_mutex_unlock(&c->lock);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	free(c->name);
	free(c->address);
	free(c->user);
	free(c->key_file);
	free(c->known_hosts);
	free(c->umask);
	free(c->where);
	buf_release(&c->ain);
	buf_release(&c->aerr);
	strvec_clear(&c->orphans);
	free(c);
}

static void
conn_put(struct conn *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&inv_lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&inv_lock);
	if (last)
		conn_destroy(c);
}

/* The inventory host called name, with a reference; NULL if none. */
static struct conn *
conn_find(const char *name)
{
	struct conn *c = NULL;
	size_t i;

	pthread_mutex_lock(&inv_lock);
	for (i = 0; i < ninv; i++) {
		if (!strcmp(inv[i]->name, name)) {
			c = inv[i];
			c->refs++;
			break;
		}
	}
	pthread_mutex_unlock(&inv_lock);
	return c;
}

void
runner_ssh_configure(const struct ssh_host *hosts, size_t n)
{
	struct conn **old, **v = NULL;
	size_t i, nold;

	pthread_once(&lib_once, lib_init);
	if (n)
		v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = conn_new(&hosts[i]);
	pthread_mutex_lock(&inv_lock);
	old = inv;
	nold = ninv;
	inv = v;
	ninv = n;
	pthread_mutex_unlock(&inv_lock);
	for (i = 0; i < nold; i++)
		conn_put(old[i]);
	free(old);
}

static int conn_connect(struct conn *c);

int
runner_ssh_probe(const struct ssh_host *host, struct buf *home)
{
	struct conn *c = conn_new(host);
	int ret;

	c->probe = true;
	pthread_mutex_lock(&c->lock);
	ret = conn_connect(c);
	if (ret == 0) {
		buf_puts(home, c->home);
		teardown(c, true);
	}
	pthread_mutex_unlock(&c->lock);
	conn_put(c);
	return ret;
}

/* ---- the connection --------------------------------------------------- */

/* libssh2's socket I/O: errors as -errno; a dead link reads as closed. */
static ssize_t
link_send(libssh2_socket_t fd, const void *buffer, size_t length, int flags,
	  void **abstract)
{
	struct link *l = *abstract;
	ssize_t n;

	(void)fd;
	if (l->dead)
		return (ssize_t)length; /* swallowed: see teardown() */
	do
		n = send(l->fd, buffer, length, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static ssize_t
link_recv(libssh2_socket_t fd, void *buffer, size_t length, int flags,
	  void **abstract)
{
	struct link *l = *abstract;
	ssize_t n;

	(void)fd;
	if (l->dead)
		return 0;
	do
		n = recv(l->fd, buffer, length, flags);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* libssh2's last error message. */
static const char *
last_error(LIBSSH2_SESSION *s)
{
	char *msg = NULL;

	if (!s)
		return "no session";
	libssh2_session_last_error(s, &msg, NULL, 0);
	return msg && *msg ? msg : "unknown libssh2 error";
}

/* Errors after which the session cannot be used any more. */
static bool
fatal_rc(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_ZLIB:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_BAD_USE:
	case LIBSSH2_ERROR_COMPRESS:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_BAD_SOCKET:
		return true;
	}
	return false;
}

/*
 * Drop the session: runs whose channel was on it end lost.  graceful: log
 * out properly first (the session still works).  c->lock held.  Every
 * libssh2 pointer of the session is invalid afterwards.
 */
static void
teardown(struct conn *c, bool graceful)
{
	int64_t dl = now_ms() + 2000;
	struct pollfd p;
	int rc;

	if (!c->s)
		return;
	if (graceful && c->sftp) {
		while ((rc = libssh2_sftp_shutdown(c->sftp)) ==
			   LIBSSH2_ERROR_EAGAIN &&
		       now_ms() < dl) {
			p.fd = c->link->fd;
			p.events = POLLIN | POLLOUT;
			poll(&p, 1, 100);
		}
		if (rc == 0)
			c->sftp = NULL;
	}
	if (graceful && !c->sftp) {
		while (libssh2_session_disconnect(c->s, "scaffold: done") ==
			   LIBSSH2_ERROR_EAGAIN &&
		       now_ms() < dl) {
			p.fd = c->link->fd;
			p.events = POLLOUT;
			poll(&p, 1, 100);
		}
	}
	/*
	 * From here the link swallows what libssh2 sends and reads as
	 * closed: a channel whose close cannot be sent would otherwise stay
	 * in the session, and libssh2_session_free() would try it forever.
	 */
	c->link->dead = true;
	if (c->sftp)
		libssh2_sftp_shutdown(c->sftp);
	libssh2_session_free(c->s);
	close(c->link->fd);
	free(c->link);
	c->s = NULL;
	c->link = NULL;
	c->sftp = NULL;
	c->agent = NULL;
	buf_reset(&c->ain);
	buf_reset(&c->aerr);
	c->ready = false;
	free(c->home);
	c->home = NULL;
	conn_wake(c);
	pthread_cond_broadcast(&c->cond);
}

/* A run's slot back to the host. */
static void
slot_release(struct conn *c, struct run_handle *h)
{
	if (!h->slot)
		return;
	h->slot = false;
	c->slots--;
	if (!c->slots && !c->runs)
		c->idle_since = now_ms();
	pthread_cond_broadcast(&c->cond);
}

/*
 * The connection broke: every run with a channel on it ends lost, the
 * session goes.  Returns SSH_LOST.  c->lock held.
 */
static int
conn_lost(struct conn *c, const char *reason)
{
	struct run_handle *h;

	if (!c->s)
		return SSH_LOST;
	snprintf(c->lost_reason, sizeof(c->lost_reason), "%s", reason);
	/*
	 * libssh2_sftp_shutdown() does not free open file handles: close
	 * them on the dead link (sends are swallowed, the answer is EOF).
	 */
	c->link->dead = true;
	for (h = c->runs; h; h = h->next) {
		if (h->out && c->sftp)
			libssh2_sftp_close_handle(h->out);
		h->out = NULL;
		if (!h->live)
			continue;
		h->live = false;
		if (!h->done) {
			h->done = true;
			h->lost = true;
			snprintf(h->reason, sizeof(h->reason), "%s", reason);
			if (h->base)
				strvec_push(&c->orphans, h->base);
		}
		slot_release(c, h);
	}
	teardown(c, false);
	return SSH_LOST;
}

/* After a failed libssh2 call: SSH_LOST if it broke the session, else rc. */
static int
conn_check(struct conn *c, int rc)
{
	char reason[256];

	if (rc >= 0 || rc == SSH_LOST || !c->s || !fatal_rc(rc))
		return rc;
	if (rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
	    rc == LIBSSH2_ERROR_SOCKET_RECV)
		snprintf(reason, sizeof(reason), "the connection was closed");
	else if (rc == LIBSSH2_ERROR_SOCKET_SEND)
		snprintf(reason, sizeof(reason), "the connection broke");
	else
		snprintf(reason, sizeof(reason), "%s", last_error(c->s));
	return conn_lost(c, reason);
}

/*
 * Wait until the socket is ready in the direction libssh2 blocks on, or
 * the deadline (SSH_LOST with "no answer for ..."; ERR_TIMEOUT instead
 * when soft).  Keepalives go out meanwhile.  c->lock held.
 */
static int
conn_wait_x(struct conn *c, int64_t deadline, bool soft)
{
	struct pollfd p;
	char reason[64], dur[32];
	int64_t now, t;
	int dirs, n, secs;

	for (;;) {
		dirs = libssh2_session_block_directions(c->s);
		p.fd = c->link->fd;
		p.events = 0;
		p.revents = 0;
		if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
			p.events |= POLLIN;
		if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			p.events |= POLLOUT;
		if (!p.events)
			p.events = POLLIN;
		now = now_ms();
		if (now >= deadline) {
			if (soft)
				return ERR_TIMEOUT;
			duration_format(dur, sizeof(dur), IO_TIMEOUT_MS);
			snprintf(reason, sizeof(reason), "no answer for %s",
				 dur);
			return conn_lost(c, reason);
		}
		t = deadline - now;
		if (t > KEEPALIVE_S * 1000)
			t = KEEPALIVE_S * 1000;
		n = poll(&p, 1, (int)t);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return conn_lost(c, strerror(errno));
		if (n > 0)
			return 0;
		if (c->ready && !(dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
			n = libssh2_keepalive_send(c->s, &secs);
			if (n < 0 && conn_check(c, n) == SSH_LOST)
				return SSH_LOST;
		}
	}
}

static int
conn_wait(struct conn *c, int64_t deadline)
{
	return conn_wait_x(c, deadline, false);
}

/*
 * Repeat a libssh2 call returning a number while it would block; c->lock
 * held.  rc: its result, SSH_LOST when the session broke meanwhile.
 */
#define DRIVE_T(c, rc, call, timeout)                                          \
	do {                                                                   \
		int64_t dl_ = now_ms() + (timeout);                            \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN &&              \
		       ((rc) = conn_wait((c), dl_)) == 0)                      \
			;                                                      \
		if ((rc) < 0)                                                  \
			(rc) = conn_check((c), (int)(rc));                     \
	} while (0)
#define DRIVE(c, rc, call) DRIVE_T(c, rc, call, IO_TIMEOUT_MS)

/* The same for a call returning a pointer; NULL: see ptr_fail(). */
#define DRIVE_PTR(c, p, call)                                                  \
	do {                                                                   \
		int64_t dl_ = now_ms() + IO_TIMEOUT_MS;                        \
		while (!((p) = (call)) &&                                      \
		       libssh2_session_last_errno((c)->s) ==                   \
			   LIBSSH2_ERROR_EAGAIN &&                             \
		       conn_wait((c), dl_) == 0)                               \
			;                                                      \
	} while (0)

/* Why a DRIVE_PTR() gave NULL: SSH_LOST or libssh2's error code. */
static int
ptr_fail(struct conn *c)
{
	if (!c->s)
		return SSH_LOST;
	return conn_check(c, libssh2_session_last_errno(c->s));
}

/* Open a TCP connection to the host; *out_fd non-blocking. */
static int
tcp_connect(struct conn *c, int *out_fd)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd p;
	socklen_t sl;
	char port[16];
	int fd = -1, r, err = ECONNREFUSED, one = 1, ret = -1;
	unsigned int tmo = TCP_TIMEOUT_MS;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", c->port);
	r = getaddrinfo(c->address, port, &hints, &res);
	if (r) {
		err_set("host '%s' (%s): cannot resolve '%s': %s", c->name,
			c->where, c->address, gai_strerror(r));
		goto out;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			p.fd = fd;
			p.events = POLLOUT;
			do
				r = poll(&p, 1, CONNECT_TIMEOUT_MS);
			while (r < 0 && errno == EINTR);
			sl = sizeof(err);
			if (r == 0)
				err = ETIMEDOUT;
			else if (r < 0)
				err = errno;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
					    &sl) < 0)
				err = errno;
			if (!err)
				break;
		}
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		err_set("host '%s' (%s): cannot connect: %s", c->name, c->where,
			strerror(err));
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
#ifdef TCP_USER_TIMEOUT
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &tmo, sizeof(tmo));
#else
	(void)tmo;
#endif
	*out_fd = fd;
	ret = 0;
out:
	if (res)
		freeaddrinfo(res);
	return ret;
}

/*
 * Ask first for the host key types that known_hosts lists for the host, so
 * that a server with several keys offers one we can check.
 */
static void
hostkey_prefs(struct conn *c, LIBSSH2_SESSION *s)
{
	struct buf kh = BUF_INIT, pref = BUF_INIT, type = BUF_INIT;
	const char **algs = NULL;
	const char *line, *end, *nl, *t, *te;
	int n = 0, i;

	if (known_hosts_extract(&kh, c->known_hosts, c->address, c->port) < 0) {
		err_clear();
		goto out;
	}
	n = libssh2_session_supported_algs(s, LIBSSH2_METHOD_HOSTKEY, &algs);
	if (n <= 0)
		goto out;
	for (line = kh.ptr, end = kh.ptr + kh.len; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		t = memchr(line, ' ', (size_t)(nl - line));
		if (!t)
			continue;
		t++;
		te = memchr(t, ' ', (size_t)(nl - t));
		if (!te)
			continue;
		buf_reset(&type);
		buf_add(&type, t, (size_t)(te - t));
		for (i = 0; i < n; i++) {
			/* an RSA key may sign as rsa-sha2-* too */
			if (strcmp(algs[i], type.ptr) &&
			    !(!strcmp(type.ptr, "ssh-rsa") &&
			      !strncmp(algs[i], "rsa-sha2-", 9)))
				continue;
			if (strstr(pref.ptr, algs[i]))
				continue;
			if (pref.len)
				buf_putc(&pref, ',');
			buf_puts(&pref, algs[i]);
		}
	}
	if (!pref.len)
		goto out;
	/* the others after them: a refusal then names the key offered */
	for (i = 0; i < n; i++) {
		if (strstr(pref.ptr, algs[i]))
			continue;
		buf_putc(&pref, ',');
		buf_puts(&pref, algs[i]);
	}
	if (libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, pref.ptr))
		log_warnx("runner: host '%s': cannot prefer host keys %s: %s",
			  c->name, pref.ptr, last_error(s));
out:
	if (algs)
		libssh2_free(s, algs);
	buf_release(&kh);
	buf_release(&pref);
	buf_release(&type);
}

/* The host key against known_hosts; ERR_AUTH with the reason if refused. */
static int
check_hostkey(struct conn *c)
{
	enum known_hosts_result res;
	char fp[SSH_FINGERPRINT_LEN];
	const char *key;
	size_t klen = 0;
	int type = 0;

	key = libssh2_session_hostkey(c->s, &klen, &type);
	if (!key || !klen)
		return err_set("host '%s' (%s): the server sent no host key",
			       c->name, c->where);
	ssh_fingerprint(fp, key, klen);
	if (known_hosts_check(&res, c->known_hosts, c->address, c->port, key,
			      klen) < 0)
		return err_wrap("host '%s': cannot read known_hosts '%s'",
				c->name, c->known_hosts);
	switch (res) {
	case KNOWN_HOSTS_OK:
		return 0;
	case KNOWN_HOSTS_UNKNOWN:
		err_set("host '%s' (%s) is not in known_hosts '%s' (its key "
			"is %s)",
			c->name, c->where, c->known_hosts, fp);
		break;
	case KNOWN_HOSTS_MISMATCH:
		err_set("host key of '%s' (%s) does not match known_hosts '%s' "
			"(it offered %s)",
			c->name, c->where, c->known_hosts, fp);
		break;
	case KNOWN_HOSTS_REVOKED:
		err_set("host key of '%s' (%s) is revoked in known_hosts '%s' "
			"(it offered %s)",
			c->name, c->where, c->known_hosts, fp);
		break;
	}
	return ERR_AUTH;
}

static void *io_main(void *arg);
static int agent_start(struct conn *c);
static int reap_orphans(struct conn *c);

/*
 * Connect, check the host key, log in, start SFTP.  c->lock held; the
 * half-made session is invisible to others, who need the lock to look.
 */
static int
conn_connect_(struct conn *c)
{
	char home[PATH_MAX];
	int fd = -1, rc, ret = -1;

	pthread_once(&lib_once, lib_init);
	if (lib_rc != 0)
		return err_set("host '%s': libssh2 cannot be initialised",
			       c->name);
	if (c->wake[0] < 0)
		return err_set("host '%s': cannot create a pipe", c->name);
	if (!c->user || !*c->user || !c->key_file || !*c->key_file ||
	    !c->known_hosts || !*c->known_hosts)
		return err_set("host '%s': the inventory needs user, key_file "
			       "and known_hosts_file",
			       c->name);
	if (access(c->known_hosts, R_OK) < 0)
		return err_set("host '%s': cannot read known_hosts '%s': %s",
			       c->name, c->known_hosts, strerror(errno));
	if (access(c->key_file, R_OK) < 0)
		return err_set("host '%s': cannot read key '%s': %s", c->name,
			       c->key_file, strerror(errno));
	if (tcp_connect(c, &fd) < 0)
		return -1;

	c->link = xcalloc(1, sizeof(*c->link));
	c->link->fd = fd;
	c->s = libssh2_session_init_ex(NULL, NULL, NULL, c->link);
	if (!c->s) {
		close(fd);
		free(c->link);
		c->link = NULL;
		return err_set("host '%s': libssh2 cannot make a session",
			       c->name);
	}
	libssh2_session_callback_set(c->s, LIBSSH2_CALLBACK_SEND,
				     (void *)link_send);
	libssh2_session_callback_set(c->s, LIBSSH2_CALLBACK_RECV,
				     (void *)link_recv);
	libssh2_session_set_blocking(c->s, 0);
	hostkey_prefs(c, c->s);

	DRIVE_T(c, rc, libssh2_session_handshake(c->s, fd), CONNECT_TIMEOUT_MS);
	if (rc < 0) {
		err_set("host '%s' (%s): SSH handshake failed: %s", c->name,
			c->where,
			rc == SSH_LOST ? c->lost_reason : last_error(c->s));
		goto out;
	}
	if ((ret = check_hostkey(c)) < 0)
		goto out;
	ret = -1;

	DRIVE_T(c, rc,
		libssh2_userauth_publickey_fromfile_ex(
		    c->s, c->user, (unsigned int)strlen(c->user), NULL,
		    c->key_file, NULL),
		CONNECT_TIMEOUT_MS);
	if (rc == SSH_LOST) {
		err_set("host '%s' (%s): lost contact while logging in: %s",
			c->name, c->where, c->lost_reason);
		goto out;
	}
	if (rc == LIBSSH2_ERROR_FILE) {
		err_set("host '%s': cannot use key '%s': %s", c->name,
			c->key_file, last_error(c->s));
		ret = ERR_AUTH;
		goto out;
	}
	if (rc < 0) {
		err_set("host '%s': authentication as '%s' with key '%s' "
			"failed",
			c->name, c->user, c->key_file);
		ret = ERR_AUTH;
		goto out;
	}
	libssh2_keepalive_config(c->s, 1, KEEPALIVE_S);
	c->ready = true;

	DRIVE_PTR(c, c->sftp, libssh2_sftp_init(c->s));
	if (!c->sftp) {
		rc = ptr_fail(c);
		err_set("host '%s' (%s): cannot start SFTP: %s", c->name,
			c->where,
			rc == SSH_LOST ? c->lost_reason : last_error(c->s));
		goto out;
	}
	DRIVE(c, rc,
	      libssh2_sftp_realpath(c->sftp, ".", home, sizeof(home) - 1));
	if (rc <= 0) {
		err_set("host '%s' (%s): cannot find the home directory: %s",
			c->name, c->where,
			rc == SSH_LOST ? c->lost_reason : last_error(c->s));
		goto out;
	}
	home[rc] = '\0';
	if (home[0] != '/') {
		err_set("host '%s' (%s): the home directory '%s' is not an "
			"absolute path",
			c->name, c->where, home);
		goto out;
	}
	if (strchr(home, '\n')) {
		err_set("host '%s' (%s): the home directory holds a newline",
			c->name, c->where);
		goto out;
	}
	c->home = xstrdup(home);
	if (c->probe) {
		/* no helper shell, no orphans reaped: a look, no change */
		ret = 0;
		goto out;
	}
	if ((ret = agent_start(c)) < 0)
		goto out;
	ret = -1;
	if (reap_orphans(c) == SSH_LOST) {
		err_set("host '%s' (%s): lost contact while starting: %s",
			c->name, c->where, c->lost_reason);
		goto out;
	}
	c->gen++;
	c->idle_since = now_ms();
	if (!c->io_started) {
		if (pthread_create(&c->io, NULL, io_main, c)) {
			err_set("host '%s': cannot start a thread", c->name);
			goto out;
		}
		c->io_started = true;
	}
	ret = 0;
out:
	if (ret < 0)
		teardown(c, false);
	return ret;
}

static int
conn_connect(struct conn *c)
{
	int r;

	c->connecting = true;
	r = conn_connect_(c);
	c->connecting = false;
	return r;
}

/* A logged-in session for the host; *fresh when it was just made. */
static int
conn_ensure(struct conn *c, bool *fresh)
{
	if (fresh)
		*fresh = false;
	if (c->s) {
		c->idle_since = now_ms();
		return 0;
	}
	if (fresh)
		*fresh = true;
	return conn_connect(c);
}

/* err_set() the loss of the connection; -1. */
static int
lost_err(struct conn *c)
{
	return err_set("lost contact with host '%s': %s", c->name,
		       c->lost_reason);
}

/* ---- SFTP ------------------------------------------------------------- */

static const char *
fx_text(unsigned long fx)
{
	switch (fx) {
	case LIBSSH2_FX_EOF:
		return "end of file";
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such file or directory";
	case LIBSSH2_FX_PERMISSION_DENIED:
		return "permission denied";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return "file exists";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		return "no space left on device";
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return "quota exceeded";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a directory";
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return "operation not supported";
	}
	return "failure";
}

/*
 * An SFTP call failed with rc: SSH_LOST, ERR_NOTFOUND (no such file), or
 * -1 with err_set("WHAT: REASON").
 */
static int
sftp_fail(struct conn *c, int rc, const char *what)
{
	unsigned long fx;

	if (rc == SSH_LOST)
		return rc;
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp) {
		fx = libssh2_sftp_last_error(c->sftp);
		err_set("%s: %s", what, fx_text(fx));
		if (fx == LIBSSH2_FX_NO_SUCH_FILE ||
		    fx == LIBSSH2_FX_NO_SUCH_PATH)
			return ERR_NOTFOUND;
		return -1;
	}
	return err_set("%s: %s", what, last_error(c->s));
}

/* lstat (follow false) or stat a path on the host. */
static int
r_stat(struct conn *c, const char *path, bool follow,
       LIBSSH2_SFTP_ATTRIBUTES *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	DRIVE(c, rc,
	      libssh2_sftp_stat_ex(
		  c->sftp, path, (unsigned int)strlen(path),
		  follow ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT, st));
	if (rc < 0)
		return sftp_fail(c, rc, path);
	return 0;
}

static int
r_mkdir(struct conn *c, const char *path, long mode)
{
	int rc;

	DRIVE(c, rc,
	      libssh2_sftp_mkdir_ex(c->sftp, path, (unsigned int)strlen(path),
				    mode));
	if (rc < 0)
		return sftp_fail(c, rc, path);
	return 0;
}

/* mkdir that accepts an existing directory (not a symlink to one). */
static int
r_mkdir_ok(struct conn *c, const char *path, long mode)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	int r;

	r = r_mkdir(c, path, mode);
	if (r == 0 || r == SSH_LOST)
		return r;
	r = r_stat(c, path, false, &st);
	if (r < 0)
		return r;
	if (!(st.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISDIR(st.permissions))
		return err_set("'%s' is not a directory", path);
	return 0;
}

static void
r_close(struct conn *c, LIBSSH2_SFTP_HANDLE *fh)
{
	int rc;

	DRIVE(c, rc, libssh2_sftp_close_handle(fh));
	(void)rc;
}

/*
 * Drop the lock a moment, so that the I/O thread and other runs get their
 * turn between the chunks of a transfer; false when the session of
 * generation gen went meanwhile.
 */
static bool
conn_yield(struct conn *c, unsigned gen)
{
	if (c->connecting)
		return true; /* the session is not for others to see yet */
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	pthread_mutex_lock(&c->lock);
	return c->s && c->gen == gen;
}

/*
 * Create path on the host (it must not exist) with mode, from the local
 * fd (until EOF) or from data.  c->lock held, dropped between chunks.
 */
static int
put_file(struct conn *c, const char *path, long mode, int fd, const char *data,
	 size_t len)
{
	LIBSSH2_SFTP_HANDLE *fh = NULL;
	unsigned gen = c->gen;
	char *chunk = NULL;
	const char *p;
	size_t off = 0, n, w;
	ssize_t rd, rc;
	int ret = -1;

	DRIVE_PTR(c, fh,
		  libssh2_sftp_open_ex(
		      c->sftp, path, (unsigned int)strlen(path),
		      LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		      mode, LIBSSH2_SFTP_OPENFILE));
	if (!fh) {
		rc = ptr_fail(c);
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	if (fd >= 0)
		chunk = xmalloc(CHUNK);
	for (;;) {
		if (fd >= 0) {
			do
				rd = read(fd, chunk, CHUNK);
			while (rd < 0 && errno == EINTR);
			if (rd < 0) {
				err_set("%s: cannot read: %s", path,
					strerror(errno));
				goto out;
			}
			p = chunk;
			n = (size_t)rd;
		} else {
			p = data + off;
			n = len - off < CHUNK ? len - off : CHUNK;
			off += n;
		}
		if (!n)
			break;
		for (w = 0; w < n; w += (size_t)rc) {
			DRIVE(c, rc, libssh2_sftp_write(fh, p + w, n - w));
			if (rc < 0) {
				ret = sftp_fail(c, (int)rc, path);
				if (ret == SSH_LOST)
					fh = NULL;
				goto out;
			}
		}
		if (!conn_yield(c, gen)) {
			fh = NULL;
			ret = SSH_LOST;
			goto out;
		}
	}
	DRIVE(c, rc, libssh2_sftp_close_handle(fh));
	fh = NULL;
	if (rc < 0) {
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	ret = 0;
out:
	if (fh && c->s && c->gen == gen)
		r_close(c, fh);
	free(chunk);
	return ret;
}

/*
 * Read path on the host into the local fd, or (fd < 0) into into; more
 * than max bytes: ERR_TOOBIG.  c->lock held, dropped between chunks.
 */
static int
get_file(struct conn *c, const char *path, int64_t max, int fd,
	 struct buf *into)
{
	LIBSSH2_SFTP_HANDLE *fh = NULL;
	unsigned gen = c->gen;
	char *chunk = xmalloc(CHUNK);
	int64_t total = 0;
	ssize_t rc;
	int ret = -1;

	DRIVE_PTR(
	    c, fh,
	    libssh2_sftp_open_ex(c->sftp, path, (unsigned int)strlen(path),
				 LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE));
	if (!fh) {
		rc = ptr_fail(c);
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	for (;;) {
		DRIVE(c, rc, libssh2_sftp_read(fh, chunk, CHUNK));
		if (rc < 0) {
			ret = sftp_fail(c, (int)rc, path);
			if (ret == SSH_LOST)
				fh = NULL;
			goto out;
		}
		if (!rc)
			break;
		total += rc;
		if (total > max) {
			ret = ERR_TOOBIG;
			goto out;
		}
		if (fd < 0) {
			buf_add(into, chunk, (size_t)rc);
		} else if (runner_write_all(fd, chunk, (size_t)rc) < 0) {
			err_set("cannot write: %s", strerror(errno));
			goto out;
		}
		if (!conn_yield(c, gen)) {
			fh = NULL;
			ret = SSH_LOST;
			goto out;
		}
	}
	ret = 0;
out:
	if (fh && c->s && c->gen == gen)
		r_close(c, fh);
	free(chunk);
	return ret;
}

/* ---- the helper shell on the host ------------------------------------- */

/*
 * What the session's helper channel runs (saved as
 * ~/.scaffold/agent-HASH.sh): a /bin/sh reading one command a line from
 * scaffold and answering on its stdout with lines of its own:
 *
 *	__start ID BASE		starts run ID (its dir BASE) in the
 *				background; "x ID STATUS DISPLAY OUT" when it
 *				ends (DISPLAY 1: run/.display is there; OUT
 *				1: meta/out is not empty)
 *	__run ID BASE ENV SCRIPT WRAPPER
 *				makes the run dir (meta/env too when ENV is
 *				1), writes the script and the wrapper (printf
 *				formats), then __start; "e ID MESSAGE" when
 *				it cannot: the start of a run that loads no
 *				files is one line, no SFTP round trip
 *	__sig TAG BASE SIG	SIG (TERM, KILL; 0: does it still run?) to
 *				the run's process group; "r TAG STATUS": 0,
 *				1 gone (or its pid names another process
 *				now), 3 not recorded yet
 *	__rm BASE...		removes run dirs, in the background
 *	__rmw TAG BASE		removes one now; "r TAG STATUS"
 *
 * A run is a fork of the helper (no exec) that starts wrapper.sh with
 * setsid, output appended to meta/out, records the group's id and the
 * leader's start time in meta/pid (so that a recycled pid is never
 * signalled), waits, writes meta/exit when the wrapper could not (exec, a
 * replaced EXIT trap, a signal; and then meta/no-trap), kills what is
 * left of the group and reports.  The run outlives the helper and the
 * connection: its output is in a file, its status in meta/exit.
 * Arguments are single-quoted by scaffold; the helper evals its lines.
 */
static const char agent_script[] =
    "# Written by scaffold (runner/ssh.c): starts and signals runs.\n"
    "umask 077\n"
    "__nl='\n"
    "'\n"
    "__setsid=\n"
    "command -v setsid >/dev/null 2>&1 && __setsid=setsid\n"
    "__stt() {\n"
    "\t__t=-\n"
    "\t__l=\n"
    "\tread -r __l 2>/dev/null <\"/proc/$1/stat\" || return 0\n"
    "\tset -- ${__l##*\") \"}\n"
    "\tshift 19\n"
    "\t__t=${1:--}\n"
    "}\n"
    "__start() {\n"
    "\t(\n"
    "\t\tif ! cd \"$2/run\"; then\n"
    "\t\t\techo 125 >\"$2/meta/exit\"\n"
    "\t\t\techo \"x $1 125 0\"\n"
    "\t\t\texit 0\n"
    "\t\tfi\n"
    "\t\t$__setsid /bin/sh -e \"$2/meta/wrapper.sh\" </dev/null "
    ">>\"$2/meta/out\" 2>&1 &\n"
    "\t\t__p=$!\n"
    "\t\t__stt \"$__p\"\n"
    "\t\techo \"$__p $__t\" >\"$2/meta/pid\"\n"
    "\t\twait \"$__p\"\n"
    "\t\t__s=$?\n"
    "\t\tif [ ! -s \"$2/meta/exit\" ]; then\n"
    "\t\t\t: >\"$2/meta/no-trap\"\n"
    "\t\t\techo \"$__s\" >\"$2/meta/exit\"\n"
    "\t\tfi\n"
    "\t\tkill -KILL -\"$__p\" 2>/dev/null\n"
    "\t\t__d=0\n"
    "\t\t[ -e \"$2/run/.display\" ] && __d=1\n"
    "\t\t__o=0\n"
    "\t\t[ -s \"$2/meta/out\" ] && __o=1\n"
    "\t\techo \"x $1 $__s $__d $__o\"\n"
    "\t) 2>/dev/null &\n"
    "}\n"
    "__mk() {\n"
    "\tif [ -e \"$2\" ]; then rm -rf -- \"$2\" || return 1; fi\n"
    "\tmkdir -p -- \"$2/meta\" \"$2/run\" || return 1\n"
    "\tif [ \"$3\" = 1 ]; then mkdir -- \"$2/meta/env\" || return 1; fi\n"
    "\tprintf \"%s$4\" '' >\"$2/meta/script\" &&\n"
    "\t    printf \"%s$5\" '' >\"$2/meta/wrapper.sh\"\n"
    "}\n"
    "__run() {\n"
    "\tif __mk \"$@\" 2>/dev/null; then\n"
    "\t\t__start \"$1\" \"$2\"\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\t__e=$(__mk \"$@\" 2>&1 >/dev/null) || :\n"
    "\techo \"e $1 ${__e%%\"$__nl\"*}\"\n"
    "}\n"
    "__sig() {\n"
    "\t__tag=$1\n"
    "\t__p=\n"
    "\t__pt=\n"
    "\tread -r __p __pt 2>/dev/null <\"$2/meta/pid\"\n"
    "\tcase $__p in ''|*[!0-9]*) echo \"r $__tag 3\"; return 0 ;; esac\n"
    "\tif [ \"${__pt:--}\" != - ] && [ -e \"/proc/$__p\" ]; then\n"
    "\t\t__stt \"$__p\"\n"
    "\t\tif [ \"$__t\" != \"$__pt\" ]; then echo \"r $__tag 1\"; "
    "return 0; fi\n"
    "\tfi\n"
    "\tif [ \"$3\" = 0 ] && [ -r /proc/self/stat ]; then\n"
    "\t\tfor __f in /proc/[0-9]*/stat; do\n"
    "\t\t\t__l=\n"
    "\t\t\tread -r __l 2>/dev/null <\"$__f\" || continue\n"
    "\t\t\tset -- ${__l##*\") \"}\n"
    "\t\t\tif [ \"${3-}\" = \"$__p\" ] && [ \"$1\" != Z ]; then\n"
    "\t\t\t\techo \"r $__tag 0\"\n"
    "\t\t\t\treturn 0\n"
    "\t\t\tfi\n"
    "\t\tdone\n"
    "\t\techo \"r $__tag 1\"\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tkill -\"$3\" -\"$__p\" 2>/dev/null || kill -\"$3\" \"$__p\" "
    "2>/dev/null\n"
    "\techo \"r $__tag $?\"\n"
    "}\n"
    "__rm() {\n"
    "\trm -rf -- \"$@\" </dev/null >/dev/null &\n"
    "}\n"
    "__rmw() {\n"
    "\t__tag=$1\n"
    "\tshift\n"
    "\trm -rf -- \"$@\" </dev/null >/dev/null\n"
    "\techo \"r $__tag $?\"\n"
    "}\n"
    "while IFS= read -r __c; do\n"
    "\teval \"$__c\"\n"
    "done\n";

static struct run_handle *
run_by_id(struct conn *c, int64_t id)
{
	struct run_handle *h;

	for (h = c->runs; h; h = h->next)
		if (h->run_id == id && h->live && !h->exited)
			return h;
	return NULL;
}

/* One line from the helper's stdout.  c->lock held. */
static void
agent_line(struct conn *c, const char *line)
{
	struct run_handle *h;
	long long id;
	unsigned tag;
	int st, disp, out, n = 0;

	if (sscanf(line, "x %lld %d %d %d%n", &id, &st, &disp, &out, &n) ==
		4 &&
	    !line[n]) {
		h = run_by_id(c, id);
		if (h) {
			h->exited = true;
			h->exit_status = st;
			h->display = disp == 1;
			h->out_empty = out == 0;
		}
		return;
	}
	if (sscanf(line, "e %lld %n", &id, &n) == 1 && n > 0) {
		h = run_by_id(c, id);
		if (h) {
			h->exited = true;
			h->start_failed = true;
			h->out_empty = true;
			snprintf(h->reason, sizeof(h->reason), "%s",
				 line[n] ? line + n : "failed");
		}
		return;
	}
	if (sscanf(line, "r %u %d%n", &tag, &st, &n) == 2 && !line[n]) {
		if (tag == c->tag) {
			c->replied = true;
			c->reply = st;
		}
		return;
	}
	log_warnx("runner: host '%s': the helper said: %s", c->name, line);
}

/* Complete lines of b go to fn (or the log); a runaway line is dropped. */
static void
agent_lines(struct conn *c, struct buf *b, bool err)
{
	char *nl, *p = b->ptr;
	size_t left;

	while ((nl = memchr(p, '\n', b->len - (size_t)(p - b->ptr)))) {
		*nl = '\0';
		if (err)
			log_warnx("runner: host '%s': the helper: %s", c->name,
				  p);
		else
			agent_line(c, p);
		p = nl + 1;
	}
	left = b->len - (size_t)(p - b->ptr);
	if (left > AGENT_LINE_MAX)
		left = 0;
	memmove(b->ptr, p, left);
	b->len = left;
	b->ptr[left] = '\0';
}

/*
 * Read what the helper wrote and act on it (ends of runs, answers).  0,
 * SSH_LOST (also when the helper itself has ended).  c->lock held.
 */
static int
agent_pump(struct conn *c)
{
	char buf[4096];
	ssize_t n;
	int stream;

	if (!c->agent)
		return SSH_LOST;
	for (stream = 0; stream < 2; stream++) {
		struct buf *b = stream ? &c->aerr : &c->ain;

		for (;;) {
			n = libssh2_channel_read_ex(
			    c->agent, stream ? SSH_EXTENDED_DATA_STDERR : 0,
			    buf, sizeof(buf));
			if (n > 0) {
				buf_add(b, buf, (size_t)n);
				agent_lines(c, b, stream);
				continue;
			}
			if (n == LIBSSH2_ERROR_EAGAIN &&
			    (libssh2_session_block_directions(c->s) &
			     LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
				/* a window adjust half sent: finish it now */
				if (conn_wait(c, now_ms() + IO_TIMEOUT_MS) < 0)
					return SSH_LOST;
				continue;
			}
			if (n < 0 && n != LIBSSH2_ERROR_EAGAIN &&
			    conn_check(c, (int)n) == SSH_LOST)
				return SSH_LOST;
			break;
		}
	}
	if (libssh2_channel_eof(c->agent))
		return conn_lost(c, "scaffold's helper on the host ended");
	return 0;
}

/* A line to the helper.  0, SSH_LOST.  c->lock held. */
static int
agent_send(struct conn *c, const char *line, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (!c->agent)
			return SSH_LOST;
		DRIVE(c, n, libssh2_channel_write(c->agent, line + off,
						  len - off));
		if (n == SSH_LOST)
			return SSH_LOST;
		if (n < 0)
			return conn_lost(c, last_error(c->s));
		off += (size_t)n;
	}
	return 0;
}

/*
 * "FN TAG ARG" to the helper, and its answer in *status.  0, SSH_LOST,
 * or -1 with err_set() when it does not answer in IO_TIMEOUT_MS.  c->lock
 * held.
 */
static int
agent_call(struct conn *c, const char *fn, const char *arg, int *status)
{
	struct buf cmd = BUF_INIT;
	int64_t dl = now_ms() + IO_TIMEOUT_MS;
	int r;

	*status = -1;
	c->tag++;
	c->replied = false;
	buf_addf(&cmd, "%s %u %s\n", fn, c->tag, arg);
	r = agent_send(c, cmd.ptr, cmd.len);
	buf_release(&cmd);
	while (r == 0) {
		r = agent_pump(c);
		if (r < 0 || c->replied)
			break;
		r = conn_wait_x(c, dl, true);
		if (r == ERR_TIMEOUT)
			r = err_set("host '%s': scaffold's helper did not "
				    "answer in time",
				    c->name);
	}
	if (r == 0)
		*status = c->reply;
	return r;
}

/* Send sig (TERM, KILL, 0) to the run's process group; the answer. */
static int
remote_signal(struct conn *c, struct run_handle *h, const char *sig,
	      int *status)
{
	struct buf arg = BUF_INIT;
	int r;

	sh_quote_str(&arg, h->base);
	buf_addf(&arg, " %s", sig);
	r = agent_call(c, "__sig", arg.ptr, status);
	buf_release(&arg);
	return r;
}

/* rm -rf the run's base dir on the host: now, or in the background. */
static int
remote_remove(struct conn *c, const char *base, bool now)
{
	struct buf arg = BUF_INIT;
	int r, status;

	if (!base || !strstr(base, "/.scaffold/runs/"))
		BUG("removing '%s'", base ? base : "(null)");
	if (!now)
		buf_puts(&arg, "__rm ");
	sh_quote_str(&arg, base);
	if (now) {
		r = agent_call(c, "__rmw", arg.ptr, &status);
		if (!r && status)
			r = err_set("host '%s': cannot remove '%s' (rm: exit "
				    "code %d)",
				    c->name, base, status);
	} else {
		buf_putc(&arg, '\n');
		r = agent_send(c, arg.ptr, arg.len);
	}
	buf_release(&arg);
	return r;
}

/*
 * The runs that ended lost with the last connection may still run on the
 * host (a dropped connection does not stop them): SIGKILL to their groups
 * and their dirs removed, before anything else runs.  0, SSH_LOST.
 * c->lock held.
 */
static int
reap_orphans(struct conn *c)
{
	struct run_handle tmp;
	int r = 0, status;
	size_t i;

	for (i = 0; i < c->orphans.n && r != SSH_LOST; i++) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.base = c->orphans.v[i];
		r = remote_signal(c, &tmp, "KILL", &status);
		if (r == 0 && status == 0)
			log_warnx("runner: host '%s': killed what was left of "
				  "a run lost with the connection ('%s')",
				  c->name, tmp.base);
		if (r == 0)
			r = remote_remove(c, tmp.base, false);
	}
	if (r != SSH_LOST)
		strvec_clear(&c->orphans);
	return r;
}

/* ---- the scripts ------------------------------------------------------ */

/* "export NAME='value'" lines for the run's environment. */
static int
build_exports(struct buf *out, const struct run_spec *spec)
{
	struct buf e = BUF_INIT;
	const struct runner_env *v;
	size_t i;
	int ret = ERR_INVALID;

	for (i = 0; i < spec->nenv; i++) {
		v = &spec->env[i];
		if (!runner_valid_env_name(v->name)) {
			err_set("env '%s': not a valid variable name",
				v->name ? runner_esc(&e, v->name) : "");
			goto out;
		}
		if (v->len && (!v->value || memchr(v->value, '\0', v->len))) {
			err_set("env '%s': the value holds a NUL byte",
				runner_esc(&e, v->name));
			goto out;
		}
		buf_addf(out, "export %s=", v->name);
		runner_sh_quote(out, v->len ? v->value : "", v->len);
		buf_putc(out, '\n');
	}
	ret = 0;
out:
	buf_release(&e);
	return ret;
}

/* path = mdir + "/" + name, single-quoted. */
static void
meta_word(struct buf *b, const struct run_handle *h, const char *name)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/%s", h->mdir, name);
	sh_quote_str(b, p.ptr);
	buf_release(&p);
}

/*
 * The wrapper: exports the environment, sources the script in this shell;
 * when the shell leaves (exit, set -e, end of the script) records the
 * store env on success, one file per name written with printf so that
 * every byte is kept, then the exit status, last (adopt() takes the exit
 * file as the end of the run).  The end also runs by hand after the
 * script, for scripts that replace the EXIT trap but end normally.
 */
static void
build_wrapper(struct buf *w, const struct run_handle *h,
	      const struct buf *exports)
{
	struct buf name = BUF_INIT;
	size_t i;
	const char *n;

	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# the store env and, last, its exit status.\n");
	buf_add(w, exports->ptr, exports->len);
	buf_puts(w, "export SCAFFOLD_RUN_DIR=");
	sh_quote_str(w, h->rdir);
	buf_puts(w, "\n__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tumask 077\n"
		    "\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < h->store_env.n; i++) {
		n = h->store_env.v[i];
		buf_reset(&name);
		buf_addf(&name, "env/%s", n);
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >",
			 n, n);
		meta_word(w, h, name.ptr);
		buf_puts(w, "; fi\n");
	}
	buf_puts(w, "\tfi\n\tcommand printf '%s\\n' \"$1\" >");
	meta_word(w, h, "exit");
	buf_puts(w, "\n}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". ");
	meta_word(w, h, "script");
	buf_puts(w, "\n__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
	buf_release(&name);
}

/* ---- the I/O thread --------------------------------------------------- */

/* Keep how far meta/out went into the log, for the next scaffold. */
static void
save_offset(struct run_handle *h)
{
	char v[32];
	int n;

	if (h->off_fd < 0 && h->off_path)
		h->off_fd = open(h->off_path, O_RDWR | O_CREAT | O_CLOEXEC,
				 0600);
	if (h->off_fd < 0)
		return;
	n = snprintf(v, sizeof(v), "%020lld\n", (long long)h->out_off);
	if (pwrite(h->off_fd, v, (size_t)n, 0) != n)
		log_warnx("runner: run %lld: cannot write '%s': %s",
			  (long long)h->run_id, h->off_path, strerror(errno));
}

/* What an earlier scaffold saved with save_offset(); 0 when nothing. */
static int64_t
load_offset(struct run_handle *h)
{
	char v[32];
	ssize_t n;
	int fd;

	fd = open(h->off_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	v[n] = '\0';
	return atoll(v) > 0 ? atoll(v) : 0;
}

/*
 * The run's meta/out, opened for reading (at h->out_off).  0, SSH_LOST;
 * when it cannot be opened h->out stays NULL, noted in the log if it
 * should be there (adopted: it was; else it may not be yet).  c->lock
 * held.
 */
static int
open_output(struct conn *c, struct run_handle *h, bool adopted)
{
	struct buf p = BUF_INIT;
	int rc, r = 0;

	buf_addf(&p, "%s/out", h->mdir);
	DRIVE_PTR(c, h->out,
		  libssh2_sftp_open_ex(c->sftp, p.ptr, (unsigned int)p.len,
				       LIBSSH2_FXF_READ, 0,
				       LIBSSH2_SFTP_OPENFILE));
	if (!h->out) {
		rc = ptr_fail(c);
		r = sftp_fail(c, rc, p.ptr);
		if (r != SSH_LOST) {
			if (adopted || r != ERR_NOTFOUND)
				run_log_note(&h->log,
					     "its output cannot be read: %s",
					     err_msg());
			r = 0;
		}
	}
	buf_release(&p);
	return r;
}

/*
 * Read what meta/out has beyond what the log has, into the log.  2 when
 * it stopped with more to read (SLICE_MAX), 1 when it read something, 0
 * when nothing, SSH_LOST.  A read error leaves the rest out, with a note.
 * c->lock held.
 */
static int
read_output(struct conn *c, struct run_handle *h, char *buf)
{
	size_t took = 0;
	ssize_t n;
	int r;

	if (!h->out) {
		r = open_output(c, h, false);
		if (r < 0 || !h->out)
			return r;
	}
	/* libssh2 remembers an end of file until the offset moves */
	libssh2_sftp_seek64(h->out, (libssh2_uint64_t)h->out_off + 1);
	libssh2_sftp_seek64(h->out, (libssh2_uint64_t)h->out_off);
	for (;;) {
		DRIVE(c, n, libssh2_sftp_read(h->out, buf, CHUNK));
		if (n == SSH_LOST)
			return SSH_LOST;
		if (n < 0) {
			sftp_fail(c, (int)n, "meta/out");
			run_log_note(&h->log, "cannot read the output on host "
					      "'%s' any more: %s",
				     c->name, err_msg());
			r_close(c, h->out);
			h->out = NULL;
			return c->s ? 0 : SSH_LOST;
		}
		if (!n)
			break;
		run_log_output(&h->log, buf, (size_t)n);
		h->out_off += n;
		save_offset(h);
		took += (size_t)n;
		if (took >= SLICE_MAX)
			return 2;
	}
	return took ? 1 : 0;
}

/* The run's end as the helper reported it, once its output is in. */
static void
finish_run(struct conn *c, struct run_handle *h)
{
	if (h->out && c->s)
		r_close(c, h->out);
	h->out = NULL;
	h->live = false;
	h->done = true;
	slot_release(c, h);
}

/*
 * Timeout and kill requests of a run: SIGTERM, SIGKILL GRACE_MS later;
 * a run still there KILL_WAIT_MS after that ends lost.  A signal that
 * comes before the run has recorded its group is sent again.  1 when
 * a command went to the host, 0, SSH_LOST.  c->lock held.
 */
static int
run_timers(struct conn *c, struct run_handle *h, int64_t now)
{
	char dur[32];
	int r, status;

	if (h->why == STOP_NONE && h->kill_req) {
		h->why = STOP_KILLED;
		run_log_note(&h->log, "killed");
		h->term_at = now;
		h->pending = "TERM";
	} else if (h->why == STOP_NONE && h->deadline_ms &&
		   now >= h->deadline_ms) {
		h->why = STOP_TIMEOUT;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		run_log_note(&h->log, "timed out after %s", dur);
		h->term_at = now;
		h->pending = "TERM";
	} else if (h->term_at && !h->kill_at && now >= h->term_at + GRACE_MS) {
		duration_format(dur, sizeof(dur), GRACE_MS);
		run_log_note(&h->log,
			     "still running %s after SIGTERM, sending SIGKILL",
			     dur);
		h->kill_at = now;
		h->pending = "KILL";
		h->retry_at = 0;
	} else if (h->kill_at && now >= h->kill_at + KILL_WAIT_MS) {
		duration_format(dur, sizeof(dur), KILL_WAIT_MS);
		h->pending = NULL;
		snprintf(h->reason, sizeof(h->reason),
			 "the run did not stop %s after SIGKILL", dur);
		if (h->live)
			finish_run(c, h);
		h->done = true;
		h->lost = true;
		pthread_cond_broadcast(&c->cond);
		return 0;
	}
	if (!h->pending || now < h->retry_at)
		return 0;
	r = remote_signal(c, h, h->pending, &status);
	if (r == SSH_LOST)
		return r;
	if (r < 0)
		log_warnx("runner: run %lld: host '%s': cannot send SIG%s: %s",
			  (long long)h->run_id, c->name, h->pending, err_msg());
	if (r == 0 && status == 3) /* not recorded yet */
		h->retry_at = now + SIGNAL_RETRY_MS;
	else
		h->pending = NULL;
	return 1;
}

/* t, or sooner when a timer of h is due before; -1: none. */
static int64_t
run_next_timer(const struct run_handle *h, int64_t now, int64_t t)
{
	if (h->why == STOP_NONE && h->kill_req)
		t = 0;
	if (h->pending)
		t = sooner(t, h->retry_at - now);
	if (h->why == STOP_NONE && h->deadline_ms)
		t = sooner(t, h->deadline_ms - now);
	if (h->term_at && !h->kill_at)
		t = sooner(t, h->term_at + GRACE_MS - now);
	if (h->kill_at)
		t = sooner(t, h->kill_at + KILL_WAIT_MS - now);
	if (h->live) {
		t = sooner(t, h->read_at - now);
		t = sooner(t, h->check_at - now);
	}
	return t;
}

/*
 * A started run whose end the helper did not report (it was killed, say):
 * its meta/exit, found twice EXIT_CHECK_MS apart, ends it.  c->lock held.
 */
static int
check_exit(struct conn *c, struct run_handle *h, int64_t now)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	int r;

	h->check_at = now + EXIT_CHECK_MS;
	buf_addf(&p, "%s/exit", h->mdir);
	r = get_file(c, p.ptr, EXIT_MAX, -1, &v);
	if (r == SSH_LOST)
		goto out;
	r = 0;
	if (!v.len || v.ptr[v.len - 1] != '\n') {
		h->exit_seen = false;
	} else if (!h->exit_seen) {
		h->exit_seen = true;
	} else if (!h->exited) {
		h->exited = true;
		h->exit_status = atoi(v.ptr);
		h->display = -1;
	}
out:
	buf_release(&p);
	buf_release(&v);
	return r;
}

/*
 * One turn for a started run: output, timers, its end.  *more when output
 * is still waiting.  c->lock held.
 */
static int
service_run(struct conn *c, struct run_handle *h, char *buf, bool *more)
{
	int64_t now = now_ms();
	int r;

	if (h->exited) {
		r = h->out_empty && !h->out ? 0 : read_output(c, h, buf);
		if (r == SSH_LOST)
			return r;
		if (r == 2) {
			*more = true;
			return 0;
		}
		finish_run(c, h);
		pthread_cond_broadcast(&c->cond);
		return 0;
	}
	if (now >= h->read_at) {
		r = read_output(c, h, buf);
		if (r == SSH_LOST)
			return r;
		if (r == 2)
			*more = true;
		if (r > 0)
			h->read_every = OUT_POLL_MIN_MS;
		else if (h->read_every < OUT_POLL_MAX_MS)
			h->read_every *= 2;
		h->read_at = now + h->read_every;
	}
	if (now >= h->check_at && check_exit(c, h, now) == SSH_LOST)
		return SSH_LOST;
	r = run_timers(c, h, now);
	if (r == SSH_LOST)
		return r;
	if (r == 1 || h->exited)
		*more = true; /* an answer may have ended others */
	return 0;
}

/*
 * The host's I/O thread: the helper's reports, the output of the runs,
 * their timers, keepalives; closes an idle session.  Sleeps in poll() on
 * the socket and the wake pipe with the lock dropped.
 */
static void *
io_main(void *arg)
{
	struct conn *c = arg;
	struct run_handle *h;
	struct pollfd p[2];
	char *buf = xmalloc(CHUNK), drain[64];
	int64_t now, t, tt;
	bool more;
	int nfds, secs, dirs, r;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		more = false;
		t = -1;
		if (c->s && c->agent && agent_pump(c) == SSH_LOST)
			continue;
		for (h = c->runs; h && c->s; h = h->next) {
			if (!h->live || h->done)
				continue;
			if (service_run(c, h, buf, &more) == SSH_LOST)
				break;
		}
		nfds = 1;
		p[0].fd = c->wake[0];
		p[0].events = POLLIN;
		if (c->s) {
			now = now_ms();
			dirs = libssh2_session_block_directions(c->s);
			if (!(dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
				r = libssh2_keepalive_send(c->s, &secs);
				if (r < 0 && conn_check(c, r) == SSH_LOST)
					continue;
				t = (int64_t)(secs > 0 ? secs : 1) * 1000;
			} else {
				t = 100;
			}
			for (h = c->runs; h; h = h->next)
				if (h->live && !h->done)
					t = run_next_timer(h, now, t);
			if (!c->runs && !c->slots) {
				tt = c->idle_since + IDLE_CLOSE_MS - now;
				if (tt <= 0) {
					teardown(c, true);
					continue;
				}
				t = sooner(t, tt);
			}
			p[1].fd = c->link->fd;
			p[1].events = POLLIN;
			if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
				p[1].events |= POLLOUT;
			p[1].revents = 0;
			nfds = 2;
		}
		if (more)
			t = 0;
		if (t > INT_MAX)
			t = INT_MAX;
		pthread_mutex_unlock(&c->lock);
		p[0].revents = 0;
		if (poll(p, (nfds_t)nfds, (int)t) > 0 && p[0].revents)
			while (read(c->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	free(buf);
	return NULL;
}

/* ---- start ------------------------------------------------------------ */

/* A handle for spec: checked names, the host's connection (a reference). */
static int
handle_new(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	struct buf e = BUF_INIT, p = BUF_INIT;
	size_t i;
	int ret = -1;

	*out = NULL;
	h->run_id = spec->run_id;
	if (spec->instance)
		snprintf(h->instance, sizeof(h->instance), "%s-",
			 spec->instance);
	h->log.fd = spec->log_fd;
	h->log.run_id = spec->run_id;
	h->log.last = '\n';
	h->exit_status = -1;
	h->off_fd = -1;
	h->display = -1;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	h->log.masker = masker_new(spec->secrets, spec->secret_lens,
			       spec->secrets ? spec->nsecrets : 0);
	if (!spec->work_dir) {
		ret = err_set("run %lld: no work dir", (long long)spec->run_id);
		goto out;
	}
	if (!spec->host || !*spec->host) {
		ret = err_set("run %lld: no host", (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nstore_env; i++) {
		if (!runner_valid_env_name(spec->store_env[i])) {
			err_set("store env '%s' is not a valid variable name",
				spec->store_env[i] ? runner_esc(&e, spec->store_env[i])
						   : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_env, spec->store_env[i]);
	}
	for (i = 0; i < spec->nstore_files; i++) {
		if (!runner_valid_rel_path(spec->store_files[i])) {
			err_set("store file '%s' is not a path inside the run "
				"dir",
				spec->store_files[i]
				    ? runner_esc(&e, spec->store_files[i])
				    : "");
			ret = ERR_INVALID;
			goto out;
		}
		strvec_push(&h->store_files, spec->store_files[i]);
	}
	h->c = conn_find(spec->host);
	if (!h->c) {
		err_set("host '%s' is not in the inventory",
			runner_esc(&e, spec->host));
		ret = ERR_NOTFOUND;
		goto out;
	}
	buf_addf(&p, "%s/run", spec->work_dir);
	h->local_run = buf_detach(&p, NULL);
	buf_addf(&p, "%s/ssh-out-offset", spec->work_dir);
	h->off_path = buf_detach(&p, NULL);
	*out = h;
	h = NULL;
	ret = 0;
out:
	ssh_free(h);
	buf_release(&e);
	buf_release(&p);
	return ret;
}

/* The run's paths on the host, under the home of the current session. */
static void
set_paths(struct run_handle *h)
{
	struct buf b = BUF_INIT;

	free(h->base);
	free(h->rdir);
	free(h->mdir);
	buf_addf(&b, "%s/.scaffold/runs/%s%lld",
		 strcmp(h->c->home, "/") ? h->c->home : "", h->instance,
		 (long long)h->run_id);
	h->base = buf_detach(&b, NULL);
	buf_addf(&b, "%s/run", h->base);
	h->rdir = buf_detach(&b, NULL);
	buf_addf(&b, "%s/meta", h->base);
	h->mdir = buf_detach(&b, NULL);
}

static void
list_add(struct conn *c, struct run_handle *h)
{
	if (h->listed)
		return;
	h->next = c->runs;
	c->runs = h;
	h->listed = true;
}

static void
list_del(struct conn *c, struct run_handle *h)
{
	struct run_handle **pp;

	if (!h->listed)
		return;
	for (pp = &c->runs; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	h->listed = false;
	if (!c->runs && !c->slots)
		c->idle_since = now_ms();
}

/* A loaded file into the run dir on the host, parents created. */
static int
upload_loaded(struct conn *c, struct run_handle *h, const char *path,
	      const char *src)
{
	struct buf np = BUF_INIT, rp = BUF_INIT, e = BUF_INIT;
	struct stat st;
	const char *p;
	int fd = -1, r, ret = -1;

	runner_norm_path(&np, path);
	for (p = strchr(np.ptr, '/'); p; p = strchr(p + 1, '/')) {
		buf_reset(&rp);
		buf_addf(&rp, "%s/%.*s", h->rdir, (int)(p - np.ptr), np.ptr);
		r = r_mkdir_ok(c, rp.ptr, 0755);
		if (r == SSH_LOST) {
			ret = r;
			goto out;
		}
		if (r < 0) {
			err_set("file '%s': cannot create directory '%.*s' on "
				"host '%s'",
				runner_esc(&e, path), (int)(p - np.ptr), np.ptr,
				c->name);
			goto out;
		}
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s", runner_esc(&e, path), src,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("file '%s': '%s' is not a regular file", runner_esc(&e, path),
			src);
		goto out;
	}
	buf_reset(&rp);
	buf_addf(&rp, "%s/%s", h->rdir, np.ptr);
	r = put_file(c, rp.ptr, (long)((st.st_mode & 0777) | 0600), fd, NULL,
		     0);
	if (r == SSH_LOST) {
		ret = r;
		goto out;
	}
	if (r < 0) {
		err_wrap("file '%s': cannot create it on host '%s'",
			 runner_esc(&e, path), c->name);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&np);
	buf_release(&rp);
	buf_release(&e);
	return ret;
}

/* One of scaffold's files into meta/ on the host. */
static int
upload_meta(struct conn *c, struct run_handle *h, const char *name,
	    const char *data, size_t len)
{
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/%s", h->mdir, name);
	r = put_file(c, p.ptr, 0600, -1, data, len);
	if (r < 0 && r != SSH_LOST)
		r = err_wrap("host '%s': cannot write", c->name);
	buf_release(&p);
	return r;
}

/* ~/.scaffold/runs on the host.  c->lock held. */
static int
make_runs_dir(struct conn *c)
{
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/.scaffold", strcmp(c->home, "/") ? c->home : "");
	r = r_mkdir_ok(c, p.ptr, 0700);
	buf_puts(&p, "/runs");
	if (r == 0)
		r = r_mkdir_ok(c, p.ptr, 0700);
	if (r < 0 && r != SSH_LOST)
		r = err_wrap("host '%s': cannot create '%s'", c->name, p.ptr);
	buf_release(&p);
	return r;
}

/*
 * The session's helper: ~/.scaffold/runs made, the helper's script saved
 * under a name that is its hash (once per host and version), its channel
 * started.  c->lock held, during conn_connect().
 */
static int
agent_start(struct conn *c)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	LIBSSH2_CHANNEL *ch = NULL;
	struct buf path = BUF_INIT, tmp = BUF_INIT, cmd = BUF_INIT;
	char hex[SHA256_HEX_LEN + 1];
	int r, rc, ret = -1;

	if ((r = make_runs_dir(c)) < 0)
		goto fail;
	sha256_hex(hex, agent_script, sizeof(agent_script) - 1);
	buf_addf(&path, "%s/.scaffold/agent-%.16s.sh",
		 strcmp(c->home, "/") ? c->home : "", hex);
	r = r_stat(c, path.ptr, false, &st);
	if (r == ERR_NOTFOUND) {
		/* written aside, then renamed: another scaffold may be here */
		buf_addf(&tmp, "%s.%ld.%u", path.ptr, (long)getpid(), c->gen);
		r = put_file(c, tmp.ptr, 0600, -1, agent_script,
			     sizeof(agent_script) - 1);
		if (r == 0) {
			DRIVE(c, rc,
			      libssh2_sftp_rename_ex(
				  c->sftp, tmp.ptr, (unsigned int)tmp.len,
				  path.ptr, (unsigned int)path.len,
				  LIBSSH2_SFTP_RENAME_OVERWRITE |
				      LIBSSH2_SFTP_RENAME_ATOMIC |
				      LIBSSH2_SFTP_RENAME_NATIVE));
			if (rc < 0 && rc != SSH_LOST) {
				/* it lost the race: the other one is there */
				DRIVE(c, rc,
				      libssh2_sftp_unlink_ex(
					  c->sftp, tmp.ptr,
					  (unsigned int)tmp.len));
				r = r_stat(c, path.ptr, false, &st);
			}
			if (rc == SSH_LOST)
				r = SSH_LOST;
		}
	}
	if (r < 0)
		goto fail;
	DRIVE_PTR(c, ch, libssh2_channel_open_session(c->s));
	if (!ch) {
		r = ptr_fail(c);
		if (r != SSH_LOST)
			err_set("host '%s': cannot open a channel: %s", c->name,
				last_error(c->s));
		goto fail;
	}
	buf_puts(&cmd, "exec /bin/sh ");
	sh_quote_str(&cmd, path.ptr);
	DRIVE(c, rc, libssh2_channel_exec(ch, cmd.ptr));
	if (rc < 0) {
		if (rc != SSH_LOST)
			err_set("host '%s': cannot start scaffold's helper: %s",
				c->name, last_error(c->s));
		r = rc == SSH_LOST ? rc : -1;
		goto fail;
	}
	c->agent = ch;
	ret = 0;
	goto out;
fail:
	if (r == SSH_LOST)
		err_set("host '%s' (%s): lost contact while starting: %s",
			c->name, c->where, c->lost_reason);
	else if (r < 0 && !strstr(err_msg(), c->name))
		err_wrap("host '%s': cannot start scaffold's helper",
			 c->name);
	ret = -1;
out:
	buf_release(&path);
	buf_release(&tmp);
	buf_release(&cmd);
	return ret;
}

/*
 * data as one single-quoted printf format that prints it byte for byte,
 * on one line; false when it holds a NUL (printf cannot make one).
 */
static bool
printf_word(struct buf *out, const char *data, size_t len)
{
	size_t i;

	if (memchr(data, '\0', len))
		return false;
	buf_putc(out, '\'');
	for (i = 0; i < len; i++) {
		switch (data[i]) {
		case '\\':
			buf_puts(out, "\\\\");
			break;
		case '%':
			buf_puts(out, "%%");
			break;
		case '\n':
			buf_puts(out, "\\n");
			break;
		case '\'':
			buf_puts(out, "'\\''");
			break;
		default:
			buf_putc(out, data[i]);
		}
	}
	buf_putc(out, '\'');
	return true;
}

/*
 * The helper's line that makes the run dir, writes the script and the
 * wrapper and starts the run; false when the run needs SFTP (it loads
 * files, or the line would be long: the helper's shell reads a byte at a
 * time).
 */
static bool
run_line(struct buf *line, const struct run_handle *h,
	 const struct run_spec *spec, const struct buf *wrapper)
{
	if (spec->nfiles)
		return false;
	buf_addf(line, "__run %lld ", (long long)h->run_id);
	sh_quote_str(line, h->base);
	buf_addf(line, " %d ", h->store_env.n ? 1 : 0);
	if (!printf_word(line, spec->script, spec->script_len))
		return false;
	buf_putc(line, ' ');
	if (!printf_word(line, wrapper->ptr, wrapper->len))
		return false;
	buf_putc(line, '\n');
	return line->len <= RUN_LINE_MAX;
}

/*
 * On the host: the run dir, its files and scripts, then the helper starts
 * the run; for a run that loads no files, all of it is one line to the
 * helper.  c->lock held (dropped between chunks).  *exec_sent once the
 * run may have started.
 */
static int
prepare_remote(struct conn *c, struct run_handle *h,
	       const struct run_spec *spec, const struct buf *exports,
	       bool *exec_sent)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT, w = BUF_INIT, line = BUF_INIT;
	size_t i;
	int r, ret = -1;

	set_paths(h);
	runner_umask_line(&w, spec, c->umask);
	build_wrapper(&w, h, exports);
	if (run_line(&line, h, spec, &w))
		goto start;
	buf_reset(&line);
	r = r_mkdir(c, h->base, 0700);
	if (r < 0 && r != SSH_LOST) {
		/* left by an earlier start of this run that died half way,
		 * or someone cleaned ~/.scaffold up */
		r = r_stat(c, h->base, false, &st);
		if (r == 0)
			r = remote_remove(c, h->base, true);
		else if (r == ERR_NOTFOUND)
			r = make_runs_dir(c);
		if (r == 0)
			r = r_mkdir(c, h->base, 0700);
	}
	if (r < 0 || (r = r_mkdir(c, h->rdir, 0700)) < 0 ||
	    (r = r_mkdir(c, h->mdir, 0700)) < 0)
		goto fail;
	if (h->store_env.n) {
		buf_addf(&p, "%s/env", h->mdir);
		if ((r = r_mkdir(c, p.ptr, 0700)) < 0)
			goto fail;
	}
	for (i = 0; i < spec->nfiles; i++)
		if ((r = upload_loaded(c, h, spec->files[i].path,
				       spec->files[i].src)) < 0)
			goto out_r;
	if ((r = upload_meta(c, h, "script", spec->script, spec->script_len)) <
	    0)
		goto out_r;
	if ((r = upload_meta(c, h, "wrapper.sh", w.ptr, w.len)) < 0)
		goto out_r;
	buf_addf(&line, "__start %lld ", (long long)h->run_id);
	sh_quote_str(&line, h->base);
	buf_putc(&line, '\n');
start:
	h->live = true;
	h->exited = false;
	h->read_every = OUT_POLL_MIN_MS;
	h->read_at = now_ms() + OUT_POLL_MIN_MS;
	h->check_at = now_ms() + EXIT_CHECK_MS;
	list_add(c, h);
	*exec_sent = true;
	if ((r = agent_send(c, line.ptr, line.len)) < 0) {
		h->live = false;
		goto out_r;
	}
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - now_ms())
		h->deadline_ms = now_ms() + h->timeout_ms;
	ret = 0;
	goto out;
fail:
	if (r != SSH_LOST && r < 0)
		err_wrap("host '%s': cannot create the run dir '%s'", c->name,
			 h->base);
out_r:
	ret = r < 0 ? r : -1;
out:
	/* the env may hold secrets */
	memset(w.ptr, 0, w.len);
	memset(line.ptr, 0, line.len);
	buf_release(&p);
	buf_release(&w);
	buf_release(&line);
	return ret;
}

static int
ssh_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf exports = BUF_INIT, e = BUF_INIT;
	struct conn *c;
	bool fresh, exec_sent;
	size_t i;
	int tries, r, ret = -1;

	*out = NULL;
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	c = h->c;
	if (!spec->script) {
		ret = err_set("run %lld: no script", (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nfiles; i++) {
		if (!runner_valid_rel_path(spec->files[i].path) ||
		    !spec->files[i].src) {
			err_set("file '%s' is not a path inside the run dir",
				spec->files[i].path
				    ? runner_esc(&e, spec->files[i].path)
				    : "");
			ret = ERR_INVALID;
			goto out;
		}
	}
	if ((ret = build_exports(&exports, spec)) < 0)
		goto out;
	ret = -1;

	pthread_mutex_lock(&c->lock);
	while (c->slots >= c->max_sessions)
		pthread_cond_wait(&c->cond, &c->lock);
	c->slots++;
	h->slot = true;
	for (tries = 0;; tries++) {
		exec_sent = false;
		r = conn_ensure(c, &fresh);
		if (r < 0) {
			ret = r;
			break;
		}
		r = prepare_remote(c, h, spec, &exports, &exec_sent);
		if (!r) {
			ret = 0;
			break;
		}
		/* a shared session that died while idle: once more */
		if (r == SSH_LOST && !fresh && !exec_sent && !tries)
			continue;
		if (r == SSH_LOST)
			lost_err(c);
		ret = r == SSH_LOST ? -1 : r;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	if (ret < 0)
		goto out;
	*out = h;
	h = NULL;
out:
	ssh_free(h); /* removes what it made on the host */
	if (exports.len)
		memset(exports.ptr, 0, exports.len);
	buf_release(&exports);
	buf_release(&e);
	return ret;
}

/* ---- adopt ------------------------------------------------------------ */

/*
 * The exit status in meta/exit: 0 and *status, ERR_NOTFOUND while absent
 * (or not written completely yet), SSH_LOST, -1.  c->lock held.
 */
static int
read_exit(struct conn *c, struct run_handle *h, int *status)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	char *end;
	long n;
	int r;

	buf_addf(&p, "%s/exit", h->mdir);
	r = get_file(c, p.ptr, EXIT_MAX, -1, &v);
	if (r == ERR_TOOBIG)
		r = err_set("host '%s': '%s' is not an exit status", c->name,
			    p.ptr);
	if (r < 0)
		goto out;
	errno = 0;
	n = strtol(v.ptr, &end, 10);
	if (!v.len || v.ptr[v.len - 1] != '\n') {
		r = ERR_NOTFOUND; /* being written */
		goto out;
	}
	if (end == v.ptr || *end != '\n' || errno || n < 0 || n > 255) {
		r = err_set("host '%s': '%s' is not an exit status", c->name,
			    p.ptr);
		goto out;
	}
	*status = (int)n;
	r = 0;
out:
	buf_release(&p);
	buf_release(&v);
	return r;
}

/*
 * Does the run's process group still run?  1, 0, 2 when the helper has
 * not recorded it yet (it is starting, or died first), SSH_LOST, -1.
 */
static int
still_runs(struct conn *c, struct run_handle *h)
{
	int r, status;

	r = remote_signal(c, h, "0", &status);
	if (r < 0)
		return r;
	return status == 0 ? 1 : status == 3 ? 2 : 0;
}

/* The deadline of an adopted run, from its start (meta/pid's mtime). */
static void
adopt_deadline(struct conn *c, struct run_handle *h)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT;
	int64_t left = h->timeout_ms, ran;

	if (!h->timeout_ms)
		return;
	buf_addf(&p, "%s/pid", h->mdir);
	if (r_stat(c, p.ptr, false, &st) == 0 &&
	    (st.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)) {
		ran = ((int64_t)time(NULL) - (int64_t)st.mtime) * 1000;
		if (ran > 0)
			left = ran >= h->timeout_ms ? 0 : h->timeout_ms - ran;
	}
	h->deadline_ms = now_ms() + left;
	buf_release(&p);
}

static int
ssh_adopt(struct run_handle **out, const struct run_spec *spec)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct run_handle *h = NULL;
	struct conn *c = NULL;
	struct buf p = BUF_INIT;
	int r, status, ret = -1;

	*out = NULL;
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	c = h->c;
	h->removed = true; /* a failed adopt leaves the host as it is */
	pthread_mutex_lock(&c->lock);
	if ((r = conn_ensure(c, NULL)) < 0) {
		ret = r;
		goto unlock;
	}
	set_paths(h);
	r = read_exit(c, h, &status);
	if (r == ERR_NOTFOUND) {
		r = r_stat(c, h->base, false, &st);
		if (r == ERR_NOTFOUND) {
			/* it goes only once the run's end is recorded */
			err_set("run %lld: no run dir '%s' on host '%s'",
				(long long)h->run_id, h->base, c->name);
			ret = RUNNER_NOT_STARTED;
			goto unlock;
		}
		if (r == 0) {
			/* the helper's __start creates meta/out as it forks
			 * the wrapper: without it, the wrapper never ran */
			buf_addf(&p, "%s/out", h->mdir);
			r = r_stat(c, p.ptr, false, &st);
			if (r == ERR_NOTFOUND) {
				err_set("run %lld: it was never started on "
					"host '%s'",
					(long long)h->run_id, c->name);
				h->removed = false; /* its remains go */
				ret = RUNNER_NOT_STARTED;
				goto unlock;
			}
		}
		if (r == 0)
			r = still_runs(c, h);
		if (r == 1 || r == 2) {
			h->polling = true;
			r = 0;
		} else if (r == 0) {
			/* it may have ended just now */
			r = read_exit(c, h, &status);
			if (r == ERR_NOTFOUND) {
				err_set("run %lld: it does not run on host "
					"'%s' any more and left no exit status",
					(long long)h->run_id, c->name);
				h->removed = false; /* its remains go */
				ret = ERR_NOTFOUND;
				goto unlock;
			}
		}
	}
	if (r == SSH_LOST) {
		lost_err(c);
		goto unlock;
	}
	if (r < 0)
		goto unlock;
	if (!h->polling)
		h->finished = true;
	h->removed = false;
	adopt_deadline(c, h);
	list_add(c, h);
	h->out_off = load_offset(h);
	if ((r = open_output(c, h, true)) == SSH_LOST) {
		lost_err(c);
		goto unlock;
	}
	run_log_note(&h->log, "re-adopted after a restart");
	*out = h;
	h = NULL;
	ret = 0;
unlock:
	pthread_mutex_unlock(&c->lock);
out:
	ssh_free(h);
	buf_release(&p);
	return ret;
}

/* ---- wait ------------------------------------------------------------- */

/*
 * An adopted run that still runs: look for meta/exit every ADOPT_POLL_MS,
 * with the timers of a run (kill requests, the timeout).  0 and *status,
 * SSH_LOST, -1 with reason set.  c->lock held.
 */
static int
poll_run(struct conn *c, struct run_handle *h, char *buf, int *status,
	 char *reason, size_t rlen)
{
	struct timespec ts;
	int64_t until;
	int r, polls = 0;

	for (;;) {
		r = conn_ensure(c, NULL);
		if (r < 0) {
			snprintf(reason, rlen, "%s", err_msg());
			return -1;
		}
		if (read_output(c, h, buf) == SSH_LOST)
			return SSH_LOST;
		r = read_exit(c, h, status);
		if (r != ERR_NOTFOUND)
			return r;
		r = run_timers(c, h, now_ms());
		if (r == SSH_LOST)
			return r;
		if (h->done) {
			snprintf(reason, rlen, "%s", h->reason);
			return -1;
		}
		if (++polls % ALIVE_EVERY == 0) {
			r = still_runs(c, h);
			if (r < 0)
				return r;
			/* never recorded: its monitor died first */
			if (r == 2 && polls >= 6 * ALIVE_EVERY)
				r = 0;
			if (r == 0) {
				r = read_exit(c, h, status);
				if (r != ERR_NOTFOUND)
					return r;
				snprintf(reason, rlen,
					 "the run ended without an exit "
					 "status");
				return -1;
			}
		}
		until = now_ms() + ADOPT_POLL_MS;
		while (!h->kill_req || h->why != STOP_NONE) {
			if (now_ms() >= until)
				break;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ADOPT_POLL_MS / 1000;
			ts.tv_nsec += (ADOPT_POLL_MS % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&c->cond, &c->lock, &ts))
				break;
		}
	}
}

/* After the run: RUN_LOST with the reason, in the result and the log. */
static void
result_lost(struct run_handle *h, struct run_result *out, const char *reason)
{
	out->outcome = RUN_LOST;
	out->exit_code = -1;
	snprintf(out->message, sizeof(out->message),
		 "lost contact with host '%s': %s", h->c->name, reason);
	run_log_note(&h->log, "%s", out->message);
}

/* What the ssh backend gives runner_outputs_collect().  c->lock held. */
struct ssh_out {
	struct run_handle *h;
	const char *name; /* the store file being taken */
};

/* What path (run dir relative) is on the host, by SFTP lstat. */
static int
ssh_out_stat(struct ssh_out *so, const char *rel, enum runner_kind *k,
	     LIBSSH2_SFTP_ATTRIBUTES *st)
{
	struct buf rp = BUF_INIT, e = BUF_INIT;
	int r;

	buf_addf(&rp, "%s/%s", so->h->rdir, rel);
	r = r_stat(so->h->c, rp.ptr, false, st);
	buf_release(&rp);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	if (r == ERR_NOTFOUND) {
		*k = RUNNER_KIND_MISSING;
		return 0;
	}
	if (r < 0) {
		r = err_set("store file '%s': %s", runner_esc(&e, so->name),
			    err_msg());
		buf_release(&e);
		return r;
	}
	if (!(st->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS))
		*k = RUNNER_KIND_UNKNOWN;
	else if (LIBSSH2_SFTP_S_ISLNK(st->permissions))
		*k = RUNNER_KIND_LINK;
	else if (LIBSSH2_SFTP_S_ISDIR(st->permissions))
		*k = RUNNER_KIND_DIR;
	else if (LIBSSH2_SFTP_S_ISREG(st->permissions))
		*k = RUNNER_KIND_FILE;
	else
		*k = RUNNER_KIND_OTHER;
	return 0;
}

static int
ssh_out_kind(void *arg, const char *rel, enum runner_kind *k)
{
	LIBSSH2_SFTP_ATTRIBUTES st;

	return ssh_out_stat(arg, rel, k, &st);
}

/*
 * One store file into local_run/<path>.  Every directory on its way must
 * be a directory, not a symlink, and the file a regular file within the
 * caps.
 */
static int
ssh_out_file(void *arg, size_t i, const char *name, int64_t *total,
	     char **src)
{
	struct ssh_out *so = arg;
	struct run_handle *h = so->h;
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf np = BUF_INIT, rp = BUF_INIT, e = BUF_INIT, dst = BUF_INIT;
	struct buf dir = BUF_INIT;
	enum runner_kind k;
	struct stat lst;
	const char *slash;
	int64_t room;
	int fd = -1, r, ret;

	(void)i;
	so->name = name;
	ret = runner_outputs_walk(name, ssh_out_kind, so);
	if (ret < 0)
		goto out;
	runner_norm_path(&np, name);
	ret = ssh_out_stat(so, np.ptr, &k, &st);
	if (ret < 0)
		goto out;
	ret = runner_outputs_check(name, k,
				   (st.flags & LIBSSH2_SFTP_ATTR_SIZE) ?
					   (st.filesize > (libssh2_uint64_t)
							       INT64_MAX ?
						    INT64_MAX :
						    (int64_t)st.filesize) :
					   -1,
				   *total);
	if (ret < 0)
		goto out;

	buf_addf(&dst, "%s/%s", h->local_run, np.ptr);
	slash = strrchr(dst.ptr, '/');
	buf_add(&dir, dst.ptr, (size_t)(slash - dst.ptr));
	if (mkdir_p(dir.ptr, 0755) < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, name),
			      err_msg());
		goto out;
	}
	unlink(dst.ptr);
	fd = open(dst.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		ret = err_set("store file '%s': cannot create '%s': %s",
			      runner_esc(&e, name), dst.ptr, strerror(errno));
		goto out;
	}
	buf_addf(&rp, "%s/%s", h->rdir, np.ptr);
	room = runner_store_file_room(*total);
	r = get_file(h->c, rp.ptr, room, fd, NULL);
	if (r == SSH_LOST) {
		ret = RUNNER_OUT_LOST;
		goto out;
	}
	if (r == ERR_TOOBIG) {
		/* it grew past a cap while it was read: name that cap */
		ret = runner_store_cap_check(name, room + 1, *total);
		unlink(dst.ptr);
		goto out;
	}
	if (r < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, name),
			      err_msg());
		goto out;
	}
	if (fstat(fd, &lst) < 0)
		lst.st_size = room;
	r = close(fd);
	fd = -1;
	if (r < 0) {
		ret = err_set("store file '%s': cannot write '%s': %s",
			      runner_esc(&e, name), dst.ptr, strerror(errno));
		goto out;
	}
	*total += (int64_t)lst.st_size;
	*src = buf_detach(&dst, NULL);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&np);
	buf_release(&rp);
	buf_release(&e);
	buf_release(&dst);
	buf_release(&dir);
	return ret;
}

/* Store env name from meta/env/NAME. */
static int
ssh_out_env(void *arg, size_t i, const char *name, size_t max,
	    struct buf *val)
{
	struct ssh_out *so = arg;
	struct buf p = BUF_INIT;
	int r;

	(void)i;
	buf_addf(&p, "%s/env/%s", so->h->mdir, name);
	r = get_file(so->h->c, p.ptr, (int64_t)max, -1, val);
	buf_release(&p);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	if (r < 0 && r != ERR_TOOBIG && r != ERR_NOTFOUND)
		r = err_set("store env '%s': %s", name, err_msg());
	return r;
}

/* The wrapper leaves meta/no-trap until its trap recorded the env. */
static int
ssh_out_uncaptured(void *arg)
{
	struct ssh_out *so = arg;
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/no-trap", so->h->mdir);
	r = r_stat(so->h->c, p.ptr, false, &st);
	buf_release(&p);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	return r == 0;
}

/*
 * After success: the store files and env into out.  0, RUNNER_OUT_FAILED
 * (out->message set), SSH_LOST.  c->lock held.
 */
static int
collect(struct run_handle *h, struct run_result *out)
{
	struct ssh_out so = { h, NULL };
	struct runner_outputs o = {
		.store_files = &h->store_files,
		.store_env = &h->store_env,
		.log = &h->log,
		.no_display = h->display == 0,
		.arg = &so,
		.file = ssh_out_file,
		.env = ssh_out_env,
		.uncaptured = ssh_out_uncaptured,
	};
	int r = runner_outputs_collect(&o, out);

	return r == RUNNER_OUT_LOST ? SSH_LOST : r;
}

static int
ssh_wait(struct run_handle *h, struct run_result *out)
{
	struct conn *c = h->c;
	char reason[512], dur[32], *buf;
	int status = -1, r = 0;
	bool lost = false;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	reason[0] = '\0';

	pthread_mutex_lock(&c->lock);
	if (h->polling || h->finished) {
		buf = xmalloc(CHUNK);
		if (h->finished)
			r = conn_ensure(c, NULL) < 0 ? -2
						     : read_exit(c, h, &status);
		else
			r = poll_run(c, h, buf, &status, reason,
				     sizeof(reason));
		if (r == -2) {
			snprintf(reason, sizeof(reason), "%s", err_msg());
			r = -1;
		} else if (r == SSH_LOST) {
			snprintf(reason, sizeof(reason), "%s", c->lost_reason);
		} else if (r < 0 && !reason[0]) {
			snprintf(reason, sizeof(reason), "%s", err_msg());
		}
		lost = r < 0;
		h->exit_status = status;
		/* the rest of its output */
		while (!lost && h->out && (r = read_output(c, h, buf)) > 0)
			;
		if (!lost && r == SSH_LOST) {
			snprintf(reason, sizeof(reason), "%s", c->lost_reason);
			lost = true;
		}
		if (h->out && c->s)
			r_close(c, h->out);
		h->out = NULL;
		free(buf);
	} else {
		while (!h->done)
			pthread_cond_wait(&c->cond, &c->lock);
		lost = h->lost;
		snprintf(reason, sizeof(reason), "%s", h->reason);
		status = h->exit_status;
	}
	run_log_flush(&h->log);

	if (lost) {
		result_lost(h, out, reason);
	} else if (h->start_failed) {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message),
			 "host '%s': cannot create the run dir '%s': %s",
			 c->name, h->base, h->reason);
		run_log_note(&h->log, "%s", out->message);
	} else if (h->why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (h->why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (status == 0) {
		out->outcome = RUN_SUCCESS;
		out->exit_code = 0;
		r = conn_ensure(c, NULL) < 0 ? -2 : collect(h, out);
		if (r == -2) {
			result_lost(h, out, err_msg());
			lost = true;
		} else if (r == SSH_LOST) {
			result_lost(h, out, c->lost_reason);
			lost = true;
		} else if (r == RUNNER_OUT_FAILED) {
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
		}
	} else {
		out->outcome = RUN_ERROR;
		out->exit_code = status;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 status);
	}

	/*
	 * The run dir stays until free(), which the engine calls once the
	 * run's end is recorded: a scaffold killed before that adopts the
	 * run again and finds it.  A lost run's is out of reach (the next
	 * session ends what is left of it, see reap_orphans()).
	 */
	if (lost)
		h->removed = true;
	slot_release(c, h);
	list_del(c, h);
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	return 0;
}

/* Safe from any thread: the I/O thread (or an adopted run's wait) acts. */
static int
ssh_kill(struct run_handle *h)
{
	pthread_mutex_lock(&h->c->lock);
	h->kill_req = true;
	pthread_cond_broadcast(&h->c->cond);
	pthread_mutex_unlock(&h->c->lock);
	conn_wake(h->c);
	return 0;
}

void
ssh_detach(struct run_handle *h)
{
	h->detached = true;
}

/*
 * Without wait(): kill the run's group and remove its run dir (unless
 * detached), close its channel.  The thread's error stays as it was.
 */
static void
ssh_free(struct run_handle *h)
{
	struct conn *c;
	char *saved;
	int r, status;

	if (!h)
		return;
	c = h->c;
	if (c) {
		saved = xstrdup(err_msg());
		pthread_mutex_lock(&c->lock);
		if (h->live && c->s && !h->detached) {
			r = remote_signal(c, h, "KILL", &status);
			if (r < 0 && r != SSH_LOST)
				log_warnx("runner: run %lld: host '%s': %s",
					  (long long)h->run_id, c->name,
					  err_msg());
		}
		h->live = false;
		if (h->out && c->s)
			r_close(c, h->out);
		h->out = NULL;
		if (!h->detached && !h->removed && h->base && c->s) {
			r = remote_remove(c, h->base, false);
			if (r < 0 && r != SSH_LOST)
				log_warnx("runner: run %lld: %s",
					  (long long)h->run_id, err_msg());
		}
		slot_release(c, h);
		list_del(c, h);
		pthread_mutex_unlock(&c->lock);
		conn_wake(c);
		conn_put(c);
		err_set("%s", saved);
		free(saved);
	}
	masker_free(h->log.masker);
	strvec_clear(&h->store_files);
	strvec_clear(&h->store_env);
	free(h->base);
	free(h->rdir);
	free(h->mdir);
	free(h->local_run);
	if (h->off_fd >= 0)
		close(h->off_fd);
	free(h->off_path);
	free(h);
}

const struct runner_ops runner_ssh = {
    .name = "ssh",
    .start = ssh_start,
    .wait = ssh_wait,
    .kill = ssh_kill,
    .free = ssh_free,
    .adopt = ssh_adopt,
};
