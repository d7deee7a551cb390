/*
 * forge-stub.c - a recording HTTP server standing in for the commit status
 * APIs of GitHub, GitLab and Gitea in the end-to-end tests.
 *
 *   forge-stub --log FILE [--port N] [--fail-first N] [--fail-while FILE]
 *              [--fail-until FILE] [--lose-first N] [--lose-creates N]
 *
 * Listens on 127.0.0.1 (port 0, the default, picks one) and prints the
 * port on stdout.  Every request is appended to the log as one JSON line
 * with sorted keys: {"body": (the JSON body, or the raw text), "headers":
 * {the ones a forge client must send, names lowercased}, "method", "path"
 * (as sent, not unescaped), "status": the code answered}.  The answer is 201 with a small JSON body,
 * except:
 *   - 500 for the first N requests (--fail-first), while FILE exists
 *     (--fail-while) or until FILE exists (--fail-until): an outage;
 *   - 502 for the first N requests that are taken, as if the answer was
 *     lost on the way back (--lose-first);
 *   - GitLab paths (.../projects/...): 400 "Cannot transition status via
 *     :X from :Y" when the status of that name is pending or running
 *     and asked to be so again, as GitLab does (a finished one is
 *     replaced by a new one).
 *
 * Pull request comments, as the forges document them, kept in memory:
 *   GitHub, Gitea: POST /repos/O/R/issues/N/comments, PATCH
 *     /repos/O/R/issues/comments/ID, GET /repos/O/R/issues/N/comments
 *     (?per_page=&page=; Gitea ?limit=&page=), under /api/v1 for Gitea;
 *   GitLab: POST /projects/P/merge_requests/IID/notes, PUT .../notes/ID,
 *     GET .../notes (?per_page=&page=), under /api/v4.
 * A create answers 201 {"id", "body"}, an update 200, a list 200 [...]; an
 * update of an unknown id 404.  A request that is not as documented (the
 * method, the forge's authentication headers, a JSON body of exactly
 * {"body": STRING}, Content-Type application/json) answers 422 with what
 * is wrong.  --lose-creates N: the first N creates are kept but answered
 * 502, as if the answer was lost.  GET requests log their "query" too.
 * Stops on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_BODY (1u << 20)

static const char *log_path;
static long fail_first;
static long lose_first;
static long ntaken;
static const char *fail_while;
static const char *fail_until;
static long nrequests;
static long lose_creates;
static long ncreates;

/* The comments made, in order. */
struct comment {
	long id;
	char *key; /* "github /repos/O/R/issues/N" and so on */
	char *repo; /* the repository's path part, for updates by id */
	char *body;
	struct comment *next;
};
static struct comment *comments, **comments_tail = &comments;
static long next_comment_id = 1000;
static volatile sig_atomic_t stop;

/* GitLab's last state per "path\nname". */
struct gl_state {
	char *key;
	char *state;
	struct gl_state *next;
};
static struct gl_state *gl_states;

static const char *const kept_headers[] = {
	"accept",	"authorization", "content-type",
	"private-token", "user-agent",	 "x-github-api-version",
};

struct request {
	char *body;
	size_t len;
	int too_big;
	json_t *headers;
};

static enum MHD_Result
header_cb(void *arg, enum MHD_ValueKind kind, const char *key,
	  const char *value)
{
	struct request *r = arg;
	char name[64];
	size_t i;

	(void)kind;
	if (strlen(key) >= sizeof(name))
		return MHD_YES;
	for (i = 0; key[i]; i++)
		name[i] = (char)(key[i] >= 'A' && key[i] <= 'Z'
					 ? key[i] - 'A' + 'a'
					 : key[i]);
	name[i] = '\0';
	for (i = 0; i < sizeof(kept_headers) / sizeof(kept_headers[0]); i++)
		if (!strcmp(name, kept_headers[i]))
			json_object_set_new(r->headers, name,
					    json_string(value ? value : ""));
	return MHD_YES;
}

static int
file_exists(const char *p)
{
	return p && access(p, F_OK) == 0;
}

/* GitLab refuses to move a status to the state it is in. */
static int
gitlab_refuses(const char *path, json_t *body, char *msg, size_t len)
{
	const char *name, *state;
	struct gl_state *g;
	char *key;
	size_t n;

	if (!strstr(path, "/projects/") || !json_is_object(body))
		return 0;
	name = json_string_value(json_object_get(body, "name"));
	state = json_string_value(json_object_get(body, "state"));
	if (!name || !state)
		return 0;
	n = strlen(path) + strlen(name) + 2;
	key = malloc(n);
	if (!key)
		return 0;
	snprintf(key, n, "%s\n%s", path, name);
	for (g = gl_states; g && strcmp(g->key, key); g = g->next)
		;
	if (g && !strcmp(g->state, state) &&
	    (!strcmp(state, "pending") || !strcmp(state, "running"))) {
		snprintf(msg, len,
			 "{\"message\":\"Cannot transition status via :%s "
			 "from :%s\"}",
			 state, g->state);
		free(key);
		return 1;
	}
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g) {
			free(key);
			return 0;
		}
		g->key = key;
		g->next = gl_states;
		gl_states = g;
	} else {
		free(key);
		free(g->state);
	}
	g->state = strdup(state);
	return 0;
}

static enum MHD_Result
query_cb(void *arg, enum MHD_ValueKind kind, const char *key,
	 const char *value)
{
	(void)kind;
	json_object_set_new(arg, key, json_string(value ? value : ""));
	return MHD_YES;
}

static void
append_log(const char *method, const char *url, struct request *r, json_t *body,
	   unsigned code, json_t *query)
{
	json_t *line = json_object();
	char *s;
	int fd;

	json_object_set_new(line, "method", json_string(method));
	json_object_set_new(line, "path", json_string(url));
	json_object_set(line, "headers", r->headers);
	if (body)
		json_object_set(line, "body", body);
	else
		json_object_set_new(line, "body",
				    json_stringn(r->body ? r->body : "",
						 r->len));
	json_object_set_new(line, "status", json_integer(code));
	if (query && json_object_size(query))
		json_object_set(line, "query", query);
	s = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0 && s) {
		size_t n = strlen(s);

		s[n] = '\n';
		if (write(fd, s, n + 1) < 0)
			perror("forge-stub: write");
		s[n] = '\0';
	}
	if (fd >= 0)
		close(fd);
	free(s);
	json_decref(line);
}

static const char *
hdr(json_t *headers, const char *name)
{
	return json_string_value(json_object_get(headers, name));
}

/* Is the request authenticated as the forge documents?  NULL: yes. */
static const char *
auth_wrong(const char *kind, json_t *h)
{
	const char *a = hdr(h, "authorization");

	if (!strcmp(kind, "github")) {
		if (!a || strncmp(a, "Bearer ", 7) || !a[7])
			return "GitHub wants 'Authorization: Bearer TOKEN'";
		if (!hdr(h, "accept") ||
		    strcmp(hdr(h, "accept"), "application/vnd.github+json"))
			return "GitHub wants 'Accept: "
			       "application/vnd.github+json'";
		if (!hdr(h, "x-github-api-version"))
			return "GitHub wants 'X-GitHub-Api-Version'";
		return NULL;
	}
	if (!strcmp(kind, "gitea"))
		return a && !strncmp(a, "token ", 6) && a[6]
			       ? NULL
			       : "Gitea wants 'Authorization: token TOKEN'";
	return hdr(h, "private-token") && *hdr(h, "private-token")
		       ? NULL
		       : "GitLab wants 'PRIVATE-TOKEN: TOKEN'";
}

/* A create or update body: a JSON object of exactly {"body": STRING}. */
static const char *
body_wrong(json_t *body, json_t *h)
{
	if (!hdr(h, "content-type") ||
	    strcmp(hdr(h, "content-type"), "application/json"))
		return "the body must be sent as application/json";
	if (!json_is_object(body) || json_object_size(body) != 1 ||
	    !json_is_string(json_object_get(body, "body")))
		return "the body must be {\"body\": STRING}";
	return NULL;
}

static long
num_arg(struct MHD_Connection *conn, const char *name, long dflt)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
						    name);

	return v ? strtol(v, NULL, 10) : dflt;
}

static json_t *
comment_json(const struct comment *c)
{
	return json_pack("{s:I,s:s,s:{s:s}}", "id", (json_int_t)c->id, "body",
			 c->body, "user", "login", "scaffold-bot");
}

/*
 * The comment APIs; 0 when url is none of them.  Sets *code and the
 * answer (a new string).
 */
static int
comment_route(struct MHD_Connection *conn, const char *method,
	      const char *url, json_t *body, json_t *h, unsigned *code,
	      char **answer)
{
	const char *kind, *p, *wrong = NULL;
	char repo[512], key[640], tail[128];
	long n = 0, id = 0;
	int create = 0, update = 0, list = 0;
	json_t *out = NULL;
	struct comment *c;

	if (!strncmp(url, "/api/v1/repos/", 14)) {
		kind = "gitea";
		p = url + 7;
	} else if (!strncmp(url, "/api/v4/projects/", 17)) {
		kind = "gitlab";
		p = url + 7;
	} else if (!strncmp(url, "/repos/", 7)) {
		kind = "github";
		p = url;
	} else {
		return 0;
	}
	if (!strcmp(kind, "gitlab")) {
		const char *m = strstr(p, "/merge_requests/");

		if (!m || !strstr(m, "/notes"))
			return 0;
		snprintf(repo, sizeof(repo), "%.*s", (int)(m - p), p);
		if (sscanf(m, "/merge_requests/%ld/notes%127s", &n, tail) == 2) {
			if (sscanf(tail, "/%ld", &id) != 1)
				return 0;
			update = 1;
		} else if (sscanf(m, "/merge_requests/%ld/note%127s", &n,
				  tail) == 2 &&
			   !strcmp(tail, "s")) {
			list = create = 1;
		} else {
			return 0;
		}
		snprintf(key, sizeof(key), "gitlab %s!%ld", repo, n);
	} else {
		const char *m = strstr(p, "/issues/");

		if (!m || !strstr(m, "/comments"))
			return 0;
		snprintf(repo, sizeof(repo), "%.*s", (int)(m - p), p);
		if (sscanf(m, "/issues/comments/%ld%127s", &id, tail) == 1)
			update = 1;
		else if (sscanf(m, "/issues/%ld/comment%127s", &n, tail) == 2 &&
			 !strcmp(tail, "s"))
			list = create = 1;
		else
			return 0;
		snprintf(key, sizeof(key), "%s %s#%ld", kind, repo, n);
	}
	if (list && !strcmp(method, "GET"))
		create = 0;
	else if (create && !strcmp(method, "POST"))
		list = 0;
	else if (update && !strcmp(method, !strcmp(kind, "gitlab") ? "PUT"
								  : "PATCH"))
		;
	else
		wrong = "this method is not documented for this path";
	if (!wrong)
		wrong = auth_wrong(kind, h);
	if (!wrong && !list)
		wrong = body_wrong(body, h);
	if (wrong) {
		*code = 422;
		out = json_pack("{s:s}", "message", wrong);
	} else if (create) {
		c = calloc(1, sizeof(*c));
		c->id = next_comment_id++;
		c->key = strdup(key);
		c->repo = strdup(repo);
		c->body = strdup(json_string_value(json_object_get(body,
								   "body")));
		*comments_tail = c;
		comments_tail = &c->next;
		if (++ncreates <= lose_creates) {
			*code = 502;
			out = json_pack("{s:s}", "message",
					"the answer was lost");
		} else {
			*code = 201;
			out = comment_json(c);
		}
	} else if (update) {
		for (c = comments; c; c = c->next)
			if (c->id == id && !strcmp(c->repo, repo) &&
			    (strcmp(kind, "gitlab") || !strcmp(c->key, key)))
				break;
		if (!c) {
			*code = 404;
			out = json_pack("{s:s}", "message", "Not Found");
		} else {
			free(c->body);
			c->body = strdup(json_string_value(
				json_object_get(body, "body")));
			*code = 200;
			out = comment_json(c);
		}
	} else {
		long page = num_arg(conn, "page", 1), i = 0;
		long per = num_arg(conn, !strcmp(kind, "gitea") ? "limit"
								: "per_page",
				   !strcmp(kind, "gitea") ? 50 : 20);

		out = json_array();
		for (c = comments; c; c = c->next)
			if (!strcmp(c->key, key) && i++ >= (page - 1) * per &&
			    (long)json_array_size(out) < per)
				json_array_append_new(out, comment_json(c));
		*code = 200;
	}
	*answer = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return 1;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload,
	size_t *upload_size, void **con_cls)
{
	struct request *r = *con_cls;
	struct MHD_Response *resp;
	json_t *body = NULL, *query = NULL;
	char answer[512], *big = NULL;
	unsigned code = 201;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->headers = json_object();
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->len + *upload_size > MAX_BODY) {
			r->too_big = 1;
		} else {
			char *p = realloc(r->body, r->len + *upload_size + 1);

			if (!p)
				return MHD_NO;
			r->body = p;
			memcpy(r->body + r->len, upload, *upload_size);
			r->len += *upload_size;
			r->body[r->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	MHD_get_connection_values(conn, MHD_HEADER_KIND, header_cb, r);
	if (r->body)
		body = json_loadb(r->body, r->len, 0, NULL);
	nrequests++;
	snprintf(answer, sizeof(answer), "{\"id\":%ld,\"state\":\"ok\"}",
		 nrequests);
	if (r->too_big) {
		code = 413;
		snprintf(answer, sizeof(answer), "{\"message\":\"too big\"}");
	} else if (nrequests <= fail_first || file_exists(fail_while) ||
		   (fail_until && !file_exists(fail_until))) {
		code = 500;
		snprintf(answer, sizeof(answer),
			 "{\"message\":\"the stub forge is down\"}");
	} else if (comment_route(conn, method, url, body, r->headers, &code,
				 &big)) {
		;
	} else if (gitlab_refuses(url, body, answer, sizeof(answer))) {
		code = 400;
	} else if (++ntaken <= lose_first) {
		code = 502;
		snprintf(answer, sizeof(answer),
			 "{\"message\":\"the answer was lost\"}");
	}
	if (!strcmp(method, "GET")) {
		query = json_object();
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND,
					  query_cb, query);
	}
	append_log(method, url, r, body, code, query);
	json_decref(body);
	json_decref(query);
	resp = MHD_create_response_from_buffer(
		strlen(big ? big : answer), big ? big : answer,
		MHD_RESPMEM_MUST_COPY);
	free(big);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!r)
		return;
	json_decref(r->headers);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

/* Keep the path as sent: the tests check how a client escapes it. */
static size_t
no_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: forge-stub --log FILE [--port N] "
			"[--fail-first N] [--fail-while FILE] "
			"[--fail-until FILE] [--lose-first N] "
			"[--lose-creates N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct sockaddr_in sa;
	struct sigaction act;
	sigset_t stopset, oldset;
	long port = 0;
	int i;

	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--log"))
			log_path = argv[++i];
		else if (!strcmp(argv[i], "--port"))
			port = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--fail-first"))
			fail_first = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--fail-while"))
			fail_while = argv[++i];
		else if (!strcmp(argv[i], "--fail-until"))
			fail_until = argv[++i];
		else if (!strcmp(argv[i], "--lose-first"))
			lose_first = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--lose-creates"))
			lose_creates = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (!log_path || port < 0 || port > 65535)
		usage();
	/* the server's thread inherits a mask without the stop signals:
	 * they reach main's sigsuspend() */
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigprocmask(SIG_BLOCK, &stopset, &oldset);
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* one internal thread: requests are handled (and logged) in order */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
			     handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
			     MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
			     MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "forge-stub: cannot listen on 127.0.0.1:%ld\n",
			port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("%u\n", info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);
	while (!stop)
		sigsuspend(&oldset);
	MHD_stop_daemon(d);
	return 0;
}
