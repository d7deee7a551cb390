/* runner.c - the table of runner backends, picked by name. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
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
	&runner_swarm,
};

/* A umask the shell's builtin takes as is: 1 to 4 octal digits. */
static int
umask_ok(const char *u)
{
	size_t n = u ? strlen(u) : 0;

	return n >= 1 && n <= 4 && strspn(u, "01234567") == n;
}

void
runner_umask_line(struct buf *w, const struct run_spec *spec,
		  const char *host_umask)
{
	const char *u = RUNNER_UMASK_DEFAULT;

	/* the loaders checked both; a bad one is never written into a
	 * shell line */
	if (umask_ok(spec->umask))
		u = spec->umask;
	else if (umask_ok(host_umask))
		u = host_umask;
	buf_addf(w, "umask %s\n", u);
}

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

/* Set once before the first run (runner_log_limit); read by workers. */
static int64_t log_max = RUNNER_RUN_LOG_DEFAULT;

void
runner_log_limit(int64_t max)
{
	log_max = max > 0 ? max : RUNNER_RUN_LOG_DEFAULT;
}

int64_t
runner_log_max(void)
{
	return log_max;
}

/* Write len bytes of b to the log, counted. */
static void
log_write(struct run_log *l, const char *data, size_t len)
{
	if (!len || l->fd < 0 || l->failed)
		return;
	if (runner_write_all(l->fd, data, len) < 0) {
		log_warn("runner: run %lld: cannot write the log",
			 (long long)l->run_id);
		l->failed = true;
		return;
	}
	l->written += (int64_t)len;
	l->tail = data[len - 1];
}

/* The log's size, once: an adopted run's log goes on from where it was. */
void
run_log_init(struct run_log *l, const struct run_spec *spec)
{
	l->fd = spec->log_fd;
	l->run_id = spec->run_id;
	l->last = '\n';
	l->masker = masker_new(spec->secrets, spec->secret_lens,
			       spec->secrets ? spec->nsecrets : 0);
}

int
runner_spec_stores(const struct run_spec *spec, struct strvec *files,
		   struct strvec *env)
{
	struct buf e = BUF_INIT;
	size_t i;
	int ret = ERR_INVALID;

	for (i = 0; i < spec->nstore_env; i++) {
		if (!runner_valid_env_name(spec->store_env[i])) {
			err_set("store env '%s' is not a valid variable name",
				spec->store_env[i] ?
					runner_esc(&e, spec->store_env[i]) :
					"");
			goto out;
		}
		strvec_push(env, spec->store_env[i]);
	}
	for (i = 0; i < spec->nstore_files; i++) {
		if (!runner_valid_rel_path(spec->store_files[i])) {
			err_set("store file '%s' is not a path inside the run "
				"dir",
				spec->store_files[i] ?
					runner_esc(&e, spec->store_files[i]) :
					"");
			goto out;
		}
		strvec_push(files, spec->store_files[i]);
	}
	ret = 0;
out:
	buf_release(&e);
	return ret;
}

int
runner_spec_files(const struct run_spec *spec)
{
	struct buf e = BUF_INIT;
	size_t i;
	int ret = 0;

	for (i = 0; i < spec->nfiles && !ret; i++) {
		if (!runner_valid_rel_path(spec->files[i].path) ||
		    !spec->files[i].src) {
			err_set("file '%s' is not a path inside the run dir",
				spec->files[i].path ?
					runner_esc(&e, spec->files[i].path) :
					"");
			ret = ERR_INVALID;
		}
	}
	buf_release(&e);
	return ret;
}

void
run_result_lost(struct run_result *out, struct run_log *log,
		const char *fmt, ...)
{
	va_list ap;

	out->outcome = RUN_LOST;
	out->exit_code = -1;
	va_start(ap, fmt);
	vsnprintf(out->message, sizeof(out->message), fmt, ap);
	va_end(ap);
	run_log_note(log, "%s", out->message);
}

int
runner_kill_fd_new(int *out)
{
	*out = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*out < 0)
		return err_set("cannot create an eventfd: %s", strerror(errno));
	return 0;
}

int
runner_kill_fd_signal(int fd, int64_t run_id)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return err_set("run %lld: cannot signal the waiter: %s",
			       (long long)run_id, strerror(errno));
	return 0;
}

static void
log_size(struct run_log *l)
{
	struct stat sb;

	if (l->sized)
		return;
	l->sized = true;
	if (l->fd >= 0 && fstat(l->fd, &sb) == 0 && S_ISREG(sb.st_mode))
		l->written = (int64_t)sb.st_size;
}

void
run_log_emit(struct run_log *l, const struct buf *b)
{
	log_size(l);
	log_write(l, b->ptr, b->len);
}

/* Masked text of scaffold's own, never cut; after a cut, not held back. */
static void
log_own(struct run_log *l, const char *data, size_t len)
{
	struct buf b = BUF_INIT;

	masker_feed(l->masker, data, len, &b);
	if (l->cut)
		masker_flush(l->masker, &b);
	run_log_emit(l, &b);
	l->last = data[len - 1];
	buf_release(&b);
}

/* The note at the cut, after the last byte of output kept. */
static void
log_cut(struct run_log *l)
{
	char cap[32];
	struct buf b = BUF_INIT;

	runner_size_text(cap, sizeof(cap), log_max);
	if (l->written && l->tail != '\n')
		buf_putc(&b, '\n');
	buf_addf(&b, RUN_LOG_CUT_NOTE "%s (limits: {run_log}): the rest of "
		 "the output is dropped\n", cap);
	log_own(l, b.ptr, b.len);
	buf_release(&b);
}

/* Masked output in b, kept up to the cap: the first byte over it cuts. */
static void
log_capped(struct run_log *l, struct buf *b)
{
	struct buf rest = BUF_INIT;
	int64_t room;

	log_size(l);
	room = log_max - l->written;
	if (room < 0)
		room = 0;
	if ((int64_t)b->len <= room) {
		run_log_emit(l, b);
		return;
	}
	log_write(l, b->ptr, (size_t)room);
	masker_flush(l->masker, &rest);
	l->dropped = (int64_t)b->len - room + (int64_t)rest.len;
	l->cut = true;
	log_cut(l);
	buf_release(&rest);
}

void
run_log_output(struct run_log *l, const char *data, size_t len)
{
	struct buf b = BUF_INIT;

	if (!len)
		return;
	if (l->cut) {
		l->dropped += (int64_t)len;
		return;
	}
	masker_feed(l->masker, data, len, &b);
	l->last = data[len - 1];
	log_capped(l, &b);
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
	log_own(l, b.ptr, b.len);
	buf_release(&b);
}

void
run_log_flush(struct run_log *l)
{
	struct buf b = BUF_INIT;
	char cap[32];

	if (!l->cut) {
		masker_flush(l->masker, &b);
		log_capped(l, &b);
	}
	if (l->cut && !l->told) {
		runner_size_text(cap, sizeof(cap), log_max);
		run_log_note(l, "output cut at %s: %lld bytes dropped", cap,
			     (long long)l->dropped);
		l->told = true;
	}
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
