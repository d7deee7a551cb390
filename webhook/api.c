/*
 * api.c - the JSON API v1 under /api/v1, /healthz and /metrics: the route
 * table, repositories and tokens, and the helpers of api-*.c.  Every answer
 * is JSON (errors {"error": "..."}) but logs and files; password values
 * never leave.  See docs/api.md.
 */
#include <stdlib.h>
#include <string.h>

#include "api-int.h"

void
api_reply_err(struct req *r, int code)
{
	int status;

	switch (code) {
	case ERR_NOTFOUND:
		status = 404;
		break;
	case ERR_CONFLICT:
		status = 409;
		break;
	case ERR_INVALID:
		status = 400;
		break;
	case ERR_TOOBIG:
		status = 413;
		break;
	case ERR_TIMEOUT:
		status = 504;
		break;
	default:
		status = 500;
	}
	reply_error(r, status, "%s", err_msg());
}

const char *
api_text(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j ? s : "(bytes that are not UTF-8)";
}

int
api_params_ok(struct req *r)
{
	json_t *j;
	size_t i;

	for (i = 0; i < r->nparams; i++) {
		if (!(j = json_string(r->params[i]))) {
			reply_error(r, 400, "the path holds bytes that are not "
					    "UTF-8");
			return -1;
		}
		json_decref(j);
	}
	return 0;
}

void
api_wake(struct req *r)
{
	if (r->srv->hooks && r->srv->hooks->wake)
		r->srv->hooks->wake(r->srv->hooks->arg);
}

int
api_body_object(struct req *r, const char *const *keys, json_t **out)
{
	json_error_t jerr;
	const char *k;
	json_t *v;
	size_t i;

	*out = json_loadb(r->body.ptr, r->body.len,
			  JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!*out) {
		reply_error(r, 400, "the body is not valid JSON: %s (line %d, "
				    "column %d)",
			    jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(*out)) {
		reply_error(r, 400, "the body must be a JSON object");
		goto bad;
	}
	json_object_foreach(*out, k, v) {
		for (i = 0; keys[i]; i++)
			if (!strcmp(k, keys[i]))
				break;
		if (!keys[i]) {
			reply_error(r, 400, "unknown key '%s' in the body",
				    k);
			goto bad;
		}
	}
	return 0;
bad:
	json_decref(*out);
	*out = NULL;
	return -1;
}

static void
api_healthz(struct req *r)
{
	struct store *st = req_store(r);
	int64_t total, pending;

	if (!st)
		return;
	if (store_delivery_counts(st, &total, &pending) < 0) {
		reply_error(r, 503, "%s", err_msg());
		return;
	}
	reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static void
api_repos(struct req *r)
{
	struct store *st = req_store(r);
	json_t *v;

	if (!st)
		return;
	if (view_repos(&v, st, r->cf) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
}

static void
api_repo_sync(struct req *r)
{
	const struct repo_config *rc = config_repo(r->cf, r->params[0]);

	if (!rc) {
		reply_error(r, 404, "no repo '%s' in the config",
			    r->params[0]);
		return;
	}
	r->srv->hooks->sync(r->srv->hooks->arg, rc->name);
	reply_json(r, 202, json_pack("{s:b,s:s}", "accepted", 1, "repo",
				     rc->name));
}

/* Drift probes by result, and the tasks a drift left in error. */
static int
metrics_checks(struct req *r, struct buf *b)
{
	struct store *st = req_store(r);
	int64_t checks[RS_N], drifted;
	size_t i;

	if (store_check_counts(st, checks) < 0 ||
	    store_drifted_count(st, &drifted) < 0) {
		reply_error(r, 503, "%s", err_msg());
		return -1;
	}
	buf_puts(b, "# HELP scaffold_checks_total Drift probes by result; "
		    "running ones have not ended yet, lost ones were cut "
		    "short by a restart.\n"
		    "# TYPE scaffold_checks_total counter\n");
	for (i = 0; i < RS_N; i++)
		buf_addf(b, "scaffold_checks_total{result=\"%s\"} %lld\n",
			 run_state_names[i], (long long)checks[i]);
	buf_addf(b, "# HELP scaffold_drifted_tasks Tasks in error because "
		    "their probe failed.\n"
		    "# TYPE scaffold_drifted_tasks gauge\n"
		    "scaffold_drifted_tasks %lld\n",
		 (long long)drifted);
	return 0;
}

/* A label value as Prometheus reads it: \\, \" and \n escaped. */
static void
metrics_label(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\');
		if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

/* Each active cascade's verdict, the one every view gives; -1 with a
 * reply set. */
static int
metrics_cascades(struct req *r, struct buf *b)
{
	struct store *st = req_store(r);
	struct cascade_row *cs = NULL;
	struct task_row *ts = NULL;
	size_t ncs = 0, nts = 0, i;
	int ret = -1;

	if (store_cascade_list(st, 1, &cs, &ncs) < 0) {
		reply_error(r, 503, "%s", err_msg());
		return -1;
	}
	buf_puts(b, "# HELP scaffold_cascade_state Each active cascade's "
		    "state (1 for the one it is in).\n"
		    "# TYPE scaffold_cascade_state gauge\n");
	for (i = 0; i < ncs; i++) {
		if (store_tasks(st, cs[i].id, &ts, &nts) < 0) {
			reply_error(r, 503, "%s", err_msg());
			goto out;
		}
		buf_puts(b, "scaffold_cascade_state{repo=\"");
		metrics_label(b, cs[i].repo ? cs[i].repo : "");
		buf_puts(b, "\",cascade=\"");
		metrics_label(b, cs[i].name);
		buf_addf(b, "\",state=\"%s\"} 1\n",
			 cascade_verdict(ts, nts, NULL));
		task_rows_free(ts, nts);
		ts = NULL;
	}
	ret = 0;
out:
	cascade_rows_free(cs, ncs);
	return ret;
}

/* Runs by outcome, tasks by state, the queue; -1 with a reply set. */
static int
metrics_state(struct req *r, struct buf *b)
{
	struct store *st = req_store(r);
	int64_t runs[RS_N], tasks[TS_N];
	size_t i;

	if (!st)
		return -1;
	if (store_run_counts(st, runs) < 0 ||
	    store_task_counts(st, tasks) < 0) {
		reply_error(r, 503, "%s", err_msg());
		return -1;
	}
	buf_puts(b, "# HELP scaffold_runs_total Runs (attempts) by outcome; "
		    "running ones have not ended yet.\n"
		    "# TYPE scaffold_runs_total counter\n");
	for (i = 0; i < RS_N; i++)
		buf_addf(b, "scaffold_runs_total{outcome=\"%s\"} %lld\n",
			 run_state_names[i], (long long)runs[i]);
	buf_puts(b, "# HELP scaffold_tasks Tasks of the active cascades by "
		    "state.\n"
		    "# TYPE scaffold_tasks gauge\n");
	for (i = 0; i < TS_N; i++)
		buf_addf(b, "scaffold_tasks{state=\"%s\"} %lld\n",
			 task_state_names[i], (long long)tasks[i]);
	if (metrics_cascades(r, b) < 0)
		return -1;
	if (metrics_checks(r, b) < 0)
		return -1;
	buf_addf(b, "# HELP scaffold_queue_depth Tasks waiting for a runner "
		    "slot.\n"
		    "# TYPE scaffold_queue_depth gauge\n"
		    "scaffold_queue_depth %lld\n",
		 (long long)tasks[TS_WAITING]);
	return 0;
}

static void
api_metrics(struct req *r)
{
	struct http_server *h = r->srv;
	struct buf b = BUF_INIT;
	size_t f, k, i;

	buf_puts(&b, "# HELP scaffold_webhook_deliveries_total Webhook "
		     "deliveries by forge and result.\n"
		     "# TYPE scaffold_webhook_deliveries_total counter\n");
	for (f = 0; f < ARRAY_SIZE(forge_names); f++)
		for (k = 0; k < ARRAY_SIZE(delivery_results); k++)
			buf_addf(&b,
				 "scaffold_webhook_deliveries_total{forge=\"%s\","
				 "result=\"%s\"} %lld\n",
				 forge_names[f], delivery_results[k],
				 (long long)atomic_load(&h->deliveries[f][k]));
	buf_puts(&b, "# HELP scaffold_sync_duration_seconds Time of each "
		     "repository sync (fetch and reconcile).\n"
		     "# TYPE scaffold_sync_duration_seconds summary\n");
	pthread_mutex_lock(&h->mlock);
	for (i = 0; i < h->cf->nrepos; i++) {
		buf_addf(&b,
			 "scaffold_sync_duration_seconds_sum{repo=\"%s\"} "
			 "%.3f\n",
			 h->cf->repos[i].name, h->syncs[i].sum_ms / 1000.0);
		buf_addf(&b,
			 "scaffold_sync_duration_seconds_count{repo=\"%s\"} "
			 "%lld\n",
			 h->cf->repos[i].name, (long long)h->syncs[i].count);
	}
	buf_puts(&b, "# HELP scaffold_sync_failures_total Repository syncs "
		     "that failed.\n"
		     "# TYPE scaffold_sync_failures_total counter\n");
	for (i = 0; i < h->cf->nrepos; i++)
		buf_addf(&b, "scaffold_sync_failures_total{repo=\"%s\"} %lld\n",
			 h->cf->repos[i].name, (long long)h->syncs[i].failures);
	pthread_mutex_unlock(&h->mlock);
	buf_addf(&b,
		 "# HELP scaffold_data_dir_bytes Disk used by the data dir, "
		 "measured by the last gc.\n"
		 "# TYPE scaffold_data_dir_bytes gauge\n"
		 "scaffold_data_dir_bytes %lld\n"
		 "# HELP scaffold_gc_freed_bytes_total Disk freed by gc "
		 "(retention).\n"
		 "# TYPE scaffold_gc_freed_bytes_total counter\n"
		 "scaffold_gc_freed_bytes_total %lld\n"
		 "# HELP scaffold_gc_runs_removed_total Runs removed by gc.\n"
		 "# TYPE scaffold_gc_runs_removed_total counter\n"
		 "scaffold_gc_runs_removed_total %lld\n"
		 "# HELP scaffold_gc_blobs_removed_total Unreferenced blobs "
		 "removed by gc.\n"
		 "# TYPE scaffold_gc_blobs_removed_total counter\n"
		 "scaffold_gc_blobs_removed_total %lld\n"
		 "# HELP scaffold_gc_last_run_timestamp_seconds When gc last "
		 "ran (0: not yet).\n"
		 "# TYPE scaffold_gc_last_run_timestamp_seconds gauge\n"
		 "scaffold_gc_last_run_timestamp_seconds %lld\n",
		 (long long)atomic_load(&h->data_bytes),
		 (long long)atomic_load(&h->gc_freed),
		 (long long)atomic_load(&h->gc_runs),
		 (long long)atomic_load(&h->gc_blobs),
		 (long long)atomic_load(&h->gc_at));
	if (metrics_state(r, &b) < 0)
		goto out;
	reply_data(r, 200, "text/plain; version=0.0.4", b.ptr, b.len);
out:
	buf_release(&b);
}

/* ---- tokens (admin) ---- */

static void
api_tokens(struct req *r)
{
	struct store *st = req_store(r);
	json_t *v;

	if (!st)
		return;
	if (view_tokens(&v, st) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
}

/* POST /api/v1/tokens {"name": N, "role": R}: the token, shown once. */
static void
api_token_create(struct req *r)
{
	static const char *const keys[] = { "name", "role", NULL };
	struct store *st = req_store(r);
	struct buf tok = BUF_INIT;
	json_t *body = NULL, *name, *role;
	enum role ro;
	int ret;

	if (!st || api_body_object(r, keys, &body) < 0)
		goto out;
	name = json_object_get(body, "name");
	role = json_object_get(body, "role");
	if (!json_is_string(name) || !json_is_string(role)) {
		reply_error(r, 400, "the body must be {\"name\": \"...\", "
				    "\"role\": \"admin|operator|viewer\"}");
		goto out;
	}
	if (role_parse(json_string_value(role), &ro) < 0) {
		reply_error(r, 400, "unknown role '%s': use admin, operator or "
				    "viewer",
			    json_string_value(role));
		goto out;
	}
	ret = token_create(st, json_string_value(name), ro, &tok);
	if (ret < 0) {
		api_reply_err(r, ret);
		goto out;
	}
	log_info("http: token '%s' (%s) created through the API",
		 json_string_value(name), role_name(ro));
	reply_json(r, 201, json_pack("{s:s,s:s,s:s}", "name",
				     json_string_value(name), "role",
				     role_name(ro), "token", tok.ptr));
out:
	if (tok.len)
		memset(tok.ptr, 0, tok.len);
	buf_release(&tok);
	json_decref(body);
}

static void
api_token_revoke(struct req *r)
{
	struct store *st = req_store(r);
	int ret;

	if (!st || api_params_ok(r) < 0)
		return;
	ret = store_token_delete(st, r->params[0]);
	if (ret < 0) {
		api_reply_err(r, ret);
		return;
	}
	log_info("http: token '%s' revoked through the API", r->params[0]);
	reply_json(r, 200, json_pack("{s:s,s:b}", "name", r->params[0],
				     "revoked", 1));
}

#define CASCADE "/api/v1/cascades/{repo}/{cascade}"

const struct route api_routes[] = {
	{ "GET", "/healthz", ROLE_NONE, PAGE_OPEN, api_healthz },
	{ "GET", "/metrics", ROLE_VIEWER, PAGE_API, api_metrics },
	{ "GET", "/api/v1/repos", ROLE_VIEWER, PAGE_API, api_repos },
	{ "POST", "/api/v1/repos/{repo}/sync", ROLE_OPERATOR, PAGE_API,
	  api_repo_sync },
	{ "GET", "/api/v1/repos/{repo}/plans/{sha}", ROLE_VIEWER, PAGE_API,
	  api_pr_plan },
	{ "GET", "/api/v1/cascades", ROLE_VIEWER, PAGE_API, api_cascades },
	{ "GET", "/api/v1/cascades/{cascade}", ROLE_VIEWER, PAGE_API,
	  api_cascade_by_name },
	{ "GET", CASCADE, ROLE_VIEWER, PAGE_API, api_cascade_get },
	{ "GET", CASCADE "/plan", ROLE_VIEWER, PAGE_API, api_cascade_plan },
	{ "POST", CASCADE "/tasks/{task}/run", ROLE_OPERATOR, PAGE_API,
	  api_task_run },
	{ "GET", CASCADE "/tasks/{task}/runs", ROLE_VIEWER, PAGE_API,
	  api_task_runs },
	{ "GET", CASCADE "/inputs", ROLE_VIEWER, PAGE_API, api_inputs },
	{ "GET", CASCADE "/inputs/{name}", ROLE_VIEWER, PAGE_API,
	  api_input_get },
	{ "PUT", CASCADE "/inputs/{name}", ROLE_OPERATOR, PAGE_API,
	  api_input_put },
	{ "GET", CASCADE "/files", ROLE_VIEWER, PAGE_API, api_files },
	{ "GET", CASCADE "/files/{name*}", ROLE_VIEWER, PAGE_API, api_file_get },
	{ "PUT", CASCADE "/files/{name*}", ROLE_OPERATOR, PAGE_API,
	  api_file_put, HTTP_STREAM_BODY, NULL },
	{ "DELETE", CASCADE "/files/{name*}", ROLE_OPERATOR, PAGE_API,
	  api_file_delete },
	{ "GET", "/api/v1/runs/{id}", ROLE_VIEWER, PAGE_API, api_run_get },
	{ "GET", "/api/v1/runs/{id}/log", ROLE_VIEWER, PAGE_API, api_run_log },
	{ "POST", "/api/v1/runs/{id}/kill", ROLE_OPERATOR, PAGE_API,
	  api_run_kill },
	{ "GET", "/api/v1/checks/{id}", ROLE_VIEWER, PAGE_API, api_check_get },
	{ "GET", "/api/v1/checks/{id}/log", ROLE_VIEWER, PAGE_API,
	  api_check_log },
	{ "GET", "/api/v1/tokens", ROLE_ADMIN, PAGE_API, api_tokens },
	{ "POST", "/api/v1/tokens", ROLE_ADMIN, PAGE_API, api_token_create },
	{ "DELETE", "/api/v1/tokens/{name}", ROLE_ADMIN, PAGE_API,
	  api_token_revoke },
	{ NULL, NULL, ROLE_NONE, PAGE_API, NULL },
};
