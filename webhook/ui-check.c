/*
 * ui-check.c - the drift checks of a cascade's page (/c/REPO/CASCADE):
 * per task with a check, its last probe (time, result, host, a link to its
 * log at k/ID/log) and when the next is due; a drift is shown apart from
 * a failed run.  A section of its own, after the tasks.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

/* One task's row; 0 when it has nothing to show (never probed nor due). */
static int
check_row(struct page *p, struct store *st, const struct task *t,
	  const struct task_row *tr)
{
	struct check_row k;
	struct check_due due;
	char *why = NULL;
	int has_last, has_due;

	has_last = store_check_last(st, tr->id, &k) == 0;
	has_due = store_check_due_get(st, tr->id, &due) == 0;
	buf_puts(&p->b, "<tr><td class=\"name\"><a href=\"#task-");
	html_attr(&p->b, t->name);
	buf_puts(&p->b, "\">");
	html_txt(&p->b, t->name);
	buf_puts(&p->b, "</a></td><td>");
	if (tr->state == TS_ERROR && store_task_reason(st, tr->id, &why) == 0 &&
	    !strncmp(why, "drift: ", 7)) {
		buf_puts(&p->b, "<span class=\"st st-error\">drift</span> ");
		html_txt(&p->b, why + 7);
	} else if (tr->state == TS_SUCCESS) {
		buf_puts(&p->b, "<span class=\"muted\">in sync</span>");
	} else {
		buf_puts(&p->b, "<span class=\"muted\">not probed while ");
		html_txt(&p->b, task_state_names[tr->state]);
		buf_puts(&p->b, "</span>");
	}
	free(why);
	buf_puts(&p->b, "</td><td>");
	if (has_last) {
		buf_addf(&p->b, "<a href=\"%sk/%lld/log\">#%lld</a> ", p->root,
			 (long long)k.id, (long long)k.id);
		ui_state(&p->b, run_state_names[k.state]);
		if (k.exit_code > 0)
			buf_addf(&p->b, " exit %d", k.exit_code);
		buf_puts(&p->b, " on ");
		html_txt(&p->b, k.host);
		buf_puts(&p->b, ", ");
		ui_time(p, k.started_at);
		check_row_release(&k);
	} else {
		buf_puts(&p->b, "<span class=\"muted\">none yet</span>");
	}
	buf_puts(&p->b, "</td><td>");
	if (has_due && due.due_at > p->now) {
		buf_puts(&p->b, "in ");
		ui_duration(&p->b, due.due_at - p->now);
	} else if (has_due) {
		buf_puts(&p->b, "now");
	} else {
		buf_puts(&p->b, "<span class=\"muted\">-</span>");
	}
	buf_puts(&p->b, "</td></tr>\n");
	return 1;
}

void
ui_checks_section(struct page *p, struct store *st, int64_t cascade_id,
		  const struct cascade *def)
{
	struct task_row tr;
	size_t i, shown = 0;

	for (i = 0; i < def->ntasks; i++) {
		if (!def->tasks[i].check ||
		    store_task_find(st, cascade_id, def->tasks[i].name, &tr) < 0)
			continue;
		if (!shown++)
			buf_puts(&p->b,
				 "<section>\n<h2>Drift checks</h2>\n"
				 "<div class=\"scroll\"><table id=\"checks\">\n"
				 "<thead><tr><th>Task</th><th>Drift</th>"
				 "<th>Last probe</th><th>Next</th></tr>"
				 "</thead>\n<tbody>\n");
		check_row(p, st, &def->tasks[i], &tr);
		free(tr.name);
	}
	if (shown)
		buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
}
