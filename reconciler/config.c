/*
 * config.c - the daemon's configuration file (scaffold serve --config),
 * read with the same YAML reader and the same precise errors as cascades.
 * Secrets are never inline: the config names files that hold them.
 */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reconciler-int.h"

/* Paths in the config are relative to the config file's directory. */
static const char *
resolve(struct lctx *x, const char *base, const char *p)
{
	struct buf b = BUF_INIT;
	const char *r;

	if (p[0] == '/' || !base[0])
		return p;
	buf_addf(&b, "%s/%s", base, p);
	r = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
	return r;
}

static const char *
get_file(struct lctx *x, const struct ynode *n, const char *field,
	 const char *base)
{
	const char *s = yn_nonempty(x, n, field), *p;

	if (!s)
		return NULL;
	p = resolve(x, base, s);
	if (access(p, R_OK) < 0) {
		yn_err(x, n, "'%s' names '%s', which cannot be read: %s", field,
		       yn_qs(x, p), strerror(errno));
		return NULL;
	}
	return p;
}

static void
load_creds(struct lctx *x, const struct ynode *n, struct repo_config *r,
	   const char *base)
{
	static const char *const keys[] = { "ssh_key_file", "known_hosts_file",
					    "token_file" };
	const struct ynode *s[ARRAY_SIZE(keys)];

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'credentials' must be a mapping, not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "credentials", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0])
		r->ssh_key_file = get_file(x, s[0], "ssh_key_file", base);
	if (s[1])
		r->known_hosts_file = get_file(x, s[1], "known_hosts_file",
					       base);
	if (s[2])
		r->token_file = get_file(x, s[2], "token_file", base);
}

/* forge: {kind, api_url, token_file, project, plan_comments} */
static void
load_forge(struct lctx *x, const struct ynode *n, struct repo_config *r,
	   const char *base)
{
	static const char *const keys[] = { "kind", "api_url", "token_file",
					    "project", "plan_comments" };
	static const char *const kinds[] = { "github", "gitlab", "gitea" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	const char *k;
	size_t i;

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'forge' must be a mapping with 'kind', 'api_url' "
			     "and 'token_file', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "forge", keys, ARRAY_SIZE(keys), s, NULL);
	if (!s[0]) {
		yn_err(x, n, "missing required key 'kind' (github, gitlab or "
			     "gitea)");
	} else if ((k = yn_nonempty(x, s[0], "kind"))) {
		for (i = 0; i < ARRAY_SIZE(kinds); i++)
			if (!strcmp(k, kinds[i]))
				r->forge_kind = kinds[i];
		if (!r->forge_kind)
			yn_err(x, s[0], "unknown forge kind '%s': use github, "
					"gitlab or gitea (Forgejo is gitea)",
			       yn_qs(x, k));
	}
	if (s[1]) {
		r->forge_api_url = yn_nonempty(x, s[1], "api_url");
		if (r->forge_api_url &&
		    strncmp(r->forge_api_url, "https://", 8) &&
		    strncmp(r->forge_api_url, "http://", 7))
			yn_err(x, s[1], "'api_url' must be an http:// or "
					"https:// URL, not '%s'",
			       yn_qs(x, r->forge_api_url));
	} else if (r->forge_kind && !strcmp(r->forge_kind, "github")) {
		r->forge_api_url = "https://api.github.com";
	} else if (r->forge_kind && !strcmp(r->forge_kind, "gitlab")) {
		r->forge_api_url = "https://gitlab.com/api/v4";
	} else if (r->forge_kind) {
		yn_err(x, n, "missing required key 'api_url' (a gitea forge "
			     "has no default, e.g. https://gitea.example.com"
			     "/api/v1)");
	}
	if (!s[2])
		yn_err(x, n, "missing required key 'token_file'");
	else
		r->forge_token_file = get_file(x, s[2], "token_file", base);
	if (s[3])
		r->project = yn_nonempty(x, s[3], "project");
	if (s[4])
		yn_bool(x, s[4], "plan_comments", &r->plan_comments);
}

/*
 * "owner/name" from a clone URL: https://host/owner/name.git,
 * ssh://git@host:22/owner/name, [git@]host:owner/name.git.
 */
static const char *
project_of(struct lctx *x, const char *url, const char *scheme)
{
	const char *p = strstr(url, "://"), *end;
	struct buf b = BUF_INIT;
	const char *r = NULL;

	if (p) {
		p = strchr(p + 3, '/');
	} else if (!strcmp(scheme, "ssh")) {
		p = strchr(url, ':'); /* scp-like: [user@]host:path */
	} else {
		return NULL;
	}
	if (!p)
		return NULL;
	while (*p == '/' || *p == ':')
		p++;
	end = p + strlen(p);
	while (end > p && end[-1] == '/')
		end--;
	if (end - p > 4 && !strncmp(end - 4, ".git", 4))
		end -= 4;
	if (end > p && memchr(p, '/', (size_t)(end - p))) {
		buf_add(&b, p, (size_t)(end - p));
		r = arena_strdup(x->arena, b.ptr);
	}
	buf_release(&b);
	return r;
}

/*
 * repo_schemes: the kinds of repo url the config accepts.  http:// and
 * git:// are neither authenticated nor protected against tampering, and
 * http:// would also carry a token_file in clear: only git:// is in the
 * default, for read-only mirrors served by git daemon (docs/config.md).
 */
static const char *const schemes[] = { "https", "ssh", "git", "file",
				       "http" };
#define SCHEMES_DEFAULT 0xfu /* https, ssh, git, file */

/*
 * The scheme of a repo url, as repo_schemes names it: scheme://...
 * (ssh+git:// and git+ssh:// are ssh), [user@]host:path is ssh (git's
 * rule: a colon before any slash), a path is file, and git's remote
 * helper syntax NAME::ADDRESS is 'NAME::', which no list allows.
 */
static const char *
url_scheme(struct lctx *x, const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	const char *sep = strstr(url, "://"), *colon, *slash, *r;
	struct buf b = BUF_INIT;
	size_t i;

	if (n && isalpha((unsigned char)url[0]) && url[n] == ':' &&
	    url[n + 1] == ':') {
		buf_add(&b, url, n + 2);
	} else if (sep) {
		buf_add(&b, url, (size_t)(sep - url));
		for (i = 0; i < b.len; i++)
			b.ptr[i] = (char)tolower((unsigned char)b.ptr[i]);
		if (!strcmp(b.ptr, "ssh+git") || !strcmp(b.ptr, "git+ssh")) {
			buf_release(&b);
			return "ssh";
		}
	} else {
		colon = strchr(url, ':');
		slash = strchr(url, '/');
		return colon && colon != url && (!slash || colon < slash) ?
			       "ssh" :
			       "file";
	}
	r = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
	return r;
}

/* The schemes of mask, "https, ssh, git, file". */
static const char *
schemes_list(struct lctx *x, unsigned mask)
{
	struct buf b = BUF_INIT;
	const char *r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(schemes); i++)
		if (mask & (1u << i))
			buf_addf(&b, "%s%s", b.len ? ", " : "", schemes[i]);
	r = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
	return r;
}

/* The index of scheme in schemes[], or ARRAY_SIZE(schemes). */
static size_t
scheme_index(const char *scheme)
{
	size_t k;

	for (k = 0; k < ARRAY_SIZE(schemes); k++)
		if (!strcmp(scheme, schemes[k]))
			break;
	return k;
}

static unsigned
load_schemes(struct lctx *x, const struct ynode *n)
{
	const struct ynode *it;
	unsigned mask = 0;
	size_t i, k;

	if (n->kind != Y_SEQ || !n->n) {
		yn_err(x, n, "'repo_schemes' must be a list of https, ssh, "
			     "git, file or http, not %s",
		       n->kind == Y_SEQ ? "an empty list" : yn_desc(x, n));
		return SCHEMES_DEFAULT;
	}
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		k = it->kind == Y_SCALAR ? scheme_index(it->str) :
					   ARRAY_SIZE(schemes);
		if (k < ARRAY_SIZE(schemes))
			mask |= 1u << k;
		else
			yn_err(x, it, "unknown scheme %s in 'repo_schemes': use "
				      "https, ssh, git, file or http",
			       yn_desc(x, it));
	}
	return mask;
}

#define RUNNERS_DEFAULT                                                    \
	((1u << RUNNER_KIND_DOCKER) | (1u << RUNNER_KIND_SSH) |            \
	 (1u << RUNNER_KIND_SWARM))

/*
 * runners: [local, docker, ssh], the runners a repo's cascades may use.
 * *local_item is set to the 'local' entry, if any.
 */
static void
load_runners(struct lctx *x, const struct ynode *n, struct repo_config *r,
	     const struct ynode **local_item)
{
	const struct ynode *it;
	struct buf b = BUF_INIT;
	size_t i, k;
	int idx;

	if (n->kind != Y_SEQ || !n->n) {
		yn_err(x, n, "'runners' must be a list of local, docker, ssh "
			     "or swarm, not %s",
		       n->kind == Y_SEQ ? "an empty list" : yn_desc(x, n));
		return;
	}
	r->runners = 0;
	for (i = 0; i < n->n; i++) {
		it = n->items[i];
		idx = it->kind == Y_SCALAR ? runner_kind_index(it->str) : -1;
		if (idx >= 0) {
			if (r->runners & (1u << idx))
				continue;
			r->runners |= 1u << idx;
			buf_addf(&b, "%s%s", b.len ? ", " : "",
				 runner_kind_names[idx]);
			if (idx == RUNNER_KIND_LOCAL)
				*local_item = it;
		} else if (it->kind == Y_SCALAR &&
			   (k = suggest_key(it->str, runner_kind_names,
					    RUNNER_KIND_N)) < RUNNER_KIND_N) {
			yn_err(x, it, "unknown runner %s in 'runners'; did you "
				      "mean '%s'?",
			       yn_desc(x, it), runner_kind_names[k]);
		} else {
			yn_err(x, it, "unknown runner %s in 'runners': use "
				      "local, docker, ssh or swarm",
			       yn_desc(x, it));
		}
	}
	r->runners_text = arena_strdup(x->arena, b.ptr);
	buf_release(&b);
}

enum { RK_NAME, RK_URL, RK_BRANCH, RK_PATH, RK_CREDS, RK_SECRET, RK_FORGE,
       RK_RUNNERS, RK_N };
static const char *const repo_keys[RK_N] = {
	"name", "url", "branch", "path", "credentials", "webhook_secret_file",
	"forge", "runners",
};

/*
 * need_user: scaffold runs as root and the config has no local.user; the
 * first repo that allows local says that it is required (and clears it).
 */
static void
load_repo(struct lctx *x, const struct ynode *n, size_t idx,
	  struct repo_config *r, const char *base, unsigned allowed,
	  int *need_user)
{
	const struct ynode *s[RK_N], *nm, *local_item = NULL;
	const char *scheme = NULL;
	unsigned sugg;
	size_t k;

	buf_reset(&x->what);
	r->pos = n->pos;
	r->runners = RUNNERS_DEFAULT;
	r->runners_text = "docker, ssh, swarm";
	if (n->kind != Y_MAP) {
		buf_addf(&x->what, "repo #%zu: ", idx + 1);
		yn_err(x, n, "a repo must be a mapping, not %s", yn_kind(n));
		return;
	}
	nm = yn_find_key(n, "name");
	if (nm && nm->kind == Y_SCALAR && nm->len && name_is_valid(nm->str)) {
		r->name = nm->str;
		buf_addf(&x->what, "repo '%s': ", r->name);
	} else {
		buf_addf(&x->what, "repo #%zu: ", idx + 1);
		if (!nm)
			yn_err(x, n, "missing required key 'name'");
		else
			yn_err(x, nm, "invalid repo name %s: use 1-63 "
				      "characters a-z, 0-9, '_', '.', '-', "
				      "starting with a letter or digit",
			       yn_desc(x, nm));
	}
	yn_match_keys(x, n, NULL, repo_keys, RK_N, s, &sugg);
	if (s[RK_URL] && (r->url = yn_nonempty(x, s[RK_URL], "url"))) {
		scheme = url_scheme(x, r->url);
		k = scheme_index(scheme);
		if (k == ARRAY_SIZE(schemes) || !(allowed & (1u << k)))
			yn_err(x, s[RK_URL], "url scheme '%s' is not allowed "
					     "(repo_schemes: %s)",
			       yn_qs(x, scheme), schemes_list(x, allowed));
	} else if (!s[RK_URL] && !(sugg & (1u << RK_URL))) {
		yn_err(x, n, "missing required key 'url'");
	}
	r->branch = "main";
	if (s[RK_BRANCH])
		r->branch = yn_nonempty(x, s[RK_BRANCH], "branch");
	r->path = ".scaffold";
	if (s[RK_PATH]) {
		r->path = yn_nonempty(x, s[RK_PATH], "path");
		if (r->path && (r->path[0] == '/' || strstr(r->path, "..")))
			yn_err(x, s[RK_PATH], "'path' must be a folder inside "
					      "the repository, not '%s'",
			       yn_qs(x, r->path));
	}
	if (s[RK_CREDS])
		load_creds(x, s[RK_CREDS], r, base);
	if (s[RK_SECRET])
		r->webhook_secret_file = get_file(x, s[RK_SECRET],
						  "webhook_secret_file", base);
	if (s[RK_FORGE])
		load_forge(x, s[RK_FORGE], r, base);
	if (s[RK_RUNNERS])
		load_runners(x, s[RK_RUNNERS], r, &local_item);
	if (local_item && *need_user) {
		diags_add(x->diags, DIAG_ERROR, x->file, local_item->pos,
			  "'local.user' is required: scaffold runs as root and "
			  "repo '%s' allows the local runner (add local: "
			  "{user: NAME}, an unprivileged user for its tasks)",
			  r->name ? r->name : "?");
		*need_user = 0;
	}
	if (!r->project && r->url)
		r->project = project_of(x, r->url, scheme);
	/* a local path is relative to the config too */
	if (r->url && !strcmp(scheme, "file") && !strstr(r->url, "://"))
		r->url = resolve(x, base, r->url);
}

enum {
	K_LISTEN,
	K_PUBLIC_URL,
	K_DATA_DIR,
	K_POLL,
	K_FETCH_TIMEOUT,
	K_MAX_PARALLEL,
	K_DOCKER,
	K_HOSTS,
	K_REPOS,
	K_PUBLIC_STATUS,
	K_REPO_SCHEMES,
	K_LOCAL,
	K_LIMITS,
	K_SESSION_LIFETIME,
	K_MAX_CHECKS_PARALLEL,
	K_RETENTION,
	K_SWARM,
	K_N
};
static const char *const config_keys[K_N] = {
	"listen",	 "public_url",	 "data_dir", "poll_interval",
	"fetch_timeout", "max_parallel", "docker",   "hosts",
	"repos",	 "public_status", "repo_schemes", "local",
	"limits",	 "session_lifetime", "max_checks_parallel",
	"retention",
	"swarm",
};

/*
 * public_status: full | summary | none.  The booleans it once took are
 * refused, not mapped: 'true' meant logs and stored files for anyone, and
 * a config that said so must now say which of the three it means.
 */
static void
load_public_status(struct lctx *x, const struct ynode *n, struct config *cf)
{
	static const char *const names[] = { "none", "summary", "full" };
	int b;
	size_t i;

	for (i = 0; n->kind == Y_SCALAR && i < ARRAY_SIZE(names); i++)
		if (!strcmp(n->str, names[i])) {
			cf->public_status = (enum public_status)i;
			return;
		}
	if (n->kind == Y_SCALAR && !yn_is_bool(n->str, &b))
		yn_err(x, n, "'public_status' is no longer true or false: use "
			     "full, summary or none ('%s' meant %s)",
		       b ? "true" : "false",
		       b ? "full: logs and stored files for anyone"
			 : "none: every page needs a viewer");
	else
		yn_err(x, n, "'public_status' must be full, summary or none, "
			     "not %s",
		       yn_desc(x, n));
}

static int
get_int(struct lctx *x, const struct ynode *n, const char *field, long lo,
	long hi, int *out)
{
	char *end = NULL;
	long v = -1;

	if (n->kind == Y_SCALAR && n->len)
		v = strtol(n->str, &end, 10);
	if (!end || *end || v < lo || v > hi) {
		yn_err(x, n, "'%s' must be a number from %ld to %ld, not %s",
		       field, lo, hi, yn_desc(x, n));
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* hosts: {NAME: {address, port, user, key_file, known_hosts_file,
 * max_sessions, umask}} */
static void
load_hosts(struct lctx *x, const struct ynode *n, struct config *cf,
	   const char *base)
{
	static const char *const keys[] = { "address",	       "port",
					    "user",	       "key_file",
					    "known_hosts_file", "max_sessions",
					    "umask" };
	const struct ynode *s[ARRAY_SIZE(keys)], *k, *v;
	struct host_config *h;
	unsigned sugg;
	size_t i;

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'hosts' must be a mapping of host names to "
			     "their settings, not %s",
		       yn_kind(n));
		return;
	}
	cf->hosts = arena_alloc(x->arena, (n->n + 1) * sizeof(*cf->hosts));
	for (i = 0; i < n->n; i++) {
		k = n->items[2 * i];
		v = n->items[2 * i + 1];
		buf_reset(&x->what);
		if (k->kind != Y_SCALAR || !yn_valid_host(x, k, "host"))
			continue;
		buf_addf(&x->what, "host '%s': ", k->str);
		if (v->kind != Y_MAP) {
			yn_err(x, v, "must be a mapping with 'address', "
				     "'user', 'key_file' and "
				     "'known_hosts_file', not %s",
			       yn_kind(v));
			continue;
		}
		h = &cf->hosts[cf->nhosts++];
		h->name = k->str;
		h->pos = k->pos;
		h->port = 22;
		h->max_sessions = 8;
		yn_match_keys(x, v, NULL, keys, ARRAY_SIZE(keys), s, &sugg);
		if (s[0])
			h->address = yn_nonempty(x, s[0], "address");
		else
			h->address = h->name;
		if (s[1])
			get_int(x, s[1], "port", 1, 65535, &h->port);
		if (s[2])
			h->user = yn_nonempty(x, s[2], "user");
		else if (!(sugg & 4))
			yn_err(x, v, "missing required key 'user'");
		if (s[3])
			h->key_file = get_file(x, s[3], "key_file", base);
		else if (!(sugg & 8))
			yn_err(x, v, "missing required key 'key_file'");
		if (s[4])
			h->known_hosts_file = get_file(x, s[4],
						       "known_hosts_file", base);
		else if (!(sugg & 16))
			yn_err(x, v, "missing required key 'known_hosts_file' "
				     "(host keys are always checked)");
		if (s[5])
			get_int(x, s[5], "max_sessions", 1, 64,
				&h->max_sessions);
		if (s[6])
			h->umask = yn_umask(x, s[6], "umask");
	}
	buf_reset(&x->what);
}

static void
load_docker(struct lctx *x, const struct ynode *n, struct config *cf,
	    const char *base)
{
	static const char *const keys[] = { "socket", "keep_failed" };
	const struct ynode *s[ARRAY_SIZE(keys)];

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'docker' must be a mapping with 'socket' and "
			     "'keep_failed', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "docker", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0] && (cf->docker_socket = yn_nonempty(x, s[0], "socket")))
		cf->docker_socket = resolve(x, base, cf->docker_socket);
	if (s[1])
		yn_bool(x, s[1], "keep_failed", &cf->docker_keep_failed);
}

/*
 * swarm: {socket | url, ca, cert, key, network, pending_timeout}: the
 * manager of the Docker Swarm the swarm runner uses.
 */
static void
load_swarm(struct lctx *x, const struct ynode *n, struct config *cf,
	   const char *base)
{
	static const char *const keys[] = { "socket", "url",	 "ca",
					    "cert",   "key",	 "network",
					    "pending_timeout" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	const char *u;
	size_t i;

	cf->swarm_set = 1;
	cf->swarm_pending_timeout_ms = CONFIG_SWARM_PENDING_DEFAULT;
	if (ynode_is_null(n))
		return;
	if (n->kind != Y_MAP) {
		yn_err(x, n, "'swarm' must be a mapping with 'socket' or "
			     "'url', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "swarm", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0] && s[1])
		yn_err(x, s[1], "'swarm' takes 'socket' or 'url', not both");
	if (s[0] && (cf->swarm_socket = yn_nonempty(x, s[0], "swarm.socket"))) {
		if (!strncmp(cf->swarm_socket, "unix://", 7))
			cf->swarm_socket += 7;
		cf->swarm_socket = resolve(x, base, cf->swarm_socket);
	}
	if (s[1] && (u = yn_nonempty(x, s[1], "swarm.url"))) {
		if (strncmp(u, "https://", 8) && strncmp(u, "http://", 7))
			yn_err(x, s[1], "'swarm.url' must start with https:// "
					"(or http://), not %s",
			       yn_desc(x, s[1]));
		else
			cf->swarm_url = u;
	}
	for (i = 2; i <= 4; i++) {
		const char **dst = i == 2 ? &cf->swarm_ca :
				   i == 3 ? &cf->swarm_cert :
					    &cf->swarm_key;
		char what[16];

		if (!s[i])
			continue;
		snprintf(what, sizeof(what), "swarm.%s", keys[i]);
		if (!s[1])
			yn_err(x, s[i], "'%s' needs 'swarm.url'", what);
		else if ((*dst = yn_nonempty(x, s[i], what)))
			*dst = resolve(x, base, *dst);
	}
	if (s[5])
		cf->swarm_network = yn_nonempty(x, s[5], "swarm.network");
	if (s[6])
		yn_duration(x, s[6], "swarm.pending_timeout",
			    &cf->swarm_pending_timeout_ms);
}

/*
 * local: {user}: the user local tasks run as when scaffold runs as root.
 * It must exist here and not be root.  *given: a user was named (right
 * or wrong), so that it is not also said to be missing.
 */
static void
load_local(struct lctx *x, const struct ynode *n, struct config *cf,
	   int *given)
{
	static const char *const keys[] = { "user" };
	const struct ynode *s[ARRAY_SIZE(keys)];
	struct passwd pw, *found = NULL;
	char *pwbuf = NULL;
	size_t pwlen = 16384;
	const char *user;
	int r;

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'local' must be a mapping with 'user', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "local", keys, ARRAY_SIZE(keys), s, NULL);
	if (!s[0])
		return;
	*given = 1;
	if (!(user = yn_nonempty(x, s[0], "local.user")))
		return;
	for (;;) {
		pwbuf = xrealloc(pwbuf, pwlen);
		r = getpwnam_r(user, &pw, pwbuf, pwlen, &found);
		if (r != ERANGE || pwlen >= (1u << 20))
			break;
		pwlen *= 2;
	}
	if (r != 0)
		yn_err(x, s[0], "'local.user': cannot look up user '%s': %s",
		       yn_qs(x, user), strerror(r));
	else if (!found)
		yn_err(x, s[0], "'local.user' names '%s', which is not a user "
				"on this machine",
		       yn_qs(x, user));
	else if (found->pw_uid == 0)
		yn_err(x, s[0], "'local.user' names '%s', whose uid is 0: "
				"local tasks must run as an unprivileged user "
				"(e.g. nobody)",
		       yn_qs(x, user));
	else
		cf->local_user = user;
	free(pwbuf);
}

/* A size such as 512K, 256M, 1G or a number of bytes, at least 1. */
static void
get_size(struct lctx *x, const struct ynode *n, const char *field,
	 int64_t *out)
{
	int64_t v = 0;
	int r = ERR_INVALID;

	if (n->kind == Y_SCALAR && strlen(n->str) == n->len)
		r = size_parse(&v, n->str);
	if (r == 0 && v > 0)
		*out = v;
	else
		yn_err(x, n, "'%s' must be a size from 1 byte to 1024T, such "
			     "as 512K, 256M or 1G, not %s",
		       field, yn_desc(x, n));
}

/* limits: {store_file, store_run, run_log, header_timeout, body_min_rate} */
static void
load_limits(struct lctx *x, const struct ynode *n, struct config *cf)
{
	static const char *const keys[] = { "store_file", "store_run",
					    "run_log", "header_timeout",
					    "body_min_rate" };
	const struct ynode *s[ARRAY_SIZE(keys)];

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'limits' must be a mapping with 'store_file', "
			     "'store_run', 'run_log', 'header_timeout' and "
			     "'body_min_rate', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "limits", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0])
		get_size(x, s[0], "limits.store_file", &cf->store_file_max);
	if (s[1])
		get_size(x, s[1], "limits.store_run", &cf->store_run_max);
	if (s[2])
		get_size(x, s[2], "limits.run_log", &cf->run_log_max);
	if (s[3])
		yn_duration(x, s[3], "limits.header_timeout",
			    &cf->http_head_timeout_ms);
	if (s[4])
		get_size(x, s[4], "limits.body_min_rate", &cf->http_body_rate);
}

/* retention: {runs, keep_last_runs, deliveries} */
static void
load_retention(struct lctx *x, const struct ynode *n, struct config *cf)
{
	static const char *const keys[] = { "runs", "keep_last_runs",
					    "deliveries" };
	const struct ynode *s[ARRAY_SIZE(keys)];

	if (n->kind != Y_MAP) {
		yn_err(x, n, "'retention' must be a mapping with 'runs', "
			     "'keep_last_runs' and 'deliveries', not %s",
		       yn_kind(n));
		return;
	}
	yn_match_keys(x, n, "retention", keys, ARRAY_SIZE(keys), s, NULL);
	if (s[0])
		yn_duration(x, s[0], "retention.runs", &cf->retain_runs_ms);
	if (s[1])
		get_int(x, s[1], "retention.keep_last_runs", 1, 1000000,
			&cf->retain_last_runs);
	if (s[2])
		yn_duration(x, s[2], "retention.deliveries",
			    &cf->retain_deliveries_ms);
}

int
config_load(struct config **out, const char *path, struct diags *diags)
{
	struct config *cf = xcalloc(1, sizeof(*cf));
	struct buf data = BUF_INIT, base = BUF_INIT;
	struct ydoc doc;
	struct lctx x;
	const struct ynode *s[K_N], *n;
	size_t errors = diags->nerrors, i, j;
	const char *slash;
	char *end;
	long v;
	unsigned allowed = SCHEMES_DEFAULT;
	int ret = ERR_INVALID, user_given = 0, need_user;

	*out = NULL;
	memset(&doc, 0, sizeof(doc));
	memset(&x, 0, sizeof(x));
	x.file = path;
	x.diags = diags;
	x.arena = &cf->arena;
	buf_init(&x.what);
	cf->file = arena_strdup(&cf->arena, path);
	slash = strrchr(path, '/');
	if (slash)
		buf_add(&base, path, (size_t)(slash - path));
	else
		buf_puts(&base, ".");
	if (buf_read_file(&data, path, 1 << 20) < 0) {
		diags_add(diags, DIAG_ERROR, path, (struct pos){ 0, 0 }, "%s",
			  err_msg());
		goto out;
	}
	if (ydoc_parse(&doc, path, data.ptr, data.len, diags) < 0)
		goto out;
	if (!doc.root || doc.root->kind != Y_MAP) {
		diags_add(diags, DIAG_ERROR, path,
			  doc.root ? doc.root->pos : (struct pos){ 1, 1 },
			  "the config must be a mapping with 'data_dir' and "
			  "'repos'");
		goto out;
	}
	yn_match_keys(&x, doc.root, NULL, config_keys, K_N, s, NULL);
	cf->listen = "127.0.0.1:8080";
	if (s[K_LISTEN])
		cf->listen = yn_nonempty(&x, s[K_LISTEN], "listen");
	if (s[K_PUBLIC_URL])
		cf->public_url = yn_nonempty(&x, s[K_PUBLIC_URL], "public_url");
	if (s[K_DATA_DIR] &&
	    (cf->data_dir = yn_nonempty(&x, s[K_DATA_DIR], "data_dir")))
		cf->data_dir = resolve(&x, base.ptr, cf->data_dir);
	cf->public_status = PUBLIC_SUMMARY;
	if (s[K_PUBLIC_STATUS])
		load_public_status(&x, s[K_PUBLIC_STATUS], cf);
	cf->session_lifetime_ms = CONFIG_SESSION_LIFETIME;
	if (s[K_SESSION_LIFETIME])
		yn_duration(&x, s[K_SESSION_LIFETIME], "session_lifetime",
			    &cf->session_lifetime_ms);
	cf->poll_interval_ms = 3 * 60 * 1000;
	if (s[K_POLL])
		yn_duration(&x, s[K_POLL], "poll_interval",
			    &cf->poll_interval_ms);
	cf->fetch_timeout_ms = 60 * 1000;
	if (s[K_FETCH_TIMEOUT])
		yn_duration(&x, s[K_FETCH_TIMEOUT], "fetch_timeout",
			    &cf->fetch_timeout_ms);
	cf->max_parallel = 4;
	if ((n = s[K_MAX_PARALLEL])) {
		v = -1;
		end = NULL;
		if (n->kind == Y_SCALAR && n->len)
			v = strtol(n->str, &end, 10);
		if (!end || *end || v < 1 || v > 256)
			yn_err(&x, n, "'max_parallel' must be a number from 1 "
				      "to 256, not %s",
			       yn_desc(&x, n));
		else
			cf->max_parallel = (int)v;
	}
	cf->max_checks_parallel = 2;
	if (s[K_MAX_CHECKS_PARALLEL])
		get_int(&x, s[K_MAX_CHECKS_PARALLEL], "max_checks_parallel", 1,
			256, &cf->max_checks_parallel);
	if (s[K_DOCKER])
		load_docker(&x, s[K_DOCKER], cf, base.ptr);
	if (s[K_SWARM])
		load_swarm(&x, s[K_SWARM], cf, base.ptr);
	if (s[K_HOSTS] && !ynode_is_null(s[K_HOSTS]))
		load_hosts(&x, s[K_HOSTS], cf, base.ptr);
	if (s[K_REPO_SCHEMES])
		allowed = load_schemes(&x, s[K_REPO_SCHEMES]);
	if (s[K_LOCAL] && !ynode_is_null(s[K_LOCAL]))
		load_local(&x, s[K_LOCAL], cf, &user_given);
	buf_reset(&x.what);
	cf->store_file_max = CONFIG_STORE_FILE_MAX;
	cf->store_run_max = CONFIG_STORE_RUN_MAX;
	cf->run_log_max = CONFIG_RUN_LOG_MAX;
	cf->http_head_timeout_ms = CONFIG_HEADER_TIMEOUT_MS;
	cf->http_body_rate = CONFIG_BODY_MIN_RATE;
	if (s[K_LIMITS] && !ynode_is_null(s[K_LIMITS]))
		load_limits(&x, s[K_LIMITS], cf);
	if (s[K_RETENTION] && !ynode_is_null(s[K_RETENTION]))
		load_retention(&x, s[K_RETENTION], cf);
	/* as root, local tasks need a user to run as (docs/config.md) */
	need_user = geteuid() == 0 && !user_given;
	if ((n = s[K_REPOS]) && !ynode_is_null(n)) {
		if (n->kind != Y_SEQ) {
			yn_err(&x, n, "'repos' must be a list, not %s",
			       yn_kind(n));
		} else {
			cf->repos = arena_alloc(&cf->arena,
						(n->n + 1) * sizeof(*cf->repos));
			cf->nrepos = n->n;
			for (i = 0; i < n->n; i++)
				load_repo(&x, n->items[i], i, &cf->repos[i],
					  base.ptr, allowed, &need_user);
			buf_reset(&x.what);
			for (i = 0; i < cf->nrepos; i++)
				for (j = 0; j < i; j++)
					if (cf->repos[i].name &&
					    cf->repos[j].name &&
					    !strcmp(cf->repos[i].name,
						    cf->repos[j].name))
						diags_add(diags, DIAG_ERROR,
							  path, cf->repos[i].pos,
							  "duplicate repo name "
							  "'%s' (first at line "
							  "%d)",
							  cf->repos[i].name,
							  cf->repos[j].pos.line);
		}
	}
	if (!cf->public_url && cf->listen) {
		struct buf u = BUF_INIT;

		buf_addf(&u, "http://%s", cf->listen);
		cf->public_url = arena_strdup(&cf->arena, u.ptr);
		cf->public_url_derived = 1;
		buf_release(&u);
	}
	ret = diags->nerrors == errors ? 0 : ERR_INVALID;
out:
	if (ret == 0) {
		/* the strings live in the document: keep it with the config */
		cf->doc_arena = arena_alloc(&cf->arena, sizeof(*cf->doc_arena));
		*cf->doc_arena = doc.arena;
		*out = cf;
	} else {
		ydoc_release(&doc);
		config_free(cf);
	}
	buf_release(&x.what);
	buf_release(&data);
	buf_release(&base);
	return ret;
}

void
config_free(struct config *cf)
{
	if (!cf)
		return;
	if (cf->doc_arena)
		arena_release(cf->doc_arena);
	arena_release(&cf->arena);
	free(cf);
}

const struct repo_config *
config_repo(const struct config *cf, const char *name)
{
	size_t i;

	for (i = 0; i < cf->nrepos; i++)
		if (!strcmp(cf->repos[i].name, name))
			return &cf->repos[i];
	return NULL;
}

/* Where the message about a refused runner goes, and what it says. */
static void
refuse_runner(struct diags *diags, const struct repo_config *rc,
	      const struct cascade *c, const struct task *t, struct pos pos,
	      const char *how)
{
	struct buf b = BUF_INIT;

	if (t)
		buf_addf(&b, "task '%s': ", t->name);
	diags_add(diags, DIAG_ERROR, c->file, pos,
		  "%srunner '%s'%s is not allowed for repo '%s' (its "
		  "'runners' in the daemon config: %s)",
		  b.ptr, t ? t->runner : c->runner, how, rc->name,
		  rc->runners_text);
	buf_release(&b);
}

int
config_check_runners(const struct repo_config *rc, const struct cascade *c,
		     struct diags *diags)
{
	const struct task *t;
	int k, cascade_said = 0, ret = 0;
	size_t i;

	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[i];
		k = runner_kind_index(t->runner);
		if (k >= 0 && (rc->runners & (1u << k)))
			continue;
		ret = ERR_INVALID;
		if (t->runner_pos.line) {
			refuse_runner(diags, rc, c, t, t->runner_pos, "");
		} else if (c->runner && !strcmp(c->runner, t->runner)) {
			/* said once, at the cascade's runner */
			if (!cascade_said++)
				refuse_runner(diags, rc, c, NULL,
					      c->runner_pos, "");
		} else {
			refuse_runner(diags, rc, c, t, t->pos,
				      t->image ? " (the default for a task "
						 "with an image)"
					       : " (the default for a task "
						 "without an image)");
		}
	}
	return ret;
}

int
config_check_hosts(const struct config *cf, const struct cascade *c,
		   struct diags *diags)
{
	const struct task *t;
	const struct name_ref *h;
	struct buf inv = BUF_INIT;
	size_t i, j, k;
	int ret = 0;

	for (k = 0; k < cf->nhosts; k++)
		buf_addf(&inv, "%s%s", k ? ", " : "", cf->hosts[k].name);
	for (i = 0; i < c->ntasks; i++) {
		t = &c->tasks[i];
		if (!t->check)
			continue;
		for (j = 0; j < t->check->hosts.n; j++) {
			h = &t->check->hosts.v[j];
			for (k = 0; k < cf->nhosts; k++)
				if (!strcmp(cf->hosts[k].name, h->name))
					break;
			if (k < cf->nhosts)
				continue;
			ret = ERR_INVALID;
			diags_add(diags, DIAG_ERROR, c->file, h->pos,
				  "task '%s': check host '%s' is not in the "
				  "daemon config's 'hosts' (%s): its probe "
				  "could not reach it",
				  t->name, h->name,
				  inv.len ? inv.ptr : "none");
		}
	}
	buf_release(&inv);
	return ret;
}
