/* gitsync.c - libgit2 set-up, error translation, opening mirrors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gitsync-int.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void
init_libgit2(void)
{
	init_result = git_libgit2_init();
}

int
gitsync_init(void)
{
	const git_error *e;

	pthread_once(&init_once, init_libgit2);
	if (init_result < 0) {
		e = git_error_last();
		return err_set("cannot initialise libgit2: %s",
			       e && e->message ? e->message : "unknown error");
	}
	return 0;
}

int
gitsync_err(int gerr, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	struct buf b = BUF_INIT;
	size_t len;
	va_list ap;
	int ret;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (e && e->message && e->message[0]) {
		/* libgit2 messages sometimes end in a newline or a period */
		len = strlen(e->message);
		while (len > 0 && (e->message[len - 1] == '\n' ||
				   e->message[len - 1] == ' ' ||
				   e->message[len - 1] == '.'))
			len--;
		buf_puts(&b, ": ");
		buf_add(&b, e->message, len);
	}
	err_set("%s", b.ptr);
	buf_release(&b);
	switch (gerr) {
	case GIT_ENOTFOUND:
		ret = ERR_NOTFOUND;
		break;
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
		ret = ERR_AUTH;
		break;
	default:
		ret = ERR_GENERIC;
		break;
	}
	return ret;
}

int
gitsync_repo_err(const char *name)
{
	char *msg = xstrdup(err_msg());

	err_set("repo '%s': %s", name, msg);
	free(msg);
	return ERR_GENERIC;
}

int
gitsync_open(git_repository **out, const char *dir)
{
	int r;

	*out = NULL;
	if ((r = gitsync_init()) < 0)
		return r;
	r = git_repository_open_bare(out, dir);
	if (r == GIT_ENOTFOUND) {
		err_set("mirror '%s' does not exist", dir);
		return ERR_NOTFOUND;
	}
	if (r < 0)
		return gitsync_err(r, "cannot open mirror '%s'", dir);
	return 0;
}

int
gitsync_lookup_commit(git_commit **out, git_repository *repo, const char *dir,
		      const char *commit)
{
	git_oid oid;
	size_t len = strlen(commit), i;
	int r;

	*out = NULL;
	for (i = 0; i < len; i++)
		if (!strchr("0123456789abcdefABCDEF", commit[i]))
			break;
	if (len < GIT_OID_MINPREFIXLEN || len > GIT_OID_HEXSZ || i < len) {
		err_set("'%s' is not a commit id", commit);
		return ERR_INVALID;
	}
	if ((r = git_oid_fromstrn(&oid, commit, len)) < 0)
		return gitsync_err(r, "'%s' is not a commit id", commit);
	r = git_commit_lookup_prefix(out, repo, &oid, len);
	if (r == GIT_ENOTFOUND) {
		err_set("commit '%s' not found in mirror '%s'", commit, dir);
		return ERR_NOTFOUND;
	}
	if (r == GIT_EAMBIGUOUS) {
		err_set("commit id '%s' is ambiguous in mirror '%s'", commit,
			dir);
		return ERR_INVALID;
	}
	if (r < 0)
		return gitsync_err(r, "cannot read commit '%s' in mirror '%s'",
				   commit, dir);
	return 0;
}
