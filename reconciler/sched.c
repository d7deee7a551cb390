/*
 * sched.c - the state machine and scheduler: every rule of DESIGN §3, each
 * transition inside one store transaction.  It decides what runs and keeps
 * the record; it never starts a process itself.
 */
#include <stdlib.h>
#include <string.h>

#include "sched-int.h"

void
sched_set_apply_hook(struct sched *s, sched_apply_hook fn, void *arg)
{
	s->apply_hook = fn;
	s->apply_hook_arg = arg;
}

void
sched_set_nodes_hook(struct sched *s, sched_nodes_hook fn, void *arg)
{
	s->nodes_hook = fn;
	s->nodes_hook_arg = arg;
}

int
sched_new(struct sched **out, struct store *st)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->st = st;
	*out = s;
	return 0;
}

void
sched_free(struct sched *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ndefs; i++)
		cascade_free(s->defs[i].c);
	free(s->defs);
	free(s);
}

int
sched_definition(struct sched *s, int64_t cascade_id,
		 const struct cascade **out)
{
	struct cascade_row row;
	struct diags d = DIAGS_INIT;
	struct def_entry *e = NULL;
	struct cascade *c = NULL;
	int64_t gen;
	size_t i;
	int ret;

	*out = NULL;
	for (i = 0; i < s->ndefs; i++)
		if (s->defs[i].cascade_id == cascade_id)
			e = &s->defs[i];
	/* the generation says whether the cached parse is still current */
	if ((ret = store_cascade_generation(s->st, cascade_id, &gen)) < 0)
		return ret == ERR_NOTFOUND
			       ? err_set("cascade %lld does not exist",
					 (long long)cascade_id)
			       : ret;
	if (e && e->generation == gen) {
		*out = e->c;
		return 0;
	}
	if ((ret = store_cascade_get(s->st, cascade_id, &row)) < 0)
		return ret;
	ret = cascade_load(&c, row.file ? row.file : row.name, row.source,
			   strlen(row.source), 0, &d);
	if (ret < 0) {
		ret = err_set("cascade '%s': the stored definition no longer "
			      "loads: %s",
			      row.name, d.n ? d.v[0].msg : "unknown error");
		goto out;
	}
	if (!e) {
		GROW(s->defs, s->ndefs + 1, s->alloc);
		e = &s->defs[s->ndefs++];
		e->cascade_id = cascade_id;
	} else {
		cascade_free(e->c);
	}
	e->generation = row.generation;
	e->c = c;
	*out = c;
out:
	diags_release(&d);
	cascade_row_release(&row);
	return ret;
}

/* ---- input values ---- */

struct input_ctx {
	struct sched *s;
	struct input_now now; /* cascade_id 0: not stored yet, defaults */
};

/* The value of an input: the stored one, else the default; NULL if none. */
int
input_value(struct sched *s, int64_t cascade_id, const struct input *in,
	    struct buf *out)
{
	struct input_now now;

	memset(&now, 0, sizeof(now));
	now.st = s->st;
	now.cascade_id = cascade_id;
	return input_now_value(&now, in, out);
}

/*
 * For fingerprints: a keyed digest of the value, never the value, so that
 * a fingerprint in the database tells nothing about a password (the same
 * digest a pull request's plan compares, plan-fields.c).
 */
static const char *
fp_input_value(void *ctx, const struct cascade *c, const struct input *in,
	       size_t *len)
{
	struct input_ctx *x = ctx;

	return input_now_digest(&x->now, c, in, len);
}

/* For fingerprints: the content hash of a file of the file store. */
static const char *
fp_file_hash(void *ctx, const struct cascade *c, const char *name)
{
	struct input_ctx *x = ctx;
	struct file_row f;
	char *hex;

	(void)c;
	if (!x->now.cascade_id ||
	    store_file_get(x->s->st, x->now.cascade_id, name, &f) < 0)
		return NULL;
	hex = arena_strdup(&x->now.arena, f.blob);
	free(f.name);
	return hex;
}

/* Every password value of the cascade (set or default): masked in logs. */
int
cascade_secrets(struct sched *s, int64_t cascade_id, const struct cascade *c,
		struct run_env_var **out, size_t *n)
{
	struct buf v = BUF_INIT;
	size_t i;
	int r;

	*out = xcalloc(c->ninputs + 1, sizeof(**out));
	*n = 0;
	for (i = 0; i < c->ninputs; i++) {
		if (c->inputs[i].type != INPUT_PASSWORD)
			continue;
		buf_reset(&v);
		r = input_value(s, cascade_id, &c->inputs[i], &v);
		if (r == ERR_NOTFOUND || (r == 0 && !v.len))
			continue;
		if (r < 0) {
			buf_release(&v);
			return r;
		}
		(*out)[*n].name = xstrdup(c->inputs[i].name);
		(*out)[*n].len = v.len;
		(*out)[*n].value = buf_detach(&v, NULL);
		(*n)++;
	}
	buf_release(&v);
	return 0;
}

void
env_vars_free(struct run_env_var *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		if (v[i].value)
			memset(v[i].value, 0, v[i].len);
		free(v[i].value);
	}
	free(v);
}

/* ---- readiness ---- */

/* Task rows by name, for lookups in a cascade's rows. */
void
index_rows(struct strmap *m, struct task_row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		strmap_put(m, rows[i].name, &rows[i]);
}

static enum task_state
state_of(const struct strmap *m, const char *name)
{
	struct task_row *r = strmap_get(m, name);

	return r ? r->state : TS_NOT_STARTED;
}

static int
dep_met(enum dep_kind kind, enum task_state st)
{
	switch (kind) {
	case DEP_SUCCESS:
		return st == TS_SUCCESS;
	case DEP_ERROR:
		return st == TS_ERROR;
	case DEP_ALWAYS:
		return st == TS_SUCCESS || st == TS_ERROR || st == TS_KILLED;
	}
	return 0;
}

/* Append "'a' is error (needs success)" for each unmet parent. */
static int
unmet_parents(const struct task *t, const struct strmap *m, struct buf *why)
{
	static const char *const needs[] = { "success", "error",
					     "success, error or killed" };
	size_t i;
	int unmet = 0;
	enum task_state st;

	for (i = 0; i < t->ndeps; i++) {
		st = state_of(m, t->deps[i].name);
		if (dep_met(t->deps[i].kind, st))
			continue;
		if (why)
			buf_addf(why, "%s'%s' is %s (needs %s)",
				 unmet ? ", " : "", t->deps[i].name,
				 task_state_names[st], needs[t->deps[i].kind]);
		unmet++;
	}
	return unmet;
}

/*
 * Can a parent in state st never meet a dependency of kind (DESIGN §3)?
 * Only a new run of the parent (which resets its descendants) or a drift
 * (success to error) changes a settled parent, and the latter is why a
 * skipped task is looked at again.
 */
static int
dep_dead(enum dep_kind kind, enum task_state st)
{
	switch (kind) {
	case DEP_SUCCESS:
		return st == TS_ERROR || st == TS_KILLED || st == TS_SKIPPED;
	case DEP_ERROR:
		return st == TS_SUCCESS || st == TS_KILLED || st == TS_SKIPPED;
	case DEP_ALWAYS:
		return st == TS_SKIPPED;
	}
	return 0;
}

/* The first parent of t whose state can no longer meet its dependency:
 * its index, or -1. */
static int
dead_parent(const struct task *t, const struct strmap *m)
{
	size_t i;

	for (i = 0; i < t->ndeps; i++)
		if (dep_dead(t->deps[i].kind, state_of(m, t->deps[i].name)))
			return (int)i;
	return -1;
}

/*
 * Settle whether task t (row r) is skipped: a not_started task with a
 * parent that can no longer meet its dependency becomes skipped, a skipped
 * one whose parents could meet them again (a drift) not_started.  *changed
 * is set when it moved either way, so its children are looked at too.
 */
static int
settle_skip(struct sched *s, const struct task *t, struct task_row *r,
	    const struct strmap *m, int *changed)
{
	struct buf why = BUF_INIT;
	static const char *const needs[] = { "success", "error",
					     "success, error or killed" };
	int dead, ret = 0;

	if (!r || !r->present ||
	    (r->state != TS_NOT_STARTED && r->state != TS_SKIPPED))
		return 0;
	dead = dead_parent(t, m);
	if (r->state == TS_NOT_STARTED && dead >= 0) {
		buf_addf(&why, "skipped: '%s' is %s (needs %s)",
			 t->deps[dead].name,
			 task_state_names[state_of(m, t->deps[dead].name)],
			 needs[t->deps[dead].kind]);
		ret = store_task_set_state(s->st, r->id, TS_NOT_STARTED,
					   TS_SKIPPED, why.ptr);
		if (ret == 0) {
			r->state = TS_SKIPPED;
			*changed = 1;
		}
	} else if (r->state == TS_SKIPPED && dead < 0) {
		ret = store_task_set_state(s->st, r->id, TS_SKIPPED,
					   TS_NOT_STARTED,
					   "its parents can meet its "
					   "dependencies again");
		if (ret == 0) {
			r->state = TS_NOT_STARTED;
			*changed = 1;
		}
	}
	buf_release(&why);
	return ret;
}

/* Move task t (row r) to waiting if it is ready, or to skipped if it can
 * never be (*changed set then). */
static int
promote_one(struct sched *s, const struct task *t, struct task_row *r,
	    const struct strmap *m, size_t *moved, int *changed)
{
	int ret;

	if ((ret = settle_skip(s, t, r, m, changed)) < 0)
		return ret;
	if (!r || !r->present || r->state != TS_NOT_STARTED)
		return 0;
	if (!t->auto_execute && !r->manual)
		return 0;
	if (unmet_parents(t, m, NULL))
		return 0;
	ret = store_task_set_state(s->st, r->id, TS_NOT_STARTED, TS_WAITING,
				   t->ndeps ? "ready: its parents are done"
					    : "ready: no dependencies");
	if (ret < 0)
		return ret;
	r->state = TS_WAITING;
	if (moved)
		(*moved)++;
	return 0;
}

/*
 * Promote ready tasks of one cascade, inside the caller's transaction;
 * with only, just the children of that task (reading the rows of those
 * children and their parents, not of the whole cascade).
 */
int
promote_cascade(struct sched *s, int64_t cascade_id, const char *only,
		size_t *moved)
{
	const struct cascade *c;
	struct task_row *rows = NULL;
	struct strmap m = STRMAP_INIT;
	size_t n = 0, i, k, alloc = 0;
	const struct task *t, *p;
	int ret, changed = 1, pass;

	if ((ret = sched_definition(s, cascade_id, &c)) < 0)
		return ret;
	p = only ? cascade_task(c, only) : NULL;
	if (only && !p)
		return 0;
	if (!p) {
		if ((ret = store_tasks(s->st, cascade_id, &rows, &n)) < 0)
			return ret;
		index_rows(&m, rows, n);
		/* a skip reaches one generation a pass: again until none */
		for (pass = 0; changed && ret == 0 && pass <= (int)c->ntasks;
		     pass++) {
			changed = 0;
			for (i = 0; i < c->ntasks && ret == 0; i++)
				ret = promote_one(
				    s, &c->tasks[i],
				    strmap_get(&m, c->tasks[i].name), &m,
				    moved, &changed);
		}
		goto out;
	}
	/* the children of p, and their parents */
	for (i = 0; i < p->nchildren; i++) {
		t = &c->tasks[p->children[i]];
		for (k = 0; k <= t->ndeps; k++) {
			const char *name = k < t->ndeps ? t->deps[k].name
							: t->name;
			size_t j;

			for (j = 0; j < n; j++)
				if (!strcmp(rows[j].name, name))
					break;
			if (j < n)
				continue;
			GROW(rows, n + 1, alloc);
			ret = store_task_find(s->st, cascade_id, name,
					      &rows[n]);
			if (ret == ERR_NOTFOUND)
				continue;
			if (ret < 0)
				goto out;
			n++;
		}
	}
	index_rows(&m, rows, n);
	for (i = 0; i < p->nchildren && ret == 0; i++) {
		t = &c->tasks[p->children[i]];
		changed = 0;
		ret = promote_one(s, t, strmap_get(&m, t->name), &m, moved,
				  &changed);
		/* skipped (or no more): so may its own children be */
		if (ret == 0 && changed)
			ret = promote_cascade(s, cascade_id, t->name, moved);
	}
out:
	strmap_release(&m);
	task_rows_free(rows, n);
	return ret < 0 ? ret : 0;
}

int
sched_promote(struct sched *s, size_t *moved)
{
	struct cascade_row *cs = NULL;
	size_t n = 0, i;
	int ret;

	if (moved)
		*moved = 0;
	if ((ret = store_cascade_list(s->st, 1, &cs, &n)) < 0)
		return ret;
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	for (i = 0; i < n && ret == 0; i++)
		ret = promote_cascade(s, cs[i].id, NULL, moved);
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret < 0)
		store_rollback(s->st);
out:
	cascade_rows_free(cs, n);
	return ret;
}

/* ---- new definitions ---- */

/* Put a task back to not_started (a running one finishes superseded). */
int
reset_task(struct sched *s, struct task_row *r, const char *reason)
{
	int ret = 0;

	r->attempts = 0;
	r->manual = 0;
	if (r->state == TS_RUNNING)
		return store_runs_supersede(s->st, r->id);
	if ((ret = store_task_update(s->st, r)) < 0)
		return ret;
	if (r->state != TS_NOT_STARTED)
		ret = store_task_set_state(s->st, r->id, r->state,
					   TS_NOT_STARTED, reason);
	r->state = TS_NOT_STARTED;
	return ret;
}

int
reconcile(struct sched *s, const char *repo, const char *revision,
	  const struct sched_def *def, int keep_revision,
	  const struct file_change *fc, struct buf *report)
{
	const struct cascade *c = def->cascade;
	struct cascade_row row, prev;
	struct task_row *rows = NULL, *r;
	size_t nrows = 0, i, nseeds = 0, *seeds = NULL, *origin = NULL;
	size_t nchanged = 0, nadded = 0, nreset = 0, nremoved = 0;
	struct input_ctx ictx;
	struct fingerprint *fps = NULL;
	struct cascade *old = NULL;
	struct diags d = DIAGS_INIT;
	struct plan plan;
	struct buf reason = BUF_INIT;
	struct strmap idx = STRMAP_INIT;
	struct reset_row *resets = NULL; /* what the revision did */
	size_t nresets = 0;
	int ret, have_prev, have_plan = 0;

	memset(&ictx, 0, sizeof(ictx));
	memset(&row, 0, sizeof(row));
	have_prev = store_cascade_find(s->st, repo, c->name, &prev) == 0;
	row.repo = (char *)repo;
	row.name = (char *)c->name;
	row.file = (char *)def->file;
	row.source = (char *)def->source;
	row.revision = (char *)(keep_revision && have_prev ? prev.revision
							   : revision);
	row.active = 1;
	if ((ret = store_cascade_save(s->st, &row)) < 0)
		goto out;
	if ((ret = store_tasks(s->st, row.id, &rows, &nrows)) < 0)
		goto out;
	index_rows(&idx, rows, nrows);
	/* at most one entry per task, old or new */
	resets = xcalloc(c->ntasks + nrows + 1, sizeof(*resets));

	/* the previous definition names which fields changed */
	if (have_prev && cascade_load(&old, c->file, prev.source,
				      strlen(prev.source), 0, &d) == 0) {
		ictx.s = s;
		ictx.now.st = s->st;
		ictx.now.cascade_id = row.id;
		plan_compute(&plan, old, c, fp_input_value, &ictx);
		have_plan = 1;
	}

	ictx.s = s;
	ictx.now.st = s->st;
	ictx.now.cascade_id = row.id;
	fps = xcalloc(c->ntasks + 1, sizeof(*fps));
	seeds = xcalloc(c->ntasks + 1, sizeof(*seeds));
	origin = xcalloc(c->ntasks + 1, sizeof(*origin));
	for (i = 0; i < c->ntasks; i++) {
		task_fingerprint_files(&fps[i], c, &c->tasks[i],
				       fp_input_value, fp_file_hash, &ictx);
		r = strmap_get(&idx, c->tasks[i].name);
		if (!r || !r->present || strcmp(r->fingerprint, fps[i].hex))
			seeds[nseeds++] = i;
	}
	dag_reach(c, seeds, nseeds, origin);

	for (i = 0; i < c->ntasks; i++) {
		const struct task *t = &c->tasks[i];

		r = strmap_get(&idx, t->name);
		buf_reset(&reason);
		if (!r) {
			struct task_row nr;

			memset(&nr, 0, sizeof(nr));
			nr.cascade_id = row.id;
			nr.name = (char *)t->name;
			memcpy(nr.fingerprint, fps[i].hex, sizeof(nr.fingerprint));
			if ((ret = store_task_insert(s->st, &nr)) < 0)
				goto out;
			nadded++;
			resets[nresets].task = xstrdup(t->name);
			resets[nresets].action = PLAN_ADDED;
			resets[nresets++].reason = xstrdup("new task");
			continue;
		}
		if (origin[i] == SIZE_MAX)
			continue;
		if (seeds[origin[i]] == i) {
			const struct plan_entry *pe = NULL;
			size_t k;

			for (k = 0; have_plan && k < plan.n; k++)
				if (!strcmp(plan.v[k].task, t->name))
					pe = &plan.v[k];
			if (!r->present)
				buf_puts(&reason, "back in the cascade");
			else if (pe && pe->action == PLAN_CHANGED)
				buf_puts(&reason, pe->reason);
			else
				unplanned_reason(&reason, c, t, fc);
			nchanged++;
		} else {
			buf_addf(&reason, "downstream of '%s' (changed)",
				 c->tasks[seeds[origin[i]]].name);
			nreset++;
		}
		resets[nresets].task = xstrdup(t->name);
		resets[nresets].action =
		    seeds[origin[i]] == i ? PLAN_CHANGED : PLAN_RESET;
		resets[nresets++].reason = xstrdup(reason.ptr);
		r->present = 1;
		memcpy(r->fingerprint, fps[i].hex, sizeof(r->fingerprint));
		if ((ret = store_task_update(s->st, r)) < 0)
			goto out;
		if ((ret = reset_task(s, r, reason.ptr)) < 0)
			goto out;
	}
	for (i = 0; i < nrows; i++) {
		r = &rows[i];
		if (!r->present || cascade_task(c, r->name))
			continue;
		r->present = 0;
		if ((ret = store_task_update(s->st, r)) < 0)
			goto out;
		if (r->state == TS_RUNNING &&
		    (ret = store_runs_supersede(s->st, r->id)) < 0)
			goto out;
		nremoved++;
		resets[nresets].task = xstrdup(r->name);
		resets[nresets].action = PLAN_REMOVED;
		resets[nresets++].reason = xstrdup("removed from the cascade");
	}
	if (revision && *revision &&
	    (ret = store_resets_put(s->st, row.id, revision, c->ntasks, resets,
				    nresets)) < 0)
		goto out;
	if (report) {
		buf_addf(report, "cascade '%s': ", c->name);
		if (!nchanged && !nadded && !nremoved)
			buf_puts(report, "no change");
		else
			buf_addf(report,
				 "%zu new, %zu changed, %zu removed; %zu "
				 "downstream reset",
				 nadded, nchanged, nremoved, nreset);
		buf_putc(report, '\n');
	}
	/* a check that came (or stayed) on a task in success */
	if ((ret = check_sweep_locked(s, row.id)) < 0)
		goto out;
	ret = 0;
out:
	if (have_plan)
		plan_release(&plan);
	cascade_free(old);
	diags_release(&d);
	if (have_prev)
		cascade_row_release(&prev);
	strmap_release(&idx);
	task_rows_free(rows, nrows);
	arena_release(&ictx.now.arena);
	buf_release(&reason);
	reset_rows_free(resets, nresets);
	free(fps);
	free(seeds);
	free(origin);
	return ret;
}

static int
kept(const struct strvec *keep, const char *file)
{
	size_t i;

	for (i = 0; keep && file && i < keep->n; i++)
		if (!strcmp(keep->v[i], file))
			return 1;
	return 0;
}

int
sched_apply(struct sched *s, const char *repo, const char *revision,
	    const struct sched_def *defs, size_t n, int deactivate_missing,
	    const struct strvec *keep_files, struct buf *report)
{
	struct cascade_row *cs = NULL;
	size_t ncs = 0, i, j;
	int ret;

	if ((ret = store_begin(s->st)) < 0)
		return ret;
	for (i = 0; i < n; i++)
		if ((ret = reconcile(s, repo, revision, &defs[i], 0, NULL,
				     report)) < 0)
			goto fail;
	if (deactivate_missing) {
		if ((ret = store_cascade_list(s->st, 1, &cs, &ncs)) < 0)
			goto fail;
		for (i = 0; i < ncs; i++) {
			if (strcmp(cs[i].repo, repo))
				continue;
			for (j = 0; j < n; j++)
				if (!strcmp(defs[j].cascade->name, cs[i].name))
					break;
			if (j < n || kept(keep_files, cs[i].file))
				continue;
			cs[i].active = 0;
			if ((ret = store_cascade_save(s->st, &cs[i])) < 0)
				goto fail;
			if (report)
				buf_addf(report,
					 "cascade '%s': removed (deactivated)\n",
					 cs[i].name);
		}
	}
	cascade_rows_free(cs, ncs);
	cs = NULL;
	ncs = 0;
	if ((ret = store_cascade_list(s->st, 1, &cs, &ncs)) < 0)
		goto fail;
	for (i = 0; i < ncs; i++)
		if ((ret = promote_cascade(s, cs[i].id, NULL, NULL)) < 0)
			goto fail;
	if (s->apply_hook &&
	    (ret = s->apply_hook(s->apply_hook_arg,
				 report ? report->ptr : "")) < 0)
		goto fail;
	if ((ret = store_commit(s->st)) < 0)
		goto fail;
	cascade_rows_free(cs, ncs);
	return 0;
fail:
	store_rollback(s->st);
	cascade_rows_free(cs, ncs);
	return ret;
}

/* A collected file once it is in blobs/. */
struct stored_file {
	const char *path;
	char hash[SHA256_HEX_LEN + 1];
	int64_t size;
};

static int finish_locked(struct sched *s, const struct run_done *d,
			 const struct stored_file *files, size_t nfiles);

/* The nodes of a swarm task in mode global (see sched_nodes_hook). */
struct nodes {
	struct strvec names;
	struct name_list list;
	char err[512]; /* why there are none */
};

/* Ask the hook for t's nodes, into nd (released with nodes_release). */
static void
nodes_get(struct sched *s, const struct task *t, struct nodes *nd)
{
	struct strvec cons = STRVEC_INIT;
	struct buf b = BUF_INIT;
	size_t i;
	int ret;

	memset(nd, 0, sizeof(*nd));
	strvec_init(&nd->names);
	for (i = 0; i < t->placement.n; i++) {
		strvec_push(&cons, t->placement.v[i].name);
		buf_addf(&b, "%s%s", i ? ", " : "", t->placement.v[i].name);
	}
	if (!s->nodes_hook)
		ret = err_set("no swarm to ask for the nodes of placement "
			      "mode 'global'");
	else
		ret = s->nodes_hook(s->nodes_hook_arg,
				    (const char *const *)cons.v, cons.n,
				    &nd->names);
	if (ret < 0)
		snprintf(nd->err, sizeof(nd->err), "%s", err_msg());
	else if (!nd->names.n)
		snprintf(nd->err, sizeof(nd->err),
			 "placement mode 'global': no swarm node %s%s",
			 b.len ? "meets " : "is ready and active",
			 b.len ? b.ptr : "");
	nd->list.v = xcalloc(nd->names.n + 1, sizeof(*nd->list.v));
	for (i = 0; i < nd->names.n; i++)
		nd->list.v[i].name = nd->names.v[i];
	nd->list.n = nd->names.n;
	strvec_clear(&cons);
	buf_release(&b);
}

static void
nodes_release(struct nodes *nd)
{
	strvec_clear(&nd->names);
	free(nd->list.v);
	nd->list.v = NULL;
	nd->list.n = 0;
}

static int
task_is_global(const struct task *t)
{
	return !strcmp(t->runner, "swarm") && t->placement_global;
}

/*
 * Start one waiting task, in one transaction: a run row per host for an
 * ssh task with several hosts, or per node for a swarm task in mode
 * global (fan-out, nd: its nodes), else one; the task running.  Appends
 * the requests to *out (a task that cannot start appends none: its runs
 * end at once as errors).
 */
static int
claim_one(struct sched *s, struct task_row *row, const struct nodes *nd,
	  struct run_req ***out, size_t *n)
{
	const struct name_list *hl = NULL;
	const struct cascade *c;
	const struct task *t;
	struct cascade_row crow;
	struct run_row run;
	struct run_req **reqs = NULL;
	struct run_done d;
	struct buf why = BUF_INIT, done = BUF_INIT;
	size_t nhosts, h, nreqs = 0, *sel = NULL;
	int64_t *ids = NULL;
	int ret, fanout;

	memset(&crow, 0, sizeof(crow));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	if ((ret = sched_definition(s, row->cascade_id, &c)) < 0 ||
	    (ret = store_cascade_get(s->st, row->cascade_id, &crow)) < 0)
		goto fail;
	t = cascade_task(c, row->name);
	if (!t) {
		ret = err_set("task '%s' is not in the active definition",
			      row->name);
		goto fail;
	}
	if (!strcmp(t->runner, "ssh") && t->hosts.n)
		hl = &t->hosts;
	else if (task_is_global(t) && nd && nd->list.n)
		hl = &nd->list;
	fanout = hl != NULL;
	nhosts = fanout ? hl->n : 1;
	sel = xcalloc(nhosts, sizeof(*sel));
	/* a retry runs again only the hosts that failed */
	if (fanout && (ret = fanout_claim_hosts(s->st, row, hl, sel, &nhosts,
						&done)) < 0)
		goto fail;
	ids = xcalloc(nhosts, sizeof(*ids));
	reqs = xcalloc(nhosts, sizeof(*reqs));
	for (h = 0; h < nhosts; h++) {
		memset(&run, 0, sizeof(run));
		run.task_id = row->id;
		run.attempt = row->attempts + 1;
		memcpy(run.fingerprint, row->fingerprint,
		       sizeof(run.fingerprint));
		run.revision = crow.revision;
		run.runner = (char *)t->runner;
		run.host = fanout ? (char *)hl->v[sel[h]].name : NULL;
		run.batch = h ? ids[0] : 0;
		if ((ret = store_run_insert(s->st, &run)) < 0)
			goto fail;
		ids[h] = run.id;
		buf_addf(&why, "%s%lld%s%s", h ? ", " : "run ",
			 (long long)run.id, run.host ? " on " : "",
			 run.host ? run.host : "");
	}
	row->attempts++;
	row->manual = 0;
	if ((ret = store_task_update(s->st, row)) < 0)
		goto fail;
	buf_addf(&why, " started (attempt %d)", row->attempts);
	if (done.len)
		buf_addf(&why, "; not again on %s: succeeded there already",
			 done.ptr);
	if ((ret = store_task_set_state(s->st, row->id, TS_WAITING,
					TS_RUNNING, why.ptr)) < 0)
		goto fail;
	for (h = 0; h < nhosts; h++) {
		struct run_req *r = xcalloc(1, sizeof(*r));

		r->run_id = ids[h];
		r->task_id = row->id;
		r->attempt = row->attempts;
		reqs[nreqs++] = r;
		if (task_is_global(t) && !fanout) {
			/* no node to run on: the attempt ends here */
			err_set("%s", nd ? nd->err :
					   "placement mode 'global': no nodes "
					   "were asked for");
			ret = ERR_INVALID;
			break;
		}
		ret = build_req(s, c, crow.repo, row->cascade_id, crow.revision, t,
				fanout ? hl->v[sel[h]].name : NULL, r);
		if (ret < 0)
			break;
	}
	if (ret == ERR_INVALID) {
		/* it cannot start (on any host): its runs end here, as
		 * errors */
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err_msg());
		for (h = 0; h < nhosts; h++) {
			memset(&d, 0, sizeof(d));
			d.run_id = ids[h];
			d.state = RS_ERROR;
			d.exit_code = -1;
			d.message = msg;
			if ((ret = finish_locked(s, &d, NULL, 0)) < 0)
				goto fail;
		}
		while (nreqs)
			run_req_free(reqs[--nreqs]);
	} else if (ret < 0) {
		goto fail;
	}
	if ((ret = store_commit(s->st)) < 0)
		goto fail;
	for (h = 0; h < nreqs; h++)
		(*out)[(*n)++] = reqs[h];
	ret = 0;
	goto out;
fail:
	store_rollback(s->st);
	while (nreqs)
		run_req_free(reqs[--nreqs]);
out:
	free(reqs);
	free(ids);
	free(sel);
	buf_release(&why);
	buf_release(&done);
	cascade_row_release(&crow);
	return ret;
}

int
sched_claim(struct sched *s, size_t max, struct run_req ***out, size_t *n)
{
	struct task_row *rows = NULL;
	const struct cascade *c;
	const struct task *t;
	size_t nrows = 0, i, cap = 0, want;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!max)
		return 0;
	if ((ret = store_tasks_in_state(s->st, TS_WAITING, max, &rows,
					&nrows)) < 0)
		return ret;
	for (i = 0; i < nrows; i++) {
		struct nodes nd, *ndp = NULL;

		/* room for every host of a fan-out */
		want = 1;
		if (sched_definition(s, rows[i].cascade_id, &c) == 0 &&
		    (t = cascade_task(c, rows[i].name))) {
			if (!strcmp(t->runner, "ssh") && t->hosts.n)
				want = t->hosts.n;
			/* the swarm's nodes: asked outside the transaction */
			if (task_is_global(t)) {
				nodes_get(s, t, &nd);
				ndp = &nd;
				if (nd.list.n)
					want = nd.list.n;
			}
		}
		if (*n && *n + want > max) {
			if (ndp)
				nodes_release(ndp);
			break;
		}
		GROW(*out, *n + want + 1, cap);
		ret = claim_one(s, &rows[i], ndp, out, n);
		if (ndp)
			nodes_release(ndp);
		if (ret < 0)
			break;
	}
	if (!*out)
		*out = xcalloc(1, sizeof(**out));
	task_rows_free(rows, nrows);
	return ret < 0 && !*n ? ret : 0;
}

/* ---- ending runs ---- */

static int
contains_secret(const char *v, size_t len, const struct run_env_var *sec,
		size_t nsec)
{
	size_t i;

	for (i = 0; i < nsec; i++)
		if (sec[i].len && sec[i].len <= len &&
		    memmem(v, len, sec[i].value, sec[i].len))
			return 1;
	return 0;
}

/*
 * The outcome of the attempt a run belongs to.  1 when runs of the same
 * attempt (other hosts of a fan-out) are still running; else 0, with
 * *state the attempt's outcome (all success: success; any killed: killed;
 * else error) and, for a fan-out with failures, a summary in why.
 */
static int
attempt_outcome(struct sched *s, const struct run_row *run,
		enum run_state *state, struct buf *why)
{
	struct run_row *runs = NULL;
	size_t n = 0, i, total = 0, failed = 0;
	int ret, killed = 0, pending = 0;

	if ((ret = store_runs_of_task(s->st, run->task_id, &runs, &n)) < 0)
		return ret;
	for (i = 0; i < n; i++) {
		if (runs[i].batch != run->batch)
			continue;
		total++;
		if (runs[i].state == RS_RUNNING)
			pending = 1;
		else if (runs[i].state == RS_KILLED)
			killed = 1;
		if (runs[i].state != RS_SUCCESS && runs[i].state != RS_RUNNING)
			failed++;
	}
	if (!pending && total > 1) {
		*state = killed ? RS_KILLED : failed ? RS_ERROR : RS_SUCCESS;
		if (failed) {
			buf_addf(why, "%zu of %zu hosts failed: ", failed,
				 total);
			for (i = 0, failed = 0; i < n; i++) {
				if (runs[i].batch != run->batch ||
				    runs[i].state == RS_SUCCESS)
					continue;
				buf_addf(why, "%s%s: %s", failed++ ? "; " : "",
					 runs[i].host ? runs[i].host : "?",
					 runs[i].message && runs[i].message[0]
						 ? runs[i].message
						 : run_state_names[runs[i].state]);
			}
		}
	}
	run_rows_free(runs, n);
	return pending;
}

/* sched_finish inside an open transaction (blobs already stored). */
static int
finish_locked(struct sched *s, const struct run_done *d,
	      const struct stored_file *files, size_t nfiles)
{
	struct run_row run;
	struct task_row task;
	struct cascade_row crow;
	const struct cascade *c = NULL;
	const struct task *t = NULL;
	struct run_env_var *sec = NULL;
	size_t nsec = 0, i;
	enum run_state state = d->state;
	enum task_state to;
	struct buf why = BUF_INIT;
	const char *message = d->message;
	char *fanout_msg = NULL;
	int ret, current;

	memset(&crow, 0, sizeof(crow));
	memset(&task, 0, sizeof(task));
	if ((ret = store_run_get(s->st, d->run_id, &run)) < 0)
		return ret;
	if (run.state != RS_RUNNING) {
		ret = err_set("run %lld already ended (%s)",
			      (long long)d->run_id, run_state_names[run.state]);
		goto out;
	}
	if (run.kill_requested && state == RS_ERROR) {
		state = RS_KILLED;
		message = "killed";
	}
	if ((ret = store_run_finish(s->st, d->run_id, state, d->exit_code,
				    message)) < 0)
		goto out;
	if ((ret = store_task_get(s->st, run.task_id, &task)) < 0 ||
	    (ret = store_cascade_get(s->st, task.cascade_id, &crow)) < 0)
		goto out;
	if (crow.active && (ret = sched_definition(s, task.cascade_id, &c)) < 0)
		goto out;
	t = c ? cascade_task(c, task.name) : NULL;

	if (state == RS_SUCCESS) {
		if (c && (ret = cascade_secrets(s, task.cascade_id, c, &sec,
						&nsec)) < 0)
			goto out;
		for (i = 0; i < d->nenv; i++) {
			ret = store_run_env_put(
				s->st, d->run_id, d->env[i].name,
				d->env[i].value, d->env[i].len,
				contains_secret(d->env[i].value, d->env[i].len,
						sec, nsec));
			if (ret < 0)
				goto out;
		}
		for (i = 0; i < nfiles; i++) {
			ret = store_run_file_put(s->st, d->run_id,
						 files[i].path, files[i].hash,
						 files[i].size);
			if (ret < 0)
				goto out;
		}
	}

	/* a fan-out: the task moves on when its last host's run ends */
	if ((ret = attempt_outcome(s, &run, &state, &why)) < 0)
		goto out;
	if (ret > 0) {
		ret = 0;
		goto out;
	}
	if (why.len)
		message = why.ptr;

	/* a run of an older definition, or of a removed task, triggers nothing */
	current = !run.superseded && task.present && crow.active && t &&
		  !strcmp(task.fingerprint, run.fingerprint);
	if (why.len) {
		/* keep the fan-out summary: it is the message from here on */
		fanout_msg = buf_detach(&why, NULL);
		message = fanout_msg;
	}
	if (!current) {
		if (task.state == TS_RUNNING) {
			buf_addf(&why, "run %lld ended %s, superseded: the "
				       "definition changed while it ran",
				 (long long)d->run_id, run_state_names[state]);
			task.attempts = 0;
			ret = store_task_update(s->st, &task);
			if (ret == 0)
				ret = store_task_set_state(s->st, task.id,
							   TS_RUNNING,
							   TS_NOT_STARTED,
							   why.ptr);
			if (ret == 0 && task.present && crow.active)
				ret = promote_cascade(s, task.cascade_id, NULL,
						      NULL);
		}
		goto out;
	}
	switch (state) {
	case RS_SUCCESS:
		to = TS_SUCCESS;
		memcpy(task.success_fingerprint, run.fingerprint,
		       sizeof(task.success_fingerprint));
		task.attempts = 0;
		buf_addf(&why, "run %lld succeeded", (long long)d->run_id);
		break;
	case RS_KILLED:
		to = TS_KILLED;
		task.attempts = 0;
		buf_addf(&why, "run %lld was killed", (long long)d->run_id);
		break;
	default:
		if (task.attempts <= t->retries) {
			to = TS_WAITING;
			buf_addf(&why, "run %lld %s: %s; retry %d of %d",
				 (long long)d->run_id,
				 state == RS_LOST ? "was lost" : "failed",
				 message ? message : "", task.attempts,
				 t->retries);
		} else {
			to = TS_ERROR;
			task.attempts = 0;
			buf_addf(&why, "run %lld %s: %s", (long long)d->run_id,
				 state == RS_LOST ? "was lost" : "failed",
				 message ? message : "");
		}
		break;
	}
	if ((ret = store_task_update(s->st, &task)) < 0 ||
	    (ret = store_task_set_state(s->st, task.id, TS_RUNNING, to,
					why.ptr)) < 0)
		goto out;
	if (to == TS_SUCCESS && t->check &&
	    (ret = check_arm_locked(s, &task, t)) < 0)
		goto out;
	if (to != TS_WAITING)
		ret = promote_cascade(s, task.cascade_id, task.name, NULL);
out:
	free(fanout_msg);
	env_vars_free(sec, nsec);
	buf_release(&why);
	free(task.name);
	cascade_row_release(&crow);
	run_row_release(&run);
	return ret;
}

int
sched_finish(struct sched *s, const struct run_done *d)
{
	struct stored_file *files = NULL;
	struct run_done dd = *d;
	size_t i, nfiles = 0;
	char *why = NULL;
	int ret = 0;

	/* blobs first, outside the transaction: a crash leaves only an
	 * unreferenced blob behind */
	if (d->state == RS_SUCCESS && d->nfiles) {
		files = xcalloc(d->nfiles, sizeof(*files));
		for (i = 0; i < d->nfiles; i++) {
			files[i].path = d->files[i].path;
			if ((ret = store_blob_put(s->st, d->files[i].src,
						  files[i].hash,
						  &files[i].size)) < 0)
				break;
		}
		nfiles = i;
		if (ret < 0) {
			/* the run's results could not be kept: it fails */
			why = xstrdup(err_msg());
			err_set("cannot store file '%s': %s", d->files[i].path,
				why);
			free(why);
			why = xstrdup(err_msg());
			if (d->store_error && d->store_error_len)
				snprintf(d->store_error, d->store_error_len,
					 "%s", why);
			dd.state = RS_ERROR;
			dd.message = why;
			nfiles = 0;
		}
	}
	if ((ret = store_begin(s->st)) == 0) {
		ret = finish_locked(s, &dd, files, nfiles);
		if (ret == 0)
			ret = store_commit(s->st);
		if (ret < 0)
			store_rollback(s->st);
	}
	free(files);
	free(why);
	return ret;
}

/* ---- operators ---- */

static int
active_cascade(struct sched *s, const char *repo, const char *name,
	       struct cascade_row *out, const struct cascade **def)
{
	int ret = store_cascade_find(s->st, repo, name, out);

	if (ret == ERR_NOTFOUND || (ret == 0 && !out->active)) {
		if (ret == 0)
			cascade_row_release(out);
		return err_set("no active cascade '%s'", name), ERR_NOTFOUND;
	}
	if (ret < 0)
		return ret;
	return sched_definition(s, out->id, def);
}

int
trigger_locked(struct sched *s, int64_t cascade_id, const struct cascade *c,
	       const char *task, int force, const char *reason,
	       int64_t *out_task_id)
{
	const struct task *t;
	struct task_row *rows = NULL, *r;
	size_t n = 0, i, seed, *origin = NULL;
	struct buf why = BUF_INIT, down = BUF_INIT;
	struct strmap idx = STRMAP_INIT;
	int ret;

	t = cascade_task(c, task);
	if (!t) {
		ret = err_set("cascade '%s' has no task '%s'", c->name, task);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if ((ret = store_tasks(s->st, cascade_id, &rows, &n)) < 0)
		goto out;
	index_rows(&idx, rows, n);
	r = strmap_get(&idx, task);
	if (r->state == TS_RUNNING || r->state == TS_WAITING) {
		ret = err_set("task '%s' is already %s%s", task,
			      r->state == TS_RUNNING ? "running"
						     : "waiting to run",
			      "");
		ret = ERR_CONFLICT;
		goto out;
	}
	if (!force && unmet_parents(t, &idx, &why)) {
		err_set("task '%s' is not ready: %s; use --force to run it "
			"anyway",
			task, why.ptr);
		ret = ERR_CONFLICT;
		goto out;
	}
	seed = cascade_task_index(c, t);
	origin = xmalloc((c->ntasks + 1) * sizeof(*origin));
	dag_reach(c, &seed, 1, origin);
	buf_addf(&down, "downstream of '%s', %s", task, reason);
	for (i = 0; i < c->ntasks; i++) {
		if (i == seed || origin[i] == SIZE_MAX)
			continue;
		r = strmap_get(&idx, c->tasks[i].name);
		if (r && (ret = reset_task(s, r, down.ptr)) < 0)
			goto out;
	}
	r = strmap_get(&idx, task);
	r->attempts = 0;
	r->manual = 1;
	if ((ret = store_task_update(s->st, r)) < 0 ||
	    (ret = store_task_set_state(s->st, r->id, r->state, TS_WAITING,
					reason)) < 0)
		goto out;
	if (out_task_id)
		*out_task_id = r->id;
out:
	strmap_release(&idx);
	free(origin);
	task_rows_free(rows, n);
	buf_release(&why);
	buf_release(&down);
	return ret;
}

int
sched_trigger(struct sched *s, const char *repo, const char *cascade,
	      const char *task, int force, int64_t *out_task_id)
{
	struct cascade_row crow;
	const struct cascade *c;
	int ret;

	if ((ret = active_cascade(s, repo, cascade, &crow, &c)) < 0)
		return ret;
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	ret = trigger_locked(s, crow.id, c, task, force,
			     force ? "run by hand (forced)" : "run by hand",
			     out_task_id);
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret < 0)
		store_rollback(s->st);
out:
	cascade_row_release(&crow);
	return ret;
}

int
sched_input_set(struct sched *s, const char *repo, const char *cascade,
		const char *name, const char *value, size_t len,
		struct buf *report)
{
	struct cascade_row crow;
	const struct cascade *c;
	const struct input *in;
	struct sched_def def;
	struct cascade_row *cs = NULL;
	size_t ncs = 0, i;
	int ret;

	if ((ret = active_cascade(s, repo, cascade, &crow, &c)) < 0)
		return ret;
	in = cascade_input(c, name);
	if (!in) {
		ret = err_set("cascade '%s' has no input '%s'", cascade, name);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (memchr(value, '\0', len)) {
		ret = err_set("the value of input '%s' holds a NUL byte", name);
		ret = ERR_INVALID;
		goto out;
	}
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	if ((ret = store_input_put(s->st, crow.id, name, value, len,
				   in->type == INPUT_PASSWORD)) < 0)
		goto fail;
	def.cascade = (struct cascade *)c;
	def.source = crow.source;
	def.file = crow.file;
	if ((ret = reconcile(s, repo, NULL, &def, 1, NULL, report)) < 0)
		goto fail;
	if ((ret = store_cascade_list(s->st, 1, &cs, &ncs)) < 0)
		goto fail;
	for (i = 0; i < ncs; i++)
		if (cs[i].id == crow.id &&
		    (ret = promote_cascade(s, crow.id, NULL, NULL)) < 0)
			goto fail;
	if ((ret = store_commit(s->st)) < 0)
		goto fail;
	goto out;
fail:
	store_rollback(s->st);
out:
	cascade_rows_free(cs, ncs);
	cascade_row_release(&crow);
	return ret;
}

int
sched_kill(struct sched *s, int64_t run_id)
{
	struct run_row run;
	int ret;

	if ((ret = store_run_get(s->st, run_id, &run)) < 0)
		return ret;
	if (run.state != RS_RUNNING) {
		ret = err_set("run %lld is not running (it ended %s)",
			      (long long)run_id, run_state_names[run.state]);
		ret = ERR_CONFLICT;
	} else {
		ret = store_run_mark(s->st, run_id, 0, 1);
	}
	run_row_release(&run);
	return ret;
}

int
sched_recover_lost(struct sched *s, const char *why, size_t *n)
{
	struct run_row *runs = NULL;
	struct run_done d;
	size_t nr = 0, i;
	int ret;

	*n = 0;
	if ((ret = store_runs_running(s->st, &runs, &nr)) < 0)
		return ret;
	for (i = 0; i < nr; i++) {
		memset(&d, 0, sizeof(d));
		d.run_id = runs[i].id;
		d.state = RS_LOST;
		d.exit_code = -1;
		d.message = why;
		if ((ret = sched_finish(s, &d)) < 0)
			break;
		(*n)++;
	}
	run_rows_free(runs, nr);
	return ret;
}

/*
 * Inside a transaction: the run ends lost with why, and its task, when it
 * is running this definition, goes back to waiting without counting the
 * attempt.  A run of an older definition (superseded) ends as any does:
 * its task goes back to not_started, and waits again only when ready.
 */
static int
requeue_locked(struct sched *s, const struct run_row *run, const char *why)
{
	struct task_row task;
	struct cascade_row crow;
	struct run_done d;
	int ret;

	memset(&task, 0, sizeof(task));
	memset(&crow, 0, sizeof(crow));
	if ((ret = store_task_get(s->st, run->task_id, &task)) < 0 ||
	    (ret = store_cascade_get(s->st, task.cascade_id, &crow)) < 0)
		goto out;
	if (run->superseded || !task.present || !crow.active ||
	    strcmp(task.fingerprint, run->fingerprint)) {
		memset(&d, 0, sizeof(d));
		d.run_id = run->id;
		d.state = RS_LOST;
		d.exit_code = -1;
		d.message = why;
		ret = finish_locked(s, &d, NULL, 0);
		goto out;
	}
	if ((ret = store_run_finish(s->st, run->id, RS_LOST, -1, why)) < 0)
		goto out;
	if (task.state == TS_RUNNING) {
		/* the attempt does not count: it never had its chance */
		if (task.attempts > 0)
			task.attempts--;
		if ((ret = store_task_update(s->st, &task)) < 0 ||
		    (ret = store_task_set_state(s->st, task.id, TS_RUNNING,
						TS_WAITING, why)) < 0)
			goto out;
	}
out:
	free(task.name);
	cascade_row_release(&crow);
	return ret;
}

int
sched_interrupt(struct sched *s, int64_t run_id, const char *why)
{
	struct run_row run;
	int ret;

	memset(&run, 0, sizeof(run));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	if ((ret = store_run_get(s->st, run_id, &run)) < 0)
		goto fail;
	if (run.state != RS_RUNNING) {
		run_row_release(&run);
		store_rollback(s->st);
		return 0;
	}
	if ((ret = requeue_locked(s, &run, why)) < 0 ||
	    (ret = store_commit(s->st)) < 0)
		goto fail;
	goto out;
fail:
	store_rollback(s->st);
out:
	run_row_release(&run);
	return ret;
}

int
sched_not_started(struct sched *s, int64_t run_id, const char *why)
{
	struct run_row run, *runs = NULL;
	struct run_done d;
	size_t n = 0, i;
	int ret, alone = 1;

	memset(&run, 0, sizeof(run));
	if ((ret = store_begin(s->st)) < 0)
		return ret;
	if ((ret = store_run_get(s->st, run_id, &run)) < 0)
		goto fail;
	if (run.state != RS_RUNNING) {
		ret = err_set("run %lld already ended (%s)", (long long)run_id,
			      run_state_names[run.state]);
		goto fail;
	}
	/* a host of a fan-out: the others may run or have run, and the task
	 * must not start them again; this one ends lost, as it would have */
	if ((ret = store_runs_of_task(s->st, run.task_id, &runs, &n)) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (runs[i].batch == run.batch && runs[i].id != run.id)
			alone = 0;
	if (alone) {
		ret = requeue_locked(s, &run, why);
	} else {
		memset(&d, 0, sizeof(d));
		d.run_id = run_id;
		d.state = RS_LOST;
		d.exit_code = -1;
		d.message = why;
		ret = finish_locked(s, &d, NULL, 0);
	}
	if (ret < 0 || (ret = store_commit(s->st)) < 0)
		goto fail;
	ret = alone;
	goto out;
fail:
	store_rollback(s->st);
out:
	run_rows_free(runs, n);
	run_row_release(&run);
	return ret;
}

int
sched_running(struct sched *s, struct run_req ***out, size_t *n)
{
	struct run_row *runs = NULL;
	struct task_row task;
	struct cascade_row crow;
	const struct cascade *c;
	const struct task *t;
	struct run_req *r;
	size_t nr = 0, i;
	int ret;

	*out = NULL;
	*n = 0;
	if ((ret = store_runs_running(s->st, &runs, &nr)) < 0)
		return ret;
	*out = xcalloc(nr + 1, sizeof(**out));
	for (i = 0; i < nr; i++) {
		memset(&crow, 0, sizeof(crow));
		memset(&task, 0, sizeof(task));
		r = xcalloc(1, sizeof(*r));
		r->run_id = runs[i].id;
		r->task_id = runs[i].task_id;
		r->attempt = runs[i].attempt;
		ret = store_task_get(s->st, runs[i].task_id, &task);
		if (ret == 0)
			ret = store_cascade_get(s->st, task.cascade_id, &crow);
		c = NULL;
		if (ret == 0 && crow.active)
			ret = sched_definition(s, task.cascade_id, &c);
		t = c ? cascade_task(c, task.name) : NULL;
		if (ret == 0 && t)
			ret = build_req(s, c, crow.repo, task.cascade_id,
					runs[i].revision,
					t, runs[i].host, r);
		if (ret == 0 && t) {
			/* the runner it started with, whatever the definition
			 * says now */
			free(r->runner);
			r->runner = xstrdup(runs[i].runner);
			(*out)[(*n)++] = r;
		} else {
			/* no definition to rebuild it from: it can only be
			 * reported as lost, which needs just the ids */
			run_req_free(r);
			r = xcalloc(1, sizeof(*r));
			r->run_id = runs[i].id;
			r->task_id = runs[i].task_id;
			r->runner = xstrdup(runs[i].runner);
			r->cascade = xstrdup(runs[i].cascade);
			r->task = xstrdup(runs[i].task);
			(*out)[(*n)++] = r;
		}
		free(task.name);
		cascade_row_release(&crow);
		ret = 0;
	}
	run_rows_free(runs, nr);
	return 0;
}
