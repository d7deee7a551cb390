/*
 * hosts.c - hand the config's ssh inventory to the ssh runner, and its
 * swarm to the swarm runner.
 */
#include <stdlib.h>
#include <unistd.h>

#include "daemon.h"
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
		h[i].umask = cf->hosts[i].umask;
	}
	/* the runner copies what it keeps */
	runner_ssh_configure(h, cf->nhosts);
	free(h);
	if (cf->swarm_set) {
		struct swarm_conf sc = {
			.socket = cf->swarm_socket,
			.url = cf->swarm_url,
			.ca = cf->swarm_ca,
			.cert = cf->swarm_cert,
			.key = cf->swarm_key,
			.network = cf->swarm_network,
			.pending_timeout_ms = cf->swarm_pending_timeout_ms,
		};

		runner_swarm_configure(&sc);
	} else {
		runner_swarm_configure(NULL);
	}
}

/* path, absolute and with its symlinks resolved when it exists, into v. */
static void
push_abs(struct strvec *v, const char *path)
{
	char *r;
	struct buf b = BUF_INIT;
	char cwd[4096];

	if (!path || !*path)
		return;
	r = realpath(path, NULL);
	if (r) {
		strvec_push(v, r);
		free(r);
		return;
	}
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		buf_addf(&b, "%s/%s", cwd, path);
	else
		buf_puts(&b, path);
	strvec_push(v, b.ptr);
	buf_release(&b);
}

/* What local runs must not see: the data dir, the config, secret files. */
static void
hide_list(struct strvec *hide, const struct config *cf, const char *data_dir)
{
	size_t i;

	push_abs(hide, data_dir);
	if (!cf)
		return;
	push_abs(hide, cf->file);
	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *r = &cf->repos[i];

		push_abs(hide, r->ssh_key_file);
		push_abs(hide, r->token_file);
		push_abs(hide, r->webhook_secret_file);
		push_abs(hide, r->forge_token_file);
	}
	for (i = 0; i < cf->nhosts; i++)
		push_abs(hide, cf->hosts[i].key_file);
	/* the Docker engine is root on this machine */
	push_abs(hide, cf->docker_socket ? cf->docker_socket
					  : "/var/run/docker.sock");
}

int
runners_configure_local(const struct config *cf, const char *data_dir)
{
	struct strvec hide = STRVEC_INIT;
	int ret;

	hide_list(&hide, cf, data_dir);
	ret = runner_local_configure(cf ? cf->local_user : NULL,
				     (const char *const *)hide.v, hide.n);
	strvec_clear(&hide);
	return ret;
}

void
runners_local_hide(const struct config *cf, const char *data_dir)
{
	struct strvec hide = STRVEC_INIT;

	hide_list(&hide, cf, data_dir);
	runner_local_hide((const char *const *)hide.v, hide.n);
	strvec_clear(&hide);
}
