/*
 * validate.c - the rules that span tasks: unique names, known dependencies,
 * no cycles, mapped inputs declared, loads satisfiable.  Builds the DAG
 * (children lists and a topological order) on the way.
 */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

static void
verr(struct diags *d, const char *file, struct pos pos, const char *fmt, ...)
	PRINTF_LIKE(4, 5);
static void
verr(struct diags *d, const char *file, struct pos pos, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	diags_add(d, DIAG_ERROR, file, pos, "%s", b.ptr);
	buf_release(&b);
}

/*
 * The closest task name to s other than self, for "did you mean"; NULL if
 * none is close.  Names of one or two letters are too short to guess at.
 */
static const char *
closest_task(const struct cascade *c, const char *s, const struct task *self)
{
	const char *best = NULL;
	size_t i, d, cap, bestd = SIZE_MAX;

	if (strlen(s) < 3)
		return NULL;
	for (i = 0; i < c->ntasks; i++) {
		if (!c->tasks[i].name || &c->tasks[i] == self ||
		    strlen(c->tasks[i].name) < 3)
			continue;
		cap = strlen(c->tasks[i].name) / 3;
		cap = cap < 1 ? 1 : cap > 3 ? 3 : cap;
		d = edit_distance(s, c->tasks[i].name, cap);
		if (d <= cap && d < bestd) {
			bestd = d;
			best = c->tasks[i].name;
		}
	}
	return best;
}

/*
 * Tarjan's strongly connected components, iteratively (a 10,000-task chain
 * must not exhaust the stack).  Edges go from a task to the tasks it
 * depends on.  For each component with a cycle, report one cycle.
 */
struct tarjan {
	const struct cascade *c;
	size_t *index, *low, *stack, *comp;
	unsigned char *on;
	size_t sp, next, ncomp;
};

static void
tarjan_from(struct tarjan *tj, size_t root)
{
	size_t *cs = xmalloc(tj->c->ntasks * sizeof(*cs));
	size_t *ci = xmalloc(tj->c->ntasks * sizeof(*ci));
	size_t depth = 0, v, w;

	cs[depth] = root;
	ci[depth] = 0;
	depth++;
	tj->index[root] = tj->low[root] = tj->next++;
	tj->stack[tj->sp++] = root;
	tj->on[root] = 1;
	while (depth) {
		v = cs[depth - 1];
		if (ci[depth - 1] < tj->c->tasks[v].ndeps) {
			w = tj->c->tasks[v].deps[ci[depth - 1]++].task;
			if (w == SIZE_MAX)
				continue;
			if (tj->index[w] == SIZE_MAX) {
				tj->index[w] = tj->low[w] = tj->next++;
				tj->stack[tj->sp++] = w;
				tj->on[w] = 1;
				cs[depth] = w;
				ci[depth] = 0;
				depth++;
			} else if (tj->on[w] && tj->index[w] < tj->low[v]) {
				tj->low[v] = tj->index[w];
			}
			continue;
		}
		if (tj->low[v] == tj->index[v]) {
			do {
				w = tj->stack[--tj->sp];
				tj->on[w] = 0;
				tj->comp[w] = tj->ncomp;
			} while (w != v);
			tj->ncomp++;
		}
		depth--;
		if (depth) {
			w = cs[depth - 1];
			if (tj->low[v] < tj->low[w])
				tj->low[w] = tj->low[v];
		}
	}
	free(cs);
	free(ci);
}

/* Shortest cycle through start inside its component, by BFS. */
static void
report_cycle(const struct cascade *c, const char *file, struct diags *d,
	     const size_t *comp, size_t start)
{
	size_t *prev = xmalloc(c->ntasks * sizeof(*prev));
	size_t *queue = xmalloc(c->ntasks * sizeof(*queue));
	size_t *path = NULL, head = 0, tail = 0, i, v, w, n = 0, alloc = 0;
	struct buf b = BUF_INIT;
	struct pos where = c->tasks[start].pos;
	int found = 0;

	for (i = 0; i < c->ntasks; i++)
		prev[i] = SIZE_MAX;
	queue[tail++] = start;
	while (head < tail && !found) {
		v = queue[head++];
		for (i = 0; i < c->tasks[v].ndeps; i++) {
			w = c->tasks[v].deps[i].task;
			if (w == SIZE_MAX || comp[w] != comp[start])
				continue;
			if (w == start) {
				prev[start] = v;
				found = 1;
				break;
			}
			if (prev[w] == SIZE_MAX) {
				prev[w] = v;
				queue[tail++] = w;
			}
		}
	}
	if (!found)
		BUG("no cycle through '%s' in its component",
		    c->tasks[start].name);
	/* walk back from start: prev[] points to the task that depends */
	v = start;
	do {
		GROW(path, n + 1, alloc);
		path[n++] = v;
		v = prev[v];
	} while (v != start);
	/* path holds start, then the tasks that depend on it, backwards */
	buf_puts(&b, "dependency cycle: ");
	buf_puts(&b, c->tasks[start].name);
	for (i = n; i-- > 0;) {
		buf_puts(&b, " -> ");
		buf_puts(&b, c->tasks[path[i]].name);
	}
	/* point at the first edge: start's dependency on the next task */
	w = n > 1 ? path[n - 1] : start;
	for (i = 0; i < c->tasks[start].ndeps; i++)
		if (c->tasks[start].deps[i].task == w)
			where = c->tasks[start].deps[i].pos;
	verr(d, file, where, "%s", b.ptr);
	buf_release(&b);
	free(path);
	free(prev);
	free(queue);
}

static int
find_cycles(const struct cascade *c, const char *file, struct diags *d)
{
	struct tarjan tj;
	size_t i, j, *first, *size;
	int cycles = 0;

	memset(&tj, 0, sizeof(tj));
	tj.c = c;
	tj.index = xmalloc(c->ntasks * sizeof(size_t));
	tj.low = xmalloc(c->ntasks * sizeof(size_t));
	tj.stack = xmalloc(c->ntasks * sizeof(size_t));
	tj.comp = xmalloc(c->ntasks * sizeof(size_t));
	tj.on = xcalloc(c->ntasks, 1);
	for (i = 0; i < c->ntasks; i++)
		tj.index[i] = SIZE_MAX;
	for (i = 0; i < c->ntasks; i++)
		if (tj.index[i] == SIZE_MAX)
			tarjan_from(&tj, i);
	first = xmalloc(tj.ncomp * sizeof(*first));
	size = xcalloc(tj.ncomp, sizeof(*size));
	for (i = 0; i < tj.ncomp; i++)
		first[i] = SIZE_MAX;
	for (i = 0; i < c->ntasks; i++) {
		size[tj.comp[i]]++;
		if (first[tj.comp[i]] == SIZE_MAX)
			first[tj.comp[i]] = i;
	}
	for (i = 0; i < c->ntasks; i++) {
		int self = 0;

		for (j = 0; j < c->tasks[i].ndeps; j++)
			if (c->tasks[i].deps[j].task == i)
				self = 1;
		if (first[tj.comp[i]] != i || (size[tj.comp[i]] < 2 && !self))
			continue;
		report_cycle(c, file, d, tj.comp, i);
		cycles++;
	}
	free(first);
	free(size);
	free(tj.index);
	free(tj.low);
	free(tj.stack);
	free(tj.comp);
	free(tj.on);
	return cycles;
}

/*
 * Does any ancestor of t store name (as a file, or as env)?  A parent that
 * t needs to fail ('error') never has stores, but its own ancestors may.
 */
static int
ancestor_stores(const struct cascade *c, size_t t, const char *name,
		int env, size_t *queue, unsigned *seen, unsigned stamp)
{
	size_t head = 0, tail = 0, i, j, v, w;
	const struct name_list *l;

	queue[tail++] = t;
	seen[t] = stamp;
	while (head < tail) {
		v = queue[head++];
		for (i = 0; i < c->tasks[v].ndeps; i++) {
			w = c->tasks[v].deps[i].task;
			if (w == SIZE_MAX || seen[w] == stamp)
				continue;
			seen[w] = stamp;
			queue[tail++] = w;
			if (c->tasks[v].deps[i].kind == DEP_ERROR)
				continue;
			l = env ? &c->tasks[w].store_env : &c->tasks[w].store_file;
			for (j = 0; j < l->n; j++)
				if (!strcmp(l->v[j].name, name))
					return 1;
		}
	}
	return 0;
}

int
task_loads_from_file_store(const struct cascade *c, const struct task *t,
			   const char *name)
{
	size_t *queue = xmalloc((c->ntasks + 1) * sizeof(*queue));
	unsigned *seen = xcalloc(c->ntasks + 1, sizeof(*seen));
	int r = !ancestor_stores(c, cascade_task_index(c, t), name, 0, queue,
				 seen, 1);

	free(queue);
	free(seen);
	return r;
}

static void
check_loads(const struct cascade *c, const char *file, struct diags *d)
{
	size_t *queue = xmalloc(c->ntasks * sizeof(*queue));
	unsigned *seen = xcalloc(c->ntasks, sizeof(*seen));
	unsigned stamp = 0;
	size_t i, j;
	const struct task *t;

	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[i];
		if (!t->name)
			continue;
		for (j = 0; j < t->load_env.n; j++) {
			if (ancestor_stores(c, i, t->load_env.v[j].name, 1, queue,
					    seen, ++stamp))
				continue;
			verr(d, file, t->load_env.v[j].pos,
			     "task '%s': loads env '%s' but no task it depends "
			     "on stores it",
			     t->name, t->load_env.v[j].name);
		}
		for (j = 0; j < t->load_file.n; j++) {
			if (ancestor_stores(c, i, t->load_file.v[j].name, 0,
					    queue, seen, ++stamp))
				continue;
			diags_add(d, DIAG_WARNING, file, t->load_file.v[j].pos,
				  "task '%s': loads file '%s' but no task it "
				  "depends on stores it; it must be in the "
				  "cascade's file store",
				  t->name, t->load_file.v[j].name);
		}
	}
	free(queue);
	free(seen);
}

/* Kahn's algorithm, stable in file order. */
static void
build_topo(struct cascade *c)
{
	size_t *indeg = xcalloc(c->ntasks, sizeof(*indeg));
	size_t head = 0, tail = 0, i, j, v, w;

	c->topo = arena_alloc(&c->arena, c->ntasks * sizeof(*c->topo));
	for (i = 0; i < c->ntasks; i++)
		indeg[i] = c->tasks[i].ndeps;
	for (i = 0; i < c->ntasks; i++)
		if (!indeg[i])
			c->topo[tail++] = i;
	while (head < tail) {
		v = c->topo[head++];
		for (j = 0; j < c->tasks[v].nchildren; j++) {
			w = c->tasks[v].children[j];
			if (--indeg[w] == 0)
				c->topo[tail++] = w;
		}
	}
	if (tail != c->ntasks)
		BUG("topological order of an acyclic cascade is incomplete");
	free(indeg);
}

void
cascade_build_dag(struct cascade *c, const char *file, struct diags *d,
		  int dag_ok)
{
	size_t errors = d->nerrors, i, j, *nchild;
	struct task *t, *p;
	const char *near;

	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[i];
		if (!t->name)
			continue;
		p = strmap_put(&c->task_index, t->name, t);
		if (p) {
			verr(d, file, t->pos,
			     "duplicate task name '%s' (first at line %d)",
			     t->name, p->pos.line);
			strmap_put(&c->task_index, t->name, p);
		}
	}
	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[i];
		if (!t->name)
			continue;
		for (j = 0; j < t->ndeps; j++) {
			p = cascade_task(c, t->deps[j].name);
			if (p) {
				t->deps[j].task = cascade_task_index(c, p);
				continue;
			}
			near = closest_task(c, t->deps[j].name, t);
			if (near)
				verr(d, file, t->deps[j].pos,
				     "task '%s' depends on unknown task '%s'; "
				     "did you mean '%s'?",
				     t->name, t->deps[j].name, near);
			else
				verr(d, file, t->deps[j].pos,
				     "task '%s' depends on unknown task '%s'",
				     t->name, t->deps[j].name);
		}
		for (j = 0; j < t->ninputs; j++) {
			if (cascade_input(c, t->inputs[j].value))
				continue;
			verr(d, file, t->inputs[j].value_pos,
			     "task '%s': input mapping '%s' refers to "
			     "undeclared input '%s'",
			     t->name, t->inputs[j].key, t->inputs[j].value);
		}
	}
	find_cycles(c, file, d);
	/* what no ancestor stores follows from the dependencies: after a
	 * misspelt depends_on, the misspelling is the one to read first */
	i = d->n;
	check_loads(c, file, d);
	diags_mark_derived(d, i);
	if (d->nerrors != errors || !dag_ok)
		return;

	/* children lists */
	nchild = xcalloc(c->ntasks, sizeof(*nchild));
	for (i = 0; i < c->ntasks; i++)
		for (j = 0; j < c->tasks[i].ndeps; j++)
			nchild[c->tasks[i].deps[j].task]++;
	for (i = 0; i < c->ntasks; i++)
		c->tasks[i].children = arena_alloc(
			&c->arena, nchild[i] * sizeof(size_t));
	for (i = 0; i < c->ntasks; i++) {
		for (j = 0; j < c->tasks[i].ndeps; j++) {
			p = &c->tasks[c->tasks[i].deps[j].task];
			p->children[p->nchildren++] = i;
		}
	}
	free(nchild);
	build_topo(c);
}
