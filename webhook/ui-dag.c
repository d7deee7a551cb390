/*
 * ui-dag.c - a DAG drawn as an inline SVG, for the pages that show one:
 * the cascade page (nodes coloured by state, linked to their last run)
 * and the plan of a pull request (nodes coloured by what a merge does to
 * them).  A layered drawing, top to bottom as Graphviz draws: a task's
 * layer is its depth (the longest path from a root), each layer is
 * centred, and in it tasks follow the mean position of their parents (one
 * barycenter pass), so edges mostly run down and straight.
 */
#include <stdlib.h>
#include <string.h>

#include "ui-int.h"

/* The DAG's geometry, in SVG user units. */
#define NODE_W 150
#define NODE_H 28
#define GAP_X 14
#define GAP_Y 34
#define PAD 10
#define LABEL_MAX 19

struct slot {
	double key;
	size_t task;
};

static int
cmp_slot(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->task < y->task ? -1 : x->task > y->task;
}

/*
 * Parents before children (Kahn's order), into topo, in O(nodes + edges):
 * a page may draw a graph a pull request brought; -1 when a parent index
 * is out of range or the graph has a cycle (nothing is drawn).
 */
static int
topo_order(const struct ui_dag_node *v, size_t n, size_t *topo)
{
	size_t *pending = xcalloc(n + 1, sizeof(*pending));
	size_t *start = xcalloc(n + 2, sizeof(*start)), *child = NULL;
	size_t i, k, d, m = 0, head = 0, nedges = 0;
	int ret = -1;

	for (i = 0; i < n; i++)
		for (d = 0; d < v[i].ndeps; d++) {
			if (v[i].deps[d].task >= n)
				goto out;
			pending[i]++;
			start[v[i].deps[d].task + 1]++;
			nedges++;
		}
	/* the children of k: child[start[k] .. start[k + 1]) */
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	child = xcalloc(nedges + 1, sizeof(*child));
	for (i = 0; i < n; i++)
		for (d = 0; d < v[i].ndeps; d++)
			child[start[v[i].deps[d].task]++] = i;
	/* start[k] now ends k's children: shift back */
	for (i = n; i > 0; i--)
		start[i] = start[i - 1];
	start[0] = 0;
	for (i = 0; i < n; i++)
		if (!pending[i])
			topo[m++] = i;
	while (head < m) {
		k = topo[head++];
		for (d = start[k]; d < start[k + 1]; d++)
			if (!--pending[child[d]])
				topo[m++] = child[d];
	}
	ret = m == n ? 0 : -1;
out:
	free(pending);
	free(start);
	free(child);
	return ret;
}

/* x[i] in node slots (halves when a layer is centred), y[i] the layer;
 * O(nodes log nodes + edges): each layer's nodes are a bucket. */
static void
layout(const struct ui_dag_node *v, size_t n, const size_t *topo, double *x,
       size_t *y, size_t *out_w, size_t *out_h)
{
	size_t i, k, d, e, m, nlayers = 0, widest = 0;
	struct slot *slots = xcalloc(n + 1, sizeof(*slots));
	size_t *first, *order;
	double sum;

	for (k = 0; k < n; k++) {
		i = topo[k];
		y[i] = 0;
		for (d = 0; d < v[i].ndeps; d++)
			if (y[v[i].deps[d].task] + 1 > y[i])
				y[i] = y[v[i].deps[d].task] + 1;
		if (y[i] + 1 > nlayers)
			nlayers = y[i] + 1;
	}
	/* the nodes of layer d: order[first[d] .. first[d + 1]) */
	first = xcalloc(nlayers + 2, sizeof(*first));
	order = xcalloc(n + 1, sizeof(*order));
	for (i = 0; i < n; i++)
		first[y[i] + 1]++;
	for (d = 0; d < nlayers; d++) {
		if (first[d + 1] > widest)
			widest = first[d + 1];
		first[d + 1] += first[d];
	}
	for (i = 0; i < n; i++)
		order[first[y[i]]++] = i;
	for (d = nlayers; d > 0; d--)
		first[d] = first[d - 1];
	first[0] = 0;
	for (d = 0; d < nlayers; d++) {
		m = 0;
		for (k = first[d]; k < first[d + 1]; k++) {
			i = order[k];
			sum = 0;
			for (e = 0; e < v[i].ndeps; e++)
				sum += x[v[i].deps[e].task];
			slots[m].key =
				v[i].ndeps ? sum / (double)v[i].ndeps : 0;
			slots[m].task = i;
			m++;
		}
		qsort(slots, m, sizeof(*slots), cmp_slot);
		for (k = 0; k < m; k++)
			x[slots[k].task] = (double)k + (double)(widest - m) / 2;
	}
	*out_w = widest;
	*out_h = nlayers;
	free(slots);
	free(first);
	free(order);
}

void
ui_dag_svg(struct page *p, const struct ui_dag_node *v, size_t n,
	   const size_t *topo, const char *label)
{
	size_t i, k, widest, nlayers, *y, *own = NULL;
	double *x;
	int width, height;

	if (!n)
		return;
	if (!topo) {
		own = xcalloc(n, sizeof(*own));
		if (topo_order(v, n, own) < 0) {
			free(own);
			return;
		}
		topo = own;
	}
	x = xcalloc(n, sizeof(*x));
	y = xcalloc(n, sizeof(*y));
	layout(v, n, topo, x, y, &widest, &nlayers);
	width = 2 * PAD + (int)widest * (NODE_W + GAP_X) - GAP_X;
	height = 2 * PAD + (int)nlayers * (NODE_H + GAP_Y) - GAP_Y;
	buf_addf(&p->b,
		 "<div class=\"dag\"><svg xmlns=\"http://www.w3.org/2000/svg\" "
		 "id=\"dag\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d "
		 "%d\" role=\"img\" aria-label=\"",
		 width, height, width, height);
	html_attr(&p->b, label);
	buf_puts(&p->b,
		 "\">\n"
		 "<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" "
		 "refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" "
		 "orient=\"auto\"><path d=\"M0 0L8 4L0 8z\" "
		 "fill=\"#8c959f\"/></marker></defs>\n");
	/* edges under the nodes: from a parent's bottom to a child's top */
	for (i = 0; i < n; i++) {
		int x2 = PAD + (int)(x[i] * (NODE_W + GAP_X)) + NODE_W / 2;
		int y2 = PAD + (int)y[i] * (NODE_H + GAP_Y);

		for (k = 0; k < v[i].ndeps; k++) {
			size_t pi = v[i].deps[k].task;
			int x1 = PAD + (int)(x[pi] * (NODE_W + GAP_X)) +
				 NODE_W / 2;
			int y1 = PAD + (int)y[pi] * (NODE_H + GAP_Y) + NODE_H;

			buf_addf(&p->b,
				 "<path class=\"e e-%s\" d=\"M%d %dC%d %d %d %d "
				 "%d %d\"/>\n",
				 dep_kind_names[v[i].deps[k].kind], x1, y1, x1,
				 y1 + GAP_Y / 2, x2, y2 - GAP_Y / 2, x2, y2);
		}
	}
	for (i = 0; i < n; i++) {
		const char *name = v[i].name;
		size_t len = strlen(name);
		int nx = PAD + (int)(x[i] * (NODE_W + GAP_X));
		int ny = PAD + (int)y[i] * (NODE_H + GAP_Y);

		if (v[i].href)
			buf_addf(&p->b, "<a href=\"%s\">", v[i].href);
		buf_addf(&p->b, "<g class=\"%s\" data-task=\"",
			 v[i].cls ? v[i].cls : "node");
		html_attr(&p->b, name);
		buf_addf(&p->b, "\" %s=\"%s\"><title>", v[i].data_key,
			 v[i].data_value);
		html_txt(&p->b, name);
		buf_puts(&p->b, ": ");
		html_txt(&p->b, v[i].title);
		if (v[i].outline)
			/* not to be confused with a filled node */
			buf_addf(&p->b,
				 "</title><rect x=\"%d\" y=\"%d\" "
				 "width=\"%d\" height=\"%d\" rx=\"5\" "
				 "fill=\"#fff\" stroke=\"%s\" "
				 "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>"
				 "<text x=\"%d\" y=\"%d\" style=\"fill:#57606a\">",
				 nx, ny, NODE_W, NODE_H, v[i].colour, nx + 8,
				 ny + NODE_H / 2 + 4);
		else
			buf_addf(&p->b,
				 "</title><rect x=\"%d\" y=\"%d\" "
				 "width=\"%d\" height=\"%d\" rx=\"5\" "
				 "fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
				 nx, ny, NODE_W, NODE_H, v[i].colour, nx + 8,
				 ny + NODE_H / 2 + 4);
		if (len > LABEL_MAX) {
			html_ntxt(&p->b, name, LABEL_MAX - 1);
			buf_puts(&p->b, "\xe2\x80\xa6"); /* … */
		} else {
			html_txt(&p->b, name);
		}
		buf_puts(&p->b, "</text></g>");
		if (v[i].href)
			buf_puts(&p->b, "</a>");
		buf_putc(&p->b, '\n');
	}
	buf_puts(&p->b, "</svg></div>\n");
	free(x);
	free(y);
	free(own);
}
