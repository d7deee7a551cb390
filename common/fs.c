/* fs.c - small file-system helpers: make a path, remove a tree, lock. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int
mkdir_p(const char *path, mode_t mode)
{
	struct buf b = BUF_INIT;
	char *p, c;
	int ret = 0;

	buf_puts(&b, path);
	for (p = b.ptr + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(b.ptr, mode) < 0 && errno != EEXIST) {
			ret = err_set("cannot create '%s': %s", b.ptr,
				      strerror(errno));
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	buf_release(&b);
	return ret;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_set("cannot remove '%s': %s",
						     path, strerror(errno));
	/* a tree a task made may hold read-only directories */
	if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return err_set("cannot remove '%s': %s", path,
			       strerror(errno));
	return 0;
}

int
lock_dir(int *out_fd, const char *dir)
{
	struct buf path = BUF_INIT, pid = BUF_INIT;
	int fd, ret = -1;

	*out_fd = -1;
	buf_addf(&path, "%s/lock", dir);
	fd = open(path.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set("cannot open '%s': %s", path.ptr, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char held[32] = "";
		ssize_t n = pread(fd, held, sizeof(held) - 1, 0);

		if (n > 0)
			held[strcspn(held, "\n")] = '\0';
		err_set("the data dir '%s' is in use by another scaffold%s%s%s",
			dir, n > 0 ? " (pid " : "", n > 0 ? held : "",
			n > 0 ? ")" : "");
		close(fd);
		ret = ERR_CONFLICT;
		goto out;
	}
	buf_addf(&pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid.ptr, pid.len, 0) < 0) {
		err_set("cannot write '%s': %s", path.ptr, strerror(errno));
		close(fd);
		goto out;
	}
	*out_fd = fd;
	ret = 0;
out:
	buf_release(&path);
	buf_release(&pid);
	return ret;
}
