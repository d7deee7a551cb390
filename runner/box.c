/*
 * box.c - the run's contract inside a container, shared by the runners
 * that run a task in one (docker, swarm): the environment, the wrapper
 * that sources the script and records its exit and store env, and the
 * boot command that sets the run dir up without an archive.
 *
 *	/tmp/run		the run dir: cwd, $SCAFFOLD_RUN_DIR
 *	/tmp/.scaffold/script	the task's script, byte for byte
 *	/tmp/.scaffold/wrapper.sh
 *	/tmp/.scaffold/exit, env/NAME	written by the wrapper
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "box.h"

/* A name and a value from the spec (not copied). */
struct env_ref {
	const char *name;
	const char *value;
	size_t len;
};

/* Set name in v, replacing an earlier one: later entries win. */
static void
env_put(struct env_ref **v, size_t *n, size_t *alloc, const char *name,
	const char *value, size_t len)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (!strcmp((*v)[i].name, name)) {
			(*v)[i].value = value;
			(*v)[i].len = len;
			return;
		}
	}
	*v = xgrow(*v, sizeof(**v), *n + 1, alloc);
	(*v)[*n].name = name;
	(*v)[*n].value = value;
	(*v)[*n].len = len;
	(*n)++;
}

/*
 * The environment: values that are UTF-8 go in the container's Env (a
 * JSON array); the others (JSON cannot carry them) are exported by the
 * wrapper, single-quoted, which keeps every byte.
 */
int
box_env(json_t *arr, struct buf *exports, const struct run_spec *spec)
{
	struct env_ref *v = NULL;
	struct buf kv = BUF_INIT, e = BUF_INIT;
	size_t i, n = 0, alloc = 0;
	json_t *s;
	int ret = -1;

	for (i = 0; i < spec->nenv; i++) {
		const struct runner_env *x = &spec->env[i];

		if (!x->name || !*x->name || strchr(x->name, '=')) {
			err_set("env '%s': not a valid variable name",
				x->name ? runner_esc(&e, x->name) : "");
			goto out;
		}
		if (x->len && (!x->value || memchr(x->value, '\0', x->len))) {
			err_set("env '%s': the value holds a NUL byte",
				runner_esc(&e, x->name));
			goto out;
		}
		env_put(&v, &n, &alloc, x->name, x->len ? x->value : "",
			x->len);
	}
	env_put(&v, &n, &alloc, "SCAFFOLD_RUN_DIR", BOX_RUN_DIR, strlen(BOX_RUN_DIR));
	for (i = 0; i < n; i++) {
		buf_reset(&kv);
		buf_puts(&kv, v[i].name);
		buf_putc(&kv, '=');
		buf_add(&kv, v[i].value, v[i].len);
		s = json_stringn(kv.ptr, kv.len);
		if (s) {
			json_array_append_new(arr, s);
			continue;
		}
		if (!runner_valid_env_name(v[i].name)) {
			err_set("env '%s': the value is not UTF-8 and the name "
				"is not a shell variable name",
				runner_esc(&e, v[i].name));
			goto out;
		}
		buf_addf(exports, "export %s=", v[i].name);
		runner_sh_quote(exports, v[i].value, v[i].len);
		buf_putc(exports, '\n');
	}
	ret = 0;
out:
	free(v);
	buf_release(&kv);
	buf_release(&e);
	return ret;
}

/*
 * The wrapper: exports what Env cannot carry, sources the script in this
 * shell; when the shell leaves (exit, set -e, end of the script) records
 * the status and, on success, the store env, one file per name, written
 * with printf so that every byte is kept.  The end also runs by hand after
 * the script, for scripts that replace the EXIT trap but end normally.
 */
void
box_wrapper(struct buf *w, const struct strvec *store_env,
	    const struct buf *exports, const char *epilogue)
{
	size_t i;
	const char *n;

	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# its exit status and, on success, the store env.\n");
	buf_add(w, exports->ptr, exports->len);
	buf_puts(w, "__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tumask 077\n"
		    "\tcommand printf '%s\\n' \"$1\" >" BOX_META_DIR "/exit\n"
		    "\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < store_env->n; i++) {
		n = store_env->v[i];
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >" BOX_META_DIR
			 "/env/%s; fi\n",
			 n, n, n);
	}
	buf_puts(w, "\tfi\n");
	if (epilogue)
		buf_puts(w, epilogue);
	buf_puts(w, "}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". " BOX_META_DIR "/script\n"
		    "__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
}


/*
 * The boot: makes the dirs, writes $1 (wrapper) and $2 (script), enters
 * the run dir, runs prep, then the wrapper.
 */
#define BOOT_HEAD                                                        \
	"mkdir -p " BOX_RUN_DIR " " BOX_META_DIR "/env && "              \
	"chmod 777 " BOX_RUN_DIR " " BOX_META_DIR " " BOX_META_DIR        \
	"/env && printf %s \"$1\" >" BOX_META_DIR "/wrapper.sh && "       \
	"printf %s \"$2\" >" BOX_META_DIR "/script && cd " BOX_RUN_DIR    \
	" && "
#define BOOT_TAIL "exec /bin/sh -e " BOX_META_DIR "/wrapper.sh"

bool
box_utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

bool
box_boot_fits(const char *s, size_t len)
{
	json_t *j;

	if (len > BOX_BOOT_ARG_MAX || memchr(s, '\0', len))
		return false;
	j = json_stringn(s, len);
	json_decref(j);
	return j != NULL;
}

json_t *
box_boot_cmd(const char *wrapper, size_t wlen, const char *script,
	     size_t slen, const char *prep)
{
	json_t *a = json_array();
	struct buf b = BUF_INIT;

	buf_puts(&b, BOOT_HEAD);
	if (prep)
		buf_puts(&b, prep);
	buf_puts(&b, BOOT_TAIL);
	json_array_append_new(a, json_string("/bin/sh"));
	json_array_append_new(a, json_string("-c"));
	json_array_append_new(a, json_string(b.ptr));
	json_array_append_new(a, json_string("scaffold"));
	json_array_append_new(a, json_stringn(wrapper, wlen));
	json_array_append_new(a, json_stringn(script, slen));
	buf_release(&b);
	return a;
}

int
box_spec_check(const struct run_spec *spec)
{
	struct buf e = BUF_INIT;
	int ret = ERR_INVALID;

	if (!spec->script || !spec->image || !*spec->image) {
		ret = err_set("run %lld: no script or no image",
			      (long long)spec->run_id);
		goto out;
	}
	if (!box_utf8_ok(spec->image) || strchr(spec->image, '\n')) {
		err_set("image '%s' is not a valid image name",
			runner_esc(&e, spec->image));
		goto out;
	}
	ret = runner_spec_files(spec);
out:
	buf_release(&e);
	return ret;
}

int
box_handle_init(const struct run_spec *spec, struct run_log *log,
		struct strvec *store_files, struct strvec *store_env,
		char **run_dir, int *kill_fd)
{
	struct buf p = BUF_INIT;
	int ret;

	*kill_fd = -1;
	run_log_init(log, spec);
	if (!spec->work_dir)
		return err_set("run %lld: no work dir",
			       (long long)spec->run_id);
	if ((ret = runner_spec_stores(spec, store_files, store_env)) < 0)
		return ret;
	buf_addf(&p, "%s/run", spec->work_dir);
	*run_dir = buf_detach(&p, NULL);
	return runner_kill_fd_new(kill_fd);
}

void
box_handle_release(struct run_log *log, struct strvec *store_files,
		   struct strvec *store_env, char **run_dir, int *kill_fd)
{
	if (*kill_fd >= 0)
		close(*kill_fd);
	*kill_fd = -1;
	masker_free(log->masker);
	log->masker = NULL;
	strvec_clear(store_files);
	strvec_clear(store_env);
	free(*run_dir);
	*run_dir = NULL;
}

int
box_prepare(const struct run_spec *spec, json_t *env, struct buf *exports,
	    struct buf *w)
{
	int ret;

	if ((ret = box_spec_check(spec)) < 0)
		return ret;
	if (box_env(env, exports, spec) < 0)
		return ERR_INVALID;
	runner_umask_line(w, spec, NULL);
	return 0;
}
