/* status.c - the states of cascades, as text or JSON (apply, run, status). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
wanted(const int64_t *ids, size_t nids, int64_t id)
{
	size_t i;

	if (!nids)
		return 1;
	for (i = 0; i < nids; i++)
		if (ids[i] == id)
			return 1;
	return 0;
}

int
print_status(struct store *st, const int64_t *ids, size_t nids, int json,
	     int *all_success)
{
	struct cascade_row *cs = NULL;
	struct task_row *ts = NULL;
	size_t ncs = 0, nts = 0, i, k, shown = 0;
	json_t *root = json_object(), *arr = json_array(), *c, *tarr, *t;
	char *s;
	int ret;

	if (all_success)
		*all_success = 1;
	if ((ret = store_cascade_list(st, 1, &cs, &ncs)) < 0)
		goto out;
	for (i = 0; i < ncs; i++) {
		if (!wanted(ids, nids, cs[i].id))
			continue;
		shown++;
		if ((ret = store_tasks(st, cs[i].id, &ts, &nts)) < 0)
			goto out;
		c = json_object();
		json_object_set_new(c, "name", json_string(cs[i].name));
		json_object_set_new(c, "repo", cs[i].repo[0]
						       ? json_string(cs[i].repo)
						       : json_null());
		json_object_set_new(c, "revision",
				    cs[i].revision ? json_string(cs[i].revision)
						   : json_null());
		tarr = json_array();
		if (!json)
			printf("%scascade '%s%s%s' at %s\n",
			       shown > 1 ? "\n" : "", cs[i].repo,
			       cs[i].repo[0] ? "/" : "", cs[i].name,
			       cs[i].revision ? cs[i].revision : "-");
		if (!json)
			printf("  %-24s %-12s %5s  %s\n", "TASK", "STATE",
			       "RUNS", "LAST RUN");
		for (k = 0; k < nts; k++) {
			if (!ts[k].present)
				continue;
			if (ts[k].state != TS_SUCCESS && all_success)
				*all_success = 0;
			t = json_object();
			json_object_set_new(t, "name", json_string(ts[k].name));
			json_object_set_new(
				t, "state",
				json_string(task_state_names[ts[k].state]));
			json_object_set_new(t, "runs", json_integer(ts[k].runs));
			json_object_set_new(t, "last_run",
					    ts[k].last_run
						    ? json_integer(ts[k].last_run)
						    : json_null());
			json_array_append_new(tarr, t);
			if (json)
				continue;
			if (ts[k].last_run)
				printf("  %-24s %-12s %5d  %lld\n", ts[k].name,
				       task_state_names[ts[k].state],
				       ts[k].runs, (long long)ts[k].last_run);
			else
				printf("  %-24s %-12s %5d  -\n", ts[k].name,
				       task_state_names[ts[k].state],
				       ts[k].runs);
		}
		json_object_set_new(c, "tasks", tarr);
		json_array_append_new(arr, c);
		task_rows_free(ts, nts);
		ts = NULL;
	}
	if (json) {
		json_object_set_new(root, "cascades", arr);
		arr = NULL;
		s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
	} else if (!shown) {
		printf("no cascades\n");
	}
	ret = 0;
out:
	json_decref(arr);
	json_decref(root);
	cascade_rows_free(cs, ncs);
	return ret;
}
