/* hosts.c - hand the config's ssh inventory to the ssh runner. */
#include <stdlib.h>

#include "cli.h"
#include "../runner/runner.h"

void
runners_configure_hosts(const struct config *cf)
{
	struct ssh_host *h = xcalloc(cf->nhosts + 1, sizeof(*h));
	size_t i;

	for (i = 0; i < cf->nhosts; i++) {
		h[i].name = cf->hosts[i].name;
		h[i].address = cf->hosts[i].address;
		h[i].port = cf->hosts[i].port;
		h[i].user = cf->hosts[i].user;
		h[i].key_file = cf->hosts[i].key_file;
		h[i].known_hosts_file = cf->hosts[i].known_hosts_file;
		h[i].max_sessions = cf->hosts[i].max_sessions;
	}
	/* the runner copies what it keeps */
	runner_ssh_configure(h, cf->nhosts);
	free(h);
}
