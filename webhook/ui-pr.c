/*
 * ui-pr.c - the plan of a pull request's head, /p/REPO/SHA: the link of
 * its "scaffold/plan" commit status.  Per cascade file the pull request
 * changes: the tasks it adds, changes or removes, and the reset set (what
 * a merge would re-run), each with its reason; for an invalid file its
 * errors with FILE:LINE:COL.  Shown from the plan kept when it was made
 * (daemon/prplan.c): nothing is fetched or parsed for a view.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

#define ROOT "../../"

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
cascade_section(struct page *p, json_t *c)
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
	size_t i;
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
		cascade_section(&p, json_array_get(cs, i));
	ui_end(&p);
out:
	json_decref(j);
	prplan_row_release(&row);
	buf_release(&crumbs);
	buf_release(&title);
}
