/*
 * api-cascades.c - the API on cascades: their tasks and states, plans
 * between two commits of the mirror, running a task by hand, inputs and
 * the file store.  Password values never leave; every change wakes the
 * daemon's executor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-int.h"
#include "../gitsync/gitsync.h"

int
api_cascade(struct req *r, struct cascade_row *out)
{
	struct store *st = req_store(r);
	const char *repo = r->params[0], *name = r->params[1];
	struct buf spec = BUF_INIT;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st || api_params_ok(r) < 0)
		return -1;
	if (!strcmp(repo, "-")) {
		buf_puts(&spec, name);
		ret = store_cascade_find(st, "", name, out);
		if (ret == ERR_NOTFOUND)
			err_set("no cascade '%s'", name);
	} else {
		buf_addf(&spec, "%s/%s", repo, name);
		ret = store_cascade_lookup(st, spec.ptr, out);
	}
	if (ret == 0 && !out->active) {
		err_set("cascade '%s' is no longer active (its file was "
			"removed)",
			spec.ptr);
		cascade_row_release(out);
		ret = ERR_NOTFOUND;
	}
	if (ret < 0)
		api_reply_err(r, ret);
	buf_release(&spec);
	return ret;
}

void
api_cascades(struct req *r)
{
	struct store *st = req_store(r);
	json_t *v;

	if (!st)
		return;
	if (view_cascades(&v, st, req_sched(r), NULL, 0) < 0) {
		api_reply_err(r, -1);
		return;
	}
	reply_json(r, 200, v);
}

static void
reply_cascade(struct req *r, struct cascade_row *c)
{
	json_t *v;

	if (view_cascade(&v, req_store(r), req_sched(r), c) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
}

/* GET /api/v1/cascades/{cascade}: by name, when one repo has it active. */
void
api_cascade_by_name(struct req *r)
{
	struct store *st = req_store(r);
	struct cascade_row c;
	int ret;

	if (!st || api_params_ok(r) < 0)
		return;
	ret = store_cascade_lookup(st, r->params[0], &c);
	if (ret == 0 && !c.active) {
		err_set("cascade '%s' is no longer active (its file was "
			"removed)",
			r->params[0]);
		cascade_row_release(&c);
		ret = ERR_NOTFOUND;
	}
	if (ret < 0) {
		api_reply_err(r, ret);
		return;
	}
	reply_cascade(r, &c);
	cascade_row_release(&c);
}

void
api_cascade_get(struct req *r)
{
	struct cascade_row c;

	if (api_cascade(r, &c) < 0)
		return;
	reply_cascade(r, &c);
	cascade_row_release(&c);
}

/* ---- plan ---- */

static int
is_commit_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return !s[n] && n >= 4 && n <= 40;
}

/*
 * The definition of cascade name at commit: *out NULL when no file there
 * defines it.  -1 with the reply set when the commit cannot be read, or
 * when a file that may define it is invalid (422 with its errors).
 */
static int
cascade_at(struct req *r, const char *mirror, const char *repo,
	   const struct repo_config *rc, const char *which, const char *commit,
	   const char *name, struct cascade **out)
{
	struct cascade_file *files = NULL;
	struct diags diags = DIAGS_INIT;
	struct buf errs = BUF_INIT;
	size_t nfiles = 0, i, bad = 0;
	struct cascade *c;
	int ret;

	*out = NULL;
	ret = mirror_read_cascades(mirror, commit, rc->path,
				   CASCADE_MAX_FILE_SIZE, &files, &nfiles);
	if (ret == ERR_NOTFOUND) {
		reply_error(r, 400, "%s: commit '%s' is not in the mirror of "
				    "repo '%s'",
			    which, commit, repo);
		goto out;
	}
	if (ret == ERR_INVALID) {
		reply_error(r, 400, "%s: commit id '%s' is ambiguous in repo "
				    "'%s'",
			    which, commit, repo);
		goto out;
	}
	if (ret < 0) {
		reply_error(r, 500, "%s", err_msg());
		goto out;
	}
	ret = 0;
	for (i = 0; i < nfiles && !*out; i++) {
		c = NULL;
		if (!files[i].data) {
			diags_add(&diags, DIAG_ERROR, files[i].path,
				  (struct pos){ 0, 0 }, "%s", files[i].error);
			bad++;
			continue;
		}
		if (cascade_load(&c, files[i].path, files[i].data, files[i].len,
				 0, &diags) < 0) {
			bad++;
			continue;
		}
		if (!strcmp(c->name, name))
			*out = c;
		else
			cascade_free(c);
	}
	if (!*out && bad) {
		/* the invalid file may be the one that defines it */
		diags_sort(&diags);
		for (i = 0; i < diags.n; i++)
			if (diags.v[i].sev != DIAG_ERROR)
				continue;
			else if (diags.v[i].pos.line)
				buf_addf(&errs, "%s%s:%d:%d: %s",
					 errs.len ? "; " : "", diags.v[i].file,
					 diags.v[i].pos.line,
					 diags.v[i].pos.col, diags.v[i].msg);
			else
				buf_addf(&errs, "%s%s: %s",
					 errs.len ? "; " : "", diags.v[i].file,
					 diags.v[i].msg);
		reply_error(r, 422, "%s: repo '%s' at '%s' has invalid cascade "
				    "files: %s",
			    which, repo, commit, errs.ptr);
		ret = -1;
	}
out:
	if (ret < 0 && !r->done)
		reply_error(r, 500, "%s", err_msg());
	diags_release(&diags);
	buf_release(&errs);
	cascade_files_free(files, nfiles);
	return r->done ? -1 : 0;
}


/*
 * GET .../plan?from=SHA&to=SHA: which tasks going from one commit to the
 * other would reset, and why (the same as `scaffold plan -o json` on the
 * two versions of the file).
 */
void
api_cascade_plan(struct req *r)
{
	const char *repo = r->params[0], *name = r->params[1];
	const char *from = req_query(r, "from"), *to = req_query(r, "to");
	const struct repo_config *rc = config_repo(r->cf, repo);
	struct cascade *old = NULL, *new = NULL;
	struct buf mirror = BUF_INIT;
	struct plan plan;
	struct stat sb;
	size_t i;
	int gated = 0;

	if (api_params_ok(r) < 0)
		goto out;
	if (!from || !to) {
		reply_error(r, 400, "a plan needs the query parameters "
				    "from=SHA and to=SHA");
		goto out;
	}
	if (!is_commit_id(from) || !is_commit_id(to)) {
		reply_error(r, 400, "%s: '%s' is not a commit id (use 4 to 40 "
				    "hex digits)",
			    is_commit_id(from) ? "to" : "from",
			    api_text(is_commit_id(from) ? to : from));
		goto out;
	}
	if (!rc) {
		reply_error(r, 404, "no repo '%s' in the config", repo);
		goto out;
	}
	buf_addf(&mirror, "%s/mirrors/%s.git", r->cf->data_dir, rc->name);
	if (stat(mirror.ptr, &sb) < 0) {
		reply_error(r, 409, "repo '%s' has not been fetched yet", repo);
		goto out;
	}
	/* each side may read up to CASCADE_FILES_BUDGET files' worth */
	if (plan_gate_enter(r->srv) < 0) {
		reply_error(r, 503, "%s", err_msg());
		goto out;
	}
	gated = 1;
	if (cascade_at(r, mirror.ptr, repo, rc, "from", from, name, &old) < 0 ||
	    cascade_at(r, mirror.ptr, repo, rc, "to", to, name, &new) < 0)
		goto out;
	if (!old && !new) {
		reply_error(r, 404, "cascade '%s' is in repo '%s' neither at "
				    "'%s' nor at '%s'",
			    name, repo, from, to);
		goto out;
	}
	if (new) {
		plan_compute(&plan, old, new, NULL, NULL);
	} else {
		/* removed at 'to': every task goes with it */
		plan_compute(&plan, NULL, old, NULL, NULL);
		for (i = 0; i < plan.n; i++) {
			free(plan.v[i].reason);
			plan.v[i].action = PLAN_REMOVED;
			plan.v[i].reason =
				xstrdup("the cascade file is removed");
		}
		memset(plan.count, 0, sizeof(plan.count));
		plan.count[PLAN_REMOVED] = plan.n;
	}
	reply_json(r, 200, view_plan(&plan, from, to));
	plan_release(&plan);
out:
	if (gated)
		plan_gate_leave(r->srv);
	cascade_free(old);
	cascade_free(new);
	buf_release(&mirror);
}

/* ---- running a task by hand ---- */

/* A boolean query parameter: 0, 1, or -1 with a 400 reply. */
static int
query_flag(struct req *r, const char *name)
{
	const char *v = req_query(r, name);

	if (!v || !strcmp(v, "0") || !strcmp(v, "false"))
		return 0;
	if (!*v || !strcmp(v, "1") || !strcmp(v, "true"))
		return 1;
	reply_error(r, 400, "query parameter %s takes 1 or 0, not '%s'", name,
		    api_text(v));
	return -1;
}

void
api_task_run(struct req *r)
{
	struct sched *s = req_sched(r);
	struct cascade_row c;
	int force, ret;

	if (!s || (force = query_flag(r, "force")) < 0 ||
	    api_cascade(r, &c) < 0)
		return;
	ret = sched_trigger(s, c.repo, c.name, r->params[2], force, NULL);
	if (ret < 0) {
		api_reply_err(r, ret);
	} else {
		reply_json(r, 202,
			   json_pack("{s:o,s:s,s:s,s:s,s:b}", "repo",
				     c.repo[0] ? json_string(c.repo)
					       : json_null(),
				     "cascade", c.name, "task", r->params[2],
				     "state", "waiting", "forced", force));
		api_wake(r);
	}
	cascade_row_release(&c);
}

/* ---- inputs ---- */

static void
reply_inputs(struct req *r, const char *only)
{
	struct cascade_row c;
	json_t *v;
	int ret;

	if (!req_sched(r) || api_cascade(r, &c) < 0)
		return;
	ret = view_inputs(&v, req_store(r), req_sched(r), &c, only);
	if (ret < 0)
		api_reply_err(r, ret);
	else
		reply_json(r, 200, v);
	cascade_row_release(&c);
}

void
api_inputs(struct req *r)
{
	reply_inputs(r, NULL);
}

void
api_input_get(struct req *r)
{
	reply_inputs(r, r->params[2]);
}

/*
 * PUT .../inputs/{name} with {"value": "..."}: the tasks that map it, and
 * their descendants, reset.  The answer shows the input as GET does (a
 * password's value never) and the reset report.
 */
void
api_input_put(struct req *r)
{
	static const char *const keys[] = { "value", NULL };
	struct sched *s = req_sched(r);
	struct buf report = BUF_INIT;
	struct cascade_row c;
	json_t *body = NULL, *value, *v;
	int ret;

	memset(&c, 0, sizeof(c));
	if (!s || api_cascade(r, &c) < 0 ||
	    api_body_object(r, keys, &body) < 0)
		goto out;
	value = json_object_get(body, "value");
	if (!json_is_string(value)) {
		reply_error(r, 400, "the body must be {\"value\": \"...\"} "
				    "with the value as a string");
		goto out;
	}
	ret = sched_input_set(s, c.repo, c.name, r->params[2],
			      json_string_value(value),
			      json_string_length(value), &report);
	if (ret < 0) {
		api_reply_err(r, ret);
		goto out;
	}
	api_wake(r);
	if (view_inputs(&v, req_store(r), s, &c, r->params[2]) < 0) {
		api_reply_err(r, -1);
		goto out;
	}
	json_object_set_new(v, "report", json_string(report.ptr));
	reply_json(r, 200, v);
out:
	if (body) {
		/* the value may be a password: leave no copy behind */
		value = json_object_get(body, "value");
		if (json_is_string(value))
			memset((char *)json_string_value(value), 0,
			       json_string_length(value));
		json_decref(body);
	}
	if (r->body.len)
		memset(r->body.ptr, 0, r->body.len);
	buf_release(&report);
	cascade_row_release(&c);
}

/* ---- the file store ---- */

void
api_files(struct req *r)
{
	struct cascade_row c;
	json_t *v;

	if (api_cascade(r, &c) < 0)
		return;
	if (view_files(&v, req_store(r), &c) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
	cascade_row_release(&c);
}

/* The name in the URL, checked; -1 with a 400 reply. */
static int
file_name(struct req *r, const char **out)
{
	int ret;

	*out = r->params[2];
	if (api_params_ok(r) < 0)
		return -1;
	if ((ret = store_file_name_check(r->params[2])) < 0)
		reply_error(r, 400, "%s", err_msg());
	return ret;
}

static int
file_row(struct req *r, const struct cascade_row *c, const char *name,
	 struct file_row *out)
{
	int ret = store_file_get(req_store(r), c->id, name, out);

	if (ret == ERR_NOTFOUND)
		reply_error(r, 404, "cascade '%s' has no file '%s' in its file "
				    "store",
			    c->name, name);
	else if (ret < 0)
		api_reply_err(r, ret);
	return ret;
}

/* GET .../files/{name}: the bytes, as uploaded. */
void
api_file_get(struct req *r)
{
	struct cascade_row c;
	struct file_row f;
	struct buf path = BUF_INIT;
	struct MHD_Response *resp;
	const char *name;
	struct stat sb;
	int fd = -1;

	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	if (file_name(r, &name) < 0 || api_cascade(r, &c) < 0 ||
	    file_row(r, &c, name, &f) < 0)
		goto out;
	store_blob_path(req_store(r), f.blob, &path);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		reply_error(r, 500, "file '%s' of cascade '%s': cannot read "
				    "its content: %s",
			    name, c.name, strerror(errno));
		goto out;
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		reply_error(r, 500, "cannot answer with file '%s'", name);
		goto out;
	}
	fd = -1; /* the response owns it */
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/octet-stream");
	r->resp = resp;
	r->code = 200;
	r->done = 1;
out:
	if (fd >= 0)
		close(fd);
	free(f.name);
	buf_release(&path);
	cascade_row_release(&c);
}

/* PUT .../files/{name}: the raw body, streamed to a file of the data dir
 * and hashed as it came (http.c), becomes the file's blob, renamed into
 * place (201 new, 200 replaced). */
void
api_file_put(struct req *r)
{
	struct sched *s = req_sched(r);
	struct cascade_row c;
	struct file_row f;
	struct buf report = BUF_INIT;
	char blob[SHA256_HEX_LEN + 1];
	int64_t size = 0;
	const char *name;
	int created = 0;
	json_t *v;

	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	if (!s || file_name(r, &name) < 0 || api_cascade(r, &c) < 0)
		goto out;
	if (req_upload_store(r, blob, &size) < 0 ||
	    sched_file_put(s, c.id, name, blob, size, &f, &created,
			   &report) < 0) {
		api_reply_err(r, -1);
		goto out;
	}
	v = view_file(&f);
	json_object_set_new(v, "report", json_string(report.ptr));
	reply_json(r, created ? 201 : 200, v);
	api_wake(r);
out:
	free(f.name);
	buf_release(&report);
	cascade_row_release(&c);
}

void
api_file_delete(struct req *r)
{
	struct sched *s = req_sched(r);
	struct buf report = BUF_INIT;
	struct cascade_row c;
	const char *name;
	int ret;

	if (!s || file_name(r, &name) < 0 || api_cascade(r, &c) < 0)
		return;
	ret = sched_file_delete(s, c.id, name, &report);
	if (ret == ERR_NOTFOUND)
		reply_error(r, 404, "cascade '%s' has no file '%s' in its file "
				    "store",
			    c.name, name);
	else if (ret < 0)
		api_reply_err(r, ret);
	else {
		reply_json(r, 200, json_pack("{s:s,s:b,s:s}", "name", name,
					     "deleted", 1, "report",
					     report.ptr));
		api_wake(r);
	}
	buf_release(&report);
	cascade_row_release(&c);
}
