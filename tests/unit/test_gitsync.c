/*
 * test_gitsync.c - mirrors, revisions and known_hosts on real repositories
 * made with the git command in a temp dir.  No network: sources are local
 * paths and file:// URLs; the one git:// URL points at a closed port.
 *
 * The binary doubles as the fetch helper: run with "__gitsync-fetch" it is
 * the child of mirror_fetch() (gitsync_set_helper(self_exe)).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../gitsync/gitsync.h"

#define DATE "@1700000000 +0000"

struct g {
	char dir[64];
	char origin[128]; /* bare repository the mirror fetches from */
	char work[128];	  /* its work tree, pushing to origin */
	char mirror[128]; /* mirror dir (parents not yet created) */
	struct repo_spec spec;
};

static void run(struct g *g, const char *fmt, ...) PRINTF_LIKE(2, 3);
static char *run_out(struct g *g, const char *fmt, ...) PRINTF_LIKE(2, 3);

/*
 * This binary's path, read once in main: exec'ing "/proc/self/exe" itself
 * would start valgrind's tool instead when the tests run under valgrind
 * (make valgrind), which answers readlink with the real binary.
 */
static char self_exe[4096] = "/proc/self/exe";

/* Run a shell command in the temp dir; fail the test when it fails. */
static void
run(struct g *g, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT, log = BUF_INIT;
	va_list ap;
	int st;

	buf_addf(&cmd, "cd '%s' && { ", g->dir);
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_addf(&cmd, "; } >'%s/cmd.log' 2>&1", g->dir);
	st = system(cmd.ptr);
	if (st != 0) {
		buf_addf(&log, "%s/cmd.log", g->dir);
		buf_read_file(&log, log.ptr, 1 << 20);
		fail_msg("command failed (%d): %s\n%s", st, cmd.ptr, log.ptr);
	}
	buf_release(&cmd);
	buf_release(&log);
}

/* Run a command in the temp dir and return its stdout, trimmed. */
static char *
run_out(struct g *g, const char *fmt, ...)
{
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	char tmp[4096];
	size_t n;
	va_list ap;
	FILE *f;

	buf_addf(&cmd, "cd '%s' && { ", g->dir);
	va_start(ap, fmt);
	buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	buf_puts(&cmd, "; }");
	f = popen(cmd.ptr, "r");
	assert_non_null(f);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&out, tmp, n);
	if (pclose(f) != 0)
		fail_msg("command failed: %s", cmd.ptr);
	while (out.len > 0 && out.ptr[out.len - 1] == '\n')
		out.ptr[--out.len] = '\0';
	buf_release(&cmd);
	return buf_detach(&out, NULL);
}

/* Write a file of the work tree (parents created). */
static void
put(struct g *g, const char *rel, const char *content)
{
	struct buf path = BUF_INIT;
	char *slash;
	FILE *f;

	buf_addf(&path, "%s/%s", g->work, rel);
	slash = strrchr(path.ptr, '/');
	*slash = '\0';
	assert_int_equal(mkdir_p(path.ptr, 0755), 0);
	*slash = '/';
	f = fopen(path.ptr, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	buf_release(&path);
}

/* Commit everything in the work tree, push it; the new commit's id. */
static char *
commit(struct g *g, const char *msg)
{
	run(g,
	    "cd work && git add -A && git commit -q --allow-empty -m '%s' "
	    "&& git push -q origin HEAD:main",
	    msg);
	return run_out(g, "git -C work rev-parse HEAD");
}

static int
setup(void **state)
{
	struct g *g = xcalloc(1, sizeof(*g));

	unit_tmpdir(g->dir, sizeof(g->dir), "scaffold-gitsync");
	snprintf(g->origin, sizeof(g->origin), "%s/origin.git", g->dir);
	snprintf(g->work, sizeof(g->work), "%s/work", g->dir);
	snprintf(g->mirror, sizeof(g->mirror), "%s/data/mirrors/infra", g->dir);
	run(g, "git init -q --bare -b main origin.git && "
	       "git init -q -b main work && "
	       "git -C work remote add origin ../origin.git");
	g->spec.name = "infra";
	g->spec.url = g->origin;
	g->spec.branch = "main";
	*state = g;
	return 0;
}

static int
teardown(void **state)
{
	struct g *g = *state;

	rm_rf(g->dir);
	free(g);
	gitsync_set_helper(NULL);
	return 0;
}

static void
assert_head(struct g *g, const char *branch, const char *want)
{
	char head[GIT_OID_HEX + 1];

	if (mirror_branch_head(g->mirror, branch, head) < 0)
		fail_msg("mirror_branch_head: %s", err_msg());
	assert_string_equal(head, want);
}

static void
fetch_ok(struct g *g)
{
	if (mirror_fetch_inproc(g->mirror, &g->spec) < 0)
		fail_msg("mirror_fetch_inproc: %s", err_msg());
}

/* ---- fetching ---------------------------------------------------------- */

static void
test_first_fetch_clones(void **state)
{
	struct g *g = *state;
	char *c1, *s;

	put(g, ".scaffold/deploy.yaml", "version: v1\n");
	c1 = commit(g, "first");
	fetch_ok(g);
	assert_head(g, "main", c1);
	/* a bare repository with origin and the mirror refspec */
	s = run_out(g, "git --git-dir=data/mirrors/infra config --get "
		       "core.bare");
	assert_string_equal(s, "true");
	free(s);
	s = run_out(g, "git --git-dir=data/mirrors/infra config --get-all "
		       "remote.origin.fetch");
	assert_string_equal(s, "+refs/heads/*:refs/heads/*");
	free(s);
	s = run_out(g, "git --git-dir=data/mirrors/infra config --get "
		       "remote.origin.url");
	assert_string_equal(s, g->origin);
	free(s);
	s = run_out(g, "git --git-dir=data/mirrors/infra symbolic-ref HEAD");
	assert_string_equal(s, "refs/heads/main");
	free(s);
	/* no tags, no remote-tracking refs: heads only */
	s = run_out(g, "git --git-dir=data/mirrors/infra for-each-ref "
		       "--format='%%(refname)'");
	assert_string_equal(s, "refs/heads/main");
	free(s);
	/* fetching again changes nothing */
	fetch_ok(g);
	assert_head(g, "main", c1);
	free(c1);
}

static void
test_new_commit_fetched(void **state)
{
	struct g *g = *state;
	char *c1, *c2;

	put(g, ".scaffold/a.yaml", "one\n");
	c1 = commit(g, "one");
	fetch_ok(g);
	assert_head(g, "main", c1);
	put(g, ".scaffold/a.yaml", "two\n");
	c2 = commit(g, "two");
	fetch_ok(g);
	assert_head(g, "main", c2);
	assert_int_equal(mirror_is_ancestor(g->mirror, c1, c2), 1);
	free(c1);
	free(c2);
}

static void
test_force_push_mirrored(void **state)
{
	struct g *g = *state;
	char *a, *b, *c, *d;

	put(g, "f", "a\n");
	a = commit(g, "a");
	put(g, "f", "b\n");
	b = commit(g, "b");
	put(g, "f", "c\n");
	c = commit(g, "c");
	fetch_ok(g);
	assert_head(g, "main", c);

	/* back to an older commit: not a fast-forward, mirrored exactly */
	run(g, "cd work && git reset -q --hard HEAD~2 && "
	       "git push -q -f origin HEAD:main");
	fetch_ok(g);
	assert_head(g, "main", a);

	/* a history that diverges from what the mirror had */
	put(g, "f", "d\n");
	d = commit(g, "d");
	fetch_ok(g);
	assert_head(g, "main", d);
	assert_int_equal(mirror_is_ancestor(g->mirror, c, d), 0);
	assert_int_equal(mirror_is_ancestor(g->mirror, a, d), 1);

	/* rewriting the source branch directly, without a push */
	run(g, "git --git-dir=origin.git update-ref refs/heads/main %s", b);
	fetch_ok(g);
	assert_head(g, "main", b);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void
test_deleted_branch(void **state)
{
	struct g *g = *state;
	struct buf want = BUF_INIT;
	char head[GIT_OID_HEX + 1], *c1;

	c1 = commit(g, "one");
	run(g, "cd work && git push -q origin HEAD:feature HEAD:other");
	fetch_ok(g);
	assert_head(g, "feature", c1);
	assert_head(g, "other", c1);

	run(g, "cd work && git push -q origin :feature");
	fetch_ok(g);
	assert_int_equal(mirror_branch_head(g->mirror, "feature", head),
			 ERR_NOTFOUND);
	buf_addf(&want, "branch 'feature' not found in mirror '%s'", g->mirror);
	assert_string_equal(err_msg(), want.ptr);
	assert_head(g, "other", c1);
	assert_head(g, "main", c1);

	/* the configured branch itself may disappear too */
	run(g, "git --git-dir=origin.git update-ref -d refs/heads/main");
	fetch_ok(g);
	assert_int_equal(mirror_branch_head(g->mirror, "main", head),
			 ERR_NOTFOUND);
	assert_head(g, "other", c1);
	buf_release(&want);
	free(c1);
}

static void
test_url_forms(void **state)
{
	struct g *g = *state;
	struct buf url = BUF_INIT;
	char *c1, *c2, *s;

	c1 = commit(g, "one");
	/* file:// */
	buf_addf(&url, "file://%s", g->origin);
	g->spec.url = url.ptr;
	fetch_ok(g);
	assert_head(g, "main", c1);
	/* a plain path into the same mirror: origin's URL follows */
	c2 = commit(g, "two");
	g->spec.url = g->origin;
	fetch_ok(g);
	assert_head(g, "main", c2);
	s = run_out(g, "git --git-dir=data/mirrors/infra config --get "
		       "remote.origin.url");
	assert_string_equal(s, g->origin);
	free(s);
	/* a non-bare repository works as a source too */
	g->spec.url = g->work;
	snprintf(g->mirror, sizeof(g->mirror), "%s/m2", g->dir);
	fetch_ok(g);
	assert_head(g, "main", c2);
	buf_release(&url);
	free(c1);
	free(c2);
}

static void
test_unreachable_git_url(void **state)
{
	struct g *g = *state;

	g->spec.url = "git://127.0.0.1:1/x";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_GENERIC);
	assert_string_equal(
	    err_msg(), "repo 'infra': cannot fetch 'git://127.0.0.1:1/x': "
		       "failed to connect to 127.0.0.1: Connection refused");
}

static void
test_bad_specs(void **state)
{
	struct g *g = *state;
	struct buf want = BUF_INIT;

	g->spec.url = "ssh://git@example.org/infra.git";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	assert_string_equal(err_msg(), "repo 'infra': ssh needs "
				       "credentials.known_hosts_file");
	g->spec.url = "git@example.org:infra.git";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	assert_string_equal(err_msg(), "repo 'infra': ssh needs "
				       "credentials.known_hosts_file");

	g->spec.creds.known_hosts_file = "/nonexistent/known_hosts";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "repo 'infra': cannot read known_hosts "
			    "'/nonexistent/known_hosts': No such file or "
			    "directory");
	g->spec.creds.known_hosts_file = NULL;

	g->spec.url = "ftp://example.org/infra.git";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "repo 'infra': unsupported URL "
			    "'ftp://example.org/infra.git' (use a path, "
			    "file://, git://, https://, ssh:// or "
			    "user@host:path)");

	g->spec.url = "https://example.org/infra.git";
	g->spec.creds.token_file = "/nonexistent/token";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_GENERIC);
	assert_string_equal(err_msg(),
			    "repo 'infra': cannot open '/nonexistent/token': "
			    "No such file or directory");
	g->spec.creds.token_file = NULL;

	g->spec.url = g->origin;
	g->spec.branch = "a..b";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	assert_string_equal(err_msg(), "repo 'infra': invalid branch name "
				       "'a..b'");
	g->spec.branch = "main";

	/* nothing was created for the failures above */
	assert_int_equal(access(g->mirror, F_OK), -1);

	buf_addf(&want, "%s/nonexistent", g->dir);
	g->spec.url = want.ptr;
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_GENERIC);
	buf_reset(&want);
	buf_addf(&want,
		 "repo 'infra': cannot fetch '%s/nonexistent': ", g->dir);
	assert_memory_equal(err_msg(), want.ptr, want.len);
	buf_release(&want);
}

/* A token never shows in a message, even one that echoes the URL. */
static void
test_secrets_not_shown(void **state)
{
	struct g *g = *state;
	struct buf tok = BUF_INIT;
	FILE *f;

	buf_addf(&tok, "%s/token", g->dir);
	f = fopen(tok.ptr, "w");
	assert_non_null(f);
	fputs("  s3cr3t-t0ken\n\n", f);
	fclose(f);
	g->spec.creds.token_file = tok.ptr;
	g->spec.url = "https://user:hunter2@127.0.0.1:1/x.git";
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_GENERIC);
	assert_null(strstr(err_msg(), "s3cr3t"));
	assert_null(strstr(err_msg(), "hunter2"));
	assert_memory_equal(err_msg(),
			    "repo 'infra': cannot fetch "
			    "'https://user@127.0.0.1:1/x.git': ",
			    strlen("repo 'infra': cannot fetch "
				   "'https://user@127.0.0.1:1/x.git': "));
	buf_release(&tok);
}

/*
 * A stub HTTP server on 127.0.0.1 that answers every request with 401 and
 * records the Authorization headers it was sent.
 */
struct stub {
	int fd;
	int port;
	int stop;
	pthread_t thread;
	pthread_mutex_t lock;
	struct strvec auth;
};

static void *
stub_serve(void *arg)
{
	static const char reply[] = "HTTP/1.1 401 Unauthorized\r\n"
				    "WWW-Authenticate: Basic realm=\"x\"\r\n"
				    "Content-Length: 0\r\n"
				    "Connection: close\r\n\r\n";
	struct stub *st = arg;
	struct pollfd pfd;
	struct buf req = BUF_INIT;
	char tmp[4096], *h;
	ssize_t n;
	int c;

	while (!__atomic_load_n(&st->stop, __ATOMIC_SEQ_CST)) {
		pfd.fd = st->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(st->fd, NULL, NULL);
		if (c < 0)
			continue;
		buf_reset(&req);
		while (!strstr(req.ptr, "\r\n\r\n") &&
		       (n = read(c, tmp, sizeof(tmp))) > 0)
			buf_add(&req, tmp, (size_t)n);
		h = strcasestr(req.ptr, "\r\nAuthorization: ");
		pthread_mutex_lock(&st->lock);
		if (h) {
			h += strlen("\r\nAuthorization: ");
			h[strcspn(h, "\r\n")] = '\0';
			strvec_push(&st->auth, h);
		} else {
			strvec_push(&st->auth, "(none)");
		}
		pthread_mutex_unlock(&st->lock);
		if (write(c, reply, sizeof(reply) - 1) < 0)
			c = c; /* the client went away: nothing to do */
		close(c);
	}
	buf_release(&req);
	return NULL;
}

static void
stub_start(struct stub *st)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(st, 0, sizeof(*st));
	strvec_init(&st->auth);
	pthread_mutex_init(&st->lock, NULL);
	st->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(st->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(st->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(st->fd, 8), 0);
	assert_int_equal(getsockname(st->fd, (struct sockaddr *)&sa, &len), 0);
	st->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&st->thread, NULL, stub_serve, st), 0);
}

/* Stop the server; the headers it saw, one per request, "|"-separated. */
static char *
stub_stop(struct stub *st)
{
	struct buf b = BUF_INIT;
	size_t i;

	__atomic_store_n(&st->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(st->thread, NULL);
	close(st->fd);
	for (i = 0; i < st->auth.n; i++)
		buf_addf(&b, "%s%s", i ? "|" : "", st->auth.v[i]);
	strvec_clear(&st->auth);
	pthread_mutex_destroy(&st->lock);
	return buf_detach(&b, NULL);
}

static void
b64(struct buf *out, const char *s)
{
	unsigned char enc[256];
	int n = EVP_EncodeBlock(enc, (const unsigned char *)s, (int)strlen(s));

	buf_add(out, enc, (size_t)n);
}

/*
 * https (here plain http, same code path): the token, trimmed, is the
 * password, given once; a refusal ends the fetch instead of a loop.
 */
static void
test_http_token(void **state)
{
	struct g *g = *state;
	struct buf tok = BUF_INIT, url = BUF_INIT, want = BUF_INIT;
	struct stub st;
	char *seen;
	FILE *f;

	buf_addf(&tok, "%s/token", g->dir);
	f = fopen(tok.ptr, "w");
	assert_non_null(f);
	fputs("  s3cr3t-t0ken\n\n", f);
	fclose(f);

	/* no user in the URL: x-access-token */
	stub_start(&st);
	buf_addf(&url, "http://127.0.0.1:%d/infra.git", st.port);
	g->spec.url = url.ptr;
	g->spec.creds.token_file = tok.ptr;
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_AUTH);
	seen = stub_stop(&st);
	buf_addf(&want, "repo 'infra': authentication failed for %s", url.ptr);
	assert_string_equal(err_msg(), want.ptr);
	buf_reset(&want);
	buf_puts(&want, "(none)|Basic ");
	b64(&want, "x-access-token:s3cr3t-t0ken");
	assert_string_equal(seen, want.ptr);
	free(seen);

	/* the user of the URL, through the child process */
	stub_start(&st);
	buf_reset(&url);
	buf_addf(&url, "http://bob@127.0.0.1:%d/infra.git", st.port);
	g->spec.url = url.ptr;
	gitsync_set_helper(self_exe);
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 30000), ERR_AUTH);
	seen = stub_stop(&st);
	buf_reset(&want);
	buf_addf(&want, "repo 'infra': authentication failed for %s", url.ptr);
	assert_string_equal(err_msg(), want.ptr);
	/* libgit2 tries the URL's user with no password by itself first */
	buf_reset(&want);
	buf_puts(&want, "(none)|Basic ");
	b64(&want, "bob:");
	buf_puts(&want, "|Basic ");
	b64(&want, "bob:s3cr3t-t0ken");
	assert_string_equal(seen, want.ptr);
	free(seen);

	/* no token at all */
	stub_start(&st);
	buf_reset(&url);
	buf_addf(&url, "http://127.0.0.1:%d/infra.git", st.port);
	g->spec.url = url.ptr;
	g->spec.creds.token_file = NULL;
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_AUTH);
	seen = stub_stop(&st);
	buf_reset(&want);
	buf_addf(&want,
		 "repo 'infra': authentication failed for %s: no "
		 "credentials.token_file is set",
		 url.ptr);
	assert_string_equal(err_msg(), want.ptr);
	assert_string_equal(seen, "(none)");
	free(seen);

	/* an empty token file */
	f = fopen(tok.ptr, "w");
	assert_non_null(f);
	fputs(" \n", f);
	fclose(f);
	g->spec.creds.token_file = tok.ptr;
	assert_int_equal(mirror_fetch_inproc(g->mirror, &g->spec), ERR_INVALID);
	buf_reset(&want);
	buf_addf(&want, "repo 'infra': token file '%s' is empty", tok.ptr);
	assert_string_equal(err_msg(), want.ptr);

	buf_release(&tok);
	buf_release(&url);
	buf_release(&want);
}

/* ---- revisions --------------------------------------------------------- */

/* c1: two cascades and things that are not cascades. */
static char *
make_c1(struct g *g)
{
	put(g, ".scaffold/a.yaml", "name: a\n");
	put(g, ".scaffold/b.yml", "name: b\n");
	put(g, ".scaffold/notes.txt", "not a cascade\n");
	put(g, ".scaffold/sub/deep.yaml", "name: deep\n");
	put(g, ".scaffold/yaml", "no extension\n");
	put(g, "top.yaml", "name: top\n");
	put(g, "README", "hello\n");
	run(g, "cd work && ln -s a.yaml .scaffold/link.yaml && "
	       "mkdir .scaffold/dir.yaml && echo x > .scaffold/dir.yaml/f");
	return commit(g, "c1");
}

/* c2: a.yaml changed, b.yml deleted, c.yaml added. */
static char *
make_c2(struct g *g)
{
	put(g, ".scaffold/a.yaml", "name: a\nchanged: true\n");
	put(g, ".scaffold/c.yaml", "name: c\n");
	run(g, "rm work/.scaffold/b.yml");
	return commit(g, "c2");
}

static void
test_read_cascades(void **state)
{
	struct g *g = *state;
	struct cascade_file *v;
	char *c1, *c2, *blob;
	size_t n;

	c1 = make_c1(g);
	c2 = make_c2(g);
	fetch_ok(g);

	assert_int_equal(
	    mirror_read_cascades(g->mirror, c1, ".scaffold", 1 << 20, &v, &n),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].path, ".scaffold/a.yaml");
	assert_string_equal(v[0].data, "name: a\n");
	assert_int_equal(v[0].len, 8);
	blob = run_out(g, "git -C work rev-parse %s:.scaffold/a.yaml", c1);
	assert_string_equal(v[0].blob, blob);
	free(blob);
	assert_string_equal(v[1].path, ".scaffold/b.yml");
	assert_string_equal(v[1].data, "name: b\n");
	cascade_files_free(v, n);

	/* the same at c2, with "./.scaffold/" spelled loosely */
	assert_int_equal(
	    mirror_read_cascades(g->mirror, c2, "./.scaffold/", 0, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].path, ".scaffold/a.yaml");
	assert_string_equal(v[0].data, "name: a\nchanged: true\n");
	assert_string_equal(v[1].path, ".scaffold/c.yaml");
	assert_string_equal(v[1].data, "name: c\n");
	cascade_files_free(v, n);

	/* too large: no data, the length */
	assert_int_equal(
	    mirror_read_cascades(g->mirror, c2, ".scaffold", 10, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_null(v[0].data);
	assert_int_equal(v[0].len, 22);
	assert_string_equal(v[1].data, "name: c\n");
	cascade_files_free(v, n);

	/* only the paths asked for (a pull request's changed files) */
	{
		struct strvec only = STRVEC_INIT;

		strvec_push(&only, ".scaffold/b.yml");
		strvec_push(&only, ".scaffold/c.yaml");
		assert_int_equal(mirror_read_cascades_only(g->mirror, c2,
							   ".scaffold", 1 << 20,
							   &only, &v, &n),
				 0);
		assert_int_equal(n, 1);
		assert_string_equal(v[0].path, ".scaffold/c.yaml");
		assert_string_equal(v[0].data, "name: c\n");
		cascade_files_free(v, n);
		strvec_clear(&only);
	}

	/* the top of the tree */
	assert_int_equal(mirror_read_cascades(g->mirror, c2, "", 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].path, "top.yaml");
	cascade_files_free(v, n);

	/* absent dir, or a file where the dir should be: none */
	assert_int_equal(
	    mirror_read_cascades(g->mirror, c2, ".nothing", 0, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(
	    mirror_read_cascades(g->mirror, c2, "README", 0, &v, &n), 0);
	assert_int_equal(n, 0);

	/* unknown and malformed commits */
	assert_int_equal(mirror_read_cascades(g->mirror,
					      "0123456789012345678901234567"
					      "890123456789",
					      ".scaffold", 0, &v, &n),
			 ERR_NOTFOUND);
	assert_memory_equal(err_msg(),
			    "commit '0123456789012345678901234567890123456789' "
			    "not found in mirror '",
			    strlen("commit '0123456789012345678901234567890123"
				   "456789' not found in mirror '"));
	assert_int_equal(
	    mirror_read_cascades(g->mirror, "main", ".scaffold", 0, &v, &n),
	    ERR_INVALID);
	assert_string_equal(err_msg(), "'main' is not a commit id");
	free(c1);
	free(c2);
}

static char *
diff(struct g *g, const char *a, const char *b, const char *dir)
{
	struct strvec sv = STRVEC_INIT;
	struct buf out = BUF_INIT;
	size_t i;

	if (mirror_diff_cascades(g->mirror, a, b, dir, &sv) < 0)
		fail_msg("mirror_diff_cascades: %s", err_msg());
	for (i = 0; i < sv.n; i++)
		buf_addf(&out, "%s%s", i ? " " : "", sv.v[i]);
	strvec_clear(&sv);
	return buf_detach(&out, NULL);
}

#define assert_diff(g, a, b, dir, want)                                        \
	do {                                                                   \
		char *got_ = diff(g, a, b, dir);                               \
		assert_string_equal(got_, want);                               \
		free(got_);                                                    \
	} while (0)

static void
test_diff_cascades(void **state)
{
	struct g *g = *state;
	char *c1, *c2, *c3, *c4, *c5;

	c1 = make_c1(g);
	c2 = make_c2(g);
	/* c3: only changes that are not cascade changes */
	put(g, ".scaffold/notes.txt", "changed\n");
	put(g, ".scaffold/sub/deep.yaml", "name: deep\nchanged: 1\n");
	put(g, ".scaffold/sub/new.yml", "name: new\n");
	put(g, ".scaffold/dir.yaml/f", "y\n");
	put(g, "top.yaml", "name: top\nchanged: 1\n");
	put(g, "other/x.yaml", "name: x\n");
	put(g, "README", "changed\n");
	run(g, "cd work && ln -sfn c.yaml .scaffold/link.yaml && "
	       "chmod +x .scaffold/c.yaml");
	c3 = commit(g, "c3");
	/* c4: a rename */
	run(g, "cd work && git mv .scaffold/a.yaml .scaffold/z.yaml");
	c4 = commit(g, "c4");
	/* c5: the whole directory removed */
	run(g, "cd work && git rm -q -r .scaffold");
	c5 = commit(g, "c5");
	fetch_ok(g);

	assert_diff(g, c1, c2, ".scaffold",
		    ".scaffold/a.yaml .scaffold/b.yml .scaffold/c.yaml");
	assert_diff(g, c2, c1, ".scaffold",
		    ".scaffold/a.yaml .scaffold/b.yml .scaffold/c.yaml");
	assert_diff(g, c2, c3, ".scaffold", "");
	assert_diff(g, c3, c4, ".scaffold",
		    ".scaffold/a.yaml .scaffold/z.yaml");
	assert_diff(g, c4, c5, ".scaffold",
		    ".scaffold/c.yaml .scaffold/z.yaml");
	assert_diff(g, c1, c1, ".scaffold", "");
	/* no old commit: everything is new */
	assert_diff(g, NULL, c2, ".scaffold",
		    ".scaffold/a.yaml .scaffold/c.yaml");
	assert_diff(g, NULL, c5, ".scaffold", "");
	/* another directory, and the top of the tree */
	assert_diff(g, c2, c3, "other", "other/x.yaml");
	assert_diff(g, c2, c3, ".scaffold/sub",
		    ".scaffold/sub/deep.yaml .scaffold/sub/new.yml");
	assert_diff(g, c2, c3, "", "top.yaml");

	free(c1);
	free(c2);
	free(c3);
	free(c4);
	free(c5);
}

static void
test_commit_info(void **state)
{
	struct g *g = *state;
	struct commit_info ci;
	char *c1, abbrev[8];

	run(g, "cd work && git commit -q --allow-empty "
	       "-m 'Add the deploy cascade' -m 'A body that is not the "
	       "subject.' && git push -q origin HEAD:main");
	c1 = run_out(g, "git -C work rev-parse HEAD");
	fetch_ok(g);
	assert_int_equal(mirror_commit_info(g->mirror, c1, &ci), 0);
	assert_string_equal(ci.id, c1);
	assert_string_equal(ci.author, "Ada Lovelace <ada@example.org>");
	assert_string_equal(ci.subject, "Add the deploy cascade");
	assert_int_equal(ci.time, 1700000000);
	commit_info_release(&ci);

	/* an abbreviated id gives the full one */
	snprintf(abbrev, sizeof(abbrev), "%.7s", c1);
	assert_int_equal(mirror_commit_info(g->mirror, abbrev, &ci), 0);
	assert_string_equal(ci.id, c1);
	commit_info_release(&ci);

	assert_int_equal(mirror_commit_info(g->mirror, "xyz", &ci),
			 ERR_INVALID);
	assert_null(ci.author);
	commit_info_release(&ci);
	free(c1);

	/* a mirror that does not exist */
	assert_int_equal(mirror_commit_info("/nonexistent/mirror", "abcd", &ci),
			 ERR_NOTFOUND);
	assert_string_equal(err_msg(),
			    "mirror '/nonexistent/mirror' does not exist");
}

static void
test_is_ancestor(void **state)
{
	struct g *g = *state;
	char *c1, *c2, *c3, *side;

	c1 = commit(g, "one");
	c2 = commit(g, "two");
	c3 = commit(g, "three");
	run(g, "cd work && git checkout -q -b side HEAD~2 && "
	       "git commit -q --allow-empty -m side && "
	       "git push -q origin side");
	side = run_out(g, "git -C work rev-parse HEAD");
	fetch_ok(g);
	assert_int_equal(mirror_is_ancestor(g->mirror, c1, c3), 1);
	assert_int_equal(mirror_is_ancestor(g->mirror, c2, c3), 1);
	assert_int_equal(mirror_is_ancestor(g->mirror, c3, c1), 0);
	assert_int_equal(mirror_is_ancestor(g->mirror, c2, c2), 1);
	assert_int_equal(mirror_is_ancestor(g->mirror, c1, side), 1);
	assert_int_equal(mirror_is_ancestor(g->mirror, c2, side), 0);
	assert_int_equal(mirror_is_ancestor(g->mirror, side, c3), 0);
	assert_int_equal(mirror_is_ancestor(g->mirror, "ffffffff", c3),
			 ERR_NOTFOUND);
	free(c1);
	free(c2);
	free(c3);
	free(side);
}

/* A pull request's head: fetched alone onto refs/pull/N/head (through the
 * child), its merge base with the branch found; the branches untouched. */
static void
test_pull_ref(void **state)
{
	struct g *g = *state;
	char *c1, *c2, *pr, at[GIT_OID_HEX + 1], mb[GIT_OID_HEX + 1];

	gitsync_set_helper(self_exe);
	c1 = commit(g, "one");
	c2 = commit(g, "two");
	fetch_ok(g);
	run(g, "cd work && git checkout -q -b topic HEAD~1 && "
	       "git commit -q --allow-empty -m topic && "
	       "git push -q origin HEAD:refs/pull/12/head");
	pr = run_out(g, "git -C work rev-parse HEAD");
	assert_int_equal(mirror_ref_commit(g->mirror, "refs/pull/12/head", at),
			 ERR_NOTFOUND);
	g->spec.pull_ref = "refs/pull/12/head";
	if (mirror_fetch(g->mirror, &g->spec, 30000) < 0)
		fail_msg("mirror_fetch: %s", err_msg());
	assert_int_equal(mirror_ref_commit(g->mirror, "refs/pull/12/head", at),
			 0);
	assert_string_equal(at, pr);
	assert_head(g, "main", c2);
	assert_int_equal(mirror_merge_base(g->mirror, c2, pr, mb), 0);
	assert_string_equal(mb, c1);
	/* a branch fetch after it prunes nothing of it */
	g->spec.pull_ref = NULL;
	fetch_ok(g);
	assert_int_equal(mirror_ref_commit(g->mirror, "refs/pull/12/head", at),
			 0);
	/* only refs/pull/N/head */
	g->spec.pull_ref = "refs/heads/main";
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 30000), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "repo 'infra': 'refs/heads/main' is not a pull "
			    "request head (refs/pull/N/head, "
			    "refs/merge-requests/N/head)");
	g->spec.pull_ref = NULL;
	assert_int_equal(mirror_pull_ref_ok("refs/pull/1/head"), 1);
	assert_int_equal(mirror_pull_ref_ok("refs/pull/0/head"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/pull/01/head"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/pull/1/merge"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/pull//head"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/pull/1/head/x"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/pull/1234567890/head"), 0);
	assert_int_equal(mirror_pull_ref_ok("refs/merge-requests/5/head"), 1);
	assert_int_equal(mirror_pull_ref_ok("refs/merge-requests/5/merge"),
			 0);
	free(c1);
	free(c2);
	free(pr);
}

/* ---- the child process ------------------------------------------------- */

static void
test_child_fetch(void **state)
{
	struct g *g = *state;
	char *c1, *c2;

	gitsync_set_helper(self_exe);
	c1 = commit(g, "one");
	if (mirror_fetch(g->mirror, &g->spec, 30000) < 0)
		fail_msg("mirror_fetch: %s", err_msg());
	assert_head(g, "main", c1);
	run(g, "cd work && git reset -q --hard HEAD && "
	       "git commit -q --allow-empty --amend -m amended && "
	       "git push -q -f origin HEAD:main");
	c2 = run_out(g, "git -C work rev-parse HEAD");
	if (mirror_fetch(g->mirror, &g->spec, 30000) < 0)
		fail_msg("mirror_fetch: %s", err_msg());
	assert_head(g, "main", c2);
	assert_int_equal(mirror_is_ancestor(g->mirror, c1, c2), 0);

	/* errors come back with their code and message */
	g->spec.url = "git://127.0.0.1:1/x";
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 30000), ERR_GENERIC);
	assert_string_equal(
	    err_msg(), "repo 'infra': cannot fetch 'git://127.0.0.1:1/x': "
		       "failed to connect to 127.0.0.1: Connection refused");
	g->spec.url = "git@example.org:x.git";
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 30000), ERR_INVALID);
	assert_string_equal(err_msg(), "repo 'infra': ssh needs "
				       "credentials.known_hosts_file");
	free(c1);
	free(c2);
}

/* Is pid gone (or a zombie no one has reaped yet)? */
static int
gone(pid_t pid)
{
	char path[64], st[256], *p;
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	ret = fgets(st, sizeof(st), f) && (p = strrchr(st, ')')) &&
	      p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	fclose(f);
	return ret;
}

static void
test_child_timeout(void **state)
{
	struct g *g = *state;
	struct timespec t0, t1;
	char *pid;
	int i;

	struct buf h = BUF_INIT;

	run(g,
	    "printf '#!/bin/sh\\nsleep 30 &\\necho $! > %s/sleep.pid\\n"
	    "wait\\n' > hang.sh && chmod +x hang.sh",
	    g->dir);
	buf_addf(&h, "%s/hang.sh", g->dir);
	gitsync_set_helper(h.ptr);
	buf_release(&h);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 500), ERR_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(err_msg(), "repo 'infra': fetch timed out after "
				       "500ms");
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	/* the whole group went: the script and what it started */
	pid = run_out(g, "cat sleep.pid");
	for (i = 0; i < 100 && !gone((pid_t)atoi(pid)); i++)
		usleep(10000);
	assert_true(gone((pid_t)atoi(pid)));
	free(pid);
}

static void
test_child_errors(void **state)
{
	struct g *g = *state;
	struct buf h = BUF_INIT;

	gitsync_set_helper("/nonexistent/helper");
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 5000), ERR_GENERIC);
	/*
	 * Under valgrind (make valgrind sets SCAFFOLD_VALGRIND) posix_spawn
	 * cannot report a failed exec: its clone(CLONE_VFORK) runs as a
	 * fork, and the child exits 127 instead.
	 */
	if (getenv("SCAFFOLD_VALGRIND"))
		assert_string_equal(err_msg(),
				    "repo 'infra': the fetch helper "
				    "'/nonexistent/helper' failed with exit "
				    "status 127");
	else
		assert_string_equal(err_msg(),
				    "repo 'infra': cannot start the fetch "
				    "helper '/nonexistent/helper': No such "
				    "file or directory");

	/* a helper that is not one */
	run(g, "printf '#!/bin/sh\\necho oops >&2\\nexit 3\\n' > bad.sh && "
	       "chmod +x bad.sh");
	buf_addf(&h, "%s/bad.sh", g->dir);
	gitsync_set_helper(h.ptr);
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 5000), ERR_GENERIC);
	buf_reset(&h);
	buf_addf(&h,
		 "repo 'infra': the fetch helper '%s/bad.sh' failed with "
		 "exit status 3: oops",
		 g->dir);
	assert_string_equal(err_msg(), h.ptr);

	/* a helper killed by a signal */
	run(g, "printf '#!/bin/sh\\nkill -9 $$\\n' > killed.sh && "
	       "chmod +x killed.sh");
	buf_reset(&h);
	buf_addf(&h, "%s/killed.sh", g->dir);
	gitsync_set_helper(h.ptr);
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 5000), ERR_GENERIC);
	buf_reset(&h);
	buf_addf(&h,
		 "repo 'infra': the fetch helper '%s/killed.sh' was "
		 "killed by signal 9",
		 g->dir);
	assert_string_equal(err_msg(), h.ptr);
	buf_release(&h);
}

/* The child (this binary, GITSYNC_TEST_FDS set) lists its open fds. */
static int
report_fds(void)
{
	struct buf b = BUF_INIT;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return 1;
	buf_puts(&b, "repo 'fds':");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			buf_addf(&b, " %s", e->d_name);
	closedir(d);
	fprintf(stderr, "%s\n", b.ptr);
	buf_release(&b);
	return 1;
}

static void
test_child_no_fd_leak(void **state)
{
	struct g *g = *state;
	int leaky = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */

	assert_true(leaky > 2);
	gitsync_set_helper(self_exe);
	setenv("GITSYNC_TEST_FDS", "1", 1);
	assert_int_equal(mirror_fetch(g->mirror, &g->spec, 5000), ERR_GENERIC);
	unsetenv("GITSYNC_TEST_FDS");
	close(leaky);
	assert_string_equal(err_msg(), "repo 'fds': 0 1 2");
}

struct par {
	struct g *g;
	struct repo_spec spec;
	char mirror[160];
	int ret;
	char err[256];
};

static void *
par_fetch(void *arg)
{
	struct par *p = arg;

	p->ret = mirror_fetch(p->mirror, &p->spec, 60000);
	snprintf(p->err, sizeof(p->err), "%s", p->ret ? err_msg() : "");
	return NULL;
}

static void
test_child_parallel(void **state)
{
	struct g *g = *state;
	struct par p[6];
	pthread_t t[6];
	char *c1;
	size_t i;

	c1 = commit(g, "one");
	gitsync_set_helper(self_exe);
	for (i = 0; i < ARRAY_SIZE(p); i++) {
		p[i].g = g;
		p[i].spec = g->spec;
		/* pairs share a mirror: their fetches are serialised */
		snprintf(p[i].mirror, sizeof(p[i].mirror), "%s/par/m%zu",
			 g->dir, i / 2);
		assert_int_equal(pthread_create(&t[i], NULL, par_fetch, &p[i]),
				 0);
	}
	for (i = 0; i < ARRAY_SIZE(p); i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (p[i].ret != 0)
			fail_msg("fetch %zu: %s", i, p[i].err);
	}
	for (i = 0; i < ARRAY_SIZE(p); i += 2) {
		snprintf(g->mirror, sizeof(g->mirror), "%s", p[i].mirror);
		assert_head(g, "main", c1);
	}
	free(c1);
}

/* ---- known_hosts ------------------------------------------------------- */

/* The key blob of an OpenSSH .pub file. */
static void
pub_blob(struct g *g, const char *file, struct buf *out)
{
	char *line = run_out(g, "cat %s", file), *b64, *end;
	unsigned char *raw;
	size_t len;
	int n, pad = 0;

	b64 = strchr(line, ' ');
	assert_non_null(b64);
	b64++;
	end = strchr(b64, ' ');
	if (end)
		*end = '\0';
	len = strlen(b64);
	while (len > 0 && b64[len - 1 - (size_t)pad] == '=')
		pad++;
	raw = xmalloc(len);
	n = EVP_DecodeBlock(raw, (unsigned char *)b64, (int)len);
	assert_true(n > pad);
	buf_add(out, raw, (size_t)(n - pad));
	free(raw);
	free(line);
}

static enum known_hosts_result
kh(const char *file, const char *host, int port, const struct buf *key)
{
	enum known_hosts_result r;

	if (known_hosts_check(&r, file, host, port, key->ptr, key->len) < 0)
		fail_msg("known_hosts_check: %s", err_msg());
	return r;
}

static void
test_known_hosts(void **state)
{
	struct g *g = *state;
	struct buf ed = BUF_INIT, ed2 = BUF_INIT, rsa = BUF_INIT,
		   ecdsa = BUF_INIT, file = BUF_INIT;
	char fp[SSH_FINGERPRINT_LEN], *want, *s;
	enum known_hosts_result r;

	run(g, "ssh-keygen -q -t ed25519 -N '' -C k1 -f ed && "
	       "ssh-keygen -q -t ed25519 -N '' -C k2 -f ed2 && "
	       "ssh-keygen -q -t rsa -b 2048 -N '' -C k3 -f rsa && "
	       "ssh-keygen -q -t ecdsa -N '' -C k4 -f ecdsa");
	pub_blob(g, "ed.pub", &ed);
	pub_blob(g, "ed2.pub", &ed2);
	pub_blob(g, "rsa.pub", &rsa);
	pub_blob(g, "ecdsa.pub", &ecdsa);

	/* fingerprints as ssh-keygen -l prints them */
	ssh_fingerprint(fp, ed.ptr, ed.len);
	want = run_out(g, "ssh-keygen -l -E sha256 -f ed.pub | cut -d' ' -f2");
	assert_string_equal(fp, want);
	free(want);
	ssh_fingerprint(fp, rsa.ptr, rsa.len);
	want = run_out(g, "ssh-keygen -l -E sha256 -f rsa.pub | cut -d' ' -f2");
	assert_string_equal(fp, want);
	free(want);

	/* hashed entries made by ssh-keygen -H */
	run(g, "{ echo \"host4 $(cut -d' ' -f1,2 ed.pub)\"; "
	       "echo \"[host5]:2200 $(cut -d' ' -f1,2 ecdsa.pub)\"; "
	       "} > hashed && ssh-keygen -q -H -f hashed && "
	       "! grep -q host hashed");
	run(g, "{ echo '# a comment'; echo; "
	       "echo \"host1 $(cut -d' ' -f1,2 ed.pub)\"; "
	       "echo \"[host2]:2222 $(cut -d' ' -f1,2 rsa.pub) k3\"; "
	       "printf 'host3,10.0.0.3\\t%%s\\r\\n' \"$(cut -d' ' -f1,2 "
	       "ecdsa.pub)\"; "
	       "cat hashed; "
	       "echo \"!bad.wild.example,*.wild.example $(cut -d' ' -f1,2 "
	       "ed2.pub)\"; "
	       "echo \"host?.multi.example $(cut -d' ' -f1,2 ed.pub)\"; "
	       "echo \"host6 $(cut -d' ' -f1,2 ed.pub)\"; "
	       "echo \"host6 $(cut -d' ' -f1,2 rsa.pub)\"; "
	       "echo \"@revoked * $(cut -d' ' -f1,2 ed2.pub)\"; "
	       "echo \"@cert-authority *.ca.example $(cut -d' ' -f1,2 "
	       "ed.pub)\"; "
	       "echo 'broken ssh-ed25519 !!!notbase64'; "
	       "echo 'onlyhost'; "
	       "} > known_hosts");
	buf_addf(&file, "%s/known_hosts", g->dir);

	/* plain names, port 22 (or unset) */
	assert_int_equal(kh(file.ptr, "host1", 22, &ed), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host1", 0, &ed), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "HOST1", 22, &ed), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host1", 22, &rsa), KNOWN_HOSTS_MISMATCH);
	assert_int_equal(kh(file.ptr, "host1", 2222, &ed), KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host", 22, &ed), KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "nowhere", 22, &ed), KNOWN_HOSTS_UNKNOWN);
	/* [host]:port */
	assert_int_equal(kh(file.ptr, "host2", 2222, &rsa), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host2", 22, &rsa), KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host2", 2223, &rsa),
			 KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host2", 2222, &ed),
			 KNOWN_HOSTS_MISMATCH);
	/* lists, tabs and CRLF */
	assert_int_equal(kh(file.ptr, "10.0.0.3", 22, &ecdsa), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host3", 22, &ecdsa), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host3", 22, &ed), KNOWN_HOSTS_MISMATCH);
	/* hashed */
	assert_int_equal(kh(file.ptr, "host4", 22, &ed), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host4", 22, &rsa), KNOWN_HOSTS_MISMATCH);
	assert_int_equal(kh(file.ptr, "host4", 2200, &ed), KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host5", 2200, &ecdsa), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host5", 22, &ecdsa),
			 KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host5", 2200, &ed2),
			 KNOWN_HOSTS_REVOKED);
	/* wildcards and negation */
	assert_int_equal(kh(file.ptr, "a.wild.example", 22, &ed2),
			 KNOWN_HOSTS_REVOKED);
	assert_int_equal(kh(file.ptr, "a.wild.example", 22, &ed),
			 KNOWN_HOSTS_MISMATCH);
	assert_int_equal(kh(file.ptr, "bad.wild.example", 22, &ed),
			 KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "host7.multi.example", 22, &ed),
			 KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host77.multi.example", 22, &ed),
			 KNOWN_HOSTS_UNKNOWN);
	/* several keys for one host: any of them */
	assert_int_equal(kh(file.ptr, "host6", 22, &ed), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host6", 22, &rsa), KNOWN_HOSTS_OK);
	assert_int_equal(kh(file.ptr, "host6", 22, &ecdsa),
			 KNOWN_HOSTS_MISMATCH);
	/* a CA line makes no host known; broken lines name nothing */
	assert_int_equal(kh(file.ptr, "x.ca.example", 22, &ed),
			 KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "broken", 22, &ed), KNOWN_HOSTS_UNKNOWN);
	assert_int_equal(kh(file.ptr, "onlyhost", 22, &ed),
			 KNOWN_HOSTS_UNKNOWN);

	/* the lines for one host, plainly, for libssh2's key preference */
	{
		struct buf x = BUF_INIT;
		char *w;

		assert_int_equal(known_hosts_extract(&x, file.ptr, "host6", 22),
				 0);
		assert_int_equal(
		    known_hosts_extract(&x, file.ptr, "host5", 2200), 0);
		assert_int_equal(
		    known_hosts_extract(&x, file.ptr, "nowhere", 22), 0);
		w = run_out(g, "echo \"host6 $(cut -d' ' -f1,2 ed.pub)\"; "
			       "echo \"host6 $(cut -d' ' -f1,2 rsa.pub)\"; "
			       "echo \"[host5]:2200 $(cut -d' ' -f1,2 "
			       "ecdsa.pub)\"");
		assert_true(x.len > 0 && x.ptr[x.len - 1] == '\n');
		x.ptr[--x.len] = '\0'; /* run_out() trims the last one */
		assert_string_equal(x.ptr, w);
		free(w);
		buf_release(&x);
	}

	/* names as known_hosts writes them */
	s = known_hosts_name("h", 22);
	assert_string_equal(s, "h");
	free(s);
	s = known_hosts_name("127.0.0.1", 2222);
	assert_string_equal(s, "[127.0.0.1]:2222");
	free(s);

	assert_int_equal(
	    known_hosts_check(&r, "/nonexistent/kh", "h", 22, ed.ptr, ed.len),
	    -1);
	assert_string_equal(err_msg(), "cannot open '/nonexistent/kh': No "
				       "such file or directory");

	buf_release(&ed);
	buf_release(&ed2);
	buf_release(&rsa);
	buf_release(&ecdsa);
	buf_release(&file);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	    T(test_first_fetch_clones),	 T(test_new_commit_fetched),
	    T(test_force_push_mirrored), T(test_deleted_branch),
	    T(test_url_forms),		 T(test_unreachable_git_url),
	    T(test_bad_specs),		 T(test_secrets_not_shown),
	    T(test_http_token),		 T(test_read_cascades),
	    T(test_diff_cascades),	 T(test_commit_info),
	    T(test_is_ancestor),	 T(test_child_fetch),
	    T(test_child_timeout),	 T(test_child_errors),
	    T(test_child_no_fd_leak),	 T(test_child_parallel),
	    T(test_known_hosts),	 T(test_pull_ref),
#undef T
	};
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], GITSYNC_FETCH_CMD)) {
		if (getenv("GITSYNC_TEST_FDS"))
			return report_fds();
		return gitsync_fetch_child_main(argc, argv);
	}
	setenv("GIT_AUTHOR_NAME", "Ada Lovelace", 1);
	setenv("GIT_AUTHOR_EMAIL", "ada@example.org", 1);
	setenv("GIT_COMMITTER_NAME", "Ada Lovelace", 1);
	setenv("GIT_COMMITTER_EMAIL", "ada@example.org", 1);
	setenv("GIT_AUTHOR_DATE", DATE, 1);
	setenv("GIT_COMMITTER_DATE", DATE, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	signal(SIGPIPE, SIG_IGN);
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n > 0) /* on failure it wrote nothing: "/proc/self/exe" stays */
		self_exe[n] = '\0';
	if (gitsync_init() < 0) {
		fprintf(stderr, "gitsync_init: %s\n", err_msg());
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
