/*
 * test_swarm_frame.c - the swarm runner's frame of outputs (swarm-frame.c)
 * without a swarm: cut out of a stdout that comes in pieces of any size,
 * the output around it kept byte for byte and never held back longer than
 * a tail that may start the mark, and decoded into files and env; a
 * missing file, a symlink and a damaged frame end the run with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/swarm-int.h"

struct sink {
	struct buf out;
};

static void
sink_out(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;

	buf_add(&s->out, data, len);
}

/* stdout: output, the frame of one file and one env value, more output */
static void
stdout_of(struct buf *b, const struct swarm_frame *f)
{
	buf_puts(b, "hello\nno newline");
	buf_addf(b, "%s begin\nx 0\nf 0\n 78 00 79 ff\n 7a\ne 0\n 61 09\n"
		    "%s end\n",
		 f->mark, f->mark);
	buf_puts(b, "after");
}

static void
test_feed_any_pieces(void **state)
{
	static const size_t steps[] = { 1, 2, 3, 7, 64, 100000 };
	struct swarm_frame f;
	struct sink s;
	struct buf in = BUF_INIT;
	size_t k, i, n;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(steps); k++) {
		swarm_frame_init(&f, "inst", 42);
		buf_init(&s.out);
		buf_reset(&in);
		stdout_of(&in, &f);
		for (i = 0; i < in.len; i += n) {
			n = in.len - i < steps[k] ? in.len - i : steps[k];
			swarm_frame_feed(&f, in.ptr + i, n, sink_out, &s);
		}
		swarm_frame_flush(&f, sink_out, &s);
		assert_int_equal(f.state, 2);
		assert_string_equal(s.out.ptr, "hello\nno newlineafter");
		assert_int_equal(f.data.len,
				 strlen("x 0\nf 0\n 78 00 79 ff\n 7a\ne 0\n 61 "
					"09\n"));
		buf_release(&s.out);
		swarm_frame_release(&f);
	}
	buf_release(&in);
}

/* Output that merely starts like the mark is not held back for good. */
static void
test_no_hold_without_mark(void **state)
{
	struct swarm_frame f;
	struct sink s;

	(void)state;
	swarm_frame_init(&f, "", 7);
	buf_init(&s.out);
	swarm_frame_feed(&f, "started\n", 8, sink_out, &s);
	assert_string_equal(s.out.ptr, "started\n");
	swarm_frame_feed(&f, "x@@sc", 5, sink_out, &s);
	assert_string_equal(s.out.ptr, "started\nx"); /* "@@sc" may start it */
	swarm_frame_feed(&f, "ope\n", 4, sink_out, &s);
	assert_string_equal(s.out.ptr, "started\nx@@scope\n");
	swarm_frame_flush(&f, sink_out, &s);
	assert_int_equal(f.state, 0);
	buf_release(&s.out);
	swarm_frame_release(&f);
}

static void
test_collect(void **state)
{
	static const char *const files[] = { "out.bin", "sub/b.txt" };
	static const char *const envs[] = { "V" };
	struct strvec sf = STRVEC_INIT, se = STRVEC_INIT;
	struct run_result r;
	struct swarm_frame f;
	struct buf got = BUF_INIT;
	char dir[128];
	size_t i;

	(void)state;
	unit_tmpdir(dir, sizeof(dir), "scaffold-test-frame");
	for (i = 0; i < 2; i++)
		strvec_push(&sf, files[i]);
	strvec_push(&se, envs[0]);
	swarm_frame_init(&f, "i", 1);
	swarm_frame_find(&f, "", 0);
	assert_int_equal(f.state, 0);

	/* all there */
	memset(&r, 0, sizeof(r));
	buf_addf(&got, "%s begin\nx 0\nf 0\n 78 00\nf 1\n 62\ne 0\n 61 0a\n"
		       "d\n 3c 62 3e\n%s end\n",
		 f.mark, f.mark);
	assert_true(swarm_frame_find(&f, got.ptr, got.len));
	assert_int_equal(swarm_frame_collect(&f, &sf, &se, dir, &r), 0);
	assert_int_equal(r.nfiles, 3);
	assert_string_equal(r.files[1].path, "sub/b.txt");
	assert_string_equal(r.files[2].path, RUN_DISPLAY_FILE);
	buf_reset(&got);
	assert_int_equal(buf_read_file(&got, r.files[0].src, 100), 0);
	assert_int_equal(got.len, 2);
	assert_memory_equal(got.ptr, "x\0", 2);
	assert_int_equal(r.nenv, 1);
	assert_int_equal(r.env[0].len, 2);
	assert_memory_equal(r.env[0].value, "a\n", 2);
	run_result_release(&r);

	/* a missing file, a symlink, a damaged frame, an env not set */
	swarm_frame_release(&f);
	swarm_frame_init(&f, "i", 1);
	memset(&r, 0, sizeof(r));
	buf_reset(&got);
	buf_addf(&got, "%s begin\nx 0\nn 0\n%s end\n", f.mark, f.mark);
	assert_true(swarm_frame_find(&f, got.ptr, got.len));
	assert_int_equal(swarm_frame_collect(&f, &sf, &se, dir, &r), 1);
	assert_string_equal(r.message, "store file 'out.bin' was not created");
	f.state = 0;
	buf_reset(&got);
	buf_addf(&got, "%s begin\nx 0\nl 1\n%s end\n", f.mark, f.mark);
	assert_true(swarm_frame_find(&f, got.ptr, got.len));
	assert_int_equal(swarm_frame_collect(&f, &sf, &se, dir, &r), 1);
	assert_string_equal(r.message,
			    "store file 'sub/b.txt' is a symlink or behind one");
	f.state = 0;
	buf_reset(&got);
	buf_addf(&got, "%s begin\nx 0\nf 0\n 7g\n%s end\n", f.mark, f.mark);
	assert_true(swarm_frame_find(&f, got.ptr, got.len));
	assert_int_equal(swarm_frame_collect(&f, &sf, &se, dir, &r), 1);
	assert_string_equal(r.message, "the task's output frame is damaged");
	f.state = 0;
	buf_reset(&got);
	buf_addf(&got, "%s begin\nx 0\nf 0\n 78\nf 1\n 79\n%s end\n", f.mark,
		 f.mark);
	assert_true(swarm_frame_find(&f, got.ptr, got.len));
	assert_int_equal(swarm_frame_collect(&f, &sf, &se, dir, &r), 1);
	assert_string_equal(r.message, "store env 'V' is not set");

	swarm_frame_release(&f);
	strvec_clear(&sf);
	strvec_clear(&se);
	buf_release(&got);
	buf_reset(&got);
	buf_addf(&got, "rm -rf '%s'", dir);
	assert_int_equal(system(got.ptr), 0);
	buf_release(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_any_pieces),
		cmocka_unit_test(test_no_hold_without_mark),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
