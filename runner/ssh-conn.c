/*
 * ssh-conn.c - the ssh runner's connections (see ssh.c): the inventory of
 * hosts, one libssh2 session per host (TCP, the host key checked against
 * known_hosts, public key login), waiting on a non-blocking session, and
 * what happens when a connection breaks.
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

#include "ssh-int.h"

static pthread_mutex_t inv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn **inv;
static size_t ninv;

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc = -1;

static void
lib_init(void)
{
	lib_rc = libssh2_init(0);
}

int64_t
ssh_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* err_set("PREFIX: MESSAGE"), MESSAGE being the thread's current one.  -1. */
int PRINTF_LIKE(1, 2) ssh_err_wrap(const char *fmt, ...)
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
void
ssh_quote(struct buf *b, const char *s)
{
	runner_sh_quote(b, s, strlen(s));
}

/* The ssh_sooner of two waits in ms (-1: none); an overdue one counts as 0. */
int64_t
ssh_sooner(int64_t t, int64_t x)
{
	if (x < 0)
		x = 0;
	return t < 0 || x < t ? x : t;
}

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
void
conn_wake(struct conn *c)
{
	char one = 1;

	if (c->wake[1] >= 0 && write(c->wake[1], &one, 1) < 0 &&
	    errno != EAGAIN)
		log_warn("runner: host '%s': cannot wake the I/O thread",
			 c->name);
}

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
	conn_teardown(c, true);
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

void
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
struct conn *
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
		conn_teardown(c, true);
	}
	pthread_mutex_unlock(&c->lock);
	conn_put(c);
	return ret;
}

/* libssh2's socket I/O: errors as -errno; a dead link reads as closed. */
static ssize_t
link_send(libssh2_socket_t fd, const void *buffer, size_t length, int flags,
	  void **abstract)
{
	struct link *l = *abstract;
	ssize_t n;

	(void)fd;
	if (l->dead)
		return (ssize_t)length; /* swallowed: see conn_teardown() */
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
const char *
ssh_last_error(LIBSSH2_SESSION *s)
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
void
conn_teardown(struct conn *c, bool graceful)
{
	int64_t dl = ssh_now_ms() + 2000;
	struct pollfd p;
	int rc;

	if (!c->s)
		return;
	if (graceful && c->sftp) {
		while ((rc = libssh2_sftp_shutdown(c->sftp)) ==
			   LIBSSH2_ERROR_EAGAIN &&
		       ssh_now_ms() < dl) {
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
		       ssh_now_ms() < dl) {
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
void
conn_slot_release(struct conn *c, struct run_handle *h)
{
	if (!h->slot)
		return;
	h->slot = false;
	c->slots--;
	if (!c->slots && !c->runs)
		c->idle_since = ssh_now_ms();
	pthread_cond_broadcast(&c->cond);
}

/*
 * The connection broke: every run with a channel on it ends lost, the
 * session goes.  Returns SSH_LOST.  c->lock held.
 */
int
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
		conn_slot_release(c, h);
	}
	conn_teardown(c, false);
	return SSH_LOST;
}

/* After a failed libssh2 call: SSH_LOST if it broke the session, else rc. */
int
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
		snprintf(reason, sizeof(reason), "%s", ssh_last_error(c->s));
	return conn_lost(c, reason);
}

/*
 * Wait until the socket is ready in the direction libssh2 blocks on, or
 * the deadline (SSH_LOST with "no answer for ..."; ERR_TIMEOUT instead
 * when soft).  Keepalives go out meanwhile.  c->lock held.
 */
int
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
		now = ssh_now_ms();
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

int
conn_wait(struct conn *c, int64_t deadline)
{
	return conn_wait_x(c, deadline, false);
}

/* Why a DRIVE_PTR() gave NULL: SSH_LOST or libssh2's error code. */
int
conn_ptr_fail(struct conn *c)
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
			  c->name, pref.ptr, ssh_last_error(s));
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
		return ssh_err_wrap("host '%s': cannot read known_hosts '%s'",
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
			rc == SSH_LOST ? c->lost_reason : ssh_last_error(c->s));
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
			c->key_file, ssh_last_error(c->s));
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
		rc = conn_ptr_fail(c);
		err_set("host '%s' (%s): cannot start SFTP: %s", c->name,
			c->where,
			rc == SSH_LOST ? c->lost_reason : ssh_last_error(c->s));
		goto out;
	}
	DRIVE(c, rc,
	      libssh2_sftp_realpath(c->sftp, ".", home, sizeof(home) - 1));
	if (rc <= 0) {
		err_set("host '%s' (%s): cannot find the home directory: %s",
			c->name, c->where,
			rc == SSH_LOST ? c->lost_reason : ssh_last_error(c->s));
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
	if ((ret = proto_start(c)) < 0)
		goto out;
	ret = -1;
	if (proto_reap_orphans(c) == SSH_LOST) {
		err_set("host '%s' (%s): lost contact while starting: %s",
			c->name, c->where, c->lost_reason);
		goto out;
	}
	c->gen++;
	c->idle_since = ssh_now_ms();
	if (!c->io_started) {
		if (pthread_create(&c->io, NULL, ssh_io_main, c)) {
			err_set("host '%s': cannot start a thread", c->name);
			goto out;
		}
		c->io_started = true;
	}
	ret = 0;
out:
	if (ret < 0)
		conn_teardown(c, false);
	return ret;
}

int
conn_connect(struct conn *c)
{
	int r;

	c->connecting = true;
	r = conn_connect_(c);
	c->connecting = false;
	return r;
}

/* A logged-in session for the host; *fresh when it was just made. */
int
conn_ensure(struct conn *c, bool *fresh)
{
	if (fresh)
		*fresh = false;
	if (c->s) {
		c->idle_since = ssh_now_ms();
		return 0;
	}
	if (fresh)
		*fresh = true;
	return conn_connect(c);
}

/* err_set() the loss of the connection; -1. */
int
conn_lost_err(struct conn *c)
{
	return err_set("lost contact with host '%s': %s", c->name,
		       c->lost_reason);
}

/*
 * Read what the helper's channel has on stdout (stream 0) or stderr (1):
 * the bytes read, 0 when nothing is there now, SSH_LOST.  c->lock held.
 */
ssize_t
conn_agent_read(struct conn *c, int stream, char *buf, size_t len)
{
	ssize_t n;

	for (;;) {
		if (!c->agent)
			return SSH_LOST;
		n = libssh2_channel_read_ex(
		    c->agent, stream ? SSH_EXTENDED_DATA_STDERR : 0, buf, len);
		if (n > 0)
			return n;
		if (n == LIBSSH2_ERROR_EAGAIN &&
		    (libssh2_session_block_directions(c->s) &
		     LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
			/* a window adjust half sent: finish it now */
			if (conn_wait(c, ssh_now_ms() + IO_TIMEOUT_MS) < 0)
				return SSH_LOST;
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN &&
		    conn_check(c, (int)n) == SSH_LOST)
			return SSH_LOST;
		return 0;
	}
}

/* Whether the helper's channel has ended.  c->lock held. */
bool
conn_agent_eof(struct conn *c)
{
	return !c->agent || libssh2_channel_eof(c->agent);
}

/* All of data to the helper's channel.  0, SSH_LOST.  c->lock held. */
int
conn_agent_write(struct conn *c, const char *data, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		if (!c->agent)
			return SSH_LOST;
		DRIVE(c, n,
		      libssh2_channel_write(c->agent, data + off, len - off));
		if (n == SSH_LOST)
			return SSH_LOST;
		if (n < 0)
			return conn_lost(c, ssh_last_error(c->s));
		off += (size_t)n;
	}
	return 0;
}

/*
 * The helper's channel: a session channel running cmd, as c->agent.  0,
 * SSH_LOST, or -1 with err_set.  c->lock held.
 */
int
conn_agent_open(struct conn *c, const char *cmd)
{
	LIBSSH2_CHANNEL *ch = NULL;
	int rc;

	DRIVE_PTR(c, ch, libssh2_channel_open_session(c->s));
	if (!ch) {
		rc = conn_ptr_fail(c);
		if (rc != SSH_LOST)
			err_set("host '%s': cannot open a channel: %s", c->name,
				ssh_last_error(c->s));
		return rc == SSH_LOST ? rc : -1;
	}
	DRIVE(c, rc, libssh2_channel_exec(ch, cmd));
	if (rc < 0) {
		if (rc != SSH_LOST)
			err_set("host '%s': cannot start scaffold's helper: %s",
				c->name, ssh_last_error(c->s));
		return rc == SSH_LOST ? rc : -1;
	}
	c->agent = ch;
	return 0;
}

/*
 * For the I/O thread: a keepalive when due, *t the ms until the next;
 * *sending when libssh2 waits to send the rest of a packet.  0, SSH_LOST.
 * c->lock held.
 */
int
conn_keepalive(struct conn *c, int64_t *t, bool *sending)
{
	int secs, r;

	*sending = libssh2_session_block_directions(c->s) &
		   LIBSSH2_SESSION_BLOCK_OUTBOUND;
	if (*sending) {
		*t = 100;
		return 0;
	}
	r = libssh2_keepalive_send(c->s, &secs);
	if (r < 0 && conn_check(c, r) == SSH_LOST)
		return SSH_LOST;
	*t = (int64_t)(secs > 0 ? secs : 1) * 1000;
	return 0;
}
