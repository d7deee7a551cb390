/*
 * exec.c - run what the scheduler hands out: each run on its own thread
 * through its runner backend, the store touched only from the calling
 * thread.  Kill requests recorded in the store (by `scaffold kill`, from
 * any process) are acted on within a fraction of a second.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "../runner/runner.h"

struct slot {
	struct run_req *req;
	const struct runner_ops *ops;
	struct run_handle *h;
	struct run_spec spec;
	struct spec_arrays arrays; /* what spec points to */
	struct run_result result;
	int log_fd;
	int started_ok;
	int done;
	int kill_sent;
	/* started on its own thread (so that slow starts, an ssh connection
	 * or a container's creation, overlap); under x->lock: */
	int need_start;
	int kill_pending; /* a kill that came before the handle */
	char start_err[600]; /* "cannot start: ..." */
	int64_t t0;
	/* the run is over and its end prepared (log line, .display), but the
	 * store could not record it (a full disk): tried again at retry_at */
	int ended;
	int64_t retry_at;
	char dur[32];
	pthread_t thread;
	struct exec *x;
};

struct exec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct slot **slots;
	size_t n;
	size_t alloc;
	int woken;
	struct store *st;
	struct sched *s;
	int max_parallel;
	int quiet;
	int idle_wait; /* a daemon: with nothing running, wait for a wake */
	int64_t last_kill_check;
	exec_finish_fn on_finish; /* after each recorded end (commit statuses) */
	void *on_finish_arg;
	exec_allow_fn allow; /* may this run start? */
	void *allow_arg;
	/* work dirs of recorded runs, removed once the next runs are
	 * started: that removal is not on a chain's critical path */
	struct strvec trash;
};

static void
empty_trash(struct exec *x)
{
	for (size_t i = 0; i < x->trash.n; i++)
		rm_rf(x->trash.v[i]);
	strvec_clear(&x->trash);
}

static void *
slot_main(void *arg)
{
	struct slot *sl = arg;
	struct run_handle *h = NULL;
	int kill_now;

	if (sl->need_start) {
		if (sl->ops->start(&h, &sl->spec) < 0) {
			pthread_mutex_lock(&sl->x->lock);
			snprintf(sl->start_err, sizeof(sl->start_err),
				 "cannot start: %s", err_msg());
			sl->done = 1;
			pthread_cond_signal(&sl->x->cond);
			pthread_mutex_unlock(&sl->x->lock);
			return NULL;
		}
		pthread_mutex_lock(&sl->x->lock);
		sl->h = h;
		kill_now = sl->kill_pending;
		pthread_mutex_unlock(&sl->x->lock);
		if (kill_now)
			sl->ops->kill(h);
	}
	if (sl->ops->wait(sl->h, &sl->result) < 0) {
		sl->result.outcome = RUN_LOST;
		sl->result.exit_code = -1;
		snprintf(sl->result.message, sizeof(sl->result.message),
			 "runner: %s", err_msg());
	}
	pthread_mutex_lock(&sl->x->lock);
	sl->done = 1;
	pthread_cond_signal(&sl->x->cond);
	pthread_mutex_unlock(&sl->x->lock);
	return NULL;
}

static void
slot_free(struct slot *sl)
{
	if (sl->h)
		sl->ops->free(sl->h);
	run_result_release(&sl->result);
	if (sl->log_fd >= 0)
		close(sl->log_fd);
	spec_arrays_release(&sl->arrays);
	run_req_free(sl->req);
	free(sl);
}

/* Write a line of scaffold's own into the run's log: 0, or -1 with errno
 * set (a full disk) and a warning. */
static int
log_line(int fd, const char *fmt, ...) PRINTF_LIKE(2, 3);
static int
log_line(int fd, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	size_t off = 0;
	ssize_t w;
	int ret = 0, e = 0;

	buf_puts(&b, "scaffold: ");
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_putc(&b, '\n');
	while (off < b.len) {
		w = write(fd, b.ptr + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			e = w < 0 ? errno : EIO;
			log_warnx("exec: cannot write to a run log: %s",
				  strerror(e));
			ret = -1;
			break;
		}
		off += (size_t)w;
	}
	buf_release(&b);
	errno = e;
	return ret;
}

void
spec_arrays_fill(struct spec_arrays *a, struct run_spec *sp,
		 const struct run_req *r, int log_fd)
{
	size_t i;

	a->env = xcalloc(r->nenv + 1, sizeof(*a->env));
	for (i = 0; i < r->nenv; i++) {
		a->env[i].name = r->env[i].name;
		a->env[i].value = r->env[i].value;
		a->env[i].len = r->env[i].len;
	}
	a->files = xcalloc(r->nfiles + 1, sizeof(*a->files));
	for (i = 0; i < r->nfiles; i++) {
		a->files[i].path = r->files[i].path;
		a->files[i].src = r->files[i].src;
	}
	a->secrets = xcalloc(r->nsecrets + 1, sizeof(*a->secrets));
	a->secret_lens = xcalloc(r->nsecrets + 1, sizeof(*a->secret_lens));
	for (i = 0; i < r->nsecrets; i++) {
		a->secrets[i] = r->secrets[i].value;
		a->secret_lens[i] = r->secrets[i].len;
	}
	memset(sp, 0, sizeof(*sp));
	sp->run_id = r->run_id;
	sp->cascade = r->cascade;
	sp->task = r->task;
	sp->revision = r->revision;
	sp->host = r->host;
	sp->image = r->image;
	sp->placement = (const char *const *)r->placement.v;
	sp->nplacement = r->placement.n;
	sp->nano_cpus = r->nano_cpus;
	sp->memory_bytes = r->memory_bytes;
	sp->attempt = r->attempt;
	sp->script = r->script;
	sp->script_len = r->script_len;
	sp->umask = r->umask;
	sp->env = a->env;
	sp->nenv = r->nenv;
	sp->files = a->files;
	sp->nfiles = r->nfiles;
	sp->store_files = (const char *const *)r->store_files.v;
	sp->nstore_files = r->store_files.n;
	sp->store_env = (const char *const *)r->store_env.v;
	sp->nstore_env = r->store_env.n;
	sp->timeout_ms = r->timeout_ms;
	sp->work_dir = r->work_dir;
	sp->log_fd = log_fd;
	sp->secrets = a->secrets;
	sp->secret_lens = a->secret_lens;
	sp->nsecrets = r->nsecrets;
}

void
spec_arrays_release(struct spec_arrays *a)
{
	free(a->env);
	free(a->files);
	free(a->secrets);
	free(a->secret_lens);
	memset(a, 0, sizeof(*a));
}

/* Tell the daemon a run of the task's cascade ended (it may be settled). */
static void
notify_finish(struct exec *x, int64_t task_id)
{
	struct task_row t;

	if (!x->on_finish || store_task_get(x->st, task_id, &t) < 0)
		return;
	x->on_finish(x->on_finish_arg, t.cascade_id);
	free(t.name);
}

/* How a run that never got going ends. */
enum unstarted {
	UNSTARTED_FAILED,  /* it could not start: error */
	UNSTARTED_LOST,	   /* it could not be adopted: lost */
	UNSTARTED_REQUEUE, /* found never started after a restart: again */
};

/*
 * A run that never got going (it could not start, or be adopted, or an
 * earlier scaffold died before starting it): record its end with msg,
 * and free its slot.
 */
static void
end_unstarted(struct exec *x, struct sched *s, struct slot *sl,
	      const char *msg, enum unstarted how)
{
	struct run_req *req = sl->req;
	struct run_done d;
	int ret;

	if (sl->log_fd >= 0)
		log_line(sl->log_fd, "%s", msg);
	if (how == UNSTARTED_REQUEUE) {
		ret = sched_not_started(s, req->run_id, msg);
		if (ret == 1 && !x->quiet)
			log_info("run %lld %s/%s: %s; it runs again",
				 (long long)req->run_id, req->cascade,
				 req->task, msg);
		else if (ret == 0 && !x->quiet)
			log_warnx("run %lld %s/%s: lost: %s (a host of a "
				  "fan-out)",
				  (long long)req->run_id, req->cascade,
				  req->task, msg);
	} else {
		memset(&d, 0, sizeof(d));
		d.run_id = req->run_id;
		d.state = how == UNSTARTED_LOST ? RS_LOST : RS_ERROR;
		d.exit_code = -1;
		d.message = msg;
		if (how == UNSTARTED_LOST && !x->quiet)
			log_warnx("run %lld %s/%s: lost: %s",
				  (long long)req->run_id, req->cascade,
				  req->task, msg);
		ret = sched_finish(s, &d);
	}
	if (ret < 0)
		log_warnx("exec: run %lld: %s", (long long)req->run_id,
			  err_msg());
	else
		notify_finish(x, req->task_id);
	rm_rf(req->work_dir);
	slot_free(sl);
}

/* Start a claimed run (or, with adopt, re-attach to one started by an
 * earlier process); on failure it is recorded at once. */
static int
start_or_adopt(struct exec *x, struct sched *s, struct run_req *req,
	       int adopt)
{
	struct slot *sl = xcalloc(1, sizeof(*sl));
	enum unstarted how = adopt ? UNSTARTED_LOST : UNSTARTED_FAILED;
	char msg[600];
	int ret;

	sl->req = req;
	sl->x = x;
	sl->t0 = store_now_ms();
	sl->log_fd = open(req->log_path,
			  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	msg[0] = '\0';
	if (adopt && !req->script)
		snprintf(msg, sizeof(msg), "scaffold stopped while the run was "
					   "in progress, and its definition is "
					   "gone");
	else if (sl->log_fd < 0)
		snprintf(msg, sizeof(msg), "cannot open the log '%s': %s",
			 req->log_path, strerror(errno));
	else if (!(sl->ops = runner_find(req->runner)))
		snprintf(msg, sizeof(msg),
			 "runner '%s' is not available in this scaffold",
			 req->runner);
	else if (!adopt && x->allow &&
		 x->allow(x->allow_arg, req->repo ? req->repo : "",
			  req->runner, msg, sizeof(msg)) < 0)
		; /* msg says why */
	else if (adopt && !sl->ops->adopt)
		snprintf(msg, sizeof(msg), "scaffold stopped while the run was "
					   "in progress");
	else if (mkdir_p(req->work_dir, 0700) < 0)
		snprintf(msg, sizeof(msg), "%s", err_msg());
	if (!msg[0]) {
		spec_arrays_fill(&sl->arrays, &sl->spec, sl->req, sl->log_fd);
		sl->spec.instance = store_instance_id(x->st);
		if (adopt) {
			log_line(sl->log_fd, "restarted: adopting run %lld",
				 (long long)req->run_id);
			ret = sl->ops->adopt(&sl->h, &sl->spec);
			if (ret == RUNNER_NOT_STARTED) {
				snprintf(msg, sizeof(msg),
					 "scaffold stopped before the run "
					 "started");
				how = UNSTARTED_REQUEUE;
			} else if (ret == ERR_NOTFOUND)
				snprintf(msg, sizeof(msg),
					 "scaffold stopped while the run was "
					 "in progress, and the run is gone");
			else if (ret < 0)
				snprintf(msg, sizeof(msg), "cannot adopt: %s",
					 err_msg());
		} else {
			log_line(sl->log_fd,
				 "run %lld of %s/%s, attempt %d, runner %s",
				 (long long)req->run_id, req->cascade,
				 req->task, req->attempt, req->runner);
			sl->need_start = 1;
		}
	}
	if (msg[0]) {
		end_unstarted(x, s, sl, msg, how);
		return 0;
	}
	if (pthread_create(&sl->thread, NULL, slot_main, sl) != 0) {
		/* no thread: end it here, synchronously */
		slot_main(sl);
		sl->thread = pthread_self();
	}
	sl->started_ok = 1;
	GROW(x->slots, x->n + 1, x->alloc);
	x->slots[x->n++] = sl;
	return 0;
}

static const enum run_state outcome_state[] = {
	[RUN_SUCCESS] = RS_SUCCESS,
	[RUN_ERROR] = RS_ERROR,
	[RUN_KILLED] = RS_KILLED,
	[RUN_LOST] = RS_LOST,
};

/*
 * Mask the secrets in the .display the runner collected for the status
 * page, in place, as the log is masked: it is output for people to read,
 * not a stored file (one the task lists in store: file keeps its bytes).
 * -1 when it is over RUN_DISPLAY_MAX, whatever the task, or cannot be
 * masked: then it must not be kept.
 */
static int
mask_display(struct slot *sl, const char *path)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	struct masker *m = NULL;
	struct stat sb;
	int fd = -1, ret = -1;
	size_t off = 0;
	ssize_t w;

	if (lstat(path, &sb) < 0) {
		err_set("cannot read it: %s", strerror(errno));
		goto out;
	}
	if (sb.st_size > RUN_DISPLAY_MAX) {
		err_set("it is larger than 1 MiB");
		goto out;
	}
	if (!sl->req->nsecrets)
		return 0;
	if (buf_read_file(&in, path, (size_t)RUN_DISPLAY_MAX) < 0)
		goto out;
	m = masker_new((const char *const *)sl->arrays.secrets,
		       sl->arrays.secret_lens,
		       sl->req->nsecrets);
	masker_feed(m, in.ptr, in.len, &out);
	masker_flush(m, &out);
	fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err_set("cannot write '%s': %s", path, strerror(errno));
		goto out;
	}
	while (off < out.len) {
		w = write(fd, out.ptr + off, out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err_set("cannot write '%s': %s", path,
				strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	masker_free(m);
	if (in.len)
		memset(in.ptr, 0, in.len);
	buf_release(&in);
	buf_release(&out);
	return ret;
}

/* Whether the task stores a file of that name itself. */
static int
stores_file(const struct run_req *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->store_files.n; i++)
		if (!strcmp(r->store_files.v[i], path))
			return 1;
	return 0;
}

/* How often the end of a run that the store refused is tried again. */
#define END_RETRY_MS 1000

/*
 * Once, when a run is over: mask its .display (dropping it when that
 * fails), and write the last line of its log.  A log that cannot be
 * written (a full disk) fails a successful run: what it printed is lost.
 */
static void
end_prepare(struct slot *sl, int quiet)
{
	struct run_result *res = &sl->result;
	size_t k, keep;
	char why[400];

	for (k = 0, keep = 0; k < res->nfiles; k++) {
		if (!strcmp(res->files[k].path, RUN_DISPLAY_FILE) &&
		    !stores_file(sl->req, RUN_DISPLAY_FILE) &&
		    mask_display(sl, res->files[k].src) < 0) {
			log_line(sl->log_fd, RUN_DISPLAY_FILE " not kept: %s",
				 err_msg());
			free(res->files[k].path);
			free(res->files[k].src);
			continue;
		}
		res->files[keep++] = res->files[k];
	}
	res->nfiles = keep;
	duration_format(sl->dur, sizeof(sl->dur), store_now_ms() - sl->t0);
	/* "killed: killed" says nothing twice */
	if (!strcmp(res->message, run_outcome_names[res->outcome]))
		res->message[0] = '\0';
	if (log_line(sl->log_fd, "run %lld ended %s%s%s after %s",
		     (long long)sl->req->run_id,
		     run_outcome_names[res->outcome],
		     res->message[0] ? ": " : "", res->message, sl->dur) < 0) {
		snprintf(why, sizeof(why),
			 "its log is incomplete: cannot write '%s': %s",
			 sl->req->log_path, strerror(errno));
		if (res->outcome == RUN_SUCCESS) {
			res->outcome = RUN_ERROR;
			res->message[0] = '\0';
		}
		snprintf(res->message + strlen(res->message),
			 sizeof(res->message) - strlen(res->message), "%s%s",
			 res->message[0] ? "; " : "", why);
	}
	if (!quiet)
		log_info("run %lld %s/%s: %s%s%s (%s)",
			 (long long)sl->req->run_id, sl->req->cascade,
			 sl->req->task, run_outcome_names[res->outcome],
			 res->message[0] ? ", " : "", res->message, sl->dur);
	sl->ended = 1;
}

/*
 * Record a finished run and forget it.  When the store refuses (a full
 * disk), the run stays in its slot, with its files, and is tried again
 * every END_RETRY_MS: its end is never lost while scaffold runs.
 */
static void
reap(struct exec *x, struct sched *s, size_t i, int quiet)
{
	struct slot *sl = x->slots[i];
	struct run_result *res = &sl->result;
	struct run_env_var *env = NULL;
	struct run_load_file *files = NULL;
	struct run_done d;
	char store_err[512];
	size_t k;
	int ret;

	if (!sl->ended) {
		if (!pthread_equal(sl->thread, pthread_self()))
			pthread_join(sl->thread, NULL);
		if (sl->start_err[0]) {
			x->slots[i] = x->slots[--x->n];
			end_unstarted(x, s, sl, sl->start_err,
				      UNSTARTED_FAILED);
			return;
		}
		end_prepare(sl, quiet);
	} else if (store_now_ms() < sl->retry_at) {
		return;
	}
	memset(&d, 0, sizeof(d));
	d.run_id = sl->req->run_id;
	d.state = outcome_state[res->outcome];
	d.exit_code = res->exit_code;
	env = xcalloc(res->nenv + 1, sizeof(*env));
	for (k = 0; k < res->nenv; k++) {
		env[k].name = res->env[k].name;
		env[k].value = res->env[k].value;
		env[k].len = res->env[k].len;
	}
	files = xcalloc(res->nfiles + 1, sizeof(*files));
	for (k = 0; k < res->nfiles; k++) {
		files[k].path = res->files[k].path;
		files[k].src = res->files[k].src;
	}
	d.env = env;
	d.nenv = res->nenv;
	d.files = files;
	d.nfiles = res->nfiles;
	d.message = res->message;
	store_err[0] = '\0';
	d.store_error = store_err;
	d.store_error_len = sizeof(store_err);
	ret = sched_finish(s, &d);
	if (ret < 0 && !strncmp(err_msg(), "store: ", 7)) {
		/* the database failed (full, I/O): try again; anything else
		 * (the run ended already) would fail the same way again */
		if (!sl->retry_at)
			log_warnx("exec: run %lld: cannot record its end (%s); "
				  "trying again every %ds",
				  (long long)d.run_id, err_msg(),
				  END_RETRY_MS / 1000);
		sl->retry_at = store_now_ms() + END_RETRY_MS;
		free(env);
		free(files);
		return;
	}
	if (ret < 0)
		log_warnx("exec: run %lld: cannot record its end: %s",
			  (long long)d.run_id, err_msg());
	else if (sl->retry_at)
		log_info("exec: run %lld: its end is recorded now",
			 (long long)d.run_id);
	if (ret == 0 && store_err[0]) {
		log_line(sl->log_fd, "%s: the run ends error", store_err);
		log_warnx("run %lld %s/%s: error, %s", (long long)d.run_id,
			  sl->req->cascade, sl->req->task, store_err);
	}
	if (ret == 0)
		notify_finish(x, sl->req->task_id);
	free(env);
	free(files);
	strvec_push(&x->trash, sl->req->work_dir);
	testpoint("exec-end-recorded");
	slot_free(sl);
	x->slots[i] = x->slots[--x->n];
}

/* Kill a slot's run; one still starting is killed once it has started. */
static void
slot_kill(struct exec *x, struct slot *sl)
{
	struct run_handle *h;

	pthread_mutex_lock(&x->lock);
	h = sl->h;
	if (!h)
		sl->kill_pending = 1;
	pthread_mutex_unlock(&x->lock);
	if (h)
		sl->ops->kill(h);
}

/* Act on kill requests recorded in the store. */
static void
check_kills(struct exec *x, struct store *st)
{
	int64_t *ids = NULL;
	size_t n = 0, i, k;

	if (store_runs_kill_requested(st, &ids, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		for (k = 0; k < x->n; k++)
			if (x->slots[k]->req->run_id == ids[i] &&
			    !x->slots[k]->kill_sent) {
				x->slots[k]->kill_sent = 1;
				slot_kill(x, x->slots[k]);
			}
	free(ids);
}

void
exec_set_max_parallel(struct exec *x, int max_parallel)
{
	/* runs over a lowered bound go on; no new one starts until under */
	x->max_parallel = max_parallel;
}

/* The scheduler asks the swarm for the nodes of placement mode global. */
static int
swarm_nodes(void *arg, const char *const *constraints, size_t n,
	    struct strvec *out)
{
	(void)arg;
	return runner_swarm_nodes(out, constraints, n);
}

struct exec *
exec_new(struct store *st, struct sched *s, int max_parallel, int quiet)
{
	struct exec *x = xcalloc(1, sizeof(*x));

	sched_set_nodes_hook(s, swarm_nodes, NULL);

	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	x->st = st;
	x->s = s;
	strvec_init(&x->trash);
	x->max_parallel = max_parallel;
	x->quiet = quiet;
	return x;
}

int
exec_adopt_all(struct exec *x)
{
	struct run_req **reqs = NULL;
	size_t n = 0, i;
	int ret;

	if ((ret = sched_running(x->s, &reqs, &n)) < 0)
		return ret;
	for (i = 0; i < n; i++)
		start_or_adopt(x, x->s, reqs[i], 1);
	free(reqs);
	if (x->n && !x->quiet)
		log_info("exec: adopted %zu run%s left by an earlier scaffold",
			 x->n, x->n == 1 ? "" : "s");
	sweep_swarm(x->st, x->quiet);
	return 0;
}

void
exec_wake(struct exec *x)
{
	pthread_mutex_lock(&x->lock);
	x->woken = 1;
	pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

size_t
exec_running(struct exec *x)
{
	return x->n;
}

/* Wait until a run ends, exec_wake() is called, or wait_ms pass. */
static void
wait_event(struct exec *x, int64_t wait_ms)
{
	struct timespec ts;
	size_t i;
	int64_t ns;

	clock_gettime(CLOCK_REALTIME, &ts);
	ns = ts.tv_nsec + (wait_ms % 1000) * 1000000;
	ts.tv_sec += wait_ms / 1000 + ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	pthread_mutex_lock(&x->lock);
	for (;;) {
		for (i = 0; i < x->n && (!x->slots[i]->done ||
					 x->slots[i]->ended);
		     i++)
			;
		if (i < x->n || x->woken)
			break;
		if (pthread_cond_timedwait(&x->cond, &x->lock, &ts) ==
		    ETIMEDOUT)
			break;
	}
	x->woken = 0;
	pthread_mutex_unlock(&x->lock);
}

int
exec_step(struct exec *x, int64_t wait_ms, size_t *started)
{
	struct run_req **reqs = NULL;
	size_t n = 0, i;
	int ret, done;

	if (started)
		*started = 0;
	if (x->n && wait_ms > 0)
		wait_event(x, wait_ms);
	if (store_now_ms() - x->last_kill_check >= 200) {
		x->last_kill_check = store_now_ms();
		check_kills(x, x->st);
	}
	for (i = x->n; i-- > 0;) {
		pthread_mutex_lock(&x->lock);
		done = x->slots[i]->done;
		pthread_mutex_unlock(&x->lock);
		if (done)
			reap(x, x->s, i, x->quiet);
	}
	/* start what fits; a run that cannot start frees its slot at once */
	while ((int)x->n < x->max_parallel) {
		ret = sched_claim(x->s, (size_t)x->max_parallel - x->n, &reqs,
				  &n);
		if (ret < 0)
			return ret;
		for (i = 0; i < n; i++)
			start_or_adopt(x, x->s, reqs[i], 0);
		free(reqs);
		reqs = NULL;
		if (started)
			*started += n;
		if (!n)
			break;
	}
	empty_trash(x);
	/* nothing to run: a daemon sleeps until exec_wake or the timeout */
	if (!x->n && x->idle_wait && wait_ms > 0)
		wait_event(x, wait_ms);
	return (int)x->n;
}

void
exec_set_idle_wait(struct exec *x, int on)
{
	x->idle_wait = on;
}

void
exec_set_on_finish(struct exec *x, exec_finish_fn fn, void *arg)
{
	x->on_finish = fn;
	x->on_finish_arg = arg;
}

void
exec_set_allow(struct exec *x, exec_allow_fn fn, void *arg)
{
	x->allow = fn;
	x->allow_arg = arg;
}

void
exec_interrupt_all(struct exec *x, const char *why)
{
	struct slot *sl;
	size_t i;

	/* runs that are over: a last try at recording their ends */
	for (i = x->n; i-- > 0;)
		if (x->slots[i]->ended) {
			x->slots[i]->retry_at = 0;
			reap(x, x->s, i, x->quiet);
		}
	for (i = 0; i < x->n; i++)
		if (!x->slots[i]->ended)
			slot_kill(x, x->slots[i]);
	for (i = 0; i < x->n; i++) {
		sl = x->slots[i];
		if (sl->ended) {
			log_warnx("exec: run %lld ended %s, but that could "
				  "not be recorded: the next start finds it "
				  "lost",
				  (long long)sl->req->run_id,
				  run_outcome_names[sl->result.outcome]);
		} else {
			pthread_join(sl->thread, NULL);
			if (sched_interrupt(x->s, sl->req->run_id, why) < 0)
				log_warnx("exec: run %lld: %s",
					  (long long)sl->req->run_id,
					  err_msg());
			else if (!x->quiet)
				log_info("run %lld %s/%s: interrupted; it "
					 "will run again",
					 (long long)sl->req->run_id,
					 sl->req->cascade, sl->req->task);
		}
		rm_rf(sl->req->work_dir);
		slot_free(sl);
	}
	x->n = 0;
	empty_trash(x);
}

void
exec_free(struct exec *x)
{
	if (!x)
		return;
	if (x->n)
		exec_interrupt_all(x, "scaffold stopped while the run was in "
				      "progress");
	empty_trash(x);
	free(x->slots);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
}

int
exec_until_idle(struct store *st, struct sched *s, int max_parallel,
		int quiet)
{
	struct exec *x;
	size_t moved, started;
	int ret;

	x = exec_new(st, s, max_parallel, quiet);

	if ((ret = exec_adopt_all(x)) < 0 ||
	    (ret = sched_promote(s, &moved)) < 0)
		goto out;
	/* runs that end free their dependents, which the next step claims;
	 * idle when nothing is in flight after claiming */
	do
		ret = exec_step(x, 200, &started);
	while (ret > 0);
out:
	exec_free(x);
	return ret < 0 ? ret : 0;
}
