/*
 * prplan.c - plans of pull requests, on the repo's worker thread after its
 * fetch: fetch the head of each pending pull request (refs/pull/N/head, of
 * the base repository, so a fork's head comes from there too) into the
 * mirror, validate the cascade files it changes (the tree diff of
 * merge-base..head) with the limits that hold for pushes, and plan each
 * against the definition applied now.  The result is kept for the page
 * /p/REPO/SHA and posted as the commit status "scaffold/plan" of the head.
 *
 * Nothing of a pull request runs: the scheduler is never called, no task,
 * probe or hook starts; only the parser and the planner read its files.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "../gitsync/gitsync.h"
#include "../webhook/webhook.h"

/* What a plan found, for the status and the page. */
struct prplan {
	json_t *cascades;    /* [{"file", "cascade", "action", "plan",
			      * "errors"}] */
	size_t ncascades;    /* cascades the pull request touches */
	size_t nchanged;     /* of them, those whose plan changes a task */
	size_t rerun;	     /* tasks to re-run (the reset sets) */
	size_t unchanged;    /* tasks that stay as they are */
	struct buf first;    /* the first error, "FILE:LINE:COL: MSG" */
};

/* "FILE:LINE:COL: MSG" (or "FILE: MSG" without a position). */
static void
diag_text(struct buf *out, const struct diag *d)
{
	if (d->pos.line)
		buf_addf(out, "%s:%d:%d: %s", d->file, d->pos.line, d->pos.col,
			 d->msg);
	else
		buf_addf(out, "%s: %s", d->file, d->msg);
}

/* The active definition of repo applied from file, parsed (*id its row);
 * NULL: none. */
static struct cascade *
applied_from(const struct cascade_row *cs, size_t ncs, const char *repo,
	     const char *file, int64_t *id)
{
	struct diags diags = DIAGS_INIT;
	struct cascade *c = NULL;
	size_t i;

	*id = 0;
	for (i = 0; i < ncs; i++) {
		if (!cs[i].active || strcmp(cs[i].repo, repo) || !cs[i].file ||
		    strcmp(cs[i].file, file))
			continue;
		if (cascade_load(&c, cs[i].file, cs[i].source,
				 strlen(cs[i].source), 0, &diags) < 0)
			c = NULL;
		else
			*id = cs[i].id;
		break;
	}
	diags_release(&diags);
	return c;
}

/*
 * The fields of task t (of c) for the page: those in mask whose text is
 * not empty, each {"field", side: TEXT}.  into: the array to fill, or to
 * complete (the other side of the same fields, in the same order).
 */
static void
task_fields(json_t *into, const struct cascade *c, const struct task *t,
	    unsigned mask, const char *side, const struct input_now *now)
{
	struct buf b = BUF_INIT;
	size_t f, k = 0;
	json_t *o;

	for (f = 0; f < FP_NFIELDS; f++) {
		if (!(mask & (1u << f)))
			continue;
		buf_reset(&b);
		if (t)
			task_field_text(&b, c, t, (enum fp_field)f, now);
		o = json_array_get(into, k);
		if (!o) {
			o = json_object();
			json_object_set_new(o, "field",
					    json_string(fp_field_names[f]));
			json_object_set_new(o, "old", json_null());
			json_object_set_new(o, "new", json_null());
			json_array_append_new(into, o);
		}
		k++;
		if (t)
			json_object_set_new(o, side,
					    json_stringn(b.ptr, b.len));
	}
	buf_release(&b);
}

/* The fields t of c uses (its text not empty). */
static unsigned
used_fields(const struct cascade *c, const struct task *t,
	    const struct input_now *now)
{
	struct buf b = BUF_INIT;
	unsigned mask = 0;
	size_t f;

	for (f = 0; f < FP_NFIELDS; f++) {
		buf_reset(&b);
		task_field_text(&b, c, t, (enum fp_field)f, now);
		if (b.len)
			mask |= 1u << f;
	}
	buf_release(&b);
	return mask;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct plan_entry *)a)->task,
		      ((const struct plan_entry *)b)->task);
}

/*
 * What the page shows besides the lists (ui-pr.c, the API's plan):
 * "tasks", each task added, changed or removed with its fields old beside
 * new (an added task's old and a removed one's new are null), and
 * "graph", the tasks of the definition drawn (new, else old) in file
 * order, each with its action in the plan and its parents.
 */
static void
plan_details(json_t *o, const struct plan *p, const struct cascade *old,
	     const struct cascade *new, const struct input_now *now)
{
	const struct cascade *drawn = new ? new : old;
	json_t *tasks = json_array(), *graph = json_array(), *f, *deps;
	const struct plan_entry *e;
	const struct task *to, *tn;
	unsigned mask;
	size_t i, d;

	for (i = 0; i < p->n; i++) {
		e = &p->v[i];
		if (e->action != PLAN_ADDED && e->action != PLAN_CHANGED &&
		    e->action != PLAN_REMOVED)
			continue;
		to = old ? cascade_task(old, e->task) : NULL;
		tn = new ? cascade_task(new, e->task) : NULL;
		if (e->action == PLAN_REMOVED)
			tn = NULL;
		if (e->action == PLAN_ADDED)
			to = NULL;
		mask = e->action == PLAN_CHANGED ? e->changed
		       : tn		       ? used_fields(new, tn, now)
		       : to		       ? used_fields(old, to, now)
					       : 0;
		f = json_array();
		task_fields(f, old, to, mask, "old", now);
		task_fields(f, new, tn, mask, "new", now);
		json_array_append_new(
			tasks, json_pack("{s:s,s:s,s:o}", "task", e->task,
					 "action", plan_action_names[e->action],
					 "fields", f));
	}
	for (i = 0; drawn && i < drawn->ntasks; i++) {
		const struct task *t = &drawn->tasks[i];
		struct plan_entry key = { .task = t->name };
		const struct plan_entry *hit;
		const char *act;

		/* the plan's entries are sorted by task name */
		hit = bsearch(&key, p->v, p->n, sizeof(*p->v), cmp_entry);
		deps = json_array();
		for (d = 0; d < t->ndeps; d++) {
			const struct dep *dp = &t->deps[d];

			json_array_append_new(
				deps, json_pack("{s:I,s:s}", "task",
						(json_int_t)dp->task, "kind",
						dep_kind_names[dp->kind]));
		}
		act = plan_action_names[hit ? hit->action : PLAN_UNCHANGED];
		json_array_append_new(graph,
				      json_pack("{s:s,s:s,s:o}", "task",
						t->name, "action", act,
						"deps", deps));
	}
	json_object_set_new(o, "tasks", tasks);
	json_object_set_new(o, "graph", graph);
}

/* Add one cascade's plan to pp (old, new: its two definitions, either
 * may be NULL). */
static void
add_plan(struct prplan *pp, const char *file, const char *action,
	 const struct plan *p, const struct cascade *old,
	 const struct cascade *new, const struct input_now *now)
{
	json_t *o = json_object();

	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "cascade", json_string(p->cascade));
	json_object_set_new(o, "action", json_string(action));
	json_object_set_new(o, "plan", view_plan(p, NULL, NULL));
	plan_details(o, p, old, new, now);
	json_array_append_new(pp->cascades, o);
	pp->ncascades++;
	if (p->n != p->count[PLAN_UNCHANGED])
		pp->nchanged++;
	pp->rerun += plan_reset_count(p);
	pp->unchanged += p->count[PLAN_UNCHANGED];
}

/* Every task of c removed (its file is removed or renamed). */
static void
add_removed(struct prplan *pp, const char *file, const struct cascade *c,
	    const char *why, const struct input_now *now)
{
	struct plan p;
	size_t i;

	plan_compute(&p, NULL, c, NULL, NULL);
	for (i = 0; i < p.n; i++) {
		free(p.v[i].reason);
		p.v[i].action = PLAN_REMOVED;
		p.v[i].reason = xstrdup(why);
	}
	memset(p.count, 0, sizeof(p.count));
	p.count[PLAN_REMOVED] = p.n;
	add_plan(pp, file, "removed", &p, c, NULL, now);
	plan_release(&p);
}

/* An invalid file: its errors, the first one kept for the status. */
static void
add_invalid(struct prplan *pp, const char *file, struct diags *diags)
{
	json_t *o = json_object(), *errs = json_array();
	struct buf b = BUF_INIT;
	size_t i;

	diags_sort(diags);
	for (i = 0; i < diags->n; i++) {
		if (diags->v[i].sev != DIAG_ERROR)
			continue;
		buf_reset(&b);
		diag_text(&b, &diags->v[i]);
		json_array_append_new(errs, json_string(b.ptr));
		if (!pp->first.len)
			buf_puts(&pp->first, b.ptr);
	}
	json_object_set_new(o, "file", json_string(file));
	json_object_set_new(o, "action", json_string("invalid"));
	json_object_set_new(o, "errors", errs);
	json_array_append_new(pp->cascades, o);
	buf_release(&b);
}

/*
 * Is c's name that of a cascade applied from another file of the repo,
 * one the pull request leaves as it is?  Then the merge would refuse the
 * file as a push does: an error in diags, ERR_INVALID.
 */
static int
name_taken(const struct repo_config *rc, const struct cascade *c,
	   const char *path, const struct strvec *changed,
	   const struct cascade_row *cs, size_t ncs, struct diags *diags)
{
	size_t i, j;

	for (i = 0; i < ncs; i++) {
		if (!cs[i].active || strcmp(cs[i].repo, rc->name) ||
		    strcmp(cs[i].name, c->name) || !cs[i].file ||
		    !strcmp(cs[i].file, path))
			continue;
		for (j = 0; j < changed->n; j++)
			if (!strcmp(changed->v[j], cs[i].file))
				break;
		if (j < changed->n)
			continue; /* that file changes too */
		diags_add(diags, DIAG_ERROR, path, c->name_pos,
			  "cascade name '%s' is also used by '%s'", c->name,
			  cs[i].file);
		return ERR_INVALID;
	}
	return 0;
}

/*
 * Plan one changed file: validate it at the head as a push's would be
 * (size limits, the loader, the repo's runners, the inventory's hosts),
 * then compare it with what is applied from that file now.
 */
static void
plan_file(struct prplan *pp, const struct config *cf,
	  const struct repo_config *rc, struct store *st, const char *path,
	  const struct strvec *changed, const struct cascade_file *files,
	  size_t nfiles, const struct cascade_row *cs, size_t ncs)
{
	struct diags diags = DIAGS_INIT;
	struct cascade *new = NULL, *old = NULL;
	const struct cascade_file *f = NULL;
	struct input_now now;
	struct plan p;
	size_t i;

	/* input values count as they are now: the applied cascade's */
	memset(&now, 0, sizeof(now));
	now.st = st;
	for (i = 0; i < nfiles && !f; i++)
		if (!strcmp(files[i].path, path))
			f = &files[i];
	old = applied_from(cs, ncs, rc->name, path, &now.cascade_id);
	if (!f) {
		if (old)
			add_removed(pp, path, old,
				    "the cascade file is removed", &now);
		goto out;
	}
	if (!f->data) {
		diags_add(&diags, DIAG_ERROR, f->path, (struct pos){ 0, 0 },
			  "%s", f->error);
		add_invalid(pp, path, &diags);
		goto out;
	}
	if (cascade_load(&new, f->path, f->data, f->len, 0, &diags) < 0 ||
	    config_check_runners(rc, new, &diags) < 0 ||
	    config_check_hosts(cf, new, &diags) < 0 ||
	    name_taken(rc, new, path, changed, cs, ncs, &diags) < 0) {
		add_invalid(pp, path, &diags);
		goto out;
	}
	if (old && strcmp(old->name, new->name)) {
		/* renamed: the old cascade goes, the new starts afresh */
		add_removed(pp, path, old, "the cascade is renamed", &now);
		cascade_free(old);
		old = NULL;
		now.cascade_id = 0; /* the new name starts afresh */
	}
	plan_compute(&p, old, new, input_now_digest, &now);
	add_plan(pp, path, old ? "changed" : "added", &p, old, new, &now);
	plan_release(&p);
out:
	arena_release(&now.arena);
	cascade_free(new);
	cascade_free(old);
	diags_release(&diags);
}

/*
 * Plan row's head in the mirror: 0 with *state and the description in
 * desc, the page's JSON in *out (a new reference); <0 with err_set when
 * the head cannot be fetched or read.  *fetch_ms: what the fetch took.
 */
static int
plan_head(json_t **out, const char **state, struct buf *desc,
	  int64_t *fetch_ms, const struct config *cf,
	  const struct repo_config *rc, struct store *st, const char *mirror,
	  const struct prplan_row *row)
{
	struct repo_spec spec;
	struct prplan pp;
	struct strvec changed = STRVEC_INIT;
	struct cascade_file *files = NULL;
	struct cascade_row *cs = NULL;
	struct buf ref = BUF_INIT;
	char at[GIT_OID_HEX + 1], base[GIT_OID_HEX + 1], mb[GIT_OID_HEX + 1];
	size_t nfiles = 0, ncs = 0, i;
	int ret;

	memset(&pp, 0, sizeof(pp));
	buf_init(&pp.first);
	pp.cascades = json_array();
	buf_puts(&ref, row->ref);
	memset(&spec, 0, sizeof(spec));
	spec.name = rc->name;
	spec.url = rc->url;
	spec.branch = rc->branch;
	spec.creds.ssh_key_file = rc->ssh_key_file;
	spec.creds.known_hosts_file = rc->known_hosts_file;
	spec.creds.token_file = rc->token_file;
	spec.pull_ref = ref.ptr;
	*fetch_ms = store_now_ms();
	ret = mirror_fetch(mirror, &spec, cf->fetch_timeout_ms);
	*fetch_ms = store_now_ms() - *fetch_ms;
	if (ret < 0)
		goto out;
	ret = mirror_ref_commit(mirror, ref.ptr, at);
	if (ret == ERR_NOTFOUND)
		err_set("repo '%s' does not serve %s", rc->name, ref.ptr);
	if (ret < 0)
		goto out;
	if (strcmp(at, row->head))
		log_info("prplan: repo '%s': %s is at %.12s now, not %.12s; "
			 "planning %.12s as asked",
			 rc->name, ref.ptr, at, row->head, row->head);
	if ((ret = mirror_branch_head(mirror, rc->branch, base)) < 0 ||
	    (ret = mirror_merge_base(mirror, base, row->head, mb)) < 0 ||
	    (ret = mirror_diff_cascades(mirror, mb, row->head, rc->path,
					&changed)) < 0)
		goto out;
	if ((ret = mirror_cascade_dir_check(mirror, row->head, rc->path)) ==
	    ERR_INVALID) {
		/* a symlinked cascade folder: refused, nothing is read */
		json_t *o = json_pack("{s:s,s:s,s:[s]}", "file", rc->path,
				      "action", "invalid", "errors",
				      err_msg());

		json_array_append_new(pp.cascades, o);
		buf_puts(&pp.first, err_msg());
		strvec_clear(&changed);
		ret = 0;
	} else if (ret < 0 ||
		   (ret = mirror_read_cascades_only(mirror, row->head,
						    rc->path,
						    CASCADE_MAX_FILE_SIZE,
						    &changed, &files,
						    &nfiles)) < 0 ||
		   (ret = store_cascade_list(st, 1, &cs, &ncs)) < 0) {
		goto out;
	}
	for (i = 0; i < changed.n; i++)
		plan_file(&pp, cf, rc, st, changed.v[i], &changed, files,
			  nfiles, cs, ncs);
	if (pp.first.len) {
		*state = "failure";
		buf_puts(desc, pp.first.ptr);
	} else if (!pp.ncascades) {
		*state = "success";
		buf_puts(desc, "no cascade changes: nothing to re-run");
	} else {
		*state = "success";
		buf_addf(desc, "%zu cascade%s: %zu changed, %zu task%s to "
			       "re-run, %zu unchanged",
			 pp.ncascades, pp.ncascades == 1 ? "" : "s",
			 pp.nchanged, pp.rerun, pp.rerun == 1 ? "" : "s",
			 pp.unchanged);
	}
	*out = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "repo",
			 rc->name, "number", (json_int_t)row->number, "head",
			 row->head, "base", row->base, "base_commit", base,
			 "merge_base", mb, "state", *state, "summary",
			 desc->ptr, "cascades", pp.cascades);
	if (!*out)
		ret = err_set("cannot make the plan's JSON");
out:
	json_decref(pp.cascades);
	buf_release(&pp.first);
	strvec_clear(&changed);
	cascade_files_free(files, nfiles);
	cascade_rows_free(cs, ncs);
	buf_release(&ref);
	return ret;
}

int
prplan_run(const struct config *cf, const struct repo_config *rc,
	   struct store *st, struct outbox *ob, const char *mirror)
{
	struct prplan_row *rows = NULL;
	struct buf desc = BUF_INIT, err = BUF_INIT;
	size_t n = 0, i, enqueued = 0;
	const char *state;
	json_t *plan;
	char *text;
	int ret;

	if ((ret = store_prplans_pending(st, rc->name, &rows, &n)) < 0)
		return ret;
	for (i = 0; i < n; i++) {
		int64_t t0 = store_now_ms(), fetch_ms = 0;

		plan = NULL;
		state = "error";
		buf_reset(&desc);
		if (plan_head(&plan, &state, &desc, &fetch_ms, cf, rc, st,
			      mirror, &rows[i]) < 0) {
			/* the detail goes to the log and the page; the forge
			 * is told no URL or path */
			log_warnx("prplan: repo '%s': pull request #%lld at "
				  "%.12s: %s",
				  rc->name, (long long)rows[i].number,
				  rows[i].head, err_msg());
			buf_reset(&err);
			buf_puts(&err, err_msg());
			state = "error";
			buf_reset(&desc);
			buf_addf(&desc, "the head of pull request #%lld "
					"cannot be read",
				 (long long)rows[i].number);
			plan = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s}",
					 "repo", rc->name, "number",
					 (json_int_t)rows[i].number, "head",
					 rows[i].head, "base", rows[i].base,
					 "state", state, "summary", desc.ptr,
					 "error", err.ptr);
		}
		text = plan ? json_dumps(plan, JSON_COMPACT |
						       JSON_PRESERVE_ORDER)
			    : NULL;
		if ((ret = store_begin(st)) < 0) {
			json_decref(plan);
			free(text);
			goto out;
		}
		if ((ret = store_prplan_finish(st, rows[i].id, state, desc.ptr,
					       text)) < 0 ||
		    (ret = status_note_plan(st, cf, rc, rows[i].head, state,
					    desc.ptr, &enqueued)) < 0 ||
		    (ret = prcomment_plan(st, cf, rc, rows[i].number,
					  rows[i].head, desc.ptr, plan,
					  &enqueued)) < 0 ||
		    (ret = store_commit(st)) < 0) {
			store_rollback(st);
			json_decref(plan);
			free(text);
			goto out;
		}
		json_decref(plan);
		free(text);
		log_info("prplan: repo '%s': pull request #%lld at %.12s: "
			 "%s in %lld ms (the fetch %lld ms, the plan and its "
			 "status %lld ms)",
			 rc->name, (long long)rows[i].number, rows[i].head,
			 state, (long long)(store_now_ms() - t0),
			 (long long)fetch_ms,
			 (long long)(store_now_ms() - t0 - fetch_ms));
	}
	ret = 0;
out:
	if (enqueued)
		outbox_wake(ob);
	prplan_rows_free(rows, n);
	buf_release(&desc);
	buf_release(&err);
	return ret;
}
