/*
 * outputs.c - what a successful run leaves for scaffold: its stored files,
 * its stored env (binary-safe) and its .display, taken the same way by the
 * whole runner family.
 *
 * The order, the caps, the texts a user sees and what a failure leaves
 * are decided here once; a backend only says how it reaches the run's
 * files: local from the run dir it opens (collect.c), docker from the
 * engine's archive API, ssh over SFTP, swarm from the frame on the task's
 * log.  Store files first, in the task's order, then the store env, then
 * .display (whose absence or refusal is no error of the run).  The caps
 * count the bytes of the whole run.
 *
 * Backends that reach the run dir by path (ssh, docker) check each
 * directory on a store file's way with runner_outputs_walk() and the file
 * itself with runner_outputs_check(), so that the same task gets the same
 * message from either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner-int.h"

static void
free_parts(struct runner_file *files, size_t nfiles, struct runner_env *env,
	   size_t nenv, bool unlink_src)
{
	size_t i;

	for (i = 0; i < nfiles; i++) {
		if (unlink_src && files[i].src)
			unlink(files[i].src);
		free(files[i].path);
		free(files[i].src);
	}
	for (i = 0; i < nenv; i++) {
		free(env[i].name);
		free(env[i].value);
	}
	free(files);
	free(env);
}

/* The store env, in order.  0, RUNNER_OUT_FAILED or RUNNER_OUT_LOST. */
static int
collect_env(const struct runner_outputs *o, struct runner_env *env,
	    struct run_result *out)
{
	struct buf v = BUF_INIT;
	const char *name;
	size_t i;
	int r, ret = RUNNER_OUT_FAILED;

	for (i = 0; i < o->store_env->n; i++) {
		name = o->store_env->v[i];
		buf_reset(&v);
		r = o->env(o->arg, i, name, RUNNER_ENV_VALUE_MAX, &v);
		if (r == RUNNER_OUT_LOST) {
			ret = r;
			goto out;
		}
		if (r == ERR_NOTFOUND) {
			snprintf(out->message, sizeof(out->message),
				 "store env '%s' is not set", name);
			r = o->uncaptured ? o->uncaptured(o->arg) : 0;
			if (r == RUNNER_OUT_LOST) {
				ret = r;
				goto out;
			}
			if (r == 1)
				run_log_note(o->log,
					     "store env was not captured: "
					     "did the script replace the EXIT "
					     "trap and exit, or exec?");
			goto out;
		}
		if (r == ERR_TOOBIG) {
			snprintf(out->message, sizeof(out->message),
				 "store env '%s' is larger than 16M", name);
			goto out;
		}
		if (r < 0) {
			snprintf(out->message, sizeof(out->message), "%s",
				 err_msg());
			goto out;
		}
		env[i].name = xstrdup(name);
		env[i].len = v.len;
		env[i].value = buf_detach(&v, NULL);
	}
	ret = 0;
out:
	buf_release(&v);
	return ret;
}

int
runner_outputs_collect(const struct runner_outputs *o, struct run_result *out)
{
	size_t nf = o->store_files->n, ne = o->store_env->n, i, k;
	struct runner_file *files;
	struct runner_env *env;
	int64_t total = 0;
	int ret = 0;

	files = xcalloc(nf + 1, sizeof(*files));
	env = xcalloc(ne + 1, sizeof(*env));
	for (k = 0; k < nf; k++) {
		i = o->order ? o->order[k] : k;
		ret = o->file(o->arg, i, o->store_files->v[i], &total,
			      &files[i].src);
		if (ret == RUNNER_OUT_LOST)
			goto fail;
		if (ret < 0) {
			snprintf(out->message, sizeof(out->message), "%s",
				 err_msg());
			ret = RUNNER_OUT_FAILED;
			goto fail;
		}
		files[i].path = xstrdup(o->store_files->v[i]);
	}
	ret = collect_env(o, env, out);
	if (ret)
		goto fail;
	if (runner_display_wanted(o->store_files) && !o->no_display) {
		ret = o->file(o->arg, nf, RUN_DISPLAY_FILE, &total,
			      &files[nf].src);
		if (ret == RUNNER_OUT_LOST)
			goto fail;
		if (ret == 0) {
			files[nf].path = xstrdup(RUN_DISPLAY_FILE);
		} else {
			/* missing or refused: no error of the run */
			free(files[nf].src);
			files[nf].src = NULL;
			err_clear();
		}
		ret = 0;
	}
	out->files = files;
	out->nfiles = nf + (files[nf].path != NULL);
	out->env = env;
	out->nenv = ne;
	return 0;
fail:
	free_parts(files, nf + 1, env, ne, o->unlink_on_fail);
	return ret;
}

static int
missing(const char *name)
{
	struct buf e = BUF_INIT;

	err_set("store file '%s' was not created", runner_esc(&e, name));
	buf_release(&e);
	return ERR_NOTFOUND;
}

static int
not_regular(const char *name)
{
	struct buf e = BUF_INIT;

	err_set("store file '%s' is not a regular file", runner_esc(&e, name));
	buf_release(&e);
	return ERR_INVALID;
}

int
runner_outputs_walk(const char *name, runner_path_fn kind, void *arg)
{
	struct buf np = BUF_INIT, rel = BUF_INIT, e = BUF_INIT;
	enum runner_path_kind k;
	const char *p;
	int ret = 0;

	runner_norm_path(&np, name);
	for (p = strchr(np.ptr, '/'); p; p = strchr(p + 1, '/')) {
		buf_reset(&rel);
		buf_add(&rel, np.ptr, (size_t)(p - np.ptr));
		ret = kind(arg, rel.ptr, &k);
		if (ret < 0)
			goto out;
		if (k == RUNNER_PATH_UNKNOWN) {
			ret = not_regular(name);
			goto out;
		}
		if (k == RUNNER_PATH_LINK) {
			ret = err_set("store file '%s' is behind a symlink "
				      "('%s')",
				      runner_esc(&e, name), rel.ptr);
			ret = ERR_INVALID;
			goto out;
		}
		if (k != RUNNER_PATH_DIR) {
			ret = missing(name);
			goto out;
		}
	}
out:
	buf_release(&np);
	buf_release(&rel);
	buf_release(&e);
	return ret;
}

int
runner_outputs_check(const char *name, enum runner_path_kind k, int64_t size,
		     int64_t run_before)
{
	struct buf e = BUF_INIT;
	int ret = 0;

	switch (k) {
	case RUNNER_PATH_MISSING:
		return missing(name);
	case RUNNER_PATH_LINK:
		err_set("store file '%s' is a symlink", runner_esc(&e, name));
		ret = ERR_INVALID;
		break;
	case RUNNER_PATH_FILE:
		if (size >= 0)
			ret = runner_store_cap_check(
			    name, size > INT64_MAX / 2 ? INT64_MAX / 2 : size,
			    run_before);
		break;
	default:
		return not_regular(name);
	}
	buf_release(&e);
	return ret;
}
