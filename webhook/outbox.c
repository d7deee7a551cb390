/*
 * outbox.c - the thread that posts commit statuses.  It works from the
 * store's outbox (rows survive restarts), oldest first, one repository's
 * rows in order: when a forge fails, that repository's rows wait behind
 * the failed one, retried with a backoff of 1 s doubling up to 5 minutes,
 * so an outage delays statuses but loses none and never reorders them.  A
 * row that a newer one of the same (repo, commit, context) replaces is
 * skipped.  Pull request comments (prcomment.c) go out after the
 * statuses, with the same backoff.  The thread also settles statuses: the executor tells it which
 * cascades had a run end.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "status-int.h"

/* While statuses are open, decide them again this often (a task that
 * cannot start ends inside the scheduler, with no run to report it). */
#define SWEEP_MS 2000
#define UNSENT_LIMIT 10000

struct outbox {
	const struct config *cf;      /* the thread's */
	const struct config *next_cf; /* a reload's, under lock */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int woken;     /* rows were enqueued */
	atomic_int stop;
	int64_t *notes; /* cascades whose runs ended, to decide again */
	size_t nnotes;
	size_t alloc;
};

void
outbox_wake(struct outbox *ob)
{
	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->woken = 1;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
}

void
outbox_note_cascade(struct outbox *ob, int64_t cascade_id)
{
	size_t i;

	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	for (i = 0; i < ob->nnotes && ob->notes[i] != cascade_id; i++)
		;
	if (i == ob->nnotes) {
		GROW(ob->notes, ob->nnotes + 1, ob->alloc);
		ob->notes[ob->nnotes++] = cascade_id;
	}
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
}

static int
blocked(const struct strvec *repos, const char *repo)
{
	size_t i;

	for (i = 0; i < repos->n; i++)
		if (!strcmp(repos->v[i], repo))
			return 1;
	return 0;
}

/* Post one row and record how it went; 1 when its repo must wait. */
static int
send_one(struct outbox *ob, struct store *st, const struct status_row *row,
	 int64_t *next)
{
	const struct repo_config *rc = config_repo(ob->cf, row->repo);
	enum forge_outcome outcome;
	char when[32];
	int ret;

	if (!rc || !rc->forge_kind) {
		err_set("repo '%s' has no forge in the configuration any more",
			row->repo);
		log_warnx("status: %s: the status of %.12s (%s) is dropped",
			  err_msg(), row->commit_id, row->context);
		return store_status_done(st, row->id, "failed", err_msg()) < 0
			       ? -1
			       : 0;
	}
	ret = forge_post(&outcome, rc, row, &ob->stop);
	if (ret == 0) {
		if (row->attempts)
			log_info("status: repo '%s' at %.12s: %s %s sent after "
				 "%d failed attempt%s",
				 row->repo, row->commit_id, row->context,
				 row->state, row->attempts,
				 row->attempts == 1 ? "" : "s");
		else
			log_debug("status: repo '%s' at %.12s: %s %s sent",
				  row->repo, row->commit_id, row->context,
				  row->state);
		if (store_status_done(st, row->id,
				      outcome == FORGE_UNCHANGED ? "unchanged"
								 : "sent",
				      NULL) < 0)
			return -1;
		return 0;
	}
	if (atomic_load(&ob->stop))
		return 1; /* abandoned, not failed: the row stays as it was */
	if (ret == ERR_INVALID) {
		log_warnx("status: %s (not retried)", err_msg());
		return store_status_done(st, row->id, "failed", err_msg()) < 0
			       ? -1
			       : 0;
	}
	duration_format(when, sizeof(when), status_backoff_ms(row->attempts +
							      1));
	log_warnx("status: %s (retrying in %s)", err_msg(), when);
	if (store_status_retry(st, row->id, err_msg()) < 0)
		return -1;
	if (*next > store_now_ms() + status_backoff_ms(row->attempts + 1))
		*next = store_now_ms() + status_backoff_ms(row->attempts + 1);
	return 1;
}

/*
 * Send what is due (with all, everything: a start is a good moment to try
 * again).  Returns when to look again: the earliest retry of a waiting
 * repository (INT64_MAX: none), or 0 to go on at once.
 */
static int64_t
send_due(struct outbox *ob, struct store *st, int all)
{
	struct status_row *rows = NULL;
	struct strvec waiting = STRVEC_INIT;
	int64_t next = INT64_MAX, now = store_now_ms();
	size_t n = 0, i, handled = 0;
	int r;

	if (store_status_unsent(st, UNSENT_LIMIT, &rows, &n) < 0) {
		log_warnx("status: %s", err_msg());
		return now + 1000;
	}
	for (i = 0; i < n && !atomic_load(&ob->stop); i++) {
		const struct status_row *row = &rows[i];

		if (blocked(&waiting, row->repo))
			continue;
		if (row->superseded) {
			/* a newer state of the same status follows */
			if (store_status_done(st, row->id, "skipped", NULL) < 0)
				log_warnx("status: %s", err_msg());
			handled++;
			continue;
		}
		if (row->next_at > now && !all) {
			strvec_push(&waiting, row->repo);
			if (row->next_at < next)
				next = row->next_at;
			continue;
		}
		r = send_one(ob, st, row, &next);
		if (r < 0)
			log_warnx("status: %s", err_msg());
		if (r != 0)
			strvec_push(&waiting, row->repo);
		else
			handled++;
		now = store_now_ms();
	}
	/* more rows than one look takes: go on while it gets somewhere */
	if (n == UNSENT_LIMIT && handled)
		next = 0;
	status_rows_free(rows, n);
	strvec_clear(&waiting);
	return next;
}

static void *
outbox_main(void *arg)
{
	struct outbox *ob = arg;
	struct store *st = NULL;
	struct timespec ts;
	int64_t *notes = NULL, sweep_at = 0, next, wake_at, now;
	size_t nnotes, open = 0, i;
	int first = 1;

	if (store_open(&st, ob->cf->data_dir) < 0) {
		log_warnx("status: %s; commit statuses wait for a restart",
			  err_msg());
		return NULL;
	}
	while (!atomic_load(&ob->stop)) {
		pthread_mutex_lock(&ob->lock);
		notes = ob->notes;
		nnotes = ob->nnotes;
		ob->notes = NULL;
		ob->nnotes = ob->alloc = 0;
		if (ob->next_cf) {
			ob->cf = ob->next_cf;
			ob->next_cf = NULL;
		}
		if (ob->woken && sweep_at > store_now_ms() + SWEEP_MS)
			sweep_at = store_now_ms() + SWEEP_MS;
		ob->woken = 0;
		pthread_mutex_unlock(&ob->lock);

		for (i = 0; i < nnotes; i++)
			if (status_cascade(st, ob->cf, notes[i], NULL) < 0)
				log_warnx("status: %s", err_msg());
		free(notes);
		notes = NULL;
		if (store_now_ms() >= sweep_at) {
			if (status_sweep(st, ob->cf, NULL, &open) < 0)
				log_warnx("status: %s", err_msg());
			sweep_at = open ? store_now_ms() + SWEEP_MS : INT64_MAX;
		}
		next = send_due(ob, st, first);
		now = prcomment_send_due(st, ob->cf, first, &ob->stop);
		if (now < next)
			next = now;
		first = 0;
		wake_at = next < sweep_at ? next : sweep_at;

		pthread_mutex_lock(&ob->lock);
		while (!atomic_load(&ob->stop) && !ob->woken && !ob->nnotes &&
		       (now = store_now_ms()) < wake_at) {
			int64_t left = wake_at - now;

			/* an hour at most: clocks may jump */
			if (left > 3600 * 1000)
				left = 3600 * 1000;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += left / 1000;
			ts.tv_nsec += (left % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_cond_timedwait(&ob->cond, &ob->lock, &ts) ==
			    ETIMEDOUT)
				break;
		}
		pthread_mutex_unlock(&ob->lock);
	}
	store_close(st);
	return NULL;
}

void
outbox_set_config(struct outbox *ob, const struct config *cf)
{
	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->next_cf = cf;
	ob->woken = 1;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
}

int
outbox_start(struct outbox **out, const struct config *cf)
{
	struct outbox *ob = xcalloc(1, sizeof(*ob));

	*out = NULL;
	forge_init();
	ob->cf = cf;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_cond_init(&ob->cond, NULL);
	atomic_init(&ob->stop, 0);
	if (pthread_create(&ob->thread, NULL, outbox_main, ob) != 0) {
		pthread_mutex_destroy(&ob->lock);
		pthread_cond_destroy(&ob->cond);
		free(ob);
		return err_set("cannot start the commit status thread");
	}
	*out = ob;
	return 0;
}

void
outbox_stop(struct outbox *ob)
{
	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	atomic_store(&ob->stop, 1);
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
	pthread_join(ob->thread, NULL);
	pthread_mutex_destroy(&ob->lock);
	pthread_cond_destroy(&ob->cond);
	free(ob->notes);
	free(ob);
}
