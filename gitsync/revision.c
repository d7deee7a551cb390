/*
 * revision.c - what a mirror holds at a revision: branch heads, commit
 * details, ancestry, the cascade files of a directory and which of them a
 * change touched.  Each call opens the mirror and closes it again, so
 * calls from several threads never share a git_repository.
 */
#include <stdlib.h>
#include <string.h>

#include "gitsync-int.h"

/* A cascade file's name: *.yaml or *.yml (not just the extension). */
static int
is_cascade_name(const char *name, size_t len)
{
	return (len > 5 && !memcmp(name + len - 5, ".yaml", 5)) ||
	       (len > 4 && !memcmp(name + len - 4, ".yml", 4));
}

/* A regular file (not a symlink, submodule or tree). */
static int
is_regular(uint32_t mode)
{
	return mode == GIT_FILEMODE_BLOB ||
	       mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* dir without "./" in front and '/' behind; "" for the top of the tree. */
static void
norm_dir(struct buf *out, const char *dir)
{
	size_t len;

	while (dir[0] == '.' && dir[1] == '/')
		dir += 2;
	while (dir[0] == '/')
		dir++;
	len = strlen(dir);
	while (len > 0 && dir[len - 1] == '/')
		len--;
	if (len == 1 && dir[0] == '.')
		len = 0;
	buf_add(out, dir, len);
}

/* Is path (repository-relative) a cascade file directly under dir? */
static int
is_cascade_path(const char *path, const struct buf *dir)
{
	const char *name = path;

	if (dir->len > 0) {
		if (strncmp(path, dir->ptr, dir->len) != 0 ||
		    path[dir->len] != '/')
			return 0;
		name = path + dir->len + 1;
	}
	return !strchr(name, '/') && is_cascade_name(name, strlen(name));
}

int
mirror_ref_commit(const char *mirror_dir, const char *refname,
		  char out[GIT_OID_HEX + 1])
{
	git_repository *repo = NULL;
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int valid = 0, r, ret;

	out[0] = '\0';
	if (git_reference_name_is_valid(&valid, refname) < 0 || !valid) {
		err_set("invalid ref name '%s'", refname);
		ret = ERR_INVALID;
		goto out;
	}
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0)
		goto out;
	r = git_reference_lookup(&ref, repo, refname);
	if (r == GIT_ENOTFOUND) {
		err_set("ref '%s' not found in mirror '%s'", refname,
			mirror_dir);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (r == 0)
		r = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	if (r < 0) {
		ret = gitsync_err(r, "cannot read ref '%s' in mirror '%s'",
				  refname, mirror_dir);
		goto out;
	}
	git_oid_tostr(out, GIT_OID_HEX + 1, git_object_id(obj));
out:
	git_object_free(obj);
	git_reference_free(ref);
	git_repository_free(repo);
	return ret;
}

int
mirror_branch_head(const char *mirror_dir, const char *branch,
		   char out[GIT_OID_HEX + 1])
{
	struct buf name = BUF_INIT;
	int valid = 0, ret;

	out[0] = '\0';
	buf_addf(&name, "refs/heads/%s", branch);
	if (git_reference_name_is_valid(&valid, name.ptr) < 0 || !valid) {
		err_set("invalid branch name '%s'", branch);
		ret = ERR_INVALID;
	} else {
		ret = mirror_ref_commit(mirror_dir, name.ptr, out);
		if (ret == ERR_NOTFOUND)
			err_set("branch '%s' not found in mirror '%s'", branch,
				mirror_dir);
	}
	buf_release(&name);
	return ret;
}

int
mirror_pull_ref_ok(const char *name)
{
	size_t n;

	if (!strncmp(name, "refs/pull/", 10))
		name += 10;
	else if (!strncmp(name, "refs/merge-requests/", 20))
		name += 20;
	else
		return 0;
	n = strspn(name, "0123456789");
	return n > 0 && n <= 9 && name[0] != '0' && !strcmp(name + n, "/head");
}

int
mirror_merge_base(const char *mirror_dir, const char *a, const char *b,
		  char out[GIT_OID_HEX + 1])
{
	git_repository *repo = NULL;
	git_commit *ca = NULL, *cb = NULL;
	git_oid base;
	int r, ret;

	out[0] = '\0';
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (ret = gitsync_lookup_commit(&ca, repo, mirror_dir, a)) < 0 ||
	    (ret = gitsync_lookup_commit(&cb, repo, mirror_dir, b)) < 0)
		goto out;
	r = git_merge_base(&base, repo, git_commit_id(ca), git_commit_id(cb));
	if (r == GIT_ENOTFOUND) {
		err_set("commits '%s' and '%s' have no common ancestor", a, b);
		ret = ERR_NOTFOUND;
		goto out;
	}
	if (r < 0) {
		ret = gitsync_err(r, "cannot find the merge base of '%s' and "
				     "'%s' in mirror '%s'",
				  a, b, mirror_dir);
		goto out;
	}
	git_oid_tostr(out, GIT_OID_HEX + 1, &base);
	ret = 0;
out:
	git_commit_free(ca);
	git_commit_free(cb);
	git_repository_free(repo);
	return ret;
}

int
mirror_commit_info(const char *mirror_dir, const char *commit,
		   struct commit_info *out)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	const git_signature *sig;
	const char *msg;
	struct buf b = BUF_INIT;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (ret = gitsync_lookup_commit(&c, repo, mirror_dir, commit)) < 0)
		goto out;
	git_oid_tostr(out->id, sizeof(out->id), git_commit_id(c));
	sig = git_commit_author(c);
	buf_addf(&b, "%s <%s>", sig && sig->name ? sig->name : "",
		 sig && sig->email ? sig->email : "");
	out->author = buf_detach(&b, NULL);
	msg = git_commit_message(c);
	if (!msg)
		msg = "";
	len = strcspn(msg, "\n");
	while (len > 0 && (msg[len - 1] == '\r' || msg[len - 1] == ' '))
		len--;
	out->subject = xstrndup(msg, len);
	out->time = (int64_t)git_commit_time(c);
out:
	git_commit_free(c);
	git_repository_free(repo);
	return ret;
}

void
commit_info_release(struct commit_info *ci)
{
	if (!ci)
		return;
	free(ci->author);
	free(ci->subject);
	memset(ci, 0, sizeof(*ci));
}

int
mirror_is_ancestor(const char *mirror_dir, const char *ancestor,
		   const char *commit)
{
	git_repository *repo = NULL;
	git_commit *a = NULL, *c = NULL;
	int ret;

	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (ret = gitsync_lookup_commit(&a, repo, mirror_dir, ancestor)) < 0 ||
	    (ret = gitsync_lookup_commit(&c, repo, mirror_dir, commit)) < 0)
		goto out;
	if (git_oid_equal(git_commit_id(a), git_commit_id(c))) {
		ret = 1;
		goto out;
	}
	ret = git_graph_descendant_of(repo, git_commit_id(c), git_commit_id(a));
	if (ret < 0)
		ret = gitsync_err(ret,
				  "cannot walk the history of '%s' in "
				  "mirror '%s'",
				  commit, mirror_dir);
out:
	git_commit_free(a);
	git_commit_free(c);
	git_repository_free(repo);
	return ret;
}

static int
cmp_cascade_file(const void *a, const void *b)
{
	return strcmp(((const struct cascade_file *)a)->path,
		      ((const struct cascade_file *)b)->path);
}

void
cascade_files_free(struct cascade_file *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].data);
		free(v[i].error);
	}
	free(v);
}

/* The tree of dir at commit; *out NULL (and 0) when dir is not a tree. */
static int
subtree(git_tree **out, git_repository *repo, git_tree *root,
	const struct buf *dir, const char *mirror_dir)
{
	git_tree_entry *te = NULL;
	int r, ret = 0;

	*out = NULL;
	if (dir->len == 0)
		return git_tree_dup(out, root) < 0
			   ? gitsync_err(-1, "cannot read a tree")
			   : 0;
	r = git_tree_entry_bypath(&te, root, dir->ptr);
	if (r == GIT_ENOTFOUND)
		goto out;
	if (r == 0 && git_tree_entry_type(te) != GIT_OBJECT_TREE)
		goto out;
	if (r == 0)
		r = git_tree_lookup(out, repo, git_tree_entry_id(te));
	if (r < 0)
		ret = gitsync_err(r, "cannot read '%s' in mirror '%s'",
				  dir->ptr, mirror_dir);
out:
	git_tree_entry_free(te);
	return ret;
}

int
mirror_cascade_dir_check(const char *mirror_dir, const char *commit,
			 const char *dir)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	git_tree *root = NULL;
	git_tree_entry *te = NULL;
	struct buf d = BUF_INIT;
	int r, ret;

	norm_dir(&d, dir);
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (ret = gitsync_lookup_commit(&c, repo, mirror_dir, commit)) < 0)
		goto out;
	if ((r = git_commit_tree(&root, c)) < 0) {
		ret = gitsync_err(r, "cannot read the tree of '%s' in mirror "
				     "'%s'",
				  commit, mirror_dir);
		goto out;
	}
	if (!d.len ||
	    git_tree_entry_bypath(&te, root, d.ptr) < 0 ||
	    git_tree_entry_filemode(te) != GIT_FILEMODE_LINK)
		goto out;
	ret = err_set("'%s' is a symbolic link, not a folder: cascade files "
		      "are read from a folder of the repository itself",
		      d.ptr);
	ret = ERR_INVALID;
out:
	git_tree_entry_free(te);
	git_tree_free(root);
	git_commit_free(c);
	git_repository_free(repo);
	buf_release(&d);
	return ret;
}

/*
 * The size of a blob from its object header (a loose object's first bytes,
 * a pack entry's header, a delta's target size): a huge blob is refused
 * without being inflated.
 */
static int
blob_size(size_t *out, git_odb *odb, const git_oid *id)
{
	git_object_t type;
	size_t size = 0;
	int r;

	*out = 0;
	if ((r = git_odb_read_header(&size, &type, odb, id)) < 0)
		return r;
	*out = size;
	return 0;
}

static int
cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
mirror_read_cascades(const char *mirror_dir, const char *commit,
		     const char *dir, size_t max_size,
		     struct cascade_file **out, size_t *n)
{
	return mirror_read_cascades_only(mirror_dir, commit, dir, max_size,
					 NULL, out, n);
}

int
mirror_read_cascades_only(const char *mirror_dir, const char *commit,
			  const char *dir, size_t max_size,
			  const struct strvec *only, struct cascade_file **out,
			  size_t *n)
{
	git_repository *repo = NULL;
	git_odb *odb = NULL;
	git_commit *c = NULL;
	git_tree *root = NULL, *tree = NULL;
	git_blob *blob = NULL;
	const git_tree_entry *e;
	struct cascade_file *v = NULL, *f;
	struct buf d = BUF_INIT, path = BUF_INIT, why = BUF_INIT;
	size_t cnt = 0, alloc = 0, i, count, size, total = 0;
	size_t budget = max_size * CASCADE_FILES_BUDGET;
	const char *name;
	int r = 0, ret;

	*out = NULL;
	*n = 0;
	norm_dir(&d, dir);
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (ret = gitsync_lookup_commit(&c, repo, mirror_dir, commit)) < 0)
		goto out;
	if ((r = git_repository_odb(&odb, repo)) < 0 ||
	    (r = git_commit_tree(&root, c)) < 0) {
		ret = gitsync_err(r,
				  "cannot read the tree of '%s' in mirror "
				  "'%s'",
				  commit, mirror_dir);
		goto out;
	}
	if ((ret = subtree(&tree, repo, root, &d, mirror_dir)) < 0 || !tree)
		goto out;
	count = git_tree_entrycount(tree);
	for (i = 0; i < count; i++) {
		e = git_tree_entry_byindex(tree, i);
		name = git_tree_entry_name(e);
		if (!is_regular(git_tree_entry_filemode(e)) ||
		    !is_cascade_name(name, strlen(name)))
			continue;
		buf_reset(&path);
		if (d.len > 0)
			buf_addf(&path, "%s/", d.ptr);
		buf_puts(&path, name);
		if ((r = blob_size(&size, odb, git_tree_entry_id(e))) < 0) {
			ret = gitsync_err(r,
					  "cannot read '%s' at '%s' in "
					  "mirror '%s'",
					  path.ptr, commit, mirror_dir);
			goto out;
		}
		if (only) {
			const char *key = path.ptr;

			/* a file left out still counts against the budget,
			 * as it would for the whole directory: from its
			 * size, never read */
			if (!bsearch(&key, only->v, only->n, sizeof(*only->v),
				     cmp_cstr)) {
				if (!max_size ||
				    (size <= max_size && size <= budget - total))
					total += size;
				continue;
			}
		}
		GROW(v, cnt + 1, alloc);
		f = &v[cnt++];
		memset(f, 0, sizeof(*f));
		f->path = xstrdup(path.ptr);
		git_oid_tostr(f->blob, sizeof(f->blob), git_tree_entry_id(e));
		f->len = size;
		buf_reset(&why);
		if (max_size && size > max_size)
			buf_addf(&why, "the file is %zu bytes, over the limit "
				       "of %zu bytes for a cascade file",
				 size, max_size);
		else if (max_size && size > budget - total)
			buf_addf(&why, "the file is %zu bytes, over what is "
				       "left (%zu) of the limit of %zu bytes "
				       "for all cascade files together",
				 size, budget - total, budget);
		if (why.len) {
			f->error = buf_detach(&why, NULL);
			continue;
		}
		if ((r = git_blob_lookup(&blob, repo, git_tree_entry_id(e))) <
		    0) {
			ret = gitsync_err(r,
					  "cannot read '%s' at '%s' in "
					  "mirror '%s'",
					  path.ptr, commit, mirror_dir);
			goto out;
		}
		size = (size_t)git_blob_rawsize(blob);
		f->len = size;
		total += size;
		f->data = xmalloc(size + 1);
		memcpy(f->data, git_blob_rawcontent(blob), size);
		f->data[size] = '\0';
		git_blob_free(blob);
		blob = NULL;
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_cascade_file);
	*out = v;
	*n = cnt;
	v = NULL;
	cnt = 0;
	ret = 0;
out:
	cascade_files_free(v, cnt);
	git_blob_free(blob);
	git_tree_free(tree);
	git_tree_free(root);
	git_commit_free(c);
	git_odb_free(odb);
	git_repository_free(repo);
	buf_release(&d);
	buf_release(&path);
	buf_release(&why);
	return ret;
}

/* Add the side of a delta that is a cascade file of dir. */
static void
add_side(struct strvec *sv, const git_diff_file *f, const struct buf *dir)
{
	if (f->path && is_regular(f->mode) && is_cascade_path(f->path, dir))
		strvec_push(sv, f->path);
}

int
mirror_diff_cascades(const char *mirror_dir, const char *old_commit,
		     const char *new_commit, const char *dir,
		     struct strvec *out)
{
	git_diff_options o = GIT_DIFF_OPTIONS_INIT;
	git_repository *repo = NULL;
	git_commit *oc = NULL, *nc = NULL;
	git_tree *ot = NULL, *nt = NULL;
	git_diff *diff = NULL;
	const git_diff_delta *dl;
	struct strvec found = STRVEC_INIT;
	struct buf d = BUF_INIT;
	char *pathspec[1];
	size_t i, count;
	int r = 0, ret;

	norm_dir(&d, dir);
	if ((ret = gitsync_open(&repo, mirror_dir)) < 0 ||
	    (old_commit && (ret = gitsync_lookup_commit(&oc, repo, mirror_dir,
							old_commit)) < 0) ||
	    (ret = gitsync_lookup_commit(&nc, repo, mirror_dir, new_commit)) <
		0)
		goto out;
	if ((oc && (r = git_commit_tree(&ot, oc)) < 0) ||
	    (r = git_commit_tree(&nt, nc)) < 0) {
		ret = gitsync_err(r, "cannot read a tree in mirror '%s'",
				  mirror_dir);
		goto out;
	}
	if (d.len > 0) {
		/* a literal directory, not a pattern: a speed-up only, the
		 * paths are checked one by one below */
		pathspec[0] = d.ptr;
		o.pathspec.strings = pathspec;
		o.pathspec.count = 1;
		o.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH;
	}
	/* no rename detection: a rename is a deletion and an addition */
	if ((r = git_diff_tree_to_tree(&diff, repo, ot, nt, &o)) < 0) {
		ret = gitsync_err(r,
				  "cannot compare '%s' and '%s' in mirror "
				  "'%s'",
				  old_commit ? old_commit : "(nothing)",
				  new_commit, mirror_dir);
		goto out;
	}
	count = git_diff_num_deltas(diff);
	for (i = 0; i < count; i++) {
		dl = git_diff_get_delta(diff, i);
		/* a change of mode only leaves the cascade as it was */
		if (dl->status == GIT_DELTA_MODIFIED &&
		    is_regular(dl->old_file.mode) &&
		    is_regular(dl->new_file.mode) &&
		    git_oid_equal(&dl->old_file.id, &dl->new_file.id))
			continue;
		if (dl->status != GIT_DELTA_ADDED)
			add_side(&found, &dl->old_file, &d);
		if (dl->status != GIT_DELTA_DELETED)
			add_side(&found, &dl->new_file, &d);
	}
	if (found.n > 1)
		qsort(found.v, found.n, sizeof(*found.v), cmp_cstr);
	for (i = 0; i < found.n; i++)
		if (i == 0 || strcmp(found.v[i], found.v[i - 1]) != 0)
			strvec_push(out, found.v[i]);
	ret = 0;
out:
	strvec_clear(&found);
	git_diff_free(diff);
	git_tree_free(ot);
	git_tree_free(nt);
	git_commit_free(oc);
	git_commit_free(nc);
	git_repository_free(repo);
	buf_release(&d);
	return ret;
}
