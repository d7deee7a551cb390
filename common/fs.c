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

/* What the lock file of a held lock says: "PID" or "PID ROLE". */
static void
lock_read(int fd, char *pid, size_t pidlen, char *role, size_t rolelen)
{
	char held[64] = "";
	ssize_t n = pread(fd, held, sizeof(held) - 1, 0);
	size_t k;

	pid[0] = role[0] = '\0';
	if (n <= 0)
		return;
	held[strcspn(held, "\n")] = '\0';
	k = strcspn(held, " ");
	snprintf(pid, pidlen, "%.*s", (int)k, held);
	if (held[k] == ' ')
		snprintf(role, rolelen, "%s", held + k + 1);
}

int
lock_dir_as(int *out_fd, const char *dir, const char *role)
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
		char held[32], by[32];

		lock_read(fd, held, sizeof(held), by, sizeof(by));
		err_set("the data dir '%s' is in use by %s%s%s%s", dir,
			!strcmp(by, "serve") ? "scaffold serve"
					     : "another scaffold",
			held[0] ? " (pid " : "", held, held[0] ? ")" : "");
		close(fd);
		ret = ERR_CONFLICT;
		goto out;
	}
	buf_addf(&pid, "%d%s%s\n", (int)getpid(), role ? " " : "",
		 role ? role : "");
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

int
lock_dir(int *out_fd, const char *dir)
{
	return lock_dir_as(out_fd, dir, NULL);
}

int
lock_held_by(const char *dir, const char *role)
{
	struct buf path = BUF_INIT;
	char held[32], by[32];
	int fd, ret = 0;

	buf_addf(&path, "%s/lock", dir);
	fd = open(path.ptr, O_RDONLY | O_CLOEXEC);
	buf_release(&path);
	if (fd < 0)
		return 0;
	/* a shared lock we get means nobody holds it: let go at once */
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		lock_read(fd, held, sizeof(held), by, sizeof(by));
		ret = !strcmp(by, role);
	}
	close(fd);
	return ret;
}
