/*
 * api-plans.c - GET /api/v1/repos/{repo}/plans/{sha}: the plan of a pull
 * request's head as daemon/prplan.c kept it, the same one its page
 * /p/REPO/SHA shows and `scaffold plan --server URL REPO SHA` prints.
 * Nothing is fetched or parsed for an answer.
 */
#include <stdlib.h>
#include <string.h>

#include "api-int.h"

/* Set key of o to v unless o has it (v is stolen either way). */
static void
default_key(json_t *o, const char *key, json_t *v)
{
	if (!json_object_get(o, key))
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

/* The answer: the kept plan, with the row's own fields and every key a
 * plan not (yet) made lacks. */
static json_t *
view_pr_plan(const struct prplan_row *row)
{
	json_error_t jerr;
	json_t *o = NULL;

	if (row->plan)
		o = json_loads(row->plan, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_set_new(o, "repo", json_string(row->repo));
	json_object_set_new(o, "number", json_integer(row->number));
	json_object_set_new(o, "head", json_string(row->head));
	json_object_set_new(o, "base", json_string(row->base));
	json_object_set_new(o, "state", json_string(row->state));
	json_object_set_new(o, "summary", row->summary
						  ? json_string(row->summary)
						  : json_null());
	default_key(o, "base_commit", json_null());
	default_key(o, "merge_base", json_null());
	default_key(o, "cascades", json_array());
	json_object_set_new(o, "received_at",
			    json_integer(row->received_at));
	json_object_set_new(o, "planned_at",
			    row->planned_at ? json_integer(row->planned_at)
					    : json_null());
	return o;
}

void
api_pr_plan(struct req *r)
{
	const char *repo = r->params[0], *sha = r->params[1];
	struct store *st = req_store(r);
	struct prplan_row row;
	size_t n = strspn(sha, "0123456789abcdefABCDEF");
	int ret;

	memset(&row, 0, sizeof(row));
	if (!st || api_params_ok(r) < 0)
		return;
	if (!config_repo(r->cf, repo)) {
		reply_error(r, 404, "no repo '%s' in the config", repo);
		return;
	}
	if (sha[n] || n < 4 || n > 40) {
		reply_error(r, 400, "'%s' is not a commit id (use 4 to 40 hex "
				    "digits)",
			    api_text(sha));
		return;
	}
	ret = store_prplan_find(st, repo, sha, &row);
	if (ret < 0) {
		api_reply_err(r, ret);
		return;
	}
	reply_json(r, 200, view_pr_plan(&row));
	prplan_row_release(&row);
}
