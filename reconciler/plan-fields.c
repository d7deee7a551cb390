/*
 * plan-fields.c - a task's fields as a person reads them, one text per
 * field of its fingerprint (fingerprint.c), so that a plan can show what
 * changed side by side: the old value beside the new.  Each text holds
 * what the field's digest covers, no more: a change of the digest is a
 * change of the text (but for the values of password inputs, which are
 * never written out, and the file store's content, which a plan of two
 * definitions does not know).  And the input values as they are now
 * (input_now): what a plan of a definition not yet applied compares.
 */
#include <stdlib.h>
#include <string.h>

#include "reconciler-int.h"

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "a, b, c": the names sorted, as the fingerprint sees them. */
static void
names_text(struct buf *out, const struct name_list *l)
{
	const char **v = xmalloc((l->n ? l->n : 1) * sizeof(*v));
	size_t i;

	for (i = 0; i < l->n; i++)
		v[i] = l->v[i].name;
	qsort(v, l->n, sizeof(*v), cmp_cstr);
	for (i = 0; i < l->n; i++) {
		if (i)
			buf_puts(out, ", ");
		buf_puts(out, v[i]);
	}
	free(v);
}

static int
cmp_kvp(const void *a, const void *b)
{
	return strcmp((*(const struct kv *const *)a)->key,
		      (*(const struct kv *const *)b)->key);
}

/* "KEY SEP VALUE" a line each, sorted by key. */
static void
kvs_text(struct buf *out, const struct kv *kvs, size_t n, const char *sep)
{
	const struct kv **v = xmalloc((n ? n : 1) * sizeof(*v));
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = &kvs[i];
	qsort(v, n, sizeof(*v), cmp_kvp);
	for (i = 0; i < n; i++) {
		buf_puts(out, v[i]->key);
		buf_puts(out, sep);
		buf_add(out, v[i]->value, v[i]->value_len);
		buf_putc(out, '\n');
	}
	free(v);
}

/* "file: a, b" and "env: X" lines, each only when it has names. */
static void
files_env_text(struct buf *out, const struct name_list *file,
	       const struct name_list *env)
{
	if (file->n) {
		buf_puts(out, "file: ");
		names_text(out, file);
		buf_putc(out, '\n');
	}
	if (env->n) {
		buf_puts(out, "env: ");
		names_text(out, env);
		buf_putc(out, '\n');
	}
}

int
input_now_value(const struct input_now *x, const struct input *in,
		struct buf *out)
{
	int r = x && x->cascade_id
			? store_input_get(x->st, x->cascade_id, in->name, out)
			: ERR_NOTFOUND;

	if (r != ERR_NOTFOUND)
		return r;
	if (!in->default_value)
		return ERR_NOTFOUND;
	buf_add(out, in->default_value, in->default_len);
	return 0;
}

const char *
input_now_digest(void *ctx, const struct cascade *c, const struct input *in,
		 size_t *len)
{
	struct input_now *x = ctx;
	struct buf v = BUF_INIT, msg = BUF_INIT;
	char *hex;

	(void)c;
	if (input_now_value(x, in, &v) < 0) {
		buf_release(&v);
		return NULL;
	}
	/* as the engine's fingerprints have it (sched.c): never the value */
	buf_addf(&msg, "input\n%s\n", in->name);
	buf_add(&msg, v.ptr, v.len);
	hex = arena_alloc(&x->arena, SHA256_HEX_LEN + 1);
	hmac_sha256_hex(hex, store_secret_key(x->st), AEAD_KEY_LEN, msg.ptr,
			msg.len);
	buf_release(&v);
	buf_release(&msg);
	*len = SHA256_HEX_LEN;
	return hex;
}

/* The mapped inputs' values: text ones as they are, passwords never. */
static void
input_values_text(struct buf *out, const struct cascade *c,
		  const struct task *t, const struct input_now *now)
{
	const char **names = xmalloc((t->ninputs ? t->ninputs : 1) *
				     sizeof(*names));
	const struct input *in;
	struct buf v = BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < t->ninputs; i++)
		names[n++] = t->inputs[i].value;
	qsort(names, n, sizeof(*names), cmp_cstr);
	for (i = 0; i < n; i++) {
		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		in = cascade_input(c, names[i]);
		buf_puts(out, names[i]);
		buf_reset(&v);
		if (!in || input_now_value(now, in, &v) < 0)
			buf_puts(out, ": no value");
		else if (in->type == INPUT_PASSWORD)
			buf_puts(out, " = ******** (a password: never shown)");
		else {
			buf_puts(out, " = ");
			buf_add(out, v.ptr, v.len);
		}
		buf_putc(out, '\n');
	}
	buf_release(&v);
	free(names);
}

void
task_field_text(struct buf *out, const struct cascade *c, const struct task *t,
		enum fp_field f, const struct input_now *now)
{
	size_t i;

	switch (f) {
	case FP_RUNNER:
		buf_puts(out, t->runner);
		break;
	case FP_IMAGE:
		if (strcmp(t->runner, "docker") && strcmp(t->runner, "swarm"))
			break;
		if (t->image)
			buf_puts(out, t->image);
		if (strcmp(t->runner, "swarm"))
			break;
		if (t->placement.n) {
			buf_puts(out, "\nplacement: ");
			names_text(out, &t->placement);
		}
		if (t->nano_cpus)
			buf_addf(out, "\ncpus: %lld.%09lld",
				 (long long)(t->nano_cpus / 1000000000),
				 (long long)(t->nano_cpus % 1000000000));
		if (t->memory_bytes)
			buf_addf(out, "\nmemory: %lld bytes",
				 (long long)t->memory_bytes);
		break;
	case FP_HOSTS:
		if (!strcmp(t->runner, "ssh"))
			names_text(out, &t->hosts);
		break;
	case FP_RUN:
		buf_add(out, t->run, t->run_len);
		break;
	case FP_ENV:
		kvs_text(out, t->env, t->nenv, "=");
		break;
	case FP_INPUTS:
		kvs_text(out, t->inputs, t->ninputs, " <- ");
		break;
	case FP_INPUT_VALUES:
		input_values_text(out, c, t, now);
		break;
	case FP_STORE:
		files_env_text(out, &t->store_file, &t->store_env);
		break;
	case FP_LOAD:
		files_env_text(out, &t->load_file, &t->load_env);
		break;
	case FP_DEPENDS_ON:
		for (i = 0; i < t->ndeps; i++)
			buf_addf(out, "%s%s: %s", i ? "\n" : "",
				 dep_kind_names[t->deps[i].kind],
				 t->deps[i].name);
		break;
	case FP_FILES:
		for (i = 0; i < t->load_file.n; i++)
			if (task_loads_from_file_store(c, t,
						       t->load_file.v[i].name))
				buf_addf(out, "%s\n", t->load_file.v[i].name);
		break;
	case FP_UMASK:
		if (t->umask)
			buf_puts(out, t->umask);
		break;
	case FP_NFIELDS:
		break;
	}
	/* one line or several, never a trailing newline of our own */
	if (f != FP_RUN && out->len && out->ptr[out->len - 1] == '\n')
		out->ptr[--out->len] = '\0';
}
