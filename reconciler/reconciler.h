/*
 * reconciler.h - the cascade model, its YAML loader and validation, the DAG,
 * fingerprints and plans.  Later: the state store and the scheduler.
 *
 * Ownership: a struct cascade owns every string and array reachable from it
 * (they live in its arena); cascade_free() releases them all.
 */
#ifndef SCAFFOLD_RECONCILER_H
#define SCAFFOLD_RECONCILER_H

#include <stdio.h>

#include "../common/common.h"

/* Limits that bound the work a hostile file can cause. */
#define CASCADE_MAX_FILE_SIZE (16u * 1024 * 1024)
#define YAML_MAX_ALIAS_NODES 10000
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 2000000
#define TASK_MAX_RETRIES 100
#define TASK_DEFAULT_TIMEOUT_MS ((int64_t)60 * 60 * 1000)

/* 1-based line and column of a YAML node; 0 when unknown. */
struct pos {
	int line;
	int col;
};

/*
 * Diagnostics: every problem found in a file, printed as
 * "FILE:LINE:COL: error: MESSAGE" (or "warning").
 */
enum diag_severity { DIAG_ERROR, DIAG_WARNING };
struct diag {
	char *file;
	struct pos pos;
	enum diag_severity sev;
	char *msg;
	size_t seq;
	/* 1 for a consequence of the file's other problems as much as a
	 * problem of its own (a load no ancestor stores: often a misspelt
	 * depends_on); listed after the root causes of its file */
	int derived;
};
struct diags {
	struct diag *v;
	size_t n;
	size_t alloc;
	size_t nerrors;
	size_t nwarnings;
};
#define DIAGS_INIT { NULL, 0, 0, 0, 0 }
void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       struct pos pos, const char *fmt, ...) PRINTF_LIKE(5, 6);
/* Mark the diagnostics added since the first 'from' as derived. */
void diags_mark_derived(struct diags *d, size_t from);
/*
 * Order by file, then root causes (syntax, unknown keys, types, names)
 * before derived problems, then line, column (stable): the order users
 * read them in, the first one the one to fix first.
 */
void diags_sort(struct diags *d);
void diags_print(FILE *f, const struct diags *d);
/* Remove the first diagnostic of sev at file:pos; 1 if there was one. */
int diags_drop(struct diags *d, enum diag_severity sev, const char *file,
	       struct pos pos);
/* One diagnostic as diags_print writes it ("file:line:col: error: msg"),
 * without the newline, appended to b. */
void diag_format(struct buf *b, const struct diag *x);
void diags_release(struct diags *d);

struct name_ref {
	const char *name;
	struct pos pos;
};
struct name_list {
	struct name_ref *v;
	size_t n;
};

struct kv {
	const char *key;
	const char *value;
	size_t value_len;
	struct pos pos;
	struct pos value_pos;
};

enum dep_kind { DEP_SUCCESS, DEP_ERROR, DEP_ALWAYS };
extern const char *const dep_kind_names[3];

struct dep {
	const char *name;
	enum dep_kind kind;
	size_t task; /* index of the parent once resolved */
	struct pos pos;
};

enum input_type { INPUT_TEXT, INPUT_PASSWORD };
struct input {
	const char *name;
	const char *description;
	enum input_type type;
	const char *default_value; /* NULL: no default */
	size_t default_len;
	struct pos pos;
};

/*
 * A task's drift probe (DESIGN §3, "Check"): check.run every interval
 * after a success, on the task's runner.  timeout_ms is effective (the
 * interval, at most the task's timeout, when not given); max_heals is
 * per hour.
 */
#define CHECK_MIN_INTERVAL_MS 1000
#define CHECK_DEFAULT_MAX_HEALS 3
#define CHECK_MAX_HEALS_LIMIT 1000
struct check {
	int64_t interval_ms;
	const char *run;
	size_t run_len;
	const char *image;	  /* NULL: the task's */
	struct name_list hosts;	  /* empty: the task's */
	int64_t timeout_ms;
	int heal;
	int max_heals;
	struct pos pos;
	struct pos interval_pos;
};

struct task {
	const char *name;
	struct pos pos;
	const char *description;
	const char *image;
	const char *runner;	/* effective: "docker", "ssh" or "local" */
	struct pos runner_pos;	/* the task's 'runner' value; 0: none */
	struct name_list hosts; /* effective (the task's, else the cascade's) */
	const char *run;
	size_t run_len;
	struct kv *env;
	size_t nenv;
	struct kv *inputs; /* key: env name, value: cascade input name */
	size_t ninputs;
	struct dep *deps;
	size_t ndeps;
	struct name_list store_file, store_env, load_file, load_env;
	int auto_execute;
	int64_t timeout_ms;
	int retries;
	struct check *check;
	/* the script's umask, three octal digits ("077"); NULL: the host's,
	 * else 022 */
	const char *umask;
	/* swarm: node constraints ("node.labels.pool==build"), and the
	 * task's CPUs (in 1e-9) and memory in bytes (0: no limit) */
	struct name_list placement;
	int placement_global; /* mode global: a run on every eligible node */
	int64_t nano_cpus;
	int64_t memory_bytes;

	/* the DAG: indexes of tasks that depend on this one */
	size_t *children;
	size_t nchildren;
};

struct cascade {
	struct arena arena;
	struct arena *doc_arena; /* the YAML text the strings point into */
	const char *file;
	const char *name;
	struct pos name_pos;
	const char *description;
	const char *runner; /* NULL: per task */
	struct pos runner_pos; /* the cascade's 'runner' value; 0: none */
	struct name_list hosts;
	struct input *inputs;
	size_t ninputs;
	struct task *tasks; /* in file order */
	size_t ntasks;
	size_t *topo;	    /* task indexes, parents before children */
	struct strmap task_index;
	struct strmap input_index;
};

/*
 * Load and validate one cascade from memory.  Every problem is added to
 * diags.  Returns 0 and sets *out (caller frees with cascade_free) when the
 * cascade has no errors (warnings allowed); else ERR_INVALID and *out = NULL.
 * An empty document (as from /dev/null) sets *out = NULL and returns
 * ERR_NOTFOUND with no diagnostic when allow_empty is set.
 */
int cascade_load(struct cascade **out, const char *file, const char *data,
		 size_t len, int allow_empty, struct diags *diags);
/* The same from a file; read errors become diagnostics too. */
int cascade_load_file(struct cascade **out, const char *path,
		      int allow_empty, struct diags *diags);
void cascade_free(struct cascade *c);

/* Lookups by name; NULL when absent.  Pointers owned by the cascade. */
struct task *cascade_task(const struct cascade *c, const char *name);
const struct input *cascade_input(const struct cascade *c, const char *name);
size_t cascade_task_index(const struct cascade *c, const struct task *t);

/*
 * The runners a cascade may name, in this order (runner_kind_names): bit
 * (1 << RUNNER_KIND_x) of a repo's 'runners' allows x.
 */
enum runner_kind { RUNNER_KIND_DOCKER, RUNNER_KIND_SSH, RUNNER_KIND_LOCAL,
		   RUNNER_KIND_SWARM, RUNNER_KIND_N };
extern const char *const runner_kind_names[RUNNER_KIND_N];
/* The index of name in runner_kind_names, or -1. */
int runner_kind_index(const char *name);

/* Name rules shared with the CLI and the config. */
int name_is_valid(const char *s);     /* cascades, tasks */
int env_name_is_valid(const char *s); /* env names, input names */

/*
 * DAG reachability: for every task reachable from the seeds (the seeds
 * included) out_origin[i] is the index in seeds[] of the nearest seed
 * (ties: the earlier seed); SIZE_MAX for tasks not reached.
 * out_origin has c->ntasks entries.
 */
void dag_reach(const struct cascade *c, const size_t *seeds, size_t nseeds,
	       size_t *out_origin);
/* Write the DAG in Graphviz DOT. */
void dag_write_dot(struct buf *out, const struct cascade *c);

/*
 * Fingerprints.  The fingerprint of a task is a SHA-256 over a canonical
 * serialization of the fields that determine its effect, field by field.
 * The value of each mapped input is asked from input_value (NULL: the
 * declared default); it returns the bytes to hash (the engine passes a
 * keyed digest for passwords) or NULL when the input has no value.
 */
enum fp_field {
	FP_RUNNER,
	FP_IMAGE,
	FP_HOSTS,
	FP_RUN,
	FP_ENV,
	FP_INPUTS,
	FP_INPUT_VALUES,
	FP_STORE,
	FP_LOAD,
	FP_DEPENDS_ON,
	FP_FILES, /* content hashes of the loads the file store satisfies */
	FP_UMASK,
	FP_NFIELDS
};
extern const char *const fp_field_names[FP_NFIELDS];
typedef const char *(*input_value_fn)(void *ctx, const struct cascade *c,
				      const struct input *in, size_t *len);
struct fingerprint {
	char hex[SHA256_HEX_LEN + 1];
	char field[FP_NFIELDS][SHA256_HEX_LEN + 1];
};
void task_fingerprint(struct fingerprint *out, const struct cascade *c,
		      const struct task *t, input_value_fn input_value,
		      void *ctx);
/*
 * The content hash (SHA-256, hex) of file name in the cascade's file
 * store, or NULL when the store does not have it.
 */
typedef const char *(*file_hash_fn)(void *ctx, const struct cascade *c,
				    const char *name);
/*
 * The fingerprint the engine records: task_fingerprint with the content of
 * every file t loads that only the file store gives it (see
 * task_loads_from_file_store).  task_fingerprint is this without
 * file_hash: the same for two definitions, which is all a plan compares.
 */
void task_fingerprint_files(struct fingerprint *out, const struct cascade *c,
			    const struct task *t, input_value_fn input_value,
			    file_hash_fn file_hash, void *ctx);
/*
 * Whether t's load of file name can only come from the cascade's file
 * store: no task it depends on (other than through an error: edge)
 * stores it.
 */
int task_loads_from_file_store(const struct cascade *c, const struct task *t,
			       const char *name);

/*
 * Plans: the difference between two versions of a cascade.  Entries are
 * sorted by task name; removed tasks are included.
 */
enum plan_action {
	PLAN_UNCHANGED,
	PLAN_ADDED,
	PLAN_CHANGED,
	PLAN_RESET, /* unchanged itself, but downstream of a change */
	PLAN_REMOVED,
};
extern const char *const plan_action_names[5];
struct plan_entry {
	const char *task;    /* owned by one of the cascades */
	enum plan_action action;
	unsigned changed;    /* bit (1 << fp_field) per changed field */
	char *reason;	     /* heap; NULL for unchanged */
};
struct plan {
	const char *cascade;
	struct plan_entry *v;
	size_t n;
	size_t count[5]; /* by plan_action */
};
/* old may be NULL (everything is added).  The plan borrows names from both
 * cascades: release it before them. */
void plan_compute(struct plan *out, const struct cascade *old,
		  const struct cascade *new, input_value_fn input_value,
		  void *ctx);
void plan_release(struct plan *p);
/* Reset set size: added + changed + reset. */
size_t plan_reset_count(const struct plan *p);
/*
 * The input values as they are now (plan-fields.c), for the plan of a
 * definition not applied yet (a pull request's): the value set for the
 * stored cascade cascade_id (0: none, the defaults), else the file's
 * default.  Release arena (arena_release) when done.
 */
struct input_now {
	struct store *st;
	int64_t cascade_id;
	struct arena arena;
};
/* The value into out: 0, or ERR_NOTFOUND (x may be NULL: defaults). */
int input_now_value(const struct input_now *x, const struct input *in,
		    struct buf *out);
/* An input_value_fn (ctx: struct input_now): a keyed digest of the value,
 * as the engine's fingerprints have it, so plans agree with a merge. */
const char *input_now_digest(void *ctx, const struct cascade *c,
			     const struct input *in, size_t *len);
/*
 * A field of t's fingerprint as text, appended to out (plan-fields.c):
 * what a plan shows old beside new; input values as now has them (NULL:
 * the defaults).  A password input's value is never written; an empty
 * text is a field t does not use.
 */
void task_field_text(struct buf *out, const struct cascade *c,
		     const struct task *t, enum fp_field f,
		     const struct input_now *now);


/*
 * The daemon's configuration (config.c): one YAML file.  Relative paths in
 * it are relative to the file's directory; files it names must be
 * readable.  Everything is owned by the struct config.
 */
struct repo_config {
	const char *name;
	const char *url;
	const char *branch;
	const char *path; /* folder of the cascade files, default .scaffold */
	const char *ssh_key_file;
	const char *known_hosts_file;
	const char *token_file;
	const char *webhook_secret_file;
	/*
	 * The forge that hosts it, for commit statuses (forge: {kind,
	 * api_url, token_file, project}); forge_kind NULL: none.  project is
	 * "owner/name" (GitLab: the full path), by default from the url; the
	 * webhooks match pushes on it too.
	 */
	const char *forge_kind; /* "github", "gitlab", "gitea" */
	const char *forge_api_url;
	const char *forge_token_file;
	const char *project; /* NULL when the url has no path */
	int plan_comments;   /* forge.plan_comments: a comment per pull
			      * request with its plan */
	/*
	 * The runners its cascades may use ('runners:'): bits
	 * (1 << RUNNER_KIND_x); default docker and ssh.  runners_text names
	 * them for messages, as listed ("docker, ssh").
	 */
	unsigned runners;
	const char *runners_text;
	struct pos pos;
};
/* A host of the ssh inventory (config 'hosts:'). */
struct host_config {
	const char *name;
	const char *address;
	int port;
	const char *user;
	const char *key_file;
	const char *known_hosts_file;
	int max_sessions;
	const char *umask; /* the runs' unless a task sets one; NULL: 022 */
	struct pos pos;
};
/*
 * public_status: none (every page needs a viewer), summary (states, the
 * DAG, revisions public; logs, stored files, .display, env names and
 * input values need a viewer), full (all of the pages public).
 */
enum public_status { PUBLIC_NONE, PUBLIC_SUMMARY, PUBLIC_FULL };
#define CONFIG_SESSION_LIFETIME ((int64_t)12 * 3600 * 1000)
struct config {
	struct arena arena;
	struct arena *doc_arena;
	const char *file;
	const char *listen;
	const char *public_url;
	int public_url_derived; /* 1: made from listen, not given */
	/* what anonymous users see (docs/config.md); PUBLIC_SUMMARY unless
	 * the config says otherwise */
	enum public_status public_status;
	/* how long a browser's session from /login lasts (absolute) */
	int64_t session_lifetime_ms;
	const char *data_dir;
	int64_t poll_interval_ms;
	int64_t fetch_timeout_ms;
	int max_parallel;
	int max_checks_parallel; /* drift probes at once, apart from tasks */
	const char *docker_socket; /* NULL: /var/run/docker.sock */
	int docker_keep_failed;
	/* swarm: {socket | url, ca, cert, key, network, pending_timeout};
	 * swarm_set: the config has the section */
	int swarm_set;
	const char *swarm_socket; /* NULL with swarm_url NULL: the default */
	const char *swarm_url;
	const char *swarm_ca, *swarm_cert, *swarm_key;
	const char *swarm_network; /* NULL: none */
	int64_t swarm_pending_timeout_ms;
	struct repo_config *repos;
	size_t nrepos;
	struct host_config *hosts;
	size_t nhosts;
	/*
	 * local: {user}: the unprivileged user local tasks run as when
	 * scaffold runs as root (an existing user, not uid 0); NULL when
	 * absent.  Required when the euid is 0 and a repo allows local.
	 */
	const char *local_user;
	/* limits: {store_file, store_run}: caps in bytes on one stored file
	 * and on all the stored files of one run */
	int64_t store_file_max;
	int64_t store_run_max;
	/* limits: {run_log}: bytes of output one run keeps in its log */
	int64_t run_log_max;
	/* limits: {header_timeout, body_min_rate}: an HTTP request head must
	 * be complete this long after the connection opened or its previous
	 * reply; a body must come at this average rate (bytes a second) after
	 * a grace of header_timeout (docs/api.md) */
	int64_t http_head_timeout_ms;
	int64_t http_body_rate;
	/* retention: {runs, keep_last_runs, deliveries} (docs/config.md):
	 * 0 where absent (no limit; deliveries: DELIVERY_KEEP_DAYS) */
	int64_t retain_runs_ms;
	int retain_last_runs;
	int64_t retain_deliveries_ms;
};
#define CONFIG_STORE_FILE_MAX ((int64_t)256 << 20)
#define CONFIG_HEADER_TIMEOUT_MS ((int64_t)10000)
#define CONFIG_BODY_MIN_RATE ((int64_t)16 << 10)
#define CONFIG_STORE_RUN_MAX ((int64_t)1 << 30)
#define CONFIG_RUN_LOG_MAX ((int64_t)32 << 20)
#define CONFIG_SWARM_PENDING_DEFAULT ((int64_t)5 * 60 * 1000)
/*
 * 0 and *out, or ERR_INVALID with every problem in diags.  The checks
 * that depend on this process (local.user is required when the euid is
 * 0) are made here too: a config that loads is one serve can start with.
 */
int config_load(struct config **out, const char *path, struct diags *diags);
void config_free(struct config *cf);
const struct repo_config *config_repo(const struct config *cf,
				      const char *name);
/*
 * Does every task of c run on a runner its repo allows?  Each one that
 * does not is an error in diags (file c->file) at the 'runner' that
 * chose it (the task itself when it is the default), naming the repo and
 * its 'runners'.  0, or ERR_INVALID when some task is refused.
 */
int config_check_runners(const struct repo_config *rc,
			 const struct cascade *c, struct diags *diags);
/*
 * Can every task's check reach its hosts?  Each 'check.hosts' entry not in
 * the daemon config's inventory is an error in diags at its position.  0,
 * or ERR_INVALID.
 */
int config_check_hosts(const struct config *cf, const struct cascade *c,
		       struct diags *diags);

/*
 * The state store (store.c, the only file that includes sqlite3.h).  One
 * struct store per thread; every state transition is one transaction
 * (store_begin .. store_commit).  Data dir: scaffold.db, secret.key (0600),
 * blobs/ (stored files by SHA-256), logs/, runs/.
 */
enum task_state {
	TS_NOT_STARTED,
	TS_WAITING,
	TS_RUNNING,
	TS_SUCCESS,
	TS_ERROR,
	TS_KILLED,
	TS_SKIPPED, /* its trigger can no longer be met (DESIGN §3) */
	TS_N
};
extern const char *const task_state_names[TS_N];
int task_state_parse(const char *s); /* -1 when unknown */

/* Run states: "running", then the outcome. */
enum run_state { RS_RUNNING, RS_SUCCESS, RS_ERROR, RS_KILLED, RS_LOST, RS_N };
extern const char *const run_state_names[RS_N];

/*
 * A data dir that exists must be a directory other users cannot reach:
 * 0, or -1 with the message naming the fix (store_open makes this check).
 */
int store_check_data_dir(const char *dir);
/*
 * Backups (store-backup.c).  store_backup_db copies the database of s, as
 * one consistent snapshot taken while others write, into the new file
 * dest (rollback journal, not WAL: one file).  store_backup_refs lists
 * what such a copy refers to in the data dir, as relative paths:
 * "blobs/ab/cdef..." (run and cascade files) and "logs/N.log",
 * "logs/check-N.log".  store_integrity: 0 when SQLite finds the database
 * intact.  Each -1 with the message set.
 */
struct store;
int store_backup_db(struct store *s, const char *dest);
int store_backup_refs(const char *db_path, struct strvec *blobs,
		      struct strvec *logs);
int store_integrity(struct store *s);
/*
 * Retention (store-gc.c).  store_gc_runs deletes, in one transaction, at
 * most max of the runs the policy lets go (with their env and file rows),
 * oldest first, and returns their ids in *ids (free() it) for the caller
 * to remove their logs; with dry_run it deletes nothing and returns them
 * all.  Never a running run, never one of a task's last batch.
 * store_gc_deliveries deletes at most max processed deliveries received
 * before before_ms (dry_run: counts them all).  store_gc_blob_refs puts
 * every blob hash the rows refer to in refs, sorted (strcmp), but for the
 * runs in gone (sorted: those a dry run would delete).
 */
struct gc_policy {
	int64_t runs_ms;    /* runs older than this go; 0: no age limit */
	int keep_last_runs; /* runs beyond this many of a task go; 0: none */
};
int store_gc_runs(struct store *s, const struct gc_policy *p, size_t max,
		  int dry_run, int64_t **ids, size_t *n);
/* The drift probes' check runs the same policy lets go (never a running
 * one, never a task's newest), at most max of them in one transaction; their
 * ids in *ids (caller frees), for the logs and run dirs to go too. */
int store_gc_checks(struct store *s, const struct gc_policy *p, size_t max,
		    int dry_run, int64_t **ids, size_t *n);
int store_gc_deliveries(struct store *s, int64_t before_ms, size_t max,
			int dry_run, int64_t *n);
int store_gc_blob_refs(struct store *s, const int64_t *gone, size_t ngone,
		       struct strvec *refs);
struct store;

struct cascade_row {
	int64_t id;
	char *repo;
	char *name;
	char *file;
	char *source;	/* YAML of the active definition */
	char *revision; /* what it was applied from (commit id) */
	int active;
	int64_t updated_at;
	int64_t generation; /* grows each time the source changes */
};
void cascade_row_release(struct cascade_row *r);

struct task_row {
	int64_t id;
	int64_t cascade_id;
	char *name;
	enum task_state state;
	int present; /* 0: removed from the definition; history stays */
	char fingerprint[SHA256_HEX_LEN + 1];
	char success_fingerprint[SHA256_HEX_LEN + 1];
	int attempts; /* for the current state's retries */
	int manual;   /* triggered by hand: runs despite auto_execute */
	int64_t last_run;
	int runs;
	int64_t updated_at;
};

/*
 * The one verdict on a cascade, from its present tasks' states (DESIGN §3),
 * used by every view (pages, badge, API, /metrics, commit status, exit
 * codes): "running" (some task waiting or running), "error", "killed",
 * "success" (every task that is not skipped succeeded), or "not_started".
 * counts (may be NULL) gets the present tasks per state.  The string is
 * static.
 */
const char *cascade_verdict(const struct task_row *ts, size_t n,
			    int64_t counts[TS_N]);
void task_rows_free(struct task_row *v, size_t n);

struct run_row {
	int64_t id;
	int64_t task_id;
	char *cascade; /* names, joined in */
	char *task;
	int attempt;
	char fingerprint[SHA256_HEX_LEN + 1];
	char *revision;
	char *runner;
	char *host;
	char *message;
	enum run_state state;
	int superseded;
	int kill_requested;
	int exit_code; /* -1: none */
	int64_t started_at;
	int64_t ended_at; /* 0 while running */
	int64_t batch;	  /* runs started together share it (fan-out);
			   * 0 on insert: the run's own id */
};
void run_row_release(struct run_row *r);
void run_rows_free(struct run_row *v, size_t n);

struct input_row {
	char *name;
	int password;
	int has_value;
};

/* Open (creating it when absent) the store of a data dir. */
int store_open(struct store **out, const char *data_dir);
/* Open an existing one: ERR_NOTFOUND when nothing was ever stored there. */
int store_open_existing(struct store **out, const char *data_dir);
void store_close(struct store *s);
const char *store_data_dir(const struct store *s);
const unsigned char *store_secret_key(const struct store *s);
/*
 * A short stable id of this data dir (hex, from the secret key), naming
 * its runs on shared hosts and engines.  Owned by the store.
 */
const char *store_instance_id(const struct store *s);
int64_t store_now_ms(void);

int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

int store_cascade_find(struct store *s, const char *repo, const char *name,
		       struct cascade_row *out);
int store_cascade_get(struct store *s, int64_t id, struct cascade_row *out);
/*
 * A cascade named by an operator: "NAME" (ERR_CONFLICT, naming the repos,
 * when two active repos have it) or "REPO/NAME".
 */
int store_cascade_lookup(struct store *s, const char *spec,
			 struct cascade_row *out);
/* The generation alone: cheap, for caches of parsed definitions. */
int store_cascade_generation(struct store *s, int64_t id, int64_t *out);
/* Insert or update by (repo, name); sets row->id and row->generation. */
int store_cascade_save(struct store *s, struct cascade_row *row);
int store_cascade_list(struct store *s, int active_only,
		       struct cascade_row **out, size_t *n);
void cascade_rows_free(struct cascade_row *v, size_t n);

int store_tasks(struct store *s, int64_t cascade_id, struct task_row **out,
		size_t *n);
int store_task_find(struct store *s, int64_t cascade_id, const char *name,
		    struct task_row *out);
int store_task_get(struct store *s, int64_t task_id, struct task_row *out);
/* A new task row (state not_started); sets row->id. */
int store_task_insert(struct store *s, struct task_row *row);
/* Write every field but the state. */
int store_task_update(struct store *s, const struct task_row *row);
/* Change the state and record it in the task's history. */
int store_task_set_state(struct store *s, int64_t task_id,
			 enum task_state from, enum task_state to,
			 const char *reason);
struct history_row {
	char *from;
	char *to;
	char *reason;
	int64_t at;
};
int store_task_history(struct store *s, int64_t task_id,
		       struct history_row **out, size_t *n);
void history_rows_free(struct history_row *v, size_t n);

int store_run_insert(struct store *s, struct run_row *row);
int store_run_finish(struct store *s, int64_t run_id, enum run_state state,
		     int exit_code, const char *message);
int store_run_mark(struct store *s, int64_t run_id, int superseded,
		   int kill_requested);
/* Mark every running run of a task superseded (its definition changed). */
int store_runs_supersede(struct store *s, int64_t task_id);
int store_run_get(struct store *s, int64_t run_id, struct run_row *out);
int store_runs_of_task(struct store *s, int64_t task_id, struct run_row **out,
		       size_t *n);
int store_runs_running(struct store *s, struct run_row **out, size_t *n);
/* A task's runs, newest first, at most limit of them. */
int store_runs_page(struct store *s, int64_t task_id, size_t limit,
		    struct run_row **out, size_t *n);
/*
 * The last run on each host of a task that runs on hosts (ssh; a fan-out
 * has several), for the hosts of its newest run's definition, in the
 * definition's order; none for a task that never ran on a host.
 */
int store_runs_per_host(struct store *s, int64_t task_id,
			struct run_row **out, size_t *n);
/* The runs of a cascade started at a revision (its tasks present or
 * not), oldest first. */
int store_runs_of_revision(struct store *s, int64_t cascade_id,
			   const char *revision, struct run_row **out,
			   size_t *n);
/* The latest successful run of a task, or ERR_NOTFOUND. */
int store_run_last_success(struct store *s, int64_t task_id, int64_t *out);

/* Stored env of a run; sealed when it holds a secret. */
int store_run_env_put(struct store *s, int64_t run_id, const char *name,
		      const char *value, size_t len, int seal);
int store_run_env_get(struct store *s, int64_t run_id, const char *name,
		      struct buf *out);
int store_run_env_names(struct store *s, int64_t run_id, struct strvec *out);
int store_run_file_put(struct store *s, int64_t run_id, const char *path,
		       const char *blob, int64_t size);
int store_run_file_get(struct store *s, int64_t run_id, const char *path,
		       char blob[SHA256_HEX_LEN + 1]);
int store_run_file_names(struct store *s, int64_t run_id,
			 struct strvec *out);

/* Copy a file into blobs/ (content-addressed); out is its SHA-256. */
int store_blob_put(struct store *s, const char *src,
		   char out[SHA256_HEX_LEN + 1], int64_t *size);
void store_blob_path(const struct store *s, const char *hash,
		     struct buf *out);
void store_log_path(const struct store *s, int64_t run_id, struct buf *out);
void store_run_dir(const struct store *s, int64_t run_id, struct buf *out);

/* Present tasks of active cascades in a state, oldest first. */
int store_tasks_in_state(struct store *s, enum task_state state, size_t limit,
			 struct task_row **out, size_t *n);
/* Runs still running whose kill was requested. */
int store_runs_kill_requested(struct store *s, int64_t **out, size_t *n);

/* Repositories the daemon mirrors, and every revision it saw. */
struct repo_row {
	char *name;
	char *url;
	char *branch;
	char *head;    /* the branch's commit at the last good fetch */
	char *applied; /* the commit last reconciled */
	int64_t last_fetch_at;
	int64_t last_ok_at;
	char *last_error; /* NULL when the last fetch worked */
	int failures;	  /* fetches failed in a row */
	int branch_missing;
};
void repo_row_release(struct repo_row *r);
void repo_rows_free(struct repo_row *v, size_t n);
int store_repo_get(struct store *s, const char *name, struct repo_row *out);
int store_repo_list(struct store *s, struct repo_row **out, size_t *n);
int store_repo_save(struct store *s, const struct repo_row *r);

struct revision_row {
	char *repo;
	char *commit_id;
	char *author;
	char *subject;
	int64_t time;
	char *result; /* "applied", "invalid", "no cascade change" */
	char *errors; /* for invalid: the error lines */
	int64_t seen_at;
};
int store_revision_put(struct store *s, const struct revision_row *r);
/* The latest revisions of a repo, newest first. */
int store_revisions(struct store *s, const char *repo, size_t limit,
		    struct revision_row **out, size_t *n);
void revision_rows_free(struct revision_row *v, size_t n);

/*
 * What a revision did to a cascade (store-resets.c): the tasks it added,
 * changed, reset downstream or removed, by task name (as plan.c sorts
 * them), with their reasons; recorded when the revision is applied.
 */
struct reset_row {
	char *task;
	enum plan_action action;
	char *reason;
};
void reset_rows_free(struct reset_row *v, size_t n);
/* Record (replacing) what applying revision did to the cascade, which then
 * had ntasks tasks.  Inside the caller's transaction. */
int store_resets_put(struct store *s, int64_t cascade_id, const char *revision,
		     size_t ntasks, const struct reset_row *v, size_t n);
/* What was recorded; ERR_NOTFOUND when the revision was never applied to
 * the cascade (or before this was recorded). */
int store_resets_get(struct store *s, int64_t cascade_id, const char *revision,
		     size_t *ntasks, struct reset_row **out, size_t *n);

/* Input values; password values are sealed with secret.key. */
int store_input_put(struct store *s, int64_t cascade_id, const char *name,
		    const char *value, size_t len, int password);
int store_input_get(struct store *s, int64_t cascade_id, const char *name,
		    struct buf *out); /* ERR_NOTFOUND when unset */

/*
 * Webhook deliveries (store-hooks.c): recorded before the forge gets its
 * answer; processed_at is set once a sync after it has finished.
 */
struct delivery_row {
	const char *forge;    /* "github", "gitlab", "gitea" */
	const char *delivery; /* the forge's delivery id; NULL: none */
	const char *event;
	const char *repo; /* the matched repo, NULL when ignored */
	const char *ref;
	const char *after;
	const char *digest; /* hex SHA-256 of the signed body; NULL: none */
};
/* What the store keeps of a delivery: longer ids are cut (forges send
 * UUIDs), and processed deliveries go after DELIVERY_KEEP_DAYS, or sooner
 * beyond DELIVERY_KEEP_ROWS a repo. */
#define DELIVERY_ID_MAX 128
#define DELIVERY_KEEP_DAYS 30
#define DELIVERY_KEEP_ROWS 10000
/* ERR_CONFLICT (nothing recorded) when that delivery id, or that body,
 * came before for the repo. */
int store_delivery_record(struct store *s, const struct delivery_row *d,
			  int64_t *out_id);
/* *out = 1 when that delivery id, or a delivery of that body digest (either
 * may be NULL), was recorded before from forge (a read, no lock). */
int store_delivery_seen(struct store *s, const char *forge,
			const char *delivery, const char *digest, int *out);
/* Forget repo's processed deliveries received before older_than_ms (epoch
 * ms), and beyond its newest keep_rows; *out_n: how many went. */
int store_deliveries_prune(struct store *s, const char *repo,
			   int64_t older_than_ms, int64_t keep_rows,
			   int64_t *out_n);
/* The newest unprocessed delivery of a repo (0: none). */
int store_deliveries_pending(struct store *s, const char *repo,
			     int64_t *out_max);
int store_deliveries_done(struct store *s, const char *repo, int64_t up_to);
int store_delivery_counts(struct store *s, int64_t *out_total,
			  int64_t *out_pending);

/* API tokens: a random salt and SHA-256(salt || token); never the token. */
struct token_row {
	int64_t id;
	char *name;
	char *role; /* "admin", "operator", "viewer" */
	unsigned char salt[16];
	unsigned char hash[32];
	int64_t created_at;
	int64_t last_used_at; /* 0: never */
};
void token_rows_free(struct token_row *v, size_t n);
/* ERR_CONFLICT when the name is taken. */
int store_token_insert(struct store *s, const struct token_row *t);
int store_token_list(struct store *s, struct token_row **out, size_t *n);
int store_token_delete(struct store *s, const char *name);
int store_token_used(struct store *s, int64_t id);

/*
 * Browsers' sessions (store-sessions.c): hash is the hex SHA-256 of the
 * session id; the id itself is never stored.  A session ends at
 * expires_at (ms), when deleted, or when its token is revoked.
 */
struct session_row {
	int64_t token_id;
	char *token_name;
	char *role; /* the token's */
	int64_t expires_at;
};
void session_row_release(struct session_row *r);
int store_session_insert(struct store *s, const char *hash, int64_t token_id,
			 int64_t expires_at);
/* The live session of hash at now: 0 and *out (release it), or
 * ERR_NOTFOUND (unknown, expired, or its token revoked). */
int store_session_find(struct store *s, const char *hash, int64_t now,
		       struct session_row *out);
int store_session_delete(struct store *s, const char *hash);

/*
 * Drift probes in the store (store-checks.c).  A check run probes the
 * task's successful run run_id on one host ("local", "docker", or the ssh
 * host); its state is a run state (lost: scaffold stopped while it ran,
 * not a drift).  drift: it set the task to error; heal: it re-ran it.
 */
struct check_row {
	int64_t id;
	int64_t task_id;
	int64_t run_id;
	char *cascade; /* names, joined in */
	char *task;
	char *runner;
	char *host;
	enum run_state state;
	int exit_code; /* -1: none */
	char *message;
	int drift;
	int heal;
	int64_t started_at;
	int64_t ended_at; /* 0 while running */
};
void check_row_release(struct check_row *r);
void check_rows_free(struct check_row *v, size_t n);
/* Insert a running check run; sets row->id and row->started_at. */
int store_check_insert(struct store *s, struct check_row *row);
int store_check_finish(struct store *s, int64_t id, enum run_state state,
		       int exit_code, const char *message, int drift,
		       int heal);
int store_check_get(struct store *s, int64_t id, struct check_row *out);
/* The task's newest check run; ERR_NOTFOUND when none. */
int store_check_last(struct store *s, int64_t task_id,
		     struct check_row *out);
/* The task's newest check runs, newest first. */
int store_checks_of_task(struct store *s, int64_t task_id, size_t limit,
			 struct check_row **out, size_t *n);
int store_checks_running(struct store *s, struct check_row **out, size_t *n);
int store_check_running_count(struct store *s, int64_t task_id, int *out);
/* Check runs of the task that healed it, ended at or after since. */
int store_check_heals_since(struct store *s, int64_t task_id, int64_t since,
			    int *out);
/* Check runs by state; tasks in error by a drift (for /metrics). */
int store_check_counts(struct store *s, int64_t out[RS_N]);
int store_drifted_count(struct store *s, int64_t *out);
/* store_cascade_get without the source (NULL): cheap, for the probes. */
int store_cascade_brief(struct store *s, int64_t id, struct cascade_row *out);
/* Why the task is in its state: its newest history entry (free it). */
int store_task_reason(struct store *s, int64_t task_id, char **out);
void store_check_log_path(const struct store *s, int64_t id, struct buf *out);
/*
 * Retention: drop the task's ended check runs but the newest keep (those
 * that drifted or healed stay); *out (free it) their ids, whose logs go
 * with store_check_log_remove once the transaction is committed.
 */
#define CHECK_KEEP_RUNS 100
int store_checks_prune(struct store *s, int64_t task_id, size_t keep,
		       int64_t **out, size_t *n);
void store_check_log_remove(const struct store *s, int64_t id);
void store_check_dir(const struct store *s, int64_t id, struct buf *out);
/* When a task's next probe is due, and the successful run it follows. */
struct check_due {
	int64_t task_id;
	int64_t due_at;
	int64_t run_id;
};
int store_check_due_set(struct store *s, int64_t task_id, int64_t due_at,
			int64_t run_id);
/* ERR_NOTFOUND when the task has no probe due. */
int store_check_due_get(struct store *s, int64_t task_id,
			struct check_due *out);
int store_check_due_delete(struct store *s, int64_t task_id);
/* Due at or before until, earliest first. */
int store_check_due_list(struct store *s, int64_t until, size_t limit,
			 struct check_due **out, size_t *n);
/* The earliest due time; ERR_NOTFOUND when none. */
int store_check_due_next(struct store *s, int64_t *out);

/*
 * The scheduler (sched.c): every rule of DESIGN §3 as transactions on the
 * store.  It decides what runs; the caller runs it (through runner/) and
 * reports the end with sched_finish().  One struct sched per thread, on
 * that thread's store.
 */
struct sched;
int sched_new(struct sched **out, struct store *st);
void sched_free(struct sched *s);

/* A definition to apply: the parsed cascade and the text it came from. */
struct sched_def {
	struct cascade *cascade;
	const char *source;
	const char *file;
};

/*
 * A new revision: for each cascade, reset the changed tasks and their
 * descendants (running ones finish as superseded).  With deactivate_missing,
 * cascades of repo not in defs are deactivated, except those whose file is
 * in keep_files (files that are there but invalid: their last good
 * definition stays active).  Appends one line per cascade to report
 * ("cascade 'x': 2 changed, 5 reset").
 */
int sched_apply(struct sched *s, const char *repo, const char *revision,
		const struct sched_def *defs, size_t n, int deactivate_missing,
		const struct strvec *keep_files, struct buf *report);
/*
 * What must be recorded with an applied revision, or not at all: the hook
 * runs inside sched_apply's transaction, after the reconcile and before
 * the commit, with the report so far (the commit statuses it opens must
 * not be lost to a crash between two transactions: a revision applied
 * again reports no change, and would open none).  A negative return rolls
 * the whole apply back.  NULL: no hook.
 */
typedef int (*sched_apply_hook)(void *arg, const char *report);
void sched_set_apply_hook(struct sched *s, sched_apply_hook fn, void *arg);
/*
 * The nodes a swarm task with placement mode global runs on, asked when
 * the task is claimed (outside any transaction): the host name of every
 * node that meets the constraints is appended to out, each the host of
 * one run of the attempt.  0 (none: the attempt ends error, saying so),
 * or <0 with err_set (the attempt ends error with that message).  NULL:
 * such a task ends error ("no swarm to ask for its nodes").
 */
typedef int (*sched_nodes_hook)(void *arg, const char *const *constraints,
				size_t n, struct strvec *out);
void sched_set_nodes_hook(struct sched *s, sched_nodes_hook fn, void *arg);
/* Move every ready not_started task to waiting; *moved counts them. */
int sched_promote(struct sched *s, size_t *moved);

struct run_env_var {
	char *name;
	char *value;
	size_t len;
};
struct run_load_file {
	char *path; /* in the run dir */
	char *src;  /* local file (a blob) */
};
/* What to run: everything a runner needs, owned by the request. */
struct run_req {
	int64_t run_id;
	int64_t task_id;
	char *repo; /* the cascade's repository; "" for apply's */
	char *cascade;
	char *task;
	char *revision;
	char *runner;
	char *image;
	char *host;
	struct strvec placement; /* swarm */
	int64_t nano_cpus;
	int64_t memory_bytes;
	int attempt;
	int64_t timeout_ms;
	char *script;
	size_t script_len;
	char *umask; /* the task's ("077"); NULL: the host's, else 022 */
	struct run_env_var *env; /* SCAFFOLD_*, env, inputs, loaded env */
	size_t nenv;
	struct run_load_file *files;
	size_t nfiles;
	struct strvec store_files;
	struct strvec store_env;
	struct run_env_var *secrets; /* values to mask (name unused) */
	size_t nsecrets;
	char *log_path;
	char *work_dir;
};
void run_req_free(struct run_req *r);

/*
 * Claim up to max waiting tasks: each becomes running with a new run row.
 * A task that cannot start (an input without a value, a load nothing
 * satisfies) has its run ended at once as an error and is not returned.
 */
int sched_claim(struct sched *s, size_t max, struct run_req ***out,
		size_t *n);

/* How a run ended, as reported by the runner. */
struct run_done {
	int64_t run_id;
	enum run_state state;
	int exit_code;
	const char *message;
	const struct run_env_var *env;
	size_t nenv;
	const struct run_load_file *files; /* collected: path, local src */
	size_t nfiles;
	/* optional, out: when a file could not be stored (a full disk), the
	 * run is recorded as error and the reason is copied here */
	char *store_error;
	size_t store_error_len;
};
/*
 * Record the end of a run, move its task on, and promote its children.
 * A successful run whose files cannot be stored ends error, naming the
 * file: "cannot store file 'PATH': ...".
 */
int sched_finish(struct sched *s, const struct run_done *d);

/*
 * Run a task by hand: its descendants reset and it becomes waiting even
 * with auto_execute: false.  Refused (ERR_CONFLICT, the unmet parents
 * named in the error) unless its parents are satisfied or force is set.
 */
int sched_trigger(struct sched *s, const char *repo, const char *cascade,
		  const char *task, int force, int64_t *out_task_id);
/* Set an input; tasks mapping it, and their descendants, reset. */
int sched_input_set(struct sched *s, const char *repo, const char *cascade,
		    const char *name, const char *value, size_t len,
		    struct buf *report);
/*
 * Put (or replace) file name of a cascade's file store with the blob
 * already in blobs/ (store_file_put_blob), or remove it, in one
 * transaction with its effect: the tasks that load it from the store
 * (their fingerprint holds its content hash) and their descendants reset,
 * each with the reason "file 'NAME' changed in the file store" ("removed
 * from"), and those ready are promoted.  report as sched_input_set.
 * ERR_NOTFOUND: no such cascade (delete: no such file).
 */
/*
 * The loads of defs (cascades of repo, "" for files applied by hand) that
 * only the file store can satisfy: each one's validation warning ("it
 * must be in the cascade's file store") is dropped from d when the store
 * has the file, or always with drop_all; for each file the store does not
 * have, missing(arg, cascade, task, file) when not NULL.
 */
typedef void (*file_missing_fn)(void *arg, const char *cascade,
				const char *task, const char *file);
void file_store_loads(struct store *st, const char *repo,
		      const struct sched_def *defs, size_t ndefs,
		      struct diags *d, int drop_all, file_missing_fn missing,
		      void *arg);
struct file_row;
int sched_file_put(struct sched *s, int64_t cascade_id, const char *name,
		   const char *blob, int64_t size, struct file_row *out,
		   int *out_created, struct buf *report);
int sched_file_delete(struct sched *s, int64_t cascade_id, const char *name,
		      struct buf *report);
/* Ask for a run to be killed (the executor that runs it acts on it). */
int sched_kill(struct sched *s, int64_t run_id);
/*
 * A run stopped because scaffold itself stops: it ends lost, and its task
 * goes back to waiting without counting an attempt, to run again (a run
 * of an older definition ends superseded: its task goes to not_started).
 */
int sched_interrupt(struct sched *s, int64_t run_id, const char *why);
/*
 * A run found, after a restart, never to have started (scaffold died
 * between claiming it and starting its script): it ends lost with why,
 * and its task goes back to waiting without counting the attempt, as
 * after sched_interrupt.  The host of a fan-out ends lost as any lost run
 * does: its task is not started again over its other hosts' runs, which
 * may be going on.  1 when the task was put back, 0 when the run ended
 * lost; a negative code (the run is not running: ERR_GENERIC).
 */
int sched_not_started(struct sched *s, int64_t run_id, const char *why);
/*
 * Every run the store shows running, as requests to re-adopt (after a
 * restart).  A request without a script (its definition is gone) can only
 * be ended lost.
 */
int sched_running(struct sched *s, struct run_req ***out, size_t *n);
/* Runs left running by a process that is gone end as lost. */
int sched_recover_lost(struct sched *s, const char *why, size_t *n);
/* The active definition of a cascade (cached; owned by the scheduler). */
int sched_definition(struct sched *s, int64_t cascade_id,
		     const struct cascade **out);

/*
 * Drift probes (sched-check.c).  sched_check_claim hands out up to max
 * probes that are due, as run requests (run_id: the check run's id; log
 * and work dir its own; the task's environment plus SCAFFOLD_CHECK=1);
 * sched_check_finish records one's end (d->run_id the check run): a
 * failure of the task's current success is drift, or a heal, and note
 * says which.  sched_check_next: the earliest due time (ERR_NOTFOUND when
 * none).  sched_check_interrupt: scaffold stops (or stopped) while a
 * probe ran: it ends lost, no verdict, and is due again at once.
 */
int sched_check_claim(struct sched *s, size_t max, struct run_req ***out,
		      size_t *n);
int sched_check_finish(struct sched *s, const struct run_done *d,
		       struct buf *note);
int sched_check_next(struct sched *s, int64_t *out);
int sched_check_interrupt(struct sched *s, int64_t check_id,
			  const char *why);
/* Check runs the store shows running (after a restart: interrupted). */
int sched_check_running(struct sched *s, struct check_row **out, size_t *n);
/* Every task in success with a check gets a due time (at start). */
int sched_check_sweep(struct sched *s);

/*
 * A cascade's file store (store-files.c): files an operator uploads for
 * tasks to `load` when no ancestor stores them.  Names follow the rules of
 * store/load file names: relative paths inside the run dir, no '..', no
 * absolute paths.  The bytes live in blobs/.
 */
struct file_row {
	char *name;
	char blob[SHA256_HEX_LEN + 1]; /* SHA-256 of the content */
	int64_t size;
	int64_t updated_at;
};
void file_rows_free(struct file_row *v, size_t n);
/* 0, or ERR_INVALID with a message naming the file and the rule. */
int store_file_name_check(const char *name);
/*
 * Make the file at path (open as fd, written in full, in the data dir's
 * file system), whose SHA-256 is hash, a blob: renamed into blobs/, or
 * removed when that blob is there already.
 */
int store_blob_adopt(struct store *s, const char *path, int fd,
		     const char hash[SHA256_HEX_LEN + 1]);
/* Write data into blobs/; out is its SHA-256. */
int store_blob_put_data(struct store *s, const void *data, size_t len,
			char out[SHA256_HEX_LEN + 1]);
/*
 * Store data as name (replacing it); out (if given, caller frees its name)
 * gets the row, *out_created whether the name is new.  ERR_INVALID for a
 * bad name.
 */
int store_file_put(struct store *s, int64_t cascade_id, const char *name,
		   const void *data, size_t len, struct file_row *out,
		   int *out_created);
/* The same for bytes stored already (store_blob_put): blob, size bytes. */
int store_file_put_blob(struct store *s, int64_t cascade_id, const char *name,
			const char *blob, int64_t size, struct file_row *out,
			int *out_created);
/* ERR_NOTFOUND when absent; caller frees out->name. */
int store_file_get(struct store *s, int64_t cascade_id, const char *name,
		   struct file_row *out);
/* Sorted by name; free with file_rows_free. */
int store_file_list(struct store *s, int64_t cascade_id, struct file_row **out,
		    size_t *n);
/* ERR_NOTFOUND when absent. */
int store_file_delete(struct store *s, int64_t cascade_id, const char *name);

/* Counts for /metrics (store-stats.c): every run by state; present tasks
 * of active cascades by state. */
int store_run_counts(struct store *s, int64_t out[RS_N]);
int store_task_counts(struct store *s, int64_t out[TS_N]);

/*
 * The commit status outbox (store-outbox.c): durable intent, one row per
 * status to post, sent by the daemon's outbox thread oldest first.  States
 * are scaffold's own ("pending", "success", "failure", "error",
 * "canceled"); each forge's client maps them to its words.
 */
#define STATUS_NO_CHANGE (-2)
struct status_row {
	int64_t id;
	char *repo;
	char *commit_id;
	char *context;	   /* "scaffold/<cascade>" */
	char *state;
	char *description; /* at most STATUS_DESCRIPTION_MAX bytes */
	char *target_url;
	int changed;	   /* tasks the revision changed; -1: unknown;
			    * STATUS_NO_CHANGE: it touched the cascade's
			    * file, not its definition */
	int64_t opened_at; /* when the revision was applied */
	int64_t created_at;
	int attempts;	   /* failed attempts so far */
	int64_t next_at;   /* not to be tried before */
	int64_t sent_at;   /* 0: still to send */
	char *outcome;	   /* "sent", "skipped", "unchanged", "failed" */
	char *last_error;
	int superseded;	   /* (unsent lists) a newer row has the same repo,
			    * commit and context */
};
#define STATUS_DESCRIPTION_MAX 140
/* The retry delay after attempts failed attempts: 1 s, 2 s, 4 s, ...,
 * at most 5 minutes. */
#define STATUS_BACKOFF_MAX_MS ((int64_t)5 * 60 * 1000)
int64_t status_backoff_ms(int attempts);
void status_row_release(struct status_row *r);
void status_rows_free(struct status_row *v, size_t n);
/* Add a row to send now; sets row->id, created_at and next_at. */
int store_status_enqueue(struct store *s, struct status_row *row);
/* The newest row of (repo, commit, context); ERR_NOTFOUND when none. */
int store_status_last(struct store *s, const char *repo, const char *commit,
		      const char *context, struct status_row *out);
/*
 * The newest row of (repo, context) on any commit that follows a revision's
 * runs (every state but "error", which marks an invalid file);
 * ERR_NOTFOUND when none.
 */
int store_status_tracked(struct store *s, const char *repo,
			 const char *context, struct status_row *out);
/* The tracked rows (as above) that are "pending": revisions not settled. */
int store_status_open(struct store *s, struct status_row **out, size_t *n);
/* Rows still to send, oldest first, at most limit, superseded set. */
int store_status_unsent(struct store *s, size_t limit,
			struct status_row **out, size_t *n);
/* The row is done: outcome "sent", "skipped", "unchanged" or "failed". */
int store_status_done(struct store *s, int64_t id, const char *outcome,
		      const char *error);
/* An attempt failed: count it, and retry after status_backoff_ms(). */
int store_status_retry(struct store *s, int64_t id, const char *error);
/*
 * The runs of a cascade's present tasks started at or after since (not
 * superseded), oldest first.  Filled: id, task_id, task, state,
 * exit_code, message, started_at, ended_at, host.
 */
int store_status_runs(struct store *s, int64_t cascade_id, int64_t since,
		      struct run_row **out, size_t *n);

/*
 * Pull request plans (store-prplans.c): one row per (repo, number, head),
 * "pending" until the repo's worker plans it, then "success", "failure"
 * (an invalid file) or "error" (the head could not be fetched or read).
 * plan is the JSON the page /p/REPO/SHA shows.
 */
struct prplan_row {
	int64_t id;
	char *repo;
	int64_t number;
	char *ref;  /* its head's ref: refs/pull/N/head, refs/merge-requests/
		     * N/head (GitLab) */
	char *head;
	char *base; /* the branch the pull request goes into */
	char *state;
	char *summary; /* the status description; NULL while pending */
	char *plan;    /* JSON; NULL while pending */
	int64_t received_at;
	int64_t planned_at;
	int64_t closed_at; /* 0: open; else when the pull request closed */
	char *closed_how;  /* "closed" or "merged"; NULL while open */
};
void prplan_row_release(struct prplan_row *r);
void prplan_rows_free(struct prplan_row *v, size_t n);
/* Ask for the plan of head (a row "pending"); *out_new (may be NULL) 0
 * when that pull request's head was asked for already (and is neither
 * closed nor into another base: then it is planned again). */
int store_prplan_request(struct store *s, const char *repo, int64_t number,
			 const char *ref, const char *head, const char *base,
			 int *out_new);
/* The pending rows of repo, oldest first. */
int store_prplans_pending(struct store *s, const char *repo,
			  struct prplan_row **out, size_t *n);
int store_prplan_finish(struct store *s, int64_t id, const char *state,
			const char *summary, const char *plan);
/* The newest plan of head in repo; ERR_NOTFOUND when none. */
int store_prplan_get(struct store *s, const char *repo, const char *head,
		     struct prplan_row *out);
/* The pull request is closed (how: "closed", "merged"): its plans are
 * marked so (pending ones are not planned); *out_closed: rows marked. */
int store_prplans_close(struct store *s, const char *repo, int64_t number,
			const char *how, int *out_closed);

/*
 * Pull request comments (store-prcomments.c): one per (repo, pull
 * request), the body it should say now; the outbox thread sends the
 * newest version (create, or update in place).
 */
#define PRCOMMENT_MARKER_LEN 32
struct prcomment_row {
	char *repo;
	int64_t number;
	char *marker;	  /* random hex, written in the body */
	char *comment_id; /* the forge's; NULL until known */
	char *body;
	int64_t version;
	int create_tried; /* a create was sent, its answer not recorded */
	int attempts;
	int64_t next_at;
	char *last_error;
};
void prcomment_row_release(struct prcomment_row *r);
void prcomment_rows_free(struct prcomment_row *v, size_t n);
/* The marker of (repo, number): 0 when its row exists; ERR_NOTFOUND with
 * a fresh one when there is none yet; -1. */
int store_prcomment_marker(struct store *s, const char *repo, int64_t number,
			   char out[PRCOMMENT_MARKER_LEN + 1]);
/* Set the body (a new version to send); marker is used for a new row. */
int store_prcomment_set(struct store *s, const char *repo, int64_t number,
			const char *marker, const char *body);
/* Rows whose newest version is not sent, oldest change first. */
int store_prcomments_due(struct store *s, size_t limit,
			 struct prcomment_row **out, size_t *n);
/* A create is about to be sent (before it: found by marker after). */
int store_prcomment_tried(struct store *s, const char *repo, int64_t number);
/* The forge's id of the comment (NULL: forget it, it is gone). */
int store_prcomment_id(struct store *s, const char *repo, int64_t number,
		       const char *comment_id);
/* version is done: sent, or refused for good (error set). */
int store_prcomment_sent(struct store *s, const char *repo, int64_t number,
			 int64_t version, const char *error);
/* An attempt failed: retry after status_backoff_ms(attempts). */
int store_prcomment_retry(struct store *s, const char *repo, int64_t number,
			  int attempts, const char *error);
/* The newest plan of the head that prefix (4 to 40 hex digits) starts;
 * ERR_NOTFOUND when none, ERR_CONFLICT when two heads start so. */
int store_prplan_find(struct store *s, const char *repo, const char *prefix,
		      struct prplan_row *out);

#endif
