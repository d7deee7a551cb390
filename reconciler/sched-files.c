/*
 * sched-files.c - the file store moves its cascade: the content of a file
 * a task loads from the store is in the task's fingerprint, so a file put
 * or removed resets the tasks that load it (and their descendants), each
 * with why, and those then ready run.
 */
#include <stdlib.h>
#include <string.h>

#include "sched-int.h"

/* Why task t changed when its definition did not (the plan says no). */
void
unplanned_reason(struct buf *out, const struct cascade *c,
		 const struct task *t, const struct file_change *fc)
{
	size_t i;
	int files = 0;

	if (fc && task_loads_from_file_store(c, t, fc->name)) {
		for (i = 0; i < t->load_file.n; i++)
			if (!strcmp(t->load_file.v[i].name, fc->name))
				break;
		if (i < t->load_file.n) {
			buf_addf(out, "file '%s' %s the file store", fc->name,
				 fc->removed ? "removed from" : "changed in");
			return;
		}
	}
	for (i = 0; i < t->load_file.n && !files; i++)
		files = task_loads_from_file_store(c, t,
						   t->load_file.v[i].name);
	if (files && !t->ninputs)
		buf_puts(out, "changed: files in the file store");
	else if (files)
		buf_puts(out, "changed: input values or files in the file "
			      "store");
	else
		buf_puts(out, "changed: input values");
}

void
file_store_loads(struct store *st, const char *repo,
		 const struct sched_def *defs, size_t ndefs, struct diags *d,
		 int drop_all, file_missing_fn missing, void *arg)
{
	const struct cascade *c;
	const struct task *t;
	struct cascade_row row;
	struct file_row f;
	size_t i, j, k;
	const char *name;
	int have, there;

	for (i = 0; i < ndefs; i++) {
		if (!(c = defs[i].cascade))
			continue;
		have = store_cascade_find(st, repo, c->name, &row) == 0;
		for (j = 0; j < c->ntasks; j++) {
			t = &c->tasks[j];
			for (k = 0; k < t->load_file.n; k++) {
				name = t->load_file.v[k].name;
				if (!task_loads_from_file_store(c, t, name))
					continue;
				there = have && store_file_get(st, row.id, name,
							       &f) == 0;
				if (there)
					free(f.name);
				if (there || drop_all)
					diags_drop(d, DIAG_WARNING,
						   defs[i].file,
						   t->load_file.v[k].pos);
				if (!there && missing)
					missing(arg, c->name, t->name, name);
			}
		}
		if (have)
			cascade_row_release(&row);
	}
}

/* Inside the caller's transaction: reconcile the cascade with its stored
 * definition after file fc changed (an inactive cascade: nothing runs). */
static int
file_changed_locked(struct sched *s, const struct cascade_row *row,
		    const struct file_change *fc, struct buf *report)
{
	const struct cascade *c;
	struct sched_def def;
	int ret;

	if (!row->active)
		return 0;
	if ((ret = sched_definition(s, row->id, &c)) < 0)
		return ret;
	def.cascade = (struct cascade *)c;
	def.source = row->source;
	def.file = row->file;
	if ((ret = reconcile(s, row->repo, NULL, &def, 1, fc, report)) < 0)
		return ret;
	return promote_cascade(s, row->id, NULL, NULL);
}

int
sched_file_put(struct sched *s, int64_t cascade_id, const char *name,
	       const char *blob, int64_t size, struct file_row *out,
	       int *out_created, struct buf *report)
{
	struct cascade_row row;
	struct file_change fc = { name, 0 };
	int ret;

	if ((ret = store_cascade_get(s->st, cascade_id, &row)) < 0)
		return ret;
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	ret = store_file_put_blob(s->st, cascade_id, name, blob, size, out,
				  out_created);
	if (ret == 0)
		ret = file_changed_locked(s, &row, &fc, report);
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret < 0) {
		store_rollback(s->st);
		if (out) {
			free(out->name);
			memset(out, 0, sizeof(*out));
		}
	}
out:
	cascade_row_release(&row);
	return ret;
}

int
sched_file_delete(struct sched *s, int64_t cascade_id, const char *name,
		  struct buf *report)
{
	struct cascade_row row;
	struct file_change fc = { name, 1 };
	int ret;

	if ((ret = store_cascade_get(s->st, cascade_id, &row)) < 0)
		return ret;
	if ((ret = store_begin(s->st)) < 0)
		goto out;
	ret = store_file_delete(s->st, cascade_id, name);
	if (ret == 0)
		ret = file_changed_locked(s, &row, &fc, report);
	if (ret == 0)
		ret = store_commit(s->st);
	if (ret < 0)
		store_rollback(s->st);
out:
	cascade_row_release(&row);
	return ret;
}
