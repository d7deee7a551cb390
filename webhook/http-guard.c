/*
 * http-guard.c - the connections of the HTTP server, watched so that
 * half-sent and idle ones cannot hold it (slowloris): a request head must
 * be complete within a deadline of the connection opening or of its
 * previous reply, a body must keep a minimum average rate, and when an
 * address (or the server) is at its limit a new connection evicts the
 * oldest one that has not sent a complete head.  A connection is ended by
 * shutdown(2) of its socket: its thread in libmicrohttpd sees the end and
 * closes it as it would any other.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "webhook-int.h"

/* Connections one address may hold, and all of them, before a new one
 * evicts an idle or half-sent one; libmicrohttpd's own limit is above. */
#define GUARD_PER_ADDR 128
#define GUARD_TOTAL 448

struct gconn {
	struct gconn *prev, *next;
	struct guard *g;
	int fd;
	unsigned char addr[16]; /* the IP address, v4 or v6 */
	size_t addr_len;
	enum guard_state state;
	int64_t since;	  /* ms: when the state began */
	uint64_t bytes;	  /* body bytes received in GUARD_BODY */
	int shut;	  /* shutdown(2) done */
};

struct guard {
	/* guards the list, and every fd in it: an entry leaves the list
	 * (MHD_CONNECTION_NOTIFY_CLOSED) before libmicrohttpd closes its
	 * fd, so an fd shut down under the lock is still the connection's */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct gconn *head, *tail; /* oldest first */
	int64_t head_ms, body_grace_ms, body_rate;
	pthread_t reaper;
	int reaper_started, stop;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t
addr_key(unsigned char out[16], const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 16;
	}
	return 0;
}

static void
addr_text(char *out, size_t len, const struct gconn *c)
{
	if (!inet_ntop(c->addr_len == 4 ? AF_INET : AF_INET6, c->addr, out,
		       (socklen_t)len))
		snprintf(out, len, "?");
}

/* End a connection; the lock is held. */
static void
evict(struct gconn *c, const char *why)
{
	char a[INET6_ADDRSTRLEN];

	if (c->shut)
		return;
	c->shut = 1;
	addr_text(a, sizeof(a), c);
	log_debug("http: closing a connection from %s: %s", a, why);
	shutdown(c->fd, SHUT_RDWR);
}

static int
evictable(const struct gconn *c)
{
	return !c->shut && (c->state == GUARD_IDLE || c->state == GUARD_HEAD);
}

/* The reaper: the head and body deadlines, checked four times a second. */
static void *
reap(void *arg)
{
	struct guard *g = arg;
	struct gconn *c;
	struct timespec ts;
	int64_t now, allowed;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		now = now_ms();
		for (c = g->head; c; c = c->next) {
			if (c->shut)
				continue;
			if ((c->state == GUARD_IDLE ||
			     c->state == GUARD_HEAD) &&
			    now - c->since > g->head_ms) {
				evict(c, "no complete request head in time");
			} else if (c->state == GUARD_BODY) {
				allowed = g->body_grace_ms +
					  (int64_t)(c->bytes * 1000 /
						    (uint64_t)g->body_rate);
				if (now - c->since > allowed)
					evict(c, "the body comes too slowly");
			}
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&g->cond, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct guard *
guard_new(int64_t head_ms, int64_t body_grace_ms, int64_t body_rate)
{
	struct guard *g = xcalloc(1, sizeof(*g));

	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->head_ms = head_ms;
	g->body_grace_ms = body_grace_ms;
	g->body_rate = body_rate > 0 ? body_rate : 1;
	if (pthread_create(&g->reaper, NULL, reap, g) == 0)
		g->reaper_started = 1;
	else
		log_warnx("http: cannot start the connection reaper: %s",
			  strerror(errno));
	return g;
}

void
guard_free(struct guard *g)
{
	struct gconn *c, *next;

	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stop = 1;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	if (g->reaper_started)
		pthread_join(g->reaper, NULL);
	for (c = g->head; c; c = next) {
		next = c->next;
		free(c);
	}
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

void
guard_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
	     enum MHD_ConnectionNotificationCode code)
{
	struct guard *g = cls;
	const union MHD_ConnectionInfo *fd, *ad;
	struct gconn *c;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!(c = *socket_ctx))
			return;
		pthread_mutex_lock(&g->lock);
		if (c->prev)
			c->prev->next = c->next;
		else
			g->head = c->next;
		if (c->next)
			c->next->prev = c->prev;
		else
			g->tail = c->prev;
		pthread_mutex_unlock(&g->lock);
		free(c);
		*socket_ctx = NULL;
		return;
	}
	fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	ad = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!fd)
		return;
	c = xcalloc(1, sizeof(*c));
	c->g = g;
	c->fd = fd->connect_fd;
	c->addr_len = addr_key(c->addr, ad ? ad->client_addr : NULL);
	c->state = GUARD_IDLE;
	c->since = now_ms();
	pthread_mutex_lock(&g->lock);
	c->prev = g->tail;
	if (g->tail)
		g->tail->next = c;
	else
		g->head = c;
	g->tail = c;
	pthread_mutex_unlock(&g->lock);
	*socket_ctx = c;
}

/*
 * A new connection: when its address holds GUARD_PER_ADDR connections, or
 * the server GUARD_TOTAL, the oldest idle or half-sent one (of that
 * address first) makes room.  Refused only when none can.
 */
enum MHD_Result
guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct guard *g = cls;
	unsigned char key[16];
	size_t klen = addr_key(key, addr), mine = 0, live = 0;
	struct gconn *c, *oldest_mine = NULL, *oldest = NULL;
	enum MHD_Result ret = MHD_YES;

	(void)addrlen;
	pthread_mutex_lock(&g->lock);
	for (c = g->head; c; c = c->next) {
		int same = c->addr_len == klen && !memcmp(c->addr, key, klen);

		if (c->shut)
			continue;
		live++;
		mine += same;
		if (!evictable(c))
			continue;
		if (same && !oldest_mine)
			oldest_mine = c;
		if (!oldest)
			oldest = c;
	}
	if (mine >= GUARD_PER_ADDR) {
		if (oldest_mine)
			evict(oldest_mine, "its address is at its connection "
					   "limit and a new one came");
		else
			ret = MHD_NO;
	} else if (live >= GUARD_TOTAL) {
		if (oldest)
			evict(oldest, "the server is at its connection limit "
				      "and a new one came");
		else
			ret = MHD_NO;
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

static struct gconn *
conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(
		conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

void
guard_set(struct MHD_Connection *conn, enum guard_state state)
{
	struct gconn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&c->g->lock);
	/* a request line does not restart the head's deadline: the whole
	 * head counts from the connection's start or its previous answer */
	if (!(state == GUARD_HEAD && c->state == GUARD_IDLE))
		c->since = now_ms();
	c->state = state;
	c->bytes = 0;
	pthread_mutex_unlock(&c->g->lock);
}

void
guard_body(struct MHD_Connection *conn, size_t n)
{
	struct gconn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&c->g->lock);
	c->bytes += n;
	pthread_mutex_unlock(&c->g->lock);
}
