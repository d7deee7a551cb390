/* dag.c - reachability over the DAG and its Graphviz rendering. */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

void
dag_reach(const struct cascade *c, const size_t *seeds, size_t nseeds,
	  size_t *out_origin)
{
	size_t *queue = xmalloc((c->ntasks ? c->ntasks : 1) * sizeof(*queue));
	size_t head = 0, tail = 0, i, v, w;

	for (i = 0; i < c->ntasks; i++)
		out_origin[i] = SIZE_MAX;
	for (i = 0; i < nseeds; i++) {
		if (out_origin[seeds[i]] != SIZE_MAX)
			continue;
		out_origin[seeds[i]] = i;
		queue[tail++] = seeds[i];
	}
	/* breadth first: the first seed to reach a task is the nearest */
	while (head < tail) {
		v = queue[head++];
		for (i = 0; i < c->tasks[v].nchildren; i++) {
			w = c->tasks[v].children[i];
			if (out_origin[w] != SIZE_MAX)
				continue;
			out_origin[w] = out_origin[v];
			queue[tail++] = w;
		}
	}
	free(queue);
}

static void
dot_id(struct buf *out, const char *s)
{
	buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *s);
	}
	buf_putc(out, '"');
}

void
dag_write_dot(struct buf *out, const struct cascade *c)
{
	static const char *const style[] = {
		"",
		" [color=\"#c0392b\", fontcolor=\"#c0392b\", style=dashed, "
		"label=\"error\"]",
		" [color=\"#7f8c8d\", fontcolor=\"#7f8c8d\", style=dotted, "
		"label=\"always\"]",
	};
	size_t i, j;
	const struct task *t;

	buf_puts(out, "digraph ");
	dot_id(out, c->name);
	buf_puts(out, " {\n\trankdir=LR;\n"
		      "\tnode [shape=box, style=rounded, "
		      "fontname=\"sans-serif\"];\n");
	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[c->topo[i]];
		buf_putc(out, '\t');
		dot_id(out, t->name);
		if (!t->auto_execute)
			buf_puts(out, " [style=\"rounded,dashed\"]");
		buf_puts(out, ";\n");
	}
	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[c->topo[i]];
		for (j = 0; j < t->ndeps; j++) {
			buf_putc(out, '\t');
			dot_id(out, t->deps[j].name);
			buf_puts(out, " -> ");
			dot_id(out, t->name);
			buf_puts(out, style[t->deps[j].kind]);
			buf_puts(out, ";\n");
		}
	}
	buf_puts(out, "}\n");
}
