/*
 * test_login_limit.c - failed sign-ins per address (webhook/login-limit.c),
 * on a clock the test sets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "unit.h"
#include "../../webhook/webhook-int.h"

static struct sockaddr_storage *
addr(struct sockaddr_storage *ss, const char *text)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':')) {
		ss->ss_family = AF_INET6;
		assert_int_equal(
		    inet_pton(AF_INET6, text,
			      &((struct sockaddr_in6 *)ss)->sin6_addr),
		    1);
	} else {
		ss->ss_family = AF_INET;
		assert_int_equal(
		    inet_pton(AF_INET, text,
			      &((struct sockaddr_in *)ss)->sin_addr),
		    1);
	}
	return ss;
}

#define SA(ss) ((const struct sockaddr *)(ss))

/* "ok", or "wait N" and " logged" when that refusal is to be logged */
static char *
check(struct login_limit *l, const char *text, int64_t now)
{
	struct sockaddr_storage ss;
	struct buf b = BUF_INIT;
	int wait, log_it;

	if (!login_limit_check_at(l, SA(addr(&ss, text)), now, &wait, &log_it))
		buf_puts(&b, "ok");
	else
		buf_addf(&b, "wait %d%s", wait, log_it ? " logged" : "");
	return buf_detach(&b, NULL);
}

#define EXPECT(l, text, now, want)                        \
	do {                                              \
		char *got_ = check(l, text, now);         \
		assert_string_equal(got_, (want));        \
		free(got_);                               \
	} while (0)

static void
failed(struct login_limit *l, const char *text, int64_t now)
{
	struct sockaddr_storage ss;

	login_limit_fail_at(l, SA(addr(&ss, text)), now);
}

/* 5 failures pass, the 6th attempt waits until one has refilled (12 s),
 * logged once a wait; other addresses are not concerned. */
static void
test_burst_then_wait(void **state)
{
	struct login_limit *l = login_limit_new();
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		EXPECT(l, "192.0.2.1", 1000, "ok");
		failed(l, "192.0.2.1", 1000);
	}
	EXPECT(l, "192.0.2.1", 1000, "wait 12 logged");
	EXPECT(l, "192.0.2.1", 1000, "wait 12");
	EXPECT(l, "192.0.2.1", 6500, "wait 7");
	EXPECT(l, "192.0.2.1", 12999, "wait 1");
	EXPECT(l, "192.0.2.2", 1000, "ok");
	/* one refilled: one more failure, then a new wait, logged again */
	EXPECT(l, "192.0.2.1", 13000, "ok");
	failed(l, "192.0.2.1", 13000);
	EXPECT(l, "192.0.2.1", 13000, "wait 12 logged");
	/* a minute later the bucket is full again: 5 more */
	for (i = 0; i < 5; i++) {
		EXPECT(l, "192.0.2.1", 73000, "ok");
		failed(l, "192.0.2.1", 73000);
	}
	EXPECT(l, "192.0.2.1", 73000, "wait 12 logged");
	login_limit_free(l);
}

/* Failures spread out at the refill rate never wait. */
static void
test_steady_rate(void **state)
{
	struct login_limit *l = login_limit_new();
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		EXPECT(l, "192.0.2.1", 1000 + i * LOGIN_REFILL_MS, "ok");
		failed(l, "192.0.2.1", 1000 + i * LOGIN_REFILL_MS);
	}
	login_limit_free(l);
}

/* IPv6 counts per /64; an IPv4-mapped address as its IPv4 address. */
static void
test_ipv6_prefix(void **state)
{
	struct login_limit *l = login_limit_new();
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		failed(l, i % 2 ? "2001:db8:1:2::1" : "2001:db8:1:2:ffff::9",
		     0);
	EXPECT(l, "2001:db8:1:2:abcd::1", 0, "wait 12 logged");
	EXPECT(l, "2001:db8:1:3::1", 0, "ok");
	/* IPv4 clients of a dual-stack socket are not one /64 */
	for (i = 0; i < 5; i++)
		failed(l, "::ffff:192.0.2.1", 0);
	EXPECT(l, "::ffff:192.0.2.1", 0, "wait 12 logged");
	EXPECT(l, "192.0.2.1", 0, "wait 12");
	EXPECT(l, "::ffff:192.0.2.2", 0, "ok");
	login_limit_free(l);
}

/* The table is bounded: with every entry limited, a new address takes the
 * place of the one closest to full; refilled entries go first. */
static void
test_table_bound(void **state)
{
	struct login_limit *l = login_limit_new();
	char a[32];
	int i, k;

	(void)state;
	/* 10.0.x.y: 1024 addresses, each at its 5 failures; 10.0.0.0's
	 * oldest of all */
	for (i = 0; i < 1024; i++) {
		snprintf(a, sizeof(a), "10.0.%d.%d", i / 256, i % 256);
		for (k = 0; k < 5; k++)
			failed(l, a, i);
	}
	EXPECT(l, "10.0.0.0", 1024, "wait 11 logged");
	EXPECT(l, "10.0.3.255", 1024, "wait 12 logged");
	failed(l, "192.0.2.1", 1024); /* evicts 10.0.0.0 */
	EXPECT(l, "10.0.0.0", 1024, "ok");
	EXPECT(l, "10.0.0.1", 1024, "wait 11 logged");
	login_limit_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_wait),
		cmocka_unit_test(test_steady_rate),
		cmocka_unit_test(test_ipv6_prefix),
		cmocka_unit_test(test_table_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
