/*
 * fanout.c - which hosts of a fan-out a new attempt runs on.  A retry
 * (the task's retries, or a run by hand of a task that failed) runs again
 * only the hosts whose last run did not succeed at the task's current
 * fingerprint: what succeeded with this very definition and these inputs
 * is not done twice.  When nothing failed (a forced run of a succeeded
 * task), or for a first attempt, every host runs.  fanout_hosts_to_run
 * decides (pure); fanout_claim_hosts asks the store for its facts.
 */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

/* Did host's last run succeed at fingerprint? */
static int
host_done(const char *host, const struct run_row *last, size_t nlast,
	  const char *fingerprint)
{
	size_t i;

	for (i = 0; i < nlast; i++)
		if (last[i].host && !strcmp(last[i].host, host))
			return last[i].state == RS_SUCCESS &&
			       !last[i].superseded &&
			       !strcmp(last[i].fingerprint, fingerprint);
	return 0;
}

size_t
fanout_hosts_to_run(const struct name_list *hosts, const struct run_row *last,
		    size_t nlast, const char *fingerprint, int retry,
		    unsigned char *run_it)
{
	size_t i, n = 0;

	for (i = 0; i < hosts->n; i++) {
		run_it[i] = !retry || !host_done(hosts->v[i].name, last, nlast,
						 fingerprint);
		n += run_it[i];
	}
	if (n)
		return n;
	/* every host succeeded already: a run by hand runs them all */
	memset(run_it, 1, hosts->n);
	return hosts->n;
}

int
fanout_claim_hosts(struct store *st, const struct task_row *row,
		   const struct name_list *hosts, size_t *sel, size_t *n,
		   struct buf *done)
{
	struct run_row *last = NULL;
	unsigned char *run_it;
	size_t nlast = 0, h;
	int ret;

	*n = 0;
	if ((ret = store_runs_per_host(st, row->id, &last, &nlast)) < 0)
		return ret;
	run_it = xcalloc(hosts->n ? hosts->n : 1, 1);
	fanout_hosts_to_run(hosts, last, nlast, row->fingerprint,
			    row->attempts > 0 || row->manual, run_it);
	for (h = 0; h < hosts->n; h++) {
		if (run_it[h])
			sel[(*n)++] = h;
		else
			buf_addf(done, "%s%s", done->len ? ", " : "",
				 hosts->v[h].name);
	}
	free(run_it);
	run_rows_free(last, nlast);
	return 0;
}
