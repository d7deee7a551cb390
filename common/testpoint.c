/*
 * testpoint.c - where the end-to-end tests make scaffold die, as a crash
 * would, at an exact step: with SCAFFOLD_TEST_KILL_AT=NAME in its
 * environment, testpoint(NAME) writes one line to stderr and SIGKILLs
 * the process.  Without it (always, outside the tests) it does nothing.
 * A sleep and a kill from outside could not stop a daemon between two
 * requests of a few milliseconds; this does, every time.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void
testpoint(const char *name)
{
	const char *at = getenv("SCAFFOLD_TEST_KILL_AT");

	if (!at || strcmp(at, name))
		return;
	fprintf(stderr, "scaffold: testpoint '%s': killed here\n", name);
	fflush(stderr);
	raise(SIGKILL);
}
