/* runner-int.h - internals shared by the files of runner/ and its tests. */
#ifndef SCAFFOLD_RUNNER_INT_H
#define SCAFFOLD_RUNNER_INT_H

#include <stdbool.h>

#include "runner.h"

/*
 * local.c: notice the shell's exit by polling waitid() on a short tick
 * instead of through a pidfd (what happens on kernels without
 * pidfd_open).  For tests; set it before start().
 */
extern bool local_force_poll;

/*
 * docker.c: forget the container of a docker handle, so that free() leaves
 * it running (what a crash of scaffold does).  For tests of adopt.
 */
void docker_detach(struct run_handle *h);

/*
 * ssh.c: forget the remote run of an ssh handle, so that free() closes its
 * channel but neither kills the run nor removes its run dir (what a crash
 * of scaffold does).  For tests of adopt.
 */
void ssh_detach(struct run_handle *h);

/*
 * runner.c: whether a run's RUN_DISPLAY_FILE is still to be collected on
 * its own (it is not when the task stores it already).
 */
bool runner_display_wanted(const struct strvec *store_files);

/*
 * Helpers shared by the backends (runner.c).  runner_esc: s escaped for a
 * log or error message, in b (returned; b is reset first).
 */
const char *runner_esc(struct buf *b, const char *s);
bool runner_valid_env_name(const char *s);
/* A path inside the run dir: relative, no "..", naming a file. */
bool runner_valid_rel_path(const char *p);
/* p without its empty and "." segments: "a/b". */
void runner_norm_path(struct buf *out, const char *p);
/* Append s single-quoted for /bin/sh. */
void runner_sh_quote(struct buf *b, const char *s, size_t len);
/* write(2) all of data, through EINTR: 0 or -1 (errno set). */
int runner_write_all(int fd, const void *data, size_t len);

/*
 * collect.c: take the store file name (a relative path) out of the run dir
 * open as run_fd, safely against a task racing the daemon: opened once
 * without following any symlink on the way (openat2 RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS, else a walk of O_NOFOLLOW opens), refused unless it
 * is a regular file with no other hard link, and copied from that same
 * descriptor, in chunks, into dst (created O_EXCL, 0600; removed again on
 * failure).  *run_total: the bytes this run stored so far, the file's
 * added; the caps of runner_store_limits apply.  0, or with err_set (the
 * message is for the run's users): ERR_NOTFOUND ("store file 'x' was not
 * created"), ERR_TOOBIG (a cap), ERR_INVALID (refused), -1 (I/O).
 */
int runner_collect_file(int run_fd, const char *name, const char *dst,
			int64_t *run_total);
/*
 * collect.c: append the file name under dirfd to out, opened and checked
 * as runner_collect_file does (what names it in messages: "store env").
 * 0, ERR_NOTFOUND (message "WHAT 'NAME' was not created"), ERR_TOOBIG
 * (over max bytes; no message), else negative with err_set.
 */
int runner_collect_read(int dirfd, const char *what, const char *name,
			size_t max, struct buf *out);
/* collect.c: walk O_NOFOLLOW opens even when openat2 is there.  Tests. */
extern bool collect_force_walk;
/*
 * The caps for the backends that copy files themselves: ERR_TOOBIG with
 * err_set naming the file and the cap when a file of size bytes, after
 * run_before bytes of the same run, is over one; else 0.
 */
int runner_store_cap_check(const char *name, int64_t size,
			   int64_t run_before);
/* The most bytes the next file of a run may have, after run_before. */
int64_t runner_store_file_room(int64_t run_before);

/*
 * A run's log: its output goes through the secret masker into fd; a log
 * that cannot be written is warned about once and does not stop the run.
 */
struct run_log {
	int fd; /* -1: none */
	bool failed;
	struct masker *masker;
	char last; /* the last byte fed: notes start on a line of their own */
	int64_t run_id;
};
void run_log_emit(struct run_log *l, const struct buf *b); /* masked */
void run_log_output(struct run_log *l, const char *data, size_t len);
/* "scaffold: ..." on a line of its own. */
void run_log_note(struct run_log *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* The masker's held-back tail, at the end of the output. */
void run_log_flush(struct run_log *l);

#endif
