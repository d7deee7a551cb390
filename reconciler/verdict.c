/*
 * verdict.c - the one verdict on a cascade's health.  Every view asks
 * here, so the badge, the pages, the API, /metrics, the commit status and
 * the exit codes of apply and run cannot disagree.
 */
#include <string.h>

#include "reconciler.h"

const char *
cascade_verdict(const struct task_row *ts, size_t n, int64_t counts[TS_N])
{
	int64_t c[TS_N] = {0}, counted = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ts[i].present)
			continue;
		c[ts[i].state]++;
		/* a skipped task does not count against the cascade */
		counted += ts[i].state != TS_SKIPPED;
	}
	if (counts)
		memcpy(counts, c, sizeof(c));
	if (c[TS_RUNNING] || c[TS_WAITING])
		return "running";
	if (c[TS_ERROR])
		return "error";
	if (c[TS_KILLED])
		return "killed";
	if (counted && c[TS_SUCCESS] == counted)
		return "success";
	return "not_started";
}
