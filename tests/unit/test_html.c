/* test_html.c - the HTML escaping helpers of the status pages. */
#include "unit.h"

#define CHECK(fn, in, want)                         \
	do {                                        \
		struct buf b_ = BUF_INIT;           \
		fn(&b_, in);                        \
		assert_string_equal(b_.ptr, want);  \
		buf_release(&b_);                   \
	} while (0)

static void
test_txt(void **state)
{
	(void)state;
	CHECK(html_txt, "plain text, 1.0", "plain text, 1.0");
	CHECK(html_txt, "<script>alert('x')</script>",
	      "&lt;script&gt;alert('x')&lt;/script&gt;");
	CHECK(html_txt, "a & b \"c\"", "a &amp; b \"c\"");
	CHECK(html_txt, "&amp;", "&amp;amp;");
	CHECK(html_txt, "", "");
	CHECK(html_txt, NULL, "");
	/* tabs and newlines stay; other controls are not HTML text */
	CHECK(html_txt, "a\tb\nc\r\n", "a\tb\nc\r\n");
	CHECK(html_txt, "\x1b[31mred\x1b[0m\x7f",
	      "\xef\xbf\xbd[31mred\xef\xbf\xbd[0m\xef\xbf\xbd");
	/* UTF-8 passes; bytes that are not UTF-8 do not */
	CHECK(html_txt, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80",
	      "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
	CHECK(html_txt, "a\xff" "b", "a\xef\xbf\xbd" "b");
	CHECK(html_txt, "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"); /* overlong */
	CHECK(html_txt, "\xed\xa0\x80", /* a surrogate */
	      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	CHECK(html_txt, "end\xe2\x9c", "end\xef\xbf\xbd\xef\xbf\xbd");
	CHECK(html_txt, "\xc2\x85", "\xef\xbf\xbd"); /* C1 control */
	CHECK(html_txt, "\f", "\xef\xbf\xbd"); /* not XML */
	CHECK(html_txt, "\xef\xbf\xbe\xef\xb7\x90", /* noncharacters */
	      "\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_ntxt(void **state)
{
	struct buf b = BUF_INIT;
	struct buf big = BUF_INIT;
	size_t i;

	(void)state;
	html_ntxt(&b, "a\0<b", 4);
	assert_string_equal(b.ptr, "a\xef\xbf\xbd&lt;b");
	buf_reset(&b);
	for (i = 0; i < 100000; i++)
		buf_puts(&big, "line <i>\n");
	html_ntxt(&b, big.ptr, big.len);
	assert_int_equal(b.len, 100000 * strlen("line &lt;i&gt;\n"));
	assert_memory_equal(b.ptr, "line &lt;i&gt;\nline", 19);
	buf_release(&b);
	buf_release(&big);
}

static void
test_attr(void **state)
{
	(void)state;
	CHECK(html_attr, "x\" onmouseover=\"alert(1)",
	      "x&quot; onmouseover=&quot;alert(1)");
	CHECK(html_attr, "it's <b>&", "it&#39;s &lt;b&gt;&amp;");
	CHECK(html_attr, "caf\xc3\xa9", "caf\xc3\xa9");
	CHECK(html_attr, NULL, "");
}

static void
test_url_arg(void **state)
{
	(void)state;
	CHECK(html_url_arg, "deploy-1.2_x~", "deploy-1.2_x~");
	CHECK(html_url_arg, "a b/c?d=e&f#g", "a%20b%2Fc%3Fd%3De%26f%23g");
	CHECK(html_url_arg, "\"><script>", "%22%3E%3Cscript%3E");
	CHECK(html_url_arg, "caf\xc3\xa9", "caf%C3%A9");
	CHECK(html_url_arg, "%", "%25");
	CHECK(html_url_arg, ".", "%2E");
	CHECK(html_url_arg, "..", "%2E%2E");
	CHECK(html_url_arg, "...", "...");
	CHECK(html_url_arg, ".env", ".env");
	CHECK(html_url_arg, "", "");
	CHECK(html_url_path, "out/a b.txt", "out/a%20b.txt");
	CHECK(html_url_path, "a/../b/./c", "a/%2E%2E/b/%2E/c");
	CHECK(html_url_path, "../x", "%2E%2E/x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_ntxt),
		cmocka_unit_test(test_attr),
		cmocka_unit_test(test_url_arg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
