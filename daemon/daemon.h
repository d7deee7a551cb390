/*
 * daemon.h - the daemon's runtime: serve (a thread per repository,
 * reconciling each new revision), the executor of runs, the drift probes,
 * and handing the config's runners their settings.  Commands in cli/
 * call it; it calls nothing in cli/.
 */
#ifndef SCAFFOLD_DAEMON_H
#define SCAFFOLD_DAEMON_H

#include "../common/common.h"
#include "../reconciler/reconciler.h"

int serve_run(struct config *cf, int quiet);

/*
 * Plan the pending pull request heads of rc (prplan.c), on its worker
 * thread after a fetch: fetch each head into the mirror, plan its cascade
 * files against the applied definitions, keep the plan and enqueue its
 * "scaffold/plan" status (ob woken; may be NULL).  Nothing is applied or
 * run.  0, or <0 with err_set on a store error.
 */
struct outbox;
int prplan_run(const struct config *cf, const struct repo_config *rc,
	       struct store *st, struct outbox *ob, const char *mirror);

/*
 * Tell systemd the daemon's state (notify.c): state is one or more
 * "VAR=VALUE" lines ("READY=1", "STOPPING=1", "RELOADING=1"), sent as
 * one datagram to $NOTIFY_SOCKET (a path, or '@' for an abstract name).
 * 0 when sent or when NOTIFY_SOCKET is unset; -1 with err_set().
 */
int notify_send(const char *state);

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
/*
 * What ended runs left on the swarm (a crash), removed (sweep.c); called
 * by exec_adopt_all once the running runs are adopted.
 */
void sweep_swarm(struct store *st, int quiet);
/* A reloaded max_parallel (exec_step's thread). */
void exec_set_max_parallel(struct exec *x, int max_parallel);
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
void runners_configure_hosts(const struct config *cf);

/*
 * Retention (gc.c): the runs cf's 'retention' lets go with their logs
 * and run dirs, processed deliveries past retention.deliveries, and the
 * blobs nothing refers to (those written less than blob_grace_ms ago are
 * kept: a run or an upload may not have recorded them yet; 0 when the
 * caller holds the data dir's lock).  dry_run counts what would go.
 * cf may be NULL: blobs only.  0, or -1 with the message set.
 */
struct gc_stats {
	int64_t runs, logs, blobs, deliveries;
	int64_t checks, check_logs; /* the drift probes' check runs */
	int64_t freed_bytes; /* disk blocks of what went (or would) */
	int64_t data_bytes;  /* the data dir after it */
};
int gc_run(struct store *st, const char *data_dir, const struct config *cf,
	   int64_t blob_grace_ms, int dry_run, struct gc_stats *out);
int64_t gc_dir_bytes(const char *dir);
int runners_configure_local(const struct config *cf, const char *data_dir);
/* A reloaded config's secret files, hidden from local runs from now on. */
void runners_local_hide(const struct config *cf, const char *data_dir);

#endif
