/*
 * api-int.h - shared by the files of the JSON API (api.c, api-cascades.c,
 * api-runs.c, api-checks.c, api-plans.c): the handlers the route table in
 * api.c names, and helpers.
 */
#ifndef SCAFFOLD_API_INT_H
#define SCAFFOLD_API_INT_H

#include "webhook-int.h"

/* Reply with err_msg() and the HTTP status that fits an ERR_* code. */
void api_reply_err(struct req *r, int code);
/* 0 when every {x} of the path is UTF-8 (JSON can name it), else -1 with
 * a 400 reply. */
int api_params_ok(struct req *r);
/* s when it is UTF-8 (a reply may quote it), else a stand-in. */
const char *api_text(const char *s);
/* The daemon's executor: something may be ready to run, or a kill asked. */
void api_wake(struct req *r);
/*
 * The cascade named by r->params[0] (repo; "-" for cascades applied from
 * files, which have none) and r->params[1]: 0 and *out (release it), or
 * <0 with the reply set (404 when absent or no longer active).
 */
int api_cascade(struct req *r, struct cascade_row *out);
/*
 * The body as a JSON object whose keys are all in keys[] (NULL-ended):
 * 0 and *out (decref it), or -1 with a 400 reply naming the problem.
 */
int api_body_object(struct req *r, const char *const *keys, json_t **out);

/* api-cascades.c */
void api_cascades(struct req *r);
void api_cascade_by_name(struct req *r);
void api_cascade_get(struct req *r);
void api_cascade_plan(struct req *r);
void api_task_run(struct req *r);
void api_inputs(struct req *r);
void api_input_get(struct req *r);
void api_input_put(struct req *r);
void api_files(struct req *r);
void api_file_get(struct req *r);
void api_file_put(struct req *r);
void api_file_delete(struct req *r);

/* api-runs.c */
void api_task_runs(struct req *r);
void api_run_get(struct req *r);
void api_run_log(struct req *r);
/* api-plans.c */
void api_pr_plan(struct req *r);
/* api-checks.c */
void api_check_get(struct req *r);
void api_check_log(struct req *r);
void api_run_kill(struct req *r);

#endif
