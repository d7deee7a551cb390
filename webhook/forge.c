/*
 * forge.c - the outbound forge client (libcurl): one commit status per
 * request to GitHub, GitLab or Gitea/Forgejo.  The token is read from its
 * file for each request, so a rotated token is used at once, and it never
 * reaches a log or an error message.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "status-int.h"

#define CONNECT_TIMEOUT_S 10L
#define TOTAL_TIMEOUT_S 30L
#define MAX_ANSWER (64u << 10)
#define MAX_TOKEN (16u << 10)
#define MAX_MESSAGE 200

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
forge_init(void)
{
	pthread_once(&curl_once, curl_init);
}

/* scaffold's states: pending, success, failure, error, canceled */
const char *
forge_state(const char *kind, const char *state)
{
	static const char *const ours[] = { "pending", "success", "failure",
					    "error", "canceled" };
	/* GitHub and Gitea have no "canceled": a superseded revision is an
	 * error whose description says so */
	static const char *const github[] = { "pending", "success", "failure",
					      "error", "error" };
	static const char *const gitlab[] = { "pending", "success", "failed",
					      "failed", "canceled" };
	const char *const *map;
	size_t i;

	if (!kind || !state)
		return NULL;
	if (!strcmp(kind, "github") || !strcmp(kind, "gitea"))
		map = github;
	else if (!strcmp(kind, "gitlab"))
		map = gitlab;
	else
		return NULL;
	for (i = 0; i < ARRAY_SIZE(ours); i++)
		if (!strcmp(state, ours[i]))
			return map[i];
	return NULL;
}

struct answer {
	struct buf body;
	int truncated;
};

static size_t
answer_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, room;

	room = a->body.len < MAX_ANSWER ? MAX_ANSWER - a->body.len : 0;
	if (n > room)
		a->truncated = 1;
	buf_add(&a->body, p, n < room ? n : room);
	return n;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow,
	    curl_off_t ultotal, curl_off_t ulnow)
{
	const atomic_int *stop = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return stop && atomic_load(stop) ? 1 : 0;
}

void
forge_url_escape(struct buf *out, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
			buf_putc(out, (char)*p);
		} else {
			buf_putc(out, '%');
			buf_putc(out, hex[*p >> 4]);
			buf_putc(out, hex[*p & 15]);
		}
	}
}

/* The token from its file: trailing whitespace stripped, one line. */
static int
read_token(struct buf *out, const struct repo_config *rc)
{
	size_t i;

	if (buf_read_file(out, rc->forge_token_file, MAX_TOKEN) < 0)
		return err_set("repo '%s': cannot read the forge token: %s",
			       rc->name, err_msg());
	while (out->len && (out->ptr[out->len - 1] == '\n' ||
			    out->ptr[out->len - 1] == '\r' ||
			    out->ptr[out->len - 1] == ' ' ||
			    out->ptr[out->len - 1] == '\t'))
		out->ptr[--out->len] = '\0';
	if (!out->len)
		return err_set("repo '%s': the forge token file '%s' is empty",
			       rc->name, rc->forge_token_file);
	for (i = 0; i < out->len; i++)
		if ((unsigned char)out->ptr[i] < 0x20 ||
		    (unsigned char)out->ptr[i] == 0x7f)
			return err_set("repo '%s': the forge token file '%s' "
				       "holds more than one line",
				       rc->name, rc->forge_token_file);
	return 0;
}

/* Wipe and release a buffer that held the token. */
static void
buf_wipe(struct buf *b)
{
	if (b->alloc)
		explicit_bzero(b->ptr, b->alloc);
	buf_release(b);
}

/*
 * The forge's own words from an error answer: its "message" (GitHub,
 * GitLab, Gitea all answer {"message": ...}), else the body; one line,
 * escaped, cut short, and any occurrence of the token masked.
 */
static void
forge_message(struct buf *out, const struct answer *a, const struct buf *tok)
{
	struct buf raw = BUF_INIT;
	json_t *j = json_loadb(a->body.ptr, a->body.len, 0, NULL), *m;
	char *p;

	m = j && json_is_object(j) ? json_object_get(j, "message") : NULL;
	if (m && json_is_string(m)) {
		buf_puts(&raw, json_string_value(m));
	} else if (m) {
		p = json_dumps(m, JSON_COMPACT);
		buf_puts(&raw, p ? p : "");
		free(p);
	} else {
		buf_add(&raw, a->body.ptr, a->body.len);
	}
	json_decref(j);
	if (tok->len)
		while ((p = memmem(raw.ptr, raw.len, tok->ptr, tok->len)))
			memset(p, '*', tok->len);
	while (raw.len && (raw.ptr[raw.len - 1] == '\n' ||
			   raw.ptr[raw.len - 1] == '\r' ||
			   raw.ptr[raw.len - 1] == ' '))
		raw.ptr[--raw.len] = '\0';
	if (!raw.len)
		buf_puts(&raw, "(no message)");
	escape_log(out, raw.ptr, raw.len);
	status_truncate(out, MAX_MESSAGE);
	buf_wipe(&raw);
}

/* An HTTP status worth another try: the forge may answer otherwise later. */
static int
retryable(long code)
{
	/* 401/403: a token can be fixed (and GitHub's rate limits answer
	 * 403); 404, 422 and the other 4xx say the request itself is wrong */
	return code == 401 || code == 403 || code == 408 || code == 409 ||
	       code == 425 || code == 429 || code >= 500 || code < 200;
}

/* api_url without its trailing slashes, then path (escaped already). */
static void
api_url(struct buf *url, const struct repo_config *rc, const char *path)
{
	const char *api = rc->forge_api_url;
	size_t n = strlen(api);

	while (n && api[n - 1] == '/')
		n--;
	buf_add(url, api, n);
	buf_puts(url, path);
}

int
forge_call(long *code, struct buf *answer, struct buf *msg,
	   const struct repo_config *rc, const char *method, const char *path,
	   const char *body, const char *what, const atomic_int *stop)
{
	struct buf url = BUF_INIT, tok = BUF_INIT, auth = BUF_INIT;
	struct answer ans = { BUF_INIT, 0 };
	struct curl_slist *hdrs = NULL, *h;
	const char *kind = rc->forge_kind;
	char errbuf[CURL_ERROR_SIZE];
	CURL *e = NULL;
	CURLcode rc_curl;
	int ret = -1;

	*code = 0;
	if (!kind || !rc->forge_api_url) {
		err_set("repo '%s' has no forge configured", rc->name);
		ret = ERR_INVALID;
		goto out;
	}
	if ((ret = read_token(&tok, rc)) < 0)
		goto out;
	ret = -1;
	api_url(&url, rc, path);
	if (body)
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (!strcmp(kind, "github")) {
		hdrs = curl_slist_append(hdrs,
					 "Accept: application/vnd.github+json");
		hdrs = curl_slist_append(hdrs,
					 "X-GitHub-Api-Version: 2022-11-28");
		buf_addf(&auth, "Authorization: Bearer %s", tok.ptr);
	} else if (!strcmp(kind, "gitlab")) {
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
		buf_addf(&auth, "PRIVATE-TOKEN: %s", tok.ptr);
	} else {
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
		buf_addf(&auth, "Authorization: token %s", tok.ptr);
	}
	hdrs = curl_slist_append(hdrs, auth.ptr);

	if (!(e = curl_easy_init())) {
		err_set("repo '%s': cannot start an HTTP request", rc->name);
		goto out;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_URL, url.ptr);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* no redirects: the token goes to the configured host only */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "scaffold/" SCAFFOLD_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
	}
	if (strcmp(method, body ? "POST" : "GET"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, answer_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &ans);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, (void *)stop);

	rc_curl = curl_easy_perform(e);
	if (rc_curl != CURLE_OK) {
		err_set("repo '%s': cannot %s to %s: %s", rc->name, what, kind,
			rc_curl == CURLE_ABORTED_BY_CALLBACK
				? "scaffold is stopping"
			: errbuf[0] ? errbuf
				    : curl_easy_strerror(rc_curl));
		ret = rc_curl == CURLE_OPERATION_TIMEDOUT ? ERR_TIMEOUT : -1;
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
	if (*code < 200 || *code >= 300)
		forge_message(msg, &ans, &tok);
	buf_add(answer, ans.body.ptr, ans.body.len);
	ret = 0;
out:
	if (e)
		curl_easy_cleanup(e);
	for (h = hdrs; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(hdrs);
	buf_wipe(&auth);
	buf_wipe(&tok);
	buf_release(&url);
	buf_release(&ans.body);
	return ret;
}

int
forge_retryable(long code)
{
	return retryable(code);
}

int
forge_post(enum forge_outcome *out, const struct repo_config *rc,
	   const struct status_row *row, const atomic_int *stop)
{
	struct buf path = BUF_INIT, msg = BUF_INIT, ans = BUF_INIT,
		   what = BUF_INIT;
	const char *kind = rc->forge_kind, *state;
	char *body = NULL;
	json_t *j = NULL;
	long code = 0;
	int gitlab, ret = -1;

	*out = FORGE_SENT;
	if (!kind || !rc->forge_api_url) {
		err_set("repo '%s' has no forge configured", rc->name);
		ret = ERR_INVALID;
		goto out;
	}
	gitlab = !strcmp(kind, "gitlab");
	if (!(state = forge_state(kind, row->state))) {
		err_set("repo '%s': unknown commit status state '%s'",
			rc->name, row->state);
		ret = ERR_INVALID;
		goto out;
	}
	if (!rc->project) {
		err_set("repo '%s': the forge project is unknown (set "
			"forge.project)",
			rc->name);
		ret = ERR_INVALID;
		goto out;
	}
	if (gitlab) {
		buf_puts(&path, "/projects/");
		forge_url_escape(&path, rc->project, 0);
	} else {
		buf_puts(&path, "/repos/");
		forge_url_escape(&path, rc->project, 1);
	}
	buf_puts(&path, "/statuses/");
	forge_url_escape(&path, row->commit_id, 0);

	j = json_object();
	json_object_set_new(j, "state", json_string(state));
	if (row->target_url)
		json_object_set_new(j, "target_url",
				    json_string(row->target_url));
	json_object_set_new(j, "description",
			    json_string(row->description ? row->description
							 : ""));
	json_object_set_new(j, gitlab ? "name" : "context",
			    json_string(row->context));
	body = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!body) {
		ret = err_set("repo '%s': cannot encode a commit status",
			      rc->name);
		goto out;
	}
	buf_addf(&what, "post the status of %.12s (%s)", row->commit_id,
		 row->context);
	if ((ret = forge_call(&code, &ans, &msg, rc, "POST", path.ptr, body,
			      what.ptr, stop)) < 0)
		goto out;
	if (code >= 200 && code < 300) {
		ret = 0;
		goto out;
	}
	/* GitLab refuses a state its status cannot move to (the same
	 * again, or back from a finished one): what it shows stands */
	if (gitlab && code == 400 && ans.len &&
	    memmem(ans.ptr, ans.len, "Cannot transition status", 24)) {
		*out = FORGE_UNCHANGED;
		ret = 0;
		goto out;
	}
	err_set("repo '%s': %s answered %ld to the status of %.12s (%s): %s",
		rc->name, kind, code, row->commit_id, row->context, msg.ptr);
	ret = retryable(code) ? -1 : ERR_INVALID;
out:
	json_decref(j);
	free(body);
	buf_release(&path);
	buf_release(&ans);
	buf_release(&msg);
	buf_release(&what);
	return ret;
}
