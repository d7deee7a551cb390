/* cli.h - the subcommand table and helpers shared by cli/cmd-*.c. */
#ifndef SCAFFOLD_CLI_H
#define SCAFFOLD_CLI_H

#include "../common/common.h"
#include "../reconciler/reconciler.h"
#include "../daemon/daemon.h"

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
extern const struct cmd_entry cmd_runs_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_input_entry;
extern const struct cmd_entry cmd_kill_entry;
extern const struct cmd_entry cmd_serve_entry;
extern const struct cmd_entry cmd_repos_entry;
extern const struct cmd_entry cmd_token_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_backup_entry;
extern const struct cmd_entry cmd_restore_entry;
extern const struct cmd_entry cmd_gc_entry;

/* The daemon (serve.c): runs until SIGTERM/SIGINT; 0 on a clean stop. */
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
 * c (--config FILE), S (--server URL), F (--follow), K (--check),
 * L (--limit N), H (--host NAME), C (--connect), n (--dry-run);
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
	int server_given; /* --server itself, not $SCAFFOLD_SERVER */
	int follow; /* F (--follow, and -f when f is not allowed) */
	int check;  /* K (--check): a drift probe's, not a run's */
	int limit;	  /* L (--limit N): at most N (1 to 1000); 0: unset */
	const char *host; /* H (--host NAME): that host's (a fan-out) */
	int connect;	    /* C (--connect) */
	int dry_run;	    /* n (--dry-run) */
	int data_dir_given; /* -d was given (not the default) */
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
/*
 * The same for a command that only records a request (run, input set):
 * when scaffold serve holds the data dir, *daemon is set and no lock is
 * taken: the command writes to the store, the daemon acts on it.
 */
int cmd_lock_or_daemon(const struct cmd_entry *self, const char *data_dir,
		       int *fd, int *daemon);

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
