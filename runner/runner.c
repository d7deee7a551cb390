/* runner.c - the table of runner backends, picked by name. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int
runner_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
run_log_emit(struct run_log *l, const struct buf *b)
{
	if (!b->len || l->fd < 0 || l->failed)
		return;
	if (runner_write_all(l->fd, b->ptr, b->len) < 0) {
		log_warn("runner: run %lld: cannot write the log",
			 (long long)l->run_id);
		l->failed = true;
	}
}

void
run_log_output(struct run_log *l, const char *data, size_t len)
{
	struct buf b = BUF_INIT;

	if (!len)
		return;
	masker_feed(l->masker, data, len, &b);
	run_log_emit(l, &b);
	l->last = data[len - 1];
	buf_release(&b);
}

void
run_log_note(struct run_log *l, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (l->last != '\n')
		buf_putc(&b, '\n');
	buf_puts(&b, "scaffold: ");
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_putc(&b, '\n');
	run_log_output(l, b.ptr, b.len);
	buf_release(&b);
}

void
run_log_flush(struct run_log *l)
{
	struct buf b = BUF_INIT;

	masker_flush(l->masker, &b);
	run_log_emit(l, &b);
	buf_release(&b);
}

void
runner_close_range(unsigned lo, unsigned hi, int maxfd)
{
	unsigned fd;

	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (!syscall(SYS_close_range, lo, hi, 0))
		return;
#endif
	for (fd = lo; fd <= hi && fd < (unsigned)maxfd; fd++)
		close((int)fd);
}
