/*
 * sweep.c - at a start, after the adoption of running runs: what runs
 * the store records as ended left on the swarm (a crash between recording
 * a run's end and removing its service) is removed, and the log says how
 * much.
 */
#include <string.h>

#include "daemon.h"
#include "../runner/runner.h"

/* 1: the store records run_id as ended; 0: running; -1: unknown. */
static int
run_ended(void *arg, int64_t run_id)
{
	struct store *st = arg;
	struct run_row r;
	int ended;

	memset(&r, 0, sizeof(r));
	if (store_run_get(st, run_id, &r) < 0)
		return -1;
	ended = r.state != RS_RUNNING;
	run_row_release(&r);
	return ended;
}

void
sweep_swarm(struct store *st, int quiet)
{
	size_t services = 0, containers = 0, configs = 0;

	if (runner_swarm_sweep(store_instance_id(st), run_ended, st,
			       &services, &containers, &configs) < 0) {
		log_warnx("swarm: cannot remove what ended runs left: %s",
			  err_msg());
		return;
	}
	if ((services || containers || configs) && !quiet)
		log_info("swarm: removed %zu service%s, %zu container%s and "
			 "%zu config%s that ended runs left",
			 services, services == 1 ? "" : "s", containers,
			 containers == 1 ? "" : "s", configs,
			 configs == 1 ? "" : "s");
}
