/*
 * swarm-nodes.c - the nodes of a task in placement mode global: one run
 * per eligible node, each its own one-task job pinned to its node.
 *
 * Why not one GlobalJob service for all the nodes: scaffold's fan-out
 * rules need each node's run on its own.  A retry runs again only the
 * nodes that failed (DESIGN §3), and a GlobalJob cannot be narrowed to a
 * set of nodes (constraints are a conjunction: there is no "node A or
 * node C"); a kill or a timeout of one node's run would remove the
 * service of all; and the run rows of an attempt are written in one
 * transaction at the claim, so the nodes must be known before any
 * service exists.  So the nodes are listed here, at the claim, by the
 * swarm's own rule for a global service (ready, availability active, every
 * constraint met, compared as swarmkit does: the attribute's value
 * without regard to case), and each run's service carries the task's
 * constraints plus node.hostname==HOST: the swarm checks them again, and a
 * node that changed meanwhile ends its run with the swarm's reason after
 * pending_timeout.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "engine.h"
#include "swarm-int.h"

char *
swarm_node_pin(const char *host)
{
	struct buf b = BUF_INIT;

	buf_addf(&b, "node.hostname==%s", host);
	return buf_detach(&b, NULL);
}

/* The value of attribute key (lowercase prefix, as the loader allows) on
 * node j; NULL when the node has none (a label it lacks). */
static const char *
node_attr(json_t *j, const char *key)
{
	json_t *spec = json_object_get(j, "Spec");
	json_t *desc = json_object_get(j, "Description");

	if (!strcasecmp(key, "node.id"))
		return json_string_value(json_object_get(j, "ID"));
	if (!strcasecmp(key, "node.hostname"))
		return json_string_value(json_object_get(desc, "Hostname"));
	if (!strcasecmp(key, "node.role"))
		return json_string_value(json_object_get(spec, "Role"));
	if (!strcasecmp(key, "node.platform.os"))
		return json_string_value(json_object_get(
			json_object_get(desc, "Platform"), "OS"));
	if (!strcasecmp(key, "node.platform.arch"))
		return json_string_value(json_object_get(
			json_object_get(desc, "Platform"), "Architecture"));
	if (!strncasecmp(key, "node.labels.", 12))
		return json_string_value(json_object_get(
			json_object_get(spec, "Labels"), key + 12));
	if (!strncasecmp(key, "engine.labels.", 14))
		return json_string_value(json_object_get(
			json_object_get(json_object_get(desc, "Engine"),
					"Labels"),
			key + 14));
	return NULL;
}

/* Does node j meet constraint c ("KEY==VALUE", "KEY!=VALUE")? -1: c is
 * not one (err_set). */
static int
node_meets(json_t *j, const char *c)
{
	const char *eq = strstr(c, "=="), *ne = strstr(c, "!="), *op, *v;
	char key[256];
	size_t klen;
	int match;

	op = !eq || (ne && ne < eq) ? ne : eq;
	if (!op)
		return err_set("placement '%s' is not a constraint", c);
	klen = (size_t)(op - c);
	while (klen && c[klen - 1] == ' ')
		klen--;
	while (klen && *c == ' ')
		c++, klen--;
	if (klen >= sizeof(key))
		return err_set("placement '%s': the attribute is too long", c);
	memcpy(key, c, klen);
	key[klen] = '\0';
	for (v = op + 2; *v == ' '; v++)
		;
	{
		const char *have = node_attr(j, key);
		size_t vlen = strlen(v);

		while (vlen && v[vlen - 1] == ' ')
			vlen--;
		match = have && strlen(have) == vlen &&
			!strncasecmp(have, v, vlen);
	}
	return op == eq ? match : !match;
}

/* A host name as DNS has them (a run's host is shown everywhere). */
static int
host_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.' || s[i] == '_'))
			return 0;
	return i > 0 && i <= 253;
}

int
swarm_node_eligible(json_t *node, const char *const *constraints, size_t n)
{
	const char *state, *avail;
	size_t k;
	int r;

	state = json_string_value(
		json_object_get(json_object_get(node, "Status"), "State"));
	avail = json_string_value(
		json_object_get(json_object_get(node, "Spec"), "Availability"));
	if (!state || strcmp(state, "ready") || !avail ||
	    strcmp(avail, "active"))
		return 0;
	for (k = 0; k < n; k++)
		if ((r = node_meets(node, constraints[k])) != 1)
			return r;
	return 1;
}

int
runner_swarm_nodes(struct strvec *out, const char *const *constraints,
		   size_t n)
{
	struct engine eng;
	struct engine_call c;
	struct buf e = BUF_INIT;
	struct strvec got = STRVEC_INIT;
	json_t *j = NULL, *x;
	const char *host;
	size_t i, k;
	int ret = -1, r;

	memset(&eng, 0, sizeof(eng));
	engine_call_init(&c, "GET", "/nodes");
	if (swarm_engine_open(&eng, NULL) < 0)
		goto out;
	if (engine_call_do(&eng, &c) < 0) {
		err_set("cannot list the swarm's nodes: %s", c.reason);
		goto out;
	}
	if (c.status != 200) {
		engine_answer_error(&c, "cannot list the swarm's nodes");
		goto out;
	}
	if (!(j = engine_answer_json(&c, "cannot list the swarm's nodes")))
		goto out;
	json_array_foreach(j, i, x) {
		host = json_string_value(json_object_get(
			json_object_get(x, "Description"), "Hostname"));
		if ((r = swarm_node_eligible(x, constraints, n)) < 0)
			goto out;
		if (!r || !host || !*host)
			continue;
		/* a run's host names its node: two of one name cannot be
		 * told apart */
		for (k = 0; k < got.n; k++)
			if (!strcasecmp(got.v[k], host)) {
				escape_log(&e, host, strlen(host));
				err_set("placement mode 'global': two swarm "
					"nodes have the host name '%s' (each "
					"node's runs are named by it)",
					e.ptr);
				goto out;
			}
		if (!host_ok(host)) {
			escape_log(&e, host, strlen(host));
			err_set("placement mode 'global': swarm node '%s' has "
				"a host name that cannot name a run",
				e.ptr);
			goto out;
		}
		strvec_push(&got, host);
	}
	for (k = 0; k < got.n; k++)
		strvec_push(out, got.v[k]);
	ret = 0;
out:
	strvec_clear(&got);
	json_decref(j);
	engine_call_release(&c);
	engine_release(&eng);
	buf_release(&e);
	return ret;
}
