/*
 * test_config.c - the daemon's config (config_load): repo url schemes
 * (repo_schemes) and their exact errors.
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
	snprintf(dir, sizeof(dir), "/tmp/scaffold-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
