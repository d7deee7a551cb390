/*
 * tar.h - tar archives built and read in memory (libarchive), for the
 * runners that move files as archives (docker's PUT and GET /archive).
 * The only file of runner/ that includes archive.h.  Errors: 0 or -1 with
 * err_set().
 */
#ifndef SCAFFOLD_RUNNER_TAR_H
#define SCAFFOLD_RUNNER_TAR_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/common.h"

/* An archive being written into a buf (pax restricted, root-owned). */
struct tar_out;
int tar_out_new(struct tar_out **out, struct buf *dst);
/* A directory entry ("tmp/run/"), once per name. */
int tar_out_dir(struct tar_out *t, const char *name);
/* A file with the given bytes. */
int tar_out_data(struct tar_out *t, const char *name, const void *data,
		 size_t len, mode_t perm);
/*
 * A file with the content of the local file src, its parent directories
 * first; messages name it as "file 'SHOWN'".
 */
int tar_out_file(struct tar_out *t, const char *name, const char *shown,
		 const char *src);
/* Finish the archive (then free it). */
int tar_out_close(struct tar_out *t);
void tar_out_free(struct tar_out *t); /* NULL: no-op */

/* An archive being read from memory. */
enum tar_type { TAR_FILE, TAR_DIR, TAR_SYMLINK, TAR_OTHER };
struct tar_in;
int tar_in_open(struct tar_in **out, const void *data, size_t len);
/* The next entry: 1 (name, type, size set), 0 at the end, -1 bad. */
int tar_in_next(struct tar_in *t, const char **name, enum tar_type *type,
		int64_t *size);
/* Data of the current entry: bytes read, 0 at its end, -1 bad. */
ssize_t tar_in_read(struct tar_in *t, void *data, size_t len);
/* Write the current entry's data to path (new file, its dirs made). */
int tar_in_extract(struct tar_in *t, const char *path);
/* Why the archive is bad ("empty" when it says nothing). */
const char *tar_in_error(struct tar_in *t);
void tar_in_free(struct tar_in *t); /* NULL: no-op */

#endif
