/*
 * plan-gate.c - a counting semaphore around plan computations (the API's
 * /plan, the cascade page's "what changed"): each reads and parses the
 * cascade files of one or two revisions, up to CASCADE_FILES_BUDGET times
 * the file limit each, so only PLAN_GATE_MAX run at once.  A request over
 * the bound waits PLAN_GATE_WAIT_MS at most.
 */
#include <errno.h>
#include <time.h>

#include "webhook-int.h"

void
plan_gate_init(struct http_server *h)
{
	pthread_mutex_init(&h->plan_lock, NULL);
	pthread_cond_init(&h->plan_cond, NULL);
	h->plans = 0;
}

void
plan_gate_release(struct http_server *h)
{
	pthread_mutex_destroy(&h->plan_lock);
	pthread_cond_destroy(&h->plan_cond);
}

int
plan_gate_enter(struct http_server *h)
{
	struct timespec until;
	int ret = 0, r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (PLAN_GATE_WAIT_MS % 1000) * 1000000L;
	until.tv_sec += PLAN_GATE_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&h->plan_lock);
	while (h->plans >= PLAN_GATE_MAX && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&h->plan_cond, &h->plan_lock,
					   &until);
	if (h->plans >= PLAN_GATE_MAX)
		ret = err_set("%d plans are being computed already; try again "
			      "in a moment",
			      PLAN_GATE_MAX);
	else
		h->plans++;
	pthread_mutex_unlock(&h->plan_lock);
	return ret;
}

void
plan_gate_leave(struct http_server *h)
{
	pthread_mutex_lock(&h->plan_lock);
	if (h->plans <= 0)
		BUG("plan_gate_leave without plan_gate_enter");
	h->plans--;
	pthread_cond_signal(&h->plan_cond);
	pthread_mutex_unlock(&h->plan_lock);
}
