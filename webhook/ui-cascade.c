/*
 * ui-cascade.c - the status page of a cascade, /c/REPO/CASCADE, and of a
 * cascade at a revision, ?rev=SHA: the link of its commit statuses.  It
 * answers "what did this commit change, what ran, did it work, and why
 * not": the revision and its commit subject, the plan of that revision
 * (the tasks it changed or reset, and why), the DAG as an SVG coloured by
 * state, a table of the tasks (state, last run, duration, attempt; a
 * task on several hosts has a row per host, its last run there), and the
 * inputs (password values never: ********).
 *
 * The page of an older revision tells what happened then, not now
 * (ui-revision.c): the verdict of its own runs, each run with its log,
 * what it reset; today's graph, tasks and inputs are a link away.
 *
 * What a revision reset is as recorded when it was applied; for one
 * applied before that was recorded, the plan is computed again, with
 * plan.c, from the cascade files of the mirror at the revision and at the
 * one applied before it: the same answer `scaffold plan` gives for the two
 * files.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"
#include "../gitsync/gitsync.h"

#define ROOT "../../"

/* How far back a plan looks for the previous good version of a file. */
#define PLAN_LOOKBACK 16

/* What the page shows of one task. */
struct trow {
	const struct task *t;	    /* in the active definition */
	const struct task_row *row; /* NULL: not in the store yet */
	struct run_row run;	    /* the last run; id 0 when none */
	struct run_row *hosts;	    /* a task on hosts: each one's last run */
	size_t nhosts;
};

/*
 * The definition of cascade name at commit of the mirror: 0 and *out
 * (NULL when no file defines it), ERR_INVALID when no valid file does
 * but an invalid one may, ERR_NOTFOUND when the commit is not there.
 */
static int
cascade_at(const char *mirror, const struct repo_config *rc, const char *commit,
	   const char *name, struct cascade **out)
{
	struct cascade_file *files = NULL;
	struct diags diags = DIAGS_INIT;
	size_t nfiles = 0, i, bad = 0;
	struct cascade *c;
	int ret;

	*out = NULL;
	ret = mirror_read_cascades(mirror, commit, rc->path,
				   CASCADE_MAX_FILE_SIZE, &files, &nfiles);
	for (i = 0; ret == 0 && i < nfiles && !*out; i++) {
		c = NULL;
		if (!files[i].data ||
		    cascade_load(&c, files[i].path, files[i].data, files[i].len,
				 0, &diags) < 0) {
			bad++;
			continue;
		}
		if (!strcmp(c->name, name))
			*out = c;
		else
			cascade_free(c);
	}
	if (ret == 0 && !*out && bad)
		ret = ERR_INVALID;
	diags_release(&diags);
	cascade_files_free(files, nfiles);
	return ret;
}

/* A list of the plan's entries of one action. */
static void
plan_entries(struct page *p, const struct plan *plan, enum plan_action a)
{
	size_t i;

	for (i = 0; i < plan->n; i++) {
		if (plan->v[i].action != a)
			continue;
		buf_addf(&p->b, "<li><span class=\"act act-%s\">%s</span> ",
			 plan_action_names[a], plan_action_names[a]);
		if (a == PLAN_REMOVED) {
			html_txt(&p->b, plan->v[i].task);
		} else {
			buf_puts(&p->b, "<a href=\"#task-");
			html_attr(&p->b, plan->v[i].task);
			buf_puts(&p->b, "\">");
			html_txt(&p->b, plan->v[i].task);
			buf_puts(&p->b, "</a>");
		}
		buf_puts(&p->b, " <span class=\"muted\">");
		html_txt(&p->b, plan->v[i].reason);
		buf_puts(&p->b, "</span></li>\n");
	}
}

static void
plan_show(struct page *p, const struct plan *plan)
{
	size_t reset = plan_reset_count(plan);

	buf_addf(&p->b,
		 "<p id=\"plan-summary\">%zu changed, %zu added, %zu "
		 "removed; %zu reset in all, %zu unchanged.</p>\n",
		 plan->count[PLAN_CHANGED], plan->count[PLAN_ADDED],
		 plan->count[PLAN_REMOVED], reset, plan->count[PLAN_UNCHANGED]);
	if (!reset && !plan->count[PLAN_REMOVED])
		return;
	buf_puts(&p->b, "<ul class=\"plan\" id=\"plan\">\n");
	plan_entries(p, plan, PLAN_CHANGED);
	plan_entries(p, plan, PLAN_ADDED);
	plan_entries(p, plan, PLAN_RESET);
	plan_entries(p, plan, PLAN_REMOVED);
	buf_puts(&p->b, "</ul>\n");
}

/*
 * The plan of the revision revs[at] for the cascade: its version there
 * against the one before (the nearest older revision where its file was
 * valid, or none: everything is new).  def is the active definition: the
 * version at the revision it was applied from, not read again.
 */
static void
plan_section(struct page *p, const struct cascade_row *c,
	     const struct cascade *def, const struct revision_row *revs,
	     size_t nrevs, size_t at)
{
	const struct repo_config *rc = config_repo(p->r->cf, c->repo);
	const struct revision_row *rev = &revs[at];
	struct cascade *old = NULL, *new = NULL;
	const struct cascade *cur;
	struct buf mirror = BUF_INIT;
	struct plan plan;
	size_t j;
	int ret, gated = 0;

	buf_puts(&p->b, "<section id=\"plan-of-revision\">\n<h2>What ");
	ui_short_id(&p->b, rev->commit_id);
	buf_puts(&p->b, " changed</h2>\n");
	if (!strcmp(rev->result, "no cascade change")) {
		buf_puts(&p->b,
			 "<p id=\"plan-summary\">No cascade file changed "
			 "in this revision: nothing was reset.</p>\n");
		goto out;
	}
	/* what was recorded when it was applied; revisions applied before
	 * it was recorded have their plan computed again */
	ret = ui_rev_resets(p, req_store(p->r), c, rev);
	if (ret == 0)
		goto out;
	if (ret != ERR_NOTFOUND) {
		buf_puts(&p->b, "<p class=\"note bad\">What the revision "
				"reset cannot be read: ");
		ui_err_txt(p, err_msg());
		buf_puts(&p->b, "</p>\n");
		goto out;
	}
	if (!rc) {
		buf_puts(&p->b,
			 "<p class=\"muted\">The repository is no longer "
			 "in the config: its mirror cannot be read.</p>\n");
		goto out;
	}
	buf_addf(&mirror, "%s/mirrors/%s.git", p->r->cf->data_dir,
		 rc->name);
	if (plan_gate_enter(p->r->srv) < 0) {
		buf_puts(&p->b, "<p class=\"note bad\">The plan is not "
				"computed now: ");
		html_txt(&p->b, err_msg());
		buf_puts(&p->b, ".</p>\n");
		goto out;
	}
	gated = 1;
	ret = 0;
	cur = def;
	if (!c->active || !c->revision || strcmp(c->revision, rev->commit_id)) {
		ret = cascade_at(mirror.ptr, rc, rev->commit_id, c->name, &new);
		cur = new;
	}
	if (ret == ERR_INVALID) {
		buf_puts(&p->b,
			 "<p class=\"note bad\" id=\"plan-summary\">The "
			 "cascade's file is invalid at this revision: "
			 "nothing was reset, and its last good definition "
			 "stays active.</p>\n");
		goto out;
	}
	if (ret < 0) {
		buf_puts(&p->b, "<p class=\"note bad\">The plan cannot be "
				"computed: ");
		ui_err_txt(p, err_msg());
		buf_puts(&p->b, "</p>\n");
		goto out;
	}
	if (!cur) {
		buf_puts(&p->b, "<p id=\"plan-summary\">The cascade is not in "
				"this revision: its file was removed, and the "
				"cascade with it.</p>\n");
		goto out;
	}
	for (j = at + 1; j < nrevs && j <= at + PLAN_LOOKBACK; j++) {
		ret = cascade_at(mirror.ptr, rc, revs[j].commit_id, c->name,
				 &old);
		if (ret != ERR_INVALID)
			break;
	}
	if (ret < 0 && ret != ERR_INVALID && j < nrevs) {
		buf_puts(&p->b, "<p class=\"note bad\">The previous revision "
				"cannot be read: ");
		ui_err_txt(p, err_msg());
		buf_puts(&p->b, "</p>\n");
		goto out;
	}
	plan_compute(&plan, old, cur, NULL, NULL);
	plan_show(p, &plan);
	plan_release(&plan);
out:
	if (gated)
		plan_gate_leave(p->r->srv);
	buf_puts(&p->b, "</section>\n");
	cascade_free(old);
	cascade_free(new);
	buf_release(&mirror);
}

/* ---- the DAG ---- */

/* The run a node links to: the last run, or for a fan-out that failed,
 * the first failed host's (the one to read). */
static int64_t
node_run(const struct trow *row)
{
	size_t i;

	for (i = 0; row->nhosts > 1 && i < row->nhosts; i++)
		if (row->hosts[i].state != RS_SUCCESS &&
		    row->hosts[i].state != RS_RUNNING)
			return row->hosts[i].id;
	return row->run.id;
}

/* The graph, each node coloured by its task's state, linked to its run. */
static void
dag_svg(struct page *p, const struct cascade *def, const struct trow *rows)
{
	struct ui_dag_node *v = xcalloc(def->ntasks + 1, sizeof(*v));
	char (*href)[64] = xcalloc(def->ntasks + 1, sizeof(*href));
	size_t i;

	for (i = 0; i < def->ntasks; i++) {
		const char *state = rows[i].row
					    ? task_state_names[rows[i].row->state]
					    : "not_started";

		v[i].name = def->tasks[i].name;
		v[i].deps = def->tasks[i].deps;
		v[i].ndeps = def->tasks[i].ndeps;
		v[i].data_key = "data-state";
		v[i].data_value = state;
		v[i].title = ui_colour(state)->label;
		v[i].colour = ui_colour(state)->bg;
		/* skipped, not to be confused with not started: an outline */
		v[i].outline = rows[i].row && rows[i].row->state == TS_SKIPPED;
		if (rows[i].run.id) {
			snprintf(href[i], sizeof(href[i]), "%sr/%lld", p->root,
				 (long long)node_run(&rows[i]));
			v[i].href = href[i];
		}
	}
	ui_dag_svg(p, v, def->ntasks, def->topo,
		   "The tasks and their dependencies");
	free(v);
	free(href);
}

static void
legend(struct page *p)
{
	static const char *const states[] = {
	    "not_started", "waiting", "running", "success",
	    "error",	   "killed",  "skipped"};
	size_t i;

	buf_puts(&p->b, "<p class=\"counts\">");
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		ui_state(&p->b, states[i]);
		buf_putc(&p->b, ' ');
	}
	buf_puts(&p->b, " <span class=\"muted\">Skipped tasks (their "
			"trigger can no longer be met) are outlined. Edges: on "
			"success (solid), on error (red, dashed), always "
			"(dotted).</span></p>\n");
}

/* ---- the tasks ---- */

/* The cells of a run: link and outcome (with show_exit, the exit code of
 * a failure), start, duration, attempt, revision. */
static void
run_cells(struct page *p, const struct task *t, const struct run_row *run,
	  int show_exit)
{
	buf_addf(&p->b, "<td><a href=\"%sr/%lld\">#%lld</a> ", p->root,
		 (long long)run->id, (long long)run->id);
	ui_state(&p->b, run_state_names[run->state]);
	if (show_exit && run->state != RS_SUCCESS &&
	    run->state != RS_RUNNING && run->exit_code >= 0)
		buf_addf(&p->b, " <span class=\"muted\">exit %d</span>",
			 run->exit_code);
	if (run->superseded)
		buf_puts(&p->b, " <span class=\"muted\">superseded"
				"</span>");
	buf_puts(&p->b, "</td><td class=\"wide\">");
	ui_time(p, run->started_at);
	buf_puts(&p->b, "</td><td>");
	ui_duration(&p->b, (run->ended_at ? run->ended_at : p->now) -
			       run->started_at);
	if (!run->ended_at)
		buf_puts(&p->b, " so far");
	buf_addf(&p->b, "</td><td>%d of %d</td><td class=\"wide\">",
		 run->attempt, t->retries + 1);
	ui_short_id(&p->b, run->revision);
	buf_puts(&p->b, "</td>");
}

/* How many hosts of a fan-out did not succeed (or run on). */
static size_t
hosts_failed(const struct trow *row)
{
	size_t i, n = 0;

	for (i = 0; i < row->nhosts; i++)
		n += row->hosts[i].state != RS_SUCCESS &&
		     row->hosts[i].state != RS_RUNNING;
	return n;
}

/*
 * A fan-out (a task on several hosts): a summary in the task's row, then
 * a row per host with its last run, so the host that failed is named.
 */
static void
host_rows(struct page *p, const struct trow *row)
{
	const struct task *t = row->t;
	size_t i, failed = hosts_failed(row);

	buf_addf(&p->b, "<td colspan=\"5\">%zu hosts", row->nhosts);
	if (failed) {
		buf_addf(&p->b, ", %zu failed:", failed);
		for (i = 0; i < row->nhosts; i++) {
			if (row->hosts[i].state == RS_SUCCESS ||
			    row->hosts[i].state == RS_RUNNING)
				continue;
			buf_puts(&p->b, " <a href=\"#task-");
			html_attr(&p->b, t->name);
			buf_puts(&p->b, "-host-");
			html_attr(&p->b, row->hosts[i].host);
			buf_puts(&p->b, "\">");
			html_txt(&p->b, row->hosts[i].host);
			buf_puts(&p->b, "</a>");
		}
	}
	buf_puts(&p->b, "</td></tr>\n");
	for (i = 0; i < row->nhosts; i++) {
		buf_puts(&p->b, "<tr class=\"host\" id=\"task-");
		html_attr(&p->b, t->name);
		buf_puts(&p->b, "-host-");
		html_attr(&p->b, row->hosts[i].host);
		buf_puts(&p->b, "\"><td class=\"name\">&#8627; ");
		html_txt(&p->b, row->hosts[i].host);
		buf_puts(&p->b, "</td><td></td>");
		run_cells(p, t, &row->hosts[i], 1);
		buf_puts(&p->b, "</tr>\n");
	}
}

static void
tasks_table(struct page *p, const struct cascade *def, const struct trow *rows)
{
	size_t i;

	buf_puts(&p->b,
		 "<div class=\"scroll\"><table id=\"tasks\">\n"
		 "<thead><tr><th>Task</th><th>State</th><th>Last run</th>"
		 "<th class=\"wide\">Started</th><th>Duration</th>"
		 "<th>Attempt</th>"
		 "<th class=\"wide\">Revision</th></tr></thead>\n"
		 "<tbody>\n");
	for (i = 0; i < def->ntasks; i++) {
		const struct task *t = rows[i].t;
		const struct run_row *run = &rows[i].run;

		buf_puts(&p->b, "<tr id=\"task-");
		html_attr(&p->b, t->name);
		buf_puts(&p->b, "\"><td class=\"name\">");
		html_txt(&p->b, t->name);
		if (!t->auto_execute)
			buf_puts(&p->b, " <span class=\"muted\">(by hand)"
					"</span>");
		buf_puts(&p->b, "</td><td>");
		ui_state(&p->b, rows[i].row
				    ? task_state_names[rows[i].row->state]
				    : "not_started");
		buf_puts(&p->b, "</td>");
		if (!run->id) {
			buf_puts(&p->b,
				 "<td class=\"muted\">none</td>"
				 "<td class=\"wide\"></td><td></td><td></td>"
				 "<td class=\"wide\"></td></tr>\n");
			continue;
		}
		if (rows[i].nhosts > 1) {
			host_rows(p, &rows[i]);
			continue;
		}
		run_cells(p, t, run, 0);
		buf_puts(&p->b, "</tr>\n");
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n");
}

/* The inputs as the API shows them (view.c): password values never. */
static int
inputs_section(struct page *p, struct store *st, const struct cascade_row *c)
{
	struct sched *s = req_sched(p->r);
	json_t *v = NULL, *in;
	size_t i;

	if (!s || view_inputs(&v, st, s, c, NULL) < 0)
		return -1;
	if (!json_array_size(json_object_get(v, "inputs")))
		goto out;
	buf_puts(&p->b, "<section>\n<h2>Inputs</h2>\n<div class=\"scroll\">"
			"<table id=\"inputs\">\n<thead><tr><th>Name</th>"
			"<th>Type</th><th>Value</th><th class=\"wide\">"
			"Description</th></tr></thead>\n<tbody>\n");
	json_array_foreach(json_object_get(v, "inputs"), i, in)
	{
		const char *type =
		    json_string_value(json_object_get(in, "type"));
		const char *source =
		    json_string_value(json_object_get(in, "source"));
		json_t *value = json_object_get(in, "value");

		buf_puts(&p->b, "<tr><td class=\"name\">");
		html_txt(&p->b, json_string_value(json_object_get(in, "name")));
		buf_puts(&p->b, "</td><td>");
		html_txt(&p->b, type);
		buf_puts(&p->b, "</td><td class=\"name\">");
		if (!json_is_true(json_object_get(in, "has_value")))
			buf_puts(&p->b, "<span class=\"muted\">not set</span>");
		else if (!strcmp(type, "password"))
			buf_puts(&p->b, "<code>********</code>");
		else {
			buf_puts(&p->b, "<code>");
			html_txt(&p->b, json_string_value(value));
			buf_puts(&p->b, "</code>");
		}
		if (source && !strcmp(source, "default"))
			buf_puts(&p->b, " <span class=\"muted\">(default)"
					"</span>");
		buf_puts(&p->b, "</td><td class=\"wide\">");
		html_txt(&p->b,
			 json_string_value(json_object_get(in, "description")));
		buf_puts(&p->b, "</td></tr>\n");
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
out:
	json_decref(v);
	return 0;
}

/* ---- the page ---- */

/* One sentence: did it work, and if not, which tasks failed and how. */
static void
verdict(struct page *p, struct store *st, const struct cascade *def,
	const struct trow *rows)
{
	char *why = NULL;
	size_t i, done = 0, failed = 0, active = 0, skipped = 0;

	for (i = 0; i < def->ntasks; i++) {
		enum task_state s =
		    rows[i].row ? rows[i].row->state : TS_NOT_STARTED;

		done += s == TS_SUCCESS;
		skipped += s == TS_SKIPPED;
		failed += s == TS_ERROR || s == TS_KILLED;
		active += s == TS_RUNNING || s == TS_WAITING;
	}
	buf_puts(&p->b, "<p id=\"verdict\">");
	if (failed) {
		buf_addf(&p->b, "%zu of %zu task%s failed:", failed,
			 def->ntasks, def->ntasks == 1 ? "" : "s");
		for (i = 0; i < def->ntasks; i++) {
			const struct task_row *row = rows[i].row;
			const struct run_row *run = &rows[i].run;

			if (!row ||
			    (row->state != TS_ERROR && row->state != TS_KILLED))
				continue;
			buf_puts(&p->b, " <a href=\"#task-");
			html_attr(&p->b, rows[i].t->name);
			buf_puts(&p->b, "\">");
			html_txt(&p->b, rows[i].t->name);
			buf_puts(&p->b, "</a>");
			if (rows[i].nhosts > 1 && hosts_failed(&rows[i])) {
				/* a fan-out: the hosts that failed, and how */
				size_t k, shown = 0;

				buf_puts(&p->b, " <span class=\"muted\">(on ");
				for (k = 0; k < rows[i].nhosts; k++) {
					const struct run_row *h =
					    &rows[i].hosts[k];

					if (h->state == RS_SUCCESS ||
					    h->state == RS_RUNNING)
						continue;
					buf_puts(&p->b, shown++ ? "; " : "");
					html_txt(&p->b, h->host);
					buf_puts(&p->b, ": ");
					html_txt(&p->b,
						 h->message && *h->message
						     ? h->message
						     : run_state_names[h->state]);
				}
				buf_puts(&p->b, ")</span>");
			} else if (row->state == TS_ERROR &&
				   (why = NULL,
				    store_task_reason(st, row->id, &why) == 0) &&
				   !strncmp(why, "drift: ", 7)) {
				/* its run succeeded; its probe failed since */
				buf_puts(&p->b, " <span class=\"muted\">(");
				html_txt(&p->b, why);
				buf_puts(&p->b, ")</span>");
			} else if (run->id && run->message && *run->message) {
				buf_puts(&p->b, " <span class=\"muted\">(");
				html_txt(&p->b, run->message);
				buf_puts(&p->b, ")</span>");
			}
			free(why);
			why = NULL;
		}
		buf_putc(&p->b, '.');
	} else if (active) {
		buf_addf(&p->b,
			 "Running: %zu of %zu task%s done, %zu running "
			 "or waiting.",
			 done, def->ntasks, def->ntasks == 1 ? "" : "s",
			 active);
	} else if (done && done + skipped == def->ntasks && skipped) {
		/* what cannot run any more does not count against it */
		buf_addf(&p->b,
			 "All %zu task%s that could run succeeded; %zu "
			 "skipped.",
			 done, done == 1 ? "" : "s", skipped);
	} else if (done == def->ntasks) {
		buf_addf(&p->b, "All %zu task%s succeeded.", def->ntasks,
			 def->ntasks == 1 ? "" : "s");
	} else {
		buf_addf(&p->b,
			 "%zu of %zu task%s done; the others have not "
			 "run (by hand only, or waiting on a parent).",
			 done, def->ntasks, def->ntasks == 1 ? "" : "s");
	}
	buf_puts(&p->b, "</p>\n");
}

/* The revision and where the cascade comes from. */
static void
header(struct page *p, const struct cascade_row *c,
       const struct revision_row *rev, int past, const char *now)
{
	if (!c->active)
		buf_puts(&p->b, "<p class=\"note\">This cascade is no longer "
				"active: its file was removed.</p>\n");
	if (past) {
		buf_puts(&p->b,
			 "<p class=\"note\" id=\"newer\">This page shows "
			 "revision ");
		ui_short_id(&p->b, rev->commit_id);
		buf_puts(&p->b, " as it happened: what it reset and what ran. "
				"The cascade is now at revision ");
		ui_short_id(&p->b, c->revision);
		buf_puts(&p->b, ", ");
		ui_state(&p->b, now);
		buf_puts(&p->b, ": <a id=\"current\" href=\"");
		ui_href(p, "c", ui_repo_arg(c), c->name, NULL);
		buf_puts(&p->b, "\">its current state</a>.</p>\n");
	}
	buf_puts(&p->b, "<section>\n<dl class=\"kv\">\n");
	if (c->repo && *c->repo) {
		buf_puts(&p->b, "<dt>Repository</dt><dd>");
		html_txt(&p->b, c->repo);
		buf_puts(&p->b, "</dd>\n");
	}
	buf_puts(&p->b, "<dt>File</dt><dd><code>");
	html_txt(&p->b, c->file ? c->file : "-");
	buf_puts(&p->b, "</code></dd>\n<dt>Revision</dt><dd id=\"revision\">");
	ui_short_id(&p->b, rev ? rev->commit_id : c->revision);
	if (rev && rev->subject) {
		buf_puts(&p->b, " <span id=\"subject\">");
		html_txt(&p->b, rev->subject);
		buf_puts(&p->b, "</span>");
	}
	if (rev) {
		buf_puts(&p->b, " ");
		ui_state(&p->b, rev->result);
	}
	buf_puts(&p->b, "</dd>\n");
	if (rev && rev->author) {
		buf_puts(&p->b, "<dt>Author</dt><dd>");
		html_txt(&p->b, rev->author);
		buf_puts(&p->b, "</dd>\n<dt>Committed</dt><dd>");
		ui_time_full(p, rev->time * 1000);
		buf_puts(&p->b, "</dd>\n");
	}
	buf_puts(&p->b, "<dt>Applied</dt><dd>");
	ui_time_full(p, rev ? rev->seen_at : c->updated_at);
	buf_puts(&p->b, "</dd>\n</dl>\n");
	if (rev && rev->errors && *rev->errors) {
		/* warnings alone leave every file valid: no red banner */
		if (rev->result && !strcmp(rev->result, "invalid"))
			buf_puts(&p->b,
				 "<p class=\"note bad\">The cascade files of "
				 "this revision have errors; the invalid ones "
				 "keep their last good definition:</p>\n");
		else
			buf_puts(&p->b,
				 "<p class=\"note\">The cascade files of "
				 "this revision are valid, with "
				 "warnings:</p>\n");
		buf_puts(&p->b, "<pre id=\"revision-errors\">");
		html_txt(&p->b, rev->errors);
		buf_puts(&p->b, "</pre>\n");
	}
	buf_puts(&p->b, "</section>\n");
}

/* The tasks of the definition, in file order, with their rows and last
 * runs; -1 when the store fails. */
static int
load_rows(struct store *st, const struct cascade *def,
	  const struct task_row *ts, size_t nts, struct trow **out)
{
	struct strmap idx = STRMAP_INIT;
	struct trow *rows;
	size_t i;
	int ret = 0;

	rows = xcalloc(def->ntasks + 1, sizeof(*rows));
	for (i = 0; i < nts; i++)
		if (ts[i].present)
			strmap_put(&idx, ts[i].name, (void *)&ts[i]);
	for (i = 0; i < def->ntasks && ret == 0; i++) {
		rows[i].t = &def->tasks[i];
		rows[i].row = strmap_get(&idx, def->tasks[i].name);
		if (rows[i].row && rows[i].row->last_run)
			ret = store_run_get(st, rows[i].row->last_run,
					    &rows[i].run);
		if (ret == 0 && rows[i].row && rows[i].row->last_run)
			ret = store_runs_per_host(st, rows[i].row->id,
						  &rows[i].hosts,
						  &rows[i].nhosts);
	}
	strmap_release(&idx);
	*out = rows;
	return ret;
}

static void
free_rows(struct trow *rows, size_t n)
{
	size_t i;

	for (i = 0; rows && i < n; i++) {
		run_row_release(&rows[i].run);
		run_rows_free(rows[i].hosts, rows[i].nhosts);
	}
	free(rows);
}

void
ui_cascade(struct req *r)
{
	const char *repo = r->params[0], *name = r->params[1];
	const char *asked = req_query(r, "rev");
	struct store *st = req_store(r);
	struct sched *s = req_sched(r);
	const struct cascade *def = NULL;
	struct cascade_row c;
	struct task_row *ts = NULL;
	struct revision_row *revs = NULL;
	struct trow *rows = NULL;
	struct run_row *rruns = NULL;
	struct buf crumbs = BUF_INIT;
	size_t nts = 0, nrevs = 0, at = SIZE_MAX, nrruns = 0;
	const char *now;
	struct page p;
	int ret, past = 0;

	memset(&p, 0, sizeof(p));
	if (!st || !s || ui_cascade_find(r, ROOT, repo, name, &c) < 0)
		return;
	if (*c.repo && (asked || c.revision)) {
		ret = ui_revisions(st, c.repo, asked ? asked : c.revision,
				   &revs, &nrevs, &at);
		if (ret == ERR_NOTFOUND && asked) {
			ui_fail(r, ROOT, 404,
				"scaffold has no record of "
				"revision '%s' in repo '%s'",
				asked, c.repo);
			goto out;
		}
		if (ret < 0 && ret != ERR_NOTFOUND)
			goto fail;
	}
	if (sched_definition(s, c.id, &def) < 0 ||
	    store_tasks(st, c.id, &ts, &nts) < 0 ||
	    load_rows(st, def, ts, nts, &rows) < 0)
		goto fail;
	/* an older revision's page tells what happened then, not now */
	past = at != SIZE_MAX && c.revision &&
	       strcmp(revs[at].commit_id, c.revision);
	if (at != SIZE_MAX &&
	    store_runs_of_revision(st, c.id, revs[at].commit_id, &rruns,
				   &nrruns) < 0)
		goto fail;
	now = cascade_verdict(ts, nts, NULL);

	buf_puts(&crumbs, "<span class=\"sep\">/</span><span>");
	html_txt(&crumbs, ui_repo_arg(&c));
	buf_puts(&crumbs, "</span><span class=\"sep\">/</span><a href=\"");
	html_url_arg(&crumbs, c.name);
	buf_puts(&crumbs, "\">");
	html_txt(&crumbs, c.name);
	buf_puts(&crumbs, "</a>");
	ui_begin(&p, r, ROOT, c.name, crumbs.ptr);
	buf_puts(&p.b, "<h1 id=\"cascade\">");
	html_txt(&p.b, c.name);
	buf_putc(&p.b, ' ');
	ui_state(&p.b, past ? ui_rev_verdict(&revs[at], &c, rruns, nrruns)
			    : now);
	buf_puts(&p.b, "</h1>\n");
	if (past)
		ui_rev_verdict_text(&p, &revs[at], &c, rruns, nrruns);
	else
		verdict(&p, st, def, rows);
	header(&p, &c, at != SIZE_MAX ? &revs[at] : NULL, past, now);
	if (!past)
		ui_missing_files(&p, st, c.id, def);
	if (at != SIZE_MAX) {
		plan_section(&p, &c, def, revs, nrevs, at);
		ui_rev_runs(&p, &revs[at], rruns, nrruns);
	}
	if (past) {
		/* today's graph, tasks and inputs are on the current page */
		ui_end(&p);
		goto out;
	}
	buf_puts(&p.b, "<section>\n<h2>Graph</h2>\n");
	legend(&p);
	dag_svg(&p, def, rows);
	buf_addf(&p.b,
		 "</section>\n<section>\n<h2>Tasks <span "
		 "class=\"muted\">(%zu)</span></h2>\n",
		 def->ntasks);
	tasks_table(&p, def, rows);
	buf_puts(&p.b, "</section>\n");
	ui_checks_section(&p, st, c.id, def);
	if (!auth_may_see(r, PAGE_DETAIL))
		ui_sign_in_note(&p, "The inputs of this cascade");
	else if (inputs_section(&p, st, &c) < 0)
		goto fail;
	ui_end(&p);
	goto out;
fail:
	buf_release(&p.b);
	ui_fail(r, ROOT, 500, "%s", err_msg());
out:
	free_rows(rows, def && rows ? def->ntasks : 0);
	run_rows_free(rruns, nrruns);
	task_rows_free(ts, nts);
	revision_rows_free(revs, nrevs);
	cascade_row_release(&c);
	buf_release(&crumbs);
}
