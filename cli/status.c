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

/*
 * Under a task with a check: its last probe and the next one, and a
 * drift apart from a failed run ("  drift: check failed on web2 (exit 1)").
 */
static void
print_check(json_t *t)
{
	json_t *ck = json_object_get(t, "check"), *last;
	json_int_t due, now = store_now_ms();
	const char *reason = str_or(t, "reason", "");
	char ago[32], in[32];

	if (!ck)
		return;
	last = json_object_get(ck, "last");
	due = json_integer_value(json_object_get(ck, "next_due"));
	printf("    check:");
	if (json_is_object(last)) {
		duration_format(ago, sizeof(ago),
				now - json_integer_value(json_object_get(
					      last, "started_at")));
		printf(" last %lld %s on %s, %s ago",
		       (long long)json_integer_value(json_object_get(last, "id")),
		       str_or(last, "state", ""), str_or(last, "host", ""),
		       ago);
	} else {
		printf(" not probed yet");
	}
	if (due) {
		duration_format(in, sizeof(in), due > now ? due - now : 0);
		printf("; next in %s", in);
	} else {
		printf("; none due");
	}
	printf("\n");
	if (!strncmp(reason, "drift: ", 7))
		printf("    %s\n", reason);
}

/*
 * Under a fan-out task (several hosts): each host's last run, so the host
 * that failed is named ("    host web1: run 58 error (exit 3)").
 */
static void
print_hosts(json_t *t)
{
	json_t *hosts = json_object_get(t, "hosts"), *h, *code;
	struct buf e[2] = { BUF_INIT, BUF_INIT };
	const char *state, *msg;
	size_t i;

	if (json_array_size(hosts) < 2)
		return;
	json_array_foreach(hosts, i, h) {
		state = str_or(h, "state", "");
		code = json_object_get(h, "exit_code");
		msg = str_or(h, "message", "");
		printf("    host %s: run %lld %s",
		       escape_text(&e[0], str_or(h, "host", "")),
		       (long long)json_integer_value(json_object_get(h, "id")),
		       state);
		if (!strcmp(state, "success") || !strcmp(state, "running"))
			;
		else if (json_is_integer(code))
			printf(" (exit %lld)",
			       (long long)json_integer_value(code));
		else if (*msg)
			printf(" (%s)", escape_text(&e[1], msg));
		printf("\n");
	}
	for (i = 0; i < ARRAY_SIZE(e); i++)
		buf_release(&e[i]);
}

void
print_status_view(json_t *view, int json, int *all_success)
{
	json_t *cascades = json_object_get(view, "cascades");
	json_t *root, *arr = json_array(), *c, *t, *oc, *tarr, *ot;
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
		json_object_set_new(oc, "state", copy_of(c, "state"));
		/* the cascade's verdict, not its tasks': skipped ones do not
		 * count against it (reconciler/verdict.c) */
		if (all_success && strcmp(str_or(c, "state", ""), "success"))
			*all_success = 0;
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
			ot = json_pack("{s:o,s:o,s:o,s:o}", "name",
				       copy_of(t, "name"), "state",
				       copy_of(t, "state"), "runs",
				       copy_of(t, "runs"), "last_run",
				       copy_of(t, "last_run"));
			/* a task with a check: why it is in its state (a
			 * drift), its last probe and the next one */
			if (json_object_get(t, "check")) {
				json_object_set_new(ot, "reason",
						    copy_of(t, "reason"));
				json_object_set_new(ot, "check",
						    copy_of(t, "check"));
			}
			/* a fan-out (several hosts): each host's last run */
			if (json_array_size(json_object_get(t, "hosts")) > 1)
				json_object_set_new(ot, "hosts",
						    copy_of(t, "hosts"));
			json_array_append_new(tarr, ot);
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
			print_hosts(t);
			print_check(t);
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
	if (view_cascades(&v, st, NULL, ids, nids) < 0)
		return -1;
	print_status_view(v, json, all_success);
	json_decref(v);
	return 0;
}
