/* cli.h - the subcommand table and helpers shared by cli/cmd-*.c. */
#ifndef SCAFFOLD_CLI_H
#define SCAFFOLD_CLI_H

#include "../common/common.h"
#include "../reconciler/reconciler.h"

/* Exit codes of every subcommand. */
#define EXIT_OK 0
#define EXIT_FINDING 1
#define EXIT_USAGE 2

struct cmd_entry {
	const char *name;
	const char *summary;
	const char *usage; /* full --help text, starting with the usage line */
	int (*exec)(const struct cmd_entry *self, int argc, char **argv);
};

extern const struct cmd_entry cmd_validate_entry;
extern const struct cmd_entry cmd_plan_entry;
extern const struct cmd_entry cmd_graph_entry;
extern const struct cmd_entry cmd_apply_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_input_entry;
extern const struct cmd_entry cmd_kill_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_repos_entry;
extern const struct cmd_entry cmd_token_entry;

/* The daemon (serve.c): runs until SIGTERM/SIGINT; 0 on a clean stop. */
int serve_run(struct config *cf, int quiet);

#define DEFAULT_DATA_DIR ".scaffold-data"

/* Print "scaffold NAME: MSG" and the usage line to stderr; returns 2. */
int cmd_usage_error(const struct cmd_entry *self, const char *fmt, ...)
	PRINTF_LIKE(2, 3);
/* Print the --help text to stdout; returns 0. */
int cmd_help(const struct cmd_entry *self);
/*
 * Parse the options of a command.  allowed lists the short names it takes:
 * o (--output text|json), q (--quiet), d (--data-dir DIR), i (--input
 * NAME=VALUE, repeatable), f (--force), r (--run ID), j (--max-parallel N),
 * c (--config FILE), S (--server URL), F (--follow);
 * --help always.  Options and operands may mix.  Returns the index of the
 * first operand (operands are moved to the end), -1 after --help was
 * printed, or -2 after a usage error was printed.  Release with
 * cmd_opts_release().
 */
struct cmd_opts {
	int json;
	int quiet;
	int force;
	const char *data_dir;
	struct strvec inputs;
	int64_t run;
	int max_parallel;
	const char *config;
	/* S (--server URL): talk to a daemon; SCAFFOLD_SERVER when neither
	 * --server nor --data-dir is given.  NULL: work on data_dir. */
	const char *server;
	int follow; /* F (--follow, and -f when f is not allowed) */
	int check;  /* K (--check): a drift probe's, not a run's */
};
int cmd_parse(const struct cmd_entry *self, int argc, char **argv,
	      const char *allowed, struct cmd_opts *opts);
void cmd_opts_release(struct cmd_opts *opts);

/*
 * Open the store of opts->data_dir (creating it only with create: reading
 * commands never make a data dir); prints the error and returns NULL.
 */
struct store *cmd_open_store(const struct cmd_entry *self,
			     const struct cmd_opts *opts, int create);

/*
 * The executor (exec.c): claims what the scheduler has ready, starts it
 * through runner/ (a thread per run), records the ends.  Its store and
 * scheduler are used only from the thread that calls exec_step.
 */
struct exec;
struct exec *exec_new(struct store *st, struct sched *s, int max_parallel,
		      int quiet);
/*
 * Start what fits, wait up to wait_ms for a run to end (or exec_wake),
 * record what ended.  Returns the runs in flight (<0 on a store error);
 * *started counts the runs claimed.
 */
int exec_step(struct exec *x, int64_t wait_ms, size_t *started);
/*
 * Re-attach to the runs the store shows running (left by an earlier
 * process): through the runner's adopt, or else ended lost.
 */
int exec_adopt_all(struct exec *x);
/* For a daemon: exec_step also waits (for exec_wake) when idle. */
void exec_set_idle_wait(struct exec *x, int on);
/* For a daemon: fn(arg, cascade_id) after each run's end is recorded
 * (commit statuses: the cascade may have settled).  On exec_step's thread. */
typedef void (*exec_finish_fn)(void *arg, int64_t cascade_id);
void exec_set_on_finish(struct exec *x, exec_finish_fn fn, void *arg);
/*
 * Asked before a run starts (not when one is adopted): 0 to let it, or -1
 * with why in msg: the run ends error with it.  The daemon refuses a
 * runner the run's repository does not allow (its 'runners' may have
 * changed since the definition was applied).
 */
typedef int (*exec_allow_fn)(void *arg, const char *repo, const char *runner,
			     char *msg, size_t msgsize);
void exec_set_allow(struct exec *x, exec_allow_fn fn, void *arg);
/*
 * The runner's spec of a run request (exec.c; the probes use it too): the
 * arrays it points to are made into a, and freed by spec_arrays_release.
 */
struct run_spec;
struct runner_env;
struct runner_file;
struct spec_arrays {
	struct runner_env *env;
	struct runner_file *files;
	const char **secrets;
	size_t *secret_lens;
};
void spec_arrays_fill(struct spec_arrays *a, struct run_spec *sp,
		      const struct run_req *r, int log_fd);
void spec_arrays_release(struct spec_arrays *a);
/* From any thread: make a waiting exec_step return now. */
void exec_wake(struct exec *x);
size_t exec_running(struct exec *x);
/* Stop every run in flight; each ends interrupted and will run again. */
void exec_interrupt_all(struct exec *x, const char *why);
void exec_free(struct exec *x);
/* Run what is ready until nothing is left (scaffold apply, run). */
int exec_until_idle(struct store *st, struct sched *s, int max_parallel,
		    int quiet);

/*
 * The drift probes (probe.c): due probes claimed from the scheduler, run
 * on threads of their own through the runners, at most max at once (the
 * daemon's max_checks_parallel, apart from max_parallel).  probes_new
 * ends the probes an earlier process left running (lost: they run again)
 * and arms the checks of tasks in success.  probes_step records the ends
 * and starts what is due; it returns the milliseconds until the next due
 * probe.  wake(arg) is called from a probe's thread when it ends;
 * drift(arg, cascade_id) after a probe changed its task.
 */
struct probes;
typedef void (*probes_wake_fn)(void *arg);
typedef void (*probes_drift_fn)(void *arg, int64_t cascade_id);
struct probes *probes_new(struct store *st, struct sched *s, int max,
			  int quiet);
void probes_set_hooks(struct probes *p, probes_wake_fn wake,
		      probes_drift_fn drift, void *arg);
/* Asked before a probe starts, as exec_set_allow: a refused probe ends
 * killed (no verdict on its task), saying why. */
void probes_set_allow(struct probes *p, exec_allow_fn fn, void *arg);
int64_t probes_step(struct probes *p);
size_t probes_running(struct probes *p);
/* Stop the probes in flight (each ends lost with why: no verdict). */
void probes_free(struct probes *p, const char *why);

/*
 * The states of the active cascades (all, or those whose ids are given) as
 * text or JSON on stdout; *all_success (if given) tells whether every task
 * shown is success.
 */
int print_status(struct store *st, const int64_t *ids, size_t nids, int json,
		 int *all_success);
/* Find a cascade by "NAME" or "REPO/NAME"; prints the error. */
int cmd_cascade(const struct cmd_entry *self, struct store *st,
		const char *spec, struct cascade_row *out);
/*
 * Configure the runners: from the config file (docker, hosts) when one is
 * given (*out is it, caller frees), else from the environment
 * (SCAFFOLD_DOCKER_SOCKET).  Prints errors.
 */
int cmd_runners_setup(const struct cmd_entry *self, const char *config_path,
		      struct config **out);
/* Hand the config's ssh inventory to the ssh runner. */
void runners_configure_hosts(const struct config *cf);
/*
 * Tell the local runner its user (cf's local.user) and what its tasks
 * must not see: the data dir, the config, every secret file it names, the
 * Docker socket.  cf may be NULL (apply without a config).  Call once the
 * data dir exists; err_set() on failure.
 */
int runners_configure_local(const struct config *cf, const char *data_dir);
/* Lock the data dir for a command that changes state; prints errors. */
int cmd_lock(const struct cmd_entry *self, const char *data_dir, int *fd);

/* Expand operands: directories become their *.yaml / *.yml files, sorted. */
int cascade_paths(struct strvec *out, char **argv, int argc,
		  struct diags *diags);

/*
 * The CLI as a client of scaffold serve (client.c, libcurl).  The token
 * comes from SCAFFOLD_TOKEN, else from ~/.scaffold/creds: lines
 * "URL TOKEN" ('#' starts a comment), refused when group or others may
 * read the file.  Every function prints its errors as "scaffold CMD:
 * MESSAGE" (an HTTP error: the server's {"error"} text as it is) and
 * returns -1; ERR_NOTFOUND for a 404.
 */
struct json_t;
struct client;
struct client *client_new(const struct cmd_entry *self, const char *server);
void client_free(struct client *c);
/* A request whose answer is JSON; *out is it (json_decref). */
int client_json(struct client *c, const char *method, const char *path,
		const void *body, size_t len, const char *ctype,
		struct json_t **out);
/* A request whose answer is bytes (logs, files), appended to out. */
int client_raw(struct client *c, const char *method, const char *path,
	       const void *body, size_t len, const char *ctype,
	       struct buf *out);
/*
 * Follow a server-sent event stream, writing each "data:" line to f as
 * it arrives (with its newline; an "event: partial" line without one);
 * *out_end gets the data of the "end" event (json_decref).
 */
int client_follow(struct client *c, const char *path, FILE *f,
		  struct json_t **out_end);
/* Append s to b percent-encoded for a URL path (keep_slash: '/' stays). */
void client_path_add(struct buf *b, const char *s, int keep_slash);
/*
 * The cascade "NAME" or "REPO/NAME" (GET /api/v1/cascades/...): *out its
 * view, *path its API path ("/api/v1/cascades/REPO/NAME").
 */
int client_cascade(struct client *c, const char *spec, struct json_t **out,
		   struct buf *path);

/*
 * Printers (status.c, print.c) of the JSON views (webhook/view.c) that the
 * API answers and the data-dir commands build alike: the same view prints
 * the same bytes.
 */
void print_status_view(struct json_t *view, int json, int *all_success);
void print_repos_view(struct json_t *view, int json);
void print_inputs_view(struct json_t *view, int json);
void print_files_view(struct json_t *view, int json);
/* `scaffold repos` and `scaffold repo ls` alike (cmd-repo.c). */
int repo_ls(const struct cmd_entry *self, const struct cmd_opts *o);
extern const struct cmd_entry cmd_repo_entry;
extern const struct cmd_entry cmd_file_entry;

#endif
