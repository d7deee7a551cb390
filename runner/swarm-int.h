/* swarm-int.h - what swarm.c and swarm-frame.c share. */
#ifndef SCAFFOLD_RUNNER_SWARM_INT_H
#define SCAFFOLD_RUNNER_SWARM_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "runner-int.h"

#define SWARM_FRAME_MAX ((size_t)200 << 20) /* hex of the outputs */

/*
 * The frame of a run's outputs on its stdout: "MARK begin", "x STATUS",
 * then per output a header ("f N", "n N", "l N", "e N", "d") and its bytes
 * in hex lines, then "MARK end".  MARK derives from the instance and the
 * run id, so that an adopted run finds it again.
 */
struct swarm_frame {
	char mark[80];
	struct buf hold; /* stdout bytes that may start a mark */
	int state;	 /* 0 before "begin", 1 inside, 2 after "end" */
	struct buf data; /* between the marks */
	bool big;	 /* over SWARM_FRAME_MAX: dropped */
};
typedef void (*swarm_out_fn)(void *arg, const char *data, size_t len);

void swarm_frame_init(struct swarm_frame *f, const char *instance,
		      int64_t run_id);
void swarm_frame_release(struct swarm_frame *f);
/*
 * The wrapper's part: swarm_frame_out_fn (its helper, and fd 7 saved as
 * the stdout) before the wrapper; the epilogue inside its end.
 */
extern const char swarm_frame_out_fn[];
void swarm_frame_epilogue(struct buf *w, const struct swarm_frame *f,
			  const struct strvec *store_files,
			  const struct strvec *store_env);
/* Stdout bytes: the output goes to out, the frame is kept. */
void swarm_frame_feed(struct swarm_frame *f, const char *data, size_t len,
		      swarm_out_fn out, void *arg);
/* At the end: the held-back bytes are output, unless a frame began. */
void swarm_frame_flush(struct swarm_frame *f, swarm_out_fn out, void *arg);
/* The frame in the whole stdout of a task (adopt); true when found. */
bool swarm_frame_find(struct swarm_frame *f, const char *data, size_t len);
/*
 * The frame's outputs into out (files written under run_dir): 0, or 1
 * with out->message set when the run fails.
 */
int swarm_frame_collect(const struct swarm_frame *f,
			const struct strvec *store_files,
			const struct strvec *store_env, const char *run_dir,
			struct run_result *out);

/*
 * An engine on the configured swarm's manager (runner_swarm_configure);
 * *pending_ms (or NULL) gets the scheduling deadline.  0, or -1 with
 * err_set ("no swarm is configured ...").
 */
struct engine;
int swarm_engine_open(struct engine *eng, int64_t *pending_ms);
/*
 * The constraint that pins a run of placement mode global to its node,
 * named by its host name (swarm-nodes.c); the caller frees it.
 */
char *swarm_node_pin(const char *host);
/*
 * Whether a node (an entry of GET /nodes) takes a task of placement mode
 * global with these constraints: ready, availability active, every
 * constraint met.  1, 0, or -1 with err_set (a constraint that is not
 * one).
 */
int swarm_node_eligible(json_t *node, const char *const *constraints,
			size_t n);
/* Whether runner_swarm_configure() was given a swarm. */
bool swarm_is_configured(void);
/*
 * Remove what run run_id of instance left on the swarm: its service, its
 * containers on the manager's engine, its configs (swarm-sweep.c).
 * *had_service says whether there was a service.  0, or -1 with err_set.
 */
int swarm_run_remove(const char *instance, int64_t run_id,
		     bool *had_service);

#endif
