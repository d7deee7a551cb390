/*
 * ui.c - what the status pages share: the route table, the document
 * around each page (head with its inline style sheet, top bar), the state
 * colours, times and sizes, the script that follows a running log, and the
 * lookups every page makes.  The pages themselves are ui-*.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-int.h"
#include "ui-int.h"

/*
 * Pages load scripts only from scaffold itself, and nothing else at all:
 * text that slipped through unescaped still could not run.  Forms (sign
 * in, sign out) post only to scaffold.
 */
#define UI_CSP                                                                 \
	"default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; "   \
	"connect-src 'self'; img-src 'self' data:; base-uri 'none'; "          \
	"form-action 'self'; frame-ancestors 'none'"

/* The one table of state colours (white text on each). */
static const struct ui_colour colours[] = {
	{ "not_started", "not_started", "not started", "#6e7781" },
	{ "waiting", "waiting", "waiting", "#9a6700" },
	{ "running", "running", "running", "#0969da" },
	{ "success", "success", "success", "#1a7f37" },
	{ "error", "error", "error", "#cf222e" },
	{ "killed", "killed", "killed", "#8250df" },
	{ "skipped", "skipped", "skipped", "#8c959f" },
	{ "lost", "lost", "lost", "#bc4c00" },
	/* revision results */
	{ "applied", "applied", "applied", "#1a7f37" },
	{ "invalid", "invalid", "invalid", "#cf222e" },
	{ "no cascade change", "unchanged", "no cascade change", "#6e7781" },
	/* a revision's own verdict (ui-revision.c) */
	{ "nothing ran", "none", "nothing ran", "#6e7781" },
};

static const struct ui_colour *
find_colour(const char *state)
{
	size_t i;

	for (i = 0; state && i < ARRAY_SIZE(colours); i++)
		if (!strcmp(colours[i].state, state))
			return &colours[i];
	return NULL;
}

const struct ui_colour *
ui_colour(const char *state)
{
	const struct ui_colour *c = find_colour(state);

	return c ? c : &colours[0];
}

void
ui_state(struct buf *b, const char *state)
{
	const struct ui_colour *c = find_colour(state);

	/* the class is the table's own word: never text from outside */
	buf_addf(b, "<span class=\"st st-%s\">", ui_colour(state)->key);
	html_txt(b, c ? c->label : state);
	buf_puts(b, "</span>");
}

static const char style[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,'DejaVu Sans',sans-serif;color:#1f2328;background:#f6f8fa}"
    "a{color:#0969da}"
    "header.top{background:#24292f;color:#fff;padding:.55rem 1rem;"
    "display:flex;flex-wrap:wrap;gap:.4rem;align-items:baseline}"
    "header.top a{color:#fff;text-decoration:none}"
    "header.top .brand{font-weight:700;margin-right:.4rem}"
    "header.top .sep{color:#8c959f}"
    "header.top .session{margin-left:auto}"
    "header.top .session button{font:inherit;font-size:.85rem}"
    "main{max-width:1200px;margin:0 auto;padding:1rem}"
    "h1{font-size:1.35rem;margin:.2rem 0 .5rem;overflow-wrap:anywhere}"
    "h2{font-size:1.05rem;margin:0 0 .5rem}"
    "section{background:#fff;border:1px solid #d0d7de;border-radius:6px;"
    "padding:.75rem 1rem;margin:0 0 1rem}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid "
    "#eaeef2;vertical-align:top}"
    "th{font-weight:600;color:#57606a;font-size:.85rem;white-space:nowrap}"
    "td.name{overflow-wrap:anywhere;min-width:7em}"
    "footer{max-width:1200px;margin:0 auto;padding:0 1rem 1.5rem}"
    ".scroll{overflow-x:auto}"
    ".st{display:inline-block;padding:0 .5rem;border-radius:1rem;"
    "color:#fff;font-size:.8rem;font-weight:600;white-space:nowrap}"
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,"
    "'DejaVu Sans Mono',Menlo,monospace;font-size:.85rem}"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;"
    "border-radius:6px;overflow:auto;white-space:pre-wrap;"
    "overflow-wrap:anywhere;margin:.25rem 0}"
    "pre.log{background:#0d1117;color:#e6edf3;max-height:75vh}"
    ".muted{color:#57606a}"
    "time{white-space:nowrap}"
    "dl.kv{display:grid;grid-template-columns:max-content 1fr;"
    "gap:.2rem 1rem;margin:0}"
    "dl.kv dt{color:#57606a}"
    "dl.kv dd{margin:0;overflow-wrap:anywhere}"
    ".note{border-left:4px solid #9a6700;background:#fff8c5;"
    "padding:.5rem .75rem;margin:0 0 1rem;border-radius:4px}"
    ".note.bad{border-color:#cf222e;background:#ffebe9}"
    ".counts .st{margin:0 .2rem .2rem 0}"
    ".dag{overflow:auto;max-height:80vh}"
    ".dag svg{display:block}"
    ".dag text{font:12px 'DejaVu Sans',sans-serif;fill:#fff}"
    ".e{fill:none;stroke:#8c959f;stroke-width:1.2;marker-end:url(#arrow)}"
    ".e-error{stroke:#cf222e;stroke-dasharray:5 3}"
    ".e-always{stroke-dasharray:2 3}"
    "ul.plan{list-style:none;padding:0;margin:0}"
    "ul.plan li{padding:.15rem 0;overflow-wrap:anywhere}"
    "#verdict{font-size:1.05rem;margin:.2rem 0 1rem}"
    ".act{display:inline-block;min-width:5.2rem;font-size:.8rem;"
    "font-weight:600}"
    ".act-added{color:#1a7f37}.act-changed{color:#9a6700}"
    ".act-reset{color:#0969da}.act-removed{color:#6e7781}"
    "h3{font-size:.95rem;margin:.8rem 0 .35rem}"
    "h4{font-size:.9rem;margin:.6rem 0 .25rem;overflow-wrap:anywhere}"
    "table.fields td{width:46%}table.fields pre{margin:0}"
    "pre.diff span{display:block}"
    ".d-del{background:#ffebe9;color:#82071e}"
    ".d-add{background:#dafbe1;color:#116329}"
    ".d-hunk{color:#8250df}.d-eol{color:#57606a}"
    "@media (max-width:640px){main{padding:.5rem}"
    "th,td{padding:.3rem .35rem}.wide{display:none}}";

static void session_bar(struct page *p);

void
ui_begin(struct page *p, struct req *r, const char *root, const char *title,
	 const char *crumbs)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->r = r;
	p->root = root;
	p->now = store_now_ms();
	buf_init(&p->b);
	buf_grow(&p->b, 16384);
	/* well-formed XML too (void elements closed): xmllint checks it */
	buf_puts(
	    &p->b,
	    "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/"
	    "1999/xhtml\" lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\"/>\n<title>");
	html_txt(&p->b, title);
	buf_puts(&p->b, " - scaffold</title>\n<style>");
	buf_puts(&p->b, style);
	for (i = 0; i < ARRAY_SIZE(colours); i++)
		buf_addf(&p->b, ".st-%s{background:%s}", colours[i].key,
			 colours[i].bg);
	buf_puts(&p->b, "</style>\n</head>\n<body>\n<header class=\"top\">"
			"<a class=\"brand\" href=\"");
	buf_puts(&p->b, *root ? root : "./");
	buf_puts(&p->b, "\">scaffold</a>");
	if (crumbs)
		buf_puts(&p->b, crumbs);
	session_bar(p);
	buf_puts(&p->b, "</header>\n<main>\n");
}

/* The request's path and query, as a value for ?next= (escaped). */
static void
next_arg(struct buf *b, struct req *r)
{
	struct buf next = BUF_INIT;
	const char *q;

	html_url_path(&next, r->url);
	q = req_query(r, "rev");
	if (q) {
		buf_puts(&next, "?rev=");
		html_url_arg(&next, q);
	}
	html_url_arg(b, next.ptr);
	buf_release(&next);
}

/* The end of the top bar: who is signed in and a sign-out button, or a
 * link to sign in where there is more to see. */
static void
session_bar(struct page *p)
{
	struct req *r = p->r;

	if (r->session_token[0]) {
		buf_addf(&p->b,
			 "<form class=\"session\" method=\"post\" "
			 "action=\"%slogout\"><span id=\"session\">",
			 p->root);
		html_txt(&p->b, r->session_token);
		buf_puts(&p->b, "</span> <button type=\"submit\">Sign out"
				"</button></form>");
	} else if (r->role == ROLE_NONE &&
		   r->cf->public_status != PUBLIC_FULL &&
		   strcmp(r->url, "/login")) {
		buf_addf(&p->b, "<a class=\"session\" href=\"%slogin?next=",
			 p->root);
		next_arg(&p->b, r);
		buf_puts(&p->b, "\">Sign in</a>");
	}
}

void
ui_sign_in_note(struct page *p, const char *what)
{
	buf_puts(&p->b, "<p class=\"note\" id=\"sign-in\">");
	html_txt(&p->b, what);
	buf_addf(&p->b, " are for viewers: <a href=\"%slogin?next=",
		 p->root);
	next_arg(&p->b, p->r);
	buf_puts(&p->b, "\">sign in</a>.</p>\n");
}

/* Reply with resp (NULL: it could not be made), with the pages' headers. */
static void
reply_resp(struct req *r, int code, const char *ctype,
	   struct MHD_Response *resp)
{
	if (!resp) {
		reply_error(r, 500, "cannot make the response");
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
	if (r->resp)
		MHD_destroy_response(r->resp);
	r->resp = resp;
	r->code = code;
	r->done = 1;
}

void
ui_reply(struct req *r, int code, const char *ctype, const void *data,
	 size_t len)
{
	reply_resp(r, code, ctype,
		   MHD_create_response_from_buffer(len, (void *)data,
						   MHD_RESPMEM_MUST_COPY));
}

static void
page_reply(struct page *p, int code)
{
	struct MHD_Response *resp;
	size_t len;
	char *html;

	buf_addf(&p->b,
		 "</main>\n<footer class=\"muted\">scaffold %s"
		 "</footer>\n"
		 "<script src=\"%sui.js\"></script>\n</body>\n</html>\n",
		 SCAFFOLD_VERSION, p->root);
	/* a page may be a megabyte: handed over, not copied */
	html = buf_detach(&p->b, &len);
	resp =
	    MHD_create_response_from_buffer(len, html, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(html);
	reply_resp(p->r, code, "text/html; charset=utf-8", resp);
}

void
ui_end(struct page *p)
{
	page_reply(p, 200);
}

void
ui_end_code(struct page *p, int code)
{
	page_reply(p, code);
}

void
ui_err_txt(struct page *p, const char *msg)
{
	struct buf pub = BUF_INIT;

	http_public_msg(p->r, 0, &pub, msg);
	html_txt(&p->b, pub.ptr);
	buf_release(&pub);
}

void
ui_fail(struct req *r, const char *root, int code, const char *fmt, ...)
{
	struct buf msg = BUF_INIT, pub = BUF_INIT;
	struct page p;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	http_public_msg(r, code, &pub, msg.ptr);
	ui_begin(&p, r, root, code == 404 ? "Not found" : "Error", NULL);
	buf_addf(&p.b, "<h1>%s</h1>\n<p class=\"note bad\">",
		 code == 404 ? "Not found" : "Something went wrong");
	html_txt(&p.b, pub.ptr);
	buf_puts(&p.b, "</p>\n");
	page_reply(&p, code);
	buf_release(&msg);
	buf_release(&pub);
}

/* ---- times and sizes ---- */

/* ms as UTC: iso "2024-05-01T12:03:04Z", abs "2024-05-01 12:03:04 UTC". */
static void
utc(char iso[32], char abs[32], int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) ||
	    !strftime(abs, 32, "%Y-%m-%d %H:%M:%S UTC", &tm)) {
		snprintf(iso, 32, "?");
		snprintf(abs, 32, "?");
	}
}

static void
relative(struct buf *b, int64_t now, int64_t ms)
{
	int64_t d = (now - ms) / 1000;

	if (d < 0)
		d = 0;
	if (d < 45)
		buf_addf(b, "%lld s ago", (long long)d);
	else if (d < 90 * 60)
		buf_addf(b, "%lld min ago", (long long)(d + 30) / 60);
	else if (d < 36 * 3600)
		buf_addf(b, "%lld h ago", (long long)(d + 1800) / 3600);
	else
		buf_addf(b, "%lld d ago", (long long)(d + 43200) / 86400);
}

/* A time, relative with the UTC time as its title, or both in full. */
static void
time_html(struct page *p, int64_t ms, int full)
{
	char iso[32], abs[32];

	if (ms <= 0) {
		buf_puts(&p->b, "<span class=\"muted\">-</span>");
		return;
	}
	utc(iso, abs, ms);
	if (full)
		buf_addf(&p->b,
			 "<time datetime=\"%s\">%s</time> <span "
			 "class=\"muted\">(",
			 iso, abs);
	else
		buf_addf(&p->b, "<time datetime=\"%s\" title=\"%s\">", iso,
			 abs);
	relative(&p->b, p->now, ms);
	buf_puts(&p->b, full ? ")</span>" : "</time>");
}

void
ui_time(struct page *p, int64_t ms)
{
	time_html(p, ms, 0);
}

void
ui_time_full(struct page *p, int64_t ms)
{
	time_html(p, ms, 1);
}

void
ui_duration(struct buf *b, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		buf_addf(b, "%lld ms", (long long)ms);
	else if (ms < 60 * 1000)
		buf_addf(b, "%.1f s", ms / 1000.0);
	else if (ms < 3600 * 1000)
		buf_addf(b, "%lld min %lld s", (long long)(ms / 60000),
			 (long long)(ms / 1000 % 60));
	else
		buf_addf(b, "%lld h %lld min", (long long)(ms / 3600000),
			 (long long)(ms / 60000 % 60));
}

void
ui_size(struct buf *b, int64_t n)
{
	if (n < 1024)
		buf_addf(b, "%lld B", (long long)n);
	else if (n < 1024 * 1024)
		buf_addf(b, "%.1f KiB", n / 1024.0);
	else
		buf_addf(b, "%.1f MiB", n / (1024.0 * 1024));
}

void
ui_short_id(struct buf *b, const char *id)
{
	if (!id || !*id) {
		buf_puts(b, "-");
		return;
	}
	buf_puts(b, "<code>");
	html_ntxt(b, id, strnlen(id, 10));
	buf_puts(b, "</code>");
}

void
ui_href(struct page *p, ...)
{
	const char *seg;
	va_list ap;
	int first = 1;

	buf_puts(&p->b, p->root);
	va_start(ap, p);
	while ((seg = va_arg(ap, const char *))) {
		if (!first)
			buf_putc(&p->b, '/');
		html_url_arg(&p->b, seg);
		first = 0;
	}
	va_end(ap);
	if (first && !*p->root)
		buf_puts(&p->b, "./");
}

/* ---- lookups ---- */

const char *
ui_repo_arg(const struct cascade_row *c)
{
	return c->repo && *c->repo ? c->repo : "-";
}

int
ui_cascade_find(struct req *r, const char *root, const char *repo,
		const char *name, struct cascade_row *out)
{
	struct store *st = req_store(r);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	ret = store_cascade_find(st, strcmp(repo, "-") ? repo : "", name, out);
	if (ret == ERR_NOTFOUND)
		ui_fail(r, root, 404, "scaffold has no cascade '%s' in %s%s%s",
			name, strcmp(repo, "-") ? "repo '" : "",
			strcmp(repo, "-") ? repo
					  : "the cascades applied from files",
			strcmp(repo, "-") ? "'" : "");
	else if (ret < 0)
		ui_fail(r, root, 500, "%s", err_msg());
	return ret;
}

static int
is_hex_prefix(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return !s[n] && n >= 4 && n <= 40;
}

int
ui_revisions(struct store *st, const char *repo, const char *commit,
	     struct revision_row **revs, size_t *n, size_t *at)
{
	size_t i, len = strlen(commit);
	int ret;

	*at = SIZE_MAX;
	if ((ret = store_revisions(st, repo, UI_REVISIONS, revs, n)) < 0)
		return ret;
	if (!is_hex_prefix(commit))
		return ERR_NOTFOUND;
	for (i = 0; i < *n; i++)
		if (!strncasecmp((*revs)[i].commit_id, commit, len))
			break;
	if (i == *n)
		return ERR_NOTFOUND;
	*at = i;
	return 0;
}

/* ---- the script: follows a running run's log (ui-run.c) ---- */

static const char script[] =
    "/* scaffold status pages: follow a running run's log live through\n"
    " * server-sent events; without it the page shows the log as it was. */\n"
    "(function () {\n"
    "\tvar log = document.getElementById('log');\n"
    "\tvar live = document.getElementById('live');\n"
    "\tif (!log || !log.dataset.follow || !window.EventSource)\n"
    "\t\treturn;\n"
    "\tvar fresh = true;\n"
    "\tvar es = new EventSource(log.dataset.follow);\n"
    "\tfunction add(text) {\n"
    "\t\tvar el = document.scrollingElement || document.body;\n"
    "\t\tvar bottom = log.scrollTop + log.clientHeight >=\n"
    "\t\t\tlog.scrollHeight - 8;\n"
    "\t\tif (fresh) {\n"
    "\t\t\t/* the stream starts at the log's first byte */\n"
    "\t\t\tlog.textContent = '';\n"
    "\t\t\tfresh = false;\n"
    "\t\t}\n"
    "\t\tlog.appendChild(document.createTextNode(text));\n"
    "\t\tif (bottom)\n"
    "\t\t\tlog.scrollTop = log.scrollHeight;\n"
    "\t\tif (el && el.scrollTop + window.innerHeight >= el.scrollHeight - "
    "200)\n"
    "\t\t\twindow.scrollTo(0, el.scrollHeight);\n"
    "\t}\n"
    "\tes.onopen = function () {\n"
    "\t\tfresh = true;\n"
    "\t\tif (live)\n"
    "\t\t\tlive.textContent = 'following live';\n"
    "\t};\n"
    "\tes.onmessage = function (e) { add(e.data + '\\n'); };\n"
    "\tes.addEventListener('partial', function (e) { add(e.data); });\n"
    "\tes.addEventListener('end', function () {\n"
    "\t\tes.close();\n"
    "\t\tif (live)\n"
    "\t\t\tlive.textContent = 'ended';\n"
    "\t\t/* the ended run's page: outcome, display items, files */\n"
    "\t\tlocation.reload();\n"
    "\t});\n"
    "})();\n";

void
ui_script(struct req *r)
{
	ui_reply(r, 200, "text/javascript; charset=utf-8", script,
		 sizeof(script) - 1);
}

/*
 * The pages, each of a class that says who may see it (webhook-int.h,
 * auth.c): with public_status summary, a run's page is public but leaves
 * out its log, .display, files and env names, which need a viewer.  A
 * run's log, whole or followed (?follow=1), is the API's own handler: the
 * same bytes and events.
 */
const struct route ui_routes[] = {
	{ "GET", "/", ROLE_NONE, PAGE_STATE, ui_index },
	{ "GET", "/ui.js", ROLE_NONE, PAGE_OPEN, ui_script },
	{ "GET", "/login", ROLE_NONE, PAGE_OPEN, ui_login_form },
	{ "POST", "/login", ROLE_NONE, PAGE_OPEN, ui_login },
	{ "POST", "/logout", ROLE_NONE, PAGE_OPEN, ui_logout },
	{ "GET", "/c/{repo}/{cascade}", ROLE_NONE, PAGE_STATE, ui_cascade },
	{ "GET", "/r/{id}", ROLE_NONE, PAGE_STATE, ui_run },
	{ "GET", "/r/{id}/log", ROLE_NONE, PAGE_DETAIL, api_run_log },
	{ "GET", "/k/{id}/log", ROLE_NONE, PAGE_DETAIL, api_check_log },
	{ "GET", "/r/{id}/files/{name*}", ROLE_NONE, PAGE_DETAIL,
	  ui_run_file },
	{ "GET", "/badge/{repo}/{cascade}", ROLE_NONE, PAGE_STATE, ui_badge },
	{ "GET", "/p/{repo}/{sha}", ROLE_NONE, PAGE_STATE, ui_pr_plan },
	{ NULL, NULL, ROLE_NONE, PAGE_API, NULL },
};
