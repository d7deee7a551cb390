/* test_http_screen.c - the request head screening (http-screen.c): the
 * framing rules of RFC 9112 that libmicrohttpd lets by. */
#include "unit.h"

#include "../../webhook/webhook-int.h"

/* Screen a head given as "name", "value" pairs; the verdict, and the
 * message in *msg (a static buffer, reset each call). */
static int
screen(const char **msg, const char *const *kv, size_t n)
{
	static struct buf out = BUF_INIT;
	struct http_field f[8];
	size_t i;
	int code;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		f[i].name = kv[2 * i];
		f[i].name_len = strlen(kv[2 * i]);
		f[i].value = kv[2 * i + 1];
	}
	buf_reset(&out);
	code = http_screen_head(f, n, &out);
	*msg = out.ptr;
	return code;
}

static void
test_good_heads(void **state)
{
	static const char *const plain[] = { "Host", "x", "Content-Length",
					     "12", "X-Hub-Signature-256",
					     "sha256=00" };
	static const char *const chunked[] = { "Transfer-Encoding",
					       " Chunked\t" };
	static const char *const tokens[] = { "a!#$%&'*+-.^_`|~9", "v" };
	const char *msg;

	(void)state;
	assert_int_equal(screen(&msg, plain, 3), 0);
	assert_string_equal(msg, "");
	assert_int_equal(screen(&msg, chunked, 1), 0);
	assert_int_equal(screen(&msg, tokens, 1), 0);
	assert_int_equal(screen(&msg, NULL, 0), 0);
}

static void
test_bad_names(void **state)
{
	static const char *const space[] = { "Transfer-Encoding ", "chunked",
					     "Content-Length", "5" };
	static const char *const paren[] = { "X(y)", "z" };
	static const char *const ctl[] = { "X\001\xff'\\", "z" };
	static const char *const empty[] = { "", "z" };
	const char *msg;

	(void)state;
	assert_int_equal(screen(&msg, space, 2), 400);
	assert_string_equal(msg, "the header name 'Transfer-Encoding ' is not "
				 "a token (RFC 9112: no space before the "
				 "colon, no control or separator characters)");
	assert_int_equal(screen(&msg, paren, 1), 400);
	assert_string_equal(msg, "the header name 'X(y)' is not a token (RFC "
				 "9112: no space before the colon, no control "
				 "or separator characters)");
	assert_int_equal(screen(&msg, ctl, 1), 400);
	assert_string_equal(msg, "the header name 'X\\x01\\xff\\x27\\x5c' is "
				 "not a token (RFC 9112: no space before the "
				 "colon, no control or separator characters)");
	assert_int_equal(screen(&msg, empty, 1), 400);
}

static void
test_framing(void **state)
{
	static const char *const two_cl[] = { "Content-Length", "5",
					      "content-length", "5" };
	static const char *const cl_te[] = { "Content-Length", "5",
					     "Transfer-Encoding", "chunked" };
	static const char *const two_te[] = { "Transfer-Encoding", "chunked",
					      "Transfer-Encoding", "chunked" };
	static const char *const gzip[] = { "Transfer-Encoding",
					    "gzip, chunked" };
	const char *msg;

	(void)state;
	assert_int_equal(screen(&msg, two_cl, 2), 400);
	assert_string_equal(msg, "the request has 2 Content-Length headers: "
				 "send one");
	assert_int_equal(screen(&msg, cl_te, 2), 400);
	assert_string_equal(msg, "the request has both Content-Length and "
				 "Transfer-Encoding headers: send one");
	assert_int_equal(screen(&msg, two_te, 2), 400);
	assert_string_equal(msg, "the request has 2 Transfer-Encoding "
				 "headers: send one");
	assert_int_equal(screen(&msg, gzip, 1), 400);
	assert_string_equal(msg, "Transfer-Encoding 'gzip, chunked' is not "
				 "supported: send 'chunked' or a "
				 "Content-Length");
}

static void
test_target(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	assert_int_equal(http_screen_target("/r/1", &out), 0);
	assert_int_equal(http_screen_target("/a%20b?x=%0a%01%", &out), 0);
	assert_int_equal(http_screen_target("/a%0", &out), 0);
	assert_string_equal(out.ptr, "");
	assert_int_equal(http_screen_target("/r/1%00", &out), 400);
	assert_string_equal(out.ptr, "the request target holds %00 (a NUL "
				     "byte), which no path or query may "
				     "contain");
	buf_reset(&out);
	assert_int_equal(http_screen_target("/healthz?x=a%00b", &out), 400);
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_heads),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_target),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
