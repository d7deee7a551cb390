/*
 * probe.c - the daemon's drift probes: claims the probes that are due
 * (sched_check_claim), runs each on its own thread through the task's
 * runner backend, and records the ends (sched_check_finish).  Apart from
 * the executor of tasks: its own bound (max_checks_parallel), so probes
 * never take a task's slot.  The store and the scheduler are used only
 * from the thread that calls probes_step.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "../runner/runner.h"

struct probe {
	struct run_req *req;
	const struct runner_ops *ops;
	struct run_handle *h;
	struct run_spec spec;
	struct spec_arrays arrays; /* what spec points to */
	struct run_result result;
	char start_err[600];
	int log_fd;
	int done;
	int64_t t0;
	pthread_t thread;
	struct probes *p;
};

struct probes {
	pthread_mutex_t lock;
	struct store *st;
	struct sched *s;
	struct probe **v;
	size_t n;
	size_t alloc;
	int max;
	int quiet;
	probes_wake_fn wake;
	probes_drift_fn drift;
	void *arg;
	exec_allow_fn allow;
	void *allow_arg;
	int stopping; /* under lock: probes that start now are killed */
};

static void *
probe_main(void *arg)
{
	struct probe *pr = arg;
	struct run_handle *h = NULL;
	int stopping;

	if (pr->ops->start(&h, &pr->spec) < 0) {
		snprintf(pr->start_err, sizeof(pr->start_err),
			 "cannot start: %s", err_msg());
	} else {
		pthread_mutex_lock(&pr->p->lock);
		pr->h = h;
		stopping = pr->p->stopping;
		pthread_mutex_unlock(&pr->p->lock);
		if (stopping)
			pr->ops->kill(h);
		if (pr->ops->wait(h, &pr->result) < 0) {
			pr->result.outcome = RUN_LOST;
			pr->result.exit_code = -1;
			snprintf(pr->result.message,
				 sizeof(pr->result.message), "runner: %s",
				 err_msg());
		}
	}
	pthread_mutex_lock(&pr->p->lock);
	pr->done = 1;
	pthread_mutex_unlock(&pr->p->lock);
	if (pr->p->wake)
		pr->p->wake(pr->p->arg);
	return NULL;
}

/* The runner's spec of a probe's request: a run's, but a first attempt
 * that stores nothing. */
static void
probe_spec(struct probe *pr, const char *instance)
{
	struct run_spec *sp = &pr->spec;

	spec_arrays_fill(&pr->arrays, sp, pr->req, pr->log_fd);
	sp->instance = instance;
	sp->attempt = 1;
	sp->store_files = NULL;
	sp->nstore_files = 0;
	sp->store_env = NULL;
	sp->nstore_env = 0;
}

static void
probe_free(struct probe *pr)
{
	if (pr->h)
		pr->ops->free(pr->h);
	run_result_release(&pr->result);
	if (pr->log_fd >= 0)
		close(pr->log_fd);
	if (pr->req)
		rm_rf(pr->req->work_dir);
	spec_arrays_release(&pr->arrays);
	run_req_free(pr->req);
	free(pr);
}

/* A line of scaffold's own in the probe's log (best effort). */
static void
plog(int fd, const char *fmt, ...) PRINTF_LIKE(2, 3);
static void
plog(int fd, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (fd < 0)
		return;
	buf_puts(&b, "scaffold: ");
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_putc(&b, '\n');
	if (write(fd, b.ptr, b.len) < 0)
		log_warnx("probe: cannot write to a check log: %s",
			  strerror(errno));
	buf_release(&b);
}

/* Record a probe's end; a drift tells the daemon (commit statuses). */
static void
probe_end(struct probes *p, struct probe *pr, enum run_state state,
	  int exit_code, const char *msg)
{
	struct run_done d;
	struct buf note = BUF_INIT;
	struct task_row t;
	char dur[32];

	duration_format(dur, sizeof(dur), store_now_ms() - pr->t0);
	plog(pr->log_fd, "check run %lld ended %s%s%s after %s",
	     (long long)pr->req->run_id, run_state_names[state],
	     msg && *msg ? ": " : "", msg ? msg : "", dur);
	memset(&d, 0, sizeof(d));
	d.run_id = pr->req->run_id;
	d.state = state;
	d.exit_code = exit_code;
	d.message = msg && *msg ? msg : NULL;
	if (sched_check_finish(p->s, &d, &note) < 0) {
		log_warnx("probe: check run %lld of %s/%s: cannot record its "
			  "end: %s",
			  (long long)d.run_id, pr->req->cascade, pr->req->task,
			  err_msg());
	} else if (note.len) {
		plog(pr->log_fd, "%s", note.ptr);
		log_info("check %lld %s/%s on %s: %s (%s)",
			 (long long)d.run_id, pr->req->cascade, pr->req->task,
			 pr->req->host ? pr->req->host : pr->req->runner,
			 run_state_names[state], note.ptr);
		if (p->drift && store_task_get(p->st, pr->req->task_id, &t) == 0) {
			p->drift(p->arg, t.cascade_id);
			free(t.name);
		}
	} else if (!p->quiet && state != RS_SUCCESS) {
		log_info("check %lld %s/%s: %s%s%s", (long long)d.run_id,
			 pr->req->cascade, pr->req->task,
			 run_state_names[state], msg && *msg ? ": " : "",
			 msg ? msg : "");
	}
	buf_release(&note);
}

static const enum run_state outcome_state[] = {
	[RUN_SUCCESS] = RS_SUCCESS,
	[RUN_ERROR] = RS_ERROR,
	[RUN_KILLED] = RS_KILLED,
	[RUN_LOST] = RS_LOST,
};

/* Start one claimed probe, or end it at once when it cannot start. */
static void
probe_start(struct probes *p, struct run_req *req)
{
	struct probe *pr = xcalloc(1, sizeof(*pr));
	char msg[600];

	pr->req = req;
	pr->p = p;
	pr->t0 = store_now_ms();
	msg[0] = '\0';
	pr->log_fd = open(req->log_path,
			  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (pr->log_fd < 0)
		snprintf(msg, sizeof(msg), "cannot open the log '%s': %s",
			 req->log_path, strerror(errno));
	else if (!(pr->ops = runner_find(req->runner)))
		snprintf(msg, sizeof(msg),
			 "runner '%s' is not available in this scaffold",
			 req->runner);
	else if (mkdir_p(req->work_dir, 0700) < 0)
		snprintf(msg, sizeof(msg), "%s", err_msg());
	if (!msg[0] && p->allow &&
	    p->allow(p->allow_arg, req->repo ? req->repo : "", req->runner,
		     msg, sizeof(msg)) < 0) {
		/* the repo's 'runners' changed: no probe, and no verdict
		 * on the task (its own runs are refused the same way) */
		plog(pr->log_fd, "not run: %s", msg);
		probe_end(p, pr, RS_KILLED, -1, msg);
		probe_free(pr);
		return;
	}
	if (!msg[0]) {
		plog(pr->log_fd, "check run %lld of %s/%s on %s, runner %s",
		     (long long)req->run_id, req->cascade, req->task,
		     req->host ? req->host : req->runner, req->runner);
		probe_spec(pr, store_instance_id(p->st));
		if (pthread_create(&pr->thread, NULL, probe_main, pr) != 0)
			snprintf(msg, sizeof(msg), "cannot start a thread");
	}
	if (msg[0]) {
		plog(pr->log_fd, "%s", msg);
		probe_end(p, pr, RS_ERROR, -1, msg);
		probe_free(pr);
		return;
	}
	GROW(p->v, p->n + 1, p->alloc);
	p->v[p->n++] = pr;
}

/*
 * Probes a dead scaffold left running: their processes (a container, a
 * process on a host) are stopped where the runner can find them, and
 * each ends lost, to run again: not a verdict on the task.
 */
static void
probes_recover(struct probes *p)
{
	struct check_row *rows = NULL;
	struct run_handle *h;
	struct run_result res;
	struct run_spec sp;
	const struct runner_ops *ops;
	struct buf dir = BUF_INIT;
	const char *why = "scaffold stopped while the probe ran; it runs "
			  "again";
	size_t n = 0, i;
	int fd;

	if (sched_check_running(p->s, &rows, &n) < 0) {
		log_warnx("probe: %s", err_msg());
		return;
	}
	for (i = 0; i < n; i++) {
		buf_reset(&dir);
		store_check_dir(p->st, rows[i].id, &dir);
		ops = runner_find(rows[i].runner);
		memset(&sp, 0, sizeof(sp));
		sp.run_id = rows[i].id;
		sp.instance = store_instance_id(p->st);
		sp.cascade = rows[i].cascade;
		sp.task = rows[i].task;
		sp.host = strcmp(rows[i].runner, "ssh") ? NULL : rows[i].host;
		sp.work_dir = dir.ptr;
		sp.log_fd = -1;
		h = NULL;
		if (ops && ops->adopt && ops->adopt(&h, &sp) == 0) {
			ops->kill(h);
			memset(&res, 0, sizeof(res));
			ops->wait(h, &res);
			run_result_release(&res);
			ops->free(h);
		}
		rm_rf(dir.ptr);
		buf_reset(&dir);
		store_check_log_path(p->st, rows[i].id, &dir);
		fd = open(dir.ptr, O_WRONLY | O_APPEND | O_CLOEXEC);
		plog(fd, "%s", why);
		if (fd >= 0)
			close(fd);
		if (sched_check_interrupt(p->s, rows[i].id, why) < 0)
			log_warnx("probe: check run %lld: %s",
				  (long long)rows[i].id, err_msg());
	}
	if (n && !p->quiet)
		log_info("probe: %zu probe%s left by an earlier scaffold run%s "
			 "again",
			 n, n == 1 ? "" : "s", n == 1 ? "s" : "");
	check_rows_free(rows, n);
	buf_release(&dir);
}

struct probes *
probes_new(struct store *st, struct sched *s, int max, int quiet)
{
	struct probes *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	p->st = st;
	p->s = s;
	p->max = max > 0 ? max : 1;
	p->quiet = quiet;
	probes_recover(p);
	if (sched_check_sweep(s) < 0)
		log_warnx("probe: %s", err_msg());
	return p;
}

void
probes_set_hooks(struct probes *p, probes_wake_fn wake, probes_drift_fn drift,
		 void *arg)
{
	p->wake = wake;
	p->drift = drift;
	p->arg = arg;
}

void
probes_set_allow(struct probes *p, exec_allow_fn fn, void *arg)
{
	p->allow = fn;
	p->allow_arg = arg;
}

int64_t
probes_step(struct probes *p)
{
	struct run_req **reqs = NULL;
	struct probe *pr;
	size_t n = 0, i;
	int64_t next = 0, now;
	int done;

	for (i = p->n; i-- > 0;) {
		pr = p->v[i];
		pthread_mutex_lock(&p->lock);
		done = pr->done;
		pthread_mutex_unlock(&p->lock);
		if (!done)
			continue;
		pthread_join(pr->thread, NULL);
		if (pr->start_err[0]) {
			plog(pr->log_fd, "%s", pr->start_err);
			probe_end(p, pr, RS_ERROR, -1, pr->start_err);
		} else {
			if (!strcmp(pr->result.message,
				    run_outcome_names[pr->result.outcome]))
				pr->result.message[0] = '\0';
			probe_end(p, pr, outcome_state[pr->result.outcome],
				  pr->result.exit_code, pr->result.message);
		}
		probe_free(pr);
		p->v[i] = p->v[--p->n];
	}
	if ((int)p->n < p->max) {
		if (sched_check_claim(p->s, (size_t)(p->max - (int)p->n), &reqs,
				      &n) < 0)
			log_warnx("probe: %s", err_msg());
		for (i = 0; i < n; i++)
			probe_start(p, reqs[i]);
		free(reqs);
	}
	now = store_now_ms();
	if ((int)p->n >= p->max)
		return 1000; /* a probe's end wakes the loop */
	if (sched_check_next(p->s, &next) < 0)
		return 1000;
	return next <= now ? 0 : next - now;
}

size_t
probes_running(struct probes *p)
{
	return p->n;
}

void
probes_free(struct probes *p, const char *why)
{
	struct probe *pr;
	struct run_handle *h;
	size_t i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = 1;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n; i++) {
		pr = p->v[i];
		pthread_mutex_lock(&p->lock);
		h = pr->h;
		pthread_mutex_unlock(&p->lock);
		if (h)
			pr->ops->kill(h);
	}
	for (i = 0; i < p->n; i++) {
		pr = p->v[i];
		pthread_join(pr->thread, NULL);
		plog(pr->log_fd, "%s", why);
		if (sched_check_interrupt(p->s, pr->req->run_id, why) < 0)
			log_warnx("probe: check run %lld: %s",
				  (long long)pr->req->run_id, err_msg());
		probe_free(pr);
	}
	free(p->v);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
