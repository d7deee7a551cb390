/*
 * forge-stub.c - a recording HTTP server standing in for the commit status
 * APIs of GitHub, GitLab and Gitea in the end-to-end tests.
 *
 *   forge-stub --log FILE [--port N] [--fail-first N] [--fail-while FILE]
 *              [--fail-until FILE] [--lose-first N]
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

static void
append_log(const char *method, const char *url, struct request *r, json_t *body,
	   unsigned code)
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

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload,
	size_t *upload_size, void **con_cls)
{
	struct request *r = *con_cls;
	struct MHD_Response *resp;
	json_t *body = NULL;
	char answer[512];
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
	} else if (gitlab_refuses(url, body, answer, sizeof(answer))) {
		code = 400;
	} else if (++ntaken <= lose_first) {
		code = 502;
		snprintf(answer, sizeof(answer),
			 "{\"message\":\"the answer was lost\"}");
	}
	append_log(method, url, r, body, code);
	json_decref(body);
	resp = MHD_create_response_from_buffer(strlen(answer), answer,
					       MHD_RESPMEM_MUST_COPY);
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
			"[--fail-until FILE] [--lose-first N]\n");
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
