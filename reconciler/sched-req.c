/*
 * sched-req.c - what a run needs, gathered from the store for a runner:
 * its environment (SCAFFOLD_*, env, mapped inputs, loaded env), its loaded
 * files, the secrets to mask.  Shared by task runs and drift probes.
 */
#include <stdlib.h>
#include <string.h>

#include "sched-int.h"

void
push_env(struct run_req *r, size_t *alloc, const char *name,
	 const char *value, size_t len)
{
	size_t i;

	/* later entries win: replace an earlier one of the same name */
	for (i = 0; i < r->nenv; i++) {
		if (!strcmp(r->env[i].name, name)) {
			free(r->env[i].value);
			r->env[i].value = xstrndup(value, len);
			r->env[i].len = len;
			return;
		}
	}
	GROW(r->env, r->nenv + 1, *alloc);
	r->env[r->nenv].name = xstrdup(name);
	r->env[r->nenv].value = xstrndup(value, len);
	r->env[r->nenv].len = len;
	r->nenv++;
}

void
run_req_free(struct run_req *r)
{
	size_t i;

	if (!r)
		return;
	free(r->repo);
	free(r->cascade);
	free(r->task);
	free(r->revision);
	free(r->runner);
	free(r->image);
	free(r->host);
	strvec_clear(&r->placement);
	free(r->script);
	free(r->umask);
	env_vars_free(r->env, r->nenv);
	for (i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].src);
	}
	free(r->files);
	strvec_clear(&r->store_files);
	strvec_clear(&r->store_env);
	env_vars_free(r->secrets, r->nsecrets);
	free(r->log_path);
	free(r->work_dir);
	free(r);
}

/*
 * The nearest ancestor of t that stores name and has a successful run
 * (parents t needs to fail have no stores).  *out_run is that run.
 */
static int
find_provider(struct sched *s, const struct cascade *c, int64_t cascade_id,
	      const struct task *t, const char *name, int env,
	      int64_t *out_run)
{
	size_t n = c->ntasks, head = 0, tail = 0, i, j, v, w;
	size_t *queue = xmalloc(n * sizeof(*queue));
	unsigned char *seen = xcalloc(n, 1);
	struct task_row row;
	const struct name_list *l;
	int found = 0, ret = 0;

	*out_run = 0;
	queue[tail++] = cascade_task_index(c, t);
	seen[queue[0]] = 1;
	while (head < tail && !found) {
		v = queue[head++];
		for (i = 0; i < c->tasks[v].ndeps && !found; i++) {
			w = c->tasks[v].deps[i].task;
			if (seen[w])
				continue;
			seen[w] = 1;
			queue[tail++] = w;
			if (c->tasks[v].deps[i].kind == DEP_ERROR)
				continue;
			l = env ? &c->tasks[w].store_env
				: &c->tasks[w].store_file;
			for (j = 0; j < l->n; j++)
				if (!strcmp(l->v[j].name, name))
					break;
			if (j == l->n)
				continue;
			ret = store_task_find(s->st, cascade_id,
					      c->tasks[w].name, &row);
			if (ret == ERR_NOTFOUND)
				continue;
			if (ret < 0)
				goto out;
			ret = store_run_last_success(s->st, row.id, out_run);
			free(row.name);
			if (ret == 0)
				found = 1;
			else if (ret != ERR_NOTFOUND)
				goto out;
		}
	}
	ret = found ? 0 : ERR_NOTFOUND;
out:
	free(queue);
	free(seen);
	return ret;
}

/*
 * Everything a runner needs for task t.  On a problem that stops the run
 * (an input without value, a load nothing satisfies) returns ERR_INVALID
 * with the reason in err_msg().
 */
int
build_req(struct sched *s, const struct cascade *c, const char *repo,
	  int64_t cascade_id, const char *revision, const struct task *t,
	  const char *host, struct run_req *r)
{
	struct buf v = BUF_INIT, path = BUF_INIT;
	const struct input *in;
	size_t i, alloc = 0, falloc = 0;
	int64_t prov;
	char blob[SHA256_HEX_LEN + 1];
	int ret = 0;

	r->repo = xstrdup(repo ? repo : "");
	r->cascade = xstrdup(c->name);
	r->task = xstrdup(t->name);
	r->revision = xstrdup(revision ? revision : "");
	r->runner = xstrdup(t->runner);
	r->image = t->image ? xstrdup(t->image) : NULL;
	r->host = host ? xstrdup(host) : NULL;
	for (i = 0; i < t->placement.n; i++)
		strvec_push(&r->placement, t->placement.v[i].name);
	r->nano_cpus = t->nano_cpus;
	r->memory_bytes = t->memory_bytes;
	r->timeout_ms = t->timeout_ms;
	r->script = xstrndup(t->run, t->run_len);
	r->umask = t->umask ? xstrdup(t->umask) : NULL;
	r->script_len = t->run_len;

	push_env(r, &alloc, "SCAFFOLD_CASCADE", c->name, strlen(c->name));
	push_env(r, &alloc, "SCAFFOLD_TASK", t->name, strlen(t->name));
	buf_addf(&v, "%lld", (long long)r->run_id);
	push_env(r, &alloc, "SCAFFOLD_RUN_ID", v.ptr, v.len);
	push_env(r, &alloc, "SCAFFOLD_REVISION", r->revision,
		 strlen(r->revision));
	buf_reset(&v);
	buf_addf(&v, "%d", r->attempt);
	push_env(r, &alloc, "SCAFFOLD_ATTEMPT", v.ptr, v.len);
	if (r->host)
		push_env(r, &alloc, "SCAFFOLD_HOST", r->host, strlen(r->host));
	for (i = 0; i < t->nenv; i++)
		push_env(r, &alloc, t->env[i].key, t->env[i].value,
			 t->env[i].value_len);
	for (i = 0; i < t->ninputs; i++) {
		in = cascade_input(c, t->inputs[i].value);
		buf_reset(&v);
		ret = in ? input_value(s, cascade_id, in, &v) : ERR_NOTFOUND;
		if (ret == ERR_NOTFOUND) {
			ret = err_set("input '%s' has no value; set it with "
				      "'scaffold input set %s %s VALUE'",
				      t->inputs[i].value, c->name,
				      t->inputs[i].value);
			ret = ERR_INVALID;
			goto out;
		}
		if (ret < 0)
			goto out;
		push_env(r, &alloc, t->inputs[i].key, v.ptr, v.len);
	}
	for (i = 0; i < t->load_env.n; i++) {
		const char *name = t->load_env.v[i].name;

		ret = find_provider(s, c, cascade_id, t, name, 1, &prov);
		if (ret == 0) {
			buf_reset(&v);
			ret = store_run_env_get(s->st, prov, name, &v);
		}
		if (ret == ERR_NOTFOUND) {
			err_set("load env '%s': no task it depends on has "
				"stored it",
				name);
			ret = ERR_INVALID;
			goto out;
		}
		if (ret < 0)
			goto out;
		push_env(r, &alloc, name, v.ptr, v.len);
	}
	for (i = 0; i < t->load_file.n; i++) {
		const char *name = t->load_file.v[i].name;

		ret = find_provider(s, c, cascade_id, t, name, 0, &prov);
		if (ret == 0)
			ret = store_run_file_get(s->st, prov, name, blob);
		if (ret == ERR_NOTFOUND) {
			/* no ancestor stores it: the cascade's file store */
			struct file_row fr;

			ret = store_file_get(s->st, cascade_id, name, &fr);
			if (ret == 0) {
				memcpy(blob, fr.blob, sizeof(blob));
				free(fr.name);
			}
		}
		if (ret == ERR_NOTFOUND) {
			err_set("load file '%s': no task it depends on has "
				"stored it, and the cascade's file store does "
				"not have it",
				name);
			ret = ERR_INVALID;
			goto out;
		}
		if (ret < 0)
			goto out;
		buf_reset(&path);
		store_blob_path(s->st, blob, &path);
		GROW(r->files, r->nfiles + 1, falloc);
		r->files[r->nfiles].path = xstrdup(name);
		r->files[r->nfiles].src = buf_detach(&path, NULL);
		r->nfiles++;
	}
	for (i = 0; i < t->store_file.n; i++)
		strvec_push(&r->store_files, t->store_file.v[i].name);
	for (i = 0; i < t->store_env.n; i++)
		strvec_push(&r->store_env, t->store_env.v[i].name);
	if ((ret = cascade_secrets(s, cascade_id, c, &r->secrets,
				   &r->nsecrets)) < 0)
		goto out;
	buf_reset(&path);
	store_log_path(s->st, r->run_id, &path);
	r->log_path = buf_detach(&path, NULL);
	store_run_dir(s->st, r->run_id, &path);
	r->work_dir = buf_detach(&path, NULL);
	ret = 0;
out:
	if (v.len)
		memset(v.ptr, 0, v.len);
	buf_release(&v);
	buf_release(&path);
	return ret;
}

