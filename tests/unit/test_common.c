/* test_common.c - buffers, maps, durations, sizes, hashing, edit distance. */
#include "unit.h"

/* err_set may wrap the current message (it was formatted in place) */
static void
test_err_wrap(void **state)
{
	(void)state;
	err_set("cannot open '%s': %s", "/x", "No such file or directory");
	err_set("repo '%s': %s", "infra", err_msg());
	assert_string_equal(err_msg(), "repo 'infra': cannot open '/x': No "
				       "such file or directory");
}

static void
test_buf(void **state)
{
	struct buf b = BUF_INIT;
	char *s;
	size_t len, i;

	(void)state;
	assert_string_equal(b.ptr, "");
	buf_addf(&b, "%s-%d", "a", 1);
	buf_putc(&b, 'x');
	buf_add(&b, "\0z", 2);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.ptr, "a-1x\0z", 7);
	for (i = 0; i < 1000; i++)
		buf_addf(&b, "%04zu", i);
	assert_int_equal(b.len, 4006);
	s = buf_detach(&b, &len);
	assert_int_equal(len, 4006);
	assert_string_equal(b.ptr, "");
	free(s);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	free(s);
	buf_release(&b);
}

static void
test_strvec(void **state)
{
	struct strvec sv = STRVEC_INIT;

	(void)state;
	assert_null(sv.v[0]);
	strvec_push(&sv, "a");
	strvec_pushf(&sv, "%s=%d", "B", 2);
	assert_int_equal(sv.n, 2);
	assert_string_equal(sv.v[1], "B=2");
	assert_null(sv.v[2]);
	strvec_clear(&sv);
	assert_int_equal(sv.n, 0);
}

static void
test_strmap(void **state)
{
	struct strmap m = STRMAP_INIT;
	char keys[2000][8];
	size_t i;

	(void)state;
	assert_null(strmap_get(&m, "x"));
	for (i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		assert_null(strmap_put(&m, keys[i], (void *)(i + 1)));
	}
	for (i = 0; i < 2000; i++)
		assert_int_equal((size_t)strmap_get(&m, keys[i]), i + 1);
	assert_int_equal((size_t)strmap_put(&m, "k7", (void *)99), 8);
	assert_int_equal((size_t)strmap_get(&m, "k7"), 99);
	assert_null(strmap_get(&m, "k2000"));
	strmap_release(&m);
}

static void
test_duration(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} ok[] = {
		{ "1s", 1000 },	       { "500ms", 500 },     { "5m", 300000 },
		{ "1h30m", 5400000 }, { "2d", 172800000 }, { "1m1s", 61000 },
	};
	static const char *const bad[] = { "",	  "5",	 "5 m", "-1s",
					   "1y",  "m",	 "1s2", "1.5h" };
	int64_t ms;
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		assert_int_equal(duration_parse(&ms, ok[i].in), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(duration_parse(&ms, bad[i]), ERR_INVALID);
	assert_int_equal(duration_parse(&ms, "99999999999999999999s"),
			 ERR_TOOBIG);
	assert_int_equal(duration_parse(&ms, "4000d"), ERR_TOOBIG);
	duration_format(out, sizeof(out), 5400000);
	assert_string_equal(out, "1h30m");
	duration_format(out, sizeof(out), 0);
	assert_string_equal(out, "0s");
	duration_format(out, sizeof(out), 90061001);
	assert_string_equal(out, "1d1h1m1s1ms");
}

/* Byte sizes (config 'limits'): powers of 1024, exact or refused. */
static void
test_size(void **state)
{
	static const struct {
		const char *in;
		int64_t bytes;
	} ok[] = {
		{ "0", 0 },
		{ "1000", 1000 },
		{ "512K", 512 * 1024 },
		{ "512k", 512 * 1024 },
		{ "512KiB", 512 * 1024 },
		{ "256M", (int64_t)256 << 20 },
		{ "256MiB", (int64_t)256 << 20 },
		{ "1G", (int64_t)1 << 30 },
		{ "10g", (int64_t)10 << 30 },
		{ "2T", (int64_t)2 << 40 },
		{ "1024T", (int64_t)1 << 50 },
	};
	static const char *const bad[] = { "",	  "M",	 "-1",	"1.5G",
					   "1 G", "1MB", "1Gi", "1GB",
					   "+1",  "1Q",	 "0x10", "1g ",
					   "1K1" };
	int64_t n;
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		n = -1;
		assert_int_equal(size_parse(&n, ok[i].in), 0);
		assert_int_equal(n, ok[i].bytes);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(size_parse(&n, bad[i]), ERR_INVALID);
	assert_int_equal(size_parse(&n, "1025T"), ERR_TOOBIG);
	assert_int_equal(size_parse(&n, "99999999999999999999"), ERR_TOOBIG);
	assert_int_equal(size_parse(&n, "1125899906842625"), ERR_TOOBIG);
	size_format(out, sizeof(out), (int64_t)256 << 20);
	assert_string_equal(out, "256M");
	size_format(out, sizeof(out), (int64_t)1 << 30);
	assert_string_equal(out, "1G");
	size_format(out, sizeof(out), 1536 * 1024);
	assert_string_equal(out, "1536K");
	size_format(out, sizeof(out), 1000);
	assert_string_equal(out, "1000");
	size_format(out, sizeof(out), 0);
	assert_string_equal(out, "0");
	size_format(out, sizeof(out), (int64_t)3 << 40);
	assert_string_equal(out, "3T");
}

static void
test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(edit_distance("depend_on", "depends_on", 3), 1);
	assert_int_equal(edit_distance("kitten", "sitting", 5), 3);
	assert_int_equal(edit_distance("", "abc", 5), 3);
	assert_int_equal(edit_distance("abcdefgh", "x", 2), 3);
	assert_int_equal(edit_distance("same", "same", 0), 0);
	assert_int_equal(edit_distance("biuld", "build", 3), 1);
	assert_int_equal(edit_distance("ab", "ba", 3), 1);
}

static void
test_sha256(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	sha256_hex(hex, "abc", 3);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a3"
				 "96177a9cb410ff61f20015ad");
	sha256_hex(hex, "", 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
				 "649b934ca495991b7852b855");
}

static void
test_arena(void **state)
{
	struct arena a = ARENA_INIT;
	char *big, *s;
	size_t i;

	(void)state;
	for (i = 0; i < 10000; i++) {
		s = arena_strdup(&a, "hello");
		assert_string_equal(s, "hello");
		assert_int_equal((uintptr_t)s % sizeof(void *), 0);
	}
	big = arena_alloc(&a, 1 << 20);
	memset(big, 1, 1 << 20);
	s = arena_strndup(&a, "abcdef", 3);
	assert_string_equal(s, "abc");
	arena_release(&a);
	arena_release(&a);
}

static void
test_escape_log(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	escape_log(&b, "a\nb\x1b[31m\\", 9);
	assert_string_equal(b.ptr, "a\\nb\\x1b[31m\\\\");
	buf_release(&b);
}

/* Terminal and log injection (issue 15, item 9): what escape_text keeps
 * and what it turns into \xNN. */
static void
test_escape_text(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	/* a title, a clear screen, a carriage return, DEL */
	assert_string_equal(escape_text(&b, "\x1b]0;pwned\x07\x1b[2J\rx\x7f"),
			    "\\x1b]0;pwned\\x07\\x1b[2J\\x0dx\\x7f");
	/* C1 controls (CSI as U+009B, NEL), as UTF-8 */
	assert_string_equal(escape_text(&b, "a\xc2\x9b" "2Jb\xc2\x85" "c"),
			    "a\\xc2\\x9b2Jb\\xc2\\x85c");
	/* bidi overrides and isolates; LRM and other marks stay */
	assert_string_equal(escape_text(&b, "x\xe2\x80\xaey\xe2\x81\xa6z"
					    "\xe2\x81\xa9\xe2\x80\xaa"),
			    "x\\xe2\\x80\\xaey\\xe2\\x81\\xa6z"
			    "\\xe2\\x81\\xa9\\xe2\\x80\\xaa");
	assert_string_equal(escape_text(&b, "\xe2\x80\xa9\xe2\x81\xaa"),
			    "\xe2\x80\xa9\xe2\x81\xaa");
	/* valid UTF-8 in any script is kept */
	assert_string_equal(escape_text(&b, "caf\xc3\xa9 \xe6\x97\xa5 "
					    "\xf0\x9f\x98\x80"),
			    "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
	/* invalid UTF-8: a lone continuation, a cut sequence, an overlong
	 * "/", a surrogate, above U+10FFFF, 0xff */
	assert_string_equal(escape_text(&b, "\x80|\xe2\x80|\xc0\xaf|"
					    "\xed\xa0\x80|\xf4\x90\x80\x80|"
					    "\xff"),
			    "\\x80|\\xe2\\x80|\\xc0\\xaf|"
			    "\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\xff");
	assert_string_equal(escape_text(&b, NULL), "");
	/* the log's guard keeps a backslash: no double escaping */
	buf_reset(&b);
	escape_log_line(&b, "a\\x1b\nb\x1b", 8);
	assert_string_equal(b.ptr, "a\\x1b\\nb\\x1b");
	buf_release(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_wrap),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_strvec),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_edit_distance),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_escape_log),
		cmocka_unit_test(test_escape_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
