/*
 * gc.c - retention: the runs the config's 'retention' lets go, with their
 * logs and run dirs; the drift probes' check runs by the same policy, with
 * theirs; processed webhook deliveries past their age; blobs
 * nothing refers to.  The store deletes in batches of GC_BATCH runs, one
 * short transaction each, so the scheduler never waits long for its
 * writes.  `scaffold serve` runs it at start and every hour on a thread
 * of its own; `scaffold gc` on demand.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define GC_BATCH 100

/* Bytes of the files under the directory fd (symlinks not followed). */
static int64_t
tree_bytes(int dfd)
{
	DIR *d = fdopendir(dfd);
	struct dirent *e;
	struct stat st;
	int64_t sum = 0;
	int fd;

	if (!d) {
		close(dfd);
		return 0;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), e->d_name,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			if (fd >= 0)
				sum += tree_bytes(fd);
		} else {
			sum += (int64_t)st.st_blocks * 512;
		}
	}
	closedir(d);
	return sum;
}

int64_t
gc_dir_bytes(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? 0 : tree_bytes(fd);
}

/* Remove path (a file), adding its size to *freed; a dry run only counts. */
static int
drop_file(const char *path, int dry_run, int64_t *freed)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	if (!dry_run && unlink(path) < 0)
		return -1;
	*freed += (int64_t)st.st_blocks * 512;
	return 0;
}

/* The logs and run dir of a run that went. */
static void
drop_run_files(const char *data_dir, int64_t id, int dry_run,
	       struct gc_stats *out)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/logs/%lld.log", data_dir, (long long)id);
	if (drop_file(p.ptr, dry_run, &out->freed_bytes) == 0)
		out->logs++;
	buf_reset(&p);
	buf_addf(&p, "%s/runs/%lld", data_dir, (long long)id);
	if (!access(p.ptr, F_OK)) {
		out->freed_bytes += gc_dir_bytes(p.ptr);
		if (!dry_run)
			rm_rf(p.ptr);
	}
	buf_release(&p);
}

/* The log and run dir of a check run that went. */
static void
drop_check_files(struct store *st, int64_t id, int dry_run,
		 struct gc_stats *out)
{
	struct buf p = BUF_INIT;

	store_check_log_path(st, id, &p);
	if (drop_file(p.ptr, dry_run, &out->freed_bytes) == 0)
		out->check_logs++;
	buf_reset(&p);
	store_check_dir(st, id, &p);
	if (!access(p.ptr, F_OK)) {
		out->freed_bytes += gc_dir_bytes(p.ptr);
		if (!dry_run)
			rm_rf(p.ptr);
	}
	buf_release(&p);
}

/* blobs/XX/REST files no row refers to, older than grace_ms. */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
drop_blobs(const char *data_dir, const struct strvec *refs, int64_t grace_ms,
	   int dry_run, struct gc_stats *out)
{
	struct buf dir = BUF_INIT, path = BUF_INIT, hash = BUF_INIT;
	DIR *top = NULL, *sub;
	struct dirent *e, *f;
	struct stat st;
	const char *key;
	time_t cutoff = time(NULL) - (time_t)(grace_ms / 1000);

	buf_addf(&dir, "%s/blobs", data_dir);
	if (!(top = opendir(dir.ptr)))
		goto out;
	while ((e = readdir(top))) {
		/* the fan-out dirs only: temp files of a blob being
		 * written start with a dot */
		if (strlen(e->d_name) != 2 || e->d_name[0] == '.')
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, e->d_name);
		if (!(sub = opendir(path.ptr)))
			continue;
		while ((f = readdir(sub))) {
			if (f->d_name[0] == '.')
				continue;
			buf_reset(&hash);
			buf_addf(&hash, "%s%s", e->d_name, f->d_name);
			key = hash.ptr;
			if (refs->n && bsearch(&key, refs->v, refs->n,
					       sizeof(*refs->v), cmp_str))
				continue;
			buf_reset(&path);
			buf_addf(&path, "%s/%s/%s", dir.ptr, e->d_name,
				 f->d_name);
			/* a blob a run or an upload just wrote, whose row is
			 * not there yet, is young: kept for now */
			if (lstat(path.ptr, &st) < 0 || !S_ISREG(st.st_mode) ||
			    (grace_ms > 0 && st.st_mtime > cutoff))
				continue;
			if (drop_file(path.ptr, dry_run, &out->freed_bytes) ==
			    0)
				out->blobs++;
		}
		closedir(sub);
	}
	closedir(top);
out:
	buf_release(&dir);
	buf_release(&path);
	buf_release(&hash);
}

int
gc_run(struct store *st, const char *data_dir, const struct config *cf,
       int64_t blob_grace_ms, int dry_run, struct gc_stats *out)
{
	struct gc_policy p;
	struct strvec refs = STRVEC_INIT;
	int64_t *ids = NULL, *gone = NULL, nd;
	size_t n, i, ngone = 0, agone = 0;
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (cf) {
		p.runs_ms = cf->retain_runs_ms;
		p.keep_last_runs = cf->retain_last_runs;
	}
	do {
		if (store_gc_runs(st, &p, GC_BATCH, dry_run, &ids, &n) < 0)
			goto out;
		for (i = 0; i < n; i++) {
			drop_run_files(data_dir, ids[i], dry_run, out);
			if (dry_run) {
				GROW(gone, ngone + 1, agone);
				gone[ngone++] = ids[i];
			}
		}
		out->runs += (int64_t)n;
		free(ids);
		ids = NULL;
		/* let the scheduler's writes in between two batches */
		if (n == GC_BATCH && !dry_run)
			nanosleep(&pause, NULL);
	} while (n == GC_BATCH && !dry_run);
	do {
		if (store_gc_checks(st, &p, GC_BATCH, dry_run, &ids, &n) < 0)
			goto out;
		for (i = 0; i < n; i++)
			drop_check_files(st, ids[i], dry_run, out);
		out->checks += (int64_t)n;
		free(ids);
		ids = NULL;
		if (n == GC_BATCH && !dry_run)
			nanosleep(&pause, NULL);
	} while (n == GC_BATCH && !dry_run);
	if (cf && cf->retain_deliveries_ms > 0) {
		do {
			if (store_gc_deliveries(st,
						store_now_ms() -
							cf->retain_deliveries_ms,
						1000, dry_run, &nd) < 0)
				goto out;
			out->deliveries += nd;
		} while (nd == 1000 && !dry_run);
	}
	if (store_gc_blob_refs(st, gone, ngone, &refs) < 0)
		goto out;
	drop_blobs(data_dir, &refs, blob_grace_ms, dry_run, out);
	out->data_bytes = gc_dir_bytes(data_dir);
	ret = 0;
out:
	free(ids);
	free(gone);
	strvec_clear(&refs);
	return ret;
}
