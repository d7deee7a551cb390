/*
 * ui-revision.c - what a cascade's page (ui-cascade.c) shows of one
 * revision, the link of its commit statuses: the tasks the revision
 * reset, as recorded when it was applied, and the runs it started, each
 * with its outcome, exit code and a link to its log; and for a revision
 * that is no longer the newest, the verdict of those runs: a failed
 * commit's page shows its failure after a later commit fixed it.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

/* Is the cascade's file among the revision's errors?  Each of their lines
 * begins with a file name (serve.c), "FILE:L:C: error: ..." or "FILE:
 * error: ...". */
static int
file_invalid(const struct revision_row *rev, const char *file)
{
	size_t len = file ? strlen(file) : 0;
	const char *p, *nl, *e;

	if (!len || !rev->errors || strcmp(rev->result, "invalid"))
		return 0;
	for (p = rev->errors; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (strncmp(p, file, len) || p[len] != ':')
			continue;
		e = strstr(p + len, ": error: ");
		if (e && (!nl || e < nl))
			return 1;
	}
	return 0;
}

/* Each task's last run of the revision, a superseded one only when it
 * has no other: *last[i] indexes runs, SIZE_MAX for none. */
static size_t
last_runs(const struct run_row *runs, size_t n, size_t *last)
{
	struct strmap idx = STRMAP_INIT;
	size_t i, m = 0, *k;

	for (i = 0; i < n; i++) {
		k = strmap_get(&idx, runs[i].task);
		if (!k) {
			last[m] = i;
			strmap_put(&idx, runs[i].task, &last[m]);
			m++;
		} else if (!runs[i].superseded || runs[*k].superseded) {
			*k = i;
		}
	}
	strmap_release(&idx);
	return m;
}

const char *
ui_rev_verdict(const struct revision_row *rev, const struct cascade_row *c,
	       const struct run_row *runs, size_t n)
{
	size_t *last = xcalloc(n + 1, sizeof(*last)), m, i;
	int error = 0, killed = 0, running = 0;

	m = last_runs(runs, n, last);
	for (i = 0; i < m; i++) {
		const struct run_row *r = &runs[last[i]];

		running += r->state == RS_RUNNING;
		error += r->state == RS_ERROR || r->state == RS_LOST;
		killed += r->state == RS_KILLED;
	}
	free(last);
	if (running)
		return "running";
	if (error)
		return "error";
	if (killed)
		return "killed";
	if (m)
		return "success";
	return file_invalid(rev, c->file) ? "invalid" : "nothing ran";
}

void
ui_rev_verdict_text(struct page *p, const struct revision_row *rev,
		    const struct cascade_row *c, const struct run_row *runs,
		    size_t n)
{
	size_t *last = xcalloc(n + 1, sizeof(*last)), m, i, failed = 0;
	size_t done = 0;

	m = last_runs(runs, n, last);
	for (i = 0; i < m; i++) {
		enum run_state s = runs[last[i]].state;

		failed += s == RS_ERROR || s == RS_LOST || s == RS_KILLED;
		done += s != RS_RUNNING;
	}
	buf_puts(&p->b, "<p id=\"verdict\">");
	if (!m && file_invalid(rev, c->file)) {
		buf_puts(&p->b, "The cascade's file was invalid at this "
				"revision: nothing ran, and its last good "
				"definition stayed active.");
	} else if (!m) {
		buf_puts(&p->b, "No task ran at this revision.");
	} else if (failed) {
		buf_addf(&p->b, "At this revision, %zu of %zu task%s that ran "
				"failed:",
			 failed, m, m == 1 ? "" : "s");
		for (i = 0; i < m; i++) {
			const struct run_row *r = &runs[last[i]];

			if (r->state != RS_ERROR && r->state != RS_LOST &&
			    r->state != RS_KILLED)
				continue;
			buf_addf(&p->b, " <a href=\"%sr/%lld\">", p->root,
				 (long long)r->id);
			html_txt(&p->b, r->task);
			buf_puts(&p->b, "</a>");
			if (r->message && *r->message) {
				buf_puts(&p->b, " <span class=\"muted\">(");
				html_txt(&p->b, r->message);
				buf_puts(&p->b, ")</span>");
			}
		}
		buf_putc(&p->b, '.');
	} else if (done < m) {
		buf_addf(&p->b, "At this revision, %zu of %zu task%s done, "
				"%zu running.",
			 done, m, m == 1 ? "" : "s", m - done);
	} else {
		buf_addf(&p->b, "At this revision, all %zu task%s that ran "
				"succeeded.",
			 m, m == 1 ? "" : "s");
	}
	buf_puts(&p->b, "</p>\n");
	free(last);
}

static void
reset_entries(struct page *p, const struct reset_row *v, size_t n,
	      enum plan_action a)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].action != a)
			continue;
		buf_addf(&p->b, "<li><span class=\"act act-%s\">%s</span> ",
			 plan_action_names[a], plan_action_names[a]);
		html_txt(&p->b, v[i].task);
		buf_puts(&p->b, " <span class=\"muted\">");
		html_txt(&p->b, v[i].reason);
		buf_puts(&p->b, "</span></li>\n");
	}
}

int
ui_rev_resets(struct page *p, struct store *st, const struct cascade_row *c,
	      const struct revision_row *rev)
{
	struct reset_row *v = NULL;
	size_t n = 0, ntasks = 0, count[5] = { 0 }, i, reset;
	int ret;

	ret = store_resets_get(st, c->id, rev->commit_id, &ntasks, &v, &n);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++)
		count[v[i].action]++;
	reset = count[PLAN_ADDED] + count[PLAN_CHANGED] + count[PLAN_RESET];
	if (!n) {
		buf_addf(&p->b,
			 "<p id=\"plan-summary\">No change to the "
			 "definition: nothing was reset; its %zu task%s "
			 "kept their states.</p>\n",
			 ntasks, ntasks == 1 ? "" : "s");
		goto out;
	}
	buf_addf(&p->b,
		 "<p id=\"plan-summary\">%zu changed, %zu added, %zu "
		 "removed; %zu reset in all, %zu unchanged.</p>\n",
		 count[PLAN_CHANGED], count[PLAN_ADDED], count[PLAN_REMOVED],
		 reset, ntasks > reset ? ntasks - reset : 0);
	buf_puts(&p->b, "<ul class=\"plan\" id=\"plan\">\n");
	reset_entries(p, v, n, PLAN_CHANGED);
	reset_entries(p, v, n, PLAN_ADDED);
	reset_entries(p, v, n, PLAN_RESET);
	reset_entries(p, v, n, PLAN_REMOVED);
	buf_puts(&p->b, "</ul>\n");
out:
	reset_rows_free(v, n);
	return 0;
}

void
ui_rev_runs(struct page *p, const struct revision_row *rev,
	    const struct run_row *runs, size_t n)
{
	size_t i;

	buf_puts(&p->b, "<section id=\"runs-of-revision\">\n<h2>Runs of ");
	ui_short_id(&p->b, rev->commit_id);
	buf_addf(&p->b, " <span class=\"muted\">(%zu)</span></h2>\n", n);
	if (!n) {
		buf_puts(&p->b, "<p class=\"muted\">None: no task ran at "
				"this revision.</p>\n</section>\n");
		return;
	}
	buf_puts(&p->b,
		 "<div class=\"scroll\"><table id=\"revision-runs\">\n"
		 "<thead><tr><th>Run</th><th>Task</th><th>Host</th>"
		 "<th>Attempt</th><th>Outcome</th><th>Exit code</th>"
		 "<th class=\"wide\">Started</th><th>Duration</th></tr>"
		 "</thead>\n<tbody>\n");
	for (i = 0; i < n; i++) {
		const struct run_row *r = &runs[i];

		buf_addf(&p->b, "<tr><td><a href=\"%sr/%lld\">#%lld</a></td>"
				"<td class=\"name\">",
			 p->root, (long long)r->id, (long long)r->id);
		html_txt(&p->b, r->task);
		buf_puts(&p->b, "</td><td>");
		html_txt(&p->b, r->host && *r->host ? r->host : r->runner);
		buf_addf(&p->b, "</td><td>%d</td><td>", r->attempt);
		ui_state(&p->b, run_state_names[r->state]);
		if (r->superseded)
			buf_puts(&p->b, " <span class=\"muted\">superseded"
					"</span>");
		if (r->state != RS_SUCCESS && r->state != RS_RUNNING &&
		    r->exit_code < 0 && r->message && *r->message) {
			buf_puts(&p->b, " <span class=\"muted\">");
			html_txt(&p->b, r->message);
			buf_puts(&p->b, "</span>");
		}
		buf_puts(&p->b, "</td><td>");
		if (r->exit_code >= 0)
			buf_addf(&p->b, "%d", r->exit_code);
		else
			buf_puts(&p->b, "-");
		buf_puts(&p->b, "</td><td class=\"wide\">");
		ui_time(p, r->started_at);
		buf_puts(&p->b, "</td><td>");
		ui_duration(&p->b, (r->ended_at ? r->ended_at : p->now) -
				       r->started_at);
		if (!r->ended_at)
			buf_puts(&p->b, " so far");
		buf_puts(&p->b, "</td></tr>\n");
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
}
