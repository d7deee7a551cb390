/* runner-int.h - internals shared by the files of runner/ and its tests. */
#ifndef SCAFFOLD_RUNNER_INT_H
#define SCAFFOLD_RUNNER_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "runner.h"

/*
 * local.c: notice the shell's exit by polling waitid() on a short tick
 * instead of through a pidfd (what happens on kernels without
 * pidfd_open).  For tests; set it before start().
 */
extern bool local_force_poll;
/*
 * local.c: forget the init of a local handle, so that free() leaves the
 * run going (what a crash of scaffold does).  For tests of adopt.
 */
void local_detach(struct run_handle *h);

/*
 * docker.c: forget the container of a docker handle, so that free() leaves
 * it running (what a crash of scaffold does).  For tests of adopt.
 */
void docker_detach(struct run_handle *h);

/*
 * swarm.c: forget the service of a swarm handle, so that free() leaves it
 * (what a crash of scaffold does).  For tests of adopt.
 */
void swarm_detach(struct run_handle *h);

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
/*
 * spec's store env names and store file paths, checked, appended to env
 * and files: 0, or ERR_INVALID with err_set naming the first bad one.
 */
int runner_spec_stores(const struct run_spec *spec, struct strvec *files,
		       struct strvec *env);
/* spec's loaded files: paths inside the run dir, each with a source.
 * 0, or ERR_INVALID with err_set naming the first bad one. */
int runner_spec_files(const struct run_spec *spec);
/*
 * The eventfd through which kill() (any thread) tells wait() to end the
 * run: made non-blocking in *out (0, or -1 with err_set), and signalled.
 */
int runner_kill_fd_new(int *out);
int runner_kill_fd_signal(int fd, int64_t run_id);
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
 * outputs.c: a successful run's stored files, stored env and .display,
 * collected the same way for every runner.  The backend fills the
 * callbacks:
 *  file: store file name (i: its index; i == store_files->n for
 *	.display) into a file of the daemon's, *src its path (malloc'd);
 *	*total: the run's stored bytes so far, the file's added (the caps of
 *	runner_store_limits apply).  0, RUNNER_OUT_LOST, or else negative
 *	with err_set (the message for the run's users).
 *  env: the value of store env i (name) into val, at most max bytes.  0,
 *	ERR_NOTFOUND, ERR_TOOBIG, RUNNER_OUT_LOST, or else negative with
 *	err_set (the message for the run's users).
 *  uncaptured (may be NULL): after a missing env, 1 when the wrapper's
 *	trap never recorded the env (a note in the log says why it may be),
 *	0, or RUNNER_OUT_LOST.
 * runner_outputs_collect: 0 with out->files and out->env set (the caller
 * frees them with run_result_release), RUNNER_OUT_FAILED with
 * out->message set (the run fails), or RUNNER_OUT_LOST (the backend knows
 * why).
 */
#define RUNNER_OUT_FAILED 1
#define RUNNER_OUT_LOST (-1000)
#define RUNNER_ENV_VALUE_MAX (16 << 20)
struct run_log;
struct runner_outputs {
	const struct strvec *store_files;
	const struct strvec *store_env;
	struct run_log *log;
	bool no_display;     /* the backend knows the run wrote none */
	bool unlink_on_fail; /* remove the files taken when the run fails */
	/* the store files' indexes in the order to take them (the first
	 * failure met is the one told); NULL: as listed */
	const size_t *order;
	void *arg;
	int (*file)(void *arg, size_t i, const char *name, int64_t *total,
		    char **src);
	int (*env)(void *arg, size_t i, const char *name, size_t max,
		   struct buf *val);
	int (*uncaptured)(void *arg);
};
int runner_outputs_collect(const struct runner_outputs *o,
			   struct run_result *out);
/*
 * For backends that reach the run dir by path: what a path there is, as
 * kind() tells it (0, RUNNER_OUT_LOST, or else negative with err_set).
 * RUNNER_PATH_UNKNOWN: the backend could not tell (refused as not a
 * regular file).
 */
enum runner_path_kind {
	RUNNER_PATH_MISSING,
	RUNNER_PATH_DIR,
	RUNNER_PATH_FILE,
	RUNNER_PATH_LINK,
	RUNNER_PATH_OTHER,
	RUNNER_PATH_UNKNOWN,
};
typedef int (*runner_path_fn)(void *arg, const char *rel,
			      enum runner_path_kind *out);
/*
 * Each directory on the way to store file name ("a" and "a/b" of
 * "a/b/c"): 0 when all are directories; else what kind() returned, or
 * negative with err_set ("store file 'a/b/c' was not created", "... is
 * behind a symlink ('a')", "... is not a regular file").
 */
int runner_outputs_walk(const char *name, runner_path_fn kind, void *arg);
/*
 * The store file itself, of kind k and size bytes (-1: unknown), after
 * run_before bytes of the run: 0, or negative with err_set (missing, a
 * symlink, not a regular file, over a cap: ERR_TOOBIG).
 */
int runner_outputs_check(const char *name, enum runner_path_kind k, int64_t size,
			 int64_t run_before);

/*
 * A run's log: its output goes through the secret masker into fd; a log
 * that cannot be written is warned about once and does not stop the run.
 * The log holds at most the cap of runner_log_limit() bytes of output
 * (counted from the log's size when the run's first output comes, so an
 * adopted run goes on counting): the first byte over it cuts the output,
 * with a note (RUN_LOG_CUT_NOTE ...), and what comes after is dropped,
 * counted; notes are never cut.  So every byte of a log from the cap on
 * is scaffold's own.
 */
struct run_log {
	int fd; /* -1: none */
	bool failed;
	struct masker *masker;
	char last; /* the last byte fed: notes start on a line of their own */
	int64_t run_id;
	bool sized;	 /* written holds the log's size */
	bool cut;	 /* the cap was reached: output is dropped */
	bool told;	 /* the dropped bytes were noted */
	int64_t written; /* bytes in the log */
	char tail;	 /* the last byte written (0: unknown) */
	int64_t dropped; /* bytes of output dropped after the cut */
};
/* l for spec's run: its log fd, and a masker of its secrets. */
void run_log_init(struct run_log *l, const struct run_spec *spec);
void run_log_emit(struct run_log *l, const struct buf *b); /* masked */
void run_log_output(struct run_log *l, const char *data, size_t len);
/* "scaffold: ..." on a line of its own. */
void run_log_note(struct run_log *l, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* The masker's held-back tail, at the end of the output; after a cut, the
 * note of how many bytes were dropped. */
void run_log_flush(struct run_log *l);
/* out ends RUN_LOST (exit code -1) with the message, noted in log. */
void run_result_lost(struct run_result *out, struct run_log *log,
		     const char *fmt, ...) PRINTF_LIKE(3, 4);
/* A size for people: "32 MiB", "1 GiB", "1500 bytes". */
void runner_size_text(char *out, size_t len, int64_t n);

/*
 * Close every fd from lo to hi (inclusive); async-signal-safe (close_range,
 * or a loop up to maxfd).
 */
void runner_close_range(unsigned lo, unsigned hi, int maxfd);

/*
 * sandbox.c: a local run's init in new namespaces (see there).  The
 * caller fills the first part; sandbox_spawn() the rest.  devnull, out
 * (the output file, O_APPEND), st (the write end of the status pipe:
 * {stage, errno, index} on a failure before the exec, EOF after it) and go
 * (the read end of the go pipe: the byte 'g' lets the shell start) are the
 * caller's, closed by it after the spawn.
 */
struct sandbox {
	const char *run_dir;  /* writable, the shell's cwd */
	const char *task_dir; /* writable: wrapper, script, env/ */
	const char *meta_dir; /* the init writes exit here; hidden */
	char *const *argv;
	char *const *envp;
	const char *const *hide; /* directories and files made invisible */
	size_t nhide;
	bool drop; /* switch to uid/gid (the daemon is root) */
	uid_t uid;
	gid_t gid;
	int devnull, out, st, go;
	/* the daemon's end of go: the spawner, which has it too, records
	 * meta/pid and says go itself, one wake-up less before the shell
	 * starts; then recorded is set, with what meta/pid says (start,
	 * wall) and go_err (0: said; EPIPE: the init had failed already) */
	int go_out;
	bool recorded;
	unsigned long long start;
	long long wall;
	int go_err;

	bool userns; /* not root: a user namespace maps our own ids */
	uid_t outer_uid;
	gid_t outer_gid;
	int maxfd;
	char *bind_buf[2];
	char *args_start, *args_end, *env_start, *env_end;
	bool valgrind; /* under valgrind: see sandbox.c */
	/* cloned by the spawner, whose signal handlers are known: all
	 * SIG_DFL but SIGINT, SIGQUIT and SIGPIPE, ignored */
	bool spawner;
};
/*
 * The init's pid in *out (our child, whether the spawner cloned it or
 * this process), or an error.
 */
int sandbox_spawn(pid_t *out, struct sandbox *sb);
/* The daemon's half: ids, maxfd, where argv and environ live, bind_buf. */
void sandbox_prepare(struct sandbox *sb);
/* The clone (flags | extra): the init's pid or -errno; signal-safe. */
pid_t sandbox_clone(const struct sandbox *sb, unsigned long extra);
/*
 * The same with CLONE_VM: the init shares this process's memory (no copy
 * of its page tables, none to tear down), runs on stack_top (which, like
 * sb and what it points to, must stay mapped until the init has ended),
 * and *pidfd (CLONE_PIDFD) says when it has.  For the spawner, which is
 * single-threaded and touches nothing the init writes.
 */
pid_t sandbox_clone_vm(struct sandbox *sb, unsigned long extra,
		       void *stack_top, int *pidfd);

/*
 * spawner.c: a small process, forked once, that clones the inits so that
 * the daemon never forks itself (see there).  spawner_spawn: the pid of
 * the init (a child of this process: CLONE_PARENT) or -errno of its
 * clone in *out, 0; or -1 with err_set when the spawner cannot be reached
 * or restarted.  spawner_enabled: false when spawner_disable is set
 * (tests) or SCAFFOLD_NO_SPAWNER=1.
 */
int spawner_spawn(pid_t *out, struct sandbox *sb);
/* Start the spawner now, if it is used and not running (no error). */
void spawner_prestart(void);
bool spawner_enabled(void);
extern bool spawner_disable;
/* The spawner's pid (-1: none); for tests. */
pid_t spawner_pid(void);
/* err_set() the failure an init reported through st; returns -1. */
int sandbox_report(const struct sandbox *sb, const int report[3]);
void sandbox_release(struct sandbox *sb);

#endif
