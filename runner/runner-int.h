/* runner-int.h - internals shared by the files of runner/ and its tests. */
#ifndef SCAFFOLD_RUNNER_INT_H
#define SCAFFOLD_RUNNER_INT_H

#include <stdbool.h>

#include "runner.h"

/*
 * local.c: notice the shell's exit by polling waitid() on a short tick
 * instead of through a pidfd (what happens on kernels without
 * pidfd_open).  For tests; set it before start().
 */
extern bool local_force_poll;

#endif
