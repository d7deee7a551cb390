/*
 * plan.c - what a new version of a cascade changes: tasks added, removed,
 * changed (and in which fields), and the reset set, which is the changed and
 * added tasks with all their descendants.
 */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

const char *const plan_action_names[5] = { "unchanged", "added", "changed",
					   "reset", "removed" };

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct plan_entry *)a)->task,
		      ((const struct plan_entry *)b)->task);
}

static char *
changed_reason(unsigned changed)
{
	struct buf b = BUF_INIT;
	size_t f;

	buf_puts(&b, "changed: ");
	for (f = 0; f < FP_NFIELDS; f++) {
		if (!(changed & (1u << f)))
			continue;
		if (b.len > 9)
			buf_puts(&b, ", ");
		buf_puts(&b, fp_field_names[f]);
	}
	return buf_detach(&b, NULL);
}

void
plan_compute(struct plan *out, const struct cascade *old,
	     const struct cascade *new, input_value_fn input_value, void *ctx)
{
	struct fingerprint fa, fb;
	size_t i, f, nseeds = 0, *seeds, *origin;
	struct plan_entry *e;
	const struct task *t, *o;
	struct buf b = BUF_INIT;

	memset(out, 0, sizeof(*out));
	out->cascade = new->name;
	out->v = xcalloc(new->ntasks + (old ? old->ntasks : 0) + 1,
			 sizeof(*out->v));
	seeds = xmalloc((new->ntasks + 1) * sizeof(*seeds));
	origin = xmalloc((new->ntasks + 1) * sizeof(*origin));

	/* entries follow new->tasks, so index i is task i */
	for (i = 0; i < new->ntasks; i++) {
		t = &new->tasks[i];
		e = &out->v[i];
		e->task = t->name;
		o = old ? cascade_task(old, t->name) : NULL;
		if (!o) {
			e->action = PLAN_ADDED;
			e->reason = xstrdup("new task");
			seeds[nseeds++] = i;
			continue;
		}
		task_fingerprint(&fa, old, o, input_value, ctx);
		task_fingerprint(&fb, new, t, input_value, ctx);
		if (!strcmp(fa.hex, fb.hex))
			continue;
		e->action = PLAN_CHANGED;
		for (f = 0; f < FP_NFIELDS; f++)
			if (strcmp(fa.field[f], fb.field[f]))
				e->changed |= 1u << f;
		e->reason = changed_reason(e->changed);
		seeds[nseeds++] = i;
	}
	out->n = new->ntasks;

	dag_reach(new, seeds, nseeds, origin);
	for (i = 0; i < new->ntasks; i++) {
		e = &out->v[i];
		if (origin[i] == SIZE_MAX || e->action != PLAN_UNCHANGED)
			continue;
		e->action = PLAN_RESET;
		t = &new->tasks[seeds[origin[i]]];
		buf_reset(&b);
		buf_addf(&b, "downstream of '%s' (%s)", t->name,
			 out->v[seeds[origin[i]]].action == PLAN_ADDED
				 ? "new"
				 : "changed");
		e->reason = xstrdup(b.ptr);
	}
	for (i = 0; old && i < old->ntasks; i++) {
		if (cascade_task(new, old->tasks[i].name))
			continue;
		e = &out->v[out->n++];
		e->task = old->tasks[i].name;
		e->action = PLAN_REMOVED;
		e->reason = xstrdup("removed from the cascade");
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_entry);
	for (i = 0; i < out->n; i++)
		out->count[out->v[i].action]++;
	buf_release(&b);
	free(seeds);
	free(origin);
}

size_t
plan_reset_count(const struct plan *p)
{
	return p->count[PLAN_ADDED] + p->count[PLAN_CHANGED] +
	       p->count[PLAN_RESET];
}

void
plan_release(struct plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->v[i].reason);
	free(p->v);
	memset(p, 0, sizeof(*p));
}
