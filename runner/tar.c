/*
 * tar.c - tar archives in memory with libarchive (see tar.h): what the
 * docker runner puts into a container before the start and takes out of
 * it after the run.  The only file of runner/ that includes archive.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "runner-int.h"
#include "tar.h"

#define READ_CHUNK 65536

struct tar_out {
	struct archive *a;
	struct strvec dirs; /* the directory entries written */
};

struct tar_in {
	struct archive *a;
	struct archive_entry *ae;
};

static la_ssize_t
tar_out_cb(struct archive *a, void *arg, const void *data, size_t len)
{
	(void)a;
	buf_add(arg, data, len);
	return (la_ssize_t)len;
}

static int
tar_error(struct archive *a, const char *what)
{
	const char *s = archive_error_string(a);

	return err_set("%s: %s", what, s ? s : "tar error");
}

static struct archive_entry *
tar_entry(const char *name, mode_t type, mode_t perm, int64_t size)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	archive_entry_set_size(ae, size);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, time(NULL), 0);
	return ae;
}

int
tar_out_dir(struct tar_out *t, const char *name)
{
	struct archive_entry *ae;
	size_t i;
	int ret = 0;

	for (i = 0; i < t->dirs.n; i++)
		if (!strcmp(t->dirs.v[i], name))
			return 0;
	strvec_push(&t->dirs, name);
	ae = tar_entry(name, AE_IFDIR, 0777, 0);
	if (archive_write_header(t->a, ae) != ARCHIVE_OK)
		ret = tar_error(t->a, "cannot build the archive");
	archive_entry_free(ae);
	return ret;
}

int
tar_out_data(struct tar_out *t, const char *name, const void *data, size_t len,
	 mode_t perm)
{
	struct archive_entry *ae;
	int ret = 0;

	ae = tar_entry(name, AE_IFREG, perm, (int64_t)len);
	if (archive_write_header(t->a, ae) != ARCHIVE_OK ||
	    (len && archive_write_data(t->a, data, len) != (la_ssize_t)len))
		ret = tar_error(t->a, "cannot build the archive");
	archive_entry_free(ae);
	return ret;
}

/* The directories leading to path ("tmp/run/a/b/f": .../a/, .../a/b/). */
static int
tar_parents(struct tar_out *t, const char *path)
{
	struct buf d = BUF_INIT;
	const char *p;
	int ret = 0;

	for (p = strchr(path, '/'); p && !ret; p = strchr(p + 1, '/')) {
		buf_reset(&d);
		buf_add(&d, path, (size_t)(p - path) + 1);
		ret = tar_out_dir(t, d.ptr);
	}
	buf_release(&d);
	return ret;
}

int
tar_out_file(struct tar_out *t, const char *name,
	 const char *shown, const char *src)
{
	struct archive_entry *ae = NULL;
	struct buf e = BUF_INIT;
	struct stat st;
	char *chunk = NULL;
	int fd = -1, ret = -1;
	off_t left;
	ssize_t n;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s", runner_esc(&e, shown), src,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("file '%s': '%s' is not a regular file",
			runner_esc(&e, shown), src);
		goto out;
	}
	if (tar_parents(t, name) < 0)
		goto out;
	ae = tar_entry(name, AE_IFREG, (st.st_mode & 0777) | 0666,
		       (int64_t)st.st_size);
	if (archive_write_header(t->a, ae) != ARCHIVE_OK) {
		tar_error(t->a, "cannot build the archive");
		goto out;
	}
	chunk = xmalloc(READ_CHUNK);
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, chunk,
			 left < READ_CHUNK ? (size_t)left : READ_CHUNK);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			err_set("file '%s': cannot read '%s': %s",
				runner_esc(&e, shown), src,
				n < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		if (archive_write_data(t->a, chunk, (size_t)n) != n) {
			tar_error(t->a, "cannot build the archive");
			goto out;
		}
	}
	ret = 0;
out:
	if (ae)
		archive_entry_free(ae);
	if (fd >= 0)
		close(fd);
	free(chunk);
	buf_release(&e);
	return ret;
}

int
tar_in_extract(struct tar_in *t, const char *path)
{
	struct buf dir = BUF_INIT;
	const char *slash = strrchr(path, '/');
	char *chunk = xmalloc(READ_CHUNK);
	int fd = -1, ret = -1;
	la_ssize_t n;

	buf_add(&dir, path, slash ? (size_t)(slash - path) : 0);
	if (dir.len && mkdir_p(dir.ptr, 0755) < 0)
		goto out;
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		err_set("cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	while ((n = archive_read_data(t->a, chunk, READ_CHUNK)) > 0) {
		if (runner_write_all(fd, chunk, (size_t)n) < 0) {
			err_set("cannot write '%s': %s", path,
				strerror(errno));
			goto out;
		}
	}
	if (n < 0) {
		tar_error(t->a, "cannot read the archive");
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0 && close(fd) < 0 && !ret)
		ret = err_set("cannot write '%s': %s", path, strerror(errno));
	free(chunk);
	buf_release(&dir);
	return ret;
}


int
tar_out_new(struct tar_out **out, struct buf *dst)
{
	struct tar_out *t = xcalloc(1, sizeof(*t));

	*out = NULL;
	t->a = archive_write_new();
	strvec_init(&t->dirs);
	if (!t->a ||
	    archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_open(t->a, dst, NULL, tar_out_cb, NULL) !=
		    ARCHIVE_OK) {
		if (t->a)
			tar_error(t->a, "cannot build the archive");
		else
			err_set("cannot build the archive: out of memory");
		tar_out_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

int
tar_out_close(struct tar_out *t)
{
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return tar_error(t->a, "cannot build the archive");
	return 0;
}

void
tar_out_free(struct tar_out *t)
{
	if (!t)
		return;
	if (t->a)
		archive_write_free(t->a);
	strvec_clear(&t->dirs);
	free(t);
}

int
tar_in_open(struct tar_in **out, const void *data, size_t len)
{
	struct tar_in *t = xcalloc(1, sizeof(*t));

	*out = t;
	t->a = archive_read_new();
	if (!t->a)
		return err_set("cannot read the archive: out of memory");
	archive_read_support_format_tar(t->a);
	if (archive_read_open_memory(t->a, data, len) != ARCHIVE_OK)
		return -1;
	return 0;
}

int
tar_in_next(struct tar_in *t, const char **name, enum tar_type *type,
	    int64_t *size)
{
	int r;

	if (!t->a)
		return -1;
	r = archive_read_next_header(t->a, &t->ae);
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK)
		return -1;
	*name = archive_entry_pathname(t->ae);
	switch (archive_entry_filetype(t->ae)) {
	case AE_IFREG:
		*type = TAR_FILE;
		break;
	case AE_IFDIR:
		*type = TAR_DIR;
		break;
	case AE_IFLNK:
		*type = TAR_SYMLINK;
		break;
	default:
		*type = TAR_OTHER;
	}
	*size = (int64_t)archive_entry_size(t->ae);
	return 1;
}

ssize_t
tar_in_read(struct tar_in *t, void *data, size_t len)
{
	la_ssize_t n = archive_read_data(t->a, data, len);

	return n < 0 ? -1 : (ssize_t)n;
}

const char *
tar_in_error(struct tar_in *t)
{
	const char *s = t->a ? archive_error_string(t->a) : NULL;

	return s ? s : "empty";
}

void
tar_in_free(struct tar_in *t)
{
	if (!t)
		return;
	if (t->a)
		archive_read_free(t->a);
	free(t);
}
