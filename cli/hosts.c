/* hosts.c - hand the config's ssh inventory to the ssh runner. */
#include "cli.h"
#include "../runner/runner.h"

void
runners_configure_hosts(const struct config *cf)
{
	/* WIRE-SSH: the ssh runner lands next */
	(void)cf;
}
