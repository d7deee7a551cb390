/* test_sse.c - a run's log framed as server-sent events (webhook/sse.c). */
#include <stdbool.h>

#include "unit.h"

#include "../../webhook/webhook-int.h"

/* Frame in (len bytes) in one call; the stream in out, the bytes taken. */
static size_t
frame(struct buf *out, bool *cr, const char *in, size_t len)
{
	buf_reset(out);
	return sse_data_lines(out, cr, in, len);
}

static void
test_line_ends(void **state)
{
	struct buf out = BUF_INIT;
	bool cr = false;

	(void)state;
	/* "\n", "\r\n" and a bare "\r" all end a line; the rest waits */
	assert_int_equal(frame(&out, &cr, "a\nb\r\nc\rd", 8), 7);
	assert_string_equal(out.ptr, "data: a\ndata: b\ndata: c\n\n");
	assert_false(cr);
	/* nothing complete: no event at all */
	assert_int_equal(frame(&out, &cr, "abc", 3), 0);
	assert_string_equal(out.ptr, "");
	/* empty lines are lines */
	assert_int_equal(frame(&out, &cr, "\n\r\r\n", 4), 4);
	assert_string_equal(out.ptr, "data: \ndata: \ndata: \n\n");
	buf_release(&out);
}

/* A task's "\r" cannot start a field: the injection of issue 15. */
static void
test_cr_injection(void **state)
{
	static const char in[] = "x\revent: end\rdata: {\"state\":\"success\"}"
				 "\r\r";
	struct buf out = BUF_INIT;
	bool cr = false;

	(void)state;
	assert_int_equal(frame(&out, &cr, in, sizeof(in) - 1), sizeof(in) - 1);
	assert_string_equal(out.ptr, "data: x\ndata: event: end\n"
				     "data: data: {\"state\":\"success\"}\n"
				     "data: \n\n");
	assert_true(cr);
	buf_release(&out);
}

/* A "\r\n" cut between two reads is one line end, not two. */
static void
test_crlf_split(void **state)
{
	struct buf out = BUF_INIT;
	bool cr = false;

	(void)state;
	assert_int_equal(frame(&out, &cr, "a\r", 2), 2);
	assert_string_equal(out.ptr, "data: a\n\n");
	assert_true(cr);
	assert_int_equal(frame(&out, &cr, "\nb\n", 3), 3);
	assert_string_equal(out.ptr, "data: b\n\n");
	assert_false(cr);
	/* only a "\n" right after the "\r" belongs to it */
	assert_int_equal(frame(&out, &cr, "c\r", 2), 2);
	assert_int_equal(frame(&out, &cr, "d\n\n", 3), 3);
	assert_string_equal(out.ptr, "data: d\ndata: \n\n");
	buf_release(&out);
}

/* Bytes are kept as they are: NUL, invalid UTF-8, a leading space. */
static void
test_bytes(void **state)
{
	struct buf out = BUF_INIT;
	bool cr = false;

	(void)state;
	assert_int_equal(frame(&out, &cr, " \0\xff\n", 4), 4);
	assert_int_equal(out.len, 11);
	assert_memory_equal(out.ptr, "data:  \0\xff\n\n", 11);
	buf_release(&out);
}

static void
test_event(void **state)
{
	struct buf out = BUF_INIT;

	(void)state;
	sse_event(&out, "partial", "tail", 4);
	assert_string_equal(out.ptr, "event: partial\ndata: tail\n\n");
	buf_reset(&out);
	sse_event(&out, "end", "a\rb\r\nc\n", 7);
	assert_string_equal(out.ptr,
			    "event: end\ndata: a\ndata: b\ndata: c\ndata: \n\n");
	buf_reset(&out);
	sse_event(&out, NULL, "", 0);
	assert_string_equal(out.ptr, "data: \n\n");
	buf_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_ends),
		cmocka_unit_test(test_cr_injection),
		cmocka_unit_test(test_crlf_split),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
