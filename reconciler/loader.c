/*
 * loader.c - turn a YAML tree into a struct cascade, checking every field on
 * the way.  Problems are collected, never fatal: the loader reports all of
 * them, each at the node it concerns.  Cross-task rules (dependencies,
 * cycles, loads) live in validate.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reconciler-int.h"

const char *const dep_kind_names[3] = { "success", "error", "always" };


/* A short, printable rendering of untrusted text for messages. */
const char *
yn_qs(struct lctx *x, const char *s)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(s);
	const char *r;

	if (len > 64) {
		escape_log(&b, s, 61);
		buf_puts(&b, "...");
	} else {
		escape_log(&b, s, len);
	}
	r = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
	return r;
}

void
yn_err(struct lctx *x, const struct ynode *n, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	struct pos none = { 0, 0 };
	va_list ap;

	buf_puts(&b, x->what.ptr);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	diags_add(x->diags, DIAG_ERROR, x->file, n ? n->pos : none, "%s",
		  b.ptr);
	buf_release(&b);
}

void
yn_warn(struct lctx *x, const struct ynode *n, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	buf_puts(&b, x->what.ptr);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	diags_add(x->diags, DIAG_WARNING, x->file, n->pos, "%s", b.ptr);
	buf_release(&b);
}

const char *
yn_kind(const struct ynode *n)
{
	if (n->kind == Y_MAP)
		return "a mapping";
	if (n->kind == Y_SEQ)
		return "a list";
	return ynode_is_null(n) ? "empty" : "a scalar";
}

/* What the user wrote, for messages: 'text', or "a list", or "empty". */
const char *
yn_desc(struct lctx *x, const struct ynode *n)
{
	struct buf b = BUF_INIT;
	const char *r;

	if (n->kind != Y_SCALAR || ynode_is_null(n))
		return yn_kind(n);
	buf_addf(&b, "'%s'", yn_qs(x, n->str));
	r = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
	return r;
}

int
name_is_valid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (i > 62)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int
env_name_is_valid(const char *s)
{
	size_t i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return 0;
	}
	return i <= 255;
}

/* Names people reach for, from other tools, and what they mean here. */
static const struct {
	const char *said, *meant;
} synonyms[] = {
	{ "environment", "env" },	{ "command", "run" },
	{ "script", "run" },		{ "needs", "depends_on" },
	{ "after", "depends_on" },	{ "dependencies", "depends_on" },
	{ "requires", "depends_on" },	{ "failure", "error" },
	{ "on_failure", "error" },	{ "on_error", "error" },
	{ "on_success", "success" },	{ "finally", "always" },
	{ "container", "image" },	{ "host", "hosts" },
	{ "files", "file" },		{ "input", "inputs" },
};

/* The key of keys[] that s is most likely a misspelling of, or nkeys. */
size_t
suggest_key(const char *s, const char *const keys[], size_t nkeys)
{
	size_t k, i, d, best = nkeys, bestd = SIZE_MAX, l, cap;
	struct buf lower = BUF_INIT;

	for (i = 0; s[i]; i++)
		buf_putc(&lower, (char)((s[i] >= 'A' && s[i] <= 'Z')
						? s[i] - 'A' + 'a'
						: s[i]));
	for (i = 0; i < ARRAY_SIZE(synonyms); i++)
		if (!strcmp(lower.ptr, synonyms[i].said))
			for (k = 0; k < nkeys; k++)
				if (!strcmp(keys[k], synonyms[i].meant))
					best = k;
	for (k = 0; k < nkeys && best == nkeys; k++) {
		l = strlen(keys[k]);
		cap = l <= 4 ? 1 : l / 3 > 2 ? l / 3 : 2;
		d = edit_distance(lower.ptr, keys[k], cap);
		if (d <= cap && d < bestd) {
			bestd = d;
			best = k;
		}
	}
	for (k = 0; k < nkeys && best == nkeys; k++)
		if (lower.len >= 3 && !strncmp(lower.ptr, keys[k], lower.len))
			best = k;
	buf_release(&lower);
	return best;
}

/*
 * Match the keys of mapping n against the table keys[]: slots[i] receives
 * the value node of keys[i].  Unknown and duplicate keys are reported
 * (where names the mapping, as "in 'check'", for nested ones); a bit is set
 * in *suggested for each key offered as "did you mean", so that the caller
 * does not also call it missing.
 */
void
yn_match_keys(struct lctx *x, const struct ynode *n, const char *where,
	   const char *const keys[], size_t nkeys, const struct ynode **slots,
	   unsigned *suggested)
{
	size_t i, k, best;
	const struct ynode *key;
	struct buf in = BUF_INIT;

	if (where)
		buf_addf(&in, " in '%s'", where);
	memset(slots, 0, nkeys * sizeof(*slots));
	if (suggested)
		*suggested = 0;
	for (i = 0; i < n->n; i++) {
		key = n->items[2 * i];
		if (key->kind != Y_SCALAR) {
			yn_err(x, key, "mapping keys must be plain strings, "
				     "not %s", yn_kind(key));
			continue;
		}
		for (k = 0; k < nkeys; k++)
			if (!strcmp(key->str, keys[k]))
				break;
		if (k < nkeys) {
			if (slots[k]) {
				const struct ynode *first = NULL;
				size_t j;

				for (j = 0; j < i && !first; j++)
					if (n->items[2 * j]->kind == Y_SCALAR &&
					    !strcmp(n->items[2 * j]->str,
						    keys[k]))
						first = n->items[2 * j];
				yn_err(x, key,
				     "duplicate key '%s'%s (first at line %d)",
				     keys[k], in.ptr,
				     first ? first->pos.line : 0);
				continue;
			}
			slots[k] = n->items[2 * i + 1];
			continue;
		}
		if (!strcmp(key->str, "<<")) {
			yn_err(x, key, "YAML merge keys ('<<') are not "
				     "supported; write the keys out, or use "
				     "an alias for a whole value");
			continue;
		}
		best = suggest_key(key->str, keys, nkeys);
		if (best < nkeys) {
			yn_err(x, key, "unknown key '%s'%s; did you mean '%s'?",
			     yn_qs(x, key->str), in.ptr, keys[best]);
			if (suggested && best < 32)
				*suggested |= 1u << best;
		} else {
			yn_err(x, key, "unknown key '%s'%s", yn_qs(x, key->str),
			     in.ptr);
		}
	}
	buf_release(&in);
}

#define NAME_RULE                                                       \
	"use 1-63 characters a-z, 0-9, '_', '.', '-', starting with a " \
	"letter or digit"

/* The value of the first key named key in mapping n, or NULL. */
const struct ynode *
yn_find_key(const struct ynode *n, const char *key)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		if (n->items[2 * i]->kind == Y_SCALAR &&
		    !strcmp(n->items[2 * i]->str, key))
			return n->items[2 * i + 1];
	return NULL;
}

/* A scalar as a string; "" for null.  NULL (reported) for other kinds. */
const char *
yn_str(struct lctx *x, const struct ynode *n, const char *field)
{
	if (n->kind != Y_SCALAR) {
		yn_err(x, n, "'%s' must be a string, not %s", field,
		     yn_kind(n));
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		yn_err(x, n, "'%s' must not contain NUL bytes", field);
		return NULL;
	}
	return ynode_is_null(n) ? "" : n->str;
}

/* A required, non-empty string. */
const char *
yn_nonempty(struct lctx *x, const struct ynode *n, const char *field)
{
	const char *s = yn_str(x, n, field);

	if (s && !*s) {
		yn_err(x, n, "'%s' must not be empty", field);
		return NULL;
	}
	return s;
}

int
yn_is_bool(const char *s, int *out)
{
	static const char *const t[] = { "true", "yes", "on" };
	static const char *const f[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		if (!strcasecmp(s, t[i])) {
			*out = 1;
			return 0;
		}
		if (!strcasecmp(s, f[i])) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

int
yn_bool(struct lctx *x, const struct ynode *n, const char *field, int *out)
{
	if (n->kind == Y_SCALAR && yn_is_bool(n->str, out) == 0)
		return 0;
	yn_err(x, n, "'%s' must be true or false, not %s", field, yn_desc(x, n));
	return -1;
}

int
yn_duration(struct lctx *x, const struct ynode *n, const char *field,
	     int64_t *out)
{
	int r = n->kind == Y_SCALAR ? duration_parse(out, n->str) : -1;

	if (r == 0 && *out > 0)
		return 0;
	if (r == 0)
		yn_err(x, n, "'%s' must be longer than 0", field);
	else if (r == ERR_TOOBIG)
		yn_err(x, n, "'%s' must be at most 10 years, not %s", field,
		     yn_desc(x, n));
	else
		yn_err(x, n,
		     "invalid duration %s for '%s' (use a number and a unit: "
		     "500ms, 30s, 5m, 1h30m, 2d)",
		     yn_desc(x, n), field);
	return -1;
}

/*
 * A umask: one to four octal digits ("022", "0077"), kept as three
 * ("022") for the shell's umask builtin.  NULL after an error.
 */
const char *
yn_umask(struct lctx *x, const struct ynode *n, const char *field)
{
	unsigned long v = 0;
	size_t i;
	char out[8];

	if (n->kind == Y_SCALAR && n->len >= 1 && n->len <= 4 &&
	    strlen(n->str) == n->len &&
	    strspn(n->str, "01234567") == n->len) {
		for (i = 0; i < n->len; i++)
			v = v * 8 + (unsigned long)(n->str[i] - '0');
		if (v <= 0777) {
			snprintf(out, sizeof(out), "%03lo", v);
			return arena_strdup(x->arena, out);
		}
	}
	yn_err(x, n, "'%s' must be an octal umask such as \"022\" or "
		     "\"077\", not %s",
	       field, yn_desc(x, n));
	return NULL;
}

static int valid_path(struct lctx *x, const struct ynode *n,
		      const char *kind);

/*
 * A list of strings checked by valid(); each entry keeps its position.
 * kind names the entries in messages ("host", "store file").
 */
void
yn_names(struct lctx *x, const struct ynode *n, const char *field,
	  const char *kind, int (*valid)(struct lctx *, const struct ynode *,
					 const char *),
	  struct name_list *out)
{
	size_t i, j;
	const struct ynode *item;

	out->n = 0;
	if (n->kind != Y_SEQ) {
		yn_err(x, n, "'%s' must be a list, not %s", field,
		     yn_kind(n));
		return;
	}
	out->v = arena_alloc(x->arena, n->n * sizeof(*out->v));
	for (i = 0; i < n->n; i++) {
		item = n->items[i];
		if (item->kind == Y_SCALAR && strlen(item->str) != item->len) {
			yn_err(x, item, "%s in '%s' must not contain NUL bytes",
			       kind, field);
			continue;
		}
		if (item->kind != Y_SCALAR || ynode_is_null(item) ||
		    (!item->len && valid != valid_path)) {
			yn_err(x, item, "%s in '%s' must be a non-empty string",
			     kind, field);
			continue;
		}
		if (valid && !valid(x, item, kind))
			continue;
		for (j = 0; j < out->n; j++)
			if (!strcmp(out->v[j].name, item->str))
				break;
		if (j < out->n) {
			yn_err(x, item, "%s '%s' is listed twice in '%s'", kind,
			     yn_qs(x, item->str), field);
			continue;
		}
		out->v[out->n].name = item->str;
		out->v[out->n].pos = item->pos;
		out->n++;
	}
}

int
yn_valid_host(struct lctx *x, const struct ynode *n, const char *kind)
{
	size_t i;

	for (i = 0; i < n->len; i++) {
		char c = n->str[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			break;
	}
	if (i == n->len && n->len <= 253)
		return 1;
	yn_err(x, n, "invalid %s name '%s': use letters, digits, '_', '.', '-'",
	     kind, yn_qs(x, n->str));
	return 0;
}

static int
valid_env_name(struct lctx *x, const struct ynode *n, const char *kind)
{
	if (!env_name_is_valid(n->str)) {
		yn_err(x, n,
		     "invalid %s name '%s': use letters, digits and '_', "
		     "not starting with a digit",
		     kind, yn_qs(x, n->str));
		return 0;
	}
	return 1;
}

/* Variables a task may set: not the SCAFFOLD_ ones the runner sets. */
static int
valid_task_env(struct lctx *x, const struct ynode *n, const char *kind)
{
	if (!valid_env_name(x, n, kind))
		return 0;
	if (!strncmp(n->str, "SCAFFOLD_", 9)) {
		yn_err(x, n, "%s '%s' is reserved (names starting with "
			   "SCAFFOLD_ are set by scaffold)",
		     kind, n->str);
		return 0;
	}
	return 1;
}

/* Paths in store/load: relative, inside the run dir, canonical. */
static int
valid_path(struct lctx *x, const struct ynode *n, const char *kind)
{
	const char *why = file_name_problem(n->str);

	if (why)
		yn_err(x, n, "%s '%s' %s", kind, yn_qs(x, n->str), why);
	return !why;
}

/* A mapping of env names to scalar values. */
static void
get_env_map(struct lctx *x, const struct ynode *n, const char *field,
	    int values_are_inputs, struct kv **out, size_t *nout)
{
	size_t i, j;
	const struct ynode *k, *v;
	struct kv *kv;

	*nout = 0;
	if (n->kind != Y_MAP) {
		if (!ynode_is_null(n))
			yn_err(x, n, "'%s' must be a mapping of names to %s, "
				   "not %s",
			     field, values_are_inputs ? "input names" : "values",
			     yn_kind(n));
		return;
	}
	*out = arena_alloc(x->arena, n->n * sizeof(**out));
	for (i = 0; i < n->n; i++) {
		k = n->items[2 * i];
		v = n->items[2 * i + 1];
		if (k->kind != Y_SCALAR) {
			yn_err(x, k, "keys of '%s' must be names, not %s", field,
			     yn_kind(k));
			continue;
		}
		if (!valid_task_env(x, k, "environment variable"))
			continue;
		for (j = 0; j < *nout; j++)
			if (!strcmp((*out)[j].key, k->str))
				break;
		if (j < *nout) {
			yn_err(x, k, "duplicate key '%s' in '%s'", k->str,
			     field);
			continue;
		}
		if (v->kind != Y_SCALAR) {
			yn_err(x, v, "value of '%s' in '%s' must be %s, not %s",
			     k->str, field,
			     values_are_inputs ? "an input name" : "a string",
			     yn_kind(v));
			continue;
		}
		if (values_are_inputs && (ynode_is_null(v) ||
					  !env_name_is_valid(v->str))) {
			yn_err(x, v, "'%s' in '%s' must name a cascade input", k->str,
			     field);
			continue;
		}
		kv = &(*out)[(*nout)++];
		kv->key = k->str;
		kv->value = ynode_is_null(v) ? "" : v->str;
		kv->value_len = ynode_is_null(v) ? 0 : v->len;
		kv->pos = k->pos;
		kv->value_pos = v->pos;
	}
}

/* store: / load: {file: [...], env: [...]} */
static void
get_store_load(struct lctx *x, const struct ynode *n, const char *field,
	       struct name_list *files, struct name_list *envs)
{
	static const char *const keys[] = { "file", "env" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	struct buf f = BUF_INIT;

	if (n->kind != Y_MAP) {
		if (!ynode_is_null(n))
			yn_err(x, n, "'%s' must be a mapping with 'file' and/or "
				   "'env' lists, not %s",
			     field, yn_kind(n));
		return;
	}
	yn_match_keys(x, n, field, keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0]) {
		buf_addf(&f, "%s.file", field);
		yn_names(x, s[0], f.ptr,
			  !strcmp(field, "store") ? "store file" : "load file",
			  valid_path, files);
		buf_reset(&f);
	}
	if (s[1]) {
		buf_addf(&f, "%s.env", field);
		yn_names(x, s[1], f.ptr,
			  !strcmp(field, "store") ? "store env" : "load env",
			  valid_task_env, envs);
	}
	buf_release(&f);
}

static void
add_dep(struct lctx *x, struct task *t, const struct ynode *item,
	enum dep_kind kind, size_t *alloc)
{
	size_t j;

	if (item->kind != Y_SCALAR || ynode_is_null(item)) {
		yn_err(x, item, "entries of 'depends_on' must be task names, "
			      "not %s",
		     yn_kind(item));
		return;
	}
	if (strlen(item->str) != item->len) {
		yn_err(x, item, "entries of 'depends_on' must not contain NUL "
			      "bytes");
		return;
	}
	for (j = 0; j < t->ndeps; j++) {
		if (!strcmp(t->deps[j].name, item->str)) {
			yn_err(x, item, "depends on '%s' more than once",
			     yn_qs(x, item->str));
			return;
		}
	}
	if (t->ndeps == *alloc) {
		struct dep *nd;

		*alloc = *alloc ? *alloc * 2 : 4;
		nd = arena_alloc(x->arena, *alloc * sizeof(*nd));
		if (t->ndeps)
			memcpy(nd, t->deps, t->ndeps * sizeof(*nd));
		t->deps = nd;
	}
	t->deps[t->ndeps].name = item->str;
	t->deps[t->ndeps].kind = kind;
	t->deps[t->ndeps].task = SIZE_MAX;
	t->deps[t->ndeps].pos = item->pos;
	t->ndeps++;
}

static void
get_depends_on(struct lctx *x, const struct ynode *n, struct task *t)
{
	static const char *const keys[] = { "success", "error", "always" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	size_t i, k, alloc = 0;

	if (n->kind == Y_SEQ) {
		for (i = 0; i < n->n; i++)
			add_dep(x, t, n->items[i], DEP_SUCCESS, &alloc);
		return;
	}
	if (n->kind != Y_MAP) {
		if (!ynode_is_null(n))
			yn_err(x, n,
			     "'depends_on' must be a list of task names or a "
			     "mapping with 'success', 'error' and 'always' "
			     "lists");
		return;
	}
	yn_match_keys(x, n, "depends_on", keys, ARRAY_SIZE(keys), s, NULL);
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		if (!s[k])
			continue;
		if (s[k]->kind != Y_SEQ) {
			if (!ynode_is_null(s[k]))
				yn_err(x, s[k], "'depends_on.%s' must be a list "
					      "of task names, not %s",
				     keys[k], yn_kind(s[k]));
			continue;
		}
		for (i = 0; i < s[k]->n; i++)
			add_dep(x, t, s[k]->items[i], (enum dep_kind)k, &alloc);
	}
}

static void
get_check(struct lctx *x, const struct ynode *n, struct task *t)
{
	static const char *const keys[] = { "interval", "run",	"image",
					    "hosts",	"timeout", "heal",
					    "max_heals" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	struct check *ck;
	unsigned sugg;
	char *end;
	long v;

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'check' must be a mapping with 'interval' and "
			   "'run', not %s",
		     yn_kind(n));
		return;
	}
	ck = arena_alloc(x->arena, sizeof(*ck));
	memset(ck, 0, sizeof(*ck));
	ck->pos = n->pos;
	ck->max_heals = CHECK_DEFAULT_MAX_HEALS;
	yn_match_keys(x, n, "check", keys, ARRAY_SIZE(keys), s, &sugg);
	if (s[0]) {
		ck->interval_pos = s[0]->pos;
		if (yn_duration(x, s[0], "check.interval", &ck->interval_ms) ==
			    0 &&
		    ck->interval_ms < CHECK_MIN_INTERVAL_MS)
			yn_err(x, s[0], "'check.interval' must be at least 1s, "
					"not %s",
			       yn_desc(x, s[0]));
	} else if (!(sugg & 1)) {
		yn_err(x, n, "'check' is missing required key 'interval'");
	}
	if (s[1]) {
		ck->run = yn_nonempty(x, s[1], "check.run");
		ck->run_len = ck->run ? s[1]->len : 0;
	} else if (!(sugg & 2)) {
		yn_err(x, n, "'check' is missing required key 'run'");
	}
	if (s[2])
		ck->image = yn_nonempty(x, s[2], "check.image");
	if (s[3])
		yn_names(x, s[3], "check.hosts", "host", yn_valid_host,
			  &ck->hosts);
	if (s[4])
		yn_duration(x, s[4], "check.timeout", &ck->timeout_ms);
	if (s[5])
		yn_bool(x, s[5], "check.heal", &ck->heal);
	if (s[6]) {
		v = -1;
		end = NULL;
		if (s[6]->kind == Y_SCALAR && s[6]->len > 0 &&
		    s[6]->str[0] != '-' && s[6]->str[0] != '+')
			v = strtol(s[6]->str, &end, 10);
		if (v < 1 || !end || *end || v > CHECK_MAX_HEALS_LIMIT)
			yn_err(x, s[6], "'check.max_heals' must be a whole "
					"number from 1 to %d, not %s",
			       CHECK_MAX_HEALS_LIMIT, yn_desc(x, s[6]));
		else
			ck->max_heals = (int)v;
	}
	t->check = ck;
}

enum {
	TK_NAME,
	TK_DESCRIPTION,
	TK_IMAGE,
	TK_RUNNER,
	TK_HOSTS,
	TK_RUN,
	TK_ENV,
	TK_INPUTS,
	TK_DEPENDS_ON,
	TK_STORE,
	TK_LOAD,
	TK_AUTO_EXECUTE,
	TK_TIMEOUT,
	TK_RETRIES,
	TK_CHECK,
	TK_UMASK,
	TK_PLACEMENT,
	TK_RESOURCES,
	TK_N
};
static const char *const task_keys[TK_N] = {
	"name",	   "description", "image",	  "runner",  "hosts",
	"run",	   "env",	  "inputs",	  "depends_on", "store",
	"load",	   "auto_execute", "timeout",	  "retries", "check",
	"umask",
	"placement", "resources",
};

const char *const runner_kind_names[RUNNER_KIND_N] = { "docker", "ssh",
							"local", "swarm" };

int
runner_kind_index(const char *name)
{
	int i;

	for (i = 0; i < RUNNER_KIND_N; i++)
		if (!strcmp(name, runner_kind_names[i]))
			return i;
	return -1;
}

static const char *
get_runner(struct lctx *x, const struct ynode *n)
{
	const char *const *runners = runner_kind_names;
	size_t i;
	int k;

	if (n->kind == Y_SCALAR && (k = runner_kind_index(n->str)) >= 0)
		return runners[k];
	if (n->kind == Y_SCALAR &&
	    (i = suggest_key(n->str, runners, RUNNER_KIND_N)) < RUNNER_KIND_N)
		yn_err(x, n, "unknown runner %s; did you mean '%s'?", yn_desc(x, n),
		     runners[i]);
	else
		yn_err(x, n,
		     "unknown runner %s (expected 'docker', 'ssh', 'local' or "
		     "'swarm')",
		     yn_desc(x, n));
	return NULL;
}

/*
 * A swarm placement constraint: ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE, the
 * attribute one the swarm knows (node.id, node.hostname, node.role,
 * node.platform.os, node.platform.arch, node.labels.NAME,
 * engine.labels.NAME).
 */
static int
valid_constraint(struct lctx *x, const struct ynode *n, const char *kind)
{
	static const char *const attrs[] = { "node.id", "node.hostname",
					     "node.role", "node.platform.os",
					     "node.platform.arch" };
	const char *op = strstr(n->str, "==");
	const char *ne = strstr(n->str, "!=");
	size_t klen, i;
	int ok = 0;

	(void)kind;
	if (!op || (ne && ne < op))
		op = ne;
	if (!op) {
		yn_err(x, n, "placement %s is not a constraint: use "
			     "ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE, e.g. "
			     "node.labels.pool==build",
		       yn_desc(x, n));
		return 0;
	}
	klen = (size_t)(op - n->str);
	while (klen && n->str[klen - 1] == ' ')
		klen--;
	for (i = 0; i < ARRAY_SIZE(attrs); i++)
		if (strlen(attrs[i]) == klen && !strncmp(n->str, attrs[i], klen))
			ok = 1;
	if ((klen > 12 && !strncmp(n->str, "node.labels.", 12)) ||
	    (klen > 14 && !strncmp(n->str, "engine.labels.", 14)))
		ok = 1;
	if (!ok) {
		yn_err(x, n, "placement %s: unknown attribute '%.*s' (use "
			     "node.id, node.hostname, node.role, "
			     "node.platform.os, node.platform.arch, "
			     "node.labels.NAME or engine.labels.NAME)",
		       yn_desc(x, n), (int)klen, n->str);
		return 0;
	}
	for (op += 2; *op == ' '; op++)
		;
	if (!*op) {
		yn_err(x, n, "placement %s has no value", yn_desc(x, n));
		return 0;
	}
	return 1;
}

/*
 * placement: [CONSTRAINT, ...], or {mode: replicated | global,
 * constraints: [CONSTRAINT, ...]}: global runs the task once on every
 * eligible node.
 */
static void
get_placement(struct lctx *x, const struct ynode *n, struct task *t)
{
	static const char *const keys[] = { "mode", "constraints" };
	const struct ynode *s[ARRAY_SIZE(keys)];

	if (n->kind == Y_SEQ) {
		yn_names(x, n, "placement", "constraint", valid_constraint,
			 &t->placement);
		return;
	}
	if (n->kind != Y_MAP) {
		yn_err(x, n, "'placement' must be a list of constraints, or a "
			     "mapping with 'mode' and 'constraints', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "placement", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0] && s[0]->kind == Y_SCALAR && !strcmp(s[0]->str, "global"))
		t->placement_global = 1;
	else if (s[0] && (s[0]->kind != Y_SCALAR ||
			  strcmp(s[0]->str, "replicated")))
		yn_err(x, s[0], "'placement.mode' must be 'replicated' (one "
				"task on one node) or 'global' (one task on "
				"every eligible node), not %s",
		       yn_desc(x, s[0]));
	if (s[1])
		yn_names(x, s[1], "placement.constraints", "constraint",
			 valid_constraint, &t->placement);
}

/* resources: {cpus: 0.5, memory: 256M} */
static void
get_resources(struct lctx *x, const struct ynode *n, struct task *t)
{
	static const char *const keys[] = { "cpus", "memory" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	char *end = NULL;
	double cpus;
	int r;

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'resources' must be a mapping with 'cpus' and "
			     "'memory', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "resources", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0]) {
		errno = 0;
		cpus = s[0]->kind == Y_SCALAR && s[0]->len ?
			       strtod(s[0]->str, &end) :
			       -1;
		if (!end || *end || errno || !(cpus > 0) || cpus > 1024)
			yn_err(x, s[0], "'resources.cpus' must be a number of "
					"CPUs above 0 and at most 1024, such "
					"as 0.5 or 2, not %s",
			       yn_desc(x, s[0]));
		else
			t->nano_cpus = (int64_t)(cpus * 1e9 + 0.5);
	}
	if (s[1]) {
		r = s[1]->kind == Y_SCALAR ?
			    size_parse(&t->memory_bytes, s[1]->str) :
			    ERR_INVALID;
		if (r == 0 && t->memory_bytes < (4 << 20)) {
			yn_err(x, s[1], "'resources.memory' must be at least "
					"4M (the engine's smallest), not %s",
			       yn_desc(x, s[1]));
			t->memory_bytes = 0;
		} else if (r) {
			yn_err(x, s[1], "'resources.memory' must be a size "
					"such as 256M or 2G, not %s",
			       yn_desc(x, s[1]));
			t->memory_bytes = 0;
		}
	}
}

static void
load_task(struct lctx *x, const struct ynode *n, size_t idx, struct task *t)
{
	const struct ynode *s[TK_N];
	const struct ynode *nm;
	unsigned sugg;
	const char *runner = NULL, *str;
	struct pos from = { 0, 0 };
	long v;
	char *end;

	buf_reset(&x->what);
	t->pos = n->pos;
	t->auto_execute = 1;
	t->timeout_ms = TASK_DEFAULT_TIMEOUT_MS;
	if (n->kind != Y_MAP) {
		buf_addf(&x->what, "task #%zu: ", idx + 1);
		yn_err(x, n, "a task must be a mapping, not %s", yn_kind(n));
		return;
	}
	/* The name first, so that every message can say which task. */
	nm = yn_find_key(n, "name");
	if (nm && nm->kind == Y_SCALAR && !ynode_is_null(nm) &&
	    strlen(nm->str) == nm->len) {
		t->name = nm->str;
		if (!name_is_valid(t->name)) {
			buf_addf(&x->what, "task #%zu: ", idx + 1);
			yn_err(x, nm, "invalid task name '%s': %s",
			     yn_qs(x, t->name), NAME_RULE);
			buf_reset(&x->what);
		}
		buf_addf(&x->what, "task '%s': ", yn_qs(x, t->name));
	} else {
		buf_addf(&x->what, "task #%zu: ", idx + 1);
		if (!nm)
			yn_err(x, n, "missing required key 'name'");
		else
			yn_err(x, nm, "'name' must be a non-empty string%s",
			       nm->kind == Y_SCALAR && nm->len ?
				       " without NUL bytes" :
				       "");
	}
	yn_match_keys(x, n, NULL, task_keys, TK_N, s, &sugg);
	if (s[TK_DESCRIPTION])
		t->description = yn_str(x, s[TK_DESCRIPTION], "description");
	if (s[TK_IMAGE])
		t->image = yn_nonempty(x, s[TK_IMAGE], "image");
	if (s[TK_RUNNER] && (runner = get_runner(x, s[TK_RUNNER])))
		t->runner_pos = s[TK_RUNNER]->pos;
	if (s[TK_HOSTS])
		yn_names(x, s[TK_HOSTS], "hosts", "host", yn_valid_host,
			  &t->hosts);
	else
		t->hosts = x->c->hosts;
	if (!s[TK_RUN]) {
		if (!(sugg & (1u << TK_RUN)))
			yn_err(x, n, "missing required key 'run'");
	} else if ((str = yn_nonempty(x, s[TK_RUN], "run"))) {
		t->run = str;
		t->run_len = strlen(str);
	}
	if (s[TK_ENV])
		get_env_map(x, s[TK_ENV], "env", 0, &t->env, &t->nenv);
	if (s[TK_INPUTS])
		get_env_map(x, s[TK_INPUTS], "inputs", 1, &t->inputs,
			    &t->ninputs);
	if (s[TK_DEPENDS_ON])
		get_depends_on(x, s[TK_DEPENDS_ON], t);
	if (s[TK_STORE])
		get_store_load(x, s[TK_STORE], "store", &t->store_file,
			       &t->store_env);
	if (s[TK_LOAD])
		get_store_load(x, s[TK_LOAD], "load", &t->load_file,
			       &t->load_env);
	if (s[TK_AUTO_EXECUTE])
		yn_bool(x, s[TK_AUTO_EXECUTE], "auto_execute",
			 &t->auto_execute);
	if (s[TK_TIMEOUT])
		yn_duration(x, s[TK_TIMEOUT], "timeout", &t->timeout_ms);
	if (s[TK_RETRIES]) {
		const struct ynode *r = s[TK_RETRIES];

		v = -1;
		end = NULL;
		if (r->kind == Y_SCALAR && r->len > 0 && r->str[0] != '-' &&
		    r->str[0] != '+')
			v = strtol(r->str, &end, 10);
		if (v < 0 || !end || *end || v > TASK_MAX_RETRIES)
			yn_err(x, r, "'retries' must be a whole number from 0 "
				   "to %d, not %s",
			     TASK_MAX_RETRIES, yn_desc(x, r));
		else
			t->retries = (int)v;
	}
	if (s[TK_CHECK])
		get_check(x, s[TK_CHECK], t);
	if (s[TK_UMASK])
		t->umask = yn_umask(x, s[TK_UMASK], "umask");
	if (s[TK_PLACEMENT])
		get_placement(x, s[TK_PLACEMENT], t);
	if (s[TK_RESOURCES])
		get_resources(x, s[TK_RESOURCES], t);
	if (t->check && (!t->check->timeout_ms ||
			 t->check->timeout_ms > t->timeout_ms))
		t->check->timeout_ms = t->check->timeout_ms
					       ? t->timeout_ms
					       : t->check->interval_ms <
							 t->timeout_ms
					       ? t->check->interval_ms
					       : t->timeout_ms;

	/* the effective runner */
	if (!runner && (runner = x->c->runner))
		from = x->c->runner_pos;
	else if (runner)
		from = t->runner_pos;
	if (!runner)
		runner = t->image ? "docker" : "local";
	t->runner = runner;
	if ((!strcmp(runner, "docker") || !strcmp(runner, "swarm")) &&
	    !t->image && !s[TK_IMAGE])
		yn_err(x, n, "runner '%s' needs an 'image'", runner);
	if (strcmp(runner, "swarm") && s[TK_PLACEMENT])
		yn_err(x, s[TK_PLACEMENT], "'placement' needs runner 'swarm'; "
					   "the task runs on '%s'",
		       runner);
	if (strcmp(runner, "swarm") && s[TK_RESOURCES])
		yn_err(x, s[TK_RESOURCES], "'resources' needs runner 'swarm'; "
					   "the task runs on '%s'",
		       runner);
	if (!strcmp(runner, "ssh") && !t->hosts.n && (!s[TK_HOSTS] ||
						      s[TK_HOSTS]->kind == Y_SEQ))
		yn_err(x, s[TK_HOSTS] ? s[TK_HOSTS] : n,
		     "runner 'ssh' needs 'hosts' (on the task or the cascade)");
	/* an image never turns into a shell on the scaffold host */
	if (!strcmp(runner, "local") && t->image)
		yn_err(x, s[TK_IMAGE], "a task with an 'image' cannot use "
				       "runner 'local' (set at line %d): use "
				       "runner 'docker', or remove 'image'",
		       from.line);
	else if (strcmp(runner, "docker") && strcmp(runner, "swarm") &&
		 t->image)
		yn_warn(x, s[TK_IMAGE], "'image' is ignored by runner '%s'",
		      runner);
	/* a probe runs where the task runs: no other runner reaches it */
	if (t->check && t->check->image && strcmp(runner, "docker"))
		yn_err(x, yn_find_key(s[TK_CHECK], "image"),
		       "'check.image' needs runner 'docker'; the task runs on "
		       "'%s', and so does its check",
		       runner);
	if (t->check && t->check->hosts.n && strcmp(runner, "ssh"))
		yn_err(x, yn_find_key(s[TK_CHECK], "hosts"),
		       "'check.hosts' needs runner 'ssh'; the task runs on "
		       "'%s', and so does its check",
		       runner);
	/* a probe of one node would not say how the others are */
	if (t->check && t->placement_global)
		yn_err(x, s[TK_CHECK], "'check' is not supported on a task "
				       "with placement mode 'global' (its "
				       "probe would see one node of them)");
}

static void
load_input(struct lctx *x, const struct ynode *n, size_t idx,
	   struct input *in)
{
	static const char *const keys[] = { "name", "description", "type",
					    "default" };
	const struct ynode *s[ARRAY_SIZE(keys)], *nm;

	buf_reset(&x->what);
	in->pos = n->pos;
	if (n->kind != Y_MAP) {
		buf_addf(&x->what, "input #%zu: ", idx + 1);
		yn_err(x, n, "an input must be a mapping, not %s", yn_kind(n));
		return;
	}
	nm = yn_find_key(n, "name");
	if (nm && nm->kind == Y_SCALAR && !ynode_is_null(nm) &&
	    strlen(nm->str) == nm->len) {
		in->name = nm->str;
		if (!env_name_is_valid(in->name)) {
			buf_addf(&x->what, "input #%zu: ", idx + 1);
			yn_err(x, nm,
			     "invalid input name '%s': use letters, digits "
			     "and '_', not starting with a digit",
			     yn_qs(x, in->name));
			buf_reset(&x->what);
		}
		buf_addf(&x->what, "input '%s': ", yn_qs(x, in->name));
	} else {
		buf_addf(&x->what, "input #%zu: ", idx + 1);
		if (!nm)
			yn_err(x, n, "missing required key 'name'");
		else
			yn_err(x, nm, "'name' must be a non-empty string%s",
			       nm->kind == Y_SCALAR && nm->len ?
				       " without NUL bytes" :
				       "");
	}
	yn_match_keys(x, n, NULL, keys, ARRAY_SIZE(keys), s, NULL);
	if (s[1])
		in->description = yn_str(x, s[1], "description");
	in->type = INPUT_TEXT;
	if (s[2]) {
		if (s[2]->kind == Y_SCALAR && !strcmp(s[2]->str, "password"))
			in->type = INPUT_PASSWORD;
		else if (!(s[2]->kind == Y_SCALAR &&
			   !strcmp(s[2]->str, "text")))
			yn_err(x, s[2],
			     "unknown input type %s (expected 'text' or "
			     "'password')",
			     yn_desc(x, s[2]));
	}
	if (s[3] && !ynode_is_null(s[3])) {
		if (s[3]->kind != Y_SCALAR) {
			yn_err(x, s[3], "'default' must be a string, not %s",
			     yn_kind(s[3]));
		} else {
			in->default_value = s[3]->str;
			in->default_len = s[3]->len;
		}
	}
}

enum {
	CK_VERSION,
	CK_NAME,
	CK_DESCRIPTION,
	CK_RUNNER,
	CK_HOSTS,
	CK_INPUTS,
	CK_TASKS,
	CK_N
};
static const char *const cascade_keys[CK_N] = {
	"version", "name", "description", "runner", "hosts", "inputs", "tasks",
};

static void
load_cascade(struct lctx *x, const struct ynode *root)
{
	struct cascade *c = x->c;
	const struct ynode *s[CK_N], *n;
	const char *str;
	unsigned sugg;
	size_t i, j;

	if (root->kind != Y_MAP) {
		yn_err(x, root, "the document must be a mapping with 'version', "
			      "'name' and 'tasks', not %s",
		     yn_kind(root));
		return;
	}
	yn_match_keys(x, root, NULL, cascade_keys, CK_N, s, &sugg);
	if (!s[CK_VERSION]) {
		if (!(sugg & (1u << CK_VERSION)))
			yn_err(x, root, "missing required key 'version'");
	} else if (s[CK_VERSION]->kind != Y_SCALAR ||
		 strcmp(s[CK_VERSION]->str, "v1"))
		yn_err(x, s[CK_VERSION], "unsupported version %s (expected 'v1')",
		     yn_desc(x, s[CK_VERSION]));
	if (!s[CK_NAME]) {
		if (!(sugg & (1u << CK_NAME)))
			yn_err(x, root, "missing required key 'name'");
	} else if ((str = yn_nonempty(x, s[CK_NAME], "name"))) {
		c->name = str;
		c->name_pos = s[CK_NAME]->pos;
		if (!name_is_valid(str))
			yn_err(x, s[CK_NAME], "invalid cascade name '%s': %s",
			     yn_qs(x, str), NAME_RULE);
	}
	if (s[CK_DESCRIPTION])
		c->description = yn_str(x, s[CK_DESCRIPTION], "description");
	if (s[CK_RUNNER] && (c->runner = get_runner(x, s[CK_RUNNER])))
		c->runner_pos = s[CK_RUNNER]->pos;
	if (s[CK_HOSTS])
		yn_names(x, s[CK_HOSTS], "hosts", "host", yn_valid_host,
			  &c->hosts);

	if ((n = s[CK_INPUTS]) && !ynode_is_null(n)) {
		if (n->kind != Y_SEQ) {
			yn_err(x, n, "'inputs' must be a list, not %s",
			     yn_kind(n));
		} else {
			c->inputs = arena_alloc(&c->arena,
						n->n * sizeof(*c->inputs));
			c->ninputs = n->n;
			for (i = 0; i < n->n; i++)
				load_input(x, n->items[i], i, &c->inputs[i]);
			buf_reset(&x->what);
			for (i = 0; i < c->ninputs; i++) {
				struct input *in = &c->inputs[i];

				if (!in->name)
					continue;
				for (j = 0; j < i; j++)
					if (c->inputs[j].name &&
					    !strcmp(c->inputs[j].name, in->name))
						break;
				if (j < i)
					diags_add(x->diags, DIAG_ERROR, x->file,
						  in->pos,
						  "duplicate input name '%s' "
						  "(first at line %d)",
						  yn_qs(x, in->name),
						  c->inputs[j].pos.line);
				else
					strmap_put(&c->input_index, in->name,
						   in);
			}
		}
	}

	buf_reset(&x->what);
	if (!(n = s[CK_TASKS])) {
		if (!(sugg & (1u << CK_TASKS)))
			yn_err(x, root, "missing required key 'tasks'");
		return;
	}
	if (n->kind != Y_SEQ || n->n == 0) {
		yn_err(x, n, "'tasks' must be a non-empty list of tasks");
		return;
	}
	c->tasks = arena_alloc(&c->arena, n->n * sizeof(*c->tasks));
	c->ntasks = n->n;
	for (i = 0; i < n->n; i++)
		load_task(x, n->items[i], i, &c->tasks[i]);
	buf_reset(&x->what);
}

int
cascade_load(struct cascade **out, const char *file, const char *data,
	     size_t len, int allow_empty, struct diags *diags)
{
	struct ydoc doc;
	struct lctx x;
	struct cascade *c;
	size_t errors = diags->nerrors;
	int ret;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	c = xcalloc(1, sizeof(*c));
	c->file = arena_strdup(&c->arena, file);
	if (ydoc_parse(&doc, file, data, len, diags) < 0) {
		ret = ERR_INVALID;
		goto out;
	}
	if (!doc.root || ynode_is_null(doc.root)) {
		if (allow_empty) {
			ret = ERR_NOTFOUND;
			goto out;
		}
		diags_add(diags, DIAG_ERROR, file, doc.root ? doc.root->pos
			  : (struct pos){ 1, 1 },
			  "the file is empty; expected a cascade with "
			  "'version', 'name' and 'tasks'");
		ret = ERR_INVALID;
		goto out;
	}
	x.file = file;
	x.diags = diags;
	x.c = c;
	x.arena = &c->arena;
	buf_init(&x.what);
	/* Strings stay in the document's arena: move it into the cascade. */
	load_cascade(&x, doc.root);
	if (c->ntasks)
		cascade_build_dag(c, file, diags, diags->nerrors == errors);
	buf_release(&x.what);
	ret = diags->nerrors == errors ? 0 : ERR_INVALID;
out:
	if (ret == 0) {
		/* keep the document's strings alive with the cascade */
		struct arena *keep = arena_alloc(&c->arena, sizeof(*keep));

		*keep = doc.arena;
		c->doc_arena = keep;
		*out = c;
	} else {
		ydoc_release(&doc);
		cascade_free(c);
	}
	return ret;
}

int
cascade_load_file(struct cascade **out, const char *path, int allow_empty,
		  struct diags *diags)
{
	struct buf b = BUF_INIT;
	int ret;

	*out = NULL;
	if (buf_read_file(&b, path, CASCADE_MAX_FILE_SIZE) < 0) {
		diags_add(diags, DIAG_ERROR, path, (struct pos){ 0, 0 }, "%s",
			  err_msg());
		buf_release(&b);
		return ERR_INVALID;
	}
	ret = cascade_load(out, path, b.ptr, b.len, allow_empty, diags);
	buf_release(&b);
	return ret;
}

void
cascade_free(struct cascade *c)
{
	if (!c)
		return;
	strmap_release(&c->task_index);
	strmap_release(&c->input_index);
	if (c->doc_arena)
		arena_release(c->doc_arena);
	arena_release(&c->arena);
	free(c);
}

struct task *
cascade_task(const struct cascade *c, const char *name)
{
	return strmap_get(&c->task_index, name);
}

const struct input *
cascade_input(const struct cascade *c, const char *name)
{
	return strmap_get(&c->input_index, name);
}

size_t
cascade_task_index(const struct cascade *c, const struct task *t)
{
	return (size_t)(t - c->tasks);
}
