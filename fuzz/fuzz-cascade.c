/*
 * fuzz-cascade.c - libFuzzer target: the cascade loader and validation
 * (cascade_load), then what the engine does with a valid cascade: the DAG,
 * fingerprints and a plan.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../reconciler/reconciler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every mapped input has the same value: the bytes are hashed, not run. */
static const char *
input_value(void *ctx, const struct cascade *c, const struct input *in,
	    size_t *len)
{
	(void)ctx;
	(void)c;
	*len = in->default_value ? in->default_len : 5;
	return in->default_value ? in->default_value : "value";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = DIAGS_INIT;
	struct cascade *c = NULL;
	struct fingerprint fp;
	struct plan p;
	struct buf dot = BUF_INIT;
	size_t i;

	if (cascade_load(&c, "fuzz.yaml", (const char *)data, size, 1, &d) ==
		    0 &&
	    c) {
		dag_write_dot(&dot, c);
		for (i = 0; i < c->ntasks; i++)
			task_fingerprint(&fp, c, &c->tasks[i], input_value,
					 NULL);
		plan_compute(&p, NULL, c, input_value, NULL);
		plan_release(&p);
		plan_compute(&p, c, c, input_value, NULL);
		plan_release(&p);
	}
	diags_sort(&d);
	diags_release(&d);
	cascade_free(c);
	buf_release(&dot);
	return 0;
}
