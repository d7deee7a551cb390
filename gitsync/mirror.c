/*
 * mirror.c - keeping bare mirrors up to date: the fetch (clone on first
 * use, forced refspec, pruning), credentials, the host-key check against
 * the repository's known_hosts, and the child process that runs the fetch
 * under a time limit.
 *
 * A "clone" is done the way git clone --mirror does it: a bare repository
 * is initialised, the remote "origin" is recorded with the mirror refspec,
 * and the same fetch as every later one runs.  An interrupted first clone
 * leaves a repository that the next fetch completes.  Fetches of one
 * mirror are serialised by flock() on its directory.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gitsync-int.h"

extern char **environ;

#define MIRROR_REFSPEC "+refs/heads/*:refs/heads/*"
#define DEFAULT_HELPER "/proc/self/exe"
#define TOKEN_MAX (64 << 10)
#define HELPER_STDERR_MAX (64 << 10)

enum url_kind { URL_LOCAL, URL_GIT, URL_HTTP, URL_SSH, URL_UNSUPPORTED };

/* What one fetch knows; the payload of libgit2's callbacks. */
struct fetch_ctx {
	const struct repo_spec *spec;
	enum url_kind kind;
	char *shown_url;    /* the URL without a password, for messages */
	char *url_password; /* a password inside the URL, kept out of them */
	char *token;	    /* https: the content of token_file */
	char *pubkey;	    /* ssh: KEY.pub when it exists */
	char *ssh_user;	    /* ssh: the user when the URL names none */
	int ssh_port;
	int cred_tries;	 /* credentials handed to libgit2 */
	int auth_failed; /* 1: gave up after a try; 2: had nothing to give */
	int cert_ret;	 /* the host key was refused: the ERR_* code */
	struct buf cert_msg;
};

static int
nonempty(const char *s)
{
	return s && *s;
}

static int
has_prefix_ci(const char *s, const char *prefix)
{
	return !strncasecmp(s, prefix, strlen(prefix));
}

/* Which transport libgit2 will pick for url. */
static enum url_kind
url_kind(const char *url)
{
	const char *colon, *slash;

	if (has_prefix_ci(url, "ssh://") || has_prefix_ci(url, "ssh+git://") ||
	    has_prefix_ci(url, "git+ssh://"))
		return URL_SSH;
	if (has_prefix_ci(url, "https://") || has_prefix_ci(url, "http://"))
		return URL_HTTP;
	if (has_prefix_ci(url, "git://"))
		return URL_GIT;
	if (has_prefix_ci(url, "file://"))
		return URL_LOCAL;
	if (strstr(url, "://"))
		return URL_UNSUPPORTED;
	/* scp-style [user@]host:path: a colon before any slash */
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && colon != url && (!slash || colon < slash))
		return URL_SSH;
	return URL_LOCAL;
}

/* The authority [*s, *e) of scheme://authority/path; 0 when not a URL. */
static int
url_authority(const char *url, const char **s, const char **e)
{
	const char *p = strstr(url, "://");

	if (!p)
		return 0;
	*s = p + 3;
	*e = *s + strcspn(*s, "/?#");
	return 1;
}

/* Last '@' in [s, e), or NULL. */
static const char *
last_at(const char *s, const char *e)
{
	const char *at = NULL;

	for (; s < e; s++)
		if (*s == '@')
			at = s;
	return at;
}

/* Set c->shown_url and c->url_password from url. */
static void
url_hide_password(struct fetch_ctx *c, const char *url)
{
	struct buf b = BUF_INIT;
	const char *s, *e, *at, *colon;

	if (url_authority(url, &s, &e) && (at = last_at(s, e)) &&
	    (colon = memchr(s, ':', (size_t)(at - s)))) {
		buf_add(&b, url, (size_t)(colon - url));
		buf_puts(&b, at);
		c->url_password = xstrndup(colon + 1, (size_t)(at - colon - 1));
		c->shown_url = buf_detach(&b, NULL);
		return;
	}
	c->shown_url = xstrdup(url);
}

/* The port of an ssh URL (22 for scp-style and when none is given). */
static int
ssh_url_port(const char *url)
{
	const char *s, *e, *at, *p = NULL, *q;
	long port;
	char *end;

	if (!url_authority(url, &s, &e))
		return 22;
	if ((at = last_at(s, e)))
		s = at + 1;
	if (*s == '[') {
		q = memchr(s, ']', (size_t)(e - s));
		if (q && q + 1 < e && q[1] == ':')
			p = q + 2;
	} else if ((q = memchr(s, ':', (size_t)(e - s)))) {
		p = q + 1;
	}
	if (!p || p >= e)
		return 22;
	port = strtol(p, &end, 10);
	if (end != e || port <= 0 || port > 65535)
		return 22;
	return (int)port;
}

/* The host of an ssh URL, as libgit2 sees it (no user, port, brackets). */
static char *
ssh_url_host(const char *url)
{
	const char *s, *e, *at, *q;

	if (!url_authority(url, &s, &e)) {
		/* scp-style [user@]host:path */
		e = strchr(url, ':');
		s = url;
		if ((at = last_at(s, e)))
			s = at + 1;
	} else if ((at = last_at(s, e))) {
		s = at + 1;
	}
	if (*s == '[' && (q = memchr(s, ']', (size_t)(e - s))))
		return xstrndup(s + 1, (size_t)(q - s - 1));
	if ((q = memchr(s, ':', (size_t)(e - s))))
		e = q;
	return xstrndup(s, (size_t)(e - s));
}

/* The local user name, as OpenSSH uses when the URL names no user. */
static char *
local_user(void)
{
	struct passwd pw, *res = NULL;
	char tmp[4096];

	if (getpwuid_r(geteuid(), &pw, tmp, sizeof(tmp), &res) == 0 && res &&
	    res->pw_name && *res->pw_name)
		return xstrdup(res->pw_name);
	return xstrdup("git");
}

/* Read the token: the whole file, surrounding whitespace trimmed. */
static int
read_token(struct fetch_ctx *c, const char *file)
{
	struct buf b = BUF_INIT;
	size_t s = 0, e;
	int ret = -1;

	if (buf_read_file(&b, file, TOKEN_MAX) < 0) {
		gitsync_repo_err(c->spec->name);
		goto out;
	}
	e = b.len;
	while (s < e && isspace((unsigned char)b.ptr[s]))
		s++;
	while (e > s && isspace((unsigned char)b.ptr[e - 1]))
		e--;
	if (s == e) {
		ret = ERR_INVALID;
		err_set("repo '%s': token file '%s' is empty", c->spec->name,
			file);
		goto out;
	}
	c->token = xstrndup(b.ptr + s, e - s);
	ret = 0;
out:
	explicit_bzero(b.ptr, b.alloc);
	buf_release(&b);
	return ret;
}

static void
ctx_release(struct fetch_ctx *c)
{
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	if (c->url_password) {
		explicit_bzero(c->url_password, strlen(c->url_password));
		free(c->url_password);
	}
	free(c->shown_url);
	free(c->pubkey);
	free(c->ssh_user);
	buf_release(&c->cert_msg);
	memset(c, 0, sizeof(*c));
}

/* Classify the URL and load what its transport needs. */
static int
ctx_init(struct fetch_ctx *c, const struct repo_spec *spec)
{
	const struct repo_creds *cr = &spec->creds;
	struct buf pub = BUF_INIT;
	int ret = ERR_INVALID;

	memset(c, 0, sizeof(*c));
	buf_init(&c->cert_msg);
	c->spec = spec;
	c->kind = url_kind(spec->url);
	url_hide_password(c, spec->url);
	switch (c->kind) {
	case URL_UNSUPPORTED:
		err_set("repo '%s': unsupported URL '%s' (use a path, file://, "
			"git://, https://, ssh:// or user@host:path)",
			spec->name, c->shown_url);
		goto out;
	case URL_SSH:
		if (!nonempty(cr->known_hosts_file)) {
			err_set("repo '%s': ssh needs "
				"credentials.known_hosts_file",
				spec->name);
			goto out;
		}
		if (access(cr->known_hosts_file, R_OK) < 0) {
			err_set("repo '%s': cannot read known_hosts '%s': %s",
				spec->name, cr->known_hosts_file,
				strerror(errno));
			goto out;
		}
		if (nonempty(cr->ssh_key_file)) {
			if (access(cr->ssh_key_file, R_OK) < 0) {
				err_set("repo '%s': cannot read ssh key '%s': "
					"%s",
					spec->name, cr->ssh_key_file,
					strerror(errno));
				goto out;
			}
			buf_addf(&pub, "%s.pub", cr->ssh_key_file);
			if (access(pub.ptr, R_OK) == 0)
				c->pubkey = buf_detach(&pub, NULL);
		}
		c->ssh_port = ssh_url_port(spec->url);
		c->ssh_user = local_user();
		break;
	case URL_HTTP:
		if (nonempty(cr->token_file) &&
		    (ret = read_token(c, cr->token_file)) < 0)
			goto out;
		break;
	case URL_LOCAL:
	case URL_GIT:
		break;
	}
	ret = 0;
out:
	buf_release(&pub);
	return ret;
}

/*
 * libgit2 asks again after a refused credential, forever: hand out one
 * and give up on the second request.
 */
static int
cred_cb(git_credential **out, const char *url, const char *url_user,
	unsigned int allowed, void *payload)
{
	struct fetch_ctx *c = payload;
	const struct repo_creds *cr = &c->spec->creds;
	const char *user = nonempty(url_user) ? url_user : NULL;

	(void)url;
	*out = NULL;
	if (c->kind == URL_SSH && allowed == GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, c->ssh_user);
	if (c->cred_tries++ > 0) {
		c->auth_failed = 1;
		git_error_set_str(GIT_ERROR_NET, "authentication failed");
		return GIT_EAUTH;
	}
	if (c->kind == URL_SSH && (allowed & GIT_CREDENTIAL_SSH_KEY) &&
	    nonempty(cr->ssh_key_file))
		return git_credential_ssh_key_new(
		    out, user ? user : c->ssh_user, c->pubkey, cr->ssh_key_file,
		    NULL);
	if (c->kind == URL_HTTP &&
	    (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && c->token)
		return git_credential_userpass_plaintext_new(
		    out, user ? user : "x-access-token", c->token);
	c->auth_failed = 2;
	git_error_set_str(GIT_ERROR_NET, "no usable credentials");
	return GIT_EAUTH;
}

static void cert_fail(struct fetch_ctx *c, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static void
cert_fail(struct fetch_ctx *c, const char *fmt, ...)
{
	va_list ap;

	buf_reset(&c->cert_msg);
	va_start(ap, fmt);
	buf_vaddf(&c->cert_msg, fmt, ap);
	va_end(ap);
	c->cert_ret = ERR_AUTH;
}

/*
 * ssh: the raw host key against the repository's known_hosts (libgit2's
 * own verdict, from ~/.ssh/known_hosts, is ignored).  Anything else
 * (https): libgit2's verdict stands.
 */
static int
cert_cb(git_cert *cert, int valid, const char *host, void *payload)
{
	struct fetch_ctx *c = payload;
	const char *file = c->spec->creds.known_hosts_file;
	const char *name = c->spec->name;
	const git_cert_hostkey *hk;
	enum known_hosts_result res;
	char fp[SSH_FINGERPRINT_LEN], *hname = NULL;
	int ret = GIT_ECERTIFICATE;

	(void)valid;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return GIT_PASSTHROUGH;
	if (c->kind != URL_SSH || !nonempty(file)) {
		cert_fail(c,
			  "repo '%s': ssh needs credentials.known_hosts_file",
			  name);
		goto out;
	}
	hk = (const git_cert_hostkey *)cert;
	hname = known_hosts_name(host, c->ssh_port);
	if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey ||
	    hk->hostkey_len == 0) {
		cert_fail(c,
			  "repo '%s': cannot check the host key of '%s': "
			  "libgit2 did not give the key",
			  name, hname);
		goto out;
	}
	ssh_fingerprint(fp, hk->hostkey, hk->hostkey_len);
	if (known_hosts_check(&res, file, host, c->ssh_port, hk->hostkey,
			      hk->hostkey_len) < 0) {
		cert_fail(c, "repo '%s': %s", name, err_msg());
		goto out;
	}
	switch (res) {
	case KNOWN_HOSTS_OK:
		ret = 0;
		break;
	case KNOWN_HOSTS_UNKNOWN:
		cert_fail(c,
			  "repo '%s': host '%s' is not in known_hosts '%s' "
			  "(its key is %s)",
			  name, hname, file, fp);
		break;
	case KNOWN_HOSTS_MISMATCH:
		cert_fail(c,
			  "repo '%s': host key of '%s' does not match "
			  "known_hosts '%s' (it offered %s)",
			  name, hname, file, fp);
		break;
	case KNOWN_HOSTS_REVOKED:
		cert_fail(c,
			  "repo '%s': host key of '%s' is revoked in "
			  "known_hosts '%s' (it offered %s)",
			  name, hname, file, fp);
		break;
	}
out:
	if (ret < 0)
		git_error_set_str(GIT_ERROR_SSH, "host key refused");
	free(hname);
	return ret;
}

/* Replace every occurrence of secret in the thread's error message. */
static void
scrub_err(const char *secret)
{
	struct buf b = BUF_INIT;
	const char *m = err_msg(), *p;
	size_t n;

	if (!nonempty(secret) || !strstr(m, secret))
		return;
	n = strlen(secret);
	while ((p = strstr(m, secret))) {
		buf_add(&b, m, (size_t)(p - m));
		buf_puts(&b, "***");
		m = p + n;
	}
	buf_puts(&b, m);
	err_set("%s", b.ptr);
	buf_release(&b);
}

/* Create mirror_dir (and its parents) and lock it for this fetch. */
static int
lock_mirror(int *out_fd, const char *dir, const char *name)
{
	int fd;

	*out_fd = -1;
	if (mkdir_p(dir, 0700) < 0)
		return gitsync_repo_err(name);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set("repo '%s': cannot open '%s': %s", name, dir,
			       strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return err_set("repo '%s': cannot lock '%s': %s", name,
				       dir, strerror(errno));
		}
	}
	*out_fd = fd;
	return 0;
}

/* Open the mirror, or initialise it (bare, HEAD on the branch). */
static int
open_or_init(git_repository **out, const char *dir,
	     const struct repo_spec *spec)
{
	git_repository_init_options io = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	struct buf head = BUF_INIT;
	int r, ret = 0;

	r = git_repository_open_bare(out, dir);
	if (r == GIT_ENOTFOUND) {
		buf_addf(&head, "refs/heads/%s", spec->branch);
		io.flags =
		    GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
		io.initial_head = head.ptr;
		r = git_repository_init_ext(out, dir, &io);
		if (r < 0)
			ret = gitsync_err(r,
					  "repo '%s': cannot create the "
					  "mirror '%s'",
					  spec->name, dir);
	} else if (r < 0) {
		ret = gitsync_err(r, "repo '%s': cannot open the mirror '%s'",
				  spec->name, dir);
	}
	buf_release(&head);
	return ret;
}

/* Set name to value in cfg unless it has that value already. */
static int
config_ensure(git_config *cfg, const char *name, const char *value)
{
	git_buf cur = {NULL, 0, 0};
	int r;

	r = git_config_get_string_buf(&cur, cfg, name);
	if (r == GIT_ENOTFOUND || (r == 0 && strcmp(cur.ptr, value) != 0))
		r = git_config_set_string(cfg, name, value);
	git_buf_dispose(&cur);
	return r;
}

/*
 * Record the remote "origin" (URL and mirror refspec) in the mirror's
 * configuration, for people and git commands that look at the mirror, and
 * fetch through an anonymous remote with the same URL and refspec.  The
 * detour avoids libgit2 1.5's remote lookups, each of which leaks regex
 * match data (tens of kilobytes); for the same reason url.<base>.insteadOf
 * rules are not applied: the URL of the spec is used as it is.
 */
static int
ensure_origin(git_remote **out, git_repository *repo,
	      const struct repo_spec *spec, const char *shown_url)
{
	git_remote_create_options ro = GIT_REMOTE_CREATE_OPTIONS_INIT;
	git_config *cfg = NULL;
	int r;

	*out = NULL;
	r = git_repository_config(&cfg, repo);
	if (r == 0)
		r = config_ensure(cfg, "remote.origin.url", spec->url);
	if (r == 0)
		r = config_ensure(cfg, "remote.origin.fetch", MIRROR_REFSPEC);
	if (r == 0) {
		ro.repository = repo;
		ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
		r = git_remote_create_with_opts(out, spec->url, &ro);
	}
	git_config_free(cfg);
	if (r < 0)
		return gitsync_err(r,
				   "repo '%s': cannot set up the remote '%s'",
				   spec->name, shown_url);
	return 0;
}

/* Set by gitsync_fetch_child_main(): this process does one fetch only. */
static int in_fetch_child;

static int
write_file(const char *path, const char *data, size_t len)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len)
		ret = -1;
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

/*
 * Before the ssh handshake libgit2 tells libssh2 which host key type to
 * ask for: the one $HOME/.ssh/known_hosts lists for the host.  Without a
 * line there libssh2 picks its own favourite (ECDSA), and a server with
 * several host keys may offer one that the repository's known_hosts does
 * not list, although it lists another of that server's keys (OpenSSH
 * would have asked for that one).  So, in the fetch child only (the
 * environment is process-wide), HOME becomes a directory in the locked
 * mirror whose .ssh/known_hosts holds the repository's lines for the
 * host.  libgit2 read its global configuration from the real HOME at
 * initialisation, before this.  The key itself is still checked by
 * cert_cb; a failure here only loses the preference.
 */
static void
private_home(struct buf *home, const struct fetch_ctx *c,
	     const char *mirror_dir)
{
	struct buf kh = BUF_INIT, path = BUF_INIT;
	char *host = ssh_url_host(c->spec->url);

	buf_addf(home, "%s/scaffold-home", mirror_dir);
	buf_addf(&path, "%s/.ssh", home->ptr);
	if (rm_rf(home->ptr) < 0 || mkdir_p(path.ptr, 0700) < 0 ||
	    known_hosts_extract(&kh, c->spec->creds.known_hosts_file, host,
				c->ssh_port) < 0)
		goto fail;
	buf_puts(&path, "/known_hosts");
	if (write_file(path.ptr, kh.ptr, kh.len) < 0 ||
	    setenv("HOME", home->ptr, 1) < 0)
		goto fail;
	goto out;
fail:
	log_debug("gitsync: fetch '%s': no host key preference for '%s'",
		  c->spec->name, host);
	rm_rf(home->ptr);
	buf_reset(home);
out:
	free(host);
	buf_release(&kh);
	buf_release(&path);
}

/* Turn a failed git_remote_fetch() into the message a user should see. */
static int
fetch_error(struct fetch_ctx *c, int r)
{
	const char *name = c->spec->name;

	if (c->cert_ret) {
		err_set("%s", c->cert_msg.ptr);
		return c->cert_ret;
	}
	if (c->auth_failed == 2) {
		err_set("repo '%s': authentication failed for %s: no "
			"credentials.%s is set",
			name, c->shown_url,
			c->kind == URL_SSH ? "ssh_key_file" : "token_file");
		return ERR_AUTH;
	}
	if (c->auth_failed) {
		err_set("repo '%s': authentication failed for %s", name,
			c->shown_url);
		return ERR_AUTH;
	}
	if (r == GIT_EAUTH)
		return gitsync_err(r, "repo '%s': authentication failed for %s",
				   name, c->shown_url);
	return gitsync_err(r, "repo '%s': cannot fetch '%s'", name,
			   c->shown_url);
}

static int
check_spec(const struct repo_spec *spec)
{
	struct buf ref = BUF_INIT;
	int valid = 0, ret = 0;

	if (!spec || !nonempty(spec->name) || !nonempty(spec->url) ||
	    !nonempty(spec->branch)) {
		err_set("repo '%s': name, url and branch are required",
			spec && spec->name ? spec->name : "");
		return ERR_INVALID;
	}
	buf_addf(&ref, "refs/heads/%s", spec->branch);
	if (git_reference_name_is_valid(&valid, ref.ptr) < 0 || !valid) {
		err_set("repo '%s': invalid branch name '%s'", spec->name,
			spec->branch);
		ret = ERR_INVALID;
	}
	if (ret == 0 && spec->pull_ref && !mirror_pull_ref_ok(spec->pull_ref)) {
		err_set("repo '%s': '%s' is not a pull request head "
			"(refs/pull/N/head, refs/merge-requests/N/head)",
			spec->name, spec->pull_ref);
		ret = ERR_INVALID;
	}
	buf_release(&ref);
	return ret;
}

int
mirror_fetch_inproc(const char *mirror_dir, const struct repo_spec *spec)
{
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	char *refspec = MIRROR_REFSPEC;
	git_strarray refspecs = {&refspec, 1};
	struct fetch_ctx c;
	struct buf home = BUF_INIT, pull = BUF_INIT;
	int lock_fd = -1, r, ret;

	memset(&c, 0, sizeof(c));
	buf_init(&c.cert_msg);
	if ((ret = gitsync_init()) < 0 || (ret = check_spec(spec)) < 0 ||
	    (ret = ctx_init(&c, spec)) < 0)
		goto out;
	if ((ret = lock_mirror(&lock_fd, mirror_dir, spec->name)) < 0 ||
	    (ret = open_or_init(&repo, mirror_dir, spec)) < 0 ||
	    (ret = ensure_origin(&remote, repo, spec, c.shown_url)) < 0)
		goto out;

	if (in_fetch_child && c.kind == URL_SSH)
		private_home(&home, &c, mirror_dir);

	fo.callbacks.credentials = cred_cb;
	fo.callbacks.certificate_check = cert_cb;
	fo.callbacks.payload = &c;
	fo.prune = GIT_FETCH_PRUNE;
	if (spec->pull_ref) {
		/* the head alone, onto its own name; the branches and other
		 * heads stay as they are */
		buf_addf(&pull, "+%s:%s", spec->pull_ref, spec->pull_ref);
		refspec = pull.ptr;
		fo.prune = GIT_FETCH_NO_PRUNE;
	}
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.proxy_opts.type = GIT_PROXY_AUTO;
	r = git_remote_fetch(remote, &refspecs, &fo, "scaffold: fetch");
	if (r < 0) {
		ret = fetch_error(&c, r);
		goto out;
	}
	log_debug("gitsync: fetched '%s' into '%s'", spec->name, mirror_dir);
	ret = 0;
out:
	if (ret < 0) {
		scrub_err(c.token);
		scrub_err(c.url_password);
	}
	git_remote_free(remote);
	git_repository_free(repo);
	if (home.len > 0)
		rm_rf(home.ptr);
	buf_release(&home);
	buf_release(&pull);
	if (lock_fd >= 0)
		close(lock_fd);
	ctx_release(&c);
	return ret;
}

/* ---- the child process ------------------------------------------------ */

static pthread_mutex_t helper_lock = PTHREAD_MUTEX_INITIALIZER;
static char *helper_path;

void
gitsync_set_helper(const char *path)
{
	char *old;

	pthread_mutex_lock(&helper_lock);
	old = helper_path;
	helper_path = nonempty(path) ? xstrdup(path) : NULL;
	pthread_mutex_unlock(&helper_lock);
	free(old);
}

static char *
helper_get(void)
{
	char *s;

	pthread_mutex_lock(&helper_lock);
	s = xstrdup(helper_path ? helper_path : DEFAULT_HELPER);
	pthread_mutex_unlock(&helper_lock);
	return s;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Start the helper with stdin and stdout on /dev/null and stderr on a
 * pipe (*out_fd, the read end), in a process group of its own, with no
 * other descriptor, default signal dispositions and an empty mask.
 * posix_spawn() is safe in a threaded parent: nothing but the exec runs
 * in the child.
 */
static int
spawn_helper(pid_t *out_pid, int *out_fd, const char *exe, char *const argv[],
	     const char *name)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int p[2] = {-1, -1}, fd, e, ret = -1;

	*out_fd = -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (pipe2(p, O_CLOEXEC) < 0) {
		err_set("repo '%s': cannot create a pipe: %s", name,
			strerror(errno));
		goto out;
	}
	if (p[1] <= 2) { /* keep it clear of the slots it is dup'ed to */
		fd = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			err_set("repo '%s': cannot duplicate a descriptor: %s",
				name, strerror(errno));
			goto out;
		}
		close(p[1]);
		p[1] = fd;
	}
	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
					     0) ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
					     0) ||
	    posix_spawn_file_actions_adddup2(&fa, p[1], 2) ||
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) ||
	    posix_spawnattr_setsigmask(&attr, &none) ||
	    posix_spawnattr_setsigdefault(&attr, &all) ||
	    posix_spawnattr_setpgroup(&attr, 0) ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP)) {
		err_set("repo '%s': cannot prepare the fetch helper", name);
		goto out;
	}
	e = posix_spawn(out_pid, exe, &fa, &attr, argv, environ);
	if (e) {
		err_set("repo '%s': cannot start the fetch helper '%s': %s",
			name, exe, strerror(e));
		goto out;
	}
	*out_fd = p[0];
	p[0] = -1;
	ret = 0;
out:
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return ret;
}

/* Append what the helper wrote, keeping the last HELPER_STDERR_MAX bytes. */
static void
keep_tail(struct buf *b, const char *data, size_t len)
{
	size_t drop;

	buf_add(b, data, len);
	if (b->len > HELPER_STDERR_MAX) {
		drop = b->len - HELPER_STDERR_MAX / 2;
		memmove(b->ptr, b->ptr + drop, b->len - drop);
		b->len -= drop;
		b->ptr[b->len] = '\0';
	}
}

static void
kill_helper(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * Collect the helper's stderr until EOF, then its exit status, all before
 * the deadline (deadline < 0: none).  ERR_TIMEOUT, with the helper and
 * its group killed and reaped, when the deadline passes first.
 */
static int
wait_helper(pid_t pid, int fd, int64_t deadline, struct buf *err, int *status)
{
	struct pollfd pfd;
	char tmp[4096];
	int64_t left;
	int n, delay = 1, ret = ERR_TIMEOUT;
	ssize_t got;
	pid_t r;

	while (fd >= 0) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			goto out;
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno != EINTR)
			break; /* cannot watch the pipe: wait on the child */
		if (n <= 0)
			continue;
		got = read(fd, tmp, sizeof(tmp));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			break;
		keep_tail(err, tmp, (size_t)got);
	}
	/* stderr is closed: the helper is exiting */
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid) {
			ret = 0;
			goto reaped;
		}
		if (r < 0 && errno != EINTR) {
			/* reaped by someone else: its pid may be reused */
			ret = err_set("cannot wait for the fetch helper: %s",
				      strerror(errno));
			goto reaped;
		}
		left = deadline < 0 ? 50 : deadline - now_ms();
		if (left <= 0)
			break;
		poll(NULL, 0, (int)(left < delay ? left : delay));
		if (delay < 50)
			delay *= 2;
	}
out:
	kill_helper(pid);
reaped:
	return ret;
}

/* The last non-empty line of b (modified in place), or NULL. */
static const char *
last_line(struct buf *b)
{
	char *nl;

	while (b->len > 0 &&
	       (b->ptr[b->len - 1] == '\n' || b->ptr[b->len - 1] == '\r'))
		b->ptr[--b->len] = '\0';
	if (b->len == 0)
		return NULL;
	nl = strrchr(b->ptr, '\n');
	return nl ? nl + 1 : b->ptr;
}

int
mirror_fetch(const char *mirror_dir, const struct repo_spec *spec,
	     int64_t timeout_ms)
{
	const struct repo_creds *cr;
	struct strvec argv = STRVEC_INIT;
	struct buf err = BUF_INIT;
	char *exe = NULL, dur[32];
	const char *last;
	int64_t deadline;
	int fd = -1, status = 0, code, ret;
	pid_t pid;

	if ((ret = gitsync_init()) < 0 || (ret = check_spec(spec)) < 0)
		goto out;
	cr = &spec->creds;
	deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
	exe = helper_get();
	strvec_push(&argv, exe);
	strvec_push(&argv, GITSYNC_FETCH_CMD);
	strvec_push(&argv, mirror_dir);
	strvec_push(&argv, spec->name);
	strvec_push(&argv, spec->url);
	strvec_push(&argv, spec->branch);
	strvec_push(&argv, cr->ssh_key_file ? cr->ssh_key_file : "");
	strvec_push(&argv, cr->known_hosts_file ? cr->known_hosts_file : "");
	strvec_push(&argv, cr->token_file ? cr->token_file : "");
	if (spec->pull_ref)
		strvec_push(&argv, spec->pull_ref);
	if ((ret = spawn_helper(&pid, &fd, exe, argv.v, spec->name)) < 0)
		goto out;
	ret = wait_helper(pid, fd, deadline, &err, &status);
	if (ret == ERR_TIMEOUT) {
		duration_format(dur, sizeof(dur), timeout_ms);
		err_set("repo '%s': fetch timed out after %s", spec->name, dur);
		goto out;
	}
	if (ret < 0) {
		gitsync_repo_err(spec->name);
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		goto out;
	last = last_line(&err);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (code >= 1 && code <= -ERR_TOOBIG && last &&
	    !strncmp(last, "repo '", 6)) {
		err_set("%s", last);
		ret = -code;
	} else if (WIFSIGNALED(status)) {
		err_set("repo '%s': the fetch helper '%s' was killed by "
			"signal %d%s%s",
			spec->name, exe, WTERMSIG(status), last ? ": " : "",
			last ? last : "");
		ret = ERR_GENERIC;
	} else {
		err_set("repo '%s': the fetch helper '%s' failed with exit "
			"status %d%s%s",
			spec->name, exe, code, last ? ": " : "",
			last ? last : "");
		ret = ERR_GENERIC;
	}
out:
	if (fd >= 0)
		close(fd);
	buf_release(&err);
	strvec_clear(&argv);
	free(exe);
	return ret;
}

int
gitsync_fetch_child_main(int argc, char **argv)
{
	struct repo_spec spec;
	char *p, *msg;
	int ret;

	/* die with the thread that waits for us; libssh2 writes to sockets */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	if ((argc != 9 && argc != 10) ||
	    strcmp(argv[1], GITSYNC_FETCH_CMD) != 0) {
		fprintf(stderr,
			"usage: %s " GITSYNC_FETCH_CMD " MIRROR_DIR NAME URL "
			"BRANCH SSH_KEY_FILE KNOWN_HOSTS_FILE TOKEN_FILE "
			"[PULL_REF]\n",
			argc > 0 ? argv[0] : "scaffold");
		return -ERR_INVALID;
	}
	memset(&spec, 0, sizeof(spec));
	spec.name = argv[3];
	spec.url = argv[4];
	spec.branch = argv[5];
	spec.creds.ssh_key_file = nonempty(argv[6]) ? argv[6] : NULL;
	spec.creds.known_hosts_file = nonempty(argv[7]) ? argv[7] : NULL;
	spec.creds.token_file = nonempty(argv[8]) ? argv[8] : NULL;
	spec.pull_ref = argc == 10 ? argv[9] : NULL;
	in_fetch_child = 1;
	ret = gitsync_init();
	if (ret == 0)
		ret = mirror_fetch_inproc(argv[2], &spec);
	if (ret == 0)
		return 0;
	/* one line: the parent reads the last one */
	msg = xstrdup(err_msg());
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
	free(msg);
	return ret < ERR_TOOBIG ? -ERR_GENERIC : -ret;
}
