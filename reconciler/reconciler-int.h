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
 * Reading YAML nodes with precise errors (loader.c), shared by the cascade
 * and config loaders.  Messages are prefixed with what (e.g. "task 'x': ")
 * and placed at the node's line and column.
 */
struct lctx {
	const char *file;
	struct diags *diags;
	struct arena *arena;  /* where strings for messages and lists go */
	struct cascade *c;    /* the cascade being loaded, if any */
	struct buf what;
};
const char *yn_qs(struct lctx *x, const char *s);
void yn_err(struct lctx *x, const struct ynode *n, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
void yn_warn(struct lctx *x, const struct ynode *n, const char *fmt, ...)
	PRINTF_LIKE(3, 4);
const char *yn_kind(const struct ynode *n);
const char *yn_desc(struct lctx *x, const struct ynode *n);
void yn_match_keys(struct lctx *x, const struct ynode *n, const char *where,
		   const char *const keys[], size_t nkeys,
		   const struct ynode **slots, unsigned *suggested);
/* The key of keys[] that s is most likely a misspelling of, or nkeys. */
size_t suggest_key(const char *s, const char *const keys[], size_t nkeys);
const struct ynode *yn_find_key(const struct ynode *n, const char *key);
const char *yn_str(struct lctx *x, const struct ynode *n, const char *field);
const char *yn_nonempty(struct lctx *x, const struct ynode *n,
			const char *field);
/* 0 and *out (1 or 0) when s is a YAML 1.1 boolean word (true, no, ...). */
int yn_is_bool(const char *s, int *out);
int yn_bool(struct lctx *x, const struct ynode *n, const char *field,
	    int *out);
int yn_duration(struct lctx *x, const struct ynode *n, const char *field,
		int64_t *out);
void yn_names(struct lctx *x, const struct ynode *n, const char *field,
	      const char *kind,
	      int (*valid)(struct lctx *, const struct ynode *, const char *),
	      struct name_list *out);
int yn_valid_host(struct lctx *x, const struct ynode *n, const char *kind);
/* A umask (task and host key 'umask'), normalized to three octal digits
 * ("022"); NULL after an error. */
const char *yn_umask(struct lctx *x, const struct ynode *n,
		     const char *field);

/*
 * Cross-task checks (validate.c); with dag_ok and no errors, also the
 * children lists and the topological order.
 */
void cascade_build_dag(struct cascade *c, const char *file,
		       struct diags *diags, int dag_ok);

/*
 * What is wrong with a stored or loaded file's name (relative, inside the
 * run dir, canonical, no control characters), as the end of a sentence
 * about it; NULL when nothing is.  The length is the caller's to check.
 */
const char *file_name_problem(const char *name);

/*
 * Which hosts of a task's host list a new attempt runs on (fanout.c):
 * run_it[i] (hosts->n of them) is set for each, and the count returned.
 * last is the task's last run per host (store_runs_per_host).  With retry
 * (an attempt after a failed one, or a run by hand), a host whose last
 * run succeeded at fingerprint is left out, unless every host's did.
 */
size_t fanout_hosts_to_run(const struct name_list *hosts,
			   const struct run_row *last, size_t nlast,
			   const char *fingerprint, int retry,
			   unsigned char *run_it);
/*
 * Which of hosts (an ssh task's, or the nodes of a swarm task in mode
 * global) the next attempt of row runs on, as indexes into hosts: sel
 * (room for hosts->n) gets *n of them, done the names of those left out
 * ("web2, web3").  A retry is an attempt after a failed one
 * (row->attempts) or a run by hand (row->manual).  <0 if the store fails.
 */
int fanout_claim_hosts(struct store *st, const struct task_row *row,
		       const struct name_list *hosts, size_t *sel, size_t *n,
		       struct buf *done);

#endif
