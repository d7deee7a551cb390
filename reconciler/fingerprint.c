/*
 * fingerprint.c - canonical serialization of what determines a task's
 * effect.  Every field is hashed on its own (so a plan can name what
 * changed); the fingerprint hashes the field digests in a fixed order.
 * Strings are length-prefixed, unordered sets are sorted, so YAML formatting
 * and key order never change a fingerprint, while any byte of 'run' does.
 */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

const char *const fp_field_names[FP_NFIELDS] = {
	"runner", "image",  "hosts", "run",  "env",	   "inputs",
	"input values", "store", "load", "depends_on", "file store",
	"umask",
};

static void
put_bytes(struct buf *b, const char *s, size_t len)
{
	buf_addf(b, "%zu:", len);
	buf_add(b, s, len);
	buf_putc(b, ',');
}

static void
put_str(struct buf *b, const char *s)
{
	if (!s)
		buf_puts(b, "~,");
	else
		put_bytes(b, s, strlen(s));
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A set of names: sorted, so that order in the file does not matter. */
static void
put_names(struct buf *b, const struct name_list *l)
{
	const char **v = xmalloc((l->n ? l->n : 1) * sizeof(*v));
	size_t i;

	for (i = 0; i < l->n; i++)
		v[i] = l->v[i].name;
	qsort(v, l->n, sizeof(*v), cmp_str);
	buf_addf(b, "[%zu:", l->n);
	for (i = 0; i < l->n; i++)
		put_str(b, v[i]);
	buf_puts(b, "]");
	free(v);
}

static int
cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

static void
put_kvs(struct buf *b, const struct kv *kvs, size_t n)
{
	struct kv *v = xmalloc((n ? n : 1) * sizeof(*v));
	size_t i;

	if (n)
		memcpy(v, kvs, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_kv);
	buf_addf(b, "{%zu:", n);
	for (i = 0; i < n; i++) {
		put_str(b, v[i].key);
		put_bytes(b, v[i].value, v[i].value_len);
	}
	buf_puts(b, "}");
	free(v);
}

static void
field_hash(struct fingerprint *fp, enum fp_field f, struct buf *b)
{
	struct buf tagged = BUF_INIT;

	/* the field name is part of its digest */
	put_str(&tagged, fp_field_names[f]);
	buf_add(&tagged, b->ptr, b->len);
	sha256_hex(fp->field[f], tagged.ptr, tagged.len);
	buf_release(&tagged);
	buf_reset(b);
}

struct dep_ref {
	const char *name;
	enum dep_kind kind;
};

static int
cmp_dep(const void *a, const void *b)
{
	const struct dep_ref *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name, y->name);
}

void
task_fingerprint(struct fingerprint *out, const struct cascade *c,
		 const struct task *t, input_value_fn input_value, void *ctx)
{
	task_fingerprint_files(out, c, t, input_value, NULL, ctx);
}

void
task_fingerprint_files(struct fingerprint *out, const struct cascade *c,
		       const struct task *t, input_value_fn input_value,
		       file_hash_fn file_hash, void *ctx)
{
	struct buf b = BUF_INIT;
	struct kv *vals;
	struct dep_ref *deps;
	const struct input *in;
	size_t i, len, nstore;
	const char *v;
	struct sha256_ctx *h;

	put_str(&b, t->runner);
	field_hash(out, FP_RUNNER, &b);
	/*
	 * the image only matters where it is used; a swarm task's placement
	 * and resources count with its image (a field of their own would
	 * change every task's fingerprint)
	 */
	put_str(&b, !strcmp(t->runner, "docker") || !strcmp(t->runner, "swarm") ?
			    t->image :
			    NULL);
	if (!strcmp(t->runner, "swarm")) {
		buf_puts(&b, "placement");
		put_names(&b, &t->placement);
		if (t->placement_global)
			buf_puts(&b, "global,");
		buf_addf(&b, "cpus%lld,memory%lld,", (long long)t->nano_cpus,
			 (long long)t->memory_bytes);
	}
	field_hash(out, FP_IMAGE, &b);
	if (!strcmp(t->runner, "ssh"))
		put_names(&b, &t->hosts);
	field_hash(out, FP_HOSTS, &b);
	put_bytes(&b, t->run, t->run_len);
	field_hash(out, FP_RUN, &b);
	put_kvs(&b, t->env, t->nenv);
	field_hash(out, FP_ENV, &b);
	put_kvs(&b, t->inputs, t->ninputs);
	field_hash(out, FP_INPUTS, &b);

	/* the values of the mapped inputs, keyed by the input name */
	vals = xmalloc((t->ninputs ? t->ninputs : 1) * sizeof(*vals));
	for (i = 0; i < t->ninputs; i++) {
		in = cascade_input(c, t->inputs[i].value);
		vals[i].key = t->inputs[i].value;
		v = NULL;
		len = 0;
		if (in && input_value)
			v = input_value(ctx, c, in, &len);
		else if (in && in->default_value) {
			v = in->default_value;
			len = in->default_len;
		}
		vals[i].value = v ? v : "";
		vals[i].value_len = v ? len : 0;
		buf_addf(&b, "%c", v ? '=' : '~');
	}
	put_kvs(&b, vals, t->ninputs);
	free(vals);
	field_hash(out, FP_INPUT_VALUES, &b);

	buf_puts(&b, "file");
	put_names(&b, &t->store_file);
	buf_puts(&b, "env");
	put_names(&b, &t->store_env);
	field_hash(out, FP_STORE, &b);
	buf_puts(&b, "file");
	put_names(&b, &t->load_file);
	buf_puts(&b, "env");
	put_names(&b, &t->load_env);
	field_hash(out, FP_LOAD, &b);

	deps = xmalloc((t->ndeps ? t->ndeps : 1) * sizeof(*deps));
	for (i = 0; i < t->ndeps; i++) {
		deps[i].name = t->deps[i].name;
		deps[i].kind = t->deps[i].kind;
	}
	qsort(deps, t->ndeps, sizeof(*deps), cmp_dep);
	for (i = 0; i < t->ndeps; i++) {
		put_str(&b, dep_kind_names[deps[i].kind]);
		put_str(&b, deps[i].name);
	}
	free(deps);
	field_hash(out, FP_DEPENDS_ON, &b);

	/*
	 * The content of each file only the file store can give it (no
	 * ancestor stores it), by name: a new version is a change.  Without
	 * file_hash (a plan of two definitions) the content is unknown, the
	 * same on both sides.
	 */
	nstore = 0;
	for (i = 0; i < t->load_file.n; i++) {
		const char *name = t->load_file.v[i].name;

		if (!task_loads_from_file_store(c, t, name))
			continue;
		v = file_hash ? file_hash(ctx, c, name) : "?";
		put_str(&b, name);
		put_str(&b, v);
		nstore++;
	}
	field_hash(out, FP_FILES, &b);
	put_str(&b, t->umask);
	field_hash(out, FP_UMASK, &b);

	/*
	 * The last two fields count only where they are used, so that a
	 * task without them keeps the fingerprint it had before they were.
	 */
	h = sha256_new();
	sha256_update(h, "scaffold-task-v1", 16);
	for (i = 0; i <= FP_DEPENDS_ON; i++)
		sha256_update(h, out->field[i], SHA256_HEX_LEN);
	if (nstore)
		sha256_update(h, out->field[FP_FILES], SHA256_HEX_LEN);
	if (t->umask)
		sha256_update(h, out->field[FP_UMASK], SHA256_HEX_LEN);
	sha256_final_hex(h, out->hex);
	buf_release(&b);
}
