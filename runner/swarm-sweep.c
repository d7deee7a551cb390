/*
 * swarm-sweep.c - what a crash leaves on the swarm, removed at the next
 * start.  A run's service is removed after its end is recorded (so that
 * adopt() may read "no service" as "never created"); a daemon that dies
 * between the two, or while removing, leaves the service, its exited
 * containers (20.10 keeps a job's containers: moby#42789) and configs of
 * a run the store has ended (or, from a removal cut short, some of
 * them).  Nothing adopts those: the sweep finds them
 * by the labels scaffold.instance and scaffold.run, and removes the
 * things of each run the store records as ended.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine.h"
#include "swarm-int.h"

struct found {
	int64_t run_id;
	size_t containers, configs;
};

/* Add the run of labels l (a JSON object) to v; kind 1: one container
 * more, 2: one config more. */
static void
found_add(struct found **v, size_t *n, size_t *alloc, json_t *l, int kind)
{
	const char *s = json_string_value(json_object_get(l, "scaffold.run"));
	char *end = NULL;
	int64_t id;
	size_t i;

	if (!s || !*s)
		return;
	id = strtoll(s, &end, 10);
	if (*end || id <= 0)
		return;
	for (i = 0; i < *n && (*v)[i].run_id != id; i++)
		;
	if (i == *n) {
		GROW(*v, *n + 1, *alloc);
		(*v)[i].run_id = id;
		(*v)[i].containers = 0;
		(*v)[i].configs = 0;
		(*n)++;
	}
	(*v)[i].containers += kind == 1;
	(*v)[i].configs += kind == 2;
}

/* GET path (a listing), into *out: 0, or -1 with err_set. */
static int
list(struct engine *eng, const char *what, const char *base,
     const char *filters, json_t **out)
{
	struct buf path = BUF_INIT;
	struct engine_call c;
	int ret = -1;

	*out = NULL;
	buf_puts(&path, base);
	engine_url_escape(&path, filters, NULL);
	engine_call_init(&c, "GET", path.ptr);
	if (engine_call_do(eng, &c) < 0)
		err_set("cannot list the swarm's %s: %s", what, c.reason);
	else if (c.status != 200)
		engine_answer_error(&c, what);
	else if ((*out = engine_answer_json(&c, what)))
		ret = 0;
	engine_call_release(&c);
	buf_release(&path);
	return ret;
}

int
runner_swarm_sweep(const char *instance,
		   int (*ended)(void *arg, int64_t run_id), void *arg,
		   size_t *services, size_t *containers, size_t *configs)
{
	struct engine eng;
	struct buf f = BUF_INIT;
	struct found *v = NULL;
	json_t *svcs = NULL, *ctrs = NULL, *cfgs = NULL, *x;
	size_t n = 0, alloc = 0, i;
	bool had;
	int ret = -1;

	*services = 0;
	*containers = 0;
	*configs = 0;
	memset(&eng, 0, sizeof(eng));
	if (!swarm_is_configured() || !instance || !*instance)
		return 0;
	if (swarm_engine_open(&eng, NULL) < 0)
		goto out;
	buf_addf(&f, "{\"label\":[\"scaffold.instance=%s\"]}", instance);
	if (list(&eng, "services", "/services?filters=", f.ptr, &svcs) < 0 ||
	    list(&eng, "configs", "/configs?filters=", f.ptr, &cfgs) < 0)
		goto out;
	/* the swarm's containers only: the docker runner's on the same
	 * engine are its own (docker.keep_failed keeps some) */
	buf_reset(&f);
	buf_addf(&f, "{\"label\":[\"scaffold.instance=%s\","
		     "\"com.docker.swarm.service.id\"]}",
		 instance);
	if (list(&eng, "containers", "/containers/json?all=1&filters=", f.ptr,
		 &ctrs) < 0)
		goto out;
	json_array_foreach(svcs, i, x)
		found_add(&v, &n, &alloc,
			  json_object_get(json_object_get(x, "Spec"), "Labels"),
			  0);
	json_array_foreach(ctrs, i, x)
		found_add(&v, &n, &alloc, json_object_get(x, "Labels"), 1);
	/* a removal cut short leaves the configs last */
	json_array_foreach(cfgs, i, x)
		found_add(&v, &n, &alloc,
			  json_object_get(json_object_get(x, "Spec"), "Labels"),
			  2);
	for (i = 0; i < n; i++) {
		if (ended(arg, v[i].run_id) != 1)
			continue;
		if (swarm_run_remove(instance, v[i].run_id, &had) < 0)
			goto out;
		*services += had;
		*containers += v[i].containers;
		*configs += v[i].configs;
	}
	ret = 0;
out:
	json_decref(svcs);
	json_decref(ctrs);
	json_decref(cfgs);
	free(v);
	engine_release(&eng);
	buf_release(&f);
	return ret;
}
