/*
 * docker.c - the "docker" runner: the task's script in a container on the
 * local Docker engine, driven through the Engine API over the engine's unix
 * socket (libcurl), with files moved in and out as tar archives built and
 * read in memory (libarchive).  The only file that includes curl.h and
 * archive.h.
 *
 * Inside the container:
 *
 *	/tmp/run		the run dir: WorkingDir, $SCAFFOLD_RUN_DIR,
 *				loaded and stored files
 *	/tmp/.scaffold/script	the task's script, byte for byte
 *	/tmp/.scaffold/wrapper.sh
 *				exports the env values the API cannot carry,
 *				sources the script, then records the exit
 *				status (exit) and the store env (env/NAME)
 *
 * The container runs "/bin/sh -e /tmp/.scaffold/wrapper.sh" as its
 * entrypoint (so an image's own ENTRYPOINT and CMD do not get in the way),
 * with NetworkMode "none", labelled scaffold.run, scaffold.cascade and
 * scaffold.task.  The directories are world-writable so that an image
 * whose USER is not root can use them.
 *
 * A run: GET /version picks the API version, the image is pulled when
 * absent, the container is created, the files are put in with
 * PUT /archive, the output is attached (POST /attach: the engine attaches
 * before it answers, so nothing is missed, and the bytes come as the
 * script wrote them, unlike the json-file log's), then /start.  wait()
 * drives the attach stream (demultiplexed, through the secret masker into
 * the log) and POST /wait together in one curl multi handle, and polls an
 * eventfd for kill requests beside them; timeouts and kills send POST /kill
 * (SIGKILL: the shell is PID 1 and would ignore SIGTERM).  On success the
 * stored files and env come back with GET /archive.  free() removes the
 * container, unless keep_failed is set and the run failed.  adopt() finds
 * a container by its scaffold.run label and attaches to it from now on.
 *
 * When the connection to the engine breaks during a run, the run ends
 * RUN_LOST: the engine may still run the container, but scaffold cannot
 * know how it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "box.h"
#include "engine.h"
#include "runner-int.h"
#include "tar.h"

#define RUN_DIR BOX_RUN_DIR
#define META_DIR BOX_META_DIR
#define SHELL "/bin/sh"

#define PULL_IDLE_TIMEOUT_S 900
#define KILL_WAIT_MS 30000    /* POST /kill → the container has stopped */
#define DRAIN_MS 5000	      /* output still coming after the exit */
#define POLL_MAX_MS 1000
#define ARCHIVE_MAX (1LL << 30) /* a stored file, as a tar */
#define READ_CHUNK 65536

/* Go's os.FileMode bits, in the X-Docker-Container-Path-Stat header. */
#define GO_MODE_DIR (1ULL << 31)
#define GO_MODE_SYMLINK (1ULL << 27)

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

struct run_handle {
	int64_t run_id;
	char instance[40]; /* spec->instance, or "" */
	struct engine eng;
	char *id;      /* the container */
	char id12[13]; /* its short form, for people */
	char *run_dir; /* work_dir/run: collected files go there */
	struct strvec store_files;
	struct strvec store_env;
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic; 0: none */
	bool keep_failed;
	bool secret_env; /* its env holds a password: never kept */
	bool keep; /* free() leaves the container */
	bool waited;

	struct run_log log; /* fd, masker, last byte */

	int kill_fd; /* eventfd: kill() → wait() */

	/* the transfers: the attach stream (the output), then the wait */
	struct engine_set *set;
	struct engine_xfer *out;
	struct engine_demux dm;
	struct strvec notes; /* scaffold's own lines, after the output */
};

/* Settings from runner_docker_configure(). */
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cfg_socket;
static int cfg_keep_failed;

void
runner_docker_configure(const char *socket, int keep_failed)
{
	/* "unix:///run/docker.sock", as in DOCKER_HOST, is a path too */
	if (socket && !strncmp(socket, "unix://", 7))
		socket += 7;
	pthread_mutex_lock(&cfg_lock);
	free(cfg_socket);
	cfg_socket = socket && *socket ? xstrdup(socket) : NULL;
	cfg_keep_failed = keep_failed;
	pthread_mutex_unlock(&cfg_lock);
}

/* ---- the image -------------------------------------------------------- */

/* "name:tag", "name@digest", "host:5000/name" → repository and tag. */
static void
image_split(const char *image, struct buf *repo, struct buf *tag)
{
	const char *at = strchr(image, '@');
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(image, ':');

	if (at) {
		buf_add(repo, image, (size_t)(at - image));
		buf_puts(tag, at + 1);
	} else if (colon && (!slash || colon > slash)) {
		buf_add(repo, image, (size_t)(colon - image));
		buf_puts(tag, colon + 1);
	} else {
		buf_puts(repo, image);
		buf_puts(tag, "latest");
	}
}

/* The first "error" in the progress messages of a pull (one JSON object
 * a line), or NULL; caller frees. */
static char *
pull_stream_error(const struct buf *resp)
{
	const char *p = resp->ptr, *end = resp->ptr + resp->len, *nl;
	struct buf b = BUF_INIT;
	json_t *j, *e;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		e = json_object_get(j, "error");
		if (json_is_string(e))
			escape_log(&b, json_string_value(e),
				   json_string_length(e));
		json_decref(j);
		if (b.len)
			return buf_detach(&b, NULL);
	}
	buf_release(&b);
	return NULL;
}

/* Make sure the image is on the engine: pull it when it is not. */
static int
image_ensure(const struct engine *eng, const char *image)
{
	struct buf path = BUF_INIT, repo = BUF_INIT, tag = BUF_INIT;
	struct buf m = BUF_INIT, e = BUF_INIT;
	struct engine_call c;
	char *perr = NULL;
	int ret = -1;

	buf_puts(&path, "/images/");
	engine_url_escape(&path, image, "/:@");
	buf_puts(&path, "/json");
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(eng, &c) < 0)
		goto out;
	if (c.status == 200) {
		ret = 0;
		goto out;
	}
	if (c.status != 404) {
		buf_reset(&e);
		buf_addf(&e, "image '%s'", image);
		engine_answer_error(&c, e.ptr);
		goto out;
	}

	image_split(image, &repo, &tag);
	buf_reset(&path);
	buf_puts(&path, "/images/create?fromImage=");
	engine_url_escape(&path, repo.ptr, NULL);
	buf_puts(&path, "&tag=");
	engine_url_escape(&path, tag.ptr, NULL);
	engine_call_release(&c);
	engine_call_init(&c, "POST", path.ptr);
	c.idle_s = PULL_IDLE_TIMEOUT_S;
	if (engine_call_do(eng, &c) < 0)
		goto out;
	if (c.status != 200)
		engine_answer_message(&c, &m);
	else if ((perr = pull_stream_error(&c.resp)))
		buf_puts(&m, perr);
	if (m.len) {
		if (strstr(m.ptr, "no space left on device"))
			err_set("the Docker engine is out of disk space: %s",
				m.ptr);
		else
			err_set("image '%s' is not on this engine and cannot "
				"be pulled: %s",
				image, m.ptr);
		goto out;
	}
	ret = 0;
out:
	free(perr);
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&repo);
	buf_release(&tag);
	buf_release(&m);
	buf_release(&e);
	return ret;
}

/* ---- the run's files -------------------------------------------------- */

/* The archive put at / before the start: run dir, loaded files, meta. */
static int
build_archive(struct buf *out, const struct run_spec *spec,
	      const struct buf *w)
{
	struct tar_out *t = NULL;
	struct buf name = BUF_INIT, np = BUF_INIT;
	size_t i;
	int ret = -1;

	if (tar_out_new(&t, out) < 0 || tar_out_dir(t, "tmp/run/") < 0)
		goto out;
	for (i = 0; i < spec->nfiles; i++) {
		runner_norm_path(&np, spec->files[i].path);
		buf_reset(&name);
		buf_addf(&name, "tmp/run/%s", np.ptr);
		if (tar_out_file(t, name.ptr, spec->files[i].path,
				 spec->files[i].src) < 0)
			goto out;
	}
	if (tar_out_dir(t, "tmp/.scaffold/") < 0 ||
	    tar_out_dir(t, "tmp/.scaffold/env/") < 0 ||
	    tar_out_data(t, "tmp/.scaffold/script", spec->script,
			 spec->script_len, 0644) < 0 ||
	    tar_out_data(t, "tmp/.scaffold/wrapper.sh", w->ptr, w->len, 0644) <
		    0 ||
	    tar_out_close(t) < 0)
		goto out;
	ret = 0;
out:
	tar_out_free(t);
	buf_release(&name);
	buf_release(&np);
	return ret;
}

/*
 * The JSON of POST /containers/create (caller frees); boot: the command
 * that writes the wrapper and the script itself (no archive to put).
 */
static char *
create_body(const struct run_spec *spec, json_t *env, json_t *boot)
{
	json_t *root = json_object(), *a, *labels, *hc;
	char id[32];
	char *s;

	snprintf(id, sizeof(id), "%lld", (long long)spec->run_id);
	json_object_set_new(root, "Image", json_string(spec->image));
	if (boot) {
		/* no WorkingDir: the engine would make it, root-owned */
		json_object_set(root, "Entrypoint", boot);
	} else {
		a = json_array();
		json_array_append_new(a, json_string(SHELL));
		json_array_append_new(a, json_string("-e"));
		json_array_append_new(a, json_string(META_DIR "/wrapper.sh"));
		json_object_set_new(root, "Entrypoint", a);
		json_object_set_new(root, "WorkingDir", json_string(RUN_DIR));
	}
	json_object_set_new(root, "Cmd", json_array());
	json_object_set(root, "Env", env);
	labels = json_object();
	json_object_set_new(labels, "scaffold.run", json_string(id));
	if (spec->instance)
		json_object_set_new(labels, "scaffold.instance",
				    json_string(spec->instance));
	if (spec->cascade)
		json_object_set_new(labels, "scaffold.cascade",
				    json_string(spec->cascade));
	if (spec->task)
		json_object_set_new(labels, "scaffold.task",
				    json_string(spec->task));
	json_object_set_new(root, "Labels", labels);
	json_object_set_new(root, "AttachStdin", json_false());
	json_object_set_new(root, "AttachStdout", json_true());
	json_object_set_new(root, "AttachStderr", json_true());
	json_object_set_new(root, "OpenStdin", json_false());
	json_object_set_new(root, "Tty", json_false());
	hc = json_object();
	json_object_set_new(hc, "NetworkMode", json_string("none"));
	json_object_set_new(root, "HostConfig", hc);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s)
		BUG("cannot serialize a container's settings");
	return s;
}

/* ---- the handle ------------------------------------------------------- */

static void docker_free(struct run_handle *h);
static int attach_open(struct run_handle *h);

/* A handle for spec, its lists checked; the engine not yet contacted. */
/* Does a value of the run's env hold one of the cascade's passwords (mapped,
 * or inside a value another task stored)? */
static bool
env_holds_secret(const struct run_spec *spec)
{
	size_t i, k;

	for (i = 0; spec->secrets && i < spec->nsecrets; i++)
		for (k = 0; k < spec->nenv; k++)
			if (spec->secret_lens[i] &&
			    memmem(spec->env[k].value, spec->env[k].len,
				   spec->secrets[i], spec->secret_lens[i]))
				return true;
	return false;
}

static int
handle_new(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	int ret = -1;

	*out = NULL;
	h->run_id = spec->run_id;
	if (spec->instance)
		snprintf(h->instance, sizeof(h->instance), "%s",
			 spec->instance);
	h->kill_fd = -1;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	pthread_mutex_lock(&cfg_lock);
	h->keep_failed = cfg_keep_failed != 0;
	pthread_mutex_unlock(&cfg_lock);
	h->secret_env = env_holds_secret(spec);

	if ((ret = box_handle_init(spec, &h->log, &h->store_files,
				   &h->store_env, &h->run_dir,
				   &h->kill_fd)) < 0)
		goto out;
	*out = h;
	h = NULL;
	ret = 0;
out:
	docker_free(h);
	return ret;
}

/* The configured engine, and the API version agreed on. */
static int
docker_engine_open(struct run_handle *h)
{
	struct engine_addr a;
	int ret;

	memset(&a, 0, sizeof(a));
	pthread_mutex_lock(&cfg_lock);
	a.socket = cfg_socket;
	ret = engine_open(&h->eng, &a);
	pthread_mutex_unlock(&cfg_lock);
	return ret;
}

static void
set_container(struct run_handle *h, const char *id)
{
	free(h->id);
	h->id = xstrdup(id);
	snprintf(h->id12, sizeof(h->id12), "%.12s", id);
}

static int
remove_container(struct run_handle *h)
{
	return engine_container_remove(&h->eng, h->id);
}

/*
 * Containers that could not be removed when their run ended (the engine
 * was gone: a lost run), as "SOCKET\tID": removed by the next run that
 * reaches that engine.
 */
static pthread_mutex_t leftover_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strvec leftovers = STRVEC_INIT;

static void
leftover_add(const struct run_handle *h)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "%s\t%s", h->eng.where, h->id);
	pthread_mutex_lock(&leftover_lock);
	strvec_push(&leftovers, b.ptr);
	pthread_mutex_unlock(&leftover_lock);
	buf_release(&b);
}

/* Remove the leftovers of eng's engine, which answers again. */
static void
leftovers_remove(const struct engine *eng)
{
	struct strvec mine = STRVEC_INIT, rest = STRVEC_INIT;
	size_t i, n = strlen(eng->where);
	char *saved;

	pthread_mutex_lock(&leftover_lock);
	for (i = 0; i < leftovers.n; i++)
		strvec_push(!strncmp(leftovers.v[i], eng->where, n) &&
				    leftovers.v[i][n] == '\t'
			    ? &mine
			    : &rest,
			    leftovers.v[i]);
	strvec_clear(&leftovers);
	leftovers = rest;
	pthread_mutex_unlock(&leftover_lock);
	if (!mine.n)
		return;
	saved = xstrdup(err_msg());
	for (i = 0; i < mine.n; i++) {
		if (engine_container_remove(eng, mine.v[i] + n + 1) < 0) {
			/* the engine is still away (the API version is
			 * known without asking it): the next run tries */
			log_warnx("runner: container %.12s of a lost run: %s",
				  mine.v[i] + n + 1, err_msg());
			pthread_mutex_lock(&leftover_lock);
			strvec_push(&leftovers, mine.v[i]);
			pthread_mutex_unlock(&leftover_lock);
		} else
			log_info("runner: removed container %.12s of a run "
				 "lost when the engine went away",
				 mine.v[i] + n + 1);
	}
	strvec_clear(&mine);
	err_set("%s", saved);
	free(saved);
}

static int
docker_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf path = BUF_INIT, exports = BUF_INIT, tar = BUF_INIT;
	struct buf w = BUF_INIT;
	struct engine_call c;
	json_t *env = json_array(), *j = NULL, *id, *boot = NULL;
	char *body = NULL;
	int ret = -1;

	*out = NULL;
	engine_call_init(&c, "GET", "/");
	if ((ret = handle_new(&h, spec)) < 0 ||
	    (ret = box_prepare(spec, env, &exports, &w)) < 0)
		goto out;
	ret = -1;
	box_wrapper(&w, &h->store_env, &exports, NULL);
	/*
	 * A task that loads no files needs no archive: the command writes
	 * the wrapper and the script (what PUT /archive costs: issue 19).
	 */
	if (!spec->nfiles && box_boot_fits(w.ptr, w.len) &&
	    box_boot_fits(spec->script, spec->script_len))
		boot = box_boot_cmd(w.ptr, w.len, spec->script,
				    spec->script_len, NULL);
	else if (build_archive(&tar, spec, &w) < 0)
		goto out;

	if (docker_engine_open(h) < 0)
		goto out;
	leftovers_remove(&h->eng);
	if (image_ensure(&h->eng, spec->image) < 0)
		goto out;

	body = create_body(spec, env, boot);
	engine_call_release(&c);
	engine_call_init(&c, "POST", "/containers/create");
	c.body = body;
	c.body_len = strlen(body);
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 201 && c.status != 200) {
		buf_addf(&path, "cannot create a container of image '%s'",
			 spec->image);
		engine_answer_error(&c, path.ptr);
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot create a container")))
		goto out;
	id = json_object_get(j, "Id");
	if (!json_is_string(id) || !json_string_length(id)) {
		err_set("cannot create a container: the Docker engine did not "
			"say its id");
		goto out;
	}
	set_container(h, json_string_value(id));
	if (boot)
		goto attach;

	buf_reset(&path);
	buf_addf(&path, "/containers/%s/archive?path=/", h->id);
	engine_call_release(&c);
	engine_call_init(&c, "PUT", path.ptr);
	c.ctype = "application/x-tar";
	c.body = tar.ptr;
	c.body_len = tar.len;
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 200) {
		engine_answer_error(&c, "cannot put the run's files in the container");
		goto out;
	}

attach:
	if (attach_open(h) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "/containers/%s/start", h->id);
	engine_call_release(&c);
	engine_call_init(&c, "POST", path.ptr);
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - engine_now_ms())
		h->deadline_ms = engine_now_ms() + h->timeout_ms;
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status != 204 && c.status != 304) {
		engine_answer_error(&c, "cannot start the container");
		goto out;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	docker_free(h); /* removes the container: it never ran */
	engine_call_release(&c);
	json_decref(env);
	json_decref(j);
	json_decref(boot);
	if (w.len) /* may hold secrets */
		memset(w.ptr, 0, w.len);
	buf_release(&w);
	if (body) /* the env may hold secrets */
		memset(body, 0, strlen(body));
	free(body);
	if (exports.len)
		memset(exports.ptr, 0, exports.len);
	buf_release(&exports);
	if (tar.len)
		memset(tar.ptr, 0, tar.len);
	buf_release(&tar);
	buf_release(&path);
	return ret;
}

/* ---- adopt ------------------------------------------------------------ */

/*
 * The container labelled scaffold.run=ID: a running one first, else the
 * newest.  0, ERR_NOTFOUND, or -1.
 */
static int
find_container(struct run_handle *h, char **out_id)
{
	struct engine_call c;
	json_t *j = NULL, *x, *st;
	const char *pick = NULL;
	size_t i;
	int ret = -1;

	*out_id = NULL;
	if (engine_list_of_run(&h->eng, "/containers/json?all=1", h->run_id,
			       h->instance, &c) < 0)
		goto out;
	if (c.status != 200) {
		engine_answer_error(&c, "cannot list the containers");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot list the containers")))
		goto out;
	json_array_foreach(j, i, x) {
		const char *id = json_string_value(json_object_get(x, "Id"));

		st = json_object_get(x, "State");
		if (!id)
			continue;
		if (!pick)
			pick = id;
		if (json_is_string(st) &&
		    !strcmp(json_string_value(st), "running")) {
			pick = id;
			break;
		}
	}
	if (!pick) {
		err_set("run %lld: no container labelled scaffold.run=%lld on "
			"the Docker engine",
			(long long)h->run_id, (long long)h->run_id);
		ret = ERR_NOTFOUND;
		goto out;
	}
	*out_id = xstrdup(pick);
	ret = 0;
out:
	json_decref(j);
	engine_call_release(&c);
	return ret;
}

static int
docker_adopt(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf path = BUF_INIT;
	struct timespec rt;
	struct engine_call c;
	json_t *j = NULL, *state;
	const char *status, *started;
	char *id = NULL;
	int64_t t0, now_real, left;
	int ret = -1;

	*out = NULL;
	engine_call_init(&c, "GET", "/");
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	if (docker_engine_open(h) < 0)
		goto out;
	if ((ret = find_container(h, &id)) < 0) {
		/* the container is removed only once the run's end is
		 * recorded: none means it was never created */
		if (ret == ERR_NOTFOUND)
			ret = RUNNER_NOT_STARTED;
		goto out;
	}
	ret = -1;
	set_container(h, id);

	buf_addf(&path, "/containers/%s/json", h->id);
	engine_call_release(&c);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status == 404) {
		err_set("run %lld: container %s is gone", (long long)h->run_id,
			h->id12);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (c.status != 200) {
		engine_answer_error(&c, "cannot inspect the container");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot inspect the container")))
		goto out;
	state = json_object_get(j, "State");
	status = json_string_value(json_object_get(state, "Status"));
	started = json_string_value(json_object_get(state, "StartedAt"));
	if (status && !strcmp(status, "created")) {
		/* scaffold stopped between create and start: never ran, and
		 * once removed, never will */
		if (remove_container(h) < 0)
			goto out;
		err_set("run %lld: its container %s was never started",
			(long long)h->run_id, h->id12);
		ret = RUNNER_NOT_STARTED;
		goto out;
	}

	/* its output from now on; a container that has ended has no more */
	if (status && !strcmp(status, "running") && attach_open(h) < 0)
		goto out;
	clock_gettime(CLOCK_REALTIME, &rt);
	if (h->timeout_ms) {
		now_real = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
		t0 = started ? engine_time_ms(started) : -1;
		left = h->timeout_ms;
		if (t0 > 0 && now_real > t0)
			left = now_real - t0 >= h->timeout_ms ?
				       0 :
				       h->timeout_ms - (now_real - t0);
		h->deadline_ms = engine_now_ms() + left;
	}
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h)
		h->keep = true; /* not ours to remove on a failed adopt */
	docker_free(h);
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	free(id);
	return ret;
}

/* ---- the output stream ------------------------------------------------ */

static void
attach_data(void *arg, int stream, const char *data, size_t len)
{
	struct run_handle *h = arg;

	(void)stream;
	run_log_output(&h->log, data, len);
}

static void
attach_body(void *arg, const char *data, size_t len)
{
	struct run_handle *h = arg;

	engine_demux_feed(&h->dm, data, len, attach_data, h);
}

/* The set of the run's transfers. */
static int
set_get(struct run_handle *h)
{
	if (!h->set)
		h->set = engine_set_new();
	if (!h->set)
		return err_set("run %lld: cannot set up libcurl",
			       (long long)h->run_id);
	return 0;
}

/*
 * Attach to the container's stdout and stderr, and return once the engine
 * has answered: the engine attaches the streams before it answers, so
 * nothing the container writes after that is missed.  Before the start
 * this gets all of the output; for adopt, the output from now on.
 */
static int
attach_open(struct run_handle *h)
{
	struct buf path = BUF_INIT;
	int ret = -1;

	if (set_get(h) < 0)
		goto out;
	buf_addf(&path, "/containers/%s/attach?stream=1&stdout=1&stderr=1",
		 h->id);
	h->out = engine_xfer_start(h->set, &h->eng, "POST", path.ptr,
				   attach_body, h);
	if (!h->out)
		goto out;
	ret = engine_xfer_answered(h->set, h->out,
				   "cannot attach to the container",
				   ENGINE_IDLE_TIMEOUT_S * 1000LL);
out:
	buf_release(&path);
	return ret;
}

/* A line of scaffold's own, written once the output is all in. */
static void PRINTF_LIKE(2, 3)
note_later(struct run_handle *h, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strvec_push(&h->notes, b.ptr);
	buf_release(&b);
}

/* ---- wait ------------------------------------------------------------- */


/* Send SIGKILL; -1 with reason set when the engine cannot be reached. */
static int
kill_container(struct run_handle *h, char *reason, size_t len)
{
	struct buf path = BUF_INIT, m = BUF_INIT;
	struct engine_call c;
	int ret = -1;

	buf_addf(&path, "/containers/%s/kill", h->id);
	engine_call_init(&c, "POST", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(reason, len, "%s", c.reason);
		goto out;
	}
	/* 409: not running any more, which is what we want */
	if (c.status != 204 && c.status != 200 && c.status != 409 &&
	    c.status != 404) {
		engine_answer_message(&c, &m);
		run_log_note(&h->log, "cannot kill the container: %s", m.ptr);
	}
	ret = 0;
out:
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&m);
	return ret;
}

static void
result_lost(struct run_handle *h, struct run_result *out, const char *reason)
{
	run_result_lost(out, &h->log, "lost contact with the Docker engine: %s",
			reason);
}

/*
 * GET one path's archive from the stopped container: 0 with the tar in
 * c->resp (c->status says whether it exists), -1 when the engine is gone
 * (c->reason).
 */
static int
get_archive(struct run_handle *h, const char *method, const char *cpath,
	    struct engine_call *c)
{
	struct buf path = BUF_INIT;
	int ret;

	buf_addf(&path, "/containers/%s/archive?path=", h->id);
	engine_url_escape(&path, cpath, "/");
	engine_call_init(c, method, path.ptr);
	c->max = ARCHIVE_MAX;
	ret = engine_call_do(&h->eng, c);
	buf_release(&path);
	return ret;
}

/* Go's FileMode of a path-stat header; -1 when it cannot be read. */
static int
stat_mode(const struct engine_call *c, unsigned long long *mode)
{
	struct buf raw = BUF_INIT;
	json_t *j = NULL, *m;
	int ret = -1;

	if (!c->stat.len || engine_base64_decode(&raw, c->stat.ptr, c->stat.len) < 0)
		goto out;
	j = json_loadb(raw.ptr, raw.len, 0, NULL);
	m = json_object_get(j, "mode");
	if (!json_is_integer(m))
		goto out;
	*mode = (unsigned long long)json_integer_value(m);
	ret = 0;
out:
	json_decref(j);
	buf_release(&raw);
	return ret;
}

/* What the docker backend gives runner_outputs_collect(). */
struct docker_out {
	struct run_handle *h;
	const char *name; /* the store file being taken */
	char *reason;	  /* why the engine is gone */
	size_t rlen;
	bool env_read;	  /* env[] and env_big[] hold the archive's */
	struct buf *env;  /* per store env: its value, */
	bool *env_set;	  /* whether the archive had it, */
	bool *env_big;	  /* whether it was over the cap */
};

/* "store file 'x': ANSWER" from an engine's unexpected answer. */
static int
engine_err(const char *name, const struct engine_call *c)
{
	struct buf a = BUF_INIT, e = BUF_INIT;
	int ret;

	engine_answer_message(c, &a);
	ret = err_set("store file '%s': %s", runner_esc(&e, name), a.ptr);
	buf_release(&a);
	buf_release(&e);
	return ret;
}

/* A directory on a store file's way, as the engine's path stat says. */
static int
docker_out_kind(void *arg, const char *rel, enum runner_path_kind *k)
{
	struct docker_out *d = arg;
	struct buf cp = BUF_INIT;
	unsigned long long mode;
	struct engine_call c;
	int ret = 0;

	buf_addf(&cp, RUN_DIR "/%s", rel);
	if (get_archive(d->h, "HEAD", cp.ptr, &c) < 0) {
		snprintf(d->reason, d->rlen, "%s", c.reason);
		ret = RUNNER_OUT_LOST;
	} else if (c.status == 404) {
		*k = RUNNER_PATH_MISSING;
	} else if (c.status != 200 || stat_mode(&c, &mode) < 0) {
		ret = engine_err(d->name, &c);
	} else {
		*k = mode & GO_MODE_SYMLINK ? RUNNER_PATH_LINK :
		     mode & GO_MODE_DIR	    ? RUNNER_PATH_DIR :
					      RUNNER_PATH_OTHER;
	}
	engine_call_release(&c);
	buf_release(&cp);
	return ret;
}

/*
 * One store file into run_dir/<path>.  Every directory on its way must be
 * a directory (not a symlink: the engine would follow it), and the file
 * itself a regular file within the caps.
 */
static int
docker_out_file(void *arg, size_t i, const char *name, int64_t *total,
		char **src)
{
	struct docker_out *d = arg;
	struct buf np = BUF_INIT, cp = BUF_INIT, e = BUF_INIT, dst = BUF_INIT;
	struct tar_in *a = NULL;
	enum tar_type type;
	const char *ename;
	int64_t size = 0;
	struct engine_call c;
	int ret;

	(void)i;
	engine_call_init(&c, "GET", "/");
	d->name = name;
	ret = runner_outputs_walk(name, docker_out_kind, d);
	if (ret < 0)
		goto out;
	runner_norm_path(&np, name);
	buf_addf(&cp, RUN_DIR "/%s", np.ptr);
	engine_call_release(&c);
	if (get_archive(d->h, "GET", cp.ptr, &c) < 0) {
		snprintf(d->reason, d->rlen, "%s", c.reason);
		ret = RUNNER_OUT_LOST;
		goto out;
	}
	if (c.status == 404) {
		ret = runner_outputs_check(name, RUNNER_PATH_MISSING, -1, 0);
		goto out;
	}
	if (c.too_big) {
		ret = err_set("store file '%s' is larger than 1G",
			      runner_esc(&e, name));
		goto out;
	}
	if (c.status != 200) {
		ret = engine_err(name, &c);
		goto out;
	}
	if (tar_in_open(&a, c.resp.ptr, c.resp.len) < 0 ||
	    tar_in_next(a, &ename, &type, &size) != 1) {
		ret = err_set("store file '%s': the Docker engine sent a bad "
			      "archive: %s",
			      runner_esc(&e, name), tar_in_error(a));
		goto out;
	}
	ret = runner_outputs_check(name,
				   type == TAR_SYMLINK ? RUNNER_PATH_LINK :
				   type == TAR_FILE    ? RUNNER_PATH_FILE :
							 RUNNER_PATH_OTHER,
				   size, *total);
	if (ret < 0)
		goto out;
	*total += size;
	buf_addf(&dst, "%s/%s", d->h->run_dir, np.ptr);
	if (tar_in_extract(a, dst.ptr) < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, name),
			      err_msg());
		goto out;
	}
	*src = buf_detach(&dst, NULL);
out:
	tar_in_free(a);
	engine_call_release(&c);
	buf_release(&np);
	buf_release(&cp);
	buf_release(&e);
	buf_release(&dst);
	return ret;
}

/* The wrapper's env/NAME files, all from one archive at the first call. */
static int
docker_out_read_env(struct docker_out *d, size_t max)
{
	struct run_handle *h = d->h;
	struct tar_in *a = NULL;
	enum tar_type type;
	int64_t size;
	struct buf ans = BUF_INIT;
	struct engine_call c;
	const char *name, *base;
	char *chunk = NULL;
	ssize_t n;
	size_t i;
	int ret = 0;

	if (get_archive(h, "GET", META_DIR "/env", &c) < 0) {
		snprintf(d->reason, d->rlen, "%s", c.reason);
		ret = RUNNER_OUT_LOST;
		goto out;
	}
	if (c.status != 200 || c.too_big) {
		engine_answer_message(&c, &ans);
		ret = err_set("store env: cannot read it from the container: "
			      "%s",
			      ans.ptr);
		goto out;
	}
	if (tar_in_open(&a, c.resp.ptr, c.resp.len) < 0)
		goto bad;
	chunk = xmalloc(READ_CHUNK);
	while (tar_in_next(a, &name, &type, &size) == 1) {
		if (!name || type != TAR_FILE)
			continue;
		base = strrchr(name, '/');
		base = base ? base + 1 : name;
		for (i = 0; i < h->store_env.n; i++)
			if (!d->env_set[i] && !strcmp(h->store_env.v[i], base))
				break;
		if (i == h->store_env.n)
			continue;
		d->env_set[i] = true;
		while ((n = tar_in_read(a, chunk, READ_CHUNK)) > 0) {
			if (d->env[i].len + (size_t)n > max) {
				d->env_big[i] = true;
				buf_reset(&d->env[i]);
				break;
			}
			buf_add(&d->env[i], chunk, (size_t)n);
		}
		if (n < 0)
			goto bad;
	}
	d->env_read = true;
	goto out;
bad:
	ret = err_set("store env: the Docker engine sent a bad archive: %s",
		      tar_in_error(a));
out:
	tar_in_free(a);
	free(chunk);
	engine_call_release(&c);
	buf_release(&ans);
	return ret;
}

static int
docker_out_env(void *arg, size_t i, const char *name, size_t max,
	       struct buf *val)
{
	struct docker_out *d = arg;
	struct buf tmp;
	int ret;

	(void)name;
	if (!d->env_read && (ret = docker_out_read_env(d, max)) < 0)
		return ret;
	if (d->env_big[i])
		return ERR_TOOBIG;
	if (!d->env_set[i])
		return ERR_NOTFOUND;
	tmp = *val;
	*val = d->env[i];
	d->env[i] = tmp;
	return 0;
}

/* The wrapper writes meta/exit after the store env: none, no trap ran. */
static int
docker_out_uncaptured(void *arg)
{
	struct docker_out *d = arg;
	struct engine_call c;
	int ret;

	if (get_archive(d->h, "HEAD", META_DIR "/exit", &c) < 0) {
		snprintf(d->reason, d->rlen, "%s", c.reason);
		ret = RUNNER_OUT_LOST;
	} else {
		ret = c.status == 404;
	}
	engine_call_release(&c);
	return ret;
}

/*
 * After success: the store files and env into out.  0, RUNNER_OUT_FAILED
 * (out->message set), RUNNER_OUT_LOST (reason set).
 */
static int
collect(struct run_handle *h, struct run_result *out, char *reason,
	size_t rlen)
{
	size_t n = h->store_env.n, i;
	struct docker_out d = { .h = h, .reason = reason, .rlen = rlen };
	struct runner_outputs o = {
		.store_files = &h->store_files,
		.store_env = &h->store_env,
		.log = &h->log,
		.arg = &d,
		.file = docker_out_file,
		.env = docker_out_env,
		.uncaptured = docker_out_uncaptured,
	};
	int ret;

	d.env = xcalloc(n + 1, sizeof(*d.env));
	d.env_set = xcalloc(n + 1, sizeof(*d.env_set));
	d.env_big = xcalloc(n + 1, sizeof(*d.env_big));
	for (i = 0; i < n; i++)
		buf_init(&d.env[i]);
	ret = runner_outputs_collect(&o, out);
	for (i = 0; i < n; i++)
		buf_release(&d.env[i]);
	free(d.env);
	free(d.env_set);
	free(d.env_big);
	return ret;
}

/*
 * Why a container that failed by itself ended: 1 when the kernel killed it
 * for memory, 0 when nothing more is known, -1 (reason set) when the
 * engine cannot be asked any more.
 */
static int
exit_cause(struct run_handle *h, char *reason, size_t len)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *oom;
	int ret = 0;

	buf_addf(&path, "/containers/%s/json", h->id);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(reason, len, "%s", c.reason);
		ret = -1;
		goto out;
	}
	if (c.status != 200)
		goto out;
	j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	oom = json_object_get(json_object_get(j, "State"), "OOMKilled");
	if (json_is_true(oom))
		ret = 1;
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	return ret;
}

static int64_t
min_wait(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	return a < b ? a : b;
}

/*
 * Follow the run to its end: the attach stream into the log, the wait
 * answer, kill requests, the timeout.  The output may still come in after
 * the exit: it is taken until the stream ends or stays quiet DRAIN_MS.
 */
static int
docker_wait(struct run_handle *h, struct run_result *out)
{
	struct buf path = BUF_INIT, m = BUF_INIT;
	const struct buf *wbody;
	char reason[448], dur[32];
	struct engine_xfer *wt = NULL;
	enum why_stop why = STOP_NONE;
	bool wait_done = false, wait_broke = false, lost = false, kready;
	int64_t now, t, kill_at = -1, wait_done_at = -1, quiet_until, last;
	long wait_status = 0;
	json_t *j = NULL, *sc;
	uint64_t cnt;
	size_t i;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	if (set_get(h) < 0)
		goto out;

	buf_addf(&path, "/containers/%s/wait", h->id);
	wt = engine_xfer_start(h->set, &h->eng, "POST", path.ptr, NULL, NULL);
	if (!wt)
		goto out;

	for (;;) {
		engine_set_run(h->set);
		wait_done = engine_xfer_done(wt);
		wait_broke = engine_xfer_broke(wt, reason, sizeof(reason));
		now = engine_now_ms();
		if (wait_done && wait_done_at < 0)
			wait_done_at = now;
		if (wait_broke)
			break; /* the engine is gone, and the output with it */
		last = h->out ? engine_xfer_last_ms(h->out) : 0;
		quiet_until = (last > wait_done_at ? last : wait_done_at) +
			      DRAIN_MS;
		if (wait_done &&
		    (!h->out || engine_xfer_done(h->out) || now >= quiet_until))
			break;
		if (why == STOP_NONE && h->deadline_ms &&
		    now >= h->deadline_ms) {
			why = STOP_TIMEOUT;
			duration_format(dur, sizeof(dur), h->timeout_ms);
			note_later(h, "timed out after %s", dur);
			kill_at = now;
			if (kill_container(h, reason, sizeof(reason)) < 0) {
				lost = true;
				break;
			}
			continue;
		}
		if (kill_at >= 0 && !wait_done &&
		    now >= kill_at + KILL_WAIT_MS) {
			duration_format(dur, sizeof(dur), KILL_WAIT_MS);
			snprintf(reason, sizeof(reason),
				 "the container did not stop %s after it was "
				 "killed",
				 dur);
			lost = true;
			break;
		}

		t = POLL_MAX_MS;
		if (why == STOP_NONE && h->deadline_ms)
			t = min_wait(t, h->deadline_ms - now);
		if (kill_at >= 0 && !wait_done)
			t = min_wait(t, kill_at + KILL_WAIT_MS - now);
		if (wait_done)
			t = min_wait(t, quiet_until - now);
		if (t < 0)
			t = 0;
		engine_set_poll(h->set, why == STOP_NONE ? h->kill_fd : -1,
				(int)t, &kready);
		if (why == STOP_NONE && kready) {
			if (read(h->kill_fd, &cnt, sizeof(cnt)) < 0)
				cnt = 0;
			why = STOP_KILLED;
			note_later(h, "killed");
			kill_at = engine_now_ms();
			if (kill_container(h, reason, sizeof(reason)) < 0) {
				lost = true;
				break;
			}
		}
	}

	/* the output stream broke while the engine answered the wait */
	if (!lost && !wait_broke && h->out &&
	    engine_xfer_broke(h->out, reason,
			      sizeof(reason)))
		note_later(h, "the output stream broke: %s", reason);
	run_log_flush(&h->log);
	for (i = 0; i < h->notes.n; i++)
		run_log_note(&h->log, "%s", h->notes.v[i]);

	if (!lost && wait_broke) {
		engine_xfer_broke(wt, reason, sizeof(reason));
		lost = true;
	}
	if (!lost) {
		wait_status = engine_xfer_status(wt);
		wbody = engine_xfer_body(wt);
		if (wait_status != 200) {
			engine_answer_text(wait_status, wbody->ptr, wbody->len,
					   &m);
			snprintf(reason, sizeof(reason),
				 "waiting for container %s: %s", h->id12,
				 m.ptr);
			lost = true;
		}
	}
	if (!lost) {
		j = json_loadb(wbody->ptr, wbody->len, 0, NULL);
		sc = json_object_get(j, "StatusCode");
		if (!json_is_integer(sc)) {
			snprintf(reason, sizeof(reason),
				 "the wait for container %s ended without an "
				 "exit code",
				 h->id12);
			lost = true;
		} else {
			out->exit_code = (int)json_integer_value(sc);
		}
	}

	if (lost) {
		result_lost(h, out, reason);
	} else if (why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		out->exit_code = -1;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		out->exit_code = -1;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (out->exit_code == 0) {
		out->outcome = RUN_SUCCESS;
		switch (collect(h, out, reason, sizeof(reason))) {
		case 0:
			break;
		case RUNNER_OUT_FAILED:
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
			break;
		default:
			result_lost(h, out, reason);
			break;
		}
	} else {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 out->exit_code);
		switch (exit_cause(h, reason, sizeof(reason))) {
		case 1:
			snprintf(out->message, sizeof(out->message),
				 "exit code %d (out of memory)",
				 out->exit_code);
			break;
		case -1:
			result_lost(h, out, reason);
			break;
		}
	}
	/*
	 * A kept container's env is there for anyone who can run `docker
	 * inspect`, and the engine cannot scrub it: a run that was given a
	 * password is removed, kept_failed or not.
	 */
	if (out->outcome != RUN_SUCCESS && h->keep_failed && h->secret_env) {
		run_log_note(&h->log,
			     "container %s not kept for inspection: its "
			     "environment holds a password input",
			     h->id12);
	} else if (out->outcome != RUN_SUCCESS && h->keep_failed) {
		h->keep = true;
		run_log_note(&h->log, "container %s kept for inspection", h->id12);
	}
	ret = 0;
out:
	engine_xfer_free(h->set, wt);
	json_decref(j);
	buf_release(&path);
	buf_release(&m);
	return ret;
}

/* Safe from any thread: wait() sees the eventfd and kills the container. */
static int
docker_kill(struct run_handle *h)
{
	return runner_kill_fd_signal(h->kill_fd, h->run_id);
}

void
docker_detach(struct run_handle *h)
{
	h->keep = true;
}

/* Removes the container unless kept; the thread's error stays as it was. */
static void
docker_free(struct run_handle *h)
{
	char *saved;

	if (!h)
		return;
	if (h->id && !h->keep) {
		saved = xstrdup(err_msg());
		if (remove_container(h) < 0) {
			log_warnx("runner: run %lld: container %s: %s (to be "
				  "removed when the engine answers again)",
				  (long long)h->run_id, h->id12, err_msg());
			leftover_add(h);
		}
		err_set("%s", saved);
		free(saved);
	}
	box_handle_release(&h->log, &h->store_files, &h->store_env,
			   &h->run_dir, &h->kill_fd);
	engine_xfer_free(h->set, h->out);
	engine_set_free(h->set);
	strvec_clear(&h->notes);
	engine_release(&h->eng);
	free(h->id);
	free(h);
}

const struct runner_ops runner_docker = {
	.name = "docker",
	.start = docker_start,
	.wait = docker_wait,
	.kill = docker_kill,
	.free = docker_free,
	.adopt = docker_adopt,
};
