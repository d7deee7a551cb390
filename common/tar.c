/*
 * tar.c - the tar archives of backups (libarchive): written to a temp
 * file renamed into place when complete, and read back into a directory
 * refusing anything but plain files and directories with relative names
 * that stay inside it.  Every file comes out 0600, every directory 0700:
 * an archive holds a data dir, secrets included.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

struct tar_writer {
	struct archive *a;
	int fd;
	char *path;
	char *tmp;
	int64_t bytes; /* of the files' contents */
};

static int
tar_err(struct archive *a, const char *what, const char *path)
{
	return err_set("%s '%s': %s", what, path,
		       archive_error_string(a) ? archive_error_string(a)
					       : "libarchive failed");
}

int
tar_writer_open(struct tar_writer **out, const char *path)
{
	struct tar_writer *t = xcalloc(1, sizeof(*t));
	struct buf tmp = BUF_INIT;

	*out = NULL;
	buf_addf(&tmp, "%s.tmp-%d", path, (int)getpid());
	t->path = xstrdup(path);
	t->tmp = buf_detach(&tmp, NULL);
	t->fd = open(t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		err_set("cannot create '%s': %s", t->tmp, strerror(errno));
		goto fail;
	}
	t->a = archive_write_new();
	if (!t->a || archive_write_set_format_pax_restricted(t->a) !=
			     ARCHIVE_OK ||
	    archive_write_open_fd(t->a, t->fd) != ARCHIVE_OK) {
		tar_err(t->a, "cannot write", t->tmp);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	tar_writer_free(t);
	return -1;
}

static struct archive_entry *
entry(const char *name, unsigned type, unsigned perm, int64_t size)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, type);
	archive_entry_set_perm(ae, perm);
	archive_entry_set_size(ae, size);
	archive_entry_set_mtime(ae, time(NULL), 0);
	return ae;
}

int
tar_writer_dir(struct tar_writer *t, const char *name)
{
	struct archive_entry *ae = entry(name, AE_IFDIR, 0700, 0);
	int r = archive_write_header(t->a, ae);

	archive_entry_free(ae);
	return r == ARCHIVE_OK ? 0 : tar_err(t->a, "cannot write", t->tmp);
}

int
tar_writer_file(struct tar_writer *t, const char *name, const char *src)
{
	struct archive_entry *ae = NULL;
	struct stat st;
	char buf[65536];
	int64_t left;
	ssize_t n;
	int fd, ret = -1;

	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT
			       ? (err_set("'%s' is missing", src), ERR_NOTFOUND)
			       : err_set("cannot open '%s': %s", src,
					 strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set("'%s' is not a regular file", src);
		goto out;
	}
	/* a file still growing (a run's log) is taken as long as it was */
	ae = entry(name, AE_IFREG, 0600, st.st_size);
	if (archive_write_header(t->a, ae) != ARCHIVE_OK) {
		tar_err(t->a, "cannot write", t->tmp);
		goto out;
	}
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, buf,
			 left < (int64_t)sizeof(buf) ? (size_t)left : sizeof(buf));
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			err_set("cannot read '%s': %s", src,
				n < 0 ? strerror(errno) : "it shrank");
			goto out;
		}
		if (archive_write_data(t->a, buf, (size_t)n) != n) {
			tar_err(t->a, "cannot write", t->tmp);
			goto out;
		}
	}
	t->bytes += st.st_size;
	ret = 0;
out:
	archive_entry_free(ae);
	close(fd);
	return ret;
}

int
tar_writer_commit(struct tar_writer *t)
{
	int r = archive_write_close(t->a);

	if (r != ARCHIVE_OK)
		return tar_err(t->a, "cannot write", t->tmp);
	if (fsync(t->fd) < 0 || close(t->fd) < 0) {
		t->fd = -1;
		return err_set("cannot write '%s': %s", t->tmp,
			       strerror(errno));
	}
	t->fd = -1;
	if (rename(t->tmp, t->path) < 0)
		return err_set("cannot rename '%s' to '%s': %s", t->tmp,
			       t->path, strerror(errno));
	free(t->tmp);
	t->tmp = NULL;
	return 0;
}

int64_t
tar_writer_bytes(const struct tar_writer *t)
{
	return t->bytes;
}

void
tar_writer_free(struct tar_writer *t)
{
	if (!t)
		return;
	if (t->a)
		archive_write_free(t->a);
	if (t->fd >= 0)
		close(t->fd);
	if (t->tmp)
		unlink(t->tmp);
	free(t->tmp);
	free(t->path);
	free(t);
}

/*
 * A member's name is safe when relative, made of non-empty components
 * none of which is "." or "..": it cannot leave the directory.
 */
static int
safe_name(const char *name)
{
	const char *p = name, *e;
	size_t n;

	if (!*name || *name == '/')
		return 0;
	while (*p) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 && e && !e[1])
			break; /* "dir/" */
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p)
			p++;
	}
	return 1;
}

/* The directories leading to path (inside dir), made 0700. */
static int
make_parents(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;
	const char *slash = strrchr(name, '/');
	int ret = 0;

	if (slash) {
		buf_addf(&b, "%s/%.*s", dir, (int)(slash - name), name);
		ret = mkdir_p(b.ptr, 0700);
	}
	buf_release(&b);
	return ret;
}

int
tar_extract(const char *path, const char *dir, struct strvec *names)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	struct buf dest = BUF_INIT;
	const char *name;
	const void *block;
	size_t size;
	la_int64_t off;
	int r, fd = -1, ret = -1;

	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		tar_err(a, "cannot read", path);
		goto out;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		name = archive_entry_pathname(ae);
		if (!name || !safe_name(name)) {
			err_set("'%s': member '%s' would land outside the "
				"directory: refused",
				path, name ? name : "");
			goto out;
		}
		buf_reset(&dest);
		buf_addf(&dest, "%s/%s", dir, name);
		if (archive_entry_filetype(ae) == AE_IFDIR) {
			if (mkdir_p(dest.ptr, 0700) < 0 ||
			    chmod(dest.ptr, 0700) < 0) {
				if (!err_msg()[0])
					err_set("cannot make '%s': %s",
						dest.ptr, strerror(errno));
				goto out;
			}
			continue;
		}
		if (archive_entry_filetype(ae) != AE_IFREG ||
		    archive_entry_hardlink(ae)) {
			err_set("'%s': member '%s' is not a plain file or "
				"directory: refused",
				path, name);
			goto out;
		}
		if (make_parents(dir, name) < 0)
			goto out;
		/* never over something: a name twice is refused */
		fd = open(dest.ptr,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  0600);
		if (fd < 0) {
			err_set("cannot create '%s': %s", dest.ptr,
				strerror(errno));
			goto out;
		}
		while ((r = archive_read_data_block(a, &block, &size, &off)) ==
		       ARCHIVE_OK) {
			if (pwrite(fd, block, size, (off_t)off) !=
			    (ssize_t)size) {
				err_set("cannot write '%s': %s", dest.ptr,
					strerror(errno));
				goto out;
			}
		}
		if (r != ARCHIVE_EOF) {
			tar_err(a, "cannot read", path);
			goto out;
		}
		if (ftruncate(fd, archive_entry_size(ae)) < 0 ||
		    fsync(fd) < 0 || close(fd) < 0) {
			fd = -1;
			err_set("cannot write '%s': %s", dest.ptr,
				strerror(errno));
			goto out;
		}
		fd = -1;
		if (names)
			strvec_push(names, name);
	}
	if (r != ARCHIVE_EOF) {
		tar_err(a, "cannot read", path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	archive_read_free(a);
	buf_release(&dest);
	return ret;
}
