/*
 * ui-pr.c - the plan of a pull request's head, /p/REPO/SHA: the link of
 * its "scaffold/plan" commit status.  Per cascade file the pull request
 * changes: the tasks it adds, changes or removes, and the reset set (what
 * a merge would re-run), each with its reason; the reset set drawn on the
 * DAG (ui-dag.c); each changed task's fields old beside new, the run
 * script as a line diff (gitsync/textdiff.c), for viewers only, as input
 * values and logs are; for an invalid file its errors with FILE:LINE:COL.
 * Shown from the plan kept when it was made (daemon/prplan.c): nothing is
 * fetched or parsed for a view, only the scripts diffed.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"
#include "../gitsync/gitsync.h"

#define ROOT "../../"

/* A script longer than this (either side) is not diffed on a page. */
#define DIFF_MAX (256 * 1024)
/* Lines of context around each change of a script. */
#define DIFF_CONTEXT 3
/* What a page draws and lists at most of one cascade (a pull request may
 * bring any number of tasks; the API answers them all). */
#define GRAPH_MAX 2000
#define TASKS_MAX 200
/* The bytes of field values and scripts one page shows at most. */
#define PAGE_TEXT_MAX (4 * 1024 * 1024)

/* How the graph draws a task, by its action in the plan. */
static const struct {
	const char *action;
	const char *title;  /* for the legend */
	const char *colour;
	int outline;
} marks[] = {
	{ "changed", "changed", "#9a6700", 0 },
	{ "added", "added", "#1a7f37", 0 },
	{ "reset", "reset (downstream)", "#0969da", 0 },
	{ "removed", "removed", "#6e7781", 1 },
	{ "unchanged", "untouched", "#8c959f", 1 },
};

static size_t
mark_of(const char *action)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(marks) - 1; i++)
		if (!strcmp(action, marks[i].action))
			return i;
	return ARRAY_SIZE(marks) - 1;
}

/* The chip of a plan's state. */
static const char *
chip(const char *state)
{
	if (!strcmp(state, "failure"))
		return "invalid";
	if (!strcmp(state, "pending"))
		return "waiting";
	return state;
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* A JSON string's bytes (it may hold NULs); NULL for anything else. */
static const char *
jbytes(json_t *v, size_t *len)
{
	*len = json_string_length(v);
	return json_string_value(v);
}

/* Whether len more bytes fit in what the page has *left to show. */
static int
fits(size_t *left, size_t len)
{
	if (len > *left)
		return 0;
	*left -= len;
	return 1;
}

/* A field's text in a cell: <pre>, or "none" for a side without it. */
static void
field_cell(struct page *p, const char *side, json_t *v, size_t *left)
{
	const char *s;
	size_t len;

	buf_addf(&p->b, "<td class=\"%s\">", side);
	s = jbytes(v, &len);
	if (!s)
		buf_puts(&p->b, "<span class=\"muted\">none</span>");
	else if (!len)
		buf_puts(&p->b, "<span class=\"muted\">not set</span>");
	else if (!fits(left, len))
		buf_addf(&p->b, "<span class=\"muted\">%zu bytes: more than "
				"this page shows</span>",
			 len);
	else {
		buf_puts(&p->b, "<pre>");
		html_ntxt(&p->b, s, len);
		buf_puts(&p->b, "</pre>");
	}
	buf_puts(&p->b, "</td>");
}

/* The line diff of two scripts (a side may be null: all added or all
 * removed), each line a <span> of its kind. */
static void
script_diff(struct page *p, json_t *old, json_t *new, size_t *left)
{
	struct diff_line *v = NULL;
	const char *a, *b;
	size_t alen, blen, n = 0, i;

	a = jbytes(old, &alen);
	b = jbytes(new, &blen);
	if (alen > DIFF_MAX || blen > DIFF_MAX || !fits(left, alen + blen)) {
		buf_addf(&p->b, "<td colspan=\"2\"><p class=\"muted\">The "
				"scripts are too long for a line diff here "
				"(%zu and %zu bytes).</p></td>",
			 alen, blen);
		return;
	}
	if (text_diff(&v, &n, a ? a : "", alen, b ? b : "", blen,
		      DIFF_CONTEXT) < 0) {
		buf_puts(&p->b, "<td colspan=\"2\"><p class=\"note bad\">");
		ui_err_txt(p, err_msg());
		buf_puts(&p->b, "</p></td>");
		return;
	}
	buf_puts(&p->b, "<td colspan=\"2\"><pre class=\"diff\">");
	for (i = 0; i < n; i++) {
		const char *cls = v[i].op == '-'   ? "d-del"
				  : v[i].op == '+' ? "d-add"
				  : v[i].op == '@' ? "d-hunk"
				  : v[i].op == ' ' ? "d-ctx"
						   : "d-eol";

		buf_addf(&p->b, "<span class=\"%s\">", cls);
		if (v[i].op == '\\') {
			buf_puts(&p->b, "\\ ");
			html_ntxt(&p->b, v[i].text, v[i].len);
		} else if (v[i].op == '@') {
			html_ntxt(&p->b, v[i].text, v[i].len);
		} else {
			buf_putc(&p->b, v[i].op);
			html_ntxt(&p->b, v[i].text, v[i].len);
		}
		buf_puts(&p->b, "\n</span>");
	}
	buf_puts(&p->b, "</pre></td>");
	diff_lines_free(v, n);
}

/* Each task added, changed or removed, with its fields old beside new. */
static void
fields_section(struct page *p, json_t *tasks, size_t *left)
{
	size_t i, k;

	if (!json_array_size(tasks))
		return;
	buf_puts(&p->b, "<h3>What changed, old beside new</h3>\n");
	for (i = 0; i < json_array_size(tasks) && i < TASKS_MAX; i++) {
		json_t *t = json_array_get(tasks, i);
		json_t *fs = json_object_get(t, "fields");
		const char *act = jstr(t, "action");

		/* the action is one of plan.c's words: never outside text */
		if (strcmp(act, "added") && strcmp(act, "changed") &&
		    strcmp(act, "removed"))
			continue;
		buf_puts(&p->b, "<div class=\"task-change\" data-task=\"");
		html_attr(&p->b, jstr(t, "task"));
		buf_addf(&p->b, "\">\n<h4><span class=\"act act-%s\">%s"
				"</span> ",
			 act, act);
		html_txt(&p->b, jstr(t, "task"));
		buf_puts(&p->b, "</h4>\n<div class=\"scroll\"><table "
				"class=\"fields\"><thead><tr><th>field</th>"
				"<th>applied now</th><th>at the head</th>"
				"</tr></thead><tbody>\n");
		for (k = 0; k < json_array_size(fs); k++) {
			json_t *f = json_array_get(fs, k);
			const char *name = jstr(f, "field");

			buf_puts(&p->b, "<tr data-field=\"");
			html_attr(&p->b, name);
			buf_puts(&p->b, "\"><th>");
			html_txt(&p->b, name);
			buf_puts(&p->b, "</th>");
			if (!strcmp(name, "run")) {
				script_diff(p, json_object_get(f, "old"),
					    json_object_get(f, "new"), left);
			} else {
				field_cell(p, "old", json_object_get(f, "old"),
					   left);
				field_cell(p, "new", json_object_get(f, "new"),
					   left);
			}
			buf_puts(&p->b, "</tr>\n");
		}
		buf_puts(&p->b, "</tbody></table></div>\n</div>\n");
	}
	if (json_array_size(tasks) > TASKS_MAX)
		buf_addf(&p->b, "<p class=\"muted\">And %zu more tasks: the "
				"API's plan has them all.</p>\n",
			 json_array_size(tasks) - TASKS_MAX);
}

/* The definition's graph, each task marked by what a merge does to it. */
static void
graph_section(struct page *p, json_t *plan, json_t *graph)
{
	json_t *reasons = json_object_get(plan, "reasons");
	size_t n = json_array_size(graph), i, d, m;
	struct ui_dag_node *v;
	struct dep *deps;

	if (!n)
		return;
	if (n > GRAPH_MAX) {
		buf_addf(&p->b, "<p class=\"muted\">The graph of %zu tasks is "
				"too big to draw here (at most %d).</p>\n",
			 n, GRAPH_MAX);
		return;
	}
	v = xcalloc(n, sizeof(*v));
	for (i = 0, m = 0; i < n; i++)
		m += json_array_size(json_object_get(json_array_get(graph, i),
						     "deps"));
	deps = xcalloc(m + 1, sizeof(*deps));
	for (i = 0, m = 0; i < n; i++) {
		json_t *g = json_array_get(graph, i);
		json_t *gd = json_object_get(g, "deps");
		size_t k = mark_of(jstr(g, "action"));

		v[i].name = jstr(g, "task");
		v[i].deps = &deps[m];
		v[i].ndeps = json_array_size(gd);
		for (d = 0; d < v[i].ndeps; d++, m++) {
			json_t *e = json_array_get(gd, d);
			json_int_t t = json_integer_value(
				json_object_get(e, "task"));
			const char *kind = jstr(e, "kind");

			/* out of range: ui_dag_svg draws nothing */
			deps[m].task = t < 0 ? SIZE_MAX : (size_t)t;
			deps[m].kind = !strcmp(kind, "error")	 ? DEP_ERROR
				       : !strcmp(kind, "always") ? DEP_ALWAYS
								 : DEP_SUCCESS;
		}
		v[i].cls = "node";
		v[i].data_key = "data-plan";
		v[i].data_value = marks[k].action;
		v[i].title = json_string_value(json_object_get(reasons,
							       v[i].name));
		if (!v[i].title)
			v[i].title = "untouched";
		v[i].colour = marks[k].colour;
		v[i].outline = marks[k].outline;
	}
	buf_puts(&p->b, "<h3>The reset set on the graph</h3>\n"
			"<p class=\"counts\">");
	for (i = 0; i < ARRAY_SIZE(marks); i++)
		buf_addf(&p->b,
			 "<span class=\"st\" style=\"%s%s\">%s</span> ",
			 marks[i].outline ? "color:#57606a;border:1.5px dashed "
					  : "background:",
			 marks[i].colour, marks[i].title);
	buf_puts(&p->b, "<span class=\"muted\">A merge re-runs the "
			"changed, added and reset tasks; the others keep their "
			"state.</span></p>\n");
	ui_dag_svg(p, v, n, NULL,
		   "The tasks and their dependencies, marked by what a merge "
		   "does to them");
	free(v);
	free(deps);
}

/* A list of the tasks named in plan[key], each with its reason. */
static void
task_list(struct page *p, json_t *plan, const char *key, const char *act,
	  const char *id)
{
	json_t *arr = json_object_get(plan, key);
	json_t *reasons = json_object_get(plan, "reasons");
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		const char *t = json_string_value(json_array_get(arr, i));

		if (!t)
			continue;
		buf_addf(&p->b, "<li class=\"%s\"><span class=\"act act-%s\">%s"
				"</span> ",
			 id, act, act);
		html_txt(&p->b, t);
		buf_puts(&p->b, " <span class=\"muted\">");
		html_txt(&p->b, jstr(reasons, t));
		buf_puts(&p->b, "</span></li>\n");
	}
}

/* The section of one cascade file. */
static void
cascade_section(struct page *p, json_t *c, size_t *left)
{
	json_t *plan = json_object_get(c, "plan");
	json_t *errs = json_object_get(c, "errors");
	const char *action = jstr(c, "action");
	size_t i, nreset, nchanged;

	buf_puts(&p->b, "<section class=\"pr-cascade\">\n<h2>");
	if (plan) {
		html_txt(&p->b, jstr(c, "cascade"));
		buf_puts(&p->b, " <span class=\"muted\">(");
		html_txt(&p->b, jstr(c, "file"));
		buf_puts(&p->b, ")</span>");
	} else {
		html_txt(&p->b, jstr(c, "file"));
	}
	buf_puts(&p->b, " <span class=\"muted\">");
	html_txt(&p->b, action);
	buf_puts(&p->b, "</span></h2>\n");
	if (!strcmp(action, "invalid")) {
		buf_puts(&p->b, "<p class=\"note bad\">The file is invalid at "
				"this head: a merge would keep the last good "
				"definition.</p>\n<pre class=\"errors\">");
		for (i = 0; i < json_array_size(errs); i++) {
			html_txt(&p->b,
				 json_string_value(json_array_get(errs, i)));
			buf_putc(&p->b, '\n');
		}
		buf_puts(&p->b, "</pre>\n</section>\n");
		return;
	}
	nchanged = json_array_size(json_object_get(plan, "added")) +
		   json_array_size(json_object_get(plan, "changed")) +
		   json_array_size(json_object_get(plan, "removed"));
	nreset = json_array_size(json_object_get(plan, "reset"));
	buf_addf(&p->b,
		 "<p>%zu task%s changed, %zu to re-run, %zu unchanged.</p>\n",
		 nchanged, nchanged == 1 ? "" : "s", nreset,
		 json_array_size(json_object_get(plan, "unchanged")));
	if (nchanged) {
		buf_puts(&p->b,
			 "<h3>Changed tasks</h3>\n<ul class=\"plan\">\n");
		task_list(p, plan, "changed", "changed", "changed");
		task_list(p, plan, "added", "added", "changed");
		task_list(p, plan, "removed", "removed", "changed");
		buf_puts(&p->b, "</ul>\n");
	}
	if (nreset) {
		buf_puts(&p->b, "<h3>Reset set: what a merge re-runs</h3>\n"
				"<ul class=\"plan\">\n");
		task_list(p, plan, "reset", "reset", "reset");
		buf_puts(&p->b, "</ul>\n");
	}
	graph_section(p, plan, json_object_get(c, "graph"));
	if (nchanged && auth_may_see(p->r, PAGE_DETAIL))
		fields_section(p, json_object_get(c, "tasks"), left);
	else if (nchanged)
		ui_sign_in_note(p, "The old and new values of the fields");
	buf_puts(&p->b, "</section>\n");
}

void
ui_pr_plan(struct req *r)
{
	const char *repo = r->params[0], *sha = r->params[1];
	struct store *st = req_store(r);
	struct prplan_row row;
	struct buf crumbs = BUF_INIT, title = BUF_INIT;
	json_t *j = NULL, *cs;
	json_error_t jerr;
	struct page p;
	size_t i, left = PAGE_TEXT_MAX;
	int ret;

	memset(&p, 0, sizeof(p));
	memset(&row, 0, sizeof(row));
	if (!st)
		return;
	if (strlen(sha) != 40 || strspn(sha, "0123456789abcdef") != 40) {
		ui_fail(r, ROOT, 404, "'%s' is not a commit id (40 hex digits)",
			sha);
		goto out;
	}
	ret = store_prplan_get(st, repo, sha, &row);
	if (ret == ERR_NOTFOUND) {
		ui_fail(r, ROOT, 404, "no pull request of repo '%s' has asked "
				      "for a plan of '%s'",
			repo, sha);
		goto out;
	}
	if (ret < 0) {
		ui_fail(r, ROOT, 500, "%s", err_msg());
		goto out;
	}
	if (row.plan)
		j = json_loads(row.plan, 0, &jerr);
	buf_puts(&crumbs, "<span class=\"sep\">/</span><span>");
	html_txt(&crumbs, repo);
	buf_puts(&crumbs, "</span><span class=\"sep\">/</span><span>pull "
			  "request plan</span>");
	buf_addf(&title, "plan of #%lld", (long long)row.number);
	ui_begin(&p, r, ROOT, title.ptr, crumbs.ptr);
	buf_addf(&p.b, "<h1 id=\"pr\">Pull request #%lld ",
		 (long long)row.number);
	ui_state(&p.b, chip(row.state));
	buf_puts(&p.b, "</h1>\n<p>Head <code id=\"head\">");
	html_txt(&p.b, row.head);
	buf_puts(&p.b, "</code> into <code>");
	html_txt(&p.b, row.base);
	buf_puts(&p.b, "</code> of ");
	html_txt(&p.b, repo);
	if (j && *jstr(j, "merge_base")) {
		buf_puts(&p.b, ", against what is applied now (merge base ");
		ui_short_id(&p.b, jstr(j, "merge_base"));
		buf_puts(&p.b, ")");
	}
	buf_puts(&p.b, ".  Nothing of a pull request runs before its "
		       "merge.</p>\n<p id=\"plan-summary\">");
	if (!strcmp(row.state, "pending"))
		buf_puts(&p.b, "The plan is being made.");
	else
		html_txt(&p.b, row.summary ? row.summary : "");
	buf_puts(&p.b, "</p>\n");
	if (j && *jstr(j, "error")) {
		buf_puts(&p.b, "<p class=\"note bad\" id=\"plan-error\">");
		ui_err_txt(&p, jstr(j, "error"));
		buf_puts(&p.b, "</p>\n");
	}
	cs = json_object_get(j, "cascades");
	for (i = 0; i < json_array_size(cs); i++)
		cascade_section(&p, json_array_get(cs, i), &left);
	ui_end(&p);
out:
	json_decref(j);
	prplan_row_release(&row);
	buf_release(&crumbs);
	buf_release(&title);
}
