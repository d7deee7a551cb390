/*
 * gitsync.h - repositories: bare mirrors kept with libgit2, the cascade
 * files of a revision, tree diffs.  The only module that includes git2.h;
 * libgit2's errors are translated into err_set() messages here.
 *
 * Every function returns 0 or a negative ERR_* code with err_set() called.
 * Strings in out-structs are heap-allocated and freed by the *_release or
 * *_free function named beside them.
 */
#ifndef SCAFFOLD_GITSYNC_H
#define SCAFFOLD_GITSYNC_H

#include "../common/common.h"

#define GIT_OID_HEX 40

struct repo_creds {
	const char *ssh_key_file;     /* private key (public key beside it,
				       * KEY.pub, when present) */
	const char *known_hosts_file; /* required for ssh:// and scp-style */
	const char *token_file;	      /* https: a token, used as password */
};

struct repo_spec {
	const char *name;   /* for messages: "repo 'infra': ..." */
	const char *url;    /* local path, file://, git://, https://, ssh://,
			     * or scp-style user@host:path */
	const char *branch; /* e.g. "main" */
	struct repo_creds creds;
	/* NULL: the mirror fetch.  Else a pull request's head ref
	 * (mirror_pull_ref_ok), fetched alone onto the same name in the
	 * mirror, without pruning: the objects of a head that is never
	 * trusted to run anything, kept apart from the branches */
	const char *pull_ref;
};

/* Initialise libgit2 once per process (idempotent, thread-safe). */
int gitsync_init(void);

/*
 * Bring the bare mirror at mirror_dir up to date with the remote: clone on
 * first use, then fetch every branch with a forced refspec onto the same
 * name (+refs/heads/<all>:refs/heads/<all>) and pruning, so force pushes
 * and deleted branches are mirrored exactly.
 * The fetch runs in a child process (the scaffold binary, see
 * gitsync_set_helper) that is killed after timeout_ms (no limit when
 * timeout_ms <= 0): a hanging remote can never hang the caller.
 * ERR_TIMEOUT when it took too long, ERR_AUTH for credential and host-key
 * failures, ERR_INVALID for a spec that cannot work (ssh without
 * known_hosts_file, an unsupported URL scheme).  Safe to call from several
 * threads at once; fetches of one mirror are serialised by a lock on
 * mirror_dir.  The caller must not reap children it did not start
 * (waitpid(-1)) nor ignore SIGCHLD.
 */
int mirror_fetch(const char *mirror_dir, const struct repo_spec *spec,
		 int64_t timeout_ms);
/* The same, in this process, without the time limit (the child runs it). */
int mirror_fetch_inproc(const char *mirror_dir, const struct repo_spec *spec);
/*
 * The program the child runs: argv[0] of it is path (default
 * /proc/self/exe), followed by "__gitsync-fetch" and its arguments.  The
 * path is copied; call it before starting threads that fetch.
 */
void gitsync_set_helper(const char *path);
/*
 * main() of the child, for argv = { exe, "__gitsync-fetch", mirror_dir,
 * name, url, branch, ssh_key_file, known_hosts_file, token_file [,
 * pull_ref] } (empty strings for absent files).  Returns the exit status: 0 on success, else
 * -ERR_* (1..7) with the error message as the last line on stderr.
 */
#define GITSYNC_FETCH_CMD "__gitsync-fetch"
int gitsync_fetch_child_main(int argc, char **argv);

/* The commit the branch points to in the mirror; ERR_NOTFOUND if none. */
int mirror_branch_head(const char *mirror_dir, const char *branch,
		       char out[GIT_OID_HEX + 1]);
/* The commit a ref (a full name) points to; ERR_NOTFOUND if none. */
int mirror_ref_commit(const char *mirror_dir, const char *refname,
		      char out[GIT_OID_HEX + 1]);
/* The best common ancestor of two commits; ERR_NOTFOUND when they have
 * none. */
int mirror_merge_base(const char *mirror_dir, const char *a, const char *b,
		      char out[GIT_OID_HEX + 1]);
/* Is name a pull request head ref we fetch: "refs/pull/N/head" (GitHub,
 * Gitea) or "refs/merge-requests/N/head" (GitLab) with N a positive
 * decimal number of at most 9 digits?  1 or 0.  Pure. */
int mirror_pull_ref_ok(const char *name);

struct commit_info {
	char id[GIT_OID_HEX + 1];
	char *author;  /* "Name <email>" */
	char *subject; /* first line of the message */
	int64_t time;  /* commit (committer) time, seconds since the epoch */
};
int mirror_commit_info(const char *mirror_dir, const char *commit,
		       struct commit_info *out);
void commit_info_release(struct commit_info *ci);

/* Is ancestor an ancestor of (or equal to) commit? 1 yes, 0 no, <0 error. */
int mirror_is_ancestor(const char *mirror_dir, const char *ancestor,
		       const char *commit);

struct cascade_file {
	char *path; /* repository-relative, e.g. ".scaffold/deploy.yaml" */
	char blob[GIT_OID_HEX + 1];
	char *data; /* the content, NUL-terminated (may hold NULs) */
	size_t len;
	char *error; /* why data is NULL: "the file is N bytes, over ..." */
};
/*
 * Every *.yaml and *.yml file directly under dir (e.g. ".scaffold") at
 * commit, sorted by path; none (n = 0, return 0) when dir is absent.
 * Files larger than max_size (when max_size > 0), or past
 * CASCADE_FILES_BUDGET times max_size for all of them together, are
 * returned with data = NULL, len set and error saying so: their size is
 * read from the object's header, they are never inflated.  Symbolic
 * links and submodules are skipped.  ERR_NOTFOUND when the commit is not
 * in the mirror.
 */
#define CASCADE_FILES_BUDGET 4
/*
 * The cascade folder dir at commit, checked for what mirror_read_cascades
 * would pass over: ERR_INVALID (err_set names it) when it is a symbolic
 * link; 0 when it is a folder or absent; ERR_NOTFOUND for an unknown
 * commit.
 */
int mirror_cascade_dir_check(const char *mirror_dir, const char *commit,
			     const char *dir);
int mirror_read_cascades(const char *mirror_dir, const char *commit,
			 const char *dir, size_t max_size,
			 struct cascade_file **out, size_t *n);
/*
 * The same, only for the paths in only (sorted, as mirror_diff_cascades
 * gives them): a pull request's changed files, not the whole directory.
 * The files left out count against the budget as they would for the
 * whole directory (from their sizes, never read), so a file is refused
 * exactly when mirror_read_cascades would refuse it.
 */
int mirror_read_cascades_only(const char *mirror_dir, const char *commit,
			      const char *dir, size_t max_size,
			      const struct strvec *only,
			      struct cascade_file **out, size_t *n);
void cascade_files_free(struct cascade_file *v, size_t n);

/*
 * The cascade files (*.yaml, *.yml directly under dir) that differ between
 * two commits (tree diff), as repository-relative paths, sorted, each once,
 * appended to out.  old may be NULL (everything under dir is new).  A
 * rename counts as a deletion and an addition: both paths are listed.
 */
int mirror_diff_cascades(const char *mirror_dir, const char *old_commit,
			 const char *new_commit, const char *dir,
			 struct strvec *out);

/*
 * A line diff of texts a and b (textdiff.c, libgit2's xdiff), with context
 * lines of context around each change: *out (free with diff_lines_free)
 * is the hunks in order, each a header line (op '@', text "@@ -1,3 +1,4
 * @@", old_no and new_no where it starts) and its lines: ' ' the same in
 * both, '-' only in a, '+' only in b, each with its line numbers (-1 on
 * the side it is not on) and without its newline; '\\' says the line
 * before it has no newline.  Equal texts: no lines.
 */
struct diff_line {
	char op;
	int old_no, new_no;
	char *text; /* NUL-terminated (may hold NULs: len) */
	size_t len;
};
int text_diff(struct diff_line **out, size_t *n, const char *a, size_t alen,
	      const char *b, size_t blen, int context);
void diff_lines_free(struct diff_line *v, size_t n);
#endif
