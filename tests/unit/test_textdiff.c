/* test_textdiff.c - the line diff of two scripts (gitsync/textdiff.c). */
#include "unit.h"
#include "../../gitsync/gitsync.h"

/* The diff as git prints it: a line each, "@@ ... @@" headers. */
static char *
render(const char *a, const char *b, int context)
{
	struct diff_line *v = NULL;
	struct buf out = BUF_INIT;
	size_t n = 0, i;

	assert_int_equal(text_diff(&v, &n, a, strlen(a), b, strlen(b),
				   context),
			 0);
	for (i = 0; i < n; i++) {
		if (v[i].op != '@')
			buf_putc(&out, v[i].op);
		buf_add(&out, v[i].text, v[i].len);
		buf_putc(&out, '\n');
	}
	diff_lines_free(v, n);
	return buf_detach(&out, NULL);
}

static void
test_changed_line(void **state)
{
	char *d = render("a\nb\nc\n", "a\nB\nc\nd\n", 3);

	(void)state;
	assert_string_equal(d, "@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n");
	free(d);
}

static void
test_equal_texts_no_lines(void **state)
{
	char *d = render("same\n", "same\n", 3);

	(void)state;
	assert_string_equal(d, "");
	free(d);
}

/* A plain scalar (no final newline) beside a block scalar: only the
 * lines that differ, no "no newline" marker. */
static void
test_final_newline_ignored_unless_alone(void **state)
{
	char *d = render("echo v1", "echo v2\n", 3);

	(void)state;
	assert_string_equal(d, "@@ -1 +1 @@\n-echo v1\n+echo v2\n");
	free(d);
	d = render("echo v1", "echo v1\n", 3);
	assert_string_equal(d, "@@ -1 +1 @@\n-echo v1\n\\no newline at the end\n"
			       "+echo v1\n");
	free(d);
}

static void
test_context_and_hunks(void **state)
{
	char *d = render("1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			 "1\nX\n3\n4\n5\n6\n7\nY\n9\n", 1);

	(void)state;
	assert_string_equal(d, "@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n"
			       "@@ -7,3 +7,3 @@\n 7\n-8\n+Y\n 9\n");
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changed_line),
		cmocka_unit_test(test_equal_texts_no_lines),
		cmocka_unit_test(test_final_newline_ignored_unless_alone),
		cmocka_unit_test(test_context_and_hunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
