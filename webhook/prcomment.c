/*
 * prcomment.c - the comment a pull request gets with its plan
 * (forge.plan_comments): one per repository and pull request, created on
 * the first plan and updated in place on every new head and when the pull
 * request closes.  The bodies go through the store's outbox
 * (store-prcomments.c) and are sent by the outbox thread with the commit
 * statuses' backoff.  GitHub and Gitea/Forgejo: POST
 * /repos/O/R/issues/N/comments, PATCH /repos/O/R/issues/comments/ID;
 * GitLab: POST /projects/P/merge_requests/IID/notes, PUT .../notes/ID.
 *
 * A create whose answer was lost is found again by the hidden marker of
 * its body among the pull request's comments before another is made.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

#define MAX_LISTED 50	/* tasks named per cascade in the table */
#define LIST_PAGES 20	/* pages of comments looked through for a marker */
#define DUE_LIMIT 200

/* Text for a markdown table cell: markup and mentions neutralised. */
static void
md_text(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '|':
			buf_puts(out, "&#124;");
			break;
		case '@':
			buf_puts(out, "&#64;");
			break;
		case '\n':
		case '\r':
		case '\t':
			buf_putc(out, ' ');
			break;
		case '\\':
		case '`':
		case '*':
		case '_':
		case '[':
		case ']':
		case '~':
		case '#':
		case '!':
			buf_putc(out, '\\');
			buf_putc(out, *s);
			break;
		default:
			buf_putc(out, *s);
		}
	}
}

/* The first line: marker, repo, head, and the link to the plan page. */
static void
head_line(struct buf *out, const struct config *cf,
	  const struct repo_config *rc, const char *marker, const char *head)
{
	const char *u = cf->public_url ? cf->public_url : "";
	size_t n = strlen(u);

	buf_addf(out, "<!-- scaffold-plan %s -->\n", marker);
	buf_puts(out, "**scaffold plan** of repo ");
	md_text(out, rc->name);
	buf_addf(out, " at %.12s", head);
	while (n && u[n - 1] == '/')
		n--;
	buf_puts(out, " ([the plan](");
	buf_add(out, u, n);
	buf_puts(out, "/p/");
	forge_url_escape(out, rc->name, 0);
	buf_putc(out, '/');
	forge_url_escape(out, head, 0);
	buf_puts(out, ")): ");
}

/* One table row per cascade the pull request touches. */
static void
table(struct buf *out, json_t *cascades)
{
	json_t *c, *plan, *reset, *errs;
	size_t i, k, nreset;

	buf_puts(out, "\n\n| cascade | change | tasks to re-run | first error "
		      "|\n| --- | --- | --- | --- |\n");
	json_array_foreach(cascades, i, c) {
		const char *name = json_string_value(
			json_object_get(c, "cascade"));

		plan = json_object_get(c, "plan");
		reset = json_object_get(plan, "reset");
		errs = json_object_get(c, "errors");
		nreset = json_array_size(reset);
		buf_puts(out, "| ");
		md_text(out, name ? name : json_string_value(json_object_get(
						       c, "file")));
		buf_puts(out, " | ");
		md_text(out, json_string_value(json_object_get(c, "action")));
		buf_puts(out, " | ");
		if (plan) {
			buf_addf(out, "%zu", nreset);
			for (k = 0; k < nreset && k < MAX_LISTED; k++) {
				buf_puts(out, k ? ", " : ": ");
				md_text(out, json_string_value(
						     json_array_get(reset, k)));
			}
			if (nreset > MAX_LISTED)
				buf_addf(out, " and %zu more",
					 nreset - MAX_LISTED);
		}
		buf_puts(out, " | ");
		if (json_array_size(errs))
			md_text(out, json_string_value(json_array_get(errs,
								      0)));
		buf_puts(out, " |\n");
	}
}

/* Set the body of (repo, number), in the caller's transaction. */
static int
set_body(struct store *st, const struct repo_config *rc, int64_t number,
	 const char *marker, const struct buf *body, size_t *enqueued)
{
	int ret = store_prcomment_set(st, rc->name, number, marker, body->ptr);

	if (ret == 0 && enqueued)
		(*enqueued)++;
	return ret;
}

int
prcomment_plan(struct store *st, const struct config *cf,
	       const struct repo_config *rc, int64_t number, const char *head,
	       const char *summary, json_t *plan, size_t *enqueued)
{
	char marker[PRCOMMENT_MARKER_LEN + 1];
	struct buf body = BUF_INIT;
	json_t *cascades = json_object_get(plan, "cascades");
	int ret;

	if (!rc->forge_kind || !rc->plan_comments)
		return 0;
	if ((ret = store_prcomment_marker(st, rc->name, number, marker)) < 0 &&
	    ret != ERR_NOTFOUND)
		return ret;
	head_line(&body, cf, rc, marker, head);
	md_text(&body, summary);
	if (json_array_size(cascades))
		table(&body, cascades);
	else
		buf_putc(&body, '\n');
	ret = set_body(st, rc, number, marker, &body, enqueued);
	buf_release(&body);
	return ret;
}

int
prcomment_closed(struct store *st, const struct config *cf,
		 const struct repo_config *rc, int64_t number, const char *head,
		 const char *how, size_t *enqueued)
{
	char marker[PRCOMMENT_MARKER_LEN + 1];
	struct buf body = BUF_INIT;
	int ret;

	if (!rc->forge_kind || !rc->plan_comments)
		return 0;
	ret = store_prcomment_marker(st, rc->name, number, marker);
	if (ret == ERR_NOTFOUND)
		return 0; /* no comment: none to say it */
	if (ret < 0)
		return ret;
	head_line(&body, cf, rc, marker, head);
	buf_addf(&body, "the pull request is %s; its plan preview is "
			"cleared, nothing of it is planned any more\n",
		 how);
	ret = set_body(st, rc, number, marker, &body, enqueued);
	buf_release(&body);
	return ret;
}

/* The API path of the pull request's comments (list and create). */
static void
comments_path(struct buf *out, const struct repo_config *rc, int64_t number)
{
	if (!strcmp(rc->forge_kind, "gitlab")) {
		buf_puts(out, "/projects/");
		forge_url_escape(out, rc->project, 0);
		buf_addf(out, "/merge_requests/%lld/notes", (long long)number);
	} else {
		buf_puts(out, "/repos/");
		forge_url_escape(out, rc->project, 1);
		buf_addf(out, "/issues/%lld/comments", (long long)number);
	}
}

/* The API path of one comment (update). */
static void
comment_path(struct buf *out, const struct repo_config *rc, int64_t number,
	     const char *id)
{
	if (!strcmp(rc->forge_kind, "gitlab")) {
		comments_path(out, rc, number);
		buf_putc(out, '/');
	} else {
		buf_puts(out, "/repos/");
		forge_url_escape(out, rc->project, 1);
		buf_puts(out, "/issues/comments/");
	}
	forge_url_escape(out, id, 0);
}

/* The "id" of a comment object as text; NULL when it has none. */
static char *
id_of(json_t *o)
{
	json_t *id = json_object_get(o, "id");
	struct buf b = BUF_INIT;

	if (json_is_integer(id) && json_integer_value(id) > 0)
		buf_addf(&b, "%lld", (long long)json_integer_value(id));
	else
		return NULL;
	return buf_detach(&b, NULL);
}

/* One request about row's comment; 0 for a 2xx answer (its JSON in
 * *out, may be NULL), ERR_NOTFOUND for 404, else <0 with err_set. */
static int
call(json_t **out, const struct repo_config *rc,
     const struct prcomment_row *row, const char *method, const char *path,
     const char *what, const atomic_int *stop)
{
	struct buf ans = BUF_INIT, msg = BUF_INIT, w = BUF_INIT;
	json_t *body = NULL;
	char *text = NULL;
	long code = 0;
	int ret;

	if (out)
		*out = NULL;
	if (strcmp(method, "GET")) {
		body = json_pack("{s:s}", "body", row->body);
		text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		if (!text) {
			ret = err_set("repo '%s': cannot encode a comment",
				      rc->name);
			goto out;
		}
	}
	buf_addf(&w, "%s the comment of pull request #%lld", what,
		 (long long)row->number);
	if ((ret = forge_call(&code, &ans, &msg, rc, method, path, text, w.ptr,
			      stop)) < 0)
		goto out;
	if (code >= 200 && code < 300) {
		if (out)
			*out = json_loadb(ans.ptr, ans.len, 0, NULL);
		ret = 0;
		goto out;
	}
	err_set("repo '%s': %s answered %ld to %s: %s", rc->name,
		rc->forge_kind, code, w.ptr, msg.ptr);
	ret = code == 404 ? ERR_NOTFOUND
	      : forge_retryable(code) ? -1
				      : ERR_INVALID;
out:
	json_decref(body);
	free(text);
	buf_release(&ans);
	buf_release(&msg);
	buf_release(&w);
	return ret;
}

/* Look for the comment holding row's marker: 0 with *id (NULL: none). */
static int
find_marked(char **id, const struct repo_config *rc,
	    const struct prcomment_row *row, const atomic_int *stop)
{
	struct buf path = BUF_INIT, mark = BUF_INIT;
	int gitlab = !strcmp(rc->forge_kind, "gitlab");
	int gitea = !strcmp(rc->forge_kind, "gitea");
	size_t per = gitea ? 50 : 100, i;
	json_t *list = NULL, *c;
	int page, ret = 0;

	*id = NULL;
	buf_addf(&mark, "<!-- scaffold-plan %s -->", row->marker);
	for (page = 1; page <= LIST_PAGES && !*id; page++) {
		buf_reset(&path);
		comments_path(&path, rc, row->number);
		if (gitea)
			buf_addf(&path, "?page=%d&limit=%zu", page, per);
		else if (gitlab)
			buf_addf(&path, "?sort=asc&order_by=created_at&"
					"per_page=%zu&page=%d",
				 per, page);
		else
			buf_addf(&path, "?per_page=%zu&page=%d", per, page);
		if ((ret = call(&list, rc, row, "GET", path.ptr, "list",
				stop)) < 0)
			break;
		json_array_foreach(list, i, c) {
			const char *b = json_string_value(
				json_object_get(c, "body"));

			if (b && strstr(b, mark.ptr) && (*id = id_of(c)))
				break;
		}
		if (json_array_size(list) < per) {
			json_decref(list);
			break;
		}
		json_decref(list);
		list = NULL;
	}
	buf_release(&path);
	buf_release(&mark);
	return ret;
}

/* Make the forge's comment say row's body: update it, or create it. */
static int
send_comment(struct store *st, const struct repo_config *rc,
	     const struct prcomment_row *row, const atomic_int *stop)
{
	struct buf path = BUF_INIT;
	char *id = row->comment_id ? xstrdup(row->comment_id) : NULL;
	json_t *made = NULL;
	int ret = 0;

	if (!rc->project) {
		ret = err_set("repo '%s': the forge project is unknown (set "
			      "forge.project)",
			      rc->name);
		ret = ERR_INVALID;
		goto out;
	}
	if (!id && row->create_tried) {
		/* a create went out and its answer never came back */
		if ((ret = find_marked(&id, rc, row, stop)) < 0)
			goto out;
		if (id) {
			log_info("status: repo '%s': the comment of pull "
				 "request #%lld is found by its marker",
				 rc->name, (long long)row->number);
			if ((ret = store_prcomment_id(st, rc->name, row->number,
						      id)) < 0)
				goto out;
		}
	}
	if (id) {
		comment_path(&path, rc, row->number, id);
		ret = call(NULL, rc, row,
			   !strcmp(rc->forge_kind, "gitlab") ? "PUT" : "PATCH",
			   path.ptr, "update", stop);
		if (ret != ERR_NOTFOUND)
			goto out;
		/* deleted on the forge: a new one says it */
		log_warnx("status: %s; a new comment is made", err_msg());
		free(id);
		id = NULL;
		if ((ret = store_prcomment_id(st, rc->name, row->number,
					      NULL)) < 0)
			goto out;
		buf_reset(&path);
	}
	if ((ret = store_prcomment_tried(st, rc->name, row->number)) < 0)
		goto out;
	comments_path(&path, rc, row->number);
	if ((ret = call(&made, rc, row, "POST", path.ptr, "create", stop)) <
	    0) {
		if (ret == ERR_NOTFOUND)
			ret = ERR_INVALID;
		goto out;
	}
	if (!(id = id_of(made))) {
		ret = err_set("repo '%s': %s answered the comment of pull "
			      "request #%lld with no id",
			      rc->name, rc->forge_kind, (long long)row->number);
		goto out;
	}
	ret = store_prcomment_id(st, rc->name, row->number, id);
out:
	json_decref(made);
	free(id);
	buf_release(&path);
	return ret;
}

static int
waiting_for(const struct strvec *repos, const char *repo)
{
	size_t i;

	for (i = 0; i < repos->n; i++)
		if (!strcmp(repos->v[i], repo))
			return 1;
	return 0;
}

int64_t
prcomment_send_due(struct store *st, const struct config *cf, int all,
		   const atomic_int *stop)
{
	struct prcomment_row *rows = NULL;
	struct strvec waiting = STRVEC_INIT;
	int64_t next = INT64_MAX, now = store_now_ms(), at;
	char when[32];
	size_t n = 0, i;
	int r;

	if (store_prcomments_due(st, DUE_LIMIT, &rows, &n) < 0) {
		log_warnx("status: %s", err_msg());
		return now + 1000;
	}
	for (i = 0; i < n && !atomic_load(stop); i++) {
		const struct prcomment_row *row = &rows[i];
		const struct repo_config *rc = config_repo(cf, row->repo);

		if (waiting_for(&waiting, row->repo))
			continue;
		if (!rc || !rc->forge_kind || !rc->plan_comments) {
			if (store_prcomment_sent(st, row->repo, row->number,
						 row->version,
						 "plan_comments is off") < 0)
				log_warnx("status: %s", err_msg());
			continue;
		}
		if (row->next_at > now && !all) {
			strvec_push(&waiting, row->repo);
			if (row->next_at < next)
				next = row->next_at;
			continue;
		}
		r = send_comment(st, rc, row, stop);
		if (r == 0) {
			log_info("status: repo '%s': the comment of pull "
				 "request #%lld is up to date",
				 rc->name, (long long)row->number);
			if (store_prcomment_sent(st, row->repo, row->number,
						 row->version, NULL) < 0)
				log_warnx("status: %s", err_msg());
		} else if (atomic_load(stop)) {
			break; /* abandoned, not failed */
		} else if (r == ERR_INVALID) {
			log_warnx("status: %s (not retried)", err_msg());
			if (store_prcomment_sent(st, row->repo, row->number,
						 row->version, err_msg()) < 0)
				log_warnx("status: %s", err_msg());
		} else {
			duration_format(when, sizeof(when),
					status_backoff_ms(row->attempts + 1));
			log_warnx("status: %s (retrying in %s)", err_msg(),
				  when);
			if (store_prcomment_retry(st, row->repo, row->number,
						  row->attempts + 1,
						  err_msg()) < 0)
				log_warnx("status: %s", err_msg());
			strvec_push(&waiting, row->repo);
			at = store_now_ms() +
			     status_backoff_ms(row->attempts + 1);
			if (at < next)
				next = at;
		}
		now = store_now_ms();
	}
	if (n == DUE_LIMIT && next == INT64_MAX)
		next = 0;
	prcomment_rows_free(rows, n);
	strvec_clear(&waiting);
	return next;
}
