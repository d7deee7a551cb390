/*
 * yaml.c - build a node tree from libyaml's event stream, bounding the work a
 * hostile file can cause: alias expansion and nesting depth are limited, and
 * aliases share the anchored node's children instead of copying them (an
 * alias is one node, with its own position, over the same children).
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "reconciler-int.h"

#define TAG_STR "tag:yaml.org,2002:str"

struct frame {
	struct ynode *node;
	struct ynode **items;
	size_t n;
	size_t alloc;
	char *anchor;
};

struct builder {
	struct ydoc *doc;
	const char *file;
	struct diags *diags;
	struct frame *stack;
	size_t depth;
	size_t alloc;
	struct strmap anchors; /* keys owned by the doc arena */
	size_t alias_nodes;
	size_t nodes;
	int ndocs;
};

static struct pos
mark_pos(yaml_mark_t m)
{
	struct pos p = { (int)m.line + 1, (int)m.column + 1 };

	return p;
}

static int
add_child(struct builder *b, struct ynode *child, yaml_mark_t mark)
{
	struct frame *f;

	if (!b->depth) {
		b->doc->root = child;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (child->height + (int)b->depth > YAML_MAX_DEPTH) {
		diags_add(b->diags, DIAG_ERROR, b->file, mark_pos(mark),
			  "YAML nesting is deeper than %d levels",
			  YAML_MAX_DEPTH);
		return -1;
	}
	if (f->node->kind == Y_MAP && f->n % 2 == 0 &&
	    child->kind == Y_SCALAR && strlen(child->str) != child->len) {
		/* "run\0x" would be read as the key "run" */
		diags_add(b->diags, DIAG_ERROR, b->file, mark_pos(mark),
			  "mapping keys must not contain NUL bytes");
		return -1;
	}
	GROW(f->items, f->n + 1, f->alloc);
	f->items[f->n++] = child;
	return 0;
}

static void
remember_anchor(struct builder *b, const yaml_char_t *anchor,
		struct ynode *node)
{
	if (!anchor)
		return;
	strmap_put(&b->anchors,
		   arena_strdup(&b->doc->arena, (const char *)anchor), node);
}

/* A tag as written: "!!binary" rather than its long form. */
static const char *
short_tag(const char *tag, char *buf, size_t len)
{
	if (!strncmp(tag, "tag:yaml.org,2002:", 18)) {
		snprintf(buf, len, "!!%s", tag + 18);
		return buf;
	}
	return tag;
}

static int
scalar_is_plain(const yaml_event_t *ev, struct builder *b, int *plain)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	char tmp[128];

	if (!tag) {
		*plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return 0;
	}
	if (!strcmp(tag, TAG_STR) || !strcmp(tag, "!")) {
		*plain = 0;
		return 0;
	}
	if (!strcmp(tag, "tag:yaml.org,2002:int") ||
	    !strcmp(tag, "tag:yaml.org,2002:bool") ||
	    !strcmp(tag, "tag:yaml.org,2002:float") ||
	    !strcmp(tag, "tag:yaml.org,2002:null")) {
		/* resolve the text as a plain scalar would be */
		*plain = 1;
		return 0;
	}
	diags_add(b->diags, DIAG_ERROR, b->file, mark_pos(ev->start_mark),
		  "unsupported YAML tag '%s'", short_tag(tag, tmp, sizeof(tmp)));
	return -1;
}

/* Collections take no tag but their own kind's. */
static int
collection_tag(struct builder *b, const yaml_event_t *ev)
{
	const char *tag, *want;
	char tmp[128];

	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		tag = (const char *)ev->data.sequence_start.tag;
		want = "tag:yaml.org,2002:seq";
	} else {
		tag = (const char *)ev->data.mapping_start.tag;
		want = "tag:yaml.org,2002:map";
	}
	if (!tag || !strcmp(tag, want) || !strcmp(tag, "!"))
		return 0;
	diags_add(b->diags, DIAG_ERROR, b->file, mark_pos(ev->start_mark),
		  "unsupported YAML tag '%s'", short_tag(tag, tmp, sizeof(tmp)));
	return -1;
}

static struct ynode *
new_node(struct builder *b, enum ynode_kind kind, yaml_mark_t mark)
{
	struct ynode *n = arena_alloc(&b->doc->arena, sizeof(*n));

	n->kind = kind;
	n->pos = mark_pos(mark);
	n->weight = 1;
	n->height = kind == Y_SCALAR ? 0 : 1;
	b->nodes++;
	return n;
}

static int
handle_event(struct builder *b, yaml_event_t *ev)
{
	struct ynode *n, *c;
	struct frame *f;
	struct pos pos;
	size_t i;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1) {
			diags_add(b->diags, DIAG_ERROR, b->file,
				  mark_pos(ev->start_mark),
				  "a cascade file holds one YAML document; "
				  "found a second one");
			return -1;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		n = new_node(b, Y_SCALAR, ev->start_mark);
		if (scalar_is_plain(ev, b, &n->plain) < 0)
			return -1;
		n->str = arena_strndup(&b->doc->arena,
				       (const char *)ev->data.scalar.value,
				       ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		remember_anchor(b, ev->data.scalar.anchor, n);
		return add_child(b, n, ev->start_mark);
	case YAML_ALIAS_EVENT:
		n = strmap_get(&b->anchors,
			       (const char *)ev->data.alias.anchor);
		if (!n) {
			for (i = 0; i < b->depth; i++)
				if (b->stack[i].anchor &&
				    !strcmp(b->stack[i].anchor,
					    (const char *)ev->data.alias.anchor))
					break;
			diags_add(b->diags, DIAG_ERROR, b->file,
				  mark_pos(ev->start_mark),
				  i < b->depth ? "YAML alias '*%s' refers to "
						 "a node that contains it"
					       : "unknown YAML alias '*%s'",
				  (const char *)ev->data.alias.anchor);
			return -1;
		}
		b->alias_nodes += n->weight;
		if (b->alias_nodes > YAML_MAX_ALIAS_NODES) {
			diags_add(b->diags, DIAG_ERROR, b->file,
				  mark_pos(ev->start_mark),
				  "YAML aliases expand to more than %d nodes",
				  YAML_MAX_ALIAS_NODES);
			return -1;
		}
		/* a shallow copy, so that errors point at the alias */
		c = new_node(b, n->kind, ev->start_mark);
		pos = c->pos;
		*c = *n;
		c->pos = pos;
		n = c;
		return add_child(b, n, ev->start_mark);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (collection_tag(b, ev) < 0)
			return -1;
		if (b->depth >= YAML_MAX_DEPTH) {
			diags_add(b->diags, DIAG_ERROR, b->file,
				  mark_pos(ev->start_mark),
				  "YAML nesting is deeper than %d levels",
				  YAML_MAX_DEPTH);
			return -1;
		}
		if (ev->type == YAML_SEQUENCE_START_EVENT)
			n = new_node(b, Y_SEQ, ev->start_mark);
		else
			n = new_node(b, Y_MAP, ev->start_mark);
		GROW(b->stack, b->depth + 1, b->alloc);
		f = &b->stack[b->depth++];
		memset(f, 0, sizeof(*f));
		f->node = n;
		if (ev->type == YAML_SEQUENCE_START_EVENT &&
		    ev->data.sequence_start.anchor)
			f->anchor = xstrdup(
				(const char *)ev->data.sequence_start.anchor);
		if (ev->type == YAML_MAPPING_START_EVENT &&
		    ev->data.mapping_start.anchor)
			f->anchor = xstrdup(
				(const char *)ev->data.mapping_start.anchor);
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		f = &b->stack[--b->depth];
		n = f->node;
		n->items = arena_memdup(&b->doc->arena, f->items,
					f->n * sizeof(*f->items));
		n->n = n->kind == Y_MAP ? f->n / 2 : f->n;
		for (i = 0; i < f->n; i++) {
			n->weight += f->items[i]->weight;
			if (f->items[i]->height + 1 > n->height)
				n->height = f->items[i]->height + 1;
		}
		free(f->items);
		remember_anchor(b, (const yaml_char_t *)f->anchor, n);
		free(f->anchor);
		return add_child(b, n, ev->start_mark);
	default:
		return 0;
	}
}

/* Line and column of a byte offset. */
static struct pos
offset_pos(const char *data, size_t len, size_t off)
{
	struct pos p = { 1, 1 };
	size_t i;

	for (i = 0; i < off && i < len; i++) {
		if (data[i] == '\n') {
			p.line++;
			p.col = 1;
		} else {
			p.col++;
		}
	}
	return p;
}

/*
 * libyaml's problem position is where it gave up: for something left open
 * (a quote, a flow list) that is the end of the file, so point at where it
 * was opened instead; encoding errors carry a byte offset, not a mark.
 */
static void
syntax_error(yaml_parser_t *p, const char *file, const char *data,
	     size_t len, struct diags *diags)
{
	const char *problem = p->problem ? p->problem : "unreadable input";
	struct pos at = mark_pos(p->problem_mark);

	if (p->error == YAML_READER_ERROR) {
		at = offset_pos(data, len, p->problem_offset);
		if (p->problem_value >= 0)
			diags_add(diags, DIAG_ERROR, file, at,
				  "YAML syntax: %s (byte 0x%02x)", problem,
				  (unsigned)p->problem_value & 0xff);
		else
			diags_add(diags, DIAG_ERROR, file, at,
				  "YAML syntax: %s", problem);
		return;
	}
	if (p->context &&
	    (strstr(p->context, "quoted scalar") ||
	     strstr(p->context, "flow sequence") ||
	     strstr(p->context, "flow mapping")) &&
	    (strstr(problem, "end of stream") ||
	     p->problem_mark.index >= len)) {
		diags_add(diags, DIAG_ERROR, file, mark_pos(p->context_mark),
			  "YAML syntax: %s is never closed (the file ends at "
			  "line %d)",
			  !strncmp(p->context, "while scanning ", 15)
				  ? p->context + 15
			  : !strncmp(p->context, "while parsing ", 14)
				  ? p->context + 14
				  : p->context,
			  at.line);
		return;
	}
	if (p->context)
		diags_add(diags, DIAG_ERROR, file, at, "YAML syntax: %s %s",
			  problem, p->context);
	else
		diags_add(diags, DIAG_ERROR, file, at, "YAML syntax: %s",
			  problem);
}

int
ydoc_parse(struct ydoc *doc, const char *file, const char *data, size_t len,
	   struct diags *diags)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct builder b;
	int ret = -1, done = 0;
	size_t i;

	memset(doc, 0, sizeof(*doc));
	memset(&b, 0, sizeof(b));
	b.doc = doc;
	b.file = file;
	b.diags = diags;
	if (!yaml_parser_initialize(&parser))
		BUG("cannot initialise the YAML parser");
	yaml_parser_set_input_string(&parser, (const unsigned char *)data,
				     len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&parser, file, data, len, diags);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (handle_event(&b, &ev) < 0) {
			yaml_event_delete(&ev);
			goto out;
		}
		yaml_event_delete(&ev);
		if (b.nodes > YAML_MAX_NODES) {
			diags_add(diags, DIAG_ERROR, file,
				  mark_pos(parser.mark),
				  "YAML document has more than %d nodes",
				  YAML_MAX_NODES);
			goto out;
		}
	}
	ret = 0;
out:
	for (i = 0; i < b.depth; i++) {
		free(b.stack[i].items);
		free(b.stack[i].anchor);
	}
	free(b.stack);
	strmap_release(&b.anchors);
	yaml_parser_delete(&parser);
	if (ret < 0)
		doc->root = NULL;
	return ret;
}

void
ydoc_release(struct ydoc *doc)
{
	arena_release(&doc->arena);
	doc->root = NULL;
}

int
ynode_is_null(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}
