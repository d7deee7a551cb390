/*
 * swarm.c - the "swarm" runner: the task's script in a container on
 * whichever node of a Docker Swarm takes it, driven through the manager's
 * Engine API (engine.c), with the contract of the docker runner (box.c):
 * run dir /tmp/run, the SCAFFOLD_* environment, loaded files in, stored
 * files, stored env and .display out.
 *
 * A run is one service, named scaffold-INSTANCE-RUNID (deterministic: a
 * second create answers 409, and adopt() finds it again), labelled
 * scaffold.run, scaffold.instance, scaffold.cascade and scaffold.task, in
 * mode ReplicatedJob {MaxConcurrent 1, TotalCompletions 1} with
 * RestartPolicy none: one task, never re-run by the swarm (retries stay
 * scaffold's).
 *
 * Files move without any route between the node and scaffold:
 *
 *   in	  the wrapper and the script are arguments of the command (box.c's
 *	  boot) when they fit (UTF-8, 100 KiB); each loaded file, and a
 *	  wrapper or script that does not fit, is a Swarm config of the run
 *	  (binary-safe, at most 500 KiB: the swarm's own limit), mounted at
 *	  /.scaffold-in/N and copied into place by the boot with cat.
 *   out  after the script, the wrapper writes a frame on its stdout (fd 7,
 *	  saved before the script runs): "@@MARK begin", the exit status,
 *	  each store file, store env and .display in hex (od -An -tx1), and
 *	  "@@MARK end".  The frame is cut out of the service's log before
 *	  the log reaches the run's log.  od and cat are in busybox.
 *
 * wait() follows the service's log (GET /services/ID/logs?follow=1,
 * demultiplexed, the frame cut out, through the secret masker into the
 * run's log) and polls the task (GET /tasks): complete, failed, rejected
 * end the run (a rejected task ends error with the swarm's reason: "No
 * such image: ..."); a task that no node takes within pending_timeout
 * ends error with the swarm's reason ("no suitable node (...)").  When
 * the task has ended, the log is read once more without follow, and what
 * the stream had not yet brought is taken from it: the follow stream of a
 * job may end, or stall, before the last lines.  Timeouts and kills
 * remove the service.  free() removes the service, its configs and, on
 * the manager's engine, the task's container (20.10 leaves a job's
 * containers behind: moby#42789).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "box.h"
#include "engine.h"
#include "swarm-int.h"

#define IN_DIR "/.scaffold-in"
#define CONFIG_MAX (500 * 1024)	  /* the swarm's limit on a config */
#define POLL_MS 200	   /* the task's state, for its first ... */
#define POLL_FAST_MS 10000 /* ... ten seconds; then every POLL_MAX_MS */
#define POLL_MAX_MS 1000
#define NODE_CHECK_MS 2000 /* is the task's node still up? */
#define REMOVE_WAIT_MS 15000
#define STOP_GRACE_NS 100000000LL /* the shell is PID 1: SIGKILL soon */

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED, STOP_PENDING };

struct run_handle {
	int64_t run_id;
	char instance[40];
	char name[96]; /* the service */
	struct engine eng;
	char *service;	 /* its id */
	char *task;	 /* the task's id, once seen */
	char *container; /* the task's container, once seen */
	char *node;	 /* the task's node */
	bool node_told;
	char *run_dir;
	struct strvec store_files;
	struct strvec store_env;
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic, once running; 0: none */
	int64_t pending_ms;
	int64_t pending_until_ms;
	int64_t since; /* logs from (unix seconds); 0: all */
	bool keep;     /* free() leaves the service */
	bool waited;
	bool ended; /* the task has ended */

	struct run_log log;
	int kill_fd;
	struct engine_set *set;
	struct engine_xfer *logs;
	struct engine_demux dm;
	int64_t seen[3]; /* bytes of each stream the follow brought */
	int64_t skip[3]; /* the re-read: bytes still to skip */
	struct swarm_frame fr; /* the outputs, on stdout */
};

/* Settings from runner_swarm_configure(). */
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
static bool cfg_set;
static char *cfg_socket, *cfg_url, *cfg_ca, *cfg_cert, *cfg_key;
static char *cfg_network;
static int64_t cfg_pending_ms;

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

void
runner_swarm_configure(const struct swarm_conf *c)
{
	pthread_mutex_lock(&cfg_lock);
	free(cfg_socket);
	free(cfg_url);
	free(cfg_ca);
	free(cfg_cert);
	free(cfg_key);
	free(cfg_network);
	cfg_set = c != NULL;
	cfg_socket = c ? dup_or_null(c->socket) : NULL;
	cfg_url = c ? dup_or_null(c->url) : NULL;
	cfg_ca = c ? dup_or_null(c->ca) : NULL;
	cfg_cert = c ? dup_or_null(c->cert) : NULL;
	cfg_key = c ? dup_or_null(c->key) : NULL;
	cfg_network = c ? dup_or_null(c->network) : NULL;
	cfg_pending_ms = c && c->pending_timeout_ms > 0 ?
				 c->pending_timeout_ms :
				 (int64_t)5 * 60 * 1000;
	pthread_mutex_unlock(&cfg_lock);
}

int
swarm_engine_open(struct engine *eng, int64_t *pending_ms)
{
	struct engine_addr a = { 0 };
	int ret;

	pthread_mutex_lock(&cfg_lock);
	if (!cfg_set) {
		pthread_mutex_unlock(&cfg_lock);
		return err_set("no swarm is configured (swarm: in the daemon "
			       "config)");
	}
	a.socket = cfg_socket;
	a.url = cfg_url;
	a.ca = cfg_ca;
	a.cert = cfg_cert;
	a.key = cfg_key;
	if (pending_ms)
		*pending_ms = cfg_pending_ms;
	ret = engine_open(eng, &a);
	pthread_mutex_unlock(&cfg_lock);
	return ret;
}

static int
swarm_open(struct run_handle *h)
{
	return swarm_engine_open(&h->eng, &h->pending_ms);
}

/* ---- the handle ------------------------------------------------------- */

static void swarm_free(struct run_handle *h);

static int
handle_new(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	size_t i;
	int ret = -1;

	*out = NULL;
	h->run_id = spec->run_id;
	if (spec->instance)
		snprintf(h->instance, sizeof(h->instance), "%s",
			 spec->instance);
	snprintf(h->name, sizeof(h->name), "scaffold-%.12s%s%lld",
		 h->instance, h->instance[0] ? "-" : "",
		 (long long)spec->run_id);
	for (i = 0; h->name[i]; i++)
		if (!((h->name[i] >= 'a' && h->name[i] <= 'z') ||
		      (h->name[i] >= 'A' && h->name[i] <= 'Z') ||
		      (h->name[i] >= '0' && h->name[i] <= '9')))
			h->name[i] = '-';
	swarm_frame_init(&h->fr, h->instance, spec->run_id);
	h->kill_fd = -1;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	if ((ret = box_handle_init(spec, &h->log, &h->store_files,
				   &h->store_env, &h->run_dir,
				   &h->kill_fd)) < 0)
		goto out;
	*out = h;
	h = NULL;
	ret = 0;
out:
	swarm_free(h);
	return ret;
}

/* The labels of the run's service, container and configs. */
static json_t *
labels_of(const struct run_handle *h, const struct run_spec *spec)
{
	json_t *l = json_object();
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)h->run_id);
	json_object_set_new(l, "scaffold.run", json_string(id));
	if (h->instance[0])
		json_object_set_new(l, "scaffold.instance",
				    json_string(h->instance));
	if (spec && spec->cascade && box_utf8_ok(spec->cascade))
		json_object_set_new(l, "scaffold.cascade",
				    json_string(spec->cascade));
	if (spec && spec->task)
		json_object_set_new(l, "scaffold.task",
				    json_string(spec->task));
	return l;
}

/* Log bytes of the task (stdout, once the frame is cut out of it). */
static void
to_log(void *arg, const char *data, size_t len)
{
	struct run_handle *h = arg;

	run_log_output(&h->log, data, len);
}

/* A demultiplexed piece of the log; skip[] drops what was seen. */
static void
log_data(void *arg, int stream, const char *data, size_t len)
{
	struct run_handle *h = arg;
	int s = stream == 2 ? 2 : 1;
	size_t drop;

	if (h->skip[s] > 0) {
		drop = (int64_t)len < h->skip[s] ? len : (size_t)h->skip[s];
		h->skip[s] -= (int64_t)drop;
		data += drop;
		len -= drop;
	}
	if (!len)
		return;
	h->seen[s] += (int64_t)len;
	if (s == 1)
		swarm_frame_feed(&h->fr, data, len, to_log, h);
	else
		to_log(h, data, len);
}

static void
log_body(void *arg, const char *data, size_t len)
{
	struct run_handle *h = arg;

	engine_demux_feed(&h->dm, data, len, log_data, h);
}

/* ---- the service ------------------------------------------------------- */

/* A config of the run holding the local file src (or data): its id. */
static int
config_create(struct run_handle *h, const struct run_spec *spec, size_t n,
	      const char *shown, const char *src, const char *data,
	      size_t len, json_t *configs)
{
	struct buf raw = BUF_INIT, name = BUF_INIT, e = BUF_INIT;
	struct engine_call c;
	json_t *body = json_object(), *j = NULL, *ref, *file;
	char *b64 = NULL, *s = NULL, size[32], lim[32];
	struct stat st;
	int ret = -1;

	engine_call_init(&c, "POST", "/configs/create");
	if (src && stat(src, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s",
			runner_esc(&e, shown), src, strerror(errno));
		goto out;
	}
	if (src && (int64_t)st.st_size <= CONFIG_MAX &&
	    buf_read_file(&raw, src, CONFIG_MAX + 1) < 0) {
		err_set("file '%s': %s", runner_esc(&e, shown), err_msg());
		goto out;
	}
	if (!src)
		buf_add(&raw, data, len);
	if ((src ? (int64_t)st.st_size : (int64_t)raw.len) > CONFIG_MAX ||
	    raw.len > CONFIG_MAX) {
		runner_size_text(size, sizeof(size),
				 src ? (int64_t)st.st_size : (int64_t)raw.len);
		runner_size_text(lim, sizeof(lim), CONFIG_MAX);
		err_set("file '%s' is %s; the swarm runner carries at most %s "
			"a file (a Swarm config)",
			runner_esc(&e, shown), size, lim);
		ret = ERR_TOOBIG;
		goto out;
	}
	b64 = engine_base64_encode(raw.ptr, raw.len);
	buf_addf(&name, "%s-%zu", h->name, n);
	json_object_set_new(body, "Name", json_string(name.ptr));
	json_object_set_new(body, "Labels", labels_of(h, spec));
	json_object_set_new(body, "Data", json_string(b64));
	s = json_dumps(body, JSON_COMPACT);
	c.body = s;
	c.body_len = strlen(s);
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status == 409) {
		/* a start cut short before: the same run, the same file */
		err_set("file '%s': a Swarm config '%s' is there already",
			runner_esc(&e, shown), name.ptr);
		goto out;
	}
	if (c.status != 201 && c.status != 200) {
		engine_answer_error(&c, "cannot create a Swarm config");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot create a Swarm config")))
		goto out;
	ref = json_object();
	file = json_object();
	buf_reset(&e);
	buf_addf(&e, IN_DIR "/%zu", n);
	json_object_set_new(file, "Name", json_string(e.ptr));
	json_object_set_new(file, "UID", json_string("0"));
	json_object_set_new(file, "GID", json_string("0"));
	json_object_set_new(file, "Mode", json_integer(0444));
	json_object_set_new(ref, "File", file);
	json_object_set_new(ref, "ConfigID",
			    json_incref(json_object_get(j, "ID")));
	json_object_set_new(ref, "ConfigName", json_string(name.ptr));
	json_array_append_new(configs, ref);
	ret = 0;
out:
	engine_call_release(&c);
	json_decref(body);
	json_decref(j);
	if (raw.len)
		memset(raw.ptr, 0, raw.len);
	buf_release(&raw);
	buf_release(&name);
	buf_release(&e);
	free(b64);
	free(s);
	return ret;
}

/* Remove the run's configs (by label). */
static void
configs_remove(struct run_handle *h)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *x;
	size_t i;

	if (engine_list_of_run(&h->eng, "/configs", h->run_id, h->instance,
			       &c) < 0 ||
	    c.status != 200)
		goto out;
	j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	json_array_foreach(j, i, x) {
		const char *id = json_string_value(json_object_get(x, "ID"));
		struct engine_call d;

		if (!id)
			continue;
		buf_reset(&path);
		buf_addf(&path, "/configs/%s", id);
		engine_call_init(&d, "DELETE", path.ptr);
		engine_call_do(&h->eng, &d);
		engine_call_release(&d);
	}
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
}

/* The JSON of POST /services/create (caller frees). */
static char *
service_body(const struct run_handle *h, const struct run_spec *spec,
	     json_t *env, json_t *cmd, json_t *configs)
{
	json_t *root = json_object(), *tt = json_object(), *cs = json_object();
	json_t *rp = json_object(), *mode = json_object(), *job = json_object();
	json_t *pl, *cons, *res, *lim, *nets, *net;
	char *s;
	size_t i;

	json_object_set_new(root, "Name", json_string(h->name));
	json_object_set_new(root, "Labels", labels_of(h, spec));
	json_object_set_new(cs, "Image", json_string(spec->image));
	json_object_set(cs, "Command", cmd);
	json_object_set_new(cs, "Args", json_array());
	json_object_set(cs, "Env", env);
	json_object_set_new(cs, "Labels", labels_of(h, spec));
	json_object_set_new(cs, "StopGracePeriod",
			    json_integer(STOP_GRACE_NS));
	if (json_array_size(configs))
		json_object_set(cs, "Configs", configs);
	json_object_set_new(tt, "ContainerSpec", cs);
	json_object_set_new(rp, "Condition", json_string("none"));
	json_object_set_new(rp, "MaxAttempts", json_integer(0));
	json_object_set_new(tt, "RestartPolicy", rp);
	if (spec->nplacement || spec->host) {
		pl = json_object();
		cons = json_array();
		for (i = 0; i < spec->nplacement; i++)
			json_array_append_new(cons,
					      json_string(spec->placement[i]));
		/* a run of mode global: its node, by its host name */
		if (spec->host) {
			char *pin = swarm_node_pin(spec->host);

			json_array_append_new(cons, json_string(pin));
			free(pin);
		}
		json_object_set_new(pl, "Constraints", cons);
		json_object_set_new(tt, "Placement", pl);
	}
	if (spec->nano_cpus || spec->memory_bytes) {
		res = json_object();
		lim = json_object();
		if (spec->nano_cpus)
			json_object_set_new(lim, "NanoCPUs",
					    json_integer(spec->nano_cpus));
		if (spec->memory_bytes)
			json_object_set_new(lim, "MemoryBytes",
					    json_integer(spec->memory_bytes));
		json_object_set(res, "Limits", lim);
		json_object_set_new(res, "Reservations", lim);
		json_object_set_new(tt, "Resources", res);
	}
	pthread_mutex_lock(&cfg_lock);
	if (cfg_network) {
		nets = json_array();
		net = json_object();
		json_object_set_new(net, "Target", json_string(cfg_network));
		json_array_append_new(nets, net);
		json_object_set_new(tt, "Networks", nets);
	}
	pthread_mutex_unlock(&cfg_lock);
	json_object_set_new(root, "TaskTemplate", tt);
	json_object_set_new(job, "MaxConcurrent", json_integer(1));
	json_object_set_new(job, "TotalCompletions", json_integer(1));
	json_object_set_new(mode, "ReplicatedJob", job);
	json_object_set_new(root, "Mode", mode);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s)
		BUG("cannot serialize a service's settings");
	return s;
}

/* The service's id by its name: 0, ERR_NOTFOUND, or -1. */
static int
service_find(struct run_handle *h)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *id;
	int ret = -1;

	buf_addf(&path, "/services/%s", h->name);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status == 404) {
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (c.status != 200) {
		engine_answer_error(&c, "cannot inspect the service");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot inspect the service")))
		goto out;
	id = json_object_get(j, "ID");
	if (!json_is_string(id)) {
		err_set("cannot inspect the service: the swarm did not say "
			"its id");
		goto out;
	}
	free(h->service);
	h->service = xstrdup(json_string_value(id));
	ret = 0;
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	return ret;
}

/*
 * Remove the service, then the containers of the run on the manager's
 * engine (moby#42789 leaves a job's containers), until none is left or
 * REMOVE_WAIT_MS.  -1 (reason set) when the manager cannot be reached.
 */
static int
service_remove(struct run_handle *h, char *reason, size_t rlen)
{
	struct buf path = BUF_INIT, f = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *x;
	int64_t until = engine_now_ms() + REMOVE_WAIT_MS;
	size_t i;
	int ret = -1, empty = 0;

	buf_addf(&path, "/services/%s", h->service ? h->service : h->name);
	engine_call_init(&c, "DELETE", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(reason, rlen, "%s", c.reason);
		goto out;
	}
	if (c.status != 200 && c.status != 404) {
		engine_answer_message(&c, &f);
		log_warnx("runner: run %lld: cannot remove service %s: %s",
			  (long long)h->run_id, h->name, f.ptr);
	}
	/* a container of the task may still be on its way: two listings
	 * in a row without any, a moment apart */
	while (empty < 2 && engine_now_ms() < until) {
		engine_call_release(&c);
		if (engine_list_of_run(&h->eng, "/containers/json?all=1",
				       h->run_id, h->instance, &c) < 0) {
			snprintf(reason, rlen, "%s", c.reason);
			goto out;
		}
		json_decref(j);
		j = c.status == 200 ?
			    json_loadb(c.resp.ptr, c.resp.len, 0, NULL) :
			    NULL;
		empty = json_array_size(j) ? 0 : empty + 1;
		json_array_foreach(j, i, x) {
			const char *id =
				json_string_value(json_object_get(x, "Id"));

			if (id)
				engine_container_remove(&h->eng, id);
		}
		if (empty < 2)
			usleep(POLL_MS * 1000);
	}
	testpoint("swarm-configs-left");
	configs_remove(h);
	ret = 0;
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&f);
	return ret;
}

static int
logs_open(struct run_handle *h)
{
	struct buf path = BUF_INIT;
	int ret = -1;

	buf_addf(&path, "/services/%s/logs?stdout=1&stderr=1&follow=1",
		 h->service);
	if (h->since)
		buf_addf(&path, "&since=%lld", (long long)h->since);
	h->logs = engine_xfer_start(h->set, &h->eng, "GET", path.ptr,
				    log_body, h);
	if (h->logs)
		ret = 0;
	buf_release(&path);
	return ret;
}

static int
swarm_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf exports = BUF_INIT, w = BUF_INIT, e = BUF_INIT;
	struct buf prep = BUF_INIT, np = BUF_INIT, epi = BUF_INIT;
	struct engine_call c;
	json_t *env = json_array(), *cmd = NULL, *configs = json_array();
	json_t *j = NULL, *id;
	char *body = NULL;
	struct stat st;
	size_t i, n = 0;
	bool fits;
	int ret = -1;

	*out = NULL;
	engine_call_init(&c, "GET", "/");
	if ((ret = handle_new(&h, spec)) < 0 ||
	    (ret = box_prepare(spec, env, &exports, &w)) < 0)
		goto out;
	ret = -1;
	buf_puts(&w, swarm_frame_out_fn);
	swarm_frame_epilogue(&epi, &h->fr, &h->store_files, &h->store_env);
	box_wrapper(&w, &h->store_env, &exports, epi.ptr);
	if (swarm_open(h) < 0)
		goto out;
	configs_remove(h); /* of a start cut short */

	/* the inputs that do not travel as arguments: configs */
	fits = box_boot_fits(w.ptr, w.len) &&
	       box_boot_fits(spec->script, spec->script_len);
	if (!fits) {
		if ((ret = config_create(h, spec, n, "(the wrapper)", NULL,
					 w.ptr, w.len, configs)) < 0 ||
		    (ret = config_create(h, spec, n + 1, "(the script)", NULL,
					 spec->script, spec->script_len,
					 configs)) < 0)
			goto out;
		buf_addf(&prep, "cat " IN_DIR "/%zu >" BOX_META_DIR
				"/wrapper.sh && cat " IN_DIR "/%zu >" BOX_META_DIR
				"/script && ",
			 n, n + 1);
		n += 2;
	}
	for (i = 0; i < spec->nfiles; i++, n++) {
		if ((ret = config_create(h, spec, n, spec->files[i].path,
					 spec->files[i].src, NULL, 0,
					 configs)) < 0)
			goto out;
		runner_norm_path(&np, spec->files[i].path);
		if (strrchr(np.ptr, '/')) {
			buf_puts(&prep, "mkdir -p ");
			runner_sh_quote(&prep, np.ptr,
					(size_t)(strrchr(np.ptr, '/') - np.ptr));
			buf_puts(&prep, " && ");
		}
		buf_addf(&prep, "cat " IN_DIR "/%zu >", n);
		runner_sh_quote(&prep, np.ptr, np.len);
		buf_addf(&prep, " && chmod %s ",
			 stat(spec->files[i].src, &st) == 0 &&
					 (st.st_mode & 0111) ?
				 "777" :
				 "666");
		runner_sh_quote(&prep, np.ptr, np.len);
		buf_puts(&prep, " && ");
	}
	ret = -1;
	cmd = box_boot_cmd(fits ? w.ptr : "", fits ? w.len : 0,
			   fits ? spec->script : "", fits ? spec->script_len : 0,
			   prep.len ? prep.ptr : NULL);

	body = service_body(h, spec, env, cmd, configs);
	engine_call_release(&c);
	engine_call_init(&c, "POST", "/services/create");
	c.body = body;
	c.body_len = strlen(body);
	testpoint("swarm-before-create");
	if (engine_call_do(&h->eng, &c) < 0)
		goto out;
	if (c.status == 409) {
		/* made by a start cut short: the same run, taken over */
		if (service_find(h) < 0)
			goto out;
	} else if (c.status != 201 && c.status != 200) {
		buf_reset(&e);
		buf_addf(&e, "cannot create a swarm service of image '%s'",
			 spec->image);
		engine_answer_error(&c, e.ptr);
		goto out;
	} else {
		if (!(j = engine_answer_json(&c, "cannot create a service")))
			goto out;
		id = json_object_get(j, "ID");
		if (!json_is_string(id)) {
			err_set("cannot create a service: the swarm did not "
				"say its id");
			goto out;
		}
		h->service = xstrdup(json_string_value(id));
	}
	testpoint("swarm-after-create");
	h->pending_until_ms = engine_now_ms() + h->pending_ms;
	*out = h;
	h = NULL;
	ret = 0;
out:
	swarm_free(h); /* removes the service and configs: it never ran */
	engine_call_release(&c);
	json_decref(env);
	json_decref(cmd);
	json_decref(configs);
	json_decref(j);
	if (body)
		memset(body, 0, strlen(body));
	free(body);
	if (exports.len)
		memset(exports.ptr, 0, exports.len);
	if (w.len)
		memset(w.ptr, 0, w.len);
	buf_release(&exports);
	buf_release(&w);
	buf_release(&e);
	buf_release(&prep);
	buf_release(&np);
	buf_release(&epi);
	return ret;
}

/* ---- adopt ------------------------------------------------------------ */

static int
swarm_adopt(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct timespec rt;
	int ret = -1;

	*out = NULL;
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	if (swarm_open(h) < 0)
		goto out;
	if ((ret = service_find(h)) < 0) {
		/* the service is removed only once the run's end is
		 * recorded: none means it was never created */
		if (ret == ERR_NOTFOUND) {
			configs_remove(h);
			err_set("run %lld: no swarm service '%s'",
				(long long)h->run_id, h->name);
			ret = RUNNER_NOT_STARTED;
		}
		goto out;
	}
	/* the log from now on; the frame is read again at the end */
	clock_gettime(CLOCK_REALTIME, &rt);
	h->since = (int64_t)rt.tv_sec;
	h->pending_until_ms = engine_now_ms() + h->pending_ms;
	run_log_note(&h->log, "re-attached to swarm service %s after a "
			      "restart",
		     h->name);
	*out = h;
	h = NULL;
	ret = 0;
out:
	if (h)
		h->keep = true; /* not ours to remove on a failed adopt */
	swarm_free(h);
	return ret;
}

/* ---- wait ------------------------------------------------------------- */

struct task_state {
	char state[24];
	char err[400];
	int exit_code;
	bool has_exit;
	int64_t since_ms; /* the state's timestamp, ms since the epoch */
};

/*
 * The run's task: 1 (st filled), 0 no task yet, -1 (reason set) the
 * manager cannot be reached or answers nonsense.
 */
static int
task_get(struct run_handle *h, struct task_state *st, char *reason,
	 size_t rlen)
{
	struct buf path = BUF_INIT, f = BUF_INIT, m = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *t, *s, *cs, *v;
	const char *x;
	int ret = -1;

	memset(st, 0, sizeof(*st));
	buf_addf(&f, "{\"service\":[\"%s\"]}", h->service);
	buf_puts(&path, "/tasks?filters=");
	engine_url_escape(&path, f.ptr, NULL);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(reason, rlen, "%s", c.reason);
		goto out;
	}
	if (c.status != 200) {
		engine_answer_message(&c, &m);
		snprintf(reason, rlen, "cannot list the service's tasks: %s",
			 m.ptr);
		goto out;
	}
	j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	if (!json_is_array(j)) {
		snprintf(reason, rlen, "the swarm's task list is not JSON");
		goto out;
	}
	ret = 0;
	t = json_array_get(j, 0);
	if (!t)
		goto out;
	ret = 1;
	s = json_object_get(t, "Status");
	snprintf(st->state, sizeof(st->state), "%s",
		 (x = json_string_value(json_object_get(s, "State"))) ? x :
									 "");
	if ((x = json_string_value(json_object_get(s, "Err"))))
		snprintf(st->err, sizeof(st->err), "%s", x);
	if ((x = json_string_value(json_object_get(s, "Timestamp"))))
		st->since_ms = engine_time_ms(x);
	cs = json_object_get(s, "ContainerStatus");
	v = json_object_get(cs, "ExitCode");
	if (json_is_integer(v)) {
		st->exit_code = (int)json_integer_value(v);
		st->has_exit = true;
	}
	if (!h->task && (x = json_string_value(json_object_get(t, "ID"))))
		h->task = xstrdup(x);
	if (!h->container &&
	    (x = json_string_value(json_object_get(cs, "ContainerID"))) &&
	    *x)
		h->container = xstrdup(x);
	if (!h->node && (x = json_string_value(json_object_get(t, "NodeID"))) &&
	    *x)
		h->node = xstrdup(x);
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&f);
	buf_release(&m);
	return ret;
}

/*
 * Whether the task's node is down (the manager lost its heartbeat): 1
 * with why set ("swarm node 'NAME' is down: heartbeat failure"), 0 when
 * it is up or cannot be told, -1 (why set) when the manager is gone.
 */
static int
node_down(struct run_handle *h, char *why, size_t len)
{
	struct buf path = BUF_INIT, m = BUF_INIT, n = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL, *st;
	const char *state, *msg, *name;
	int ret = 0;

	buf_addf(&path, "/nodes/%s", h->node);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(why, len, "%s", c.reason);
		ret = -1;
		goto out;
	}
	if (c.status != 200)
		goto out;
	j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	st = json_object_get(j, "Status");
	state = json_string_value(json_object_get(st, "State"));
	if (!state || strcmp(state, "down"))
		goto out;
	msg = json_string_value(json_object_get(st, "Message"));
	name = json_string_value(json_object_get(
		json_object_get(j, "Description"), "Hostname"));
	escape_log(&n, name ? name : h->node, strlen(name ? name : h->node));
	if (msg)
		escape_log(&m, msg, strlen(msg));
	snprintf(why, len, "swarm node '%s' is down%s%s", n.ptr,
		 m.len ? ": " : "", m.ptr);
	ret = 1;
out:
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&m);
	buf_release(&n);
	return ret;
}

/* "running on node HOST" once, for the run's page. */
static void
tell_node(struct run_handle *h)
{
	struct buf path = BUF_INIT, m = BUF_INIT;
	struct engine_call c;
	json_t *j = NULL;
	const char *name;

	if (h->node_told || !h->node)
		return;
	h->node_told = true;
	buf_addf(&path, "/nodes/%s", h->node);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(&h->eng, &c) == 0 && c.status == 200)
		j = json_loadb(c.resp.ptr, c.resp.len, 0, NULL);
	name = json_string_value(json_object_get(
		json_object_get(j, "Description"), "Hostname"));
	escape_log(&m, name ? name : h->node, strlen(name ? name : h->node));
	run_log_note(&h->log, "swarm node %s", m.ptr);
	json_decref(j);
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&m);
}

static bool
state_is(const struct task_state *st, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(st->state, *names))
			return true;
	return false;
}

static const char *const st_waiting[] = { "new",      "allocated", "pending",
					  "assigned", NULL };
static const char *const st_ended[] = { "complete", "failed",	"rejected",
					"shutdown", "orphaned", "remove",
					NULL };

/*
 * Read the whole log again (no follow), and take what the follow stream
 * had not brought: bytes past seen[] of each stream.
 */
static int
logs_reread(struct run_handle *h, char *reason, size_t rlen)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	struct engine_demux d;
	int ret = -1;

	buf_addf(&path, "/services/%s/logs?stdout=1&stderr=1", h->service);
	if (h->since)
		buf_addf(&path, "&since=%lld", (long long)h->since);
	engine_call_init(&c, "GET", path.ptr);
	c.max = (int64_t)SWARM_FRAME_MAX + ((int64_t)64 << 20);
	if (engine_call_do(&h->eng, &c) < 0) {
		snprintf(reason, rlen, "%s", c.reason);
		goto out;
	}
	if (c.status != 200 || c.too_big) {
		ret = 0; /* what the stream brought is all there is */
		goto out;
	}
	memset(&d, 0, sizeof(d));
	h->skip[1] = h->seen[1];
	h->skip[2] = h->seen[2];
	engine_demux_feed(&d, c.resp.ptr, c.resp.len, log_data, h);
	ret = 0;
out:
	engine_call_release(&c);
	buf_release(&path);
	return ret;
}

/* The frame from the start of the log, for an adopted run that began
 * before its re-attachment: parsed only, nothing logged. */
static void
frame_from_start(struct run_handle *h)
{
	struct buf path = BUF_INIT, all = BUF_INIT;
	struct engine_call c;
	size_t i = 0;
	uint32_t len;

	if (h->fr.state == 2)
		return;
	buf_addf(&path, "/services/%s/logs?stdout=1", h->service);
	engine_call_init(&c, "GET", path.ptr);
	c.max = (int64_t)SWARM_FRAME_MAX + ((int64_t)64 << 20);
	if (engine_call_do(&h->eng, &c) < 0 || c.status != 200)
		goto out;
	/* stdout only: the payloads of the frames, one after another */
	while (i + 8 <= c.resp.len) {
		const unsigned char *p = (const unsigned char *)c.resp.ptr + i;

		len = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		      (uint32_t)p[6] << 8 | p[7];
		if (i + 8 + len > c.resp.len)
			break;
		buf_add(&all, c.resp.ptr + i + 8, len);
		i += 8 + len;
	}
	swarm_frame_find(&h->fr, all.ptr, all.len);
out:
	engine_call_release(&c);
	buf_release(&path);
	buf_release(&all);
}

static void
result_lost(struct run_handle *h, struct run_result *out, const char *reason)
{
	run_result_lost(out, &h->log, "lost contact with the swarm: %.440s",
			reason);
}

static int
swarm_wait(struct run_handle *h, struct run_result *out)
{
	struct task_state st;
	char reason[512], dur[32];
	enum why_stop why = STOP_NONE;
	bool kready, lost = false, running_seen = false, started = false;
	int64_t now, t, next_poll = 0, poll_every = POLL_MS;
	int64_t started_ms = engine_now_ms(), next_node = 0;
	bool node_gone = false;
	struct timespec rt;
	int r;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	memset(&st, 0, sizeof(st));
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	if (!h->set && !(h->set = engine_set_new()))
		return err_set("run %lld: cannot set up libcurl",
			       (long long)h->run_id);

	for (;;) {
		engine_set_run(h->set);
		now = engine_now_ms();
		if (now >= next_poll) {
			r = task_get(h, &st, reason, sizeof(reason));
			if (r < 0) {
				lost = true;
				break;
			}
			if (r > 0 && !state_is(&st, st_waiting)) {
				tell_node(h);
				/*
				 * follow the log once the task is on a node:
				 * a subscription made before may see none of
				 * its lines
				 */
				if (!h->logs && !state_is(&st, st_ended) &&
				    logs_open(h) < 0) {
					snprintf(reason, sizeof(reason), "%s",
						 err_msg());
					lost = true;
					break;
				}
				running_seen = true;
			}
			/* the timeout runs from the container's start */
			if (r > 0 && !started &&
			    (!strcmp(st.state, "running") ||
			     state_is(&st, st_ended))) {
				started = true;
				if (h->timeout_ms) {
					int64_t left = h->timeout_ms;

					clock_gettime(CLOCK_REALTIME, &rt);
					if (st.since_ms > 0 && h->since) {
						int64_t el = (int64_t)rt.tv_sec *
								     1000 +
							     rt.tv_nsec /
								     1000000 -
							     st.since_ms;

						if (el > 0)
							left = el >= left ?
								       0 :
								       left - el;
					}
					h->deadline_ms = now + left;
				}
			}
			if (r > 0 && state_is(&st, st_ended))
				break;
			/* a node that dies takes its task's end with it */
			if (running_seen && h->node && now >= next_node) {
				next_node = now + NODE_CHECK_MS;
				r = node_down(h, reason, sizeof(reason));
				if (r) {
					node_gone = r > 0;
					lost = true;
					break;
				}
			}
			if (now - started_ms > POLL_FAST_MS)
				poll_every = POLL_MAX_MS;
			next_poll = now + poll_every;
		}
		if (why == STOP_NONE && !started &&
		    now >= h->pending_until_ms) {
			why = STOP_PENDING;
			break;
		}
		if (why == STOP_NONE && h->deadline_ms &&
		    now >= h->deadline_ms) {
			why = STOP_TIMEOUT;
			break;
		}
		t = next_poll - now;
		if (h->deadline_ms && h->deadline_ms - now < t)
			t = h->deadline_ms - now;
		if (!started && h->pending_until_ms - now < t)
			t = h->pending_until_ms - now;
		if (t < 0)
			t = 0;
		engine_set_poll(h->set, h->kill_fd, (int)t, &kready);
		if (kready) {
			why = STOP_KILLED;
			break;
		}
	}

	if (!lost && running_seen) {
		/* the rest of the output (so far, for a kill), and the frame */
		if (logs_reread(h, reason, sizeof(reason)) < 0)
			lost = true;
		else if (h->since && why == STOP_NONE)
			frame_from_start(h);
	}
	/* the log: what is held back is output, unless a frame began */
	swarm_frame_flush(&h->fr, to_log, h);
	run_log_flush(&h->log);

	if (lost && node_gone) {
		/* the service goes: the swarm must not start it elsewhere */
		char r2[512];

		if (service_remove(h, r2, sizeof(r2)) == 0)
			h->ended = true;
		out->outcome = RUN_LOST;
		out->exit_code = -1;
		snprintf(out->message, sizeof(out->message), "%s", reason);
		run_log_note(&h->log, "%s", out->message);
		return 0;
	}
	if (lost) {
		result_lost(h, out, reason);
		return 0;
	}
	if (why != STOP_NONE) {
		if (service_remove(h, reason, sizeof(reason)) < 0) {
			result_lost(h, out, reason);
			return 0;
		}
		h->ended = true;
	}
	switch (why) {
	case STOP_KILLED:
		out->outcome = RUN_KILLED;
		snprintf(out->message, sizeof(out->message), "killed");
		run_log_note(&h->log, "killed");
		return 0;
	case STOP_TIMEOUT:
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
		run_log_note(&h->log, "%s", out->message);
		return 0;
	case STOP_PENDING:
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->pending_ms);
		if (running_seen)
			snprintf(out->message, sizeof(out->message),
				 "the task did not start in %s on its node "
				 "(%s%s%s)",
				 dur, st.state, st.err[0] ? ": " : "", st.err);
		else
			snprintf(out->message, sizeof(out->message),
				 "no swarm node took the task in %s: %s", dur,
				 st.err[0] ? st.err : "it stayed pending");
		run_log_note(&h->log, "%s", out->message);
		return 0;
	default:
		break;
	}

	h->ended = true;
	if (!strcmp(st.state, "complete") ||
	    (!strcmp(st.state, "failed") && st.has_exit && st.exit_code)) {
		out->exit_code = st.has_exit ? st.exit_code : 0;
		if (out->exit_code) {
			out->outcome = RUN_ERROR;
			snprintf(out->message, sizeof(out->message),
				 "exit code %d", out->exit_code);
			return 0;
		}
		out->outcome = RUN_SUCCESS;
		if (h->fr.state != 2) {
			out->outcome = RUN_ERROR;
			snprintf(out->message, sizeof(out->message),
				 "the task ended without its output frame "
				 "(did the script exec, or close its "
				 "stdout?)");
		} else if (swarm_frame_collect(&h->fr, &h->store_files,
					       &h->store_env, h->run_dir,
					       out)) {
			out->outcome = RUN_ERROR;
		}
		if (out->outcome != RUN_SUCCESS)
			run_log_note(&h->log, "%s", out->message);
		return 0;
	}
	if (!strcmp(st.state, "orphaned") || !strcmp(st.state, "shutdown")) {
		snprintf(reason, sizeof(reason), "the task's node is gone (%s%s%s)",
			 st.state, st.err[0] ? ": " : "", st.err);
		out->outcome = RUN_LOST;
		out->exit_code = -1;
		snprintf(out->message, sizeof(out->message), "%s", reason);
		run_log_note(&h->log, "%s", out->message);
		return 0;
	}
	/* rejected, or failed before the script */
	out->outcome = RUN_ERROR;
	snprintf(out->message, sizeof(out->message), "the swarm %s the task: %s",
		 !strcmp(st.state, "rejected") ? "rejected" : "failed",
		 st.err[0] ? st.err : st.state);
	run_log_note(&h->log, "%s", out->message);
	return 0;
}

/* Safe from any thread: wait() sees the eventfd and removes the service. */
static int
swarm_kill(struct run_handle *h)
{
	return runner_kill_fd_signal(h->kill_fd, h->run_id);
}

void
swarm_detach(struct run_handle *h)
{
	h->keep = true;
}

/* Removes the service unless kept; the thread's error stays as it was. */
static void
swarm_free(struct run_handle *h)
{
	char reason[448];
	char *saved;

	if (!h)
		return;
	if (h->logs) {
		engine_xfer_free(h->set, h->logs);
		h->logs = NULL;
	}
	if ((h->service || h->eng.prefix[0]) && !h->keep) {
		saved = xstrdup(err_msg());
		if (h->service &&
		    service_remove(h, reason, sizeof(reason)) < 0)
			log_warnx("runner: run %lld: cannot remove swarm "
				  "service %s: %s",
				  (long long)h->run_id, h->name, reason);
		else if (!h->service && h->eng.prefix[0])
			configs_remove(h);
		err_set("%s", saved);
		free(saved);
	}
	box_handle_release(&h->log, &h->store_files, &h->store_env,
			   &h->run_dir, &h->kill_fd);
	engine_set_free(h->set);
	engine_release(&h->eng);
	swarm_frame_release(&h->fr);
	free(h->service);
	free(h->task);
	free(h->container);
	free(h->node);
	free(h);
}

bool
swarm_is_configured(void)
{
	bool set;

	pthread_mutex_lock(&cfg_lock);
	set = cfg_set;
	pthread_mutex_unlock(&cfg_lock);
	return set;
}

int
swarm_run_remove(const char *instance, int64_t run_id, bool *had_service)
{
	struct run_spec spec;
	struct run_handle *h = NULL;
	char reason[448];
	int ret = -1, r;

	*had_service = false;
	memset(&spec, 0, sizeof(spec));
	spec.run_id = run_id;
	spec.instance = instance;
	spec.log_fd = -1;
	spec.work_dir = "/";
	if (handle_new(&h, &spec) < 0)
		return -1;
	if (swarm_open(h) < 0)
		goto out;
	if ((r = service_find(h)) < 0 && r != ERR_NOTFOUND)
		goto out;
	*had_service = r == 0;
	if (service_remove(h, reason, sizeof(reason)) < 0) {
		err_set("%s", reason);
		goto out;
	}
	ret = 0;
out:
	h->keep = true; /* removed above, or not to be touched */
	swarm_free(h);
	return ret;
}

const struct runner_ops runner_swarm = {
	.name = "swarm",
	.start = swarm_start,
	.wait = swarm_wait,
	.kill = swarm_kill,
	.free = swarm_free,
	.adopt = swarm_adopt,
};
