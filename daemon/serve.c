/*
 * serve.c - the daemon: a thread per repository keeps its mirror fetched
 * and reconciles every new revision through the scheduler; the main
 * thread runs what becomes ready.  Each thread has its own store
 * connection (SQLite in WAL mode lets readers such as `scaffold status`
 * look on at any time).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "../gitsync/gitsync.h"
#include "../runner/runner.h"
#include "../webhook/webhook.h"

struct parsed {
	char blob[GIT_OID_HEX + 1];
	char *path;
	char *source;
	struct cascade *c;
};

struct worker {
	pthread_t thread;
	/* the config this worker follows; a reload hands it the next pair
	 * (next_cf, next_rc, under d->lock), taken between two syncs */
	const struct config *cf;
	const struct repo_config *rc;
	const struct config *next_cf;
	const struct repo_config *next_rc;
	int quit; /* its repo left the config: the thread ends */
	struct daemon *d;
	struct parsed *cache; /* valid cascades of the applied revision */
	size_t ncache;
	int sync_now;
	int64_t pruned_at; /* the deliveries, last (epoch ms) */
	char *save_error; /* the store refused the repo's state (a full
			   * disk): said once, until it works again */
};

struct daemon {
	struct config *cf; /* the current one; the main thread's */
	/* configs replaced by a reload: a thread may still read one, so they
	 * are freed when the daemon stops (each is a few kilobytes) */
	struct config **retired;
	size_t nretired, aretired;
	struct exec *x;
	struct worker **workers; /* guarded by lock; never shrinks */
	size_t nworkers, aworkers;
	struct http_server *http;
	struct http_hooks hooks;
	struct outbox *outbox; /* commit statuses */
	struct probes *probes; /* drift checks */
	pthread_t gc; /* retention, hourly */
	int gc_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stopping;
};

static volatile sig_atomic_t got_signal, got_hup;

/*
 * From HTTP threads: a webhook or `repo sync` asks for a sync now.  A repo
 * due to sync already queues nothing more: requests coalesce into the
 * one sync that starts next.  1 when queued.
 */
static int
hook_sync(void *arg, const char *repo)
{
	struct daemon *d = arg;
	size_t i;
	int queued = 0;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nworkers; i++)
		if (!d->workers[i]->quit &&
		    !strcmp(d->workers[i]->rc->name, repo) &&
		    !d->workers[i]->sync_now) {
			d->workers[i]->sync_now = 1;
			queued = 1;
		}
	if (queued)
		pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return queued;
}

static void
hook_wake(void *arg)
{
	struct daemon *d = arg;

	exec_wake(d->x);
}

static void
hook_outbox(void *arg)
{
	struct daemon *d = arg;

	outbox_wake(d->outbox);
}

/* From the executor: a run of the cascade ended; its status may settle. */
static void
on_run_end(void *arg, int64_t cascade_id)
{
	struct daemon *d = arg;

	outbox_note_cascade(d->outbox, cascade_id);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_signal = sig;
}

static void
cache_free(struct parsed *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].source);
		cascade_free(v[i].c);
	}
	free(v);
}

static struct parsed *
cache_find(struct worker *w, const char *blob, const char *path)
{
	size_t i;

	for (i = 0; i < w->ncache; i++)
		if (!strcmp(w->cache[i].blob, blob) &&
		    !strcmp(w->cache[i].path, path))
			return &w->cache[i];
	return NULL;
}

/* What note_statuses needs, from inside sched_apply (its hook). */
struct note_ctx {
	struct worker *w;
	struct store *st;
	const char *head;
	int64_t applied_at;
	const struct diags *diags;
	const struct strvec *keep;
	const struct strvec *touched; /* NULL: every cascade file */
	size_t enqueued;
};

/*
 * The commit statuses of a revision being applied: its cascades' (from the
 * report), and error for each invalid file, with its first error.  Called
 * in sched_apply's transaction: a crash keeps both the apply and its
 * statuses, or neither.
 */
static int
note_statuses(void *arg, const char *report)
{
	struct note_ctx *nc = arg;
	const struct diags *diags = nc->diags;
	const struct strvec *keep = nc->keep;
	struct status_invalid *inv = xcalloc(keep->n + 1, sizeof(*inv));
	const struct diag *dg;
	size_t i, j;
	int ret;

	for (i = 0; i < keep->n; i++) {
		inv[i].file = keep->v[i];
		for (j = 0; j < diags->n; j++) {
			dg = &diags->v[j];
			if (dg->sev != DIAG_ERROR || strcmp(dg->file, keep->v[i]))
				continue;
			/* the first in the file (diags are sorted): a root
			 * cause before what follows from it */
			inv[i].line = dg->pos.line;
			inv[i].col = dg->pos.col;
			inv[i].msg = dg->msg;
			break;
		}
	}
	ret = status_note_revision_in(nc->st, nc->w->cf, nc->w->rc,
				      nc->head, nc->applied_at, report,
				      nc->touched, inv, keep->n,
				      &nc->enqueued);
	if (ret < 0)
		log_warnx("status: repo '%s' at %.12s: %s", nc->w->rc->name,
			  nc->head, err_msg());
	free(inv);
	return ret;
}

/* A load the file store does not have yet: said in the log. */
static void
log_missing_file(void *arg, const char *cascade, const char *task,
		 const char *file)
{
	log_warnx("reconcile: repo '%s': cascade '%s': task '%s' loads file "
		  "'%s' from the file store, which does not have it",
		  (const char *)arg, cascade, task, file);
}

/*
 * The whole cascade folder is invalid at a commit (why): each active
 * cascade of the repo keeps its definition, with why as its file's error;
 * with none, the folder dir itself carries it.
 */
static int
keep_all(struct store *st, const char *repo, const char *dir,
	 const char *why, struct strvec *keep, struct diags *diags)
{
	struct cascade_row *cs = NULL;
	size_t ncs = 0, i, nkept = 0;
	char *msg = xstrdup(why);
	int ret;

	if ((ret = store_cascade_list(st, 1, &cs, &ncs)) < 0)
		goto out;
	for (i = 0; i < ncs; i++) {
		if (strcmp(cs[i].repo, repo) || !cs[i].file)
			continue;
		diags_add(diags, DIAG_ERROR, cs[i].file, (struct pos){ 0, 0 },
			  "%s", msg);
		strvec_push(keep, cs[i].file);
		nkept++;
	}
	if (!nkept)
		diags_add(diags, DIAG_ERROR, dir, (struct pos){ 0, 0 }, "%s",
			  msg);
out:
	cascade_rows_free(cs, ncs);
	free(msg);
	return ret;
}

/*
 * Reconcile the repository at commit head: parse its cascade files (those
 * unchanged since the last revision come from the cache), apply the valid
 * ones, keep the last good definition of invalid ones, and record the
 * revision.
 */
static int
reconcile_revision(struct worker *w, struct store *st, struct sched *s,
		   struct repo_row *row, const char *mirror, const char *head)
{
	const struct repo_config *rc = w->rc;
	struct commit_info ci;
	struct strvec changed = STRVEC_INIT, keep = STRVEC_INIT;
	struct cascade_file *files = NULL;
	struct parsed *cache = NULL, *p;
	struct sched_def *defs = NULL;
	struct diags diags = DIAGS_INIT;
	struct revision_row rev;
	struct note_ctx nc;
	struct buf report = BUF_INIT, errors = BUF_INIT, fname = BUF_INIT;
	size_t nfiles = 0, ndefs = 0, ncache = 0, i, j;
	int64_t applied_at;
	int ret, diffed = 0, deactivate = 1;

	memset(&ci, 0, sizeof(ci));
	memset(&rev, 0, sizeof(rev));
	if ((ret = mirror_commit_info(mirror, head, &ci)) < 0)
		goto out;
	rev.repo = (char *)rc->name;
	rev.commit_id = (char *)head;
	rev.author = ci.author;
	rev.subject = ci.subject;
	rev.time = ci.time;
	/* the cascade files the commit touched: each gets a status, its
	 * definition changed or not (NULL: all, as for a first revision) */
	if (row->applied &&
	    mirror_diff_cascades(mirror, row->applied, head, rc->path,
				 &changed) == 0)
		diffed = 1;
	if (diffed && !changed.n) {
		rev.result = "no cascade change";
		if ((ret = store_revision_put(st, &rev)) < 0)
			goto out;
		log_info("gitsync: repo '%s' at %.12s: no cascade change",
			 rc->name, head);
		goto done;
	}
	/* the cascade folder replaced by a symbolic link: every cascade of
	 * the repo is invalid at this commit and keeps its last good
	 * definition (read through the link, the daemon would apply files
	 * from outside the folder the operator configured) */
	if ((ret = mirror_cascade_dir_check(mirror, head, rc->path)) ==
	    ERR_INVALID) {
		if ((ret = keep_all(st, rc->name, rc->path, err_msg(),
				    &keep, &diags)) < 0)
			goto out;
		deactivate = 0;
	} else if (ret < 0 ||
		   (ret = mirror_read_cascades(mirror, head, rc->path,
					       CASCADE_MAX_FILE_SIZE, &files,
					       &nfiles)) < 0)
		goto out;
	defs = xcalloc(nfiles + 1, sizeof(*defs));
	cache = xcalloc(nfiles + 1, sizeof(*cache));
	for (i = 0; i < nfiles; i++) {
		struct cascade *c = NULL;

		if (!files[i].data) {
			diags_add(&diags, DIAG_ERROR, files[i].path,
				  (struct pos){ 0, 0 }, "%s", files[i].error);
			strvec_push(&keep, files[i].path);
			continue;
		}
		p = cache_find(w, files[i].blob, files[i].path);
		if (p) {
			/* unchanged since the last revision: not parsed again */
			cache[ncache] = *p;
			p->c = NULL;
			p->path = p->source = NULL;
		} else {
			if (cascade_load(&c, files[i].path, files[i].data,
					 files[i].len, 0, &diags) < 0) {
				strvec_push(&keep, files[i].path);
				continue;
			}
			memcpy(cache[ncache].blob, files[i].blob,
			       sizeof(cache[ncache].blob));
			cache[ncache].path = xstrdup(files[i].path);
			cache[ncache].source = xstrndup(files[i].data,
							files[i].len);
			cache[ncache].c = c;
		}
		for (j = 0; j < ndefs; j++)
			if (!strcmp(defs[j].cascade->name,
				    cache[ncache].c->name))
				break;
		if (j < ndefs)
			diags_add(&diags, DIAG_ERROR, cache[ncache].path,
				  cache[ncache].c->name_pos,
				  "cascade name '%s' is also used by '%s'",
				  cache[ncache].c->name, defs[j].file);
		/* the runners the repo allows: a pushed file is not trusted
		 * to pick them */
		if (j < ndefs ||
		    config_check_runners(rc, cache[ncache].c, &diags) < 0 ||
		    config_check_hosts(w->cf, cache[ncache].c, &diags) < 0) {
			strvec_push(&keep, cache[ncache].path);
			free(cache[ncache].path);
			free(cache[ncache].source);
			cascade_free(cache[ncache].c);
			memset(&cache[ncache], 0, sizeof(cache[ncache]));
			continue;
		}
		defs[ndefs].cascade = cache[ncache].c;
		defs[ndefs].source = cache[ncache].source;
		defs[ndefs].file = cache[ncache].path;
		ndefs++;
		ncache++;
	}
	/* the order of every list of them, the statuses' first error too */
	diags_sort(&diags);
	/* statuses are decided from the apply to their opening at once */
	applied_at = status_revision_begin(rc);
	memset(&nc, 0, sizeof(nc));
	nc.w = w;
	nc.st = st;
	nc.head = head;
	nc.applied_at = applied_at;
	nc.diags = &diags;
	nc.keep = &keep;
	nc.touched = diffed ? &changed : NULL;
	sched_set_apply_hook(s, note_statuses, &nc);
	ret = sched_apply(s, rc->name, head, defs, ndefs, deactivate, &keep,
			  &report);
	sched_set_apply_hook(s, NULL, NULL);
	status_revision_end(rc);
	if (ret == 0 && nc.enqueued)
		outbox_wake(w->d->outbox);
	if (ret < 0)
		goto out;
	/* a load only the file store can satisfy depends on the store, not
	 * on the revision: its warning leaves the revision's record (the
	 * cascade's page says, live, which files are missing) */
	file_store_loads(st, rc->name, defs, ndefs, &diags, 1,
			 log_missing_file, (void *)rc->name);
	diags_sort(&diags);
	for (i = 0; i < diags.n; i++) {
		/* a file name of the repository's tree: one line, no escapes
		 * (these lines are logged, and shown by scaffold repos) */
		escape_text(&fname, diags.v[i].file);
		if (diags.v[i].pos.line)
			buf_addf(&errors, "%s:%d:%d: %s: %s\n", fname.ptr,
				 diags.v[i].pos.line, diags.v[i].pos.col,
				 diags.v[i].sev == DIAG_ERROR ? "error"
							      : "warning",
				 diags.v[i].msg);
		else
			buf_addf(&errors, "%s: %s: %s\n", fname.ptr,
				 diags.v[i].sev == DIAG_ERROR ? "error"
							      : "warning",
				 diags.v[i].msg);
	}
	rev.result = diags.nerrors ? "invalid" : "applied";
	rev.errors = errors.len ? errors.ptr : NULL;
	if ((ret = store_revision_put(st, &rev)) < 0)
		goto out;
	{
		char *line, *save = NULL;
		size_t same = 0, n;

		/* what changed, one line each; the rest in one line */
		for (line = strtok_r(report.ptr, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			n = strlen(line);
			if (n > 11 && !strcmp(line + n - 11, ": no change") &&
			    !strncmp(line, "cascade '", 9)) {
				same++;
				continue;
			}
			log_info("reconcile: repo '%s' at %.12s: %s", rc->name,
				 head, line);
		}
		if (same)
			log_info("reconcile: repo '%s' at %.12s: %zu other "
				 "cascade%s unchanged",
				 rc->name, head, same, same == 1 ? "" : "s");
		for (line = strtok_r(errors.ptr, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			log_warnx("reconcile: repo '%s' at %.12s: %s",
				  rc->name, head, line);
	}
	cache_free(w->cache, w->ncache);
	w->cache = cache;
	w->ncache = ncache;
	cache = NULL;
	ncache = 0;
done:
	free(row->applied);
	row->applied = xstrdup(head);
	ret = 0;
out:
	cache_free(cache, ncache);
	free(defs);
	cascade_files_free(files, nfiles);
	commit_info_release(&ci);
	strvec_clear(&changed);
	strvec_clear(&keep);
	diags_release(&diags);
	buf_release(&report);
	buf_release(&errors);
	buf_release(&fname);
	return ret;
}

/* One round: fetch, and reconcile a new head.  1 if something changed. */
static int
sync_once(struct worker *w, struct store *st, struct sched *s,
	  const char *mirror)
{
	const struct repo_config *rc = w->rc;
	struct repo_spec spec;
	struct repo_row row;
	char head[GIT_OID_HEX + 1];
	int ret, changed = 0, was_missing;
	char *prev_error;

	if (store_repo_get(st, rc->name, &row) == ERR_NOTFOUND) {
		row.name = xstrdup(rc->name);
	}
	free(row.url);
	row.url = xstrdup(rc->url);
	free(row.branch);
	row.branch = xstrdup(rc->branch);
	row.last_fetch_at = store_now_ms();
	prev_error = row.last_error;
	row.last_error = NULL;
	was_missing = row.branch_missing;

	memset(&spec, 0, sizeof(spec));
	spec.name = rc->name;
	spec.url = rc->url;
	spec.branch = rc->branch;
	spec.creds.ssh_key_file = rc->ssh_key_file;
	spec.creds.known_hosts_file = rc->known_hosts_file;
	spec.creds.token_file = rc->token_file;
	ret = mirror_fetch(mirror, &spec, w->cf->fetch_timeout_ms);
	if (ret < 0) {
		row.failures++;
		row.last_error = xstrdup(err_msg());
		if (!prev_error || strcmp(prev_error, row.last_error))
			log_warnx("gitsync: %s (the last good revision stays "
				  "active; retrying with backoff)",
				  row.last_error);
		goto save;
	}
	ret = mirror_branch_head(mirror, rc->branch, head);
	if (ret == ERR_NOTFOUND) {
		row.branch_missing = 1;
		row.failures = 0;
		row.last_ok_at = store_now_ms();
		err_set("repo '%s': branch '%s' is missing from the remote; "
			"keeping the last applied revision",
			rc->name, rc->branch);
		row.last_error = xstrdup(err_msg());
		if (!was_missing)
			log_warnx("gitsync: %s", row.last_error);
		goto save;
	}
	if (ret < 0) {
		row.failures++;
		row.last_error = xstrdup(err_msg());
		log_warnx("gitsync: %s", row.last_error);
		goto save;
	}
	if (prev_error || was_missing)
		log_info("gitsync: repo '%s': fetching works again", rc->name);
	row.failures = 0;
	row.branch_missing = 0;
	row.last_ok_at = store_now_ms();
	free(row.head);
	row.head = xstrdup(head);
	if (!row.applied || strcmp(row.applied, head)) {
		if (reconcile_revision(w, st, s, &row, mirror, head) < 0) {
			row.last_error = xstrdup(err_msg());
			log_warnx("reconcile: repo '%s' at %.12s: %s",
				  rc->name, head, row.last_error);
		} else {
			changed = 1;
		}
	}
save:
	if (store_repo_save(st, &row) < 0) {
		if (!w->save_error || strcmp(w->save_error, err_msg())) {
			log_warnx("gitsync: repo '%s': %s", rc->name,
				  err_msg());
			free(w->save_error);
			w->save_error = xstrdup(err_msg());
		}
	} else if (w->save_error) {
		log_info("gitsync: repo '%s': its state is saved again",
			 rc->name);
		free(w->save_error);
		w->save_error = NULL;
	}
	free(prev_error);
	repo_row_release(&row);
	return changed;
}

/* Processed deliveries are kept for a while to answer replays as
 * duplicates, not for ever: pruned after a sync, once an hour at most. */
static void
prune_deliveries(struct worker *w, struct store *st)
{
	int64_t now = store_now_ms(), n = 0;

	if (w->pruned_at && now - w->pruned_at < 3600 * 1000)
		return;
	w->pruned_at = now;
	if (store_deliveries_prune(st, w->rc->name,
				   now - (w->cf->retain_deliveries_ms > 0
						  ? w->cf->retain_deliveries_ms
						  : (int64_t)DELIVERY_KEEP_DAYS *
							    86400000),
				   DELIVERY_KEEP_ROWS, &n) < 0)
		log_warnx("webhook: repo '%s': %s", w->rc->name, err_msg());
	else if (n)
		log_info("webhook: repo '%s': %lld old deliveries forgotten",
			 w->rc->name, (long long)n);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct daemon *d = w->d;
	struct store *st = NULL;
	struct sched *s = NULL;
	struct buf mirror = BUF_INIT;
	struct timespec ts;
	struct repo_row row;
	int64_t delay, until, left;
	int failures;

	if (store_open(&st, w->cf->data_dir) < 0) {
		log_error("gitsync: repo '%s': %s; it is not synced",
			  w->rc->name, err_msg());
		return NULL;
	}
	sched_new(&s, st);
	buf_addf(&mirror, "%s/mirrors/%s.git", w->cf->data_dir, w->rc->name);
	for (;;) {
		int64_t started = store_now_ms(), upto = 0;

		/* deliveries received before this sync starts are served by
		 * it; a crash before the end leaves them for the next start */
		if (store_deliveries_pending(st, w->rc->name, &upto) < 0)
			log_warnx("webhook: %s", err_msg());
		if (sync_once(w, st, s, mirror.ptr))
			exec_wake(d->x);
		/* pull requests after the fetch: their merge base is
		 * found from the branch as it is now */
		if (prplan_run(d->cf, w->rc, st, d->outbox, mirror.ptr) < 0)
			log_warnx("prplan: repo '%s': %s", w->rc->name,
				  err_msg());
		if (upto > 0 &&
		    store_deliveries_done(st, w->rc->name, upto) < 0)
			log_warnx("webhook: %s", err_msg());
		prune_deliveries(w, st);
		failures = 0;
		if (store_repo_get(st, w->rc->name, &row) == 0) {
			failures = row.failures;
			repo_row_release(&row);
		}
		http_note_sync(d->http, w->rc->name,
			       store_now_ms() - started, !failures);
		/* after failures, back off: twice as long each time, up to
		 * ten minutes (or the poll interval, if longer) */
		delay = w->cf->poll_interval_ms;
		while (failures-- > 1 && delay < 10 * 60 * 1000)
			delay *= 2;
		if (delay > 10 * 60 * 1000 &&
		    delay > w->cf->poll_interval_ms)
			delay = w->cf->poll_interval_ms > 10 * 60 * 1000
					? w->cf->poll_interval_ms
					: 10 * 60 * 1000;
		until = store_now_ms() + delay;
		pthread_mutex_lock(&d->lock);
		while (!d->stopping && !w->quit && !w->sync_now &&
		       (left = until - store_now_ms()) > 0) {
			/* wake at least every second to notice a stop */
			if (left > 1000)
				left = 1000;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (left % 1000) * 1000000;
			ts.tv_sec += left / 1000 + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		}
		w->sync_now = 0;
		if (d->stopping || w->quit) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		if (w->next_rc) {
			/* a reload: the next sync follows the new config
			 * (its mirror is the repo's name: the same) */
			w->cf = w->next_cf;
			w->rc = w->next_rc;
			w->next_cf = NULL;
			w->next_rc = NULL;
		}
		pthread_mutex_unlock(&d->lock);
	}
	cache_free(w->cache, w->ncache);
	free(w->save_error);
	w->save_error = NULL;
	sched_free(s);
	store_close(st);
	buf_release(&mirror);
	return NULL;
}

/*
 * A run may start only on a runner its repository allows now: 'runners'
 * may have lost one since the definition was applied.
 */
static int
allow_runner(void *arg, const char *repo, const char *runner, char *msg,
	     size_t msgsize)
{
	const struct daemon *d = arg;
	const struct config *cf = d->cf; /* on the main thread, as reload */
	const struct repo_config *rc;
	size_t k;

	if (!*repo || !(rc = config_repo(cf, repo)))
		return 0; /* applied by hand, or a repo no longer served */
	for (k = 0; k < RUNNER_KIND_N; k++)
		if (!strcmp(runner, runner_kind_names[k]))
			break;
	if (k < RUNNER_KIND_N && (rc->runners & (1u << k)))
		return 0;
	snprintf(msg, msgsize,
		 "runner '%s' is not allowed for repo '%s' (its 'runners' in "
		 "the daemon config: %s)",
		 runner, repo, rc->runners_text);
	return -1;
}

/*
 * A public URL made from "listen: HOST:0" names port 0; once the kernel
 * chose the port, the links in commit statuses and the same-origin check
 * of the forms need the real one.
 */
static void
public_url_port(struct config *cf, int port)
{
	const char *colon = strrchr(cf->public_url, ':');
	struct buf u = BUF_INIT;

	if (!cf->public_url_derived || !colon || strcmp(colon, ":0"))
		return;
	buf_addf(&u, "%.*s:%d", (int)(colon - cf->public_url),
		 cf->public_url, port);
	cf->public_url = arena_strdup(&cf->arena, u.ptr);
	buf_release(&u);
}

/*
 * Retention: at start, then every hour, on this thread with its own
 * store connection; the store deletes in small transactions, so the
 * scheduler's writes wait little.  Blobs of the last hour are kept: a
 * run or an upload may not have recorded its blob yet.
 */
static void *
gc_main(void *arg)
{
	struct daemon *d = arg;
	const struct config *cf;
	struct store *st = NULL;
	struct gc_stats gs;
	struct timespec ts;
	char freed[32], size[32];
	int64_t until, left;

	pthread_mutex_lock(&d->lock);
	cf = d->cf;
	pthread_mutex_unlock(&d->lock);
	if (store_open(&st, cf->data_dir) < 0) {
		log_error("gc: %s; retention is not applied", err_msg());
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&d->lock);
		cf = d->cf; /* a reload's retention applies from now */
		pthread_mutex_unlock(&d->lock);
		if (gc_run(st, cf->data_dir, cf, 3600 * 1000, 0, &gs) < 0) {
			log_warnx("gc: %s", err_msg());
		} else {
			http_note_gc(d->http, gs.data_bytes, gs.freed_bytes,
				     gs.runs, gs.blobs);
			size_format(freed, sizeof(freed), gs.freed_bytes);
			size_format(size, sizeof(size), gs.data_bytes);
			if (gs.runs || gs.checks || gs.blobs ||
			    gs.deliveries)
				log_info("gc: removed %lld run%s, %lld check "
					 "run%s, %lld blob%s, %lld deliver%s: "
					 "%s freed, the data dir holds %s",
					 (long long)gs.runs,
					 gs.runs == 1 ? "" : "s",
					 (long long)gs.checks,
					 gs.checks == 1 ? "" : "s",
					 (long long)gs.blobs,
					 gs.blobs == 1 ? "" : "s",
					 (long long)gs.deliveries,
					 gs.deliveries == 1 ? "y" : "ies",
					 freed, size);
		}
		until = store_now_ms() + 3600 * 1000;
		pthread_mutex_lock(&d->lock);
		while (!d->stopping && (left = until - store_now_ms()) > 0) {
			if (left > 1000)
				left = 1000;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (left % 1000) * 1000000;
			ts.tv_sec += left / 1000 + ts.tv_nsec / 1000000000;
			ts.tv_nsec %= 1000000000;
			pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		}
		if (d->stopping) {
			pthread_mutex_unlock(&d->lock);
			break;
		}
		pthread_mutex_unlock(&d->lock);
	}
	store_close(st);
	return NULL;
}

/* Start the thread of a repo; 0, or -1 logged. */
static int
worker_start(struct daemon *d, const struct config *cf,
	     const struct repo_config *rc)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	w->cf = cf;
	w->rc = rc;
	w->d = d;
	pthread_mutex_lock(&d->lock);
	GROW(d->workers, d->nworkers + 1, d->aworkers);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		pthread_mutex_unlock(&d->lock);
		log_error("serve: cannot start the thread of repo '%s'",
			  rc->name);
		free(w);
		return -1;
	}
	d->workers[d->nworkers++] = w;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int
str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Does the repo's mirror or reconcile differ between a and b? */
static int
repo_changed(const struct repo_config *a, const struct repo_config *b)
{
	return !str_eq(a->url, b->url) || !str_eq(a->branch, b->branch) ||
	       !str_eq(a->path, b->path) ||
	       !str_eq(a->ssh_key_file, b->ssh_key_file) ||
	       !str_eq(a->known_hosts_file, b->known_hosts_file) ||
	       !str_eq(a->token_file, b->token_file) ||
	       !str_eq(a->webhook_secret_file, b->webhook_secret_file) ||
	       !str_eq(a->forge_kind, b->forge_kind) ||
	       !str_eq(a->forge_api_url, b->forge_api_url) ||
	       !str_eq(a->forge_token_file, b->forge_token_file) ||
	       !str_eq(a->project, b->project) || a->runners != b->runners;
}

/*
 * SIGHUP: load the config again, from the same file.  An invalid one is
 * refused, its errors logged, and the running one stays.  A valid one
 * replaces it: repos added start syncing, removed ones stop (their state
 * stays in the store), changed ones sync now; hosts, forge and webhook
 * settings, limits and max_parallel apply to what starts from now on.
 * Runs in flight go on, on the runner settings they started with.
 */
static void
reload(struct daemon *d)
{
	struct config *ncf = NULL, *old = d->cf;
	struct diags diags = DIAGS_INIT;
	struct buf line = BUF_INIT;
	size_t i, j, added = 0, removed = 0, changed = 0;
	int ret;

	log_info("serve: SIGHUP received: reloading '%s'", old->file);
	ret = config_load(&ncf, old->file, &diags);
	diags_sort(&diags);
	for (i = 0; i < diags.n; i++) {
		buf_reset(&line);
		diag_format(&line, &diags.v[i]);
		if (diags.v[i].sev == DIAG_ERROR)
			log_error("serve: reload: %s", line.ptr);
		else
			log_warnx("serve: reload: %s", line.ptr);
	}
	if (ret < 0)
		goto refused;
	if (!ncf->data_dir || strcmp(ncf->data_dir, old->data_dir)) {
		log_error("serve: reload: 'data_dir' cannot change while the "
			  "daemon runs (it is '%s'): restart to move it",
			  old->data_dir);
		goto refused;
	}
	public_url_port(ncf, http_port(d->http));
	/* the webhook secrets are read now: one that cannot be is refused
	 * here, before anything changed */
	if (http_reload(d->http, ncf) < 0) {
		log_error("serve: reload: %s", err_msg());
		goto refused;
	}
#define RESTART(what, differs)                                              	if (differs)                                                        		log_warnx("serve: reload: '%s' changes at the next start "   			  "only",                                           			  what)
	RESTART("listen", !str_eq(ncf->listen, old->listen));
	RESTART("local.user", !str_eq(ncf->local_user, old->local_user));
	RESTART("docker.socket", !str_eq(ncf->docker_socket,
					   old->docker_socket));
	RESTART("max_checks_parallel",
		ncf->max_checks_parallel != old->max_checks_parallel);
	RESTART("limits.header_timeout",
		ncf->http_head_timeout_ms != old->http_head_timeout_ms);
	RESTART("limits.body_min_rate",
		ncf->http_body_rate != old->http_body_rate);
#undef RESTART
	runners_configure_hosts(ncf);
	runner_store_limits(ncf->store_file_max, ncf->store_run_max);
	runner_log_limit(ncf->run_log_max);
	runners_local_hide(ncf, old->data_dir);
	exec_set_max_parallel(d->x, ncf->max_parallel);
	outbox_set_config(d->outbox, ncf);

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nworkers; i++) {
		struct worker *w = d->workers[i];
		const struct repo_config *rc;

		if (w->quit)
			continue;
		/* the pair it will take, or the one it runs on */
		rc = w->next_rc ? w->next_rc : w->rc;
		for (j = 0; j < ncf->nrepos; j++)
			if (!strcmp(ncf->repos[j].name, rc->name))
				break;
		if (j == ncf->nrepos) {
			w->quit = 1;
			removed++;
			log_info("serve: reload: repo '%s' removed: no longer "
				 "synced (its state stays)",
				 rc->name);
			continue;
		}
		if (repo_changed(rc, &ncf->repos[j])) {
			changed++;
			w->sync_now = 1;
			log_info("serve: reload: repo '%s' changed: syncing now",
				 rc->name);
		}
		w->next_cf = ncf;
		w->next_rc = &ncf->repos[j];
	}
	d->cf = ncf; /* the gc thread reads it under the lock */
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	GROW(d->retired, d->nretired + 1, d->aretired);
	d->retired[d->nretired++] = old;
	for (j = 0; j < ncf->nrepos; j++) {
		for (i = 0; i < old->nrepos; i++)
			if (!strcmp(ncf->repos[j].name, old->repos[i].name))
				break;
		if (i < old->nrepos)
			continue;
		log_info("serve: reload: repo '%s' added", ncf->repos[j].name);
		if (worker_start(d, ncf, &ncf->repos[j]) == 0)
			added++;
	}
	ncf = NULL;
	log_info("serve: config reloaded: %zu repo%s (%zu added, %zu removed, "
		 "%zu changed), %zu host%s, at most %d tasks at once",
		 d->cf->nrepos, d->cf->nrepos == 1 ? "" : "s", added, removed,
		 changed, d->cf->nhosts, d->cf->nhosts == 1 ? "" : "s",
		 d->cf->max_parallel);
	goto out;
refused:
	log_error("serve: reload refused: the running config stays");
out:
	config_free(ncf);
	diags_release(&diags);
	buf_release(&line);
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGTERM:
		return "SIGTERM";
	case SIGINT:
		return "SIGINT";
	default:
		return "a signal";
	}
}

int
serve_run(struct config *cf, int quiet)
{
	struct daemon d;
	struct store *st = NULL;
	struct sched *s = NULL;
	struct sigaction sa;
	size_t i;
	int ret = -1, lockfd = -1;
	int64_t wait;

	/* a daemon's log: times, or journald's priorities */
	log_set_style(log_style_for_stderr());
	memset(&d, 0, sizeof(d));
	d.cf = cf;
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* "serve" in the lock: run and input set leave the running to us */
	if (mkdir_p(cf->data_dir, 0700) < 0 ||
	    lock_dir_as(&lockfd, cf->data_dir, "serve") < 0 ||
	    store_open(&st, cf->data_dir) < 0 || gitsync_init() < 0)
		goto out;
	sched_new(&s, st);
	runner_docker_configure(cf->docker_socket, cf->docker_keep_failed);
	runners_configure_hosts(cf);
	runner_store_limits(cf->store_file_max, cf->store_run_max);
	runner_log_limit(cf->run_log_max);
	if (runners_configure_local(cf, cf->data_dir) < 0)
		goto out;
	d.x = exec_new(st, s, cf->max_parallel, quiet);
	exec_set_idle_wait(d.x, 1);
	if (exec_adopt_all(d.x) < 0)
		goto out;
	d.hooks.arg = &d;
	d.hooks.sync = hook_sync;
	d.hooks.wake = hook_wake;
	d.hooks.outbox = hook_outbox;
	if (http_start(&d.http, cf, &d.hooks) < 0)
		goto out;
	public_url_port(cf, http_port(d.http));
	/* statuses left by an earlier run are sent, unsettled ones decided */
	if (outbox_start(&d.outbox, cf) < 0)
		goto out;
	exec_set_on_finish(d.x, on_run_end, &d);
	exec_set_allow(d.x, allow_runner, &d);
	d.probes = probes_new(st, s, cf->max_checks_parallel, quiet);
	probes_set_hooks(d.probes, hook_wake, on_run_end, &d);
	probes_set_allow(d.probes, allow_runner, &d);
	log_info("serve: listening on %s (port %d), status pages at %s",
		 cf->listen, http_port(d.http), cf->public_url);
	{
		char poll[32];

		duration_format(poll, sizeof(poll), cf->poll_interval_ms);
		log_info("serve: data dir '%s', %zu repo%s, polling every %s, "
			 "at most %d tasks at once",
			 cf->data_dir, cf->nrepos, cf->nrepos == 1 ? "" : "s",
			 poll, cf->max_parallel);
	}
	/* systemd (Type=notify): started once the store is open and the
	 * HTTP server listens */
	{
		char state[256];

		snprintf(state, sizeof(state),
			 "READY=1\nSTATUS=listening on port %d",
			 http_port(d.http));
		if (notify_send(state) < 0)
			log_warnx("serve: %s", err_msg());
	}
	for (i = 0; i < cf->nrepos; i++)
		if (worker_start(&d, cf, &cf->repos[i]) < 0)
			break;
	if (pthread_create(&d.gc, NULL, gc_main, &d) == 0)
		d.gc_started = 1;
	else
		log_error("serve: cannot start the gc thread: retention is "
			  "not applied");
	while (!got_signal) {
		if (got_hup) {
			got_hup = 0;
			reload(&d);
		}
		/* signals interrupt nothing here: wake twice a second to
		 * notice them */
		/* probes first: their due times bound the wait */
		wait = probes_step(d.probes);
		wait = wait < 10 ? 10 : wait > 500 ? 500 : wait;
		if (exec_step(d.x, wait, NULL) < 0) {
			log_warnx("serve: %s", err_msg());
			sleep(1);
		}
	}
	log_info("serve: stopping: %s received; %zu run%s in progress "
		 "stopped, to run again at the next start",
		 signal_name(got_signal), exec_running(d.x),
		 exec_running(d.x) == 1 ? "" : "s");
	if (notify_send("STOPPING=1") < 0)
		log_warnx("serve: %s", err_msg());
	pthread_mutex_lock(&d.lock);
	d.stopping = 1;
	pthread_cond_broadcast(&d.cond);
	pthread_mutex_unlock(&d.lock);
	for (i = 0; i < d.nworkers; i++)
		pthread_join(d.workers[i]->thread, NULL);
	if (d.gc_started)
		pthread_join(d.gc, NULL);
	http_stop(d.http);
	d.http = NULL;
	exec_interrupt_all(d.x, "scaffold serve stopped while the run was in "
				"progress; it will run again");
	probes_free(d.probes, "scaffold serve stopped while the probe ran; "
			      "it runs again");
	d.probes = NULL;
	outbox_stop(d.outbox);
	d.outbox = NULL;
	log_info("serve: stopped");
	ret = 0;
out:
	if (ret < 0)
		log_error("serve: %s; not started", err_msg());
	http_stop(d.http);
	outbox_stop(d.outbox);
	probes_free(d.probes, "scaffold serve stopped while the probe ran");
	exec_free(d.x);
	for (i = 0; i < d.nworkers; i++)
		free(d.workers[i]);
	free(d.workers);
	for (i = 0; i < d.nretired; i++)
		if (d.retired[i] != cf)
			config_free(d.retired[i]);
	free(d.retired);
	if (d.cf != cf)
		config_free(d.cf);
	sched_free(s);
	store_close(st);
	if (lockfd >= 0)
		close(lockfd);
	pthread_mutex_destroy(&d.lock);
	pthread_cond_destroy(&d.cond);
	return ret;
}
