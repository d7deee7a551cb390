/*
 * ui-run.c - the status page of one run, /r/RUN: its task, where it ran
 * (host or container), the revision, the outcome, exit code and duration,
 * the log (followed live through server-sent events while the run goes
 * on: /r/RUN/log?follow=1 and ui.js; without JavaScript the page shows the
 * log as it was), the run's .display items (value, pre, table), its stored
 * files (downloads, /r/RUN/files/NAME) and the names of its stored env,
 * never their values.  All of that needs a viewer unless public_status
 * is full: the page leaves it out for anyone else.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui-int.h"
#include "../runner/runner.h"

#define ROOT "../"
/* The page shows at most the end of a log this long (the whole one is a
 * link away). */
#define LOG_SHOWN (1u << 20)
/* A .display larger than this is not rendered. */
#define DISPLAY_MAX (1u << 20)

/* The run of the URL: 0 and *out (release it), or -1 with a page set. */
static int
run_of_url(struct req *r, const char *root, struct run_row *out)
{
	struct store *st = req_store(r);
	const char *s = r->params[0];
	char *end;
	long long id;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	errno = 0;
	id = strtoll(s, &end, 10);
	if (errno || *end || id < 1 || s[0] < '0' || s[0] > '9') {
		ui_fail(r, root, 404,
			"'%s' is not a run (runs are numbered "
			"from 1)",
			s);
		return -1;
	}
	ret = store_run_get(st, id, out);
	if (ret == ERR_NOTFOUND)
		ui_fail(r, root, 404, "scaffold has no run %lld", id);
	else if (ret < 0)
		ui_fail(r, root, 500, "%s", err_msg());
	return ret < 0 ? -1 : 0;
}

/* A JSON value as text: strings as they are, anything else as JSON. */
static void
json_txt(struct buf *b, json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		html_ntxt(b, json_string_value(v), json_string_length(v));
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	html_txt(b, s ? s : "");
	free(s);
}

static void
display_table(struct page *p, json_t *item)
{
	json_t *header = json_object_get(item, "header");
	json_t *data = json_object_get(item, "data"), *row, *cell;
	size_t i, k;

	buf_puts(&p->b,
		 "<div class=\"scroll\"><table class=\"display-table\">\n");
	if (json_is_array(header)) {
		buf_puts(&p->b, "<thead><tr>");
		json_array_foreach(header, i, cell)
		{
			buf_puts(&p->b, "<th>");
			json_txt(&p->b, cell);
			buf_puts(&p->b, "</th>");
		}
		buf_puts(&p->b, "</tr></thead>\n");
	}
	buf_puts(&p->b, "<tbody>\n");
	json_array_foreach(data, i, row)
	{
		buf_puts(&p->b, "<tr>");
		if (!json_is_array(row)) {
			buf_puts(&p->b, "<td>");
			json_txt(&p->b, row);
			buf_puts(&p->b, "</td>");
		}
		json_array_foreach(row, k, cell)
		{
			buf_puts(&p->b, "<td>");
			json_txt(&p->b, cell);
			buf_puts(&p->b, "</td>");
		}
		buf_puts(&p->b, "</tr>\n");
	}
	buf_puts(&p->b, "</tbody>\n</table></div>\n");
}

/* One item of .display (DESIGN §2): value, pre or table. */
static void
display_item(struct page *p, size_t i, json_t *item)
{
	const char *kind = json_string_value(json_object_get(item, "kind"));
	json_t *name = json_object_get(item, "name");

	if (!kind || (strcmp(kind, "value") && strcmp(kind, "pre") &&
		      strcmp(kind, "table"))) {
		buf_addf(&p->b,
			 "<p class=\"note bad\">Item %zu of .display "
			 "has no kind value, pre or table.</p>\n",
			 i + 1);
		return;
	}
	buf_addf(&p->b, "<div class=\"display display-%s\">", kind);
	if (!strcmp(kind, "value")) {
		buf_puts(&p->b, "<span class=\"muted\">");
		json_txt(&p->b, name);
		buf_puts(&p->b, "</span> <strong>");
		json_txt(&p->b, json_object_get(item, "data"));
		buf_puts(&p->b, "</strong></div>\n");
		return;
	}
	buf_puts(&p->b, "<h3>");
	json_txt(&p->b, name);
	buf_puts(&p->b, "</h3>\n");
	if (!strcmp(kind, "pre")) {
		buf_puts(&p->b, "<pre>");
		json_txt(&p->b, json_object_get(item, "data"));
		buf_puts(&p->b, "</pre>\n");
	} else {
		display_table(p, item);
	}
	buf_puts(&p->b, "</div>\n");
}

/* The run's .display, when it wrote one. */
static void
display_section(struct page *p, struct store *st, const struct run_row *run)
{
	char blob[SHA256_HEX_LEN + 1];
	struct buf path = BUF_INIT, data = BUF_INIT;
	json_error_t jerr;
	json_t *items = NULL, *item;
	size_t i;

	if (store_run_file_get(st, run->id, RUN_DISPLAY_FILE, blob) < 0)
		return;
	buf_puts(&p->b, "<section id=\"display\">\n<h2>Display</h2>\n");
	store_blob_path(st, blob, &path);
	if (buf_read_file(&data, path.ptr, DISPLAY_MAX) < 0) {
		buf_puts(&p->b, "<p class=\"note bad\">The run's .display "
				"cannot be shown: ");
		ui_err_txt(p, err_msg());
		buf_puts(&p->b, "</p>\n");
		goto out;
	}
	items = json_loadb(data.ptr, data.len, 0, &jerr);
	if (!items) {
		buf_addf(&p->b,
			 "<p class=\"note bad\">The run's .display is "
			 "not valid JSON (line %d, column %d): ",
			 jerr.line, jerr.column);
		html_txt(&p->b, jerr.text);
		buf_puts(&p->b, "</p>\n");
		goto out;
	}
	if (!json_is_array(items)) {
		buf_puts(&p->b, "<p class=\"note bad\">The run's .display is "
				"not a JSON list of items.</p>\n");
		goto out;
	}
	json_array_foreach(items, i, item) display_item(p, i, item);
out:
	buf_puts(&p->b, "</section>\n");
	json_decref(items);
	buf_release(&path);
	buf_release(&data);
}

static void
files_section(struct page *p, struct store *st, const struct run_row *run)
{
	struct strvec names = STRVEC_INIT;
	struct buf path = BUF_INIT;
	char blob[SHA256_HEX_LEN + 1];
	struct stat sb;
	size_t i, shown = 0;

	if (store_run_file_names(st, run->id, &names) < 0)
		return;
	for (i = 0; i < names.n; i++) {
		if (!strcmp(names.v[i], RUN_DISPLAY_FILE) ||
		    store_run_file_get(st, run->id, names.v[i], blob) < 0)
			continue;
		if (!shown++)
			buf_puts(&p->b,
				 "<section>\n<h2>Stored files</h2>\n"
				 "<div class=\"scroll\"><table id=\"files\">"
				 "\n<thead><tr><th>File</th><th>Size</th>"
				 "</tr></thead>\n<tbody>\n");
		buf_reset(&path);
		store_blob_path(st, blob, &path);
		buf_addf(&p->b,
			 "<tr><td class=\"name\"><a href=\"%sr/%lld/"
			 "files/",
			 p->root, (long long)run->id);
		html_url_path(&p->b, names.v[i]);
		buf_puts(&p->b, "\" download=\"\">");
		html_txt(&p->b, names.v[i]);
		buf_puts(&p->b, "</a></td><td>");
		if (stat(path.ptr, &sb) == 0)
			ui_size(&p->b, (int64_t)sb.st_size);
		buf_puts(&p->b, "</td></tr>\n");
	}
	if (shown)
		buf_puts(&p->b, "</tbody>\n</table></div>\n</section>\n");
	strvec_clear(&names);
	buf_release(&path);
}

/* The names of the stored env: values may hold secrets, and stay out. */
static void
env_section(struct page *p, struct store *st, const struct run_row *run)
{
	struct strvec names = STRVEC_INIT;
	size_t i;

	if (store_run_env_names(st, run->id, &names) < 0 || !names.n)
		goto out;
	buf_puts(&p->b, "<section>\n<h2>Stored env</h2>\n<p id=\"env\">");
	for (i = 0; i < names.n; i++) {
		buf_puts(&p->b, i ? " <code>" : "<code>");
		html_txt(&p->b, names.v[i]);
		buf_puts(&p->b, "</code>");
	}
	buf_puts(&p->b, "</p>\n<p class=\"muted\">Values are not shown "
			"here; tasks that load them get them.</p>\n"
			"</section>\n");
out:
	strvec_clear(&names);
}

/*
 * Whether the runner cut the output of this log (runner_log_limit): its
 * note is on a line that starts at or after the cap, where the task's
 * output never is, so a task cannot fake it.
 */
static bool
log_was_cut(int fd, off_t size)
{
	static const char note[] = RUN_LOG_CUT_NOTE;
	off_t cap = (off_t)runner_log_max();
	char chunk[4096 + sizeof(note)];
	ssize_t n;
	size_t i;

	if (size <= cap)
		return false;
	n = pread(fd, chunk, sizeof(chunk) - 1, cap);
	if (n <= 0)
		return false;
	chunk[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		if ((i == 0 || chunk[i - 1] == '\n') &&
		    !strncmp(chunk + i, note, sizeof(note) - 1))
			return true;
	return false;
}

/* The log, or its end when it is long. */
static void
log_section(struct page *p, struct store *st, const struct run_row *run)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	struct stat sb;
	off_t from = 0;
	ssize_t n;
	int fd;

	store_log_path(st, run->id, &path);
	buf_puts(&p->b, "<section>\n<h2>Log</h2>\n<p class=\"muted\">");
	if (run->state == RS_RUNNING)
		buf_puts(&p->b, "<span id=\"live\">running: reload the page "
				"for more (with JavaScript it follows "
				"live)</span> &#183; ");
	buf_addf(&p->b, "<a href=\"%sr/%lld/log\">plain text</a></p>\n",
		 p->root, (long long)run->id);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &sb) == 0) {
		if (log_was_cut(fd, sb.st_size)) {
			buf_puts(&p->b, "<p class=\"note\" id=\"log-cut\">"
					"The output was cut at ");
			ui_size(&p->b, runner_log_max());
			buf_puts(&p->b, " (limits: {run_log}): the rest of it "
					"was dropped.</p>\n");
		}
		if (sb.st_size > (off_t)LOG_SHOWN) {
			from = sb.st_size - (off_t)LOG_SHOWN;
			buf_puts(&p->b, "<p class=\"note\">The log is long: "
					"this is its last ");
			ui_size(&p->b, LOG_SHOWN);
			buf_puts(&p->b, ".</p>\n");
		}
		buf_grow(&data, (size_t)(sb.st_size - from));
		while ((n = pread(fd, data.ptr + data.len,
				  (size_t)(sb.st_size - from) - data.len,
				  from + (off_t)data.len)) > 0) {
			data.len += (size_t)n;
			if (data.len >= (size_t)(sb.st_size - from))
				break;
		}
		data.ptr[data.len] = '\0';
	}
	if (fd >= 0)
		close(fd);
	buf_puts(&p->b, "<pre class=\"log\" id=\"log\"");
	if (run->state == RS_RUNNING)
		buf_addf(&p->b, " data-follow=\"%sr/%lld/log?follow=1\"",
			 p->root, (long long)run->id);
	buf_putc(&p->b, '>');
	html_ntxt(&p->b, data.ptr, data.len);
	buf_puts(&p->b, "</pre>\n</section>\n");
	buf_release(&path);
	buf_release(&data);
}

/* Where the run ran, for people. */
static void
where(struct page *p, const struct run_row *run, const struct task *t)
{
	if (!strcmp(run->runner, "ssh")) {
		buf_puts(&p->b, "host <code>");
		html_txt(&p->b, run->host);
		buf_puts(&p->b, "</code> (ssh)");
	} else if (!strcmp(run->runner, "docker")) {
		buf_puts(&p->b, "a container");
		if (t && t->image) {
			buf_puts(&p->b, " of <code>");
			html_txt(&p->b, t->image);
			buf_puts(&p->b, "</code>");
		}
		buf_addf(&p->b,
			 " labelled <code>scaffold.run=%lld</code> "
			 "(docker)",
			 (long long)run->id);
	} else {
		buf_puts(&p->b, "the scaffold machine (local)");
	}
}

static void
details(struct page *p, const struct cascade_row *c, const struct run_row *run,
	const struct task *t, const char *subject)
{
	buf_puts(&p->b, "<section>\n<dl class=\"kv\" id=\"details\">\n"
			"<dt>Cascade</dt><dd><a href=\"");
	ui_href(p, "c", ui_repo_arg(c), c->name, NULL);
	buf_puts(&p->b, "\">");
	if (*c->repo) {
		html_txt(&p->b, c->repo);
		buf_putc(&p->b, '/');
	}
	html_txt(&p->b, c->name);
	buf_puts(&p->b, "</a></dd>\n<dt>Task</dt><dd id=\"task\">");
	html_txt(&p->b, run->task);
	buf_addf(&p->b, "</dd>\n<dt>Attempt</dt><dd>%d", run->attempt);
	if (t)
		buf_addf(&p->b, " of %d", t->retries + 1);
	buf_puts(&p->b, "</dd>\n<dt>Where</dt><dd id=\"where\">");
	where(p, run, t);
	buf_puts(&p->b, "</dd>\n<dt>Revision</dt><dd>");
	ui_short_id(&p->b, run->revision);
	if (subject) {
		buf_putc(&p->b, ' ');
		html_txt(&p->b, subject);
	}
	buf_puts(&p->b, "</dd>\n<dt>Outcome</dt><dd id=\"outcome\">");
	ui_state(&p->b, run_state_names[run->state]);
	if (run->message && *run->message) {
		buf_putc(&p->b, ' ');
		html_txt(&p->b, run->message);
	}
	if (run->superseded)
		buf_puts(&p->b, " <span class=\"muted\">(superseded: the task "
				"changed while it ran)</span>");
	else if (run->kill_requested && run->state == RS_RUNNING)
		buf_puts(&p->b, " <span class=\"muted\">(kill requested)"
				"</span>");
	buf_puts(&p->b, "</dd>\n<dt>Exit code</dt><dd id=\"exit-code\">");
	if (run->exit_code >= 0)
		buf_addf(&p->b, "%d", run->exit_code);
	else
		buf_puts(&p->b, "<span class=\"muted\">none</span>");
	buf_puts(&p->b, "</dd>\n<dt>Started</dt><dd>");
	ui_time_full(p, run->started_at);
	buf_puts(&p->b, "</dd>\n<dt>Ended</dt><dd>");
	ui_time_full(p, run->ended_at);
	buf_puts(&p->b, "</dd>\n<dt>Duration</dt><dd id=\"duration\">");
	ui_duration(&p->b,
		    (run->ended_at ? run->ended_at : p->now) - run->started_at);
	if (!run->ended_at)
		buf_puts(&p->b, " so far");
	buf_puts(&p->b, "</dd>\n</dl>\n</section>\n");
}

void
ui_run(struct req *r)
{
	struct store *st = req_store(r);
	struct sched *s = req_sched(r);
	const struct cascade *def = NULL;
	struct run_row run;
	struct task_row task;
	struct cascade_row c;
	struct revision_row *revs = NULL;
	struct buf crumbs = BUF_INIT, title = BUF_INIT;
	size_t nrevs = 0, at = SIZE_MAX;
	struct page p;

	memset(&task, 0, sizeof(task));
	memset(&c, 0, sizeof(c));
	if (!s || run_of_url(r, ROOT, &run) < 0)
		return;
	if (store_task_get(st, run.task_id, &task) < 0 ||
	    store_cascade_get(st, task.cascade_id, &c) < 0) {
		ui_fail(r, ROOT, 500, "%s", err_msg());
		goto out;
	}
	if (c.active && sched_definition(s, c.id, &def) < 0)
		def = NULL;
	if (*c.repo && run.revision)
		ui_revisions(st, c.repo, run.revision, &revs, &nrevs, &at);

	buf_puts(&crumbs, "<span class=\"sep\">/</span><span>");
	html_txt(&crumbs, ui_repo_arg(&c));
	buf_puts(&crumbs, "</span><span class=\"sep\">/</span><a href=\"");
	buf_puts(&crumbs, ROOT "c/");
	html_url_arg(&crumbs, ui_repo_arg(&c));
	buf_putc(&crumbs, '/');
	html_url_arg(&crumbs, c.name);
	buf_puts(&crumbs, "\">");
	html_txt(&crumbs, c.name);
	buf_addf(&crumbs,
		 "</a><span class=\"sep\">/</span><span>run %lld"
		 "</span>",
		 (long long)run.id);
	buf_addf(&title, "Run %lld: %s/%s", (long long)run.id, c.name,
		 run.task);
	ui_begin(&p, r, ROOT, title.ptr, crumbs.ptr);
	buf_addf(&p.b, "<h1>Run %lld: ", (long long)run.id);
	html_txt(&p.b, run.task);
	buf_putc(&p.b, ' ');
	ui_state(&p.b, run_state_names[run.state]);
	buf_puts(&p.b, "</h1>\n");
	details(&p, &c, &run, def ? cascade_task(def, run.task) : NULL,
		at != SIZE_MAX ? revs[at].subject : NULL);
	if (auth_may_see(r, PAGE_DETAIL)) {
		display_section(&p, st, &run);
		log_section(&p, st, &run);
		files_section(&p, st, &run);
		env_section(&p, st, &run);
	} else {
		/* left out, not hidden: an anonymous reader gets none of it */
		ui_sign_in_note(&p, "The log, display items, stored files "
				    "and env names of this run");
	}
	ui_end(&p);
out:
	revision_rows_free(revs, nrevs);
	free(task.name);
	cascade_row_release(&c);
	run_row_release(&run);
	buf_release(&crumbs);
	buf_release(&title);
}

/* GET /r/RUN/files/NAME: a stored file of the run, as a download. */
void
ui_run_file(struct req *r)
{
	const char *name = r->params[1], *sl;
	char blob[SHA256_HEX_LEN + 1];
	struct buf path = BUF_INIT, disp = BUF_INIT, root = BUF_INIT;
	struct MHD_Response *resp;
	struct run_row run;
	const char *base;
	struct stat sb;
	int fd = -1, ret;

	/* from /r/RUN/files/NAME back to / */
	buf_puts(&root, "../../../");
	for (sl = strchr(name, '/'); sl; sl = strchr(sl + 1, '/'))
		buf_puts(&root, "../");
	if (run_of_url(r, root.ptr, &run) < 0)
		goto out;
	ret = store_run_file_get(req_store(r), run.id, name, blob);
	if (ret < 0) {
		ui_fail(r, root.ptr, ret == ERR_NOTFOUND ? 404 : 500,
			"run %lld stored no file '%s'", (long long)run.id,
			name);
		goto out;
	}
	store_blob_path(req_store(r), blob, &path);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		ui_fail(r, root.ptr, 500,
			"file '%s' of run %lld cannot be "
			"read: %s",
			name, (long long)run.id, strerror(errno));
		goto out;
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		ui_fail(r, root.ptr, 500, "cannot answer with file '%s'", name);
		goto out;
	}
	fd = -1; /* the response owns it */
	base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	buf_puts(&disp, "attachment; filename*=UTF-8''");
	html_url_arg(&disp, base);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/octet-stream");
	MHD_add_response_header(resp, "Content-Disposition", disp.ptr);
	r->resp = resp;
	r->code = 200;
	r->done = 1;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	buf_release(&disp);
	buf_release(&root);
	run_row_release(&run);
}
