/*
 * ssh-xfer.c - the ssh runner's transfers over SFTP (see ssh.c): files up
 * (loaded files, the scripts), the run's output read as it grows, its exit
 * status, and the stored files and env taken back through outputs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssh-int.h"

static const char *
fx_text(unsigned long fx)
{
	switch (fx) {
	case LIBSSH2_FX_EOF:
		return "end of file";
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such file or directory";
	case LIBSSH2_FX_PERMISSION_DENIED:
		return "permission denied";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return "file exists";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
		return "no space left on device";
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return "quota exceeded";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a directory";
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return "operation not supported";
	}
	return "failure";
}

/*
 * An SFTP call failed with rc: SSH_LOST, ERR_NOTFOUND (no such file), or
 * -1 with err_set("WHAT: REASON").
 */
static int
sftp_fail(struct conn *c, int rc, const char *what)
{
	unsigned long fx;

	if (rc == SSH_LOST)
		return rc;
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp) {
		fx = libssh2_sftp_last_error(c->sftp);
		err_set("%s: %s", what, fx_text(fx));
		if (fx == LIBSSH2_FX_NO_SUCH_FILE ||
		    fx == LIBSSH2_FX_NO_SUCH_PATH)
			return ERR_NOTFOUND;
		return -1;
	}
	return err_set("%s: %s", what, ssh_last_error(c->s));
}

/* lstat (follow false) or stat a path on the host. */
int
xfer_stat(struct conn *c, const char *path, bool follow,
	  LIBSSH2_SFTP_ATTRIBUTES *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	DRIVE(c, rc,
	      libssh2_sftp_stat_ex(
		  c->sftp, path, (unsigned int)strlen(path),
		  follow ? LIBSSH2_SFTP_STAT : LIBSSH2_SFTP_LSTAT, st));
	if (rc < 0)
		return sftp_fail(c, rc, path);
	return 0;
}

int
xfer_mkdir(struct conn *c, const char *path, long mode)
{
	int rc;

	DRIVE(c, rc,
	      libssh2_sftp_mkdir_ex(c->sftp, path, (unsigned int)strlen(path),
				    mode));
	if (rc < 0)
		return sftp_fail(c, rc, path);
	return 0;
}

/* mkdir that accepts an existing directory (not a symlink to one). */
static int
xfer_mkdir_ok(struct conn *c, const char *path, long mode)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	int r;

	r = xfer_mkdir(c, path, mode);
	if (r == 0 || r == SSH_LOST)
		return r;
	r = xfer_stat(c, path, false, &st);
	if (r < 0)
		return r;
	if (!(st.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
	    !LIBSSH2_SFTP_S_ISDIR(st.permissions))
		return err_set("'%s' is not a directory", path);
	return 0;
}

void
xfer_close(struct conn *c, LIBSSH2_SFTP_HANDLE *fh)
{
	int rc;

	DRIVE(c, rc, libssh2_sftp_close_handle(fh));
	(void)rc;
}

/*
 * Drop the lock a moment, so that the I/O thread and other runs get their
 * turn between the chunks of a transfer; false when the session of
 * generation gen went meanwhile.
 */
static bool
conn_yield(struct conn *c, unsigned gen)
{
	if (c->connecting)
		return true; /* the session is not for others to see yet */
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	pthread_mutex_lock(&c->lock);
	return c->s && c->gen == gen;
}

/*
 * Create path on the host (it must not exist) with mode, from the local
 * fd (until EOF) or from data.  c->lock held, dropped between chunks.
 */
int
xfer_put(struct conn *c, const char *path, long mode, int fd, const char *data,
	 size_t len)
{
	LIBSSH2_SFTP_HANDLE *fh = NULL;
	unsigned gen = c->gen;
	char *chunk = NULL;
	const char *p;
	size_t off = 0, n, w;
	ssize_t rd, rc;
	int ret = -1;

	DRIVE_PTR(c, fh,
		  libssh2_sftp_open_ex(
		      c->sftp, path, (unsigned int)strlen(path),
		      LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
		      mode, LIBSSH2_SFTP_OPENFILE));
	if (!fh) {
		rc = conn_ptr_fail(c);
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	if (fd >= 0)
		chunk = xmalloc(CHUNK);
	for (;;) {
		if (fd >= 0) {
			do
				rd = read(fd, chunk, CHUNK);
			while (rd < 0 && errno == EINTR);
			if (rd < 0) {
				err_set("%s: cannot read: %s", path,
					strerror(errno));
				goto out;
			}
			p = chunk;
			n = (size_t)rd;
		} else {
			p = data + off;
			n = len - off < CHUNK ? len - off : CHUNK;
			off += n;
		}
		if (!n)
			break;
		for (w = 0; w < n; w += (size_t)rc) {
			DRIVE(c, rc, libssh2_sftp_write(fh, p + w, n - w));
			if (rc < 0) {
				ret = sftp_fail(c, (int)rc, path);
				if (ret == SSH_LOST)
					fh = NULL;
				goto out;
			}
		}
		if (!conn_yield(c, gen)) {
			fh = NULL;
			ret = SSH_LOST;
			goto out;
		}
	}
	DRIVE(c, rc, libssh2_sftp_close_handle(fh));
	fh = NULL;
	if (rc < 0) {
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	ret = 0;
out:
	if (fh && c->s && c->gen == gen)
		xfer_close(c, fh);
	free(chunk);
	return ret;
}

/*
 * Read path on the host into the local fd, or (fd < 0) into into; more
 * than max bytes: ERR_TOOBIG.  c->lock held, dropped between chunks.
 */
int
xfer_get(struct conn *c, const char *path, int64_t max, int fd,
	 struct buf *into)
{
	LIBSSH2_SFTP_HANDLE *fh = NULL;
	unsigned gen = c->gen;
	char *chunk = xmalloc(CHUNK);
	int64_t total = 0;
	ssize_t rc;
	int ret = -1;

	DRIVE_PTR(
	    c, fh,
	    libssh2_sftp_open_ex(c->sftp, path, (unsigned int)strlen(path),
				 LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE));
	if (!fh) {
		rc = conn_ptr_fail(c);
		ret = sftp_fail(c, (int)rc, path);
		goto out;
	}
	for (;;) {
		DRIVE(c, rc, libssh2_sftp_read(fh, chunk, CHUNK));
		if (rc < 0) {
			ret = sftp_fail(c, (int)rc, path);
			if (ret == SSH_LOST)
				fh = NULL;
			goto out;
		}
		if (!rc)
			break;
		total += rc;
		if (total > max) {
			ret = ERR_TOOBIG;
			goto out;
		}
		if (fd < 0) {
			buf_add(into, chunk, (size_t)rc);
		} else if (runner_write_all(fd, chunk, (size_t)rc) < 0) {
			err_set("cannot write: %s", strerror(errno));
			goto out;
		}
		if (!conn_yield(c, gen)) {
			fh = NULL;
			ret = SSH_LOST;
			goto out;
		}
	}
	ret = 0;
out:
	if (fh && c->s && c->gen == gen)
		xfer_close(c, fh);
	free(chunk);
	return ret;
}

/* Keep how far meta/out went into the log, for the next scaffold. */
static void
xfer_save_offset(struct run_handle *h)
{
	char v[32];
	int n;

	if (h->off_fd < 0 && h->off_path)
		h->off_fd =
		    open(h->off_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (h->off_fd < 0)
		return;
	n = snprintf(v, sizeof(v), "%020lld\n", (long long)h->out_off);
	if (pwrite(h->off_fd, v, (size_t)n, 0) != n)
		log_warnx("runner: run %lld: cannot write '%s': %s",
			  (long long)h->run_id, h->off_path, strerror(errno));
}

/* What an earlier scaffold saved with xfer_save_offset(); 0 when nothing. */
int64_t
xfer_load_offset(struct run_handle *h)
{
	char v[32];
	ssize_t n;
	int fd;

	fd = open(h->off_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	v[n] = '\0';
	return atoll(v) > 0 ? atoll(v) : 0;
}

/*
 * The run's meta/out, opened for reading (at h->out_off).  0, SSH_LOST;
 * when it cannot be opened h->out stays NULL, noted in the log if it
 * should be there (adopted: it was; else it may not be yet).  c->lock
 * held.
 */
int
xfer_open_output(struct conn *c, struct run_handle *h, bool adopted)
{
	struct buf p = BUF_INIT;
	int rc, r = 0;

	buf_addf(&p, "%s/out", h->mdir);
	DRIVE_PTR(c, h->out,
		  libssh2_sftp_open_ex(c->sftp, p.ptr, (unsigned int)p.len,
				       LIBSSH2_FXF_READ, 0,
				       LIBSSH2_SFTP_OPENFILE));
	if (!h->out) {
		rc = conn_ptr_fail(c);
		r = sftp_fail(c, rc, p.ptr);
		if (r != SSH_LOST) {
			if (adopted || r != ERR_NOTFOUND)
				run_log_note(&h->log,
					     "its output cannot be read: %s",
					     err_msg());
			r = 0;
		}
	}
	buf_release(&p);
	return r;
}

/*
 * Read what meta/out has beyond what the log has, into the log.  2 when
 * it stopped with more to read (SLICE_MAX), 1 when it read something, 0
 * when nothing, SSH_LOST.  A read error leaves the rest out, with a note.
 * c->lock held.
 */
int
xfer_read_output(struct conn *c, struct run_handle *h, char *buf)
{
	size_t took = 0;
	ssize_t n;
	int r;

	if (!h->out) {
		r = xfer_open_output(c, h, false);
		if (r < 0 || !h->out)
			return r;
	}
	/* libssh2 remembers an end of file until the offset moves */
	libssh2_sftp_seek64(h->out, (libssh2_uint64_t)h->out_off + 1);
	libssh2_sftp_seek64(h->out, (libssh2_uint64_t)h->out_off);
	for (;;) {
		DRIVE(c, n, libssh2_sftp_read(h->out, buf, CHUNK));
		if (n == SSH_LOST)
			return SSH_LOST;
		if (n < 0) {
			sftp_fail(c, (int)n, "meta/out");
			run_log_note(&h->log,
				     "cannot read the output on host "
				     "'%s' any more: %s",
				     c->name, err_msg());
			xfer_close(c, h->out);
			h->out = NULL;
			return c->s ? 0 : SSH_LOST;
		}
		if (!n)
			break;
		run_log_output(&h->log, buf, (size_t)n);
		h->out_off += n;
		xfer_save_offset(h);
		took += (size_t)n;
		if (took >= SLICE_MAX)
			return 2;
	}
	return took ? 1 : 0;
}

/* A loaded file into the run dir on the host, parents created. */
int
xfer_upload_loaded(struct conn *c, struct run_handle *h, const char *path,
		   const char *src)
{
	struct buf np = BUF_INIT, rp = BUF_INIT, e = BUF_INIT;
	struct stat st;
	const char *p;
	int fd = -1, r, ret = -1;

	runner_norm_path(&np, path);
	for (p = strchr(np.ptr, '/'); p; p = strchr(p + 1, '/')) {
		buf_reset(&rp);
		buf_addf(&rp, "%s/%.*s", h->rdir, (int)(p - np.ptr), np.ptr);
		r = xfer_mkdir_ok(c, rp.ptr, 0755);
		if (r == SSH_LOST) {
			ret = r;
			goto out;
		}
		if (r < 0) {
			err_set("file '%s': cannot create directory '%.*s' on "
				"host '%s'",
				runner_esc(&e, path), (int)(p - np.ptr), np.ptr,
				c->name);
			goto out;
		}
	}
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set("file '%s': cannot open '%s': %s", runner_esc(&e, path),
			src, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set("file '%s': '%s' is not a regular file",
			runner_esc(&e, path), src);
		goto out;
	}
	buf_reset(&rp);
	buf_addf(&rp, "%s/%s", h->rdir, np.ptr);
	r = xfer_put(c, rp.ptr, (long)((st.st_mode & 0777) | 0600), fd, NULL,
		     0);
	if (r == SSH_LOST) {
		ret = r;
		goto out;
	}
	if (r < 0) {
		ssh_err_wrap("file '%s': cannot create it on host '%s'",
			     runner_esc(&e, path), c->name);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&np);
	buf_release(&rp);
	buf_release(&e);
	return ret;
}

/* One of scaffold's files into meta/ on the host. */
int
xfer_upload_meta(struct conn *c, struct run_handle *h, const char *name,
		 const char *data, size_t len)
{
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/%s", h->mdir, name);
	r = xfer_put(c, p.ptr, 0600, -1, data, len);
	if (r < 0 && r != SSH_LOST)
		r = ssh_err_wrap("host '%s': cannot write", c->name);
	buf_release(&p);
	return r;
}

/* ~/.scaffold/runs on the host.  c->lock held. */
int
xfer_runs_dir(struct conn *c)
{
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/.scaffold", strcmp(c->home, "/") ? c->home : "");
	r = xfer_mkdir_ok(c, p.ptr, 0700);
	buf_puts(&p, "/runs");
	if (r == 0)
		r = xfer_mkdir_ok(c, p.ptr, 0700);
	if (r < 0 && r != SSH_LOST)
		r = ssh_err_wrap("host '%s': cannot create '%s'", c->name,
				 p.ptr);
	buf_release(&p);
	return r;
}

/*
 * The exit status in meta/exit: 0 and *status, ERR_NOTFOUND while absent
 * (or not written completely yet), SSH_LOST, -1.  c->lock held.
 */
int
xfer_read_exit(struct conn *c, struct run_handle *h, int *status)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	char *end;
	long n;
	int r;

	buf_addf(&p, "%s/exit", h->mdir);
	r = xfer_get(c, p.ptr, EXIT_MAX, -1, &v);
	if (r == ERR_TOOBIG)
		r = err_set("host '%s': '%s' is not an exit status", c->name,
			    p.ptr);
	if (r < 0)
		goto out;
	errno = 0;
	n = strtol(v.ptr, &end, 10);
	if (!v.len || v.ptr[v.len - 1] != '\n') {
		r = ERR_NOTFOUND; /* being written */
		goto out;
	}
	if (end == v.ptr || *end != '\n' || errno || n < 0 || n > 255) {
		r = err_set("host '%s': '%s' is not an exit status", c->name,
			    p.ptr);
		goto out;
	}
	*status = (int)n;
	r = 0;
out:
	buf_release(&p);
	buf_release(&v);
	return r;
}

/* What the ssh backend gives runner_outputs_collect().  c->lock held. */
struct ssh_out {
	struct run_handle *h;
	const char *name; /* the store file being taken */
};

/* What path (run dir relative) is on the host, by SFTP lstat. */
static int
ssh_out_stat(struct ssh_out *so, const char *rel, enum runner_path_kind *k,
	     LIBSSH2_SFTP_ATTRIBUTES *st)
{
	struct buf rp = BUF_INIT, e = BUF_INIT;
	int r;

	buf_addf(&rp, "%s/%s", so->h->rdir, rel);
	r = xfer_stat(so->h->c, rp.ptr, false, st);
	buf_release(&rp);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	if (r == ERR_NOTFOUND) {
		*k = RUNNER_PATH_MISSING;
		return 0;
	}
	if (r < 0) {
		r = err_set("store file '%s': %s", runner_esc(&e, so->name),
			    err_msg());
		buf_release(&e);
		return r;
	}
	if (!(st->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS))
		*k = RUNNER_PATH_UNKNOWN;
	else if (LIBSSH2_SFTP_S_ISLNK(st->permissions))
		*k = RUNNER_PATH_LINK;
	else if (LIBSSH2_SFTP_S_ISDIR(st->permissions))
		*k = RUNNER_PATH_DIR;
	else if (LIBSSH2_SFTP_S_ISREG(st->permissions))
		*k = RUNNER_PATH_FILE;
	else
		*k = RUNNER_PATH_OTHER;
	return 0;
}

static int
ssh_out_kind(void *arg, const char *rel, enum runner_path_kind *k)
{
	LIBSSH2_SFTP_ATTRIBUTES st;

	return ssh_out_stat(arg, rel, k, &st);
}

/*
 * One store file into local_run/<path>.  Every directory on its way must
 * be a directory, not a symlink, and the file a regular file within the
 * caps.
 */
static int
ssh_out_file(void *arg, size_t i, const char *name, int64_t *total, char **src)
{
	struct ssh_out *so = arg;
	struct run_handle *h = so->h;
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf np = BUF_INIT, rp = BUF_INIT, e = BUF_INIT, dst = BUF_INIT;
	struct buf dir = BUF_INIT;
	enum runner_path_kind k;
	struct stat lst;
	const char *slash;
	int64_t room, size;
	int fd = -1, r, ret;

	(void)i;
	so->name = name;
	ret = runner_outputs_walk(name, ssh_out_kind, so);
	if (ret < 0)
		goto out;
	runner_norm_path(&np, name);
	ret = ssh_out_stat(so, np.ptr, &k, &st);
	if (ret < 0)
		goto out;
	size = -1; /* unknown */
	if (st.flags & LIBSSH2_SFTP_ATTR_SIZE)
		size = st.filesize > (libssh2_uint64_t)INT64_MAX
			   ? INT64_MAX
			   : (int64_t)st.filesize;
	ret = runner_outputs_check(name, k, size, *total);
	if (ret < 0)
		goto out;

	buf_addf(&dst, "%s/%s", h->local_run, np.ptr);
	slash = strrchr(dst.ptr, '/');
	buf_add(&dir, dst.ptr, (size_t)(slash - dst.ptr));
	if (mkdir_p(dir.ptr, 0755) < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, name),
			      err_msg());
		goto out;
	}
	unlink(dst.ptr);
	fd = open(dst.ptr, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0) {
		ret = err_set("store file '%s': cannot create '%s': %s",
			      runner_esc(&e, name), dst.ptr, strerror(errno));
		goto out;
	}
	buf_addf(&rp, "%s/%s", h->rdir, np.ptr);
	room = runner_store_file_room(*total);
	r = xfer_get(h->c, rp.ptr, room, fd, NULL);
	if (r == SSH_LOST) {
		ret = RUNNER_OUT_LOST;
		goto out;
	}
	if (r == ERR_TOOBIG) {
		/* it grew past a cap while it was read: name that cap */
		ret = runner_store_cap_check(name, room + 1, *total);
		unlink(dst.ptr);
		goto out;
	}
	if (r < 0) {
		ret = err_set("store file '%s': %s", runner_esc(&e, name),
			      err_msg());
		goto out;
	}
	if (fstat(fd, &lst) < 0)
		lst.st_size = room;
	r = close(fd);
	fd = -1;
	if (r < 0) {
		ret = err_set("store file '%s': cannot write '%s': %s",
			      runner_esc(&e, name), dst.ptr, strerror(errno));
		goto out;
	}
	*total += (int64_t)lst.st_size;
	*src = buf_detach(&dst, NULL);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&np);
	buf_release(&rp);
	buf_release(&e);
	buf_release(&dst);
	buf_release(&dir);
	return ret;
}

/* Store env name from meta/env/NAME. */
static int
ssh_out_env(void *arg, size_t i, const char *name, size_t max, struct buf *val)
{
	struct ssh_out *so = arg;
	struct buf p = BUF_INIT;
	int r;

	(void)i;
	buf_addf(&p, "%s/env/%s", so->h->mdir, name);
	r = xfer_get(so->h->c, p.ptr, (int64_t)max, -1, val);
	buf_release(&p);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	if (r < 0 && r != ERR_TOOBIG && r != ERR_NOTFOUND)
		r = err_set("store env '%s': %s", name, err_msg());
	return r;
}

/* The wrapper leaves meta/no-trap until its trap recorded the env. */
static int
ssh_out_uncaptured(void *arg)
{
	struct ssh_out *so = arg;
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT;
	int r;

	buf_addf(&p, "%s/no-trap", so->h->mdir);
	r = xfer_stat(so->h->c, p.ptr, false, &st);
	buf_release(&p);
	if (r == SSH_LOST)
		return RUNNER_OUT_LOST;
	return r == 0;
}

/*
 * After success: the store files and env into out.  0, RUNNER_OUT_FAILED
 * (out->message set), SSH_LOST.  c->lock held.
 */
int
ssh_collect(struct run_handle *h, struct run_result *out)
{
	struct ssh_out so = {h, NULL};
	struct runner_outputs o = {
	    .store_files = &h->store_files,
	    .store_env = &h->store_env,
	    .log = &h->log,
	    .no_display = h->display == 0,
	    .arg = &so,
	    .file = ssh_out_file,
	    .env = ssh_out_env,
	    .uncaptured = ssh_out_uncaptured,
	};
	int r = runner_outputs_collect(&o, out);

	return r == RUNNER_OUT_LOST ? SSH_LOST : r;
}

/* Rename from to to, replacing it.  0, SSH_LOST, libssh2's error. */
int
xfer_rename(struct conn *c, const char *from, const char *to)
{
	int rc;

	DRIVE(c, rc,
	      libssh2_sftp_rename_ex(c->sftp, from, (unsigned int)strlen(from),
				     to, (unsigned int)strlen(to),
				     LIBSSH2_SFTP_RENAME_OVERWRITE |
					 LIBSSH2_SFTP_RENAME_ATOMIC |
					 LIBSSH2_SFTP_RENAME_NATIVE));
	return rc;
}

/* Remove path.  0, SSH_LOST, libssh2's error. */
int
xfer_unlink(struct conn *c, const char *path)
{
	int rc;

	DRIVE(
	    c, rc,
	    libssh2_sftp_unlink_ex(c->sftp, path, (unsigned int)strlen(path)));
	return rc;
}
