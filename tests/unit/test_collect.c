/*
 * test_collect.c - taking store files out of a run dir (runner/collect.c):
 * every refusal with its message, the caps, a FIFO, a symlink on the way,
 * and that the copy holds what the descriptor read.  Each test runs twice:
 * through openat2, and through the O_NOFOLLOW walk of older kernels.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/runner-int.h"

struct fx {
	char base[64];
	char out[128]; /* the daemon's side: copies go here */
	int run_fd;    /* base/run */
	int64_t total;
};

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

/* A file under the run dir (or, with a leading "../", beside it). */
static void
put(struct fx *f, const char *rel, const void *data, size_t len)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/run/%s", f->base, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
run_path(struct fx *f, char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/run/%s", f->base, rel);
}

static void
dst_path(struct fx *f, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", f->out, name);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char p[128];

	unit_tmpdir(f->base, sizeof(f->base), "scaffold-collect");
	snprintf(p, sizeof(p), "%s/run", f->base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(f->out, sizeof(f->out), "%s/store", f->base);
	assert_int_equal(mkdir(f->out, 0700), 0);
	f->run_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->run_fd >= 0);
	runner_store_limits(0, 0);
	*state = f;
	return 0;
}

static int
setup_walk(void **state)
{
	collect_force_walk = true;
	return setup(state);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	close(f->run_fd);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	collect_force_walk = false;
	runner_store_limits(0, 0);
	return 0;
}

/* Collect name into f->out/copy; the return code, err_msg() set. */
static int
collect(struct fx *f, const char *name)
{
	char dst[160];

	dst_path(f, dst, sizeof(dst), "copy");
	unlink(dst);
	return runner_collect_file(f->run_fd, name, dst, &f->total);
}

/* Refused with want, and nothing left in the daemon's dir. */
static void
refused(struct fx *f, const char *name, int code, const char *want)
{
	char dst[160];
	struct stat st;
	int64_t before = f->total;

	assert_int_equal(collect(f, name), code);
	assert_string_equal(err_msg(), want);
	assert_int_equal(f->total, before);
	dst_path(f, dst, sizeof(dst), "copy");
	assert_int_equal(lstat(dst, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* The copy is the file's bytes, 0600, and the run's total counts them. */
static void
test_copy(void **state)
{
	struct fx *f = *state;
	struct buf got = BUF_INIT;
	char *big, dst[160], p[160];
	struct stat st;
	size_t i, n = 300000; /* several chunks */

	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = (char)(i * 7 + i / 251);
	put(f, "out.bin", big, n);
	assert_int_equal(collect(f, "out.bin"), 0);
	dst_path(f, dst, sizeof(dst), "copy");
	assert_int_equal(buf_read_file(&got, dst, n + 1), 0);
	assert_int_equal(got.len, n);
	assert_memory_equal(got.ptr, big, n);
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(f->total, (int64_t)n);

	/* in a sub directory, through "." and empty segments; empty file */
	run_path(f, p, sizeof(p), "sub");
	assert_int_equal(mkdir(p, 0755), 0);
	put(f, "sub/empty", "", 0);
	assert_int_equal(collect(f, "./sub//empty"), 0);
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(f->total, (int64_t)n);

	/* the copy never replaces a file that is there */
	put(f, "b", "b", 1);
	assert_int_equal(runner_collect_file(f->run_fd, "b", dst, &f->total),
			 -1);
	assert_true(strstr(err_msg(), "store file 'b': cannot create '") ==
		    err_msg());
	assert_true(strstr(err_msg(), "/copy': File exists") != NULL);
	free(big);
	buf_release(&got);
}

static void
test_missing(void **state)
{
	struct fx *f = *state;

	refused(f, "nope.txt", ERR_NOTFOUND,
		"store file 'nope.txt' was not created");
	refused(f, "no/such/file", ERR_NOTFOUND,
		"store file 'no/such/file' was not created");
	/* a file where a directory should be */
	put(f, "plain", "x", 1);
	refused(f, "plain/f", ERR_NOTFOUND,
		"store file 'plain/f' was not created");
}

static void
test_symlinks(void **state)
{
	struct fx *f = *state;
	char p[160], q[160];

	/* the outside file the links point at is readable: only the rules
	 * keep it out */
	snprintf(q, sizeof(q), "%s/outside", f->base);
	put(f, "../outside", "secret\n", 7);

	run_path(f, p, sizeof(p), "link");
	assert_int_equal(symlink(q, p), 0);
	refused(f, "link", ERR_INVALID, "store file 'link' is a symlink");

	/* inside the run dir, or dangling: a symlink all the same */
	put(f, "real", "x", 1);
	run_path(f, p, sizeof(p), "inner");
	assert_int_equal(symlink("real", p), 0);
	refused(f, "inner", ERR_INVALID, "store file 'inner' is a symlink");
	run_path(f, p, sizeof(p), "dangling");
	assert_int_equal(symlink("nowhere", p), 0);
	refused(f, "dangling", ERR_INVALID,
		"store file 'dangling' is a symlink");

	/* a symlink in a middle component: to a dir outside, or inside */
	run_path(f, p, sizeof(p), "d");
	assert_int_equal(symlink(f->base, p), 0);
	refused(f, "d/outside", ERR_INVALID,
		"store file 'd/outside' is behind a symlink ('d')");
	run_path(f, p, sizeof(p), "a");
	assert_int_equal(mkdir(p, 0755), 0);
	run_path(f, p, sizeof(p), "a/b");
	assert_int_equal(symlink("..", p), 0);
	refused(f, "a/b/real", ERR_INVALID,
		"store file 'a/b/real' is behind a symlink ('a/b')");
	/* behind a symlink and missing: the symlink is named */
	refused(f, "a/b/nope", ERR_INVALID,
		"store file 'a/b/nope' is behind a symlink ('a/b')");
}

static void
test_not_regular(void **state)
{
	struct fx *f = *state;
	char p[160];
	int64_t t0 = 0, t1 = 0;

	run_path(f, p, sizeof(p), "dir");
	assert_int_equal(mkdir(p, 0755), 0);
	refused(f, "dir", ERR_INVALID, "store file 'dir' is not a regular file");

	/* a FIFO with no writer: refused at once, not waited on */
	run_path(f, p, sizeof(p), "fifo");
	assert_int_equal(mkfifo(p, 0644), 0);
	t0 = (int64_t)time(NULL);
	refused(f, "fifo", ERR_INVALID,
		"store file 'fifo' is not a regular file");
	t1 = (int64_t)time(NULL);
	assert_true(t1 - t0 <= 1);
}

static void
test_hard_links(void **state)
{
	struct fx *f = *state;
	char p[160], q[160];

	/* a file from outside the run dir, linked in */
	snprintf(q, sizeof(q), "%s/outside", f->base);
	put(f, "../outside", "secret\n", 7);
	run_path(f, p, sizeof(p), "out.txt");
	assert_int_equal(link(q, p), 0);
	refused(f, "out.txt", ERR_INVALID,
		"store file 'out.txt' has other hard links");

	/* two names in the run dir: refused too (one of them may be a
	 * file from outside, moved in) */
	put(f, "one", "1", 1);
	run_path(f, q, sizeof(q), "one");
	run_path(f, p, sizeof(p), "two");
	assert_int_equal(link(q, p), 0);
	refused(f, "two", ERR_INVALID, "store file 'two' has other hard links");
}

static void
test_bad_names(void **state)
{
	struct fx *f = *state;

	refused(f, "../outside", ERR_INVALID,
		"store file '../outside' is not a path inside the run dir");
	refused(f, "/etc/passwd", ERR_INVALID,
		"store file '/etc/passwd' is not a path inside the run dir");
	refused(f, "a/../../x", ERR_INVALID,
		"store file 'a/../../x' is not a path inside the run dir");
}

static void
test_caps(void **state)
{
	struct fx *f = *state;
	char dst[160];
	char data[3000];

	memset(data, 'x', sizeof(data));
	runner_store_limits(2048, 5000);
	put(f, "big.bin", data, 2049);
	refused(f, "big.bin", ERR_TOOBIG,
		"store file 'big.bin' is larger than the limit of 2 KiB "
		"(limits.store_file)");
	put(f, "a", data, 2048); /* exactly the cap */
	assert_int_equal(collect(f, "a"), 0);
	assert_int_equal(f->total, 2048);
	dst_path(f, dst, sizeof(dst), "a");
	assert_int_equal(runner_collect_file(f->run_fd, "a", dst, &f->total),
			 0);
	assert_int_equal(f->total, 4096);
	put(f, "c", data, 905);
	refused(f, "c", ERR_TOOBIG,
		"store file 'c' takes the store files of this run over the "
		"limit of 5000 bytes (limits.store_run)");
	put(f, "c", data, 904); /* exactly the run's cap */
	assert_int_equal(collect(f, "c"), 0);
	assert_int_equal(f->total, 5000);

	/* the defaults, named in MiB and GiB */
	runner_store_limits(0, 0);
	assert_int_equal(runner_store_cap_check("x", RUNNER_STORE_FILE_DEFAULT,
						0),
			 0);
	assert_int_equal(runner_store_cap_check(
				 "x", RUNNER_STORE_FILE_DEFAULT + 1, 0),
			 ERR_TOOBIG);
	assert_string_equal(err_msg(),
			    "store file 'x' is larger than the limit of "
			    "256 MiB (limits.store_file)");
	assert_int_equal(runner_store_cap_check("y", 1,
						RUNNER_STORE_RUN_DEFAULT),
			 ERR_TOOBIG);
	assert_string_equal(err_msg(),
			    "store file 'y' takes the store files of this run "
			    "over the limit of 1 GiB (limits.store_run)");
	assert_int_equal(runner_store_file_room(0), RUNNER_STORE_FILE_DEFAULT);
	assert_int_equal(runner_store_file_room(RUNNER_STORE_RUN_DEFAULT - 10),
			 10);
}

/* The store env of a local run is read the same way. */
static void
test_read(void **state)
{
	struct fx *f = *state;
	struct buf b = BUF_INIT;
	char p[160];

	put(f, "V", "a\nb", 3);
	assert_int_equal(runner_collect_read(f->run_fd, "store env", "V", 16,
					     &b),
			 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.ptr, "a\nb", 3);
	buf_reset(&b);
	assert_int_equal(runner_collect_read(f->run_fd, "store env", "V", 2,
					     &b),
			 ERR_TOOBIG);
	buf_reset(&b);
	assert_int_equal(runner_collect_read(f->run_fd, "store env", "NOPE",
					     16, &b),
			 ERR_NOTFOUND);
	run_path(f, p, sizeof(p), "L");
	assert_int_equal(symlink("V", p), 0);
	assert_int_equal(runner_collect_read(f->run_fd, "store env", "L", 16,
					     &b),
			 ERR_INVALID);
	assert_string_equal(err_msg(), "store env 'L' is a symlink");
	buf_release(&b);
}

#define BOTH(t)                                                  \
	cmocka_unit_test_setup_teardown(t, setup, teardown),      \
		cmocka_unit_test_setup_teardown(t, setup_walk, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_copy),	  BOTH(test_missing),
		BOTH(test_symlinks),	  BOTH(test_not_regular),
		BOTH(test_hard_links),	  BOTH(test_bad_names),
		BOTH(test_caps),	  BOTH(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
