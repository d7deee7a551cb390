/*
 * api-checks.c - the API on drift probes: a check run, and its log.  The
 * task's last probe and next due time are in the cascade's view
 * (view.c); `scaffold logs --check` reads the log from here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-int.h"

/* The check run of the URL: 0 and *out, or -1 with the reply set. */
static int
get_check(struct req *r, struct check_row *out)
{
	struct store *st = req_store(r);
	const char *s = r->params[0];
	char *end;
	long long v;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st || api_params_ok(r) < 0)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 1 || s[0] == '+' || s[0] == ' ') {
		reply_error(r, 400,
			    "'%s' is not a check run id (a positive number)",
			    api_text(s));
		return -1;
	}
	if ((ret = store_check_get(st, v, out)) < 0) {
		api_reply_err(r, ret);
		return -1;
	}
	return 0;
}

/* GET /api/v1/checks/{id}: what view.c shows as a task's last probe. */
void
api_check_get(struct req *r)
{
	struct check_row k;

	if (get_check(r, &k) < 0)
		return;
	reply_json(r, 200,
		   json_pack("{s:I,s:s,s:s,s:s,s:s,s:o,s:o,s:b,s:b,s:I,s:o}",
			     "id", (json_int_t)k.id, "cascade", k.cascade,
			     "task", k.task, "host", k.host, "state",
			     run_state_names[k.state], "exit_code",
			     k.exit_code >= 0 ? json_integer(k.exit_code)
					      : json_null(),
			     "message",
			     k.message ? json_string(k.message) : json_null(),
			     "drift", k.drift, "heal", k.heal, "started_at",
			     (json_int_t)k.started_at, "ended_at",
			     k.ended_at ? json_integer(k.ended_at)
					: json_null()));
	check_row_release(&k);
}

/* GET /api/v1/checks/{id}/log: the probe's log as text. */
void
api_check_log(struct req *r)
{
	struct check_row k;
	struct buf path = BUF_INIT;
	struct MHD_Response *resp;
	struct stat sb;
	int fd = -1;

	if (get_check(r, &k) < 0)
		return;
	store_check_log_path(req_store(r), k.id, &path);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		reply_data(r, 200, "text/plain; charset=utf-8", "", 0);
		goto out;
	}
	if (fd < 0 || fstat(fd, &sb) < 0) {
		reply_error(r, 500, "check run %lld: cannot read its log: %s",
			    (long long)k.id, strerror(errno));
		goto out;
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		reply_error(r, 500, "cannot answer with the log of check run "
				    "%lld",
			    (long long)k.id);
		goto out;
	}
	fd = -1;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	r->resp = resp;
	r->code = 200;
	r->done = 1;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&path);
	check_row_release(&k);
}
