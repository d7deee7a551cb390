/* runner.c - the table of runner backends, picked by name. */
#include <stdlib.h>
#include <string.h>

#include "runner-int.h"

const char *const run_outcome_names[4] = {
	[RUN_SUCCESS] = "success",
	[RUN_ERROR] = "error",
	[RUN_KILLED] = "killed",
	[RUN_LOST] = "lost",
};

static const struct runner_ops *const backends[] = {
	&runner_local,
	&runner_docker,
	&runner_ssh,
};

const struct runner_ops *
runner_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < ARRAY_SIZE(backends); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

void
run_result_release(struct run_result *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nenv; i++) {
		free(r->env[i].name);
		free(r->env[i].value);
	}
	free(r->env);
	for (i = 0; i < r->nfiles; i++) {
		free(r->files[i].path);
		free(r->files[i].src);
	}
	free(r->files);
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
}

bool
runner_display_wanted(const struct strvec *store_files)
{
	size_t i;

	for (i = 0; i < store_files->n; i++)
		if (!strcmp(store_files->v[i], RUN_DISPLAY_FILE))
			return false;
	return true;
}
