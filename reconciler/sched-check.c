/*
 * sched-check.c - drift probes (DESIGN §3, "Check"): which task is probed
 * when, and what a probe's end does to its task.  Like sched.c it keeps
 * the record and never starts a process: the daemon's probe executor runs
 * what sched_check_claim hands out and reports with sched_check_finish.
 *
 * Rules: a task is probed only in success, with a check in its active
 * definition, never while an ancestor waits or runs, one probe at a time;
 * the due time is a row (check_due), so a restart keeps the rhythm.  A
 * failing probe of the success it follows is drift: the task goes to
 * error ("drift: check failed on HOST (exit N)") and its error/always
 * dependents follow; with heal it runs again instead, at most max_heals
 * times an hour.
 */
#include <stdlib.h>
#include <string.h>

#include "sched-int.h"

#define HOUR_MS ((int64_t)60 * 60 * 1000)

/* A uniform number in [0, n). */
static int64_t
jitter(int64_t n)
{
	uint64_t r = 0;

	if (n <= 0)
		return 0;
	if (crypto_random(&r, sizeof(r)) < 0)
		r = (uint64_t)store_now_ms() * 2654435761u;
	return (int64_t)(r % (uint64_t)n);
}

/*
 * The first probe after a success: within the second half of an
 * interval, so that tasks that succeed together (a cascade of 1,000) are
 * spread over half an interval from the start, and keep that phase.
 */
int
check_arm_locked(struct sched *s, const struct task_row *task,
		 const struct task *t)
{
	int64_t run_id = 0, iv = t->check->interval_ms;
	int ret;

	ret = store_run_last_success(s->st, task->id, &run_id);
	if (ret < 0)
		return ret;
	return store_check_due_set(s->st, task->id,
				   store_now_ms() + iv - jitter(iv / 2),
				   run_id);
}

/* The next due time after one that came at due: one interval on, the
 * ones already past skipped (a probe longer than its interval). */
static int64_t
next_due(int64_t due, int64_t iv, int64_t now)
{
	int64_t next = due + iv;

	if (next <= now)
		next += ((now - next) / iv + 1) * iv;
	return next;
}

/* Is an ancestor of t (any kind of dependency) waiting or running? */
static int
ancestor_busy(struct sched *s, const struct cascade *c, int64_t cascade_id,
	      const struct task *t, const char **out_name)
{
	size_t *queue, head = 0, tail = 0, v, i, w;
	unsigned char *seen;
	struct task_row row;
	int ret = 0;

	if (!t->ndeps)
		return 0;
	queue = xmalloc(c->ntasks * sizeof(*queue));
	seen = xcalloc(c->ntasks, 1);
	queue[tail++] = cascade_task_index(c, t);
	while (head < tail && !ret) {
		v = queue[head++];
		for (i = 0; i < c->tasks[v].ndeps && !ret; i++) {
			w = c->tasks[v].deps[i].task;
			if (seen[w])
				continue;
			seen[w] = 1;
			queue[tail++] = w;
			if (store_task_find(s->st, cascade_id, c->tasks[w].name,
					    &row) < 0)
				continue;
			if (row.state == TS_WAITING || row.state == TS_RUNNING) {
				*out_name = c->tasks[w].name;
				ret = 1;
			}
			free(row.name);
		}
	}
	free(queue);
	free(seen);
	return ret;
}

/* The host a probe runs on, as its reason names it. */
static const char *
probe_host(const struct task *t, size_t h)
{
	const struct name_list *hl;

	if (strcmp(t->runner, "ssh"))
		return t->runner; /* "local", "docker" */
	hl = t->check->hosts.n ? &t->check->hosts : &t->hosts;
	return hl->n ? hl->v[h].name : "?";
}

/* Turn a task's run request into its probe's. */
static void
req_for_probe(struct sched *s, const struct task *t, struct run_req *r)
{
	struct buf b = BUF_INIT;
	size_t alloc = r->nenv;

	free(r->script);
	r->script = xstrndup(t->check->run, t->check->run_len);
	r->script_len = t->check->run_len;
	r->timeout_ms = t->check->timeout_ms;
	if (t->check->image) {
		free(r->image);
		r->image = xstrdup(t->check->image);
	}
	strvec_clear(&r->store_files);
	strvec_clear(&r->store_env);
	push_env(r, &alloc, "SCAFFOLD_CHECK", "1", 1);
	free(r->log_path);
	store_check_log_path(s->st, r->run_id, &b);
	r->log_path = buf_detach(&b, NULL);
	free(r->work_dir);
	store_check_dir(s->st, r->run_id, &b);
	r->work_dir = buf_detach(&b, NULL);
	buf_release(&b);
}

/*
 * Start the probes of one due task, in one transaction: a check run per
 * host, requests appended to *out; or, when it must not run now, its due
 * time moved (or dropped: the task left success, or lost its check).  1,
 * with nothing changed, when its hosts need more than room and probes
 * were claimed already.
 */
static int
claim_check(struct sched *s, const struct check_due *due, int64_t now,
	    size_t room, struct run_req ***out, size_t *n, size_t *cap)
{
	struct task_row task;
	struct cascade_row crow;
	const struct cascade *c = NULL;
	const struct task *t = NULL;
	struct check_row row;
	struct run_req *r;
	const char *busy = NULL;
	size_t nhosts, h, first = *n;
	int64_t last = 0;
	int ret, running = 0;

	memset(&task, 0, sizeof(task));
	memset(&crow, 0, sizeof(crow));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	ret = store_task_get(s->st, due->task_id, &task);
	if (ret == 0)
		ret = store_cascade_brief(s->st, task.cascade_id, &crow);
	if (ret == 0 && crow.active)
		ret = sched_definition(s, task.cascade_id, &c);
	if (ret == ERR_NOTFOUND)
		goto drop;
	if (ret < 0)
		goto fail;
	t = c ? cascade_task(c, task.name) : NULL;
	if (!t || !t->check || !task.present || task.state != TS_SUCCESS)
		goto drop;
	ret = store_run_last_success(s->st, task.id, &last);
	if (ret < 0 && ret != ERR_NOTFOUND)
		goto fail;
	if (last != due->run_id)
		goto drop; /* a success since: its own arm decides */
	if ((ret = store_check_running_count(s->st, task.id, &running)) < 0)
		goto fail;
	if (running || ancestor_busy(s, c, task.cascade_id, t, &busy)) {
		/* one probe at a time; none while an ancestor may change
		 * what it probes: skip this one */
		ret = store_check_due_set(s->st, task.id,
					  next_due(due->due_at,
						   t->check->interval_ms, now),
					  due->run_id);
		goto commit;
	}
	nhosts = 1;
	if (!strcmp(t->runner, "ssh"))
		nhosts = t->check->hosts.n ? t->check->hosts.n : t->hosts.n;
	if (*n && nhosts > room) {
		/* its hosts do not fit beside the probes claimed so far:
		 * it stays due, for the next call */
		ret = 1;
		goto fail;
	}
	GROW(*out, *n + nhosts + 1, *cap);
	for (h = 0; h < nhosts; h++) {
		memset(&row, 0, sizeof(row));
		row.task_id = task.id;
		row.run_id = due->run_id;
		row.runner = (char *)t->runner;
		row.host = (char *)probe_host(t, h);
		if ((ret = store_check_insert(s->st, &row)) < 0)
			goto fail;
		r = xcalloc(1, sizeof(*r));
		r->run_id = row.id;
		r->task_id = task.id;
		(*out)[(*n)++] = r;
		ret = build_req(s, c, crow.repo, task.cascade_id, crow.revision,
				t, strcmp(t->runner, "ssh") ? NULL : row.host,
				r);
		if (ret == ERR_INVALID) {
			/* it cannot start (an input lost its value): ended
			 * here, saying why; no verdict on what it never
			 * probed, and it is tried again next interval */
			(*n)--;
			run_req_free(r);
			ret = store_check_finish(s->st, row.id, RS_ERROR, -1,
						 err_msg(), 0, 0);
			if (ret < 0)
				goto fail;
			continue;
		}
		if (ret < 0)
			goto fail;
		req_for_probe(s, t, r);
	}
	ret = store_check_due_set(s->st, task.id,
				  next_due(due->due_at, t->check->interval_ms,
					   now),
				  due->run_id);
	goto commit;
drop:
	ret = store_check_due_delete(s->st, due->task_id);
commit:
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret == 0)
		goto out;
fail:
	store_rollback(s->st);
	while (*n > first)
		run_req_free((*out)[--(*n)]);
out:
	free(task.name);
	cascade_row_release(&crow);
	return ret;
}

int
sched_check_claim(struct sched *s, size_t max, struct run_req ***out,
		  size_t *n)
{
	struct check_due *due = NULL;
	size_t ndue = 0, i, cap = 0;
	int64_t now = store_now_ms();
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (max && (ret = store_check_due_list(s->st, now, max, &due,
					       &ndue)) < 0)
		return ret;
	for (i = 0; i < ndue && *n < max; i++) {
		ret = claim_check(s, &due[i], now, max - *n, out, n, &cap);
		if (ret)
			break;
	}
	if (ret > 0)
		ret = 0;
	free(due);
	if (!*out)
		*out = xcalloc(1, sizeof(**out));
	return ret < 0 && !*n ? ret : 0;
}

int
sched_check_next(struct sched *s, int64_t *out)
{
	return store_check_due_next(s->st, out);
}

/* "exit 3", "timed out after 5s": what the reason says of a probe's end. */
static void
probe_outcome(struct buf *out, const struct run_done *d)
{
	if (d->exit_code >= 0)
		buf_addf(out, "exit %d", d->exit_code);
	else if (d->message && *d->message)
		buf_puts(out, d->message);
	else
		buf_puts(out, run_state_names[d->state]);
}

/* A failed probe of the task's current success: drift, or a heal. */
static int
drift_locked(struct sched *s, const struct check_row *k,
	     const struct task_row *task, const struct cascade *c,
	     const struct task *t, const struct run_done *d, int *heal,
	     struct buf *note)
{
	struct buf why = BUF_INIT, how = BUF_INIT;
	int heals = 0, ret;

	probe_outcome(&how, d);
	buf_addf(&why, "drift: check failed on %s (%s)", k->host, how.ptr);
	if ((ret = store_task_set_state(s->st, task->id, TS_SUCCESS, TS_ERROR,
					why.ptr)) < 0)
		goto out;
	if ((ret = store_check_due_delete(s->st, task->id)) < 0)
		goto out;
	if (t->check->heal) {
		ret = store_check_heals_since(s->st, task->id,
					      store_now_ms() - HOUR_MS, &heals);
		if (ret < 0)
			goto out;
		if (heals < t->check->max_heals) {
			buf_reset(&why);
			buf_addf(&why, "heal %d of %d this hour: re-run after "
				       "check run %lld failed on %s",
				 heals + 1, t->check->max_heals,
				 (long long)k->id, k->host);
			ret = trigger_locked(s, task->cascade_id, c, t->name,
					     1, why.ptr, NULL);
			if (ret < 0)
				goto out;
			*heal = 1;
			buf_addf(note, "healing: the task runs again (heal %d "
				       "of %d this hour)",
				 heals + 1, t->check->max_heals);
			goto out;
		}
		buf_addf(note, "drift; not healed: %d heals in the last hour "
			       "(max_heals %d)",
			 heals, t->check->max_heals);
	} else {
		buf_puts(note, "drift: the task is error");
	}
	ret = promote_cascade(s, task->cascade_id, task->name, NULL);
out:
	buf_release(&why);
	buf_release(&how);
	return ret;
}

int
sched_check_finish(struct sched *s, const struct run_done *d,
		   struct buf *note)
{
	struct check_row k;
	struct task_row task;
	struct cascade_row crow;
	const struct cascade *c = NULL;
	const struct task *t = NULL;
	int64_t last = 0, *pruned = NULL;
	size_t npruned = 0, i;
	int ret, current, failed, drift = 0, heal = 0;

	memset(&task, 0, sizeof(task));
	memset(&crow, 0, sizeof(crow));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	if ((ret = store_check_get(s->st, d->run_id, &k)) < 0)
		goto fail;
	if (k.state != RS_RUNNING) {
		ret = err_set("check run %lld already ended (%s)",
			      (long long)k.id, run_state_names[k.state]);
		goto fail;
	}
	if ((ret = store_task_get(s->st, k.task_id, &task)) < 0 ||
	    (ret = store_cascade_brief(s->st, task.cascade_id, &crow)) < 0)
		goto fail;
	if (crow.active &&
	    (ret = sched_definition(s, task.cascade_id, &c)) < 0)
		goto fail;
	t = c ? cascade_task(c, task.name) : NULL;
	ret = store_run_last_success(s->st, task.id, &last);
	if (ret < 0 && ret != ERR_NOTFOUND)
		goto fail;
	/* killed: by scaffold stopping, never a verdict on the task */
	failed = d->state != RS_SUCCESS && d->state != RS_KILLED;
	current = t && t->check && task.present &&
		  task.state == TS_SUCCESS && last == k.run_id;
	if (failed && current) {
		drift = 1;
		if ((ret = drift_locked(s, &k, &task, c, t, d, &heal,
					note)) < 0)
			goto fail;
	} else if (failed) {
		buf_puts(note, "no drift: the task changed while it ran");
	}
	if ((ret = store_check_finish(s->st, k.id, d->state, d->exit_code,
				      d->message, drift, heal)) < 0 ||
	    (ret = store_checks_prune(s->st, k.task_id, CHECK_KEEP_RUNS,
				      &pruned, &npruned)) < 0)
		goto fail;
	if ((ret = store_commit(s->st)) < 0)
		goto fail;
	for (i = 0; i < npruned; i++)
		store_check_log_remove(s->st, pruned[i]);
	goto out;
fail:
	store_rollback(s->st);
out:
	free(pruned);
	check_row_release(&k);
	free(task.name);
	cascade_row_release(&crow);
	return ret;
}

int
sched_check_interrupt(struct sched *s, int64_t check_id, const char *why)
{
	struct check_row k;
	struct check_due due;
	int ret;

	memset(&k, 0, sizeof(k));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	if ((ret = store_check_get(s->st, check_id, &k)) < 0 ||
	    (ret = store_check_finish(s->st, k.id, RS_LOST, -1, why, 0, 0)) < 0)
		goto fail;
	/* not a verdict: probe it again at once */
	ret = store_check_due_get(s->st, k.task_id, &due);
	if (ret == 0 && due.run_id == k.run_id)
		ret = store_check_due_set(s->st, k.task_id, store_now_ms(),
					  k.run_id);
	if ((ret < 0 && ret != ERR_NOTFOUND) ||
	    (ret = store_commit(s->st)) < 0)
		goto fail;
	goto out;
fail:
	store_rollback(s->st);
out:
	check_row_release(&k);
	return ret;
}

/*
 * Tasks of a cascade in success whose check has no due time (the check
 * came with a definition that changed nothing else, or the success came
 * before this scaffold had probes): armed, inside the caller's
 * transaction.
 */
int
check_sweep_locked(struct sched *s, int64_t cascade_id)
{
	const struct cascade *c;
	const struct task *t;
	struct task_row *rows = NULL;
	struct check_due due;
	size_t n = 0, i;
	int ret;

	if ((ret = sched_definition(s, cascade_id, &c)) < 0 ||
	    (ret = store_tasks(s->st, cascade_id, &rows, &n)) < 0)
		return ret;
	for (i = 0; i < n && ret == 0; i++) {
		if (rows[i].state != TS_SUCCESS || !rows[i].present)
			continue;
		t = cascade_task(c, rows[i].name);
		if (!t || !t->check)
			continue;
		ret = store_check_due_get(s->st, rows[i].id, &due);
		if (ret == ERR_NOTFOUND)
			ret = check_arm_locked(s, &rows[i], t);
	}
	task_rows_free(rows, n);
	return ret;
}

int
sched_check_sweep(struct sched *s)
{
	struct cascade_row *cs = NULL;
	size_t n = 0, i;
	int ret;

	if ((ret = store_cascade_list(s->st, 1, &cs, &n)) < 0)
		return ret;
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	for (i = 0; i < n && ret == 0; i++)
		ret = check_sweep_locked(s, cs[i].id);
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret < 0)
		store_rollback(s->st);
out:
	cascade_rows_free(cs, n);
	return ret;
}

int
sched_check_running(struct sched *s, struct check_row **out, size_t *n)
{
	return store_checks_running(s->st, out, n);
}
