/*
 * runner.h - one interface, several backends chosen by name (OpenSMTPD's
 * queue backends are the model): "local" (a process on this machine),
 * "docker" (a container on the local engine) and "ssh" (a host of the
 * inventory).
 *
 * A run goes: ops->start() → ops->wait() (blocks; streams output into the
 * log with secrets masked; on success collects stored files and env) →
 * ops->free().  ops->kill() may be called from another thread at any time
 * between start and free.  Every function returns 0 or a negative ERR_* code
 * with err_set() called; a failed run is not an error of the function: it is
 * a run_result with outcome RUN_ERROR.
 */
#ifndef SCAFFOLD_RUNNER_H
#define SCAFFOLD_RUNNER_H

#include "../common/common.h"

/* An environment variable; values may hold any byte but NUL. */
struct runner_env {
	char *name;
	char *value;
	size_t len;
};

/* A file in the run dir: path relative to it, content from a local file. */
struct runner_file {
	char *path;
	char *src;
};

struct run_spec {
	int64_t run_id;
	/*
	 * Which scaffold the run belongs to (store_instance_id of its data
	 * dir): runs of two scaffolds sharing a host or a Docker engine never
	 * mix.  NULL: none.
	 */
	const char *instance;
	const char *cascade;
	const char *task;
	const char *revision;
	const char *host;  /* ssh: the host; else NULL */
	const char *image; /* docker, swarm: the image; else NULL */
	/* swarm: placement constraints, CPUs in 1e-9, memory bytes (0: no
	 * limit) */
	const char *const *placement;
	size_t nplacement;
	int64_t nano_cpus;
	int64_t memory_bytes;
	int attempt;

	const char *script; /* the task's run script, run by /bin/sh -e */
	size_t script_len;
	/*
	 * The script's umask, three or four octal digits ("077"); NULL: the
	 * host's (ssh inventory), else 022.  Scaffold's own files of the run
	 * (store env, exit status) are written with 077 whatever it is.
	 */
	const char *umask;
	/*
	 * The environment in order (later entries win): SCAFFOLD_CASCADE,
	 * SCAFFOLD_TASK, SCAFFOLD_RUN_ID, SCAFFOLD_REVISION, SCAFFOLD_ATTEMPT,
	 * SCAFFOLD_HOST (ssh), then the task's env, its mapped inputs, its
	 * loaded env.  The runner adds SCAFFOLD_RUN_DIR itself.
	 */
	const struct runner_env *env;
	size_t nenv;
	const struct runner_file *files; /* loaded files, placed before start */
	size_t nfiles;
	const char *const *store_files; /* collected after success */
	size_t nstore_files;
	const char *const *store_env; /* captured after success */
	size_t nstore_env;

	int64_t timeout_ms; /* 0: none */
	/*
	 * A local directory that belongs to this run (created by the caller,
	 * empty).  The local runner makes the run dir inside it; every runner
	 * puts collected files there.
	 */
	const char *work_dir;
	int log_fd; /* output goes here (appended), secrets masked; -1: none */
	/* Values replaced by "********" in the log, as it is written. */
	const char *const *secrets;
	const size_t *secret_lens;
	size_t nsecrets;
};

/*
 * The file a run may write in its run dir for the status page to render
 * (DESIGN §2, "Display").  Every backend collects it after a success, like
 * a store file but only when present, and returns it in run_result.files
 * under this name.
 */
#define RUN_DISPLAY_FILE ".display"

enum run_outcome { RUN_SUCCESS, RUN_ERROR, RUN_KILLED, RUN_LOST };
extern const char *const run_outcome_names[4];

struct run_result {
	enum run_outcome outcome;
	int exit_code;	  /* -1 when the script did not exit by itself */
	char message[512]; /* for people: "exit code 3", "timed out after 5m" */
	struct runner_env *env; /* captured store env, in store_env order */
	size_t nenv;
	/* collected store files: path as in store_files, src = local copy */
	struct runner_file *files;
	size_t nfiles;
};
void run_result_release(struct run_result *r);

struct run_handle; /* a backend's own */

struct runner_ops {
	const char *name;
	int (*start)(struct run_handle **out, const struct run_spec *spec);
	int (*wait)(struct run_handle *h, struct run_result *out);
	int (*kill)(struct run_handle *h);
	void (*free)(struct run_handle *h);
	/*
	 * Re-attach to a run started by an earlier scaffold process (after a
	 * restart), found by spec->run_id; then wait/kill/free as usual.
	 * ERR_NOTFOUND when the run is gone (the caller ends it lost);
	 * RUNNER_NOT_STARTED when it provably never started (the caller runs
	 * its task again).  NULL for backends that cannot.  The log is
	 * appended to from where it was.
	 */
	int (*adopt)(struct run_handle **out, const struct run_spec *spec);
};

/*
 * adopt(): the earlier scaffold died before the run's script could start
 * (local: no init recorded; docker: no container, or one never started;
 * ssh: no run dir, or no output file: the wrapper was never forked), and
 * nothing it left can start it any more.  Nothing of the run ran.
 */
#define RUNNER_NOT_STARTED (-100)

/*
 * Settings of the docker backend, from the daemon's config (docker:
 * {socket, keep_failed}); call before the first run.  socket NULL: the
 * default /var/run/docker.sock.
 */
void runner_docker_configure(const char *socket, int keep_failed);

/*
 * Settings of the swarm backend, from the daemon's config (swarm: {socket
 * | url, ca, cert, key, network, pending_timeout}), copied; call before
 * the first run.  Without a call, a swarm run fails at its start ("no
 * swarm is configured").  pending_timeout_ms <= 0: 5 minutes.
 */
struct swarm_conf {
	const char *socket; /* NULL with url NULL: /var/run/docker.sock */
	const char *url;
	const char *ca, *cert, *key;
	const char *network; /* NULL: none */
	int64_t pending_timeout_ms;
};
void runner_swarm_configure(const struct swarm_conf *conf);
/*
 * The host names of the configured swarm's nodes a task of placement mode
 * global runs on (swarm-nodes.c): ready, active, meeting every constraint
 * ("node.labels.pool==build"), appended to out in the manager's order.
 * 0, or -1 with err_set (the manager cannot be reached, two nodes share a
 * host name); out is unchanged then.
 */
int runner_swarm_nodes(struct strvec *out, const char *const *constraints,
		       size_t n);
/*
 * At a start, before any new run: what runs of instance left on the
 * configured swarm after a crash (services, their containers on the
 * manager's engine, configs, labelled scaffold.instance=INSTANCE) is
 * removed when ended(arg, RUN_ID) says the store records the run as
 * ended (1); a run still running (0, adopted) or unknown to the store
 * (-1) keeps its things.  *services, *containers and *configs count
 * what went.  0 (also without a
 * swarm, or without instance), or -1 with err_set.
 */
int runner_swarm_sweep(const char *instance,
		       int (*ended)(void *arg, int64_t run_id), void *arg,
		       size_t *services, size_t *containers, size_t *configs);

/*
 * Caps on the files a run stores (the daemon config's limits: {store_file,
 * store_run}): bytes of one file, and of all the files of one run (its
 * .display included).  A run over a cap ends error with a message naming
 * the file and the config key.  <= 0: the default (256 MiB, 1 GiB).  Call
 * before the first run; every backend applies them.
 */
#define RUNNER_STORE_FILE_DEFAULT ((int64_t)256 << 20)
#define RUNNER_STORE_RUN_DEFAULT ((int64_t)1 << 30)
void runner_store_limits(int64_t max_file, int64_t max_run);

/*
 * The cap on the output of one run in its log (the daemon config's limits:
 * {run_log}); <= 0: the default.  Output past it is dropped, the run goes
 * on; the log says so on a line that starts with RUN_LOG_CUT_NOTE, written
 * at the cap's offset or after it (output never is).  Call before the
 * first run; every backend applies it.
 */
#define RUNNER_RUN_LOG_DEFAULT ((int64_t)32 << 20)
#define RUN_LOG_CUT_NOTE "scaffold: output cut at "
void runner_log_limit(int64_t max);
int64_t runner_log_max(void);

/*
 * A run's .display is kept for the status page when it is at most this
 * long (the page renders no more); a longer one is dropped, with a line in
 * the log, whatever the task.
 */
#define RUN_DISPLAY_MAX ((int64_t)1 << 20)

/*
 * A host of the ssh backend's inventory (the daemon config's hosts:).
 * spec->host names one by its name.
 */
struct ssh_host {
	const char *name;
	const char *address;	      /* name or IP address to connect to */
	int port;		      /* <= 0: 22 */
	const char *user;
	const char *key_file;	      /* private key (ed25519, ecdsa or RSA) */
	const char *known_hosts_file; /* the host's key must be listed here */
	int max_sessions;	      /* runs at once on the host; <= 0: 8 */
	const char *umask; /* the runs' umask unless the task has one;
			    * NULL: 022 */
};
/*
 * Set the ssh inventory (copied) and drop the connections to the hosts of
 * the previous one (once their runs are freed); call before the runs.
 * runner_ssh_configure(NULL, 0) closes every connection, e.g. at exit.
 */
void runner_ssh_configure(const struct ssh_host *hosts, size_t n);
/*
 * Connect to host, check its key against its known_hosts, log in and find
 * the home directory (appended to home); then log out.  Nothing is started
 * on the host.  0, ERR_AUTH (the key or the login refused), or -1; the
 * message says which host and why.
 */
int runner_ssh_probe(const struct ssh_host *host, struct buf *home);

/*
 * Settings of the local backend: the user local tasks run as when
 * scaffold is root (NULL: the daemon's own; as root, root without any
 * capability), and
 * the paths its tasks must not see (the data dir, the config, secret
 * files; absolute).  Call before the first run.
 */
/* Replace what local runs must not see (a reloaded config); a run that
 * started keeps its sandbox. */
void runner_local_hide(const char *const *hide, size_t n);
int runner_local_configure(const char *user, const char *const *hide,
			   size_t n);

/*
 * The line a run's wrapper sets the script's umask with: "umask 022\n",
 * or the task's (spec->umask), else the host's (host_umask, or NULL).
 */
#define RUNNER_UMASK_DEFAULT "022"
void runner_umask_line(struct buf *w, const struct run_spec *spec,
		       const char *host_umask);

/* The backend of that name, or NULL. */
const struct runner_ops *runner_find(const char *name);

/*
 * "local": /bin/sh -e in a process group of its own, cwd work_dir/run (the
 * run dir), scaffold's own files in work_dir/meta (not in the run dir), a
 * clean environment (PATH, HOME, LANG=C.UTF-8, spec->env, SCAFFOLD_RUN_DIR),
 * stdin /dev/null, stdout and stderr into the log.  Collected files are
 * copied out of the run dir, each opened once without following a symlink
 * (see runner_collect_file), into work_dir/store/N (src names that
 * copy).  free() does not remove work_dir.  The process must not ignore SIGCHLD nor reap children it did
 * not start (waitpid(-1, ...)).
 */
extern const struct runner_ops runner_local;
extern const struct runner_ops runner_docker;
/*
 * "ssh": /bin/sh -e on the inventory host spec->host, in a process group
 * of its own, as the host's user, run dir ~/.scaffold/runs/RUN_ID/run
 * (scaffold's files in ~/.scaffold/runs/RUN_ID/meta), removed after the
 * run.  The environment is the login environment of the user plus
 * spec->env and SCAFFOLD_RUN_DIR; env names must be shell variable names.
 * One SSH connection per host, shared by its runs; start() blocks while
 * the host already has max_sessions runs.  A run whose connection breaks
 * ends RUN_LOST.  Collected files go to work_dir/run/PATH.
 */
extern const struct runner_ops runner_ssh;
/*
 * "swarm": a ReplicatedJob service of one task on a Docker Swarm (see
 * swarm.c): the docker contract on whichever node takes it; with
 * spec->host (placement mode global), on the node of that host name.
 */
extern const struct runner_ops runner_swarm;

/*
 * Secret masking for a stream: bytes go in, bytes with every secret
 * replaced by "********" come out, even when a secret spans two writes.
 */
struct masker;
/*
 * The secrets are copied; empty ones are ignored.  Occurrences that overlap
 * are merged into one mask.  Free with masker_free().
 */
struct masker *masker_new(const char *const *secrets, const size_t *lens,
			  size_t n);
/* Mask data into out; holds back a tail that might start a secret. */
void masker_feed(struct masker *m, const char *data, size_t len,
		 struct buf *out);
/* The held-back tail, at the end of the stream. */
void masker_flush(struct masker *m, struct buf *out);
void masker_free(struct masker *m);

#endif
