/*
 * status.c - what each cascade's commit status says (DESIGN §3).  A
 * revision that touches a cascade's file opens a status for (cascade,
 * commit), even when the definition did not change ("no change to the
 * definition; all succeeded": the state it found):
 * pending while any of its tasks waits or runs, then success, or failure
 * when any task is error or killed.  An invalid file is error at that
 * commit.  A newer revision supersedes an unsettled one.  Decisions go to
 * the store's outbox; outbox.c posts them.
 *
 * The status of a cascade follows the newest revision that opened one
 * (its "tracked" row); runs since that revision was applied are its runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

#define CONTEXT_PREFIX "scaffold/"

/*
 * One decision at a time in the process: a worker applying a revision
 * holds it from before sched_apply() until its statuses are opened, so
 * the outbox thread never counts the new revision's runs for the old.
 */
static pthread_mutex_t decide_lock = PTHREAD_MUTEX_INITIALIZER;

/* A cascade at a revision. */
struct subject {
	const struct config *cf;
	const char *repo;
	const char *cascade;
	int64_t cascade_id;
	const char *commit;
	int changed;	   /* -1: unknown; STATUS_NO_CHANGE */
	int64_t opened_at; /* runs from then on are its runs */
	int to_run;	   /* the reset set, when just applied; else -1 */
};

void
status_truncate(struct buf *b, size_t max)
{
	size_t n;

	if (b->len <= max)
		return;
	n = max >= 3 ? max - 3 : 0;
	/* never cut a UTF-8 sequence in two */
	while (n > 0 && ((unsigned char)b->ptr[n] & 0xc0) == 0x80)
		n--;
	b->len = n;
	b->ptr[n] = '\0';
	if (max >= 3)
		buf_puts(b, "...");
}

void
status_target_url(struct buf *out, const struct config *cf, const char *repo,
		  const char *cascade, const char *commit)
{
	const char *u = cf->public_url ? cf->public_url : "";
	size_t n = strlen(u);

	while (n && u[n - 1] == '/')
		n--;
	buf_add(out, u, n);
	buf_puts(out, "/c/");
	forge_url_escape(out, repo, 0);
	buf_putc(out, '/');
	forge_url_escape(out, cascade, 0);
	buf_puts(out, "?rev=");
	forge_url_escape(out, commit, 0);
}

static int
enqueue(struct store *st, const struct subject *sj, const char *state,
	struct buf *desc, size_t *enqueued)
{
	struct status_row row;
	struct buf ctx = BUF_INIT, url = BUF_INIT, esc = BUF_INIT;
	int ret;

	memset(&row, 0, sizeof(row));
	status_truncate(desc, STATUS_DESCRIPTION_MAX);
	buf_addf(&ctx, CONTEXT_PREFIX "%s", sj->cascade);
	status_target_url(&url, sj->cf, sj->repo, sj->cascade, sj->commit);
	row.repo = (char *)sj->repo;
	row.commit_id = (char *)sj->commit;
	row.context = ctx.ptr;
	row.state = (char *)state;
	row.description = desc->ptr;
	row.target_url = url.ptr;
	row.changed = sj->changed;
	row.opened_at = sj->opened_at;
	if ((ret = store_status_enqueue(st, &row)) == 0) {
		if (enqueued)
			(*enqueued)++;
		escape_log(&esc, desc->ptr, desc->len);
		log_info("status: repo '%s' at %.12s: %s %s (%s)", sj->repo,
			 sj->commit, ctx.ptr, state, esc.ptr);
	}
	buf_release(&ctx);
	buf_release(&url);
	buf_release(&esc);
	return ret;
}

/* Why a task failed, from its last run: "exit 3", "killed", ... */
static void
fail_detail(struct buf *out, const struct task_row *t, const struct run_row *r)
{
	struct buf m = BUF_INIT;

	if (!r || r->state == RS_SUCCESS || r->state == RS_RUNNING) {
		buf_puts(out, task_state_names[t->state]);
	} else if (r->state == RS_ERROR && r->exit_code > 0) {
		buf_addf(out, "exit %d", r->exit_code);
	} else if (r->state == RS_ERROR && r->message && r->message[0]) {
		buf_puts(&m, r->message);
		status_truncate(&m, 48);
		buf_puts(out, m.ptr);
	} else {
		buf_puts(out, run_state_names[r->state]);
	}
	buf_release(&m);
}

/* Did run's task run on another host too (a fan-out)? */
static int
fanned_out(const struct run_row *runs, size_t n, const struct run_row *run)
{
	size_t i;

	for (i = 0; run->host && i < n; i++)
		if (runs[i].task_id == run->task_id && runs[i].host &&
		    strcmp(runs[i].host, run->host))
			return 1;
	return 0;
}

/*
 * The state and description of a subject now: pending while a task of
 * the cascade waits or runs; else failure when one is error or killed
 * (those that ran since the revision named first), else success.
 */
static int
decide(struct store *st, const struct subject *sj, const char **state,
       struct buf *desc)
{
	struct task_row *tasks = NULL;
	struct run_row *runs = NULL;
	struct strmap last = STRMAP_INIT, lastfail = STRMAP_INIT;
	struct buf failed = BUF_INIT, older = BUF_INIT;
	size_t ntasks = 0, nruns = 0, nfailed = 0, i;
	int64_t counts[TS_N];
	const char *verdict;
	/* a commit that left the definition as it was says the state it
	 * found: each failed task's last run, whenever it ran */
	int nochange = sj->changed == STATUS_NO_CHANGE, ret;

	buf_reset(desc);
	if ((ret = store_tasks(st, sj->cascade_id, &tasks, &ntasks)) < 0)
		goto out;
	/* the one verdict every view gives (reconciler/verdict.c) */
	verdict = cascade_verdict(tasks, ntasks, counts);
	if (sj->changed >= 0)
		buf_addf(desc, "%d changed, ", sj->changed);
	else if (nochange)
		buf_puts(desc, "no change to the definition; ");
	if (!strcmp(verdict, "running")) {
		*state = "pending";
		if (sj->to_run >= 0)
			buf_addf(desc, "%d to run", sj->to_run);
		else
			buf_addf(desc, "%lld running or waiting",
				 (long long)(counts[TS_RUNNING] +
					     counts[TS_WAITING]));
		goto out;
	}
	if (!strcmp(verdict, "not_started")) {
		/* by hand only, or waiting on a file: not done yet */
		*state = "pending";
		buf_addf(desc, "%lld not run", (long long)counts[TS_NOT_STARTED]);
		goto out;
	}
	if ((ret = store_status_runs(st, sj->cascade_id,
				     nochange ? 0 : sj->opened_at, &runs,
				     &nruns)) < 0)
		goto out;
	/* each task's last run since the revision (runs come oldest first),
	 * and its last failed one: a fan-out's newest run may be that of a
	 * host that succeeded */
	for (i = 0; i < nruns; i++) {
		strmap_put(&last, runs[i].task, &runs[i]);
		if (runs[i].state != RS_SUCCESS && runs[i].state != RS_RUNNING)
			strmap_put(&lastfail, runs[i].task, &runs[i]);
	}
	for (i = 0; i < ntasks; i++) {
		const struct run_row *r;

		if (!tasks[i].present || (tasks[i].state != TS_ERROR &&
					  tasks[i].state != TS_KILLED))
			continue;
		r = strmap_get(&last, tasks[i].name);
		if (r) {
			const struct run_row *f =
			    strmap_get(&lastfail, tasks[i].name);

			buf_addf(&failed, "%s%s (", nfailed++ ? ", " : "",
				 tasks[i].name);
			/* a fan-out: the host that failed */
			if (f && fanned_out(runs, nruns, f))
				buf_addf(&failed, "%s: ", f->host);
			fail_detail(&failed, &tasks[i], f ? f : r);
			buf_putc(&failed, ')');
		} else {
			buf_addf(&older, "%s%s", older.len ? ", " : "",
				 tasks[i].name);
		}
	}
	if (!nfailed && !older.len) {
		*state = "success";
		if (nochange)
			buf_puts(desc, "all succeeded");
		else if (last.n)
			buf_addf(desc, "%zu re-ran, all succeeded", last.n);
		else
			buf_puts(desc, "nothing to run");
		if (counts[TS_SKIPPED])
			buf_addf(desc, "; %lld skipped",
				 (long long)counts[TS_SKIPPED]);
	} else {
		*state = "failure";
		if (nochange) {
			buf_addf(desc, "failing: %s", failed.ptr);
			if (older.len)
				buf_addf(desc, "%s%s", nfailed ? ", " : "",
					 older.ptr);
			goto out;
		}
		if (nfailed) {
			/* "1 of 6 failed: migrate (exit 3)" says it all */
			buf_reset(desc);
			buf_addf(desc, "%zu of %zu failed: %s", nfailed, last.n,
				 failed.ptr);
		} else {
			buf_addf(desc, "%zu re-ran", last.n);
		}
		if (older.len)
			buf_addf(desc, "; still failing: %s", older.ptr);
	}
	ret = 0;
out:
	strmap_release(&last);
	strmap_release(&lastfail);
	task_rows_free(tasks, ntasks);
	run_rows_free(runs, nruns);
	buf_release(&failed);
	buf_release(&older);
	return ret;
}

/*
 * Decide a subject and enqueue the result when it says something new
 * after prev (the subject's newest row, NULL when none): another state,
 * or for a settled one another description.
 */
static int
update(struct store *st, const struct subject *sj,
       const struct status_row *prev, size_t *enqueued)
{
	struct buf desc = BUF_INIT;
	const char *state = NULL;
	int ret;

	if ((ret = decide(st, sj, &state, &desc)) < 0)
		goto out;
	status_truncate(&desc, STATUS_DESCRIPTION_MAX);
	if (prev && !strcmp(prev->state, state) &&
	    (!strcmp(state, "pending") ||
	     !strcmp(prev->description ? prev->description : "", desc.ptr)))
		goto out;
	ret = enqueue(st, sj, state, &desc, enqueued);
out:
	buf_release(&desc);
	return ret;
}

static const struct repo_config *
forge_repo(const struct config *cf, const char *repo)
{
	const struct repo_config *rc = config_repo(cf, repo);

	return rc && rc->forge_kind ? rc : NULL;
}

/* Decide the tracked subject of a cascade again (decide_lock held). */
static int
recheck(struct store *st, const struct config *cf, const char *repo,
	const struct cascade_row *crow, size_t *enqueued, int *open)
{
	struct status_row tracked;
	struct subject sj;
	struct buf ctx = BUF_INIT, desc = BUF_INIT;
	int ret;

	*open = 0;
	buf_addf(&ctx, CONTEXT_PREFIX "%s", crow ? crow->name : "");
	memset(&tracked, 0, sizeof(tracked));
	if (!crow || !forge_repo(cf, repo)) {
		ret = 0;
		goto out;
	}
	ret = store_status_tracked(st, repo, ctx.ptr, &tracked);
	if (ret == ERR_NOTFOUND || (ret == 0 && !strcmp(tracked.state,
							"canceled"))) {
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	memset(&sj, 0, sizeof(sj));
	sj.cf = cf;
	sj.repo = repo;
	sj.cascade = crow->name;
	sj.cascade_id = crow->id;
	sj.commit = tracked.commit_id;
	sj.changed = tracked.changed;
	sj.opened_at = tracked.opened_at;
	sj.to_run = -1;
	if (!crow->active) {
		/* its file is gone: nothing will settle it */
		if (strcmp(tracked.state, "pending"))
			goto out;
		buf_puts(&desc, "the cascade was removed");
		ret = enqueue(st, &sj, "canceled", &desc, enqueued);
		goto out;
	}
	if ((ret = update(st, &sj, &tracked, enqueued)) < 0)
		goto out;
	/* still open? */
	status_row_release(&tracked);
	if (store_status_tracked(st, repo, ctx.ptr, &tracked) == 0 &&
	    !strcmp(tracked.state, "pending"))
		*open = 1;
out:
	status_row_release(&tracked);
	buf_release(&ctx);
	buf_release(&desc);
	return ret;
}

int
status_cascade(struct store *st, const struct config *cf, int64_t cascade_id,
	       size_t *enqueued)
{
	struct cascade_row crow;
	int ret, open;

	pthread_mutex_lock(&decide_lock);
	ret = store_cascade_get(st, cascade_id, &crow);
	if (ret == 0) {
		ret = recheck(st, cf, crow.repo, &crow, enqueued, &open);
		cascade_row_release(&crow);
	} else if (ret == ERR_NOTFOUND) {
		ret = 0;
	}
	pthread_mutex_unlock(&decide_lock);
	return ret;
}

int
status_sweep(struct store *st, const struct config *cf, size_t *enqueued,
	     size_t *open)
{
	struct status_row *rows = NULL;
	struct cascade_row crow;
	size_t n = 0, i;
	int ret, still, found;

	if (open)
		*open = 0;
	pthread_mutex_lock(&decide_lock);
	if ((ret = store_status_open(st, &rows, &n)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		const char *name = rows[i].context;

		if (strncmp(name, CONTEXT_PREFIX, strlen(CONTEXT_PREFIX)))
			continue;
		name += strlen(CONTEXT_PREFIX);
		ret = store_cascade_find(st, rows[i].repo, name, &crow);
		if (ret < 0 && ret != ERR_NOTFOUND)
			goto out;
		found = ret == 0;
		if (!found) {
			/* never applied here (a foreign row): leave it */
			continue;
		}
		ret = recheck(st, cf, rows[i].repo, &crow, enqueued, &still);
		cascade_row_release(&crow);
		if (ret < 0)
			goto out;
		if (still && open)
			(*open)++;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&decide_lock);
	status_rows_free(rows, n);
	return ret;
}

int64_t
status_revision_begin(const struct repo_config *rc)
{
	if (rc->forge_kind)
		pthread_mutex_lock(&decide_lock);
	return store_now_ms();
}

void
status_revision_end(const struct repo_config *rc)
{
	if (rc->forge_kind)
		pthread_mutex_unlock(&decide_lock);
}

/* The name of the cascade an invalid file holds: the one last applied from
 * it, else the file's name without its extension. */
static void
invalid_name(struct buf *out, const struct cascade_row *cs, size_t ncs,
	     const char *repo, const char *file)
{
	const char *base, *dot;
	size_t i;
	int active;

	for (active = 1; active >= 0; active--)
		for (i = 0; i < ncs; i++)
			if (cs[i].active >= active &&
			    !strcmp(cs[i].repo, repo) && cs[i].file &&
			    !strcmp(cs[i].file, file)) {
				buf_puts(out, cs[i].name);
				return;
			}
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	dot = strrchr(base, '.');
	buf_add(out, base, dot && dot > base ? (size_t)(dot - base)
					     : strlen(base));
}

/* Was file among those the revision touched (NULL: all of them)? */
static int
touched_file(const struct strvec *touched, const char *file)
{
	size_t i;

	if (!touched)
		return 1;
	for (i = 0; file && i < touched->n; i++)
		if (!strcmp(touched->v[i], file))
			return 1;
	return 0;
}

/* One line of sched_apply's report: open or supersede its subject. */
static int
note_line(struct store *st, const struct config *cf,
	  const struct repo_config *rc, const char *revision,
	  int64_t applied_at, const char *line, const struct strvec *touched,
	  size_t *enqueued)
{
	struct status_row tracked;
	struct cascade_row crow;
	struct subject sj;
	struct buf name = BUF_INIT, ctx = BUF_INIT, desc = BUF_INIT;
	const char *p, *rest;
	size_t nnew, nchanged, nremoved, nreset;
	int ret = 0, removed, nochange, have_tracked = 0, have_crow = 0;

	memset(&tracked, 0, sizeof(tracked));
	if (strncmp(line, "cascade '", 9) || !(p = strstr(line + 9, "': ")))
		goto out;
	buf_add(&name, line + 9, (size_t)(p - (line + 9)));
	rest = p + 3;
	nochange = !strcmp(rest, "no change");
	if (nochange) {
		/* its file changed, not its definition (a comment, the fix
		 * of an error): the commit still gets a status, or a
		 * required check would wait for it for ever */
		ret = store_cascade_find(st, rc->name, name.ptr, &crow);
		if (ret == ERR_NOTFOUND) {
			ret = 0;
			goto out;
		}
		if (ret < 0)
			goto out;
		have_crow = 1;
		if (!touched_file(touched, crow.file))
			goto out;
	}
	removed = !strncmp(rest, "removed", 7);
	buf_addf(&ctx, CONTEXT_PREFIX "%s", name.ptr);

	memset(&sj, 0, sizeof(sj));
	sj.cf = cf;
	sj.repo = rc->name;
	sj.cascade = name.ptr;
	sj.changed = -1;
	sj.to_run = -1;
	ret = store_status_tracked(st, rc->name, ctx.ptr, &tracked);
	if (ret < 0 && ret != ERR_NOTFOUND)
		goto out;
	have_tracked = ret == 0;
	if (have_tracked && !strcmp(tracked.state, "pending") &&
	    strcmp(tracked.commit_id, revision)) {
		/* an older revision that never settled */
		sj.commit = tracked.commit_id;
		sj.changed = tracked.changed;
		sj.opened_at = tracked.opened_at;
		buf_addf(&desc, "%s by %.12s",
			 removed ? "removed" : "superseded", revision);
		if ((ret = enqueue(st, &sj, "canceled", &desc, enqueued)) < 0)
			goto out;
	}
	ret = 0;
	if (removed)
		goto out;
	if (!have_crow) {
		ret = store_cascade_find(st, rc->name, name.ptr, &crow);
		if (ret == ERR_NOTFOUND) {
			ret = 0;
			goto out;
		}
		if (ret < 0)
			goto out;
		have_crow = 1;
	}
	sj.commit = revision;
	sj.cascade_id = crow.id;
	sj.opened_at = applied_at;
	sj.changed = nochange ? STATUS_NO_CHANGE : -1;
	/* the format of sched.c's reconcile() */
	if (sscanf(rest, "%zu new, %zu changed, %zu removed; %zu downstream "
			 "reset",
		   &nnew, &nchanged, &nremoved, &nreset) == 4) {
		sj.changed = (int)(nnew + nchanged);
		sj.to_run = (int)(nnew + nchanged + nreset);
	}
	/* the same commit applied again (a force push back to it) opens
	 * anew; only a repeat of what it says is left out */
	ret = update(st, &sj,
		     have_tracked && !strcmp(tracked.commit_id, revision) &&
				     strcmp(tracked.state, "pending")
			     ? &tracked
			     : NULL,
		     enqueued);
out:
	if (have_crow)
		cascade_row_release(&crow);
	status_row_release(&tracked);
	buf_release(&name);
	buf_release(&ctx);
	buf_release(&desc);
	return ret;
}

/* An invalid file: error at this commit, with its first error. */
static int
note_invalid(struct store *st, const struct config *cf,
	     const struct repo_config *rc, const char *revision,
	     int64_t applied_at, const struct status_invalid *inv,
	     const struct cascade_row *cs, size_t ncs, size_t *enqueued)
{
	struct status_row prev;
	struct subject sj;
	struct buf name = BUF_INIT, ctx = BUF_INIT, desc = BUF_INIT;
	int ret;

	memset(&prev, 0, sizeof(prev));
	invalid_name(&name, cs, ncs, rc->name, inv->file);
	buf_addf(&ctx, CONTEXT_PREFIX "%s", name.ptr);
	buf_addf(&desc, "invalid: %s", inv->file);
	if (inv->line)
		buf_addf(&desc, ":%d:%d", inv->line, inv->col);
	buf_addf(&desc, ": %s", inv->msg ? inv->msg : "error");
	status_truncate(&desc, STATUS_DESCRIPTION_MAX);
	ret = store_status_last(st, rc->name, revision, ctx.ptr, &prev);
	if (ret < 0 && ret != ERR_NOTFOUND)
		goto out;
	if (ret == 0 && !strcmp(prev.state, "error") && prev.description &&
	    !strcmp(prev.description, desc.ptr)) {
		ret = 0;
		goto out;
	}
	memset(&sj, 0, sizeof(sj));
	sj.cf = cf;
	sj.repo = rc->name;
	sj.cascade = name.ptr;
	sj.commit = revision;
	sj.changed = -1;
	sj.opened_at = applied_at;
	sj.to_run = -1;
	ret = enqueue(st, &sj, "error", &desc, enqueued);
out:
	status_row_release(&prev);
	buf_release(&name);
	buf_release(&ctx);
	buf_release(&desc);
	return ret;
}

int
status_note_revision_in(struct store *st, const struct config *cf,
			const struct repo_config *rc, const char *revision,
			int64_t applied_at, const char *report,
			const struct strvec *touched,
			const struct status_invalid *inv, size_t ninv,
			size_t *enqueued)
{
	struct cascade_row *cs = NULL;
	struct buf line = BUF_INIT;
	const char *p, *nl;
	size_t ncs = 0, i;
	int ret;

	if (!rc->forge_kind)
		return 0;
	for (p = report ? report : ""; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		buf_reset(&line);
		buf_add(&line, p, nl ? (size_t)(nl - p) : strlen(p));
		if ((ret = note_line(st, cf, rc, revision, applied_at,
				     line.ptr, touched, enqueued)) < 0)
			goto fail;
	}
	if (ninv && (ret = store_cascade_list(st, 0, &cs, &ncs)) < 0)
		goto fail;
	for (i = 0; i < ninv; i++)
		if ((ret = note_invalid(st, cf, rc, revision, applied_at,
					&inv[i], cs, ncs, enqueued)) < 0)
			goto fail;
	ret = 0;
fail:
	cascade_rows_free(cs, ncs);
	buf_release(&line);
	return ret;
}

int
status_note_revision(struct outbox *ob, struct store *st,
		     const struct config *cf, const struct repo_config *rc,
		     const char *revision, int64_t applied_at,
		     const char *report, const struct strvec *touched,
		     const struct status_invalid *inv, size_t ninv)
{
	size_t enqueued = 0;
	int ret;

	if (!rc->forge_kind)
		return 0;
	if ((ret = store_begin(st)) < 0)
		return ret;
	if ((ret = status_note_revision_in(st, cf, rc, revision, applied_at,
					   report, touched, inv, ninv,
					   &enqueued)) < 0 ||
	    (ret = store_commit(st)) < 0) {
		store_rollback(st);
		return ret;
	}
	if (enqueued)
		outbox_wake(ob);
	return 0;
}

/*
 * A pull request's plan, as the commit status "scaffold/plan" of its
 * head, linking to /p/REPO/SHA.  In the caller's transaction; *enqueued
 * counts the row.  Nothing for a repo without a forge.
 */
int
status_note_plan(struct store *st, const struct config *cf,
		 const struct repo_config *rc, const char *head,
		 const char *state, const char *description, size_t *enqueued)
{
	struct status_row row;
	struct buf desc = BUF_INIT, url = BUF_INIT, esc = BUF_INIT;
	const char *u = cf->public_url ? cf->public_url : "";
	size_t n = strlen(u);
	int ret;

	if (!rc->forge_kind)
		return 0;
	memset(&row, 0, sizeof(row));
	buf_puts(&desc, description);
	status_truncate(&desc, STATUS_DESCRIPTION_MAX);
	while (n && u[n - 1] == '/')
		n--;
	buf_add(&url, u, n);
	buf_puts(&url, "/p/");
	forge_url_escape(&url, rc->name, 0);
	buf_putc(&url, '/');
	forge_url_escape(&url, head, 0);
	row.repo = (char *)rc->name;
	row.commit_id = (char *)head;
	row.context = CONTEXT_PREFIX "plan";
	row.state = (char *)state;
	row.description = desc.ptr;
	row.target_url = url.ptr;
	row.changed = -1;
	row.opened_at = store_now_ms();
	if ((ret = store_status_enqueue(st, &row)) == 0) {
		if (enqueued)
			(*enqueued)++;
		escape_log(&esc, desc.ptr, desc.len);
		log_info("status: repo '%s' at %.12s: " CONTEXT_PREFIX
			 "plan %s (%s)",
			 rc->name, head, state, esc.ptr);
	}
	buf_release(&desc);
	buf_release(&url);
	buf_release(&esc);
	return ret;
}
