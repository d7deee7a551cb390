/*
 * hooks.c - forge webhooks: POST /hooks/github, /hooks/gitlab and
 * /hooks/gitea (Forgejo sends the same).  The signature is checked before
 * anything in the payload is believed; an accepted push is recorded in the
 * store before the answer, then its repos sync at once.  Events that are
 * not pushes get 202 and are ignored: forges disable hooks that keep
 * failing.  Pull requests into a followed branch that bring a new head
 * (GitHub's and Gitea's pull_request opened, synchronize(d), reopened;
 * GitLab's Merge Request Hook open, update, reopen) ask for a plan of it:
 * the repo's worker fetches refs/pull/N/head (GitLab:
 * refs/merge-requests/N/head) and plans it, daemon/prplan.c.  Nothing of
 * a pull request is ever applied or run.
 *
 * The delivery id is not signed: a delivery is known by its id and by the
 * SHA-256 of its body (which holds the pushed commit), so a captured push
 * sent again under fresh ids is answered as a duplicate and syncs nothing.
 */
#include <ctype.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "webhook-int.h"

/* The repos (by index) whose secret the request proves it knows. */
struct proof {
	unsigned char *ok; /* [cf->nrepos] */
	size_t n;
};

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* Hex HMAC-SHA256 of the body against each repo's secret. */
static void
prove_hmac(struct req *r, const char *sig_hex, struct proof *p)
{
	const struct config *cf = r->cf;
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	size_t i;

	if (strlen(sig_hex) != SHA256_HEX_LEN)
		return;
	memcpy(got, sig_hex, sizeof(got));
	lower(got);
	for (i = 0; i < cf->nrepos; i++) {
		const struct buf *sec = &r->secrets[i];

		if (!sec->len)
			continue;
		hmac_sha256_hex(want, sec->ptr, sec->len, r->body.ptr,
				r->body.len);
		if (crypto_equal(want, got, SHA256_HEX_LEN)) {
			p->ok[i] = 1;
			p->n++;
		}
	}
}

/* A shared token (GitLab's X-Gitlab-Token), compared as digests so the
 * comparison takes the same time whatever the lengths. */
static void
prove_token(struct req *r, const char *token, struct proof *p)
{
	const struct config *cf = r->cf;
	static const char k[] = "scaffold-token-compare";
	unsigned char want[32], got[32];
	size_t i;

	hmac_sha256(got, k, sizeof(k) - 1, token, strlen(token));
	for (i = 0; i < cf->nrepos; i++) {
		const struct buf *sec = &r->secrets[i];

		if (!sec->len)
			continue;
		hmac_sha256(want, k, sizeof(k) - 1, sec->ptr, sec->len);
		if (crypto_equal(want, got, sizeof(got))) {
			p->ok[i] = 1;
			p->n++;
		}
	}
}

static int
any_secret(struct req *r)
{
	size_t i;

	for (i = 0; i < r->cf->nrepos; i++)
		if (r->secrets[i].len)
			return 1;
	return 0;
}

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int
push_error(struct hooks_push *out, int status, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

static int
push_error(struct hooks_push *out, int status, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	buf_reset(&out->error);
	va_start(ap, fmt);
	buf_vaddf(&out->error, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Is ct the media type want (RFC 9110 8.3.1: case-insensitive, optional
 * whitespace and parameters after it, such as "; charset=utf-8")?  A
 * longer type that starts the same ("application/json-evil") is not.
 */
static int
media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (strncasecmp(ct, want, n))
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

/* 415 unless the request's Content-Type is one a push may have: checked
 * before the body is looked up as a duplicate.  1 when answered. */
static int
wrong_type(struct req *r, int forge)
{
	const char *ct = req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

	if (ct && (media_type_is(ct, "application/json") ||
		   media_type_is(ct, "application/x-www-form-urlencoded")))
		return 0;
	reply_error(r, 415, "unsupported Content-Type '%s': send "
			    "application/json",
		    ct ? ct : "");
	http_count_delivery(r->srv, forge, DLV_REJECTED);
	return 1;
}

/* The body as JSON: application/json, or GitHub's form-encoded
 * payload=...; NULL with out's error set. */
static json_t *
payload(struct hooks_push *out, const char *ct, const char *body, size_t len)
{
	struct buf form = BUF_INIT;
	json_error_t jerr;
	json_t *j = NULL;
	const char *p, *end, *amp;
	char *s;

	if (!ct)
		ct = "";
	if (media_type_is(ct, "application/x-www-form-urlencoded")) {
		/* find payload= among the form's fields; the form ends at
		 * the first NUL, if any */
		end = body + strnlen(body, len);
		p = body;
		while (p && ((size_t)(end - p) < 8 || memcmp(p, "payload=", 8))) {
			p = memchr(p, '&', (size_t)(end - p));
			if (p)
				p++;
		}
		if (!p) {
			push_error(out, 400, "the form has no 'payload' field");
			return NULL;
		}
		p += 8;
		amp = memchr(p, '&', (size_t)(end - p));
		buf_add(&form, p, (size_t)((amp ? amp : end) - p));
		for (s = form.ptr; *s; s++)
			if (*s == '+')
				*s = ' ';
		form.len = MHD_http_unescape(form.ptr);
		j = json_loadb(form.ptr, form.len, JSON_REJECT_DUPLICATES,
			       &jerr);
	} else if (media_type_is(ct, "application/json")) {
		j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	} else {
		push_error(out, 415, "unsupported Content-Type '%s': send "
				     "application/json",
			   ct);
		return NULL;
	}
	if (!j)
		push_error(out, 400, "the payload is not valid JSON: line %d "
				     "column %d: %s",
			   jerr.line, jerr.column, jerr.text);
	else if (!json_is_object(j)) {
		push_error(out, 400, "the payload must be a JSON object");
		json_decref(j);
		j = NULL;
	}
	buf_release(&form);
	return j;
}

/* The pull request part of a pull request payload: GitHub's and Gitea's
 * pull_request (Gitea says "synchronized" where GitHub says
 * "synchronize"), GitLab's Merge Request Hook (object_attributes). */
static int
parse_pull(struct hooks_push *out, int forge)
{
	json_t *pr, *num, *changes;
	const char *a;

	if (forge == FORGE_GITLAB) {
		pr = json_object_get(out->json, "object_attributes");
		a = out->action = jstr(pr, "action");
		if (!a)
			return push_error(out, 400,
					  "the Merge Request Hook payload has "
					  "no 'object_attributes.action'");
		out->new_head = !strcmp(a, "open") || !strcmp(a, "update") ||
				!strcmp(a, "reopen");
		if (!strcmp(a, "close"))
			out->closed = "closed";
		else if (!strcmp(a, "merge"))
			out->closed = "merged";
		if (!out->new_head && !out->closed)
			return 0;
		num = json_object_get(pr, "iid");
		out->head = jstr(json_object_get(pr, "last_commit"), "id");
		out->base = jstr(pr, "target_branch");
	} else {
		pr = json_object_get(out->json, "pull_request");
		a = out->action = jstr(out->json, "action");
		if (!a || !json_is_object(pr))
			return push_error(out, 400,
					  "the pull_request payload has no "
					  "'action' or 'pull_request'");
		out->new_head = !strcmp(a, "opened") ||
				!strcmp(a, "synchronize") ||
				!strcmp(a, "synchronized") ||
				!strcmp(a, "reopened");
		if (!strcmp(a, "closed"))
			out->closed = json_is_true(json_object_get(pr,
								   "merged"))
					      ? "merged"
					      : "closed";
		changes = json_object_get(out->json, "changes");
		if (!strcmp(a, "edited") &&
		    (json_is_object(json_object_get(changes, "base")) ||
		     json_is_object(json_object_get(changes, "ref"))))
			out->new_head = out->base_edited = 1;
		if (!out->new_head && !out->closed)
			return 0;
		num = json_object_get(out->json, "number");
		if (!json_is_integer(num))
			num = json_object_get(pr, "number");
		out->head = jstr(json_object_get(pr, "head"), "sha");
		out->base = jstr(json_object_get(pr, "base"), "ref");
	}
	out->number = json_integer_value(num);
	/* a SHA-1 commit id, as the forges send */
	if (json_is_integer(num) && out->number >= 1 &&
	    out->number <= 999999999 && out->head && out->base &&
	    strlen(out->head) == 40 &&
	    strspn(out->head, "0123456789abcdef") == 40)
		return 0;
	if (forge == FORGE_GITLAB)
		return push_error(out, 400,
				  "the Merge Request Hook payload needs "
				  "'object_attributes.iid' (1 to 999999999), "
				  "'object_attributes.last_commit.id' (40 hex "
				  "digits) and 'object_attributes.target_branch'");
	return push_error(out, 400,
			  "the pull_request payload needs 'number' (1 to "
			  "999999999), 'pull_request.head.sha' (40 hex "
			  "digits) and 'pull_request.base.ref'");
}

int
hooks_parse_push(struct hooks_push *out, int forge, const char *content_type,
		 const char *body, size_t len)
{
	return hooks_parse_event(out, forge, 0, content_type, body, len);
}

/* The payload's ref, commit and repository (project, URLs), by forge. */
int
hooks_parse_event(struct hooks_push *out, int forge, int pull,
		  const char *content_type, const char *body, size_t len)
{
	json_t *j, *repo;

	memset(out, 0, sizeof(*out));
	buf_init(&out->error);
	if (!(j = out->json = payload(out, content_type, body, len)))
		return -1;
	out->ref = jstr(j, "ref");
	out->after = jstr(j, "after");
	switch (forge) {
	case FORGE_GITHUB:
		repo = json_object_get(j, "repository");
		out->urls[0] = jstr(repo, "clone_url");
		out->urls[1] = jstr(repo, "ssh_url");
		out->urls[2] = jstr(repo, "git_url");
		out->urls[3] = jstr(repo, "html_url");
		out->nurls = 4;
		out->project = jstr(repo, "full_name");
		break;
	case FORGE_GITLAB:
		repo = json_object_get(j, "project");
		out->urls[0] = jstr(repo, "git_http_url");
		out->urls[1] = jstr(repo, "git_ssh_url");
		out->urls[2] = jstr(repo, "web_url");
		out->urls[3] = jstr(json_object_get(j, "repository"),
				    "git_http_url");
		out->nurls = 4;
		out->project = jstr(repo, "path_with_namespace");
		break;
	default:
		repo = json_object_get(j, "repository");
		out->urls[0] = jstr(repo, "clone_url");
		out->urls[1] = jstr(repo, "ssh_url");
		out->urls[2] = jstr(repo, "html_url");
		out->nurls = 3;
		out->project = jstr(repo, "full_name");
		break;
	}
	if (!pull) {
		if (!out->ref)
			return push_error(out, 400,
					  "the push payload has no 'ref'");
		return 0;
	}
	return parse_pull(out, forge);
}

void
hooks_push_release(struct hooks_push *p)
{
	json_decref(p->json);
	p->json = NULL;
	buf_release(&p->error);
}

/* A URL without a trailing "/" or ".git", for comparing. */
static void
norm_url(struct buf *out, const char *u)
{
	size_t n = strlen(u);

	while (n && u[n - 1] == '/')
		n--;
	if (n > 4 && !strncmp(u + n - 4, ".git", 4))
		n -= 4;
	buf_reset(out);
	buf_add(out, u, n);
}

/* Does the payload's repository (project, URLs) name this repo? */
static int
names_repo(const struct repo_config *rc, const char *project,
	   const char *const *urls, size_t nurls)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	int hit = 0;
	size_t i;

	if (project && rc->project && !strcasecmp(project, rc->project))
		hit = 1;
	norm_url(&a, rc->url);
	for (i = 0; i < nurls && !hit; i++) {
		if (!urls[i])
			continue;
		norm_url(&b, urls[i]);
		if (!strcasecmp(a.ptr, b.ptr))
			hit = 1;
	}
	buf_release(&a);
	buf_release(&b);
	return hit;
}

static void
log_untrusted(struct buf *b, const char *s)
{
	escape_log(b, s ? s : "", s ? strlen(s) : 0);
}

/*
 * A verified push: match repos and branch, record, answer, sync.
 * pu's project and urls identify the pushed repository.
 */
static void
accept_push(struct req *r, int forge, const struct proof *p,
	    const char *delivery, const char *digest, const char *event,
	    const struct hooks_push *pu)
{
	const struct config *cf = r->cf;
	const char *ref = pu->ref, *after = pu->after;
	const char *project = pu->project;
	const char *const *urls = pu->urls;
	size_t nurls = pu->nurls;
	struct delivery_row d;
	struct store *st;
	struct strvec fresh = STRVEC_INIT, other = STRVEC_INIT;
	struct buf lg = BUF_INIT;
	char after_kept[SHA256_HEX_LEN + 1];
	json_t *repos;
	size_t i, named = 0;
	int rc, ret = -1;

	/* a commit id is 40 or 64 hex digits: keep no more than that of an
	 * unsigned payload's (GitLab's token proves no body) */
	if (after && strlen(after) > SHA256_HEX_LEN) {
		memcpy(after_kept, after, SHA256_HEX_LEN);
		after_kept[SHA256_HEX_LEN] = '\0';
		after = after_kept;
	}

	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *c = &cf->repos[i];

		if (!p->ok[i] || !names_repo(c, project, urls, nurls))
			continue;
		named++;
		if (strncmp(ref, "refs/heads/", 11) ||
		    strcmp(ref + 11, c->branch))
			strvec_push(&other, c->name);
		else
			strvec_push(&fresh, c->name);
	}
	if (!named) {
		reply_error(r, 404, "no repository in the config with this "
				    "webhook secret is '%s'",
			    project ? project : urls[0] ? urls[0] : "?");
		http_count_delivery(r->srv, forge, DLV_REJECTED);
		goto out;
	}
	if (!fresh.n) {
		struct buf m = BUF_INIT;

		buf_addf(&m, "a push to '%s', which no repo follows (repo "
			     "'%s' follows '%s')",
			 ref, other.v[0], config_repo(cf, other.v[0])->branch);
		reply_json(r, 202, json_pack("{s:s}", "ignored", m.ptr));
		buf_release(&m);
		http_count_delivery(r->srv, forge, DLV_IGNORED);
		goto out;
	}
	if (!(st = req_store(r)))
		goto out;
	if (store_begin(st) < 0)
		goto fail;
	repos = json_array();
	for (i = 0; i < fresh.n; i++) {
		memset(&d, 0, sizeof(d));
		d.forge = forge_names[forge];
		d.delivery = delivery;
		d.event = event;
		d.repo = fresh.v[i];
		d.ref = ref;
		d.after = after;
		d.digest = digest;
		rc = store_delivery_record(st, &d, NULL);
		if (rc == ERR_CONFLICT)
			continue;
		if (rc < 0) {
			json_decref(repos);
			store_rollback(st);
			goto fail;
		}
		json_array_append_new(repos, json_string(fresh.v[i]));
	}
	if (store_commit(st) < 0) {
		json_decref(repos);
		store_rollback(st);
		goto fail;
	}
	buf_addf(&lg, "webhook: %s delivery ", forge_names[forge]);
	log_untrusted(&lg, delivery ? delivery : "(no id)");
	buf_puts(&lg, ": push to ");
	log_untrusted(&lg, ref);
	buf_puts(&lg, " at ");
	log_untrusted(&lg, after ? after : "?");
	if (!json_array_size(repos)) {
		log_debug("%s: a duplicate, ignored", lg.ptr);
		json_decref(repos);
		reply_json(r, 200, json_pack("{s:b,s:s?}", "duplicate", 1,
					     "delivery", delivery));
		http_count_delivery(r->srv, forge, DLV_DUPLICATE);
		ret = 0;
		goto out;
	}
	for (i = 0; i < json_array_size(repos); i++) {
		const char *name = json_string_value(json_array_get(repos, i));

		/* a repo due to sync already does not queue another */
		if (r->srv->hooks->sync(r->srv->hooks->arg, name))
			log_info("%s: repo '%s' syncs now", lg.ptr, name);
		else
			log_info("%s: repo '%s' is due to sync already",
				 lg.ptr, name);
	}
	reply_json(r, 202, json_pack("{s:b,s:s?,s:o}", "accepted", 1,
				     "delivery", delivery, "repos", repos));
	http_count_delivery(r->srv, forge, DLV_ACCEPTED);
	ret = 0;
	goto out;
fail:
	log_warnx("webhook: %s", err_msg());
	reply_error(r, 503, "the delivery could not be recorded: %s",
		    err_msg());
out:
	(void)ret;
	strvec_clear(&fresh);
	strvec_clear(&other);
	buf_release(&lg);
}

/*
 * A verified pull request closed (or merged): for every repo it names,
 * with the delivery recorded (de-duplication), its plans are marked
 * closed (the page says so, a pending one is not planned) and a comment
 * made before is updated to say so.  202 either way: a pull request never
 * planned has nothing to clear.
 */
static void
close_pull_request(struct req *r, int forge, const struct proof *p,
		   const char *delivery, const char *digest,
		   const struct hooks_push *pu)
{
	const struct config *cf = r->srv->cf;
	struct delivery_row d;
	struct store *st;
	struct buf ref = BUF_INIT, lg = BUF_INIT;
	json_t *repos = json_array();
	size_t i, named = 0, enqueued = 0;
	int rc, nclosed, total = 0;

	if (!(st = req_store(r)))
		goto out;
	buf_addf(&ref, forge == FORGE_GITLAB ? "refs/merge-requests/%lld/head"
					     : "refs/pull/%lld/head",
		 (long long)pu->number);
	if (store_begin(st) < 0)
		goto fail;
	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *c = &cf->repos[i];

		if (!p->ok[i] ||
		    !names_repo(c, pu->project, pu->urls, pu->nurls))
			continue;
		named++;
		memset(&d, 0, sizeof(d));
		d.forge = forge_names[forge];
		d.delivery = delivery;
		d.event = forge == FORGE_GITLAB ? "Merge Request Hook"
						: "pull_request";
		d.repo = c->name;
		d.ref = ref.ptr;
		d.after = pu->head;
		d.digest = digest;
		rc = store_delivery_record(st, &d, NULL);
		if (rc == ERR_CONFLICT)
			continue;
		if (rc < 0 ||
		    store_prplans_close(st, c->name, pu->number, pu->closed,
					&nclosed) < 0 ||
		    (nclosed && prcomment_closed(st, cf, c, pu->number,
						 pu->head, pu->closed,
						 &enqueued) < 0)) {
			store_rollback(st);
			goto fail;
		}
		total += nclosed;
		json_array_append_new(repos, json_string(c->name));
	}
	if (!named) {
		store_rollback(st);
		reply_error(r, 404, "no repository in the config with this "
				    "webhook secret is '%s'",
			    pu->project ? pu->project
					: pu->urls[0] ? pu->urls[0] : "?");
		http_count_delivery(r->srv, forge, DLV_REJECTED);
		goto out;
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		goto fail;
	}
	if (enqueued && r->srv->hooks->outbox)
		r->srv->hooks->outbox(r->srv->hooks->arg);
	buf_addf(&lg, "webhook: %s delivery ", forge_names[forge]);
	log_untrusted(&lg, delivery ? delivery : "(no id)");
	buf_addf(&lg, ": pull request #%lld %s", (long long)pu->number,
		 pu->closed);
	if (!json_array_size(repos)) {
		log_debug("%s: a duplicate, ignored", lg.ptr);
		reply_json(r, 200, json_pack("{s:b,s:s?}", "duplicate", 1,
					     "delivery", delivery));
		http_count_delivery(r->srv, forge, DLV_DUPLICATE);
		goto out;
	}
	log_info("%s: %d plan%s cleared", lg.ptr, total, total == 1 ? "" : "s");
	reply_json(r, 202, json_pack("{s:s,s:s?,s:I,s:O}", "closed", pu->closed,
				     "delivery", delivery, "pull_request",
				     (json_int_t)pu->number, "repos", repos));
	http_count_delivery(r->srv, forge, DLV_ACCEPTED);
	goto out;
fail:
	log_warnx("webhook: %s", err_msg());
	reply_error(r, 503, "the delivery could not be recorded: %s",
		    err_msg());
out:
	json_decref(repos);
	buf_release(&ref);
	buf_release(&lg);
}

/*
 * A verified pull request delivery: the actions that bring a new head
 * (opened, synchronize, reopened; edited with a new base) into a followed
 * branch ask for its plan, recorded with the delivery (for
 * de-duplication) before the answer; the repo's worker plans it after its
 * next fetch.  Closed ones clear their preview (above).  Other actions
 * and other branches get 202 and change nothing.
 */
static void
accept_pull_request(struct req *r, int forge, const struct proof *p,
		    const char *delivery, const char *digest,
		    const struct hooks_push *pu)
{
	const struct config *cf = r->srv->cf;
	const char *head = pu->head, *base = pu->base;
	int64_t number = pu->number;
	struct delivery_row d;
	struct store *st;
	struct strvec fresh = STRVEC_INIT, other = STRVEC_INIT;
	struct buf m = BUF_INIT, ref = BUF_INIT, lg = BUF_INIT;
	json_t *repos = NULL;
	size_t i, named = 0;
	int rc, isnew;

	if (pu->closed) {
		close_pull_request(r, forge, p, delivery, digest, pu);
		goto out;
	}
	if (!pu->new_head) {
		buf_puts(&m, "pull request action '");
		buf_puts(&m, pu->action);
		buf_puts(&m, !strcmp(pu->action, "edited")
				     ? "' changes neither its head nor its base"
				     : "' brings no new head");
		reply_json(r, 202, json_pack("{s:s}", "ignored", m.ptr));
		http_count_delivery(r->srv, forge, DLV_IGNORED);
		goto out;
	}
	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *c = &cf->repos[i];

		if (!p->ok[i] ||
		    !names_repo(c, pu->project, pu->urls, pu->nurls))
			continue;
		named++;
		strvec_push(strcmp(base, c->branch) ? &other : &fresh,
			    c->name);
	}
	if (!named) {
		reply_error(r, 404, "no repository in the config with this "
				    "webhook secret is '%s'",
			    pu->project ? pu->project
					: pu->urls[0] ? pu->urls[0] : "?");
		http_count_delivery(r->srv, forge, DLV_REJECTED);
		goto out;
	}
	if (!fresh.n) {
		buf_puts(&m, "a pull request into '");
		buf_puts(&m, base);
		buf_addf(&m, "', which no repo follows (repo '%s' follows "
			     "'%s')",
			 other.v[0], config_repo(cf, other.v[0])->branch);
		reply_json(r, 202, json_pack("{s:s}", "ignored", m.ptr));
		http_count_delivery(r->srv, forge, DLV_IGNORED);
		goto out;
	}
	if (!(st = req_store(r)))
		goto out;
	/* the head as the base repository serves it */
	buf_addf(&ref, forge == FORGE_GITLAB ? "refs/merge-requests/%lld/head"
					     : "refs/pull/%lld/head",
		 (long long)number);
	if (store_begin(st) < 0)
		goto fail;
	repos = json_array();
	for (i = 0; i < fresh.n; i++) {
		memset(&d, 0, sizeof(d));
		d.forge = forge_names[forge];
		d.delivery = delivery;
		d.event = forge == FORGE_GITLAB ? "Merge Request Hook"
						: "pull_request";
		d.repo = fresh.v[i];
		d.ref = ref.ptr;
		d.after = head;
		d.digest = digest;
		rc = store_delivery_record(st, &d, NULL);
		if (rc == ERR_CONFLICT)
			continue;
		if (rc < 0 ||
		    store_prplan_request(st, fresh.v[i], number, ref.ptr, head,
					 base, &isnew) < 0) {
			store_rollback(st);
			goto fail;
		}
		json_array_append_new(repos, json_string(fresh.v[i]));
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		goto fail;
	}
	buf_addf(&lg, "webhook: %s delivery ", forge_names[forge]);
	log_untrusted(&lg, delivery ? delivery : "(no id)");
	buf_addf(&lg, ": pull request #%lld at %s", (long long)number, head);
	if (!json_array_size(repos)) {
		log_debug("%s: a duplicate, ignored", lg.ptr);
		reply_json(r, 200, json_pack("{s:b,s:s?}", "duplicate", 1,
					     "delivery", delivery));
		http_count_delivery(r->srv, forge, DLV_DUPLICATE);
		goto out;
	}
	for (i = 0; i < json_array_size(repos); i++) {
		const char *name = json_string_value(json_array_get(repos, i));

		log_info("%s: repo '%s' plans it", lg.ptr, name);
		r->srv->hooks->sync(r->srv->hooks->arg, name);
	}
	reply_json(r, 202, json_pack("{s:b,s:s?,s:I,s:O}", "accepted", 1,
				     "delivery", delivery, "pull_request",
				     (json_int_t)number, "repos", repos));
	http_count_delivery(r->srv, forge, DLV_ACCEPTED);
	goto out;
fail:
	log_warnx("webhook: %s", err_msg());
	reply_error(r, 503, "the delivery could not be recorded: %s",
		    err_msg());
out:
	json_decref(repos);
	strvec_clear(&fresh);
	strvec_clear(&other);
	buf_release(&m);
	buf_release(&ref);
	buf_release(&lg);
}

/*
 * A retried delivery (its id recorded already), or a replayed one (its
 * body), is answered as a duplicate before its payload is parsed or the
 * store locked: forges retry in bursts.  1 when answered.
 */
static int
known_delivery(struct req *r, int forge, const char *delivery,
	       const char *digest)
{
	struct store *st;
	int seen = 0;

	if (!(st = req_store(r)))
		return 0;
	if (store_delivery_seen(st, forge_names[forge], delivery, digest,
				&seen) < 0)
		return 0; /* the insert will tell */
	if (!seen)
		return 0;
	log_debug("webhook: %s delivery seen before, a duplicate",
		  forge_names[forge]);
	reply_json(r, 200, json_pack("{s:b,s:s?}", "duplicate", 1, "delivery",
				     delivery));
	http_count_delivery(r->srv, forge, DLV_DUPLICATE);
	return 1;
}

/*
 * Refused deliveries are logged with the address they came from, one line
 * an address every REFUSED_LOG_MS at most, the next one counting those
 * left out: a flood of bad signatures must not fill the disk.  The table
 * is the process's (one HTTP server a daemon); an address that finds it
 * full of recent ones is counted with the others.
 */
#define REFUSED_LOG_MS 10000
#define REFUSED_SLOTS 64
static struct {
	char addr[NI_MAXHOST];
	int64_t logged_at;
	unsigned long left_out;
} refused[REFUSED_SLOTS];
static unsigned long refused_others;
static pthread_mutex_t refused_lock = PTHREAD_MUTEX_INITIALIZER;

static void
client_address(struct req *r, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	socklen_t len = sa && sa->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in);

	if (!sa || getnameinfo(sa, len, out, (socklen_t)size, NULL, 0,
			       NI_NUMERICHOST) != 0)
		snprintf(out, size, "an unknown address");
}

static void
log_refused(struct req *r, int forge, const char *why)
{
	char addr[NI_MAXHOST];
	int64_t now = store_now_ms();
	unsigned long left_out = 0, others = 0;
	size_t i, slot = REFUSED_SLOTS, oldest = 0;
	int say = 0;

	client_address(r, addr, sizeof(addr));
	pthread_mutex_lock(&refused_lock);
	for (i = 0; i < REFUSED_SLOTS; i++) {
		if (!strcmp(refused[i].addr, addr)) {
			slot = i;
			break;
		}
		if (refused[i].logged_at < refused[oldest].logged_at)
			oldest = i;
	}
	if (slot == REFUSED_SLOTS &&
	    now - refused[oldest].logged_at >= REFUSED_LOG_MS) {
		/* a free slot, or one quiet long enough to reuse */
		slot = oldest;
		snprintf(refused[slot].addr, sizeof(refused[slot].addr), "%s",
			 addr);
		refused[slot].logged_at = 0;
		refused[slot].left_out = 0;
	}
	if (slot == REFUSED_SLOTS) {
		refused_others++;
	} else if (now - refused[slot].logged_at >= REFUSED_LOG_MS) {
		say = 1;
		left_out = refused[slot].left_out;
		others = refused_others;
		refused[slot].logged_at = now;
		refused[slot].left_out = 0;
		refused_others = 0;
	} else {
		refused[slot].left_out++;
	}
	pthread_mutex_unlock(&refused_lock);
	if (!say)
		return;
	if (left_out || others)
		log_warnx("webhook: %s delivery from %s refused (401): %s (%lu "
			  "more from there, %lu from elsewhere, not logged)",
			  forge_names[forge], addr, why, left_out, others);
	else
		log_warnx("webhook: %s delivery from %s refused (401): %s",
			  forge_names[forge], addr, why);
}

/* Check the proof; 0 when some repo's secret verified it. */
static int
require_proof(struct req *r, int forge, const char *header, const char *sig,
	      struct proof *p)
{
	struct buf m = BUF_INIT;

	if (!any_secret(r))
		buf_puts(&m, "no repository in the config has a "
			     "webhook_secret_file");
	else if (!sig)
		buf_addf(&m, "missing %s header", header);
	else if (!p->n)
		buf_addf(&m, "the %s header does not match the webhook secret "
			     "of any repository",
			 header);
	else
		return 0;
	reply_error(r, 401, "%s", m.ptr);
	log_refused(r, forge, m.ptr);
	buf_release(&m);
	http_count_delivery(r->srv, forge, DLV_UNAUTHORIZED);
	return -1;
}

/* The delivery id as kept: cut to DELIVERY_ID_MAX bytes; NULL: none. */
static const char *
delivery_id(char out[DELIVERY_ID_MAX + 1], const char *header)
{
	size_t n;

	if (!header)
		return NULL;
	n = strnlen(header, DELIVERY_ID_MAX + 1);
	if (n > DELIVERY_ID_MAX) {
		/* not in the middle of a UTF-8 sequence */
		n = DELIVERY_ID_MAX;
		while (n > 0 && ((unsigned char)header[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, header, n);
	out[n] = '\0';
	return out;
}

static void
ignore_event(struct req *r, int forge, const char *event)
{
	struct buf m = BUF_INIT;

	buf_addf(&m, "event '%s' is not a push", event ? event : "");
	reply_json(r, 202, json_pack("{s:s}", "ignored", m.ptr));
	http_count_delivery(r->srv, forge, DLV_IGNORED);
	buf_release(&m);
}

static void
hook_github(struct req *r)
{
	struct proof p = { xcalloc(r->cf->nrepos + 1, 1), 0 };
	const char *sig = req_header(r, "X-Hub-Signature-256");
	const char *event = req_header(r, "X-GitHub-Event");
	char idbuf[DELIVERY_ID_MAX + 1], digest[SHA256_HEX_LEN + 1];
	const char *delivery = delivery_id(idbuf,
					   req_header(r, "X-GitHub-Delivery"));
	struct hooks_push pu = { NULL, NULL, NULL, NULL, { NULL }, 0, 0,
				 BUF_INIT };
	int pull = 0;

	if (sig && !strncasecmp(sig, "sha256=", 7))
		prove_hmac(r, sig + 7, &p);
	if (require_proof(r, FORGE_GITHUB, "X-Hub-Signature-256", sig, &p) < 0)
		goto out;
	if (event && !strcmp(event, "ping")) {
		reply_json(r, 200, json_pack("{s:s}", "ok", "pong"));
		http_count_delivery(r->srv, FORGE_GITHUB, DLV_IGNORED);
		goto out;
	}
	if (event && !strcmp(event, "pull_request"))
		pull = 1;
	else if (!event || strcmp(event, "push")) {
		ignore_event(r, FORGE_GITHUB, event);
		goto out;
	}
	if (wrong_type(r, FORGE_GITHUB))
		goto out;
	sha256_hex(digest, r->body.ptr, r->body.len);
	if (known_delivery(r, FORGE_GITHUB, delivery, digest))
		goto out;
	if (hooks_parse_event(&pu, FORGE_GITHUB, pull,
			      req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
			      r->body.ptr, r->body.len) < 0) {
		reply_error(r, pu.status, "%s", pu.error.ptr);
		http_count_delivery(r->srv, FORGE_GITHUB, DLV_REJECTED);
		goto out;
	}
	if (pull)
		accept_pull_request(r, FORGE_GITHUB, &p, delivery, digest,
				    &pu);
	else
		accept_push(r, FORGE_GITHUB, &p, delivery, digest, event, &pu);
out:
	hooks_push_release(&pu);
	free(p.ok);
}

static void
hook_gitlab(struct req *r)
{
	struct proof p = { xcalloc(r->cf->nrepos + 1, 1), 0 };
	const char *token = req_header(r, "X-Gitlab-Token");
	const char *event = req_header(r, "X-Gitlab-Event");
	char idbuf[DELIVERY_ID_MAX + 1], digest[SHA256_HEX_LEN + 1];
	const char *delivery = req_header(r, "Idempotency-Key");
	struct hooks_push pu = { NULL, NULL, NULL, NULL, { NULL }, 0, 0,
				 BUF_INIT };
	int pull = 0;

	if (!delivery)
		delivery = req_header(r, "X-Gitlab-Event-UUID");
	delivery = delivery_id(idbuf, delivery);
	if (token)
		prove_token(r, token, &p);
	if (require_proof(r, FORGE_GITLAB, "X-Gitlab-Token", token, &p) < 0)
		goto out;
	if (event && !strcmp(event, "Merge Request Hook"))
		pull = 1;
	else if (!event || strcmp(event, "Push Hook")) {
		ignore_event(r, FORGE_GITLAB, event);
		goto out;
	}
	if (wrong_type(r, FORGE_GITLAB))
		goto out;
	sha256_hex(digest, r->body.ptr, r->body.len);
	if (known_delivery(r, FORGE_GITLAB, delivery, digest))
		goto out;
	if (hooks_parse_event(&pu, FORGE_GITLAB, pull,
			      req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
			      r->body.ptr, r->body.len) < 0) {
		reply_error(r, pu.status, "%s", pu.error.ptr);
		http_count_delivery(r->srv, FORGE_GITLAB, DLV_REJECTED);
		goto out;
	}
	if (pull)
		accept_pull_request(r, FORGE_GITLAB, &p, delivery, digest,
				    &pu);
	else
		accept_push(r, FORGE_GITLAB, &p, delivery, digest, event, &pu);
out:
	hooks_push_release(&pu);
	free(p.ok);
}

static void
hook_gitea(struct req *r)
{
	struct proof p = { xcalloc(r->cf->nrepos + 1, 1), 0 };
	const char *sig = req_header(r, "X-Gitea-Signature");
	const char *event = req_header(r, "X-Gitea-Event");
	const char *delivery = req_header(r, "X-Gitea-Delivery");
	char idbuf[DELIVERY_ID_MAX + 1], digest[SHA256_HEX_LEN + 1];
	const char *header = "X-Gitea-Signature";
	struct hooks_push pu = { NULL, NULL, NULL, NULL, { NULL }, 0, 0,
				 BUF_INIT };
	int pull = 0;

	/* Forgejo sends its own names beside (or instead of) Gitea's */
	if (!sig && (sig = req_header(r, "X-Forgejo-Signature")))
		header = "X-Forgejo-Signature";
	if (!event)
		event = req_header(r, "X-Forgejo-Event");
	if (!delivery)
		delivery = req_header(r, "X-Forgejo-Delivery");
	delivery = delivery_id(idbuf, delivery);
	if (sig)
		prove_hmac(r, sig, &p);
	if (require_proof(r, FORGE_GITEA, header, sig, &p) < 0)
		goto out;
	if (event && !strcmp(event, "pull_request"))
		pull = 1;
	else if (!event || strcmp(event, "push")) {
		ignore_event(r, FORGE_GITEA, event);
		goto out;
	}
	if (wrong_type(r, FORGE_GITEA))
		goto out;
	sha256_hex(digest, r->body.ptr, r->body.len);
	if (known_delivery(r, FORGE_GITEA, delivery, digest))
		goto out;
	if (hooks_parse_event(&pu, FORGE_GITEA, pull,
			      req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE),
			      r->body.ptr, r->body.len) < 0) {
		reply_error(r, pu.status, "%s", pu.error.ptr);
		http_count_delivery(r->srv, FORGE_GITEA, DLV_REJECTED);
		goto out;
	}
	if (pull)
		accept_pull_request(r, FORGE_GITEA, &p, delivery, digest,
				    &pu);
	else
		accept_push(r, FORGE_GITEA, &p, delivery, digest, event, &pu);
out:
	hooks_push_release(&pu);
	free(p.ok);
}

/* A signature as prove_hmac can take it: GitHub's "sha256=" and 64 hex
 * digits, Gitea's 64 hex digits; anything else matches no secret. */
static int
hmac_form(int forge, const char *sig)
{
	if (forge == FORGE_GITHUB) {
		if (strncasecmp(sig, "sha256=", 7))
			return 0;
		sig += 7;
	}
	return strlen(sig) == SHA256_HEX_LEN &&
	       strspn(sig, "0123456789abcdefABCDEF") == SHA256_HEX_LEN;
}

/*
 * The checks a delivery's headers allow, made before its body is read: a
 * repo with a secret, the proof header present, and GitLab's token (not a
 * signature of the body) right.  The same answers as the handlers'.
 */
static void
head_proof(struct req *r, int forge, const char *header, const char *sig)
{
	struct proof p = { xcalloc(r->cf->nrepos + 1, 1), 0 };

	if (forge == FORGE_GITLAB && sig)
		prove_token(r, sig, &p);
	else if (sig && hmac_form(forge, sig))
		p.n = 1; /* the signature covers the body: checked after it */
	require_proof(r, forge, header, sig, &p);
	free(p.ok);
}

static void
hook_github_head(struct req *r)
{
	head_proof(r, FORGE_GITHUB, "X-Hub-Signature-256",
		   req_header(r, "X-Hub-Signature-256"));
}

static void
hook_gitlab_head(struct req *r)
{
	head_proof(r, FORGE_GITLAB, "X-Gitlab-Token",
		   req_header(r, "X-Gitlab-Token"));
}

static void
hook_gitea_head(struct req *r)
{
	const char *sig = req_header(r, "X-Gitea-Signature");

	/* named as hook_gitea names it: Forgejo's only when it is sent */
	if (!sig && (sig = req_header(r, "X-Forgejo-Signature")))
		head_proof(r, FORGE_GITEA, "X-Forgejo-Signature", sig);
	else
		head_proof(r, FORGE_GITEA, "X-Gitea-Signature", sig);
}

const struct route hook_routes[] = {
	{ "POST", "/hooks/github", ROLE_NONE, PAGE_API, hook_github,
	  HTTP_MAX_HOOK, hook_github_head },
	{ "POST", "/hooks/gitlab", ROLE_NONE, PAGE_API, hook_gitlab,
	  HTTP_MAX_HOOK, hook_gitlab_head },
	{ "POST", "/hooks/gitea", ROLE_NONE, PAGE_API, hook_gitea,
	  HTTP_MAX_HOOK, hook_gitea_head },
	{ "POST", "/hooks/forgejo", ROLE_NONE, PAGE_API, hook_gitea,
	  HTTP_MAX_HOOK, hook_gitea_head },
	{ NULL, NULL, ROLE_NONE, PAGE_API, NULL },
};
