/*
 * cmd-backup.c - scaffold backup: a data dir in one tar file, taken while
 * the daemon runs.  The database first, as one snapshot (SQLite's online
 * backup), then the blobs and logs that snapshot refers to, then
 * secret.key, without which the password inputs cannot be read.  The git
 * mirrors are left out: the daemon fetches them again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int
backup(const struct cmd_entry *self, const struct cmd_opts *o,
       const char *out_path)
{
	struct store *st = NULL;
	struct tar_writer *t = NULL;
	struct strvec blobs = STRVEC_INIT, logs = STRVEC_INIT;
	struct buf tmp = BUF_INIT, db = BUF_INIT, src = BUF_INIT;
	size_t i, nlogs = 0;
	int r, ret = EXIT_FINDING, have_key;

	if (!(st = cmd_open_store(self, o, 0)))
		goto out;
	/* the snapshot beside the archive, not in the daemon's data dir */
	buf_addf(&tmp, "%s.db-XXXXXX", out_path);
	if (!mkdtemp(tmp.ptr)) {
		fprintf(stderr, "scaffold %s: cannot make '%s': %s\n",
			self->name, tmp.ptr, strerror(errno));
		buf_reset(&tmp);
		goto out;
	}
	buf_addf(&db, "%s/scaffold.db", tmp.ptr);
	if (store_backup_db(st, db.ptr) < 0 ||
	    store_backup_refs(db.ptr, &blobs, &logs) < 0 ||
	    tar_writer_open(&t, out_path) < 0 ||
	    tar_writer_file(t, "scaffold.db", db.ptr) < 0 ||
	    tar_writer_dir(t, "blobs/") < 0 || tar_writer_dir(t, "logs/") < 0)
		goto fail;
	for (i = 0; i < blobs.n; i++) {
		buf_reset(&src);
		buf_addf(&src, "%s/%s", o->data_dir, blobs.v[i]);
		r = tar_writer_file(t, blobs.v[i], src.ptr);
		/* gone since the snapshot (gc): the copy would miss it */
		if (r == ERR_NOTFOUND)
			err_set("blob '%s' went away during the backup: run "
				"it again",
				blobs.v[i]);
		if (r < 0)
			goto fail;
	}
	for (i = 0; i < logs.n; i++) {
		buf_reset(&src);
		buf_addf(&src, "%s/%s", o->data_dir, logs.v[i]);
		/* a run with no output yet has no log */
		r = tar_writer_file(t, logs.v[i], src.ptr);
		if (r == ERR_NOTFOUND)
			continue;
		if (r < 0)
			goto fail;
		nlogs++;
	}
	buf_reset(&src);
	buf_addf(&src, "%s/secret.key", o->data_dir);
	r = tar_writer_file(t, "secret.key", src.ptr);
	if (r < 0 && r != ERR_NOTFOUND)
		goto fail;
	have_key = r == 0;
	if (tar_writer_commit(t) < 0)
		goto fail;
	if (!o->quiet)
		printf("%s: the data dir '%s': the database, %zu blob%s, %zu "
		       "log%s%s (%lld bytes)\n",
		       out_path, o->data_dir, blobs.n,
		       blobs.n == 1 ? "" : "s", nlogs, nlogs == 1 ? "" : "s",
		       have_key ? ", secret.key" : "",
		       (long long)tar_writer_bytes(t));
	if (!have_key)
		fprintf(stderr, "scaffold %s: warning: '%s' has no "
				"secret.key (no password input was ever "
				"stored)\n",
			self->name, o->data_dir);
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
out:
	tar_writer_free(t);
	if (db.len)
		unlink(db.ptr);
	if (tmp.len)
		rmdir(tmp.ptr);
	store_close(st);
	strvec_clear(&blobs);
	strvec_clear(&logs);
	buf_release(&tmp);
	buf_release(&db);
	buf_release(&src);
	return ret;
}

static int
cmd_backup(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "dq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1)
		ret = cmd_usage_error(self, "expected the archive to write");
	else if (!access(argv[first], F_OK))
		ret = cmd_usage_error(self, "'%s' exists: name a new file",
				      argv[first]);
	else
		ret = backup(self, &o, argv[first]);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_backup_entry = {
	"backup",
	"copy a data dir into a tar file, while the daemon runs",
	"usage: scaffold backup [-d DIR] [-q] OUT.tar\n"
	"\n"
	"Write the data dir into the new tar file OUT.tar (0600), safe while\n"
	"scaffold serve runs on it: the database as one consistent snapshot\n"
	"(SQLite's online backup), then the stored files (blobs) and run logs\n"
	"that snapshot refers to, then secret.key, without which the password\n"
	"inputs cannot be decrypted: keep the archive as secret as the data\n"
	"dir.  The git mirrors are not copied (the daemon fetches them again).\n"
	"'scaffold restore' makes a data dir of it.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"  -q, --quiet          print only problems\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 written, 1 failed (nothing is left at OUT.tar),\n"
	"2 usage error.\n",
	cmd_backup,
};
