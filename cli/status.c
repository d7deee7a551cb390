/*
 * status.c - the states of cascades, as text or JSON (apply, run, status),
 * printed from the view the API answers (webhook/view.c), so a data dir
 * and a daemon print the same.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../webhook/webhook.h"

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* A member as it was: absent or null stays null. */
static json_t *
copy_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_incref(v) : json_null();
}

void
print_status_view(json_t *view, int json, int *all_success)
{
	json_t *cascades = json_object_get(view, "cascades");
	json_t *root, *arr = json_array(), *c, *t, *oc, *tarr;
	struct buf e[3] = { BUF_INIT, BUF_INIT, BUF_INIT };
	const char *repo;
	size_t i, k, shown = 0;
	json_int_t last;
	char *s;

	if (all_success)
		*all_success = 1;
	json_array_foreach(cascades, i, c) {
		shown++;
		/* names and revisions come from repositories: escaped */
		repo = escape_text(&e[0], str_or(c, "repo", ""));
		oc = json_object();
		json_object_set_new(oc, "name", copy_of(c, "name"));
		json_object_set_new(oc, "repo", copy_of(c, "repo"));
		json_object_set_new(oc, "revision", copy_of(c, "revision"));
		tarr = json_array();
		if (!json) {
			printf("%scascade '%s%s%s' at %s\n",
			       shown > 1 ? "\n" : "", repo, repo[0] ? "/" : "",
			       escape_text(&e[1], str_or(c, "name", "")),
			       escape_text(&e[2], str_or(c, "revision", "-")));
			printf("  %-24s %-12s %5s  %s\n", "TASK", "STATE",
			       "RUNS", "LAST RUN");
		}
		json_array_foreach(json_object_get(c, "tasks"), k, t) {
			if (strcmp(str_or(t, "state", ""), "success") &&
			    all_success)
				*all_success = 0;
			json_array_append_new(
				tarr, json_pack("{s:o,s:o,s:o,s:o}", "name",
						copy_of(t, "name"), "state",
						copy_of(t, "state"), "runs",
						copy_of(t, "runs"), "last_run",
						copy_of(t, "last_run")));
			if (json)
				continue;
			last = json_integer_value(json_object_get(t,
								  "last_run"));
			if (last)
				printf("  %-24s %-12s %5d  %lld\n",
				       escape_text(&e[1], str_or(t, "name", "")),
				       str_or(t, "state", ""),
				       (int)json_integer_value(
					       json_object_get(t, "runs")),
				       (long long)last);
			else
				printf("  %-24s %-12s %5d  -\n",
				       escape_text(&e[1], str_or(t, "name", "")),
				       str_or(t, "state", ""),
				       (int)json_integer_value(
					       json_object_get(t, "runs")));
		}
		json_object_set_new(oc, "tasks", tarr);
		json_array_append_new(arr, oc);
	}
	for (i = 0; i < ARRAY_SIZE(e); i++)
		buf_release(&e[i]);
	if (json) {
		root = json_pack("{s:o}", "cascades", arr);
		s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(root);
		return;
	}
	if (!shown)
		printf("no cascades\n");
	json_decref(arr);
}

int
print_status(struct store *st, const int64_t *ids, size_t nids, int json,
	     int *all_success)
{
	json_t *v;

	if (all_success)
		*all_success = 1;
	if (view_cascades(&v, st, ids, nids) < 0)
		return -1;
	print_status_view(v, json, all_success);
	json_decref(v);
	return 0;
}
