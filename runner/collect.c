/*
 * collect.c - taking a stored file out of a run dir that a task controls.
 *
 * The task can race the daemon: swap a file for a symlink between a check
 * and a copy, link in a file from outside, leave a FIFO that would block
 * a reader.  So nothing here goes by path twice.  The file is opened once,
 * relative to the run dir, without following any symlink on the way
 * (openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, or a walk of
 * O_NOFOLLOW opens where the kernel has no openat2), it is checked through
 * that descriptor (a regular file with no other hard link), and copied
 * from that same descriptor, in chunks, into a file the daemon owns.  What
 * the caller stores afterwards is that copy.
 *
 * The caps (limits.store_file, limits.store_run) are counted on the bytes
 * copied, not on what fstat said: a file that grows while it is copied is
 * still stopped at the cap.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(SYS_openat2) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif
#endif

#include "runner-int.h"

#define COPY_CHUNK 65536
#define OPENAT2_TRIES 8 /* EAGAIN: a concurrent rename; try again */

bool collect_force_walk;

/* Set once before the first run (runner_store_limits); read by workers. */
static int64_t max_file = RUNNER_STORE_FILE_DEFAULT;
static int64_t max_run = RUNNER_STORE_RUN_DEFAULT;

void
runner_store_limits(int64_t file, int64_t run)
{
	max_file = file > 0 ? file : RUNNER_STORE_FILE_DEFAULT;
	max_run = run > 0 ? run : RUNNER_STORE_RUN_DEFAULT;
}

/* A size for people: "256 MiB", "1 GiB", "1500 bytes". */
void
runner_size_text(char *out, size_t len, int64_t n)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	int i, u = -1;

	for (i = 0; i < 4; i++)
		if (n >= (1LL << (10 * (i + 1))) &&
		    n % (1LL << (10 * (i + 1))) == 0)
			u = i;
	if (u < 0)
		snprintf(out, len, "%lld byte%s", (long long)n,
			 n == 1 ? "" : "s");
	else
		snprintf(out, len, "%lld %s", (long long)(n >> (10 * (u + 1))),
			 unit[u]);
}

int
runner_store_cap_check(const char *name, int64_t size, int64_t run_before)
{
	struct buf e = BUF_INIT;
	char cap[32];
	int ret = 0;

	if (size > max_file) {
		runner_size_text(cap, sizeof(cap), max_file);
		ret = err_set("store file '%s' is larger than the limit of %s "
			      "(limits.store_file)",
			      runner_esc(&e, name), cap);
	} else if (size > max_run - run_before) {
		runner_size_text(cap, sizeof(cap), max_run);
		ret = err_set("store file '%s' takes the store files of this "
			      "run over the limit of %s (limits.store_run)",
			      runner_esc(&e, name), cap);
	}
	buf_release(&e);
	return ret ? ERR_TOOBIG : 0;
}

int64_t
runner_store_file_room(int64_t run_before)
{
	int64_t room = max_run - run_before;

	return room < max_file ? (room < 0 ? 0 : room) : max_file;
}

/*
 * Why name could not be opened, from errno and a look (by path, for the
 * message only) at what lies on its way.
 */
static int
open_failed(int run_fd, const char *what, const char *name, int err)
{
	struct buf e = BUF_INIT, np = BUF_INIT;
	struct stat st;
	const char *p;
	int ret = ERR_INVALID;

	runner_esc(&e, name);
	runner_norm_path(&np, name);
	/* the first symlink on the way, if any: a middle one or the file */
	for (p = np.ptr;; p++) {
		char c = *p;

		if (c && c != '/')
			continue;
		np.ptr[p - np.ptr] = '\0';
		if (fstatat(run_fd, np.ptr, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISLNK(st.st_mode)) {
			if (!c)
				break;
			np.ptr[p - np.ptr] = c;
			continue;
		}
		if (c)
			err_set("%s '%s' is behind a symlink ('%s')", what,
				e.ptr, np.ptr);
		else
			err_set("%s '%s' is a symlink", what, e.ptr);
		goto out;
	}
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		err_set("%s '%s' was not created", what, e.ptr);
		ret = ERR_NOTFOUND;
		break;
	case ELOOP:
		/* a symlink that is gone again by now */
		err_set("%s '%s' is a symlink", what, e.ptr);
		break;
	case ENXIO: /* a socket */
	case ENODEV:
		err_set("%s '%s' is not a regular file", what, e.ptr);
		break;
	case EXDEV:
		err_set("%s '%s' points outside the run dir", what, e.ptr);
		break;
	default:
		err_set("%s '%s': %s", what, e.ptr, strerror(err));
		ret = ERR_GENERIC;
		break;
	}
out:
	buf_release(&e);
	buf_release(&np);
	return ret;
}

#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/*
 * Open name under dirfd one component at a time, never following a
 * symlink: the kernels without openat2.  -1 with errno set.
 */
static int
open_walk(int dirfd, const char *name)
{
	char seg[NAME_MAX + 1];
	const char *p = name;
	int dfd, sub, fd, err;
	size_t l;

	dfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return -1;
	for (;;) {
		l = strcspn(p, "/");
		if (l > NAME_MAX) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(seg, p, l);
		seg[l] = '\0';
		p += l;
		if (l == 2 && seg[0] == '.' && seg[1] == '.') {
			close(dfd);
			errno = EXDEV;
			return -1;
		}
		if (!*p)
			break;
		p++;
		if (!l || (l == 1 && seg[0] == '.'))
			continue;
		sub = openat(dfd, seg,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		err = errno;
		close(dfd);
		if (sub < 0) {
			errno = err;
			return -1;
		}
		dfd = sub;
	}
	fd = openat(dfd, seg, OPEN_FLAGS);
	err = errno;
	close(dfd);
	errno = err;
	return fd;
}

/* The file's descriptor, opened without following a symlink; -1, errno. */
static int
open_beneath(int run_fd, const char *name)
{
#ifdef HAVE_OPENAT2
	struct open_how how;
	int fd, tries = 0;

	if (!collect_force_walk) {
		memset(&how, 0, sizeof(how));
		how.flags = OPEN_FLAGS;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			      RESOLVE_NO_MAGICLINKS;
		do
			fd = (int)syscall(SYS_openat2, run_fd, name, &how,
					  sizeof(how));
		while (fd < 0 && (errno == EINTR ||
				  (errno == EAGAIN && ++tries < OPENAT2_TRIES)));
		/* ENOSYS: an older kernel; EPERM: a seccomp filter that
		 * does not know the call */
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
			return fd;
	}
#endif
	return open_walk(run_fd, name);
}

/*
 * Open name under dirfd (see open_beneath) and check it through the
 * descriptor: a regular file with no other hard link.  The descriptor, or
 * a negative code with err_set (what: "store file", "store env").
 */
static int
open_checked(int dirfd, const char *what, const char *name, struct stat *st)
{
	struct buf e = BUF_INIT;
	int fd, ret = ERR_INVALID;

	runner_esc(&e, name);
	fd = open_beneath(dirfd, name);
	if (fd < 0) {
		ret = open_failed(dirfd, what, name, errno);
		goto out;
	}
	if (fstat(fd, st) < 0) {
		ret = err_set("%s '%s': %s", what, e.ptr, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err_set("%s '%s' is not a regular file", what, e.ptr);
		goto out;
	}
	/* a link to a file from elsewhere: its content is not the task's */
	if (st->st_nlink != 1) {
		err_set("%s '%s' has other hard links", what, e.ptr);
		goto out;
	}
	ret = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&e);
	return ret;
}

int
runner_collect_file(int run_fd, const char *name, const char *dst,
		    int64_t *run_total)
{
	struct buf e = BUF_INIT;
	struct stat st;
	char *chunk = NULL;
	int64_t copied = 0;
	int fd = -1, out = -1, ret = ERR_INVALID;
	ssize_t n;

	if (!runner_valid_rel_path(name)) {
		err_set("store file '%s' is not a path inside the run dir",
			name ? runner_esc(&e, name) : "");
		goto out;
	}
	runner_esc(&e, name);
	fd = open_checked(run_fd, "store file", name, &st);
	if (fd < 0) {
		ret = fd;
		fd = -1;
		goto out;
	}
	if ((ret = runner_store_cap_check(name, (int64_t)st.st_size,
					  *run_total)) < 0)
		goto out;

	ret = -1;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		   0600);
	if (out < 0) {
		err_set("store file '%s': cannot create '%s': %s", e.ptr, dst,
			strerror(errno));
		goto out;
	}
	chunk = xmalloc(COPY_CHUNK);
	for (;;) {
		n = read(fd, chunk, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set("store file '%s': cannot read it: %s", e.ptr,
				strerror(errno));
			goto fail;
		}
		if (!n)
			break;
		copied += n;
		/* counted on what is copied: the file may grow meanwhile */
		if (runner_store_cap_check(name, copied, *run_total) < 0) {
			ret = ERR_TOOBIG;
			goto fail;
		}
		if (runner_write_all(out, chunk, (size_t)n) < 0) {
			err_set("store file '%s': cannot write '%s': %s", e.ptr,
				dst, strerror(errno));
			goto fail;
		}
	}
	n = close(out);
	out = -1;
	if (n < 0) {
		err_set("store file '%s': cannot write '%s': %s", e.ptr, dst,
			strerror(errno));
		goto fail;
	}
	*run_total += copied;
	ret = 0;
	goto out;
fail:
	unlink(dst);
out:
	if (out >= 0)
		close(out);
	if (fd >= 0)
		close(fd);
	free(chunk);
	buf_release(&e);
	return ret;
}

int
runner_collect_read(int dirfd, const char *what, const char *name,
		    size_t max, struct buf *out)
{
	struct stat st;
	char *chunk = NULL;
	int fd, ret = -1;
	ssize_t n;

	fd = open_checked(dirfd, what, name, &st);
	if (fd < 0)
		return fd;
	chunk = xmalloc(COPY_CHUNK);
	for (;;) {
		n = read(fd, chunk, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set("%s '%s': cannot read it: %s", what, name,
				strerror(errno));
			goto out;
		}
		if (!n)
			break;
		if (out->len + (size_t)n > max) {
			ret = ERR_TOOBIG;
			goto out;
		}
		buf_add(out, chunk, (size_t)n);
	}
	ret = 0;
out:
	close(fd);
	free(chunk);
	return ret;
}
