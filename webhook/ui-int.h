/*
 * ui-int.h - shared by the status pages: ui.c (the layout, the state
 * colours, times, lookups) and one file per page, cgit's way: ui-index.c
 * (/), ui-cascade.c (/c/REPO/CASCADE; ui-revision.c for ?rev=),
 * ui-run.c (/r/RUN), ui-badge.c (/badge/REPO/CASCADE.svg), ui-pr.c
 * (/p/REPO/SHA).
 *
 * Pages are HTML built in a struct buf and work without JavaScript.  Every
 * string that comes from a repository, a run or an operator goes through
 * the helper named for where it lands: html_txt (element text), html_attr
 * (a quoted attribute value), html_url_arg (a URL path segment or query
 * value).  Links are relative (p->root leads back to "/"), so the pages
 * work behind a proxy that mounts scaffold under a path.
 */
#ifndef SCAFFOLD_UI_INT_H
#define SCAFFOLD_UI_INT_H

#include "webhook-int.h"

/* A page being built. */
struct page {
	struct req *r;
	struct buf b;	  /* the HTML so far */
	const char *root; /* from this page to "/": "", "../", "../../" */
	int64_t now;	  /* ms since the epoch, when the page began */
};

/*
 * Begin a page: the document head (title: text, escaped here), the inline
 * style sheet and the top bar.  crumbs is extra HTML for the top bar
 * (escaped by the caller), or NULL.
 */
void ui_begin(struct page *p, struct req *r, const char *root,
	      const char *title, const char *crumbs);
/* Close the document and reply 200 with it; releases p->b. */
void ui_end(struct page *p);
/* The same with another status code (a form sent back with an error). */
void ui_end_code(struct page *p, int code);
/* A note "WHAT are for viewers: sign in." (what: text, plural), with a
 * link to sign in and come back to this page. */
void ui_sign_in_note(struct page *p, const char *what);
/* Reply with an HTML page for an error: code, and the message (text). */
/* An error message inside a page, as element text, passed through
 * http_public_msg (no path of the data dir; the log has it whole). */
void ui_err_txt(struct page *p, const char *msg);
void ui_fail(struct req *r, const char *root, int code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/* Reply with bytes of a type, with the pages' security headers. */
void ui_reply(struct req *r, int code, const char *ctype, const void *data,
	      size_t len);

/*
 * The state colours: one table for task states, run outcomes, overall
 * cascade states and revision results, used by the chips, the DAG and the
 * badge alike.  Unknown names get the grey of not_started.
 */
struct ui_colour {
	const char *state;
	const char *key;   /* its CSS class: st-KEY */
	const char *label; /* for people: "not started" */
	const char *bg;	   /* "#1a7f37" */
};
const struct ui_colour *ui_colour(const char *state);
/* <span class="st st-KEY">label</span> */
void ui_state(struct buf *b, const char *state);

/* A time as "3 min ago" with the UTC time in its title and datetime. */
void ui_time(struct page *p, int64_t ms);
/* A time as "2024-05-01 12:03:04 UTC (3 min ago)". */
void ui_time_full(struct page *p, int64_t ms);
/* "1.2 s", "3 min 4 s", "2 h 5 min" */
void ui_duration(struct buf *b, int64_t ms);
/* A byte count: "512 B", "1.5 KiB", "3.0 MiB". */
void ui_size(struct buf *b, int64_t n);
/* The first 10 characters of a commit id, as text ("-" for none). */
void ui_short_id(struct buf *b, const char *id);

/* The href of a page from p: p->root, then path segments as given, each
 * through html_url_arg.  NULL ends the list. */
void ui_href(struct page *p, ...);

/*
 * The cascade of the URL (repo "-" for one applied from files): 0 and *out
 * (release it), or <0 with a 404 (or 500) page as the reply.
 */
int ui_cascade_find(struct req *r, const char *root, const char *repo,
		    const char *name, struct cascade_row *out);
/* The repo part of a cascade's URL: its repo, or "-". */
const char *ui_repo_arg(const struct cascade_row *c);
/*
 * The newest UI_REVISIONS revisions of repo (*revs, newest first; free
 * with revision_rows_free) and *at the index of commit in them (a full id,
 * or a prefix of 4 or more hex digits).  ERR_NOTFOUND (*revs still set)
 * when scaffold has no record of commit.
 */
#define UI_REVISIONS 1000
int ui_revisions(struct store *st, const char *repo, const char *commit,
		 struct revision_row **revs, size_t *n, size_t *at);

/* ui-revision.c: a cascade's page at one revision. */
/* The verdict of the revision's own runs (runs: store_runs_of_revision):
 * a state, "invalid" (its file was), or "nothing ran". */
const char *ui_rev_verdict(const struct revision_row *rev,
			   const struct cascade_row *c,
			   const struct run_row *runs, size_t n);
/* The same as a sentence, <p id="verdict">, naming the failed runs. */
void ui_rev_verdict_text(struct page *p, const struct revision_row *rev,
			 const struct cascade_row *c,
			 const struct run_row *runs, size_t n);
/* What the revision reset, as recorded when applied: ERR_NOTFOUND (and
 * nothing written) when nothing was. */
int ui_rev_resets(struct page *p, struct store *st,
		  const struct cascade_row *c, const struct revision_row *rev);
/* The section of the revision's runs, with links to their logs. */
void ui_rev_runs(struct page *p, const struct revision_row *rev,
		 const struct run_row *runs, size_t n);

/*
 * ui-dag.c: a DAG as an inline SVG (<svg id="dag">), layered top down.
 * Each node is a <g class="CLS" data-task="NAME" DATA_KEY="DATA_VALUE">
 * with a <title> "NAME: TITLE"; deps are its parents by index; href
 * (HTML-safe already, or NULL) makes it a link.  topo: parents before
 * children, or NULL to compute it (a cycle or an index out of range:
 * nothing is drawn).  label is the SVG's aria-label (text).
 */
struct ui_dag_node {
	const char *name;
	const struct dep *deps; /* the parents: deps[i].task, .kind */
	size_t ndeps;
	const char *cls;	/* NULL: "node" */
	const char *data_key;	/* "data-state" */
	const char *data_value; /* a fixed word: "success" */
	const char *title;	/* text after "NAME: " */
	const char *colour;	/* fill (or the outline's stroke): "#1a7f37" */
	int outline;		/* drawn as an outline (skipped) */
	const char *href;
};
void ui_dag_svg(struct page *p, const struct ui_dag_node *v, size_t n,
		const size_t *topo, const char *label);

/* Handlers of the route table (ui.c). */
void ui_index(struct req *r);
void ui_cascade(struct req *r);
void ui_run(struct req *r);
/* ui-files.c: the files tasks load from the file store that it does not
 * have yet, as a note (nothing when none is missing). */
void ui_missing_files(struct page *p, struct store *st, int64_t cascade_id,
		      const struct cascade *def);
/* ui-check.c: the drift checks section of a cascade's page. */
void ui_checks_section(struct page *p, struct store *st, int64_t cascade_id,
		       const struct cascade *def);
void ui_run_file(struct req *r);
void ui_badge(struct req *r);
/* ui-pr.c: /p/REPO/SHA, the plan of a pull request's head. */
void ui_pr_plan(struct req *r);
void ui_script(struct req *r);
void ui_login_form(struct req *r);
void ui_login(struct req *r);
void ui_logout(struct req *r);

#endif
