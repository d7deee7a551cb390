/*
 * gitsync-int.h - what the files of gitsync/ share: libgit2 setup, error
 * translation and opening a mirror.  Includes git2.h; nothing outside
 * gitsync/ may include this header.
 */
#ifndef SCAFFOLD_GITSYNC_INT_H
#define SCAFFOLD_GITSYNC_INT_H

#include <git2.h>

#include "gitsync.h"

/*
 * err_set() the formatted text followed by ": " and libgit2's last
 * message (when it has one); returns the ERR_* code that matches the
 * libgit2 code gerr (GIT_ENOTFOUND -> ERR_NOTFOUND, GIT_EAUTH and
 * GIT_ECERTIFICATE -> ERR_AUTH, anything else ERR_GENERIC).
 */
int gitsync_err(int gerr, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* err_set("repo 'NAME': " followed by the current message); ERR_GENERIC. */
int gitsync_repo_err(const char *name);

/* Open the bare mirror at dir (never a repository around it). */
int gitsync_open(git_repository **out, const char *dir);

/* Look commit (a full or abbreviated hex id) up in repo. */
int gitsync_lookup_commit(git_commit **out, git_repository *repo,
			  const char *dir, const char *commit);

#endif
