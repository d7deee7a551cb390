/*
 * test_config.c - the daemon's config (config_load): repo url schemes
 * (repo_schemes), the runners a repo allows (runners, local.user) and the
 * store limits, with their exact errors; config_check_runners.
 */
#include <stdio.h>
#include <unistd.h>

#include "unit.h"

static char dir[64];
static char file[128];

static int
setup(void **state)
{
	(void)state;
	unit_tmpdir(dir, sizeof(dir), "scaffold-unit");
	snprintf(file, sizeof(file), "%s/c.yaml", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static void
write_config(const char *yaml)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fputs(yaml, f);
	assert_int_equal(fclose(f), 0);
}

/* A config that must load; the caller frees it. */
static struct config *
config_ok(const char *yaml)
{
	struct diags d = DIAGS_INIT;
	struct config *cf = NULL;

	write_config(yaml);
	if (config_load(&cf, file, &d) != 0) {
		diags_print(stderr, &d);
		fail_msg("the config did not load");
	}
	assert_int_equal(d.n, 0);
	diags_release(&d);
	return cf;
}

/* A config that must not load: its diagnostics, the directory as "D". */
static char *
config_errors(const char *yaml)
{
	struct diags d = DIAGS_INIT;
	struct config *cf = NULL;
	struct buf b = BUF_INIT;
	char *text = NULL, *p;
	size_t len = 0;
	FILE *f;

	write_config(yaml);
	assert_int_equal(config_load(&cf, file, &d), ERR_INVALID);
	assert_null(cf);
	diags_sort(&d);
	f = open_memstream(&text, &len);
	assert_non_null(f);
	diags_print(f, &d);
	fclose(f);
	diags_release(&d);
	for (p = text; *p;) {
		if (!strncmp(p, dir, strlen(dir))) {
			buf_puts(&b, "D");
			p += strlen(dir);
		} else {
			buf_add(&b, p++, 1);
		}
	}
	free(text);
	return buf_detach(&b, NULL);
}

#define assert_config_errors(yaml, want)            \
	do {                                        \
		char *got_ = config_errors(yaml);   \
		assert_string_equal(got_, want);    \
		free(got_);                         \
	} while (0)

/* The default: https, ssh (also scp-like), git, file (also a path). */
static void
test_default_schemes(void **state)
{
	struct config *cf;
	struct buf want = BUF_INIT;

	(void)state;
	cf = config_ok("data_dir: data\n"
		       "repos:\n"
		       "  - {name: a, url: 'https://h.example/acme/a.git'}\n"
		       "  - {name: b, url: 'ssh://git@h.example:22/acme/b'}\n"
		       "  - {name: c, url: 'git@h.example:acme/c.git'}\n"
		       "  - {name: d, url: 'h.example:acme/d.git'}\n"
		       "  - {name: e, url: 'git://h.example/acme/e.git'}\n"
		       "  - {name: f, url: 'file:///srv/git/f.git'}\n"
		       "  - {name: g, url: /srv/git/g.git}\n"
		       "  - {name: h, url: repos/h.git}\n"
		       "  - {name: i, url: 'GIT+SSH://h.example/acme/i'}\n"
		       "  - {name: j, url: 'HTTPS://h.example/acme/j'}\n"
		       "  - {name: k, url: 'repos/user@k.git'}\n");
	assert_int_equal(cf->nrepos, 11);
	assert_string_equal(cf->repos[2].url, "git@h.example:acme/c.git");
	assert_string_equal(cf->repos[3].url, "h.example:acme/d.git");
	assert_string_equal(cf->repos[3].project, "acme/d");
	assert_string_equal(cf->repos[6].url, "/srv/git/g.git");
	/* a relative path is relative to the config's directory */
	buf_addf(&want, "%s/repos/h.git", dir);
	assert_string_equal(cf->repos[7].url, want.ptr);
	buf_reset(&want);
	buf_addf(&want, "%s/repos/user@k.git", dir);
	assert_string_equal(cf->repos[10].url, want.ptr);
	buf_release(&want);
	config_free(cf);
}

/* Plain http and every unknown scheme are refused at load, by repo. */
static void
test_refused_schemes(void **state)
{
	(void)state;
	assert_config_errors(
		"data_dir: data\n"
		"repos:\n"
		"  - name: infra\n"
		"    url: http://git.example.com/acme/infra.git\n"
		"  - name: up\n"
		"    url: HTTP://git.example.com/acme/up.git\n"
		"  - name: ftp\n"
		"    url: ftp://example.org/x.git\n"
		"  - name: ext\n"
		"    url: \"ext::sh -c touch% /tmp/pwned\"\n"
		"  - name: fd\n"
		"    url: fd::17\n"
		"  - name: odd\n"
		"    url: /srv/a://b\n"
		"  - name: ok\n"
		"    url: https://git.example.com/acme/ok.git\n",
		"D/c.yaml:4:10: error: repo 'infra': url scheme 'http' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n"
		"D/c.yaml:6:10: error: repo 'up': url scheme 'http' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n"
		"D/c.yaml:8:10: error: repo 'ftp': url scheme 'ftp' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n"
		"D/c.yaml:10:10: error: repo 'ext': url scheme 'ext::' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n"
		"D/c.yaml:12:10: error: repo 'fd': url scheme 'fd::' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n"
		"D/c.yaml:14:10: error: repo 'odd': url scheme '/srv/a' is not "
		"allowed (repo_schemes: https, ssh, git, file)\n");
}

/* repo_schemes replaces the default: http only when listed */
static void
test_listed_schemes(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\n"
		       "repo_schemes: [http, https]\n"
		       "repos:\n"
		       "  - {name: a, url: 'http://h.example/acme/a.git'}\n"
		       "  - {name: b, url: 'https://h.example/acme/b.git'}\n");
	assert_string_equal(cf->repos[0].url, "http://h.example/acme/a.git");
	config_free(cf);

	assert_config_errors(
		"data_dir: data\n"
		"repo_schemes:\n"
		"  - https\n"
		"repos:\n"
		"  - {name: g, url: 'git://h.example/g.git'}\n"
		"  - {name: s, url: 'git@h.example:s.git'}\n"
		"  - {name: p, url: /srv/p.git}\n"
		"  - {name: f, url: 'file:///srv/f.git'}\n",
		"D/c.yaml:5:20: error: repo 'g': url scheme 'git' is not allowed "
		"(repo_schemes: https)\n"
		"D/c.yaml:6:20: error: repo 's': url scheme 'ssh' is not allowed "
		"(repo_schemes: https)\n"
		"D/c.yaml:7:20: error: repo 'p': url scheme 'file' is not "
		"allowed (repo_schemes: https)\n"
		"D/c.yaml:8:20: error: repo 'f': url scheme 'file' is not "
		"allowed (repo_schemes: https)\n");
}

static void
test_bad_repo_schemes(void **state)
{
	(void)state;
	assert_config_errors("data_dir: data\nrepo_schemes: https\n",
			     "D/c.yaml:2:15: error: 'repo_schemes' must be a "
			     "list of https, ssh, git, file or http, not "
			     "'https'\n");
	assert_config_errors("data_dir: data\nrepo_schemes: []\n",
			     "D/c.yaml:2:15: error: 'repo_schemes' must be a "
			     "list of https, ssh, git, file or http, not an "
			     "empty list\n");
	assert_config_errors("data_dir: data\nrepo_schemes: {a: 1}\n",
			     "D/c.yaml:2:15: error: 'repo_schemes' must be a "
			     "list of https, ssh, git, file or http, not a "
			     "mapping\n");
	assert_config_errors("data_dir: data\n"
			     "repo_schemes: [https, ftp, HTTPS, [x]]\n",
			     "D/c.yaml:2:23: error: unknown scheme 'ftp' in "
			     "'repo_schemes': use https, ssh, git, file or "
			     "http\n"
			     "D/c.yaml:2:28: error: unknown scheme 'HTTPS' in "
			     "'repo_schemes': use https, ssh, git, file or "
			     "http\n"
			     "D/c.yaml:2:35: error: unknown scheme a list in "
			     "'repo_schemes': use https, ssh, git, file or "
			     "http\n");
	assert_config_errors("data_dir: data\nrepo_scheme: [https]\n",
			     "D/c.yaml:2:1: error: unknown key 'repo_scheme'; "
			     "did you mean 'repo_schemes'?\n");
}

/* runners: default docker and ssh; a list replaces it, as written. */
static void
test_runners(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\n"
		       "local: {user: nobody}\n"
		       "repos:\n"
		       "  - {name: a, url: /srv/a.git}\n"
		       "  - {name: b, url: /srv/b.git, runners: [local]}\n"
		       "  - name: c\n"
		       "    url: /srv/c.git\n"
		       "    runners: [ssh, local, docker, ssh]\n");
	/* swarm is in the default: a container sandbox like docker's,
	 * and nothing until the daemon config names a swarm */
	assert_int_equal(cf->repos[0].runners, (1u << RUNNER_KIND_DOCKER) |
						       (1u << RUNNER_KIND_SSH) |
						       (1u << RUNNER_KIND_SWARM));
	assert_string_equal(cf->repos[0].runners_text, "docker, ssh, swarm");
	assert_int_equal(cf->repos[1].runners, 1u << RUNNER_KIND_LOCAL);
	assert_string_equal(cf->repos[1].runners_text, "local");
	assert_int_equal(cf->repos[2].runners, (1u << RUNNER_KIND_DOCKER) |
						       (1u << RUNNER_KIND_SSH) |
						       (1u << RUNNER_KIND_LOCAL));
	assert_string_equal(cf->repos[2].runners_text, "ssh, local, docker");
	assert_string_equal(cf->local_user, "nobody");
	config_free(cf);
}

static void
test_bad_runners(void **state)
{
	(void)state;
	assert_config_errors(
		"data_dir: data\n"
		"repos:\n"
		"  - {name: a, url: /srv/a.git, runners: docker}\n"
		"  - {name: b, url: /srv/b.git, runners: []}\n"
		"  - name: c\n"
		"    url: /srv/c.git\n"
		"    runners: [lokal, swarn, Docker, [ssh], shell]\n"
		"  - {name: d, url: /srv/d.git, runner: [docker]}\n",
		"D/c.yaml:3:41: error: repo 'a': 'runners' must be a list of "
		"local, docker, ssh or swarm, not 'docker'\n"
		"D/c.yaml:4:41: error: repo 'b': 'runners' must be a list of "
		"local, docker, ssh or swarm, not an empty list\n"
		"D/c.yaml:7:15: error: repo 'c': unknown runner 'lokal' in "
		"'runners'; did you mean 'local'?\n"
		"D/c.yaml:7:22: error: repo 'c': unknown runner 'swarn' in "
		"'runners'; did you mean 'swarm'?\n"
		"D/c.yaml:7:29: error: repo 'c': unknown runner 'Docker' in "
		"'runners'; did you mean 'docker'?\n"
		"D/c.yaml:7:37: error: repo 'c': unknown runner a list in "
		"'runners': use local, docker, ssh or swarm\n"
		"D/c.yaml:7:44: error: repo 'c': unknown runner 'shell' in "
		"'runners': use local, docker, ssh or swarm\n"
		"D/c.yaml:8:32: error: repo 'd': unknown key 'runner'; did "
		"you mean 'runners'?\n");
}

/* forge.plan_comments: off by default, true or false only. */
static void
test_plan_comments(void **state)
{
	struct config *cf;
	struct buf tok = BUF_INIT;
	FILE *f;

	(void)state;
	buf_addf(&tok, "%s/tok", dir);
	f = fopen(tok.ptr, "w");
	assert_non_null(f);
	fputs("t\n", f);
	assert_int_equal(fclose(f), 0);
	cf = config_ok("data_dir: data\n"
		       "repos:\n"
		       "  - name: a\n"
		       "    url: https://h/acme/a.git\n"
		       "    forge: {kind: github, token_file: tok}\n"
		       "  - name: b\n"
		       "    url: https://h/acme/b.git\n"
		       "    forge: {kind: gitea, api_url: http://g/api/v1, "
		       "token_file: tok, plan_comments: true}\n");
	assert_int_equal(cf->repos[0].plan_comments, 0);
	assert_int_equal(cf->repos[1].plan_comments, 1);
	config_free(cf);
	assert_config_errors(
		"data_dir: data\n"
		"repos:\n"
		"  - name: a\n"
		"    url: https://h/acme/a.git\n"
		"    forge: {kind: github, token_file: tok, plan_comments: "
		"maybe}\n",
		"D/c.yaml:5:59: error: repo 'a': 'plan_comments' must be true "
		"or false, not 'maybe'\n");
	buf_release(&tok);
}

/* swarm: the manager by socket or URL, a network, the scheduling
 * deadline (issue 19). */
static void
test_swarm(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\nswarm: {socket: unix:///run/m.sock, "
		       "network: host, pending_timeout: 30s}\n");
	assert_true(cf->swarm_set);
	assert_string_equal(cf->swarm_socket, "/run/m.sock");
	assert_null(cf->swarm_url);
	assert_string_equal(cf->swarm_network, "host");
	assert_int_equal(cf->swarm_pending_timeout_ms, 30000);
	config_free(cf);
	cf = config_ok("data_dir: data\nswarm: {url: 'https://m:2376', ca: "
		       "ca.pem, cert: c.pem, key: k.pem}\n");
	assert_string_equal(cf->swarm_url, "https://m:2376");
	assert_non_null(strstr(cf->swarm_ca, "/ca.pem"));
	assert_int_equal(cf->swarm_pending_timeout_ms, 5 * 60 * 1000);
	config_free(cf);
	cf = config_ok("data_dir: data\n");
	assert_false(cf->swarm_set);
	config_free(cf);
	assert_config_errors(
		"data_dir: data\n"
		"swarm: {socket: /s, url: 'ftp://m', cert: c.pem, net: x,\n"
		"        pending_timeout: 0s}\n",
		"D/c.yaml:2:26: error: 'swarm' takes 'socket' or 'url', not "
		"both\n"
		"D/c.yaml:2:26: error: 'swarm.url' must start with https:// "
		"(or http://), not 'ftp://m'\n"
		"D/c.yaml:2:50: error: unknown key 'net' in 'swarm'; did you "
		"mean 'network'?\n"
		"D/c.yaml:3:26: error: 'swarm.pending_timeout' must be longer "
		"than 0\n");
}

/* local.user: an existing user that is not root. */
static void
test_local_user(void **state)
{
	(void)state;
	assert_config_errors("data_dir: data\n"
			     "local: {user: no-such-user-here}\n",
			     "D/c.yaml:2:15: error: 'local.user' names "
			     "'no-such-user-here', which is not a user on "
			     "this machine\n");
	assert_config_errors("data_dir: data\nlocal: {user: root}\n",
			     "D/c.yaml:2:15: error: 'local.user' names "
			     "'root', whose uid is 0: local tasks must run "
			     "as an unprivileged user (e.g. nobody)\n");
	assert_config_errors("data_dir: data\nlocal: {user: ''}\n",
			     "D/c.yaml:2:15: error: 'local.user' must not "
			     "be empty\n");
	assert_config_errors("data_dir: data\nlocal: nobody\n",
			     "D/c.yaml:2:8: error: 'local' must be a mapping "
			     "with 'user', not a scalar\n");
	assert_config_errors("data_dir: data\nlocal: {usr: nobody}\n",
			     "D/c.yaml:2:9: error: unknown key 'usr' in "
			     "'local'; did you mean 'user'?\n");
}

/*
 * As root, a repo that allows local needs local.user (at the first such
 * repo's 'local'); a named user that is wrong is not also missing.
 */
static void
test_local_user_required(void **state)
{
	static const char yaml[] =
		"data_dir: data\n"
		"repos:\n"
		"  - {name: a, url: /srv/a.git}\n"
		"  - {name: demo, url: /srv/d.git, runners: [docker, local]}\n"
		"  - {name: e, url: /srv/e.git, runners: [local]}\n";
	struct config *cf;

	(void)state;
	if (geteuid() == 0) {
		assert_config_errors(yaml,
				     "D/c.yaml:4:53: error: 'local.user' is "
				     "required: scaffold runs as root and "
				     "repo 'demo' allows the local runner "
				     "(add local: {user: NAME}, an "
				     "unprivileged user for its tasks)\n");
		assert_config_errors("data_dir: data\n"
				     "local: {user: root}\n"
				     "repos:\n"
				     "  - {name: e, url: /srv/e.git, "
				     "runners: [local]}\n",
				     "D/c.yaml:2:15: error: 'local.user' names "
				     "'root', whose uid is 0: local tasks "
				     "must run as an unprivileged user (e.g. "
				     "nobody)\n");
	} else {
		cf = config_ok(yaml);
		assert_null(cf->local_user);
		config_free(cf);
	}
	/* without a repo that allows local, no user is needed */
	cf = config_ok("data_dir: data\n"
		       "repos:\n"
		       "  - {name: a, url: /srv/a.git, runners: [ssh]}\n");
	assert_null(cf->local_user);
	config_free(cf);
}

/* public_status: full | summary (default) | none; booleans refused with
 * the three values named; session_lifetime: 12 h by default. */
static void
test_public_status(void **state)
{
	static const char *const words[] = { "none", "summary", "full" };
	struct buf y = BUF_INIT;
	struct config *cf;
	size_t i;

	(void)state;
	cf = config_ok("data_dir: data\n");
	assert_int_equal(cf->public_status, PUBLIC_SUMMARY);
	assert_int_equal(cf->session_lifetime_ms, 12 * 3600 * 1000);
	config_free(cf);
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		buf_reset(&y);
		buf_addf(&y, "data_dir: data\npublic_status: %s\n", words[i]);
		cf = config_ok(y.ptr);
		assert_int_equal(cf->public_status, (int)i);
		config_free(cf);
	}
	buf_release(&y);
	cf = config_ok("data_dir: data\nsession_lifetime: 30m\n");
	assert_int_equal(cf->session_lifetime_ms, 30 * 60 * 1000);
	config_free(cf);
	assert_config_errors(
		"data_dir: data\npublic_status: true\n",
		"D/c.yaml:2:16: error: 'public_status' is no longer true or "
		"false: use full, summary or none ('true' meant full: logs "
		"and stored files for anyone)\n");
	assert_config_errors(
		"data_dir: data\npublic_status: no\n",
		"D/c.yaml:2:16: error: 'public_status' is no longer true or "
		"false: use full, summary or none ('false' meant none: every "
		"page needs a viewer)\n");
	assert_config_errors(
		"data_dir: data\npublic_status: [full]\n",
		"D/c.yaml:2:16: error: 'public_status' must be full, summary "
		"or none, not a list\n");
	assert_config_errors(
		"data_dir: data\nsession_lifetime: forever\n",
		"D/c.yaml:2:19: error: invalid duration 'forever' for "
		"'session_lifetime' (use a number and a unit: 500ms, 30s, 5m, "
		"1h30m, 2d)\n");
}

/* limits: sizes, 256 MiB and 1 GiB by default. */
static void
test_limits(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\n");
	assert_int_equal(cf->store_file_max, (int64_t)256 << 20);
	assert_int_equal(cf->store_run_max, (int64_t)1 << 30);
	config_free(cf);
	cf = config_ok("data_dir: data\n"
		       "limits: {store_file: 512K, store_run: 3G}\n");
	assert_int_equal(cf->store_file_max, 512 * 1024);
	assert_int_equal(cf->store_run_max, (int64_t)3 << 30);
	config_free(cf);
	cf = config_ok("data_dir: data\nlimits: {store_run: 1000}\n");
	assert_int_equal(cf->store_file_max, (int64_t)256 << 20);
	assert_int_equal(cf->store_run_max, 1000);
	config_free(cf);
	/* the HTTP deadlines: 10 s for a head, 16 KiB a second for a body */
	cf = config_ok("data_dir: data\n");
	assert_int_equal(cf->http_head_timeout_ms, 10000);
	assert_int_equal(cf->http_body_rate, 16 * 1024);
	config_free(cf);
	cf = config_ok("data_dir: data\n"
		       "limits: {header_timeout: 1500ms, body_min_rate: 1M}\n");
	assert_int_equal(cf->http_head_timeout_ms, 1500);
	assert_int_equal(cf->http_body_rate, 1 << 20);
	config_free(cf);
	assert_config_errors(
		"data_dir: data\n"
		"limits: {header_timeout: 0s, body_min_rate: fast}\n",
		"D/c.yaml:2:26: error: 'limits.header_timeout' must be longer "
		"than 0\n"
		"D/c.yaml:2:45: error: 'limits.body_min_rate' must be a size "
		"from 1 byte to 1024T, such as 512K, 256M or 1G, not 'fast'\n");
	assert_config_errors(
		"data_dir: data\n"
		"limits:\n"
		"  store_file: 1.5G\n"
		"  store_run: 0\n"
		"  store: 1G\n",
		"D/c.yaml:3:15: error: 'limits.store_file' must be a size "
		"from 1 byte to 1024T, such as 512K, 256M or 1G, not '1.5G'\n"
		"D/c.yaml:4:14: error: 'limits.store_run' must be a size from "
		"1 byte to 1024T, such as 512K, 256M or 1G, not '0'\n"
		"D/c.yaml:5:3: error: unknown key 'store' in 'limits'; did "
		"you mean 'store_file'?\n");
	assert_config_errors(
		"data_dir: data\n"
		"limits: {store_file: [1G], store_run: 2000T}\n",
		"D/c.yaml:2:22: error: 'limits.store_file' must be a size "
		"from 1 byte to 1024T, such as 512K, 256M or 1G, not a list\n"
		"D/c.yaml:2:39: error: 'limits.store_run' must be a size from "
		"1 byte to 1024T, such as 512K, 256M or 1G, not '2000T'\n");
	assert_config_errors("data_dir: data\nmax_checks_parallel: 0\n",
			     "D/c.yaml:2:22: error: 'max_checks_parallel' "
			     "must be a number from 1 to 256, not '0'\n");
	assert_config_errors("data_dir: data\nlimits: 1G\n",
			     "D/c.yaml:2:9: error: 'limits' must be a mapping "
			     "with 'store_file', 'store_run', 'run_log', "
			     "'header_timeout' and 'body_min_rate', not a "
			     "scalar\n");
	/* the log cap of a run */
	cf = config_ok("data_dir: data\n");
	assert_int_equal(cf->run_log_max, (int64_t)32 << 20);
	config_free(cf);
	cf = config_ok("data_dir: data\nlimits: {run_log: 64K}\n");
	assert_int_equal(cf->run_log_max, 64 * 1024);
	config_free(cf);
	assert_config_errors("data_dir: data\nlimits: {run_log: 0}\n",
			     "D/c.yaml:2:19: error: 'limits.run_log' must be a "
			     "size from 1 byte to 1024T, such as 512K, 256M or "
			     "1G, not '0'\n");
}

/* The messages of config_check_runners, as "LINE:COL: MSG" lines. */
static char *
runner_errors(const struct repo_config *rc, const char *yaml)
{
	struct cascade *c = load_ok(yaml);
	struct diags d = DIAGS_INIT;
	struct buf b = BUF_INIT;
	size_t i;
	int r;

	r = config_check_runners(rc, c, &d);
	assert_int_equal(r, d.nerrors ? ERR_INVALID : 0);
	diags_sort(&d);
	for (i = 0; i < d.n; i++)
		buf_addf(&b, "%s:%d:%d: %s\n", d.v[i].file, d.v[i].pos.line,
			 d.v[i].pos.col, d.v[i].msg);
	diags_release(&d);
	cascade_free(c);
	return buf_detach(&b, NULL);
}

#define assert_runner_errors(rc, yaml, want)          \
	do {                                          \
		char *got_ = runner_errors(rc, yaml); \
		assert_string_equal(got_, want);      \
		free(got_);                           \
	} while (0)

/*
 * A cascade may use only its repo's runners: the error is at the task's
 * 'runner', at the cascade's (once), or at the task for a default.
 */
static void
test_check_runners(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\n"
		       "local: {user: nobody}\n"
		       "repos:\n"
		       "  - {name: infra, url: /srv/a.git}\n"
		       "  - {name: tools, url: /srv/b.git, runners: [local]}\n"
		       "  - name: all\n"
		       "    url: /srv/c.git\n"
		       "    runners: [local, docker, ssh]\n");
	assert_runner_errors(&cf->repos[0],
			     "version: v1\n"
			     "name: deploy\n"
			     "hosts: [web1]\n"
			     "tasks:\n"
			     "  - name: build\n"
			     "    runner: local\n"
			     "    run: make\n"
			     "  - name: test\n"
			     "    run: make test\n"
			     "  - name: ship\n"
			     "    image: alpine\n"
			     "    run: ./ship\n"
			     "  - {name: go, runner: ssh, run: ./go}\n",
			     "t.yaml:6:13: task 'build': runner 'local' is "
			     "not allowed for repo 'infra' (its 'runners' in "
			     "the daemon config: docker, ssh, swarm)\n"
			     "t.yaml:8:5: task 'test': runner 'local' (the "
			     "default for a task without an image) is not "
			     "allowed for repo 'infra' (its 'runners' in the "
			     "daemon config: docker, ssh, swarm)\n");
	assert_runner_errors(&cf->repos[0],
			     "version: v1\n"
			     "name: deploy\n"
			     "runner: local\n"
			     "tasks:\n"
			     "  - {name: a, run: x}\n"
			     "  - {name: b, run: x}\n"
			     "  - {name: c, run: x, image: i, runner: docker}\n",
			     "t.yaml:3:9: runner 'local' is not allowed for "
			     "repo 'infra' (its 'runners' in the daemon "
			     "config: docker, ssh, swarm)\n");
	assert_runner_errors(&cf->repos[1],
			     "version: v1\n"
			     "name: deploy\n"
			     "tasks:\n"
			     "  - {name: a, run: x}\n"
			     "  - {name: b, run: x, image: alpine}\n",
			     "t.yaml:5:5: task 'b': runner 'docker' (the "
			     "default for a task with an image) is not allowed "
			     "for repo 'tools' (its 'runners' in the daemon "
			     "config: local)\n");
	assert_runner_errors(&cf->repos[2],
			     "version: v1\n"
			     "name: deploy\n"
			     "tasks:\n"
			     "  - {name: a, run: x}\n"
			     "  - {name: b, run: x, image: alpine}\n"
			     "  - {name: c, run: x, runner: ssh, hosts: [h]}\n",
			     "");
	config_free(cf);
}

/* max_checks_parallel: 2 unless set, apart from max_parallel. */
static void
test_max_checks_parallel(void **state)
{
	struct config *cf;

	(void)state;
	cf = config_ok("data_dir: data\n");
	assert_int_equal(cf->max_checks_parallel, 2);
	config_free(cf);
	cf = config_ok("data_dir: data\nmax_parallel: 3\n"
		       "max_checks_parallel: 7\n");
	assert_int_equal(cf->max_parallel, 3);
	assert_int_equal(cf->max_checks_parallel, 7);
	config_free(cf);
}

/* A check's hosts must be in the inventory: an error at each one not. */
static void
test_check_hosts(void **state)
{
	struct host_config hosts[2];
	struct config cf;
	struct cascade *c;
	struct diags d = DIAGS_INIT;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	memset(hosts, 0, sizeof(hosts));
	hosts[0].name = "web1";
	hosts[1].name = "web2";
	cf.hosts = hosts;
	cf.nhosts = 2;
	c = load_ok("version: v1\nname: c\nrunner: ssh\nhosts: [web1]\n"
		    "tasks:\n"
		    "  - name: a\n    run: x\n"
		    "    check: {interval: 1s, run: y, hosts: [web2, web9]}\n"
		    "  - {name: b, run: x, check: {interval: 1s, run: y}}\n");
	assert_int_equal(config_check_hosts(&cf, c, &d), ERR_INVALID);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].pos.line, 8);
	assert_int_equal(d.v[0].pos.col, 49);
	assert_string_equal(d.v[0].msg,
			    "task 'a': check host 'web9' is not in the daemon "
			    "config's 'hosts' (web1, web2): its probe could "
			    "not reach it");
	diags_release(&d);
	cf.nhosts = 0;
	assert_int_equal(config_check_hosts(&cf, c, &d), ERR_INVALID);
	assert_int_equal(d.n, 2);
	diags_release(&d);
	cascade_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_schemes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_schemes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_listed_schemes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_repo_schemes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_runners, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_runners, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_comments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_swarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_user, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_local_user_required, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_check_runners, setup,
						teardown),
		cmocka_unit_test(test_check_hosts),
		cmocka_unit_test_setup_teardown(test_max_checks_parallel, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
