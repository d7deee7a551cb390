/*
 * fuzz-config.c - libFuzzer target: the daemon's config loader.
 * config_load reads a path, so each input is written to one private
 * temporary file first.  Files the config names are only checked with
 * access(2), never opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../reconciler/reconciler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/scaffold-fuzz-config.XXXXXX";
static char path[sizeof(dir) + 16];

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/scaffold.yaml", dir);
	atexit(cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = DIAGS_INIT;
	struct config *cf = NULL;
	FILE *f;
	size_t i;

	if (!(f = fopen(path, "wb")))
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f))
		abort();
	if (config_load(&cf, path, &d) == 0) {
		if (!cf)
			abort();
		for (i = 0; i < cf->nrepos; i++)
			if (config_repo(cf, cf->repos[i].name) == NULL)
				abort();
	}
	diags_sort(&d);
	diags_release(&d);
	config_free(cf);
	return 0;
}
