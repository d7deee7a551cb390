/*
 * ui-files.c - the file store's note on a cascade's page (/c/REPO/
 * CASCADE): the files tasks load from the file store that it does not
 * have yet.  Live, from the store: the note goes once the file is there
 * (the revision's own record does not hold it, see daemon/serve.c).
 */
#include "ui-int.h"

struct missing_note {
	struct page *p;
	const char *cascade;
	size_t n;
};

static void
note_one(void *arg, const char *task, const char *file)
{
	struct missing_note *m = arg;
	struct buf *b = &m->p->b;

	if (!m->n++)
		buf_puts(b, "<ul class=\"note warn\" id=\"missing-files\">\n");
	buf_puts(b, "<li>task '");
	html_txt(b, task);
	buf_puts(b, "' loads file '");
	html_txt(b, file);
	buf_puts(b, "' but no task it depends on stores it; it must be in the "
		    "cascade's file store, which does not have it (upload it "
		    "with <code>scaffold file put ");
	html_txt(b, m->cascade);
	buf_putc(b, ' ');
	html_txt(b, file);
	buf_puts(b, " PATH</code>)</li>\n");
}

void
ui_missing_files(struct page *p, struct store *st, int64_t cascade_id,
		 const struct cascade *def)
{
	struct missing_note m = { p, def ? def->name : "", 0 };

	/* a store that cannot be read shows no note: the page goes on */
	if (view_missing_files(st, cascade_id, def, note_one, &m) < 0)
		log_warnx("http: %s", err_msg());
	if (m.n)
		buf_puts(&p->b, "</ul>\n");
}
