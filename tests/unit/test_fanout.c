/* test_fanout.c - which hosts of a fan-out an attempt runs on (fanout.c). */
#include "unit.h"

#include "../../reconciler/reconciler-int.h"

#define FP_A "aaaa"
#define FP_B "bbbb"

static struct run_row
last(const char *host, enum run_state state, const char *fp, int superseded)
{
	struct run_row r;

	memset(&r, 0, sizeof(r));
	r.host = (char *)host;
	r.state = state;
	r.superseded = superseded;
	snprintf(r.fingerprint, sizeof(r.fingerprint), "%s", fp);
	return r;
}

static void
test_hosts_to_run(void **state)
{
	struct name_ref names[] = { { "web1", { 0 } }, { "web2", { 0 } },
				    { "web3", { 0 } } };
	struct name_list hosts = { names, 3 };
	struct run_row runs[3];
	unsigned char run_it[3];

	(void)state;
	runs[0] = last("web1", RS_ERROR, FP_A, 0);
	runs[1] = last("web2", RS_SUCCESS, FP_A, 0);
	runs[2] = last("web3", RS_SUCCESS, FP_A, 0);
	/* a retry: only the host that failed */
	assert_int_equal(fanout_hosts_to_run(&hosts, runs, 3, FP_A, 1, run_it),
			 1);
	assert_memory_equal(run_it, "\1\0\0", 3);
	/* not a retry (a new definition, a parent ran again): all */
	assert_int_equal(fanout_hosts_to_run(&hosts, runs, 3, FP_A, 0, run_it),
			 3);
	assert_memory_equal(run_it, "\1\1\1", 3);
	/* a success at another fingerprint does not count */
	assert_int_equal(fanout_hosts_to_run(&hosts, runs, 3, FP_B, 1, run_it),
			 3);
	/* nor one of a superseded run, nor a killed or lost one */
	runs[1] = last("web2", RS_SUCCESS, FP_A, 1);
	runs[2] = last("web3", RS_LOST, FP_A, 0);
	assert_int_equal(fanout_hosts_to_run(&hosts, runs, 3, FP_A, 1, run_it),
			 3);
	/* a host that never ran (added to the list) runs */
	runs[1] = last("web2", RS_SUCCESS, FP_A, 0);
	runs[2] = last("web1", RS_SUCCESS, FP_A, 0);
	assert_int_equal(fanout_hosts_to_run(&hosts, runs + 1, 2, FP_A, 1,
					     run_it),
			 1);
	assert_memory_equal(run_it, "\0\0\1", 3);
	/* every host succeeded: a run by hand runs them all */
	runs[0] = last("web3", RS_SUCCESS, FP_A, 0);
	assert_int_equal(fanout_hosts_to_run(&hosts, runs, 3, FP_A, 1, run_it),
			 3);
	assert_memory_equal(run_it, "\1\1\1", 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_to_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
