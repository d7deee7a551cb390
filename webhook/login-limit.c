/*
 * login-limit.c - failed sign-ins limited per source address: a token
 * bucket of LOGIN_BURST failures per address, refilled at one every
 * LOGIN_REFILL_MS (5 a minute).  An address whose bucket is empty gets 429
 * with Retry-After, its token not even looked at, until one failure has
 * been refilled; the first refusal of such a window is logged, the others
 * of the same window are not.  IPv6 addresses count per /64 (one host
 * holds a whole prefix; an IPv4 client of a dual-stack socket counts by
 * its IPv4 address).  The table is bounded: entries whose bucket has
 * refilled are dropped, and when it is full of limited ones the entry
 * closest to full gives way.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "webhook-int.h"

#define LOGIN_TABLE 1024

struct login_entry {
	unsigned char key[16]; /* an IPv4 address, or an IPv6 /64 */
	size_t key_len;
	int64_t level_ms; /* the bucket: LOGIN_REFILL_MS a failure, at */
	int64_t at_ms;	  /* this time */
	int logged;	  /* this window's refusal was logged */
};

struct login_limit {
	pthread_mutex_t lock;
	struct login_entry v[LOGIN_TABLE];
	size_t n;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct login_limit *
login_limit_new(void)
{
	struct login_limit *l = xcalloc(1, sizeof(*l));

	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void
login_limit_free(struct login_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* The key of an address: 0 when it has none (then nothing is limited). */
static size_t
key_of(unsigned char out[16], const struct sockaddr *sa)
{
	const struct in6_addr *a6;

	if (sa && sa->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6) {
		a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		/* an IPv4 client of a dual-stack socket: its own address */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(out, a6->s6_addr + 12, 4);
			return 4;
		}
		memcpy(out, a6, 8);
		return 8;
	}
	return 0;
}

/* The entry's failures still counted now, in ms of refill: 0 is a full
 * bucket, LOGIN_BURST * LOGIN_REFILL_MS an empty one. */
static int64_t
level(const struct login_entry *e, int64_t now)
{
	int64_t v = e->level_ms - (now - e->at_ms);

	return v > 0 ? v : 0;
}

/* The entry of key, or NULL; with add, a new one (evicting as above).
 * The lock is held. */
static struct login_entry *
lookup(struct login_limit *l, const unsigned char *key, size_t len,
       int64_t now, int add)
{
	struct login_entry *e;
	size_t i, low = 0;

	for (i = 0; i < l->n; i++)
		if (l->v[i].key_len == len && !memcmp(l->v[i].key, key, len))
			return &l->v[i];
	if (!add)
		return NULL;
	if (l->n == LOGIN_TABLE) {
		/* drop the refilled ones; when none, the closest to full */
		for (i = 0; i < l->n;)
			if (!level(&l->v[i], now))
				l->v[i] = l->v[--l->n];
			else
				i++;
		if (l->n == LOGIN_TABLE) {
			for (i = 1; i < l->n; i++)
				if (level(&l->v[i], now) <
				    level(&l->v[low], now))
					low = i;
			l->v[low] = l->v[--l->n];
		}
	}
	e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, len);
	e->key_len = len;
	e->at_ms = now;
	return e;
}

int
login_limit_check_at(struct login_limit *l, const struct sockaddr *sa,
		     int64_t now, int *retry_after, int *log_it)
{
	unsigned char key[16];
	size_t len = key_of(key, sa);
	struct login_entry *e;
	int64_t v, over;
	int ret = 0;

	*retry_after = 0;
	*log_it = 0;
	if (!l || !len)
		return 0;
	pthread_mutex_lock(&l->lock);
	e = lookup(l, key, len, now, 0);
	if (e) {
		v = level(e, now);
		/* room for one more failure: under a full bucket by one */
		over = v - (int64_t)(LOGIN_BURST - 1) * LOGIN_REFILL_MS;
		if (over > 0) {
			*retry_after = (int)((over + 999) / 1000);
			*log_it = !e->logged;
			e->logged = 1;
			ret = 1;
		} else {
			e->logged = 0;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void
login_limit_fail_at(struct login_limit *l, const struct sockaddr *sa,
		    int64_t now)
{
	unsigned char key[16];
	size_t len = key_of(key, sa);
	struct login_entry *e;

	if (!l || !len)
		return;
	pthread_mutex_lock(&l->lock);
	e = lookup(l, key, len, now, 1);
	e->level_ms = level(e, now) + LOGIN_REFILL_MS;
	e->at_ms = now;
	pthread_mutex_unlock(&l->lock);
}

int
login_limit_check(struct login_limit *l, const struct sockaddr *sa,
		  int *retry_after, int *log_it)
{
	return login_limit_check_at(l, sa, mono_ms(), retry_after, log_it);
}

void
login_limit_fail(struct login_limit *l, const struct sockaddr *sa)
{
	login_limit_fail_at(l, sa, mono_ms());
}
