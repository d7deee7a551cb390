/*
 * ui-index.c - the status page at /: every active cascade with its state,
 * its tasks counted by state, the revision it was applied from and its
 * last activity; then the repositories scaffold mirrors and how their
 * fetches go.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

/* The subject of commit among revs (NULL when not there). */
static const char *
subject_of(const struct revision_row *revs, size_t n, const char *commit)
{
	size_t i;

	for (i = 0; commit && i < n; i++)
		if (!strcmp(revs[i].commit_id, commit))
			return revs[i].subject;
	return NULL;
}

/* One row of the cascades table; -1 when the store fails. */
static int
cascade_row(struct page *p, struct store *st, const struct cascade_row *c,
	    const struct revision_row *revs, size_t nrevs)
{
	static const enum task_state order[] = {
	    TS_RUNNING, TS_WAITING, TS_ERROR,
	    TS_KILLED,	TS_SUCCESS, TS_NOT_STARTED, TS_SKIPPED,
	};
	struct task_row *ts = NULL;
	int64_t counts[TS_N], last = c->updated_at;
	const char *state, *subject;
	size_t nts = 0, i;

	if (store_tasks(st, c->id, &ts, &nts) < 0)
		return -1;
	state = cascade_verdict(ts, nts, counts);
	for (i = 0; i < nts; i++)
		if (ts[i].present && ts[i].updated_at > last)
			last = ts[i].updated_at;
	buf_puts(&p->b, "<tr><td class=\"name\"><a href=\"");
	ui_href(p, "c", ui_repo_arg(c), c->name, NULL);
	buf_puts(&p->b, "\">");
	if (c->repo && *c->repo) {
		html_txt(&p->b, c->repo);
		buf_putc(&p->b, '/');
	}
	html_txt(&p->b, c->name);
	buf_puts(&p->b, "</a></td><td>");
	ui_state(&p->b, state);
	buf_puts(&p->b, "</td><td class=\"counts\">");
	for (i = 0; i < ARRAY_SIZE(order); i++) {
		const struct ui_colour *col =
		    ui_colour(task_state_names[order[i]]);

		if (counts[order[i]])
			buf_addf(
			    &p->b, "<span class=\"st st-%s\">%lld %s</span> ",
			    col->key, (long long)counts[order[i]], col->label);
	}
	buf_puts(&p->b, "</td><td class=\"wide\">");
	ui_short_id(&p->b, c->revision);
	if ((subject = subject_of(revs, nrevs, c->revision))) {
		buf_putc(&p->b, ' ');
		html_txt(&p->b, subject);
	}
	buf_puts(&p->b, "</td><td>");
	ui_time(p, last);
	buf_puts(&p->b, "</td></tr>\n");
	task_rows_free(ts, nts);
	return 0;
}

static int
cascades(struct page *p, struct store *st)
{
	struct cascade_row *cs = NULL;
	struct revision_row *revs = NULL;
	size_t ncs = 0, nrevs = 0, i;
	const char *revs_of = NULL;
	int ret = -1;

	if (store_cascade_list(st, 1, &cs, &ncs) < 0)
		return -1;
	buf_puts(&p->b, "<section>\n<h2>Cascades</h2>\n");
	if (!ncs) {
		buf_puts(&p->b,
			 "<p class=\"muted\" id=\"no-cascades\">No "
			 "cascade yet: push a file under .scaffold/ to "
			 "a repository of the config.</p>\n</section>\n");
		ret = 0;
		goto out;
	}
	buf_puts(&p->b, "<div class=\"scroll\"><table id=\"cascades\">\n"
			"<thead><tr><th>Cascade</th><th>State</th><th>Tasks"
			"</th><th class=\"wide\">Revision</th><th>Last "
			"activity</th></tr></thead>\n<tbody>\n");
	for (i = 0; i < ncs; i++) {
		/* the list is ordered by repo: one look-up per repo */
		if (!revs_of || strcmp(revs_of, cs[i].repo)) {
			revision_rows_free(revs, nrevs);
			revs = NULL;
			nrevs = 0;
			if (*cs[i].repo &&
			    store_revisions(st, cs[i].repo, UI_REVISIONS, &revs,
					    &nrevs) < 0)
				goto out;
			revs_of = cs[i].repo;
		}
		if (cascade_row(p, st, &cs[i], revs, nrevs) < 0)
			goto out;
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
	ret = 0;
out:
	revision_rows_free(revs, nrevs);
	cascade_rows_free(cs, ncs);
	return ret;
}

static void
repo_row(struct page *p, const char *name, const char *url,
	 const struct repo_row *row)
{
	buf_puts(&p->b, "<tr><td class=\"name\">");
	html_txt(&p->b, name);
	buf_puts(&p->b, "<br/><span class=\"muted mono\">");
	html_txt(&p->b, url);
	buf_puts(&p->b, "</span></td><td>");
	html_txt(&p->b, row ? row->branch : "");
	buf_puts(&p->b, "</td><td>");
	ui_short_id(&p->b, row ? row->applied : NULL);
	buf_puts(&p->b, "</td><td>");
	ui_time(p, row ? row->last_fetch_at : 0);
	buf_puts(&p->b, "</td><td>");
	if (!row || !row->last_fetch_at) {
		buf_puts(&p->b, "<span class=\"muted\">not fetched yet</span>");
	} else if (row->last_error) {
		ui_state(&p->b, "error");
		buf_addf(&p->b, " %d failed fetch%s: ", row->failures,
			 row->failures == 1 ? "" : "es");
		ui_err_txt(p, row->last_error);
	} else if (row->branch_missing) {
		ui_state(&p->b, "error");
		buf_puts(&p->b, " the branch is missing");
	} else {
		ui_state(&p->b, "success");
	}
	buf_puts(&p->b, "</td></tr>\n");
}

static int
repos(struct page *p, struct store *st)
{
	const struct config *cf = p->r->cf;
	struct repo_row *v = NULL;
	size_t n = 0, i, j;

	if (store_repo_list(st, &v, &n) < 0)
		return -1;
	buf_puts(&p->b, "<section>\n<h2>Repositories</h2>\n");
	if (!cf->nrepos) {
		buf_puts(&p->b, "<p class=\"muted\">The config names no "
				"repository.</p>\n</section>\n");
		repo_rows_free(v, n);
		return 0;
	}
	buf_puts(&p->b, "<div class=\"scroll\"><table id=\"repos\">\n"
			"<thead><tr><th>Repository</th><th>Branch</th>"
			"<th>Applied</th><th>Last fetch</th><th>Health</th>"
			"</tr></thead>\n<tbody>\n");
	/* the config's repos, in its order; ones never fetched too */
	for (i = 0; i < cf->nrepos; i++) {
		for (j = 0; j < n; j++)
			if (!strcmp(v[j].name, cf->repos[i].name))
				break;
		repo_row(p, cf->repos[i].name, cf->repos[i].url,
			 j < n ? &v[j] : NULL);
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
	repo_rows_free(v, n);
	return 0;
}

void
ui_index(struct req *r)
{
	struct store *st = req_store(r);
	struct page p;

	if (!st)
		return;
	ui_begin(&p, r, "", "Status", NULL);
	buf_puts(&p.b, "<h1>Status</h1>\n");
	if (cascades(&p, st) < 0 || repos(&p, st) < 0) {
		buf_release(&p.b);
		ui_fail(r, "", 500, "%s", err_msg());
		return;
	}
	ui_end(&p);
}
