/*
 * sched-int.h - internals shared by the files of the scheduler: sched.c
 * (the state machine), sched-req.c (what a run needs), sched-check.c
 * (drift probes).
 */
#ifndef SCAFFOLD_SCHED_INT_H
#define SCAFFOLD_SCHED_INT_H

#include "reconciler-int.h"

struct def_entry {
	int64_t cascade_id;
	int64_t generation;
	struct cascade *c;
};

struct sched {
	struct store *st;
	struct def_entry *defs;
	size_t ndefs;
	size_t alloc;
	sched_apply_hook apply_hook;
	void *apply_hook_arg;
	sched_nodes_hook nodes_hook;
	void *nodes_hook_arg;
};

/* The value of an input: the stored one, else the default; ERR_NOTFOUND
 * when it has none. */
int input_value(struct sched *s, int64_t cascade_id, const struct input *in,
		struct buf *out);
/* Every password value of the cascade (set or default): masked in logs.
 * *out is freed with env_vars_free. */
int cascade_secrets(struct sched *s, int64_t cascade_id,
		    const struct cascade *c, struct run_env_var **out,
		    size_t *n);
/* Free n variables, wiping their values. */
void env_vars_free(struct run_env_var *v, size_t n);
/* Task rows by name, for lookups in a cascade's rows. */
void index_rows(struct strmap *m, struct task_row *rows, size_t n);
/*
 * Promote ready tasks of one cascade, inside the caller's transaction;
 * with only, just the children of that task.
 */
int promote_cascade(struct sched *s, int64_t cascade_id, const char *only,
		    size_t *moved);
/* What made a reconcile without a new definition: a file of the store. */
struct file_change {
	const char *name;
	int removed;
};
/*
 * Reconcile one cascade against a definition, inside the caller's
 * transaction: changed (new, or a different fingerprint) tasks and their
 * descendants reset, each with why; removed tasks leave the DAG.  With
 * keep_revision, the cascade keeps its revision; fc (or NULL) names the
 * file-store change that caused it, for the reasons.
 */
int reconcile(struct sched *s, const char *repo, const char *revision,
	      const struct sched_def *def, int keep_revision,
	      const struct file_change *fc, struct buf *report);
/*
 * Why task t changed when its definition did not (the plan says no): the
 * file fc (or NULL) it loads from the file store, else its input values
 * or its files in the store (sched-files.c).
 */
void unplanned_reason(struct buf *out, const struct cascade *c,
		      const struct task *t, const struct file_change *fc);
/* Put a task back to not_started (a running one finishes superseded). */
int reset_task(struct sched *s, struct task_row *r, const char *reason);
/*
 * Run a task by hand inside the caller's transaction (sched_trigger's
 * rules); reason goes to its history.  ERR_CONFLICT as sched_trigger.
 */
int trigger_locked(struct sched *s, int64_t cascade_id,
		   const struct cascade *c, const char *task, int force,
		   const char *reason, int64_t *out_task_id);

/*
 * Everything a runner needs for task t (sched-req.c), r->run_id set by
 * the caller.  On a problem that stops the run (an input without value, a
 * load nothing satisfies) returns ERR_INVALID with the reason in
 * err_msg().
 */
int build_req(struct sched *s, const struct cascade *c, const char *repo,
	      int64_t cascade_id, const char *revision, const struct task *t,
	      const char *host, struct run_req *r);
/* Add (or replace) a variable of r's environment. */
void push_env(struct run_req *r, size_t *alloc, const char *name,
	      const char *value, size_t len);

/*
 * Drift probes (sched-check.c), inside the caller's transaction: a task
 * that has just succeeded with a check gets its first probe due in about
 * one interval.
 */
int check_arm_locked(struct sched *s, const struct task_row *task,
		     const struct task *t);

/* Arm the checks of a cascade's tasks in success that have none due. */
int check_sweep_locked(struct sched *s, int64_t cascade_id);

#endif
