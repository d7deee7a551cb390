/*
 * api.c - the JSON API v1 under /api/v1, /healthz and /metrics.  Every
 * answer is JSON (errors {"error": "..."}); password values never leave.
 */
#include <string.h>

#include "webhook-int.h"

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

static json_t *
repo_json(const struct repo_row *row, const struct repo_config *rc)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(row->name));
	json_object_set_new(o, "url", json_string(rc ? rc->url : row->url));
	json_object_set_new(o, "branch", json_string(row->branch));
	json_object_set_new(o, "head", row->head ? json_string(row->head)
						 : json_null());
	json_object_set_new(o, "applied", row->applied
						  ? json_string(row->applied)
						  : json_null());
	json_object_set_new(o, "last_fetch_at",
			    json_integer(row->last_fetch_at));
	json_object_set_new(o, "last_ok_at", json_integer(row->last_ok_at));
	json_object_set_new(o, "last_error",
			    row->last_error ? json_string(row->last_error)
					    : json_null());
	json_object_set_new(o, "failures", json_integer(row->failures));
	json_object_set_new(o, "branch_missing",
			    json_boolean(row->branch_missing));
	return o;
}

static void
api_repos(struct req *r)
{
	const struct config *cf = r->srv->cf;
	struct store *st = req_store(r);
	struct repo_row *v = NULL, row;
	size_t n = 0, i, j;
	json_t *a;

	if (!st)
		return;
	if (store_repo_list(st, &v, &n) < 0) {
		reply_error(r, 500, "%s", err_msg());
		return;
	}
	a = json_array();
	/* the config's repos, in its order; ones never synced too */
	for (i = 0; i < cf->nrepos; i++) {
		for (j = 0; j < n; j++)
			if (!strcmp(v[j].name, cf->repos[i].name))
				break;
		if (j < n) {
			json_array_append_new(a, repo_json(&v[j],
							   &cf->repos[i]));
			continue;
		}
		memset(&row, 0, sizeof(row));
		row.name = (char *)cf->repos[i].name;
		row.url = (char *)cf->repos[i].url;
		row.branch = (char *)cf->repos[i].branch;
		json_array_append_new(a, repo_json(&row, &cf->repos[i]));
	}
	repo_rows_free(v, n);
	reply_json(r, 200, json_pack("{s:o}", "repos", a));
}

static void
api_repo_sync(struct req *r)
{
	const struct repo_config *rc = config_repo(r->srv->cf, r->params[0]);

	if (!rc) {
		reply_error(r, 404, "no repo '%s' in the config",
			    r->params[0]);
		return;
	}
	r->srv->hooks->sync(r->srv->hooks->arg, rc->name);
	reply_json(r, 202, json_pack("{s:b,s:s}", "accepted", 1, "repo",
				     rc->name));
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
	reply_data(r, 200, "text/plain; version=0.0.4", b.ptr, b.len);
	buf_release(&b);
}

const struct route api_routes[] = {
	{ "GET", "/healthz", ROLE_NONE, 1, api_healthz },
	{ "GET", "/metrics", ROLE_VIEWER, 0, api_metrics },
	{ "GET", "/api/v1/repos", ROLE_VIEWER, 0, api_repos },
	{ "POST", "/api/v1/repos/{repo}/sync", ROLE_OPERATOR, 0,
	  api_repo_sync },
	{ NULL, NULL, ROLE_NONE, 0, NULL },
};
