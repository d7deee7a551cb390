/* runner.c - the table of runner backends, picked by name. */
#include <stdlib.h>
#include <string.h>

#include "runner-int.h"

const char *const run_outcome_names[4] = {
	[RUN_SUCCESS] = "success",
	[RUN_ERROR] = "error",
	[RUN_KILLED] = "killed",
	[RUN_LOST] = "lost",
};

static const struct runner_ops *const backends[] = {
	&runner_local,
	&runner_docker,
	&runner_ssh,
};

const struct runner_ops *
runner_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

void
run_result_release(struct run_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nenv; i++) {
		free(r->env[i].name);
		free(r->env[i].value);
	}
	free(r->env);
	for (i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].src);
	}
	free(r->files);
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
}

bool
runner_display_wanted(const struct strvec *store_files)
{
	size_t i;

	for (i = 0; i < store_files->n; i++)
		if (!strcmp(store_files->v[i], RUN_DISPLAY_FILE))
			return false;
	return true;
}

/* Helpers shared by the backends (runner-int.h). */

const char *
runner_esc(struct buf *b, const char *s)
{
	buf_reset(b);
	escape_log(b, s, strlen(s));
	return b->ptr;
}

bool
runner_valid_env_name(const char *s)
{
	if (!s || !((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/*
 * A path inside the run dir: relative, no "..", naming a file (not ending
 * in "/" or "."); empty and "." segments are allowed and skipped.
 */
bool
runner_valid_rel_path(const char *p)
{
	const char *seg;
	size_t l;

	if (!p || !*p || *p == '/')
		return false;
	for (seg = p;; seg += l + 1) {
		l = strcspn(seg, "/");
		if (l == 2 && seg[0] == '.' && seg[1] == '.')
			return false;
		if (!seg[l])
			return l && !(l == 1 && seg[0] == '.');
	}
}

/* A valid relative path without its empty and "." segments: "a/b". */
void
runner_norm_path(struct buf *out, const char *p)
{
	size_t l;

	buf_reset(out);
	for (;; p += l + 1) {
		l = strcspn(p, "/");
		if (l && !(l == 1 && p[0] == '.')) {
			if (out->len)
				buf_putc(out, '/');
			buf_add(out, p, l);
		}
		if (!p[l])
			break;
	}
}

/* Append s (len bytes) as one single-quoted shell word. */
void
runner_sh_quote(struct buf *b, const char *s, size_t len)
{
	size_t i;

	buf_putc(b, '\'');
	for (i = 0; i < len; i++) {
		if (s[i] == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, s[i]);
	}
	buf_putc(b, '\'');
}
