/*
 * view.c - JSON views of the state: what the API answers, and what the CLI
 * prints (with -o json, or formatted as text) whether it reads a data dir
 * or asks a daemon.  One builder per view keeps the two identical.
 * Password values are never part of a view.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "webhook-int.h"

/* A string that is valid in JSON: as is when UTF-8, else escaped. */
static json_t *
view_str(const char *s)
{
	struct buf b = BUF_INIT;
	json_t *j;

	if (!s)
		return json_null();
	if ((j = json_string(s)))
		return j;
	escape_log(&b, s, strlen(s));
	/* escape_log escapes invalid UTF-8 (\xNN): what follows is a guard */
	j = json_string(b.ptr);
	if (!j) {
		size_t i;

		for (i = 0; i < b.len; i++)
			if ((unsigned char)b.ptr[i] >= 0x80)
				b.ptr[i] = '?';
		j = json_string(b.ptr);
	}
	buf_release(&b);
	return j;
}

static json_t *
view_bytes(const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	json_t *j;

	if ((j = json_stringn(s, len)))
		return j;
	buf_add(&b, s, len);
	j = view_str(b.ptr);
	buf_release(&b);
	return j;
}

static json_t *
view_int_or_null(int64_t v)
{
	return v ? json_integer(v) : json_null();
}

/*
 * A task's drift probes, for a task that has any (a due one, or a check
 * run): its last check run and when the next is due; and why the task is
 * in its state (a drift says so).  NULL when the task has no check.
 */
static json_t *
view_check(struct store *st, int64_t task_id, json_t **reason)
{
	struct check_row k;
	struct check_due due;
	json_t *o, *last = json_null();
	char *why = NULL;
	int has_due, has_last;

	has_due = store_check_due_get(st, task_id, &due) == 0;
	has_last = store_check_last(st, task_id, &k) == 0;
	if (!has_due && !has_last)
		return NULL;
	if (has_last) {
		last = json_object();
		json_object_set_new(last, "id", json_integer(k.id));
		json_object_set_new(last, "state",
				    json_string(run_state_names[k.state]));
		json_object_set_new(last, "host", view_str(k.host));
		json_object_set_new(last, "exit_code",
				    k.exit_code >= 0 ? json_integer(k.exit_code)
						     : json_null());
		json_object_set_new(last, "message", view_str(k.message));
		json_object_set_new(last, "drift", json_boolean(k.drift));
		json_object_set_new(last, "heal", json_boolean(k.heal));
		json_object_set_new(last, "started_at",
				    json_integer(k.started_at));
		json_object_set_new(last, "ended_at",
				    view_int_or_null(k.ended_at));
		check_row_release(&k);
	}
	o = json_object();
	json_object_set_new(o, "last", last);
	json_object_set_new(o, "next_due",
			    has_due ? json_integer(due.due_at) : json_null());
	if (store_task_reason(st, task_id, &why) == 0) {
		*reason = view_str(why);
		free(why);
	}
	return o;
}

/*
 * A run as the per-host results and the run list show it: the outcome
 * ("state"), the exit code, when it started and for how long (null while
 * it runs), at which revision.
 */
static json_t *
view_run_brief(const struct run_row *r)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(r->id));
	json_object_set_new(o, "host", view_str(r->host));
	json_object_set_new(o, "attempt", json_integer(r->attempt));
	json_object_set_new(o, "state", json_string(run_state_names[r->state]));
	json_object_set_new(o, "exit_code", r->exit_code >= 0
						    ? json_integer(r->exit_code)
						    : json_null());
	json_object_set_new(o, "message", view_str(r->message));
	json_object_set_new(o, "revision", view_str(r->revision));
	json_object_set_new(o, "started_at", json_integer(r->started_at));
	json_object_set_new(o, "ended_at", view_int_or_null(r->ended_at));
	json_object_set_new(o, "duration_ms",
			    r->ended_at ? json_integer(r->ended_at -
						       r->started_at)
					: json_null());
	return o;
}

/*
 * Each host's last run of a task that runs on hosts (ssh): a fan-out is
 * error when any host is, and this says which.  NULL (no member) for a
 * task that never ran on a host; -1 when the store fails.
 */
static int
view_hosts(json_t **out, struct store *st, int64_t task_id)
{
	struct run_row *v = NULL;
	size_t n = 0, i;

	*out = NULL;
	if (store_runs_per_host(st, task_id, &v, &n) < 0)
		return -1;
	if (n) {
		*out = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(*out, view_run_brief(&v[i]));
	}
	run_rows_free(v, n);
	return 0;
}

int
view_task_runs(struct json_t **out, struct store *st,
	       const struct cascade_row *c, const struct task_row *t,
	       size_t limit)
{
	struct run_row *v = NULL;
	size_t n = 0, i;
	json_t *arr;

	*out = NULL;
	if (store_runs_page(st, t->id, limit, &v, &n) < 0)
		return -1;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, view_run_brief(&v[i]));
	run_rows_free(v, n);
	*out = json_object();
	json_object_set_new(*out, "repo", c->repo && c->repo[0]
						  ? view_str(c->repo)
						  : json_null());
	json_object_set_new(*out, "cascade", view_str(c->name));
	json_object_set_new(*out, "task", view_str(t->name));
	json_object_set_new(*out, "total", json_integer(t->runs));
	json_object_set_new(*out, "runs", arr);
	return 0;
}

/*
 * The attempt number of a task's last run (1 for a first try, counting up
 * through its retries; 0 when it never ran): what "attempts" shows.  The
 * task row's own counter is the scheduler's, reset once the task settles.
 */
static int
view_attempts(struct store *st, const struct task_row *t, int *out)
{
	struct run_row run;

	*out = 0;
	if (!t->last_run)
		return 0;
	if (store_run_get(st, t->last_run, &run) < 0)
		return -1;
	*out = run.attempt;
	run_row_release(&run);
	return 0;
}

/*
 * The definition of c: the scheduler's (cached) when there is one, else
 * parsed from the source the store keeps (*owned set: cascade_free it).
 * NULL when neither has it (a cascade without a source).
 */
static const struct cascade *
view_definition(struct sched *s, const struct cascade_row *c,
		struct cascade **owned)
{
	const struct cascade *def = NULL;
	struct diags d = DIAGS_INIT;

	*owned = NULL;
	if (s && sched_definition(s, c->id, &def) == 0)
		return def;
	if (c->source &&
	    cascade_load(owned, c->file ? c->file : c->name, c->source,
			 strlen(c->source), 0, &d) < 0)
		*owned = NULL;
	diags_release(&d);
	return *owned;
}

int
view_missing_files(struct store *st, int64_t cascade_id,
		   const struct cascade *def,
		   void (*fn)(void *arg, const char *task, const char *file),
		   void *arg)
{
	const struct task *t;
	struct file_row f;
	const char *name;
	size_t i, j;
	int ret;

	for (i = 0; def && i < def->ntasks; i++) {
		t = &def->tasks[i];
		for (j = 0; j < t->load_file.n; j++) {
			name = t->load_file.v[j].name;
			if (!task_loads_from_file_store(def, t, name))
				continue;
			ret = store_file_get(st, cascade_id, name, &f);
			if (ret == 0) {
				free(f.name);
				continue;
			}
			if (ret != ERR_NOTFOUND)
				return -1;
			err_clear();
			fn(arg, t->name, name);
		}
	}
	return 0;
}

static void
missing_json(void *arg, const char *task, const char *file)
{
	json_array_append_new(arg, json_pack("{s:o,s:o}", "task",
					     view_str(task), "file",
					     view_str(file)));
}

int
view_cascade(struct json_t **out, struct store *st, struct sched *s,
	     const struct cascade_row *c)
{
	struct task_row *ts = NULL;
	struct cascade *owned = NULL;
	const struct cascade *def;
	const struct task *td;
	size_t nts = 0, k;
	json_t *o, *tarr, *t, *ck, *reason, *hosts;
	int attempts, ret = -1;

	*out = NULL;
	if (store_tasks(st, c->id, &ts, &nts) < 0)
		return -1;
	def = view_definition(s, c, &owned);
	o = json_object();
	json_object_set_new(o, "name", view_str(c->name));
	json_object_set_new(o, "repo", c->repo && c->repo[0]
					       ? view_str(c->repo)
					       : json_null());
	json_object_set_new(o, "revision", view_str(c->revision));
	json_object_set_new(o, "file", view_str(c->file));
	json_object_set_new(o, "active", json_boolean(c->active));
	json_object_set_new(o, "updated_at", json_integer(c->updated_at));
	/* the verdict every view gives (reconciler/verdict.c) */
	json_object_set_new(o, "state",
			    json_string(cascade_verdict(ts, nts, NULL)));
	/* live, as the status page's note: gone once the file is there */
	tarr = json_array();
	if (view_missing_files(st, c->id, def, missing_json, tarr) < 0) {
		json_decref(tarr);
		json_decref(o);
		goto out;
	}
	json_object_set_new(o, "missing_files", tarr);
	tarr = json_array();
	for (k = 0; k < nts; k++) {
		if (!ts[k].present)
			continue;
		t = json_object();
		json_object_set_new(t, "name", view_str(ts[k].name));
		json_object_set_new(t, "state",
				    json_string(task_state_names[ts[k].state]));
		json_object_set_new(t, "runs", json_integer(ts[k].runs));
		json_object_set_new(t, "last_run",
				    view_int_or_null(ts[k].last_run));
		if (view_attempts(st, &ts[k], &attempts) < 0) {
			json_decref(t);
			json_decref(tarr);
			json_decref(o);
			goto out;
		}
		json_object_set_new(t, "attempts", json_integer(attempts));
		/* runs only when started by hand: auto_execute: false */
		td = def ? cascade_task(def, ts[k].name) : NULL;
		json_object_set_new(t, "manual",
				    json_boolean(td && !td->auto_execute));
		json_object_set_new(t, "updated_at",
				    json_integer(ts[k].updated_at));
		if (view_hosts(&hosts, st, ts[k].id) < 0) {
			json_decref(t);
			json_decref(tarr);
			json_decref(o);
			goto out;
		}
		if (hosts)
			json_object_set_new(t, "hosts", hosts);
		reason = NULL;
		if ((ck = view_check(st, ts[k].id, &reason))) {
			json_object_set_new(t, "reason",
					    reason ? reason : json_null());
			json_object_set_new(t, "check", ck);
		}
		json_array_append_new(tarr, t);
	}
	json_object_set_new(o, "tasks", tarr);
	*out = o;
	ret = 0;
out:
	task_rows_free(ts, nts);
	cascade_free(owned);
	return ret;
}

int
view_cascades(struct json_t **out, struct store *st, struct sched *s,
	      const int64_t *ids, size_t nids)
{
	struct cascade_row *cs = NULL;
	size_t ncs = 0, i, k;
	json_t *arr, *c;
	int ret = -1;

	*out = NULL;
	if (store_cascade_list(st, 1, &cs, &ncs) < 0)
		return -1;
	arr = json_array();
	for (i = 0; i < ncs; i++) {
		for (k = 0; k < nids; k++)
			if (cs[i].id == ids[k])
				break;
		if (nids && k == nids)
			continue;
		if (view_cascade(&c, st, s, &cs[i]) < 0)
			goto out;
		json_array_append_new(arr, c);
	}
	*out = json_pack("{s:o}", "cascades", arr);
	arr = NULL;
	ret = 0;
out:
	json_decref(arr);
	cascade_rows_free(cs, ncs);
	return ret;
}

int
view_run(struct json_t **out, struct store *st, const struct run_row *run)
{
	struct task_row task;
	struct cascade_row c;
	json_t *o;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (store_task_get(st, run->task_id, &task) < 0)
		return -1;
	if (store_cascade_get(st, task.cascade_id, &c) < 0) {
		free(task.name);
		return -1;
	}
	free(task.name);
	o = json_object();
	json_object_set_new(o, "id", json_integer(run->id));
	json_object_set_new(o, "repo", c.repo && c.repo[0] ? view_str(c.repo)
							   : json_null());
	json_object_set_new(o, "cascade", view_str(run->cascade));
	json_object_set_new(o, "task", view_str(run->task));
	json_object_set_new(o, "attempt", json_integer(run->attempt));
	json_object_set_new(o, "state",
			    json_string(run_state_names[run->state]));
	json_object_set_new(o, "exit_code",
			    run->exit_code >= 0 ? json_integer(run->exit_code)
						: json_null());
	json_object_set_new(o, "message", view_str(run->message));
	json_object_set_new(o, "superseded", json_boolean(run->superseded));
	json_object_set_new(o, "kill_requested",
			    json_boolean(run->kill_requested));
	json_object_set_new(o, "runner", view_str(run->runner));
	json_object_set_new(o, "host", view_str(run->host));
	json_object_set_new(o, "revision", view_str(run->revision));
	json_object_set_new(o, "fingerprint", json_string(run->fingerprint));
	json_object_set_new(o, "started_at", json_integer(run->started_at));
	json_object_set_new(o, "ended_at", view_int_or_null(run->ended_at));
	json_object_set_new(o, "batch", json_integer(run->batch));
	cascade_row_release(&c);
	*out = o;
	return 0;
}

/* One input of a cascade; a password's value is never shown. */
static int
view_one_input(json_t **out, struct store *st, const struct cascade_row *c,
	       const struct input *in)
{
	struct buf v = BUF_INIT;
	const char *source = "unset";
	json_t *o;
	int r;

	*out = NULL;
	r = store_input_get(st, c->id, in->name, &v);
	if (r == 0) {
		source = "set";
	} else if (r != ERR_NOTFOUND) {
		return -1;
	} else if (in->default_value) {
		source = "default";
		buf_add(&v, in->default_value, in->default_len);
	}
	o = json_object();
	json_object_set_new(o, "name", view_str(in->name));
	json_object_set_new(o, "type", json_string(in->type == INPUT_PASSWORD
							   ? "password"
							   : "text"));
	json_object_set_new(o, "description", view_str(in->description));
	json_object_set_new(o, "source", json_string(source));
	json_object_set_new(o, "has_value", json_boolean(strcmp(source,
								"unset")));
	if (in->type == INPUT_PASSWORD || !strcmp(source, "unset"))
		json_object_set_new(o, "value", json_null());
	else
		json_object_set_new(o, "value", view_bytes(v.ptr, v.len));
	if (v.len)
		memset(v.ptr, 0, v.len);
	buf_release(&v);
	*out = o;
	return 0;
}

int
view_inputs(struct json_t **out, struct store *st, struct sched *s,
	    const struct cascade_row *c, const char *only)
{
	const struct cascade *def;
	const struct input *in;
	json_t *arr, *o;
	size_t i;

	*out = NULL;
	if (sched_definition(s, c->id, &def) < 0)
		return -1;
	if (only) {
		if (!(in = cascade_input(def, only)))
			return err_set("cascade '%s' has no input '%s'",
				       c->name, only),
			       ERR_NOTFOUND;
		return view_one_input(out, st, c, in);
	}
	arr = json_array();
	for (i = 0; i < def->ninputs; i++) {
		if (view_one_input(&o, st, c, &def->inputs[i]) < 0) {
			json_decref(arr);
			return -1;
		}
		json_array_append_new(arr, o);
	}
	*out = json_pack("{s:o}", "inputs", arr);
	return 0;
}

json_t *
view_file(const struct file_row *f)
{
	return json_pack("{s:o,s:I,s:s,s:I}", "name", view_str(f->name),
			 "size", (json_int_t)f->size, "sha256", f->blob,
			 "updated_at", (json_int_t)f->updated_at);
}

int
view_files(struct json_t **out, struct store *st, const struct cascade_row *c)
{
	struct file_row *v = NULL;
	size_t n = 0, i;
	json_t *arr;

	*out = NULL;
	if (store_file_list(st, c->id, &v, &n) < 0)
		return -1;
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, view_file(&v[i]));
	file_rows_free(v, n);
	*out = json_pack("{s:o}", "files", arr);
	return 0;
}

static json_t *
view_repo(struct store *st, const struct repo_row *row, const char *url)
{
	struct revision_row *revs = NULL;
	size_t nrevs = 0, k;
	json_t *o = json_object(), *ra, *v;

	json_object_set_new(o, "name", view_str(row->name));
	json_object_set_new(o, "url", view_str(url));
	json_object_set_new(o, "branch", view_str(row->branch));
	json_object_set_new(o, "head", view_str(row->head));
	json_object_set_new(o, "applied", view_str(row->applied));
	json_object_set_new(o, "last_fetch_at",
			    json_integer(row->last_fetch_at));
	json_object_set_new(o, "last_ok_at", json_integer(row->last_ok_at));
	json_object_set_new(o, "last_error", view_str(row->last_error));
	json_object_set_new(o, "failures", json_integer(row->failures));
	json_object_set_new(o, "branch_missing",
			    json_boolean(row->branch_missing));
	ra = json_array();
	if (store_revisions(st, row->name, 20, &revs, &nrevs) < 0) {
		json_decref(ra);
		json_decref(o);
		return NULL;
	}
	for (k = 0; k < nrevs; k++) {
		v = json_object();
		json_object_set_new(v, "commit", view_str(revs[k].commit_id));
		json_object_set_new(v, "author", view_str(revs[k].author));
		json_object_set_new(v, "subject", view_str(revs[k].subject));
		/* the commit time, kept in seconds as git has it; ms like
		 * every other time of the API */
		json_object_set_new(v, "time",
				    json_integer(revs[k].time * 1000));
		json_object_set_new(v, "result", view_str(revs[k].result));
		json_object_set_new(v, "errors", view_str(revs[k].errors));
		json_array_append_new(ra, v);
	}
	revision_rows_free(revs, nrevs);
	json_object_set_new(o, "revisions", ra);
	return o;
}

int
view_repos(struct json_t **out, struct store *st, const struct config *cf)
{
	struct repo_row *v = NULL, row;
	size_t n = 0, i, j;
	json_t *a, *o;
	int ret = -1;

	*out = NULL;
	if (store_repo_list(st, &v, &n) < 0)
		return -1;
	a = json_array();
	if (!cf) {
		for (j = 0; j < n; j++) {
			if (!(o = view_repo(st, &v[j], v[j].url)))
				goto out;
			json_array_append_new(a, o);
		}
		goto done;
	}
	/* the config's repos, in its order; ones never synced too */
	for (i = 0; i < cf->nrepos; i++) {
		for (j = 0; j < n; j++)
			if (!strcmp(v[j].name, cf->repos[i].name))
				break;
		if (j == n) {
			memset(&row, 0, sizeof(row));
			row.name = (char *)cf->repos[i].name;
			row.branch = (char *)cf->repos[i].branch;
		}
		if (!(o = view_repo(st, j < n ? &v[j] : &row,
				    cf->repos[i].url)))
			goto out;
		json_array_append_new(a, o);
	}
done:
	*out = json_pack("{s:o}", "repos", a);
	a = NULL;
	ret = 0;
out:
	json_decref(a);
	repo_rows_free(v, n);
	return ret;
}

int
view_tokens(struct json_t **out, struct store *st)
{
	struct token_row *v = NULL;
	size_t n = 0, i;
	json_t *a;

	*out = NULL;
	if (store_token_list(st, &v, &n) < 0)
		return -1;
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(
			a, json_pack("{s:o,s:s,s:I,s:o}", "name",
				     view_str(v[i].name), "role", v[i].role,
				     "created_at", (json_int_t)v[i].created_at,
				     "last_used_at",
				     view_int_or_null(v[i].last_used_at)));
	token_rows_free(v, n);
	*out = json_pack("{s:o}", "tokens", a);
	return 0;
}

json_t *
view_plan(const struct plan *p, const char *from, const char *to)
{
	static const enum plan_action order[] = {
		PLAN_ADDED, PLAN_REMOVED, PLAN_CHANGED,
	};
	static const char *const keys[] = { "added", "removed", "changed" };
	json_t *o = json_object(), *arr, *reasons = json_object();
	size_t i, k;

	json_object_set_new(o, "cascade", json_string(p->cascade));
	if (from)
		json_object_set_new(o, "from", json_string(from));
	if (to)
		json_object_set_new(o, "to", json_string(to));
	for (k = 0; k < ARRAY_SIZE(order); k++) {
		arr = json_array();
		for (i = 0; i < p->n; i++)
			if (p->v[i].action == order[k])
				json_array_append_new(
					arr, json_string(p->v[i].task));
		json_object_set_new(o, keys[k], arr);
	}
	arr = json_array();
	for (i = 0; i < p->n; i++)
		if (p->v[i].action == PLAN_ADDED ||
		    p->v[i].action == PLAN_CHANGED ||
		    p->v[i].action == PLAN_RESET)
			json_array_append_new(arr, json_string(p->v[i].task));
	json_object_set_new(o, "reset", arr);
	arr = json_array();
	for (i = 0; i < p->n; i++) {
		if (p->v[i].action == PLAN_UNCHANGED)
			json_array_append_new(arr, json_string(p->v[i].task));
		if (p->v[i].reason)
			json_object_set_new(reasons, p->v[i].task,
					    json_string(p->v[i].reason));
	}
	json_object_set_new(o, "unchanged", arr);
	json_object_set_new(o, "reasons", reasons);
	return o;
}
