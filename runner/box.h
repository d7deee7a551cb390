/*
 * box.h - the run's contract inside a container (box.c), shared by the
 * docker and swarm runners.
 */
#ifndef SCAFFOLD_RUNNER_BOX_H
#define SCAFFOLD_RUNNER_BOX_H

#include <stdbool.h>

#include <jansson.h>

#include "runner-int.h"

#define BOX_RUN_DIR "/tmp/run"
#define BOX_META_DIR "/tmp/.scaffold"
#define BOX_BOOT_ARG_MAX (100 * 1024) /* under Linux's 128 KiB an arg */

/*
 * The environment of spec: values that are UTF-8 go into arr (the
 * container's Env, "NAME=value"); the others are exported by the wrapper,
 * single-quoted, in exports.  SCAFFOLD_RUN_DIR added.  -1 with err_set on
 * a bad name or value.
 */
int box_env(json_t *arr, struct buf *exports, const struct run_spec *spec);
/*
 * The wrapper: exports, sources the script; on leaving records the status
 * and, on success, the store env; then runs epilogue (shell text inside a
 * function whose $1 is the status; NULL: none).
 */
void box_wrapper(struct buf *w, const struct strvec *store_env,
		 const struct buf *exports, const char *epilogue);
/*
 * What a container run needs of spec: a script, an image whose name can
 * travel, loaded files with paths inside the run dir.  0, or with err_set:
 * ERR_INVALID (a bad name), -1 (none at all).
 */
int box_spec_check(const struct run_spec *spec);
/*
 * What a container run's handle takes from spec: its log (run_log_init;
 * *kill_fd is -1 until made), the store lists checked
 * (into store_files and store_env), *run_dir (WORK/run: collected files
 * go there; malloc'd), *kill_fd (runner_kill_fd_new).  0, or negative
 * with err_set.
 */
int box_handle_init(const struct run_spec *spec, struct run_log *log,
		    struct strvec *store_files, struct strvec *store_env,
		    char **run_dir, int *kill_fd);
/* What box_handle_init() set up, released (each part may be unset). */
void box_handle_release(struct run_log *log, struct strvec *store_files,
			struct strvec *store_env, char **run_dir,
			int *kill_fd);
/*
 * The start of a container run: spec checked (box_spec_check), its
 * environment into env and exports (box_env), its umask line into the
 * wrapper w.  0, or negative with err_set (ERR_INVALID: a bad name or
 * value).
 */
int box_prepare(const struct run_spec *spec, json_t *env, struct buf *exports,
		struct buf *w);
/* s can travel in JSON (jansson takes only UTF-8). */
bool box_utf8_ok(const char *s);
/* s can travel as an argument of the boot command (UTF-8, no NUL, short). */
bool box_boot_fits(const char *s, size_t len);
/*
 * The command that sets the run up without an archive: makes the run dir
 * and the meta dir (mode 777), writes the wrapper and the script, cd's to
 * the run dir, runs prep (shell text ending in "&& ", or NULL: the swarm
 * runner copies its configs there) and execs the wrapper.  New reference.
 */
json_t *box_boot_cmd(const char *wrapper, size_t wlen, const char *script,
		     size_t slen, const char *prep);

#endif
