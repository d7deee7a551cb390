/* reconciler-int.h - internals shared by the files of reconciler/. */
#ifndef SCAFFOLD_RECONCILER_INT_H
#define SCAFFOLD_RECONCILER_INT_H

#include "reconciler.h"

/* A YAML node tree.  Aliases point at the anchored node (shared). */
enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP };
struct ynode {
	enum ynode_kind kind;
	struct pos pos;
	int plain;	 /* scalar written without quotes and without a tag */
	const char *str; /* scalar text, NUL-terminated (may hold NULs) */
	size_t len;
	struct ynode **items; /* SEQ: n items; MAP: n pairs, key then value */
	size_t n;
	size_t weight; /* nodes in this subtree, aliases expanded */
	int height;
};

struct ydoc {
	struct arena arena;
	struct ynode *root; /* NULL for an empty stream */
};

/* Parse data into doc; problems go to diags.  0, or -1 after an error. */
int ydoc_parse(struct ydoc *doc, const char *file, const char *data,
	       size_t len, struct diags *diags);
void ydoc_release(struct ydoc *doc);

/* A plain scalar that means null: empty, "~", "null". */
int ynode_is_null(const struct ynode *n);

/*
 * Cross-task checks (validate.c); with dag_ok and no errors, also the
 * children lists and the topological order.
 */
void cascade_build_dag(struct cascade *c, const char *file,
		       struct diags *diags, int dag_ok);

#endif
