/*
 * store-files.c - a cascade's file store: files an operator uploads (the
 * API, `scaffold file put`) for tasks to `load` when no ancestor stores
 * them.  Rows name the content by SHA-256; the bytes live in blobs/ with
 * the stored files of runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-int.h"

#define FILE_NAME_MAX 1024

void
file_rows_free(struct file_row *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

const char *
file_name_problem(const char *name)
{
	const char *seg, *c;
	size_t l = strlen(name);

	if (!l)
		return "must not be empty";
	for (c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "contains a control character";
	if (name[0] == '/')
		return "must be a relative path inside the run dir, not an "
		       "absolute path";
	if (!strcmp(name, ".") || !strcmp(name, "./") || name[l - 1] == '/')
		return "must name a file inside the run dir";
	for (seg = name; *seg; seg += l + (seg[l] == '/')) {
		l = strcspn(seg, "/");
		if (l == 2 && seg[0] == '.' && seg[1] == '.')
			return "must stay inside the run dir ('..' is not "
			       "allowed)";
	}
	/*
	 * One file, one name: 'a//b', './a' and 'a/./b' would be stored
	 * beside 'a/b' and 'a' as different files of the same path.
	 */
	for (seg = name; *seg; seg += l + (seg[l] == '/')) {
		l = strcspn(seg, "/");
		if (!l || (l == 1 && seg[0] == '.'))
			return "is not canonical: write it without empty or "
			       "'.' segments";
	}
	return NULL;
}

int
store_file_name_check(const char *name)
{
	const char *why;

	if (strlen(name) > FILE_NAME_MAX)
		return err_set("file name '%.40s...' is longer than %d bytes",
			       name, FILE_NAME_MAX),
		       ERR_INVALID;
	if (!*name)
		return err_set("a file name must not be empty"), ERR_INVALID;
	if ((why = file_name_problem(name)))
		return err_set("file name '%s' %s", name, why), ERR_INVALID;
	return 0;
}

/*
 * Write data into blobs/ under its SHA-256: a temporary name unique to
 * this call (several threads of one process may store the same bytes at
 * once), synced, then renamed.
 */
int
store_blob_put_data(struct store *s, const void *data, size_t len,
		    char out[SHA256_HEX_LEN + 1])
{
	struct buf path = BUF_INIT, tmp = BUF_INIT;
	unsigned char rnd[8];
	size_t off = 0, i;
	ssize_t w;
	int fd = -1, ret = -1;

	sha256_hex(out, data, len);
	store_blob_path(s, out, &path);
	if (access(path.ptr, F_OK) == 0) {
		ret = 0;
		goto out;
	}
	buf_addf(&tmp, "%s/blobs", s->dir);
	if (mkdir(tmp.ptr, 0700) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	buf_addf(&tmp, "/%.2s", out);
	if (mkdir(tmp.ptr, 0700) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	if (crypto_random(rnd, sizeof(rnd)) < 0)
		goto out;
	buf_addf(&tmp, "/.tmp-%s-%d-", out + 2, (int)getpid());
	for (i = 0; i < sizeof(rnd); i++)
		buf_addf(&tmp, "%02x", rnd[i]);
	fd = open(tmp.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set("cannot create '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	while (off < len) {
		w = write(fd, (const char *)data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			err_set("cannot write '%s': %s", tmp.ptr,
				strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || rename(tmp.ptr, path.ptr) < 0) {
		err_set("cannot store blob '%s': %s", path.ptr,
			strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && fd >= 0)
		unlink(tmp.ptr);
	buf_release(&path);
	buf_release(&tmp);
	return ret;
}

int
store_blob_adopt(struct store *s, const char *path, int fd,
		 const char hash[SHA256_HEX_LEN + 1])
{
	struct buf dst = BUF_INIT, dir = BUF_INIT;
	int ret = -1;

	if (strlen(hash) != SHA256_HEX_LEN ||
	    strspn(hash, "0123456789abcdef") != SHA256_HEX_LEN)
		BUG("store_blob_adopt: '%s' is not a SHA-256", hash);
	store_blob_path(s, hash, &dst);
	if (access(dst.ptr, F_OK) == 0) {
		unlink(path); /* the same bytes are there already */
		ret = 0;
		goto out;
	}
	buf_addf(&dir, "%s/blobs", s->dir);
	if (mkdir(dir.ptr, 0700) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", dir.ptr, strerror(errno));
		goto out;
	}
	buf_addf(&dir, "/%.2s", hash);
	if (mkdir(dir.ptr, 0700) < 0 && errno != EEXIST) {
		err_set("cannot create '%s': %s", dir.ptr, strerror(errno));
		goto out;
	}
	if (fsync(fd) < 0 || rename(path, dst.ptr) < 0) {
		err_set("cannot store blob '%s': %s", dst.ptr, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	buf_release(&dst);
	buf_release(&dir);
	return ret;
}

int
store_file_put(struct store *s, int64_t cascade_id, const char *name,
	       const void *data, size_t len, struct file_row *out,
	       int *out_created)
{
	char blob[SHA256_HEX_LEN + 1];
	int ret;

	if (out_created)
		*out_created = 0;
	if ((ret = store_file_name_check(name)) < 0)
		return ret;
	if (store_blob_put_data(s, data, len, blob) < 0)
		return -1;
	return store_file_put_blob(s, cascade_id, name, blob, (int64_t)len,
				   out, out_created);
}

int
store_file_put_blob(struct store *s, int64_t cascade_id, const char *name,
		    const char *blob, int64_t size, struct file_row *out,
		    int *out_created)
{
	sqlite3_stmt *st;
	struct file_row old;
	int ret, existed;

	if (out_created)
		*out_created = 0;
	if ((ret = store_file_name_check(name)) < 0)
		return ret;
	ret = store_file_get(s, cascade_id, name, &old);
	if (ret < 0 && ret != ERR_NOTFOUND)
		return ret;
	existed = ret == 0;
	if (existed)
		free(old.name);
	st = db_stmt(s, "INSERT OR REPLACE INTO cascade_files (cascade_id, "
			"name, blob, size, updated_at) VALUES (?1, ?2, ?3, ?4, "
			"?5)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, blob, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
	sqlite3_bind_int64(st, 5, store_now_ms());
	if (db_step_done(s, st, "store file") < 0)
		return -1;
	if (out_created)
		*out_created = !existed;
	if (out)
		return store_file_get(s, cascade_id, name, out);
	return 0;
}

static void
read_file_row(sqlite3_stmt *st, struct file_row *r)
{
	r->name = db_col_str(st, 0);
	db_col_hex(st, 1, r->blob);
	r->size = sqlite3_column_int64(st, 2);
	r->updated_at = sqlite3_column_int64(st, 3);
}

int
store_file_get(struct store *s, int64_t cascade_id, const char *name,
	       struct file_row *out)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT name, blob, size, updated_at "
				      "FROM cascade_files WHERE cascade_id = "
				      "?1 AND name = ?2");
	int rc;

	memset(out, 0, sizeof(*out));
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_file_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return db_err(s, "read file");
	return err_set("the file store has no file '%s'", name), ERR_NOTFOUND;
}

int
store_file_list(struct store *s, int64_t cascade_id, struct file_row **out,
		size_t *n)
{
	sqlite3_stmt *st = db_stmt(s, "SELECT name, blob, size, updated_at "
				      "FROM cascade_files WHERE cascade_id = "
				      "?1 ORDER BY name");
	size_t alloc = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		GROW(*out, *n + 1, alloc);
		read_file_row(st, &(*out)[(*n)++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		file_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return db_err(s, "list files");
	}
	return 0;
}

int
store_file_delete(struct store *s, int64_t cascade_id, const char *name)
{
	sqlite3_stmt *st = db_stmt(s, "DELETE FROM cascade_files WHERE "
				      "cascade_id = ?1 AND name = ?2");

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, cascade_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if (db_step_done(s, st, "delete file") < 0)
		return -1;
	if (!sqlite3_changes(s->db))
		return err_set("the file store has no file '%s'", name),
		       ERR_NOTFOUND;
	return 0;
}
