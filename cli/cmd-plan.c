/*
 * cmd-plan.c - scaffold plan: which tasks a change to a cascade resets.
 * Offline, of two files; with --server, the plan scaffold serve made of a
 * pull request's head (GET /api/v1/repos/REPO/plans/SHA), as its page
 * /p/REPO/SHA shows it: per cascade the same lines as for two files, then
 * each changed field old beside new, the run script as a line diff.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../gitsync/gitsync.h"
#include "../webhook/webhook.h"

static void
print_json(const struct plan *p)
{
	json_t *o = view_plan(p, NULL, NULL);
	char *s;

	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(o);
}

static void
print_text(const struct plan *p)
{
	size_t i, w = 4;

	printf("cascade '%s': %zu changed, %zu added, %zu removed; "
	       "%zu task%s to reset, %zu unchanged\n",
	       p->cascade, p->count[PLAN_CHANGED], p->count[PLAN_ADDED],
	       p->count[PLAN_REMOVED], plan_reset_count(p),
	       plan_reset_count(p) == 1 ? "" : "s", p->count[PLAN_UNCHANGED]);
	if (p->n == p->count[PLAN_UNCHANGED]) {
		printf("nothing to do\n");
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->v[i].action != PLAN_UNCHANGED &&
		    strlen(p->v[i].task) > w)
			w = strlen(p->v[i].task);
	printf("\n%-*s  %-9s  %s\n", (int)w, "TASK", "ACTION", "REASON");
	for (i = 0; i < p->n; i++) {
		if (p->v[i].action == PLAN_UNCHANGED)
			continue;
		printf("%-*s  %-9s  %s\n", (int)w, p->v[i].task,
		       plan_action_names[p->v[i].action], p->v[i].reason);
	}
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* s (len bytes) escaped for the terminal, each line after prefix. */
static void
put_lines(const char *prefix, const char *s, size_t len)
{
	struct buf b = BUF_INIT;
	const char *end = s + len, *nl;

	do {
		nl = memchr(s, '\n', (size_t)(end - s));
		buf_reset(&b);
		escape_log(&b, s, nl ? (size_t)(nl - s) : (size_t)(end - s));
		printf("%s%s\n", prefix, b.ptr);
		s = nl ? nl + 1 : end;
	} while (nl && s < end);
	buf_release(&b);
}

/* One side of a field: "none" (the task has no such side), "not set". */
static void
put_side(const char *label, json_t *v)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!s || !len) {
		printf("      %s %s\n", label, s ? "not set" : "none");
		return;
	}
	printf("      %s\n", label);
	put_lines("        ", s, len);
}

/* The run scripts' line diff, as git prints one. */
static void
put_diff(json_t *old, json_t *new)
{
	struct diff_line *v = NULL;
	struct buf b = BUF_INIT;
	const char *a = json_string_value(old), *c = json_string_value(new);
	size_t n = 0, i;
	char op[2] = { 0, 0 };

	if (text_diff(&v, &n, a ? a : "", json_string_length(old), c ? c : "",
		      json_string_length(new), 3) < 0) {
		printf("      (no line diff: %s)\n", err_msg());
		return;
	}
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		escape_log(&b, v[i].text, v[i].len);
		op[0] = v[i].op == '@' ? '\0' : v[i].op;
		printf("      %s%s%s\n", op, v[i].op == '\\' ? " " : "", b.ptr);
	}
	diff_lines_free(v, n);
	buf_release(&b);
}

struct row {
	const char *task, *action;
};

static int
cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->task,
		      ((const struct row *)b)->task);
}

/* Whether plan[key] names task t. */
static int
in_list(json_t *plan, const char *key, const char *t)
{
	json_t *arr = json_object_get(plan, key);
	const char *s;
	size_t i;


	for (i = 0; i < json_array_size(arr); i++)
		if ((s = json_string_value(json_array_get(arr, i))) &&
		    !strcmp(t, s))
			return 1;
	return 0;
}

/* A cascade of a pull request's plan: its counts and tasks as
 * print_text says them, then the fields. */
static void
print_pr_cascade(json_t *c)
{
	json_t *plan = json_object_get(c, "plan"), *tasks, *reasons, *errs;
	struct buf e1 = BUF_INIT, e2 = BUF_INIT;
	size_t i, k, w = 4, nch, nadd, nrm, nreset, nun, nrows = 0, alloc = 0;
	static const char *const lists[] = { "changed", "added", "reset",
					     "removed" };
	struct row *rows = NULL;

	printf("\n%s: %s\n", escape_text(&e1, jstr(c, "file")),
	       jstr(c, "action"));
	if (!strcmp(jstr(c, "action"), "invalid")) {
		errs = json_object_get(c, "errors");
		for (i = 0; i < json_array_size(errs); i++) {
			json_t *e = json_array_get(errs, i);

			printf("  %s\n",
			       escape_text(&e1, json_string_value(e)));
		}
		goto out;
	}
	nch = json_array_size(json_object_get(plan, "changed"));
	nadd = json_array_size(json_object_get(plan, "added"));
	nrm = json_array_size(json_object_get(plan, "removed"));
	nreset = json_array_size(json_object_get(plan, "reset"));
	nun = json_array_size(json_object_get(plan, "unchanged"));
	printf("  cascade '%s': %zu changed, %zu added, %zu removed; %zu "
	       "task%s to reset, %zu unchanged\n",
	       escape_text(&e1, jstr(c, "cascade")), nch, nadd, nrm, nreset,
	       nreset == 1 ? "" : "s", nun);
	if (!nreset && !nrm) {
		printf("  nothing to do\n");
		goto out;
	}
	reasons = json_object_get(plan, "reasons");
	/* each task once, by name as print_text has them: the reset list
	 * holds the changed and added tasks too */
	for (k = 0; k < ARRAY_SIZE(lists); k++) {
		json_t *arr = json_object_get(plan, lists[k]);

		for (i = 0; i < json_array_size(arr); i++) {
			const char *t = json_string_value(
				json_array_get(arr, i));

			if (!t || (k == 2 && (in_list(plan, "changed", t) ||
					      in_list(plan, "added", t))))
				continue;
			GROW(rows, nrows + 1, alloc);
			rows[nrows].task = t;
			rows[nrows++].action = lists[k];
			if (strlen(t) > w)
				w = strlen(t);
		}
	}
	qsort(rows, nrows, sizeof(*rows), cmp_row);
	printf("\n  %-*s  %-9s  %s\n", (int)w, "TASK", "ACTION", "REASON");
	for (i = 0; i < nrows; i++)
		printf("  %-*s  %-9s  %s\n", (int)w,
		       escape_text(&e1, rows[i].task), rows[i].action,
		       escape_text(&e2, jstr(reasons, rows[i].task)));
	tasks = json_object_get(c, "tasks");
	for (i = 0; i < json_array_size(tasks); i++) {
		json_t *t = json_array_get(tasks, i);
		json_t *fs = json_object_get(t, "fields");

		printf("\n  %s %s\n", jstr(t, "action"),
		       escape_text(&e1, jstr(t, "task")));
		for (k = 0; k < json_array_size(fs); k++) {
			json_t *f = json_array_get(fs, k);

			printf("    %s:\n", escape_text(&e1, jstr(f, "field")));
			if (!strcmp(jstr(f, "field"), "run")) {
				put_diff(json_object_get(f, "old"),
					 json_object_get(f, "new"));
				continue;
			}
			put_side("applied now:", json_object_get(f, "old"));
			put_side("at the head:", json_object_get(f, "new"));
		}
	}
out:
	free(rows);
	buf_release(&e1);
	buf_release(&e2);
}

/* scaffold plan --server URL REPO REV */
static int
plan_server(const struct cmd_entry *self, const struct cmd_opts *o,
	    const char *repo, const char *rev)
{
	struct client *c = NULL;
	struct buf path = BUF_INIT, e1 = BUF_INIT, e2 = BUF_INIT;
	json_t *v = NULL, *cs;
	char *s;
	size_t i;
	int ret = EXIT_FINDING;

	if (!(c = client_new(self, o->server)))
		goto out;
	buf_puts(&path, "/api/v1/repos/");
	client_path_add(&path, repo, 0);
	buf_puts(&path, "/plans/");
	client_path_add(&path, rev, 0);
	if (client_json(c, "GET", path.ptr, NULL, 0, NULL, &v) < 0)
		goto out;
	if (o->json) {
		s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s ? s : "{}");
		free(s);
		ret = EXIT_OK;
		goto out;
	}
	printf("pull request #%lld of repo '%s': head %s into '%s'",
	       (long long)json_integer_value(json_object_get(v, "number")),
	       escape_text(&e1, jstr(v, "repo")), jstr(v, "head"),
	       escape_text(&e2, jstr(v, "base")));
	if (*jstr(v, "merge_base"))
		printf(" (merge base %.12s)", jstr(v, "merge_base"));
	printf("\n%s: %s\n", jstr(v, "state"),
	       !strcmp(jstr(v, "state"), "pending")
		       ? "the plan is being made"
		       : escape_text(&e1, jstr(v, "summary")));
	if (*jstr(v, "error"))
		printf("%s\n", escape_text(&e1, jstr(v, "error")));
	cs = json_object_get(v, "cascades");
	for (i = 0; i < json_array_size(cs); i++)
		print_pr_cascade(json_array_get(cs, i));
	/* like plan of two files: 0 for a plan, 1 when a file is invalid */
	ret = !strcmp(jstr(v, "state"), "success") ? EXIT_OK : EXIT_FINDING;
out:
	json_decref(v);
	client_free(c);
	buf_release(&path);
	buf_release(&e1);
	buf_release(&e2);
	return ret;
}

static int
cmd_plan(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct cascade *old = NULL, *new = NULL;
	struct plan plan;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING, rold, rnew;

	first = cmd_parse(self, argc, argv, "oS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	/* only --server itself: $SCAFFOLD_SERVER must not turn a plan of
	 * two files (a pre-commit hook's) into a request */
	if (o.server_given) {
		if (argc - first != 2)
			ret = cmd_usage_error(self, "expected REPO and REV "
						    "with --server, got %d "
						    "operand%s",
					      argc - first,
					      argc - first == 1 ? "" : "s");
		else
			ret = plan_server(self, &o, argv[first],
					  argv[first + 1]);
		cmd_opts_release(&o);
		return ret;
	}
	if (argc - first != 2)
		return cmd_usage_error(self, "expected OLD and NEW files, "
					     "got %d operand%s",
				       argc - first,
				       argc - first == 1 ? "" : "s");
	rold = cascade_load_file(&old, argv[first], 1, &diags);
	rnew = cascade_load_file(&new, argv[first + 1], 1, &diags);
	diags_sort(&diags);
	diags_print(stderr, &diags);
	if ((rold < 0 && rold != ERR_NOTFOUND) ||
	    (rnew < 0 && rnew != ERR_NOTFOUND))
		goto out;
	if (!old && !new) {
		fprintf(stderr, "scaffold plan: both files are empty; nothing "
				"to compare\n");
		goto out;
	}
	if (old && new && strcmp(old->name, new->name))
		fprintf(stderr,
			"scaffold plan: note: the cascade is renamed from "
			"'%s' to '%s'; it starts afresh under the new name\n",
			old->name, new->name);
	if (new) {
		plan_compute(&plan, old && !strcmp(old->name, new->name) ? old
									 : NULL,
			     new, NULL, NULL);
	} else {
		/* NEW is empty: the cascade is removed, every task with it */
		size_t i;

		plan_compute(&plan, NULL, old, NULL, NULL);
		for (i = 0; i < plan.n; i++) {
			free(plan.v[i].reason);
			plan.v[i].action = PLAN_REMOVED;
			plan.v[i].reason = xstrdup("the cascade file is removed");
		}
		memset(plan.count, 0, sizeof(plan.count));
		plan.count[PLAN_REMOVED] = plan.n;
	}
	if (o.json)
		print_json(&plan);
	else
		print_text(&plan);
	plan_release(&plan);
	ret = EXIT_OK;
out:
	cascade_free(old);
	cascade_free(new);
	diags_release(&diags);
	return ret;
}

const struct cmd_entry cmd_plan_entry = {
	"plan",
	"show which tasks a change to a cascade resets, and why",
	"usage: scaffold plan [-o text|json] OLD.yaml NEW.yaml\n"
	"       scaffold plan --server URL [-o text|json] REPO REV\n"
	"\n"
	"Compare two versions of a cascade: tasks added, removed and changed\n"
	"(with the fields that changed), and the reset set: the changed and\n"
	"added tasks and everything downstream of them.  OLD may be /dev/null\n"
	"(every task is added).\n"
	"\n"
	"With --server, print the plan scaffold serve made of a pull request\n"
	"whose head is REV (4 to 40 hex digits) in REPO, as its page\n"
	"/p/REPO/REV shows it: per cascade file the tasks as above, each\n"
	"changed field old beside new, the run script as a line diff.\n"
	"$SCAFFOLD_SERVER does not count here: only --server asks a server.\n"
	"\n"
	"      --server URL     ask scaffold serve at URL\n"
	"  -o, --output FORMAT  'text' (default) or 'json'\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 plan printed, 1 a file is invalid (or the server's\n"
	"plan is not a success), 2 usage error.\n",
	cmd_plan,
};
