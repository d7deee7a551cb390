/*
 * ui-badge.c - /badge/REPO/CASCADE.svg: a status badge for a README, in
 * the usual two-part shape: the cascade's name, then its overall state in
 * the state's colour (the same table as the pages).
 */
#include <string.h>

#include "ui-int.h"

#define BADGE_H 20
#define BADGE_PAD 6
#define FONT "DejaVu Sans,Verdana,Geneva,sans-serif"

/* About how wide text is at 11px in the fonts above: wide enough. */
static int
text_width(const char *s)
{
	int w = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) == 0x80)
			continue; /* a UTF-8 continuation byte */
		w += strchr("iljtf.,:;!|' ", *s) ? 4
		     : strchr("mwMW", *s)	 ? 10
						 : 7;
	}
	return w;
}

void
ui_badge(struct req *r)
{
	const char *repo = r->params[0], *file = r->params[1];
	struct store *st = req_store(r);
	struct task_row *ts = NULL;
	struct buf name = BUF_INIT, b = BUF_INIT;
	struct cascade_row c;
	const struct ui_colour *col;
	const char *state = "not_started";
	size_t nts = 0, len = strlen(file);
	int lw, rw;

	memset(&c, 0, sizeof(c));
	if (!st)
		return;
	if (len <= 4 || strcmp(file + len - 4, ".svg")) {
		ui_fail(r, "../../", 404, "a badge is /badge/REPO/CASCADE.svg");
		return;
	}
	buf_add(&name, file, len - 4);
	if (ui_cascade_find(r, "../../", repo, name.ptr, &c) < 0)
		goto out;
	if (store_tasks(st, c.id, &ts, &nts) < 0) {
		ui_fail(r, "../../", 500, "%s", err_msg());
		goto out;
	}
	if (c.active)
		state = cascade_verdict(ts, nts, NULL);
	col = ui_colour(state);
	lw = text_width(name.ptr) + 2 * BADGE_PAD;
	rw = text_width(col->label) + 2 * BADGE_PAD;
	buf_addf(&b,
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		 "height=\"%d\" role=\"img\" aria-label=\"",
		 lw + rw, BADGE_H);
	html_attr(&b, name.ptr);
	buf_addf(&b, ": %s\"><title>", col->label);
	html_txt(&b, name.ptr);
	buf_addf(&b,
		 ": %s</title>"
		 "<clipPath id=\"r\"><rect width=\"%d\" height=\"%d\" "
		 "rx=\"3\"/></clipPath><g clip-path=\"url(#r)\">"
		 "<rect width=\"%d\" height=\"%d\" fill=\"#555\"/>"
		 "<rect x=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
		 "</g><g fill=\"#fff\" font-family=\"" FONT "\" "
		 "font-size=\"11\"><text x=\"%d\" y=\"14\">",
		 col->label, lw + rw, BADGE_H, lw, BADGE_H, lw, rw, BADGE_H,
		 col->bg, BADGE_PAD);
	html_txt(&b, name.ptr);
	buf_addf(&b, "</text><text x=\"%d\" y=\"14\">%s</text></g></svg>\n",
		 lw + BADGE_PAD, col->label);
	ui_reply(r, 200, "image/svg+xml; charset=utf-8", b.ptr, b.len);
out:
	task_rows_free(ts, nts);
	cascade_row_release(&c);
	buf_release(&name);
	buf_release(&b);
}
