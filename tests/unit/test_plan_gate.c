/* test_plan_gate.c - at most PLAN_GATE_MAX plans at once (plan-gate.c): a
 * request over the bound waits PLAN_GATE_WAIT_MS, then is refused, or gets
 * the turn a leaving plan frees. */
#include "unit.h"

#include <pthread.h>
#include <time.h>

#include "../../webhook/webhook-int.h"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_bound(void **state)
{
	struct http_server h;
	int64_t t0, waited;
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	plan_gate_init(&h);
	for (i = 0; i < PLAN_GATE_MAX; i++)
		assert_int_equal(plan_gate_enter(&h), 0);
	t0 = now_ms();
	assert_int_equal(plan_gate_enter(&h), -1);
	waited = now_ms() - t0;
	assert_true(waited >= PLAN_GATE_WAIT_MS - 50);
	assert_string_equal(err_msg(), "2 plans are being computed already; "
				       "try again in a moment");
	plan_gate_leave(&h);
	assert_int_equal(plan_gate_enter(&h), 0);
	for (i = 0; i < PLAN_GATE_MAX; i++)
		plan_gate_leave(&h);
	assert_int_equal(h.plans, 0);
	plan_gate_release(&h);
}

static void *
leave_later(void *arg)
{
	struct timespec ts = { 0, 200 * 1000000L };

	nanosleep(&ts, NULL);
	plan_gate_leave(arg);
	return NULL;
}

static void
test_waits_for_a_turn(void **state)
{
	struct http_server h;
	pthread_t t;
	int i;

	(void)state;
	memset(&h, 0, sizeof(h));
	plan_gate_init(&h);
	for (i = 0; i < PLAN_GATE_MAX; i++)
		assert_int_equal(plan_gate_enter(&h), 0);
	assert_int_equal(pthread_create(&t, NULL, leave_later, &h), 0);
	/* the leave 200 ms later hands the turn over, well within the wait */
	assert_int_equal(plan_gate_enter(&h), 0);
	pthread_join(t, NULL);
	for (i = 0; i < PLAN_GATE_MAX; i++)
		plan_gate_leave(&h);
	plan_gate_release(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_waits_for_a_turn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
