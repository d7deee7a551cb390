/*
 * api-runs.c - the API on runs: a task's runs (newest first), a run, its
 * log (whole, or followed as server-sent events until the run ends), and
 * killing it.
 *
 * Following a log: each connection has its own thread, so the content
 * reader may wait for the log to grow (up to a tenth of a second at a
 * time, watching the socket so that a client that leaves or a daemon that
 * stops ends it at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-int.h"

#define FOLLOW_POLL_MS 100
#define FOLLOW_KEEPALIVE_MS 15000
#define FOLLOW_CHUNK 65536

/* r->params[0] as a run id; 0 with a 400 reply when it is not one. */
static int64_t
run_id(struct req *r)
{
	const char *s = r->params[0];
	char *end;
	long long v;

	if (api_params_ok(r) < 0)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 1 || s[0] == '+' || s[0] == ' ') {
		reply_error(r, 400, "'%s' is not a run id (a positive number)",
			    s);
		return 0;
	}
	return v;
}

/* The run of the URL: 0 and *out (release it), or -1 with the reply set. */
static int
get_run(struct req *r, struct run_row *out)
{
	struct store *st = req_store(r);
	int64_t id;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!st || !(id = run_id(r)))
		return -1;
	if ((ret = store_run_get(st, id, out)) < 0) {
		api_reply_err(r, ret);
		return -1;
	}
	return 0;
}

/* ?limit=N: 1 to RUNS_LIMIT_MAX; 0 with a 400 reply when it is not. */
static size_t
runs_limit(struct req *r)
{
	const char *s = req_query(r, "limit");
	char *end;
	long long v;

	if (!s)
		return RUNS_LIMIT_DEFAULT;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || !*s || v < 1 || v > RUNS_LIMIT_MAX ||
	    !(s[0] >= '0' && s[0] <= '9')) {
		reply_error(r, 400, "query parameter limit takes a number from "
				    "1 to %d, not '%s'",
			    RUNS_LIMIT_MAX, api_text(s));
		return 0;
	}
	return (size_t)v;
}

void
api_task_runs(struct req *r)
{
	struct store *st = req_store(r);
	struct cascade_row c;
	struct task_row t;
	size_t limit;
	json_t *v;
	int ret;

	memset(&t, 0, sizeof(t));
	if (!st || !(limit = runs_limit(r)) || api_cascade(r, &c) < 0)
		return;
	ret = store_task_find(st, c.id, r->params[2], &t);
	if (ret == ERR_NOTFOUND || (ret == 0 && !t.present)) {
		reply_error(r, 404, "cascade '%s' has no task '%s'", c.name,
			    r->params[2]);
		goto out;
	}
	if (ret < 0 || view_task_runs(&v, st, &c, &t, limit) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
out:
	free(t.name);
	cascade_row_release(&c);
}

void
api_run_get(struct req *r)
{
	struct run_row run;
	json_t *v;

	if (get_run(r, &run) < 0)
		return;
	if (view_run(&v, req_store(r), &run) < 0)
		api_reply_err(r, -1);
	else
		reply_json(r, 200, v);
	run_row_release(&run);
}

void
api_run_kill(struct req *r)
{
	struct sched *s = req_sched(r);
	int64_t id;
	int ret;

	if (!s || !(id = run_id(r)))
		return;
	ret = sched_kill(s, id);
	if (ret < 0) {
		api_reply_err(r, ret);
		return;
	}
	reply_json(r, 202, json_pack("{s:I,s:b}", "run", (json_int_t)id,
				     "kill_requested", 1));
	api_wake(r);
}

/* ---- following a log ---- */

struct follow {
	struct store *st; /* the connection thread's own */
	int64_t run_id;
	char *log_path;
	int fd;		    /* the log, once it exists */
	int sock;	    /* the client's connection */
	struct buf partial; /* log bytes after the last line end */
	bool cr;	    /* the last line ended with a "\r" */
	struct buf out;	    /* event bytes not yet handed over */
	size_t out_off;
	int ended;
	int64_t last_sent;
};

static void
follow_free(void *cls)
{
	struct follow *f = cls;

	if (f->fd >= 0)
		close(f->fd);
	free(f->log_path);
	buf_release(&f->partial);
	buf_release(&f->out);
	free(f);
}

/* Read what the log gained; complete lines become one event. */
static int
follow_read_log(struct follow *f)
{
	char chunk[FOLLOW_CHUNK];
	ssize_t n;
	size_t start;

	if (f->fd < 0) {
		f->fd = open(f->log_path, O_RDONLY | O_CLOEXEC);
		if (f->fd < 0)
			return errno == ENOENT ? 0 : -1;
	}
	for (;;) {
		n = read(f->fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(&f->partial, chunk, (size_t)n);
		if ((size_t)n < sizeof(chunk))
			break;
		if (f->partial.len >= 4 * FOLLOW_CHUNK)
			break;
	}
	if (n < 0)
		return -1;
	/* every complete line is a "data:" line of one event */
	start = sse_data_lines(&f->out, &f->cr, f->partial.ptr,
			       f->partial.len);
	if (start) {
		memmove(f->partial.ptr, f->partial.ptr + start,
			f->partial.len - start);
		f->partial.len -= start;
		f->partial.ptr[f->partial.len] = '\0';
	}
	return 0;
}

/* Wait up to ms; 1 when the client has gone (or the daemon shut the
 * connection down). */
static int
peer_gone(int sock, int ms)
{
	struct pollfd p;
	char c;

	if (sock < 0) {
		usleep((useconds_t)ms * 1000);
		return 0;
	}
	p.fd = sock;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	if (poll(&p, 1, ms) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
		return 1;
	if (recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
		return 1;
	/* the client sent something (a pipelined request): just wait */
	usleep((useconds_t)ms * 1000);
	return 0;
}

/* The run has ended: the rest of the log, then the end event. */
static void
follow_end(struct follow *f, const struct run_row *run)
{
	json_t *end, *msg = run->message ? json_string(run->message) : NULL;
	char *s;

	follow_read_log(f);
	if (f->partial.len) {
		/* a last line without a newline */
		sse_event(&f->out, "partial", f->partial.ptr,
			  f->partial.len);
		buf_reset(&f->partial);
	}
	end = json_pack("{s:I,s:s,s:o,s:o}", "id", (json_int_t)run->id,
			"state", run_state_names[run->state], "exit_code",
			run->exit_code >= 0 ? json_integer(run->exit_code)
					    : json_null(),
			"message", msg ? msg : json_null());
	s = end ? json_dumps(end, JSON_COMPACT) : NULL;
	buf_addf(&f->out, "event: end\ndata: %s\n\n", s ? s : "{}");
	free(s);
	json_decref(end);
	f->ended = 1;
}

static ssize_t
follow_reader(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct follow *f = cls;
	struct run_row run;
	size_t n;

	(void)pos;
	for (;;) {
		if (f->out_off < f->out.len) {
			n = f->out.len - f->out_off;
			if (n > max)
				n = max;
			memcpy(dst, f->out.ptr + f->out_off, n);
			f->out_off += n;
			f->last_sent = store_now_ms();
			return (ssize_t)n;
		}
		if (f->ended)
			return MHD_CONTENT_READER_END_OF_STREAM;
		buf_reset(&f->out);
		f->out_off = 0;
		if (follow_read_log(f) < 0) {
			log_warnx("http: run %lld: cannot read its log: %s",
				  (long long)f->run_id, strerror(errno));
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (f->out.len)
			continue;
		if (store_run_get(f->st, f->run_id, &run) < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (run.state != RS_RUNNING) {
			follow_end(f, &run);
			run_row_release(&run);
			continue;
		}
		run_row_release(&run);
		if (store_now_ms() - f->last_sent >= FOLLOW_KEEPALIVE_MS) {
			/* a comment: proxies and clients see it is alive */
			buf_puts(&f->out, ": keep-alive\n\n");
			continue;
		}
		/* the client left, or the daemon stops: end quietly */
		if (peer_gone(f->sock, FOLLOW_POLL_MS))
			return MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void
log_follow(struct req *r, const struct run_row *run)
{
	struct follow *f = xcalloc(1, sizeof(*f));
	const union MHD_ConnectionInfo *ci;
	struct buf path = BUF_INIT;
	struct MHD_Response *resp;

	f->st = req_store(r);
	f->run_id = run->id;
	store_log_path(f->st, run->id, &path);
	f->log_path = buf_detach(&path, NULL);
	f->fd = -1;
	ci = MHD_get_connection_info(r->conn,
				     MHD_CONNECTION_INFO_CONNECTION_FD);
	f->sock = ci ? ci->connect_fd : -1;
	buf_init(&f->partial);
	buf_init(&f->out);
	f->last_sent = store_now_ms();
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
						 follow_reader, f, follow_free);
	if (!resp) {
		follow_free(f);
		reply_error(r, 500, "cannot follow the log of run %lld",
			    (long long)run->id);
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream");
	r->resp = resp;
	r->code = 200;
	r->done = 1;
}

/*
 * GET /api/v1/runs/{id}/log: the log as text (empty before the run wrote
 * anything); ?follow=1: server-sent events, one "data:" line per log line
 * (ended by "\r\n", "\n" or "\r": sse.c),
 * "event: partial" for a last line without a newline, and "event: end"
 * with the outcome as JSON when the run has ended.
 */
void
api_run_log(struct req *r)
{
	const char *follow = req_query(r, "follow");
	struct run_row run;
	struct buf path = BUF_INIT;
	struct MHD_Response *resp = NULL;
	struct stat sb;
	int fd = -1;

	if (follow && strcmp(follow, "0") && strcmp(follow, "1") &&
	    strcmp(follow, "true") && strcmp(follow, "false") && *follow) {
		reply_error(r, 400, "query parameter follow takes 1 or 0, not "
				    "'%s'",
			    api_text(follow));
		return;
	}
	if (get_run(r, &run) < 0)
		return;
	if (follow && (!*follow || !strcmp(follow, "1") ||
		       !strcmp(follow, "true"))) {
		log_follow(r, &run);
		goto out;
	}
	store_log_path(req_store(r), run.id, &path);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		reply_data(r, 200, "text/plain; charset=utf-8", "", 0);
		goto out;
	}
	if (fd < 0 || fstat(fd, &sb) < 0) {
		reply_error(r, 500, "run %lld: cannot read its log: %s",
			    (long long)run.id, strerror(errno));
		goto out;
	}
	resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!resp) {
		reply_error(r, 500, "cannot answer with the log of run %lld",
			    (long long)run.id);
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
	run_row_release(&run);
}
