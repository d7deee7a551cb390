/*
 * test_swarm_nodes.c - which nodes take a task of placement mode global
 * (swarm-nodes.c), on nodes as GET /nodes describes them: ready and
 * active only; every constraint met; == and != on each attribute, values
 * compared without regard to case (as swarmkit does), a label the node
 * lacks equal to nothing; and the pin of a run to its node.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "../../runner/swarm-int.h"

/* A node as the manager lists it. */
static json_t *
node(const char *host, const char *role, const char *state,
     const char *avail, const char *labels)
{
	json_t *n = json_pack(
		"{s:s, s:{s:s, s:s, s:o}, s:{s:s, s:{s:s, s:s}, s:{s:{s:s}}},"
		" s:{s:s}}",
		"ID", "abc123", "Spec", "Role", role, "Availability", avail,
		"Labels", json_loads(labels, 0, NULL), "Description",
		"Hostname", host, "Platform", "OS", "linux", "Architecture",
		"x86_64", "Engine", "Labels", "zone", "EU-1", "Status",
		"State", state);

	assert_non_null(n);
	return n;
}

static int
takes(json_t *n, const char *c)
{
	const char *v[1] = { c };

	return swarm_node_eligible(n, v, c ? 1 : 0);
}

static void
test_state_and_availability(void **state)
{
	json_t *ok = node("w1", "worker", "ready", "active", "{}");
	json_t *down = node("w2", "worker", "down", "active", "{}");
	json_t *drained = node("w3", "worker", "ready", "drain", "{}");
	json_t *paused = node("w4", "worker", "ready", "pause", "{}");

	(void)state;
	assert_int_equal(takes(ok, NULL), 1);
	assert_int_equal(takes(down, NULL), 0);
	assert_int_equal(takes(drained, NULL), 0);
	assert_int_equal(takes(paused, NULL), 0);
	json_decref(ok);
	json_decref(down);
	json_decref(drained);
	json_decref(paused);
}

static void
test_constraints(void **state)
{
	json_t *n = node("Build-1", "worker", "ready", "active",
			 "{\"pool\": \"build\", \"Gpu\": \"yes\"}");
	const char *both[] = { "node.labels.pool==build", "node.role==worker" };
	const char *one_off[] = { "node.labels.pool==build",
				  "node.role==manager" };

	(void)state;
	assert_int_equal(takes(n, "node.labels.pool==build"), 1);
	assert_int_equal(takes(n, "node.labels.pool == BUILD"), 1);
	assert_int_equal(takes(n, "node.labels.pool!=build"), 0);
	assert_int_equal(takes(n, "node.labels.pool==test"), 0);
	/* a label the node lacks: equal to nothing */
	assert_int_equal(takes(n, "node.labels.zone==eu"), 0);
	assert_int_equal(takes(n, "node.labels.zone!=eu"), 1);
	/* label names are as the node has them */
	assert_int_equal(takes(n, "node.labels.Gpu==yes"), 1);
	assert_int_equal(takes(n, "node.labels.gpu==yes"), 0);
	assert_int_equal(takes(n, "node.hostname==build-1"), 1);
	assert_int_equal(takes(n, "node.id==ABC123"), 1);
	assert_int_equal(takes(n, "node.role!=manager"), 1);
	assert_int_equal(takes(n, "node.platform.os==linux"), 1);
	assert_int_equal(takes(n, "node.platform.arch==aarch64"), 0);
	assert_int_equal(takes(n, "engine.labels.zone==eu-1"), 1);
	assert_int_equal(swarm_node_eligible(n, both, 2), 1);
	assert_int_equal(swarm_node_eligible(n, one_off, 2), 0);
	assert_int_equal(takes(n, "node.role=worker"), -1);
	assert_string_equal(err_msg(),
			    "placement 'node.role=worker' is not a constraint");
	json_decref(n);
}

static void
test_pin(void **state)
{
	char *p = swarm_node_pin("sw-worker");

	(void)state;
	assert_string_equal(p, "node.hostname==sw-worker");
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_and_availability),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
