/*
 * ui-files.c - the file store's note on a cascade's page (/c/REPO/
 * CASCADE): the files tasks load from the file store that it does not
 * have yet.  Live, from the store: the note goes once the file is there
 * (the revision's own record does not hold it, see daemon/serve.c).
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

void
ui_missing_files(struct page *p, struct store *st, int64_t cascade_id,
		 const struct cascade *def)
{
	const struct task *t;
	struct file_row f;
	size_t i, j, n = 0;
	const char *name;

	for (i = 0; i < def->ntasks; i++) {
		t = &def->tasks[i];
		for (j = 0; j < t->load_file.n; j++) {
			name = t->load_file.v[j].name;
			if (!task_loads_from_file_store(def, t, name))
				continue;
			if (store_file_get(st, cascade_id, name, &f) == 0) {
				free(f.name);
				continue;
			}
			if (!n++)
				buf_puts(&p->b, "<ul class=\"note warn\" "
						"id=\"missing-files\">\n");
			buf_puts(&p->b, "<li>task '");
			html_txt(&p->b, t->name);
			buf_puts(&p->b, "' loads file '");
			html_txt(&p->b, name);
			buf_puts(&p->b, "' but no task it depends on stores "
					"it; it must be in the cascade's file "
					"store, which does not have it (upload "
					"it with <code>scaffold file put ");
			html_txt(&p->b, def->name);
			buf_putc(&p->b, ' ');
			html_txt(&p->b, name);
			buf_puts(&p->b, " PATH</code>)</li>\n");
		}
	}
	if (n)
		buf_puts(&p->b, "</ul>\n");
}
