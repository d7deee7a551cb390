/*
 * cmd-restore.c - scaffold restore: a data dir made from a backup, in a
 * new (or empty) directory.  The archive is unpacked beside it first and
 * checked (a database SQLite finds intact), then renamed into place: a
 * bad archive leaves nothing behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* 1 when dir exists and holds something, 0 when absent or empty. */
static int
dir_used(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int used = 0;

	if (!d)
		return errno == ENOENT ? 0 : 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			used = 1;
			break;
		}
	closedir(d);
	return used;
}

static int
restore(const struct cmd_entry *self, const struct cmd_opts *o,
	const char *archive)
{
	const char *dir = o->data_dir;
	struct strvec names = STRVEC_INIT;
	struct buf tmp = BUF_INIT, p = BUF_INIT;
	struct store *st = NULL;
	size_t i, nblobs = 0, nlogs = 0, len;
	int ret = EXIT_FINDING, have_db = 0, have_key = 0;

	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	buf_addf(&tmp, "%.*s.restore-XXXXXX", (int)len, dir);
	if (!mkdtemp(tmp.ptr)) {
		err_set("cannot make '%s': %s", tmp.ptr, strerror(errno));
		buf_reset(&tmp);
		goto fail;
	}
	if (tar_extract(archive, tmp.ptr, &names) < 0)
		goto fail;
	for (i = 0; i < names.n; i++) {
		have_db |= !strcmp(names.v[i], "scaffold.db");
		have_key |= !strcmp(names.v[i], "secret.key");
		nblobs += !strncmp(names.v[i], "blobs/", 6);
		nlogs += !strncmp(names.v[i], "logs/", 5);
	}
	if (!have_db) {
		err_set("'%s' is not a scaffold backup: it has no scaffold.db",
			archive);
		goto fail;
	}
	if (store_open_existing(&st, tmp.ptr) < 0 || store_integrity(st) < 0)
		goto fail;
	store_close(st);
	st = NULL;
	/* the lock of the daemon that ran on the copy is not a lock here */
	buf_addf(&p, "%s/lock", tmp.ptr);
	unlink(p.ptr);
	if ((rmdir(dir) < 0 && errno != ENOENT) || rename(tmp.ptr, dir) < 0) {
		err_set("cannot move '%s' to '%s': %s", tmp.ptr, dir,
			strerror(errno));
		goto fail;
	}
	if (!o->quiet)
		printf("%s: restored from '%s': the database, %zu blob%s, %zu "
		       "log%s%s\n",
		       dir, archive, nblobs, nblobs == 1 ? "" : "s", nlogs,
		       nlogs == 1 ? "" : "s", have_key ? ", secret.key" : "");
	if (!have_key)
		fprintf(stderr, "scaffold %s: warning: '%s' has no secret.key: "
				"password inputs stored before cannot be "
				"read\n",
			self->name, archive);
	ret = EXIT_OK;
	buf_reset(&tmp);
	goto out;
fail:
	fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
out:
	store_close(st);
	if (tmp.len)
		rm_rf(tmp.ptr);
	strvec_clear(&names);
	buf_release(&tmp);
	buf_release(&p);
	return ret;
}

static int
cmd_restore(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "dq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1)
		ret = cmd_usage_error(self, "expected the archive to restore");
	else if (dir_used(o.data_dir))
		ret = cmd_usage_error(self, "'%s' is not empty: restore into "
					    "a new or empty directory",
				      o.data_dir);
	else
		ret = restore(self, &o, argv[first]);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_restore_entry = {
	"restore",
	"make a data dir from a backup",
	"usage: scaffold restore [-d DIR] [-q] BACKUP.tar\n"
	"\n"
	"Make the data dir DIR, which must be new or empty, from a tar file\n"
	"written by 'scaffold backup'.  Members that would land outside DIR,\n"
	"and anything but plain files and directories, are refused; files\n"
	"come out 0600, directories 0700.  The database is checked before\n"
	"DIR is made: a bad archive leaves nothing behind.  Start scaffold\n"
	"serve on DIR afterwards: it fetches the git mirrors again.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"  -q, --quiet          print only problems\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 restored, 1 failed, 2 usage error.\n",
	cmd_restore,
};
