/*
 * cmd-file.c - scaffold file put|get|ls|rm: a cascade's file store, the
 * files tasks `load` when no task upstream stores them.  On a data dir
 * (safe beside a running daemon: each change is one transaction) or
 * through a daemon's API.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../webhook/webhook.h"

/* Where the command works: a store or a client, and the cascade there. */
struct target {
	struct store *st;
	struct client *c;
	struct cascade_row row; /* data dir */
	json_t *view;		/* daemon: the cascade */
	struct buf path;	/* daemon: its API path */
	const char *name;	/* the cascade's name */
};

static int
target_open(struct target *t, const struct cmd_entry *self,
	    const struct cmd_opts *o, const char *spec)
{
	memset(t, 0, sizeof(*t));
	buf_init(&t->path);
	if (o->server) {
		if (!(t->c = client_new(self, o->server)) ||
		    client_cascade(t->c, spec, &t->view, &t->path) < 0)
			return -1;
		t->name = json_string_value(json_object_get(t->view, "name"));
		if (!t->name)
			t->name = spec;
		return 0;
	}
	if (!(t->st = cmd_open_store(self, o, 0)) ||
	    cmd_cascade(self, t->st, spec, &t->row) < 0)
		return -1;
	t->name = t->row.name;
	return 0;
}

static void
target_close(struct target *t)
{
	cascade_row_release(&t->row);
	store_close(t->st);
	client_free(t->c);
	json_decref(t->view);
	buf_release(&t->path);
}

/* The API path of a file of the target. */
static void
file_path(struct buf *out, const struct target *t, const char *name)
{
	buf_reset(out);
	buf_addf(out, "%s/files/", t->path.ptr);
	client_path_add(out, name, 1);
}

static int
name_ok(const char *name)
{
	if (store_file_name_check(name) < 0) {
		fprintf(stderr, "scaffold file: %s\n", err_msg());
		return 0;
	}
	return 1;
}

/* The reset report of an answer ("cascade 'x': ...\n"), or "". */
static const char *
report_of(json_t *v)
{
	const char *r = json_string_value(json_object_get(v, "report"));

	return r ? r : "";
}

static void
print_one(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	puts(s ? s : "{}");
	free(s);
}

static int
file_put(const struct cmd_entry *self, const struct cmd_opts *o, int argc,
	 char **argv)
{
	struct target t;
	struct buf data = BUF_INIT, path = BUF_INIT;
	struct file_row f;
	json_t *v = NULL;
	struct sched *s = NULL;
	struct buf report = BUF_INIT;
	char chunk[65536];
	size_t n;
	int ret = EXIT_FINDING;

	memset(&f, 0, sizeof(f));
	memset(&t, 0, sizeof(t));
	if (argc != 2 && argc != 3)
		return cmd_usage_error(self, "expected put CASCADE NAME "
					     "[PATH|-]");
	if (!name_ok(argv[1]))
		return EXIT_FINDING;
	if (argc == 3 && strcmp(argv[2], "-")) {
		if (buf_read_file(&data, argv[2], (size_t)1 << 31) < 0) {
			fprintf(stderr, "scaffold file: %s\n", err_msg());
			goto out;
		}
	} else {
		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			buf_add(&data, chunk, n);
		if (ferror(stdin)) {
			fprintf(stderr,
				"scaffold file: cannot read stdin: %s\n",
				strerror(errno));
			goto out;
		}
	}
	if (target_open(&t, self, o, argv[0]) < 0)
		goto out;
	if (t.c) {
		file_path(&path, &t, argv[1]);
		if (client_json(t.c, "PUT", path.ptr, data.ptr, data.len,
				"application/octet-stream", &v) < 0)
			goto out;
	} else {
		char blob[SHA256_HEX_LEN + 1];

		sched_new(&s, t.st);
		if (store_blob_put_data(t.st, data.ptr, data.len, blob) < 0 ||
		    sched_file_put(s, t.row.id, argv[1], blob,
				   (int64_t)data.len, &f, NULL,
				   &report) < 0) {
			fprintf(stderr, "scaffold file: %s\n", err_msg());
			goto out;
		}
		v = view_file(&f);
		json_object_set_new(v, "report", json_string(report.ptr));
	}
	if (o->json)
		print_one(v);
	else if (!o->quiet)
		fprintf(stderr, "cascade '%s': file '%s' stored (%lld bytes)\n"
				"%s",
			t.name, argv[1],
			(long long)json_integer_value(json_object_get(v,
								      "size")),
			report_of(v));
	ret = EXIT_OK;
out:
	json_decref(v);
	free(f.name);
	buf_release(&data);
	buf_release(&path);
	buf_release(&report);
	sched_free(s);
	target_close(&t);
	return ret;
}

static int
file_get(const struct cmd_entry *self, const struct cmd_opts *o, int argc,
	 char **argv)
{
	struct target t;
	struct buf data = BUF_INIT, path = BUF_INIT;
	struct file_row f;
	FILE *out = stdout;
	int ret = EXIT_FINDING, r;

	memset(&f, 0, sizeof(f));
	memset(&t, 0, sizeof(t));
	if (argc != 2 && argc != 3)
		return cmd_usage_error(self, "expected get CASCADE NAME "
					     "[PATH|-]");
	if (!name_ok(argv[1]))
		return EXIT_FINDING;
	if (target_open(&t, self, o, argv[0]) < 0)
		goto out;
	if (t.c) {
		file_path(&path, &t, argv[1]);
		if (client_raw(t.c, "GET", path.ptr, NULL, 0, NULL, &data) < 0)
			goto out;
	} else {
		r = store_file_get(t.st, t.row.id, argv[1], &f);
		if (r == ERR_NOTFOUND) {
			fprintf(stderr, "scaffold file: cascade '%s' has no "
					"file '%s' in its file store\n",
				t.name, argv[1]);
			goto out;
		}
		store_blob_path(t.st, f.blob, &path);
		if (r < 0 || buf_read_file(&data, path.ptr,
					   (size_t)1 << 31) < 0) {
			fprintf(stderr, "scaffold file: %s\n", err_msg());
			goto out;
		}
	}
	if (argc == 3 && strcmp(argv[2], "-") &&
	    !(out = fopen(argv[2], "wb"))) {
		fprintf(stderr, "scaffold file: cannot create '%s': %s\n",
			argv[2], strerror(errno));
		goto out;
	}
	if (fwrite(data.ptr, 1, data.len, out) != data.len ||
	    fflush(out) != 0) {
		fprintf(stderr, "scaffold file: cannot write '%s': %s\n",
			out == stdout ? "stdout" : argv[2], strerror(errno));
		goto out;
	}
	ret = EXIT_OK;
out:
	if (out && out != stdout && fclose(out) != 0 && ret == EXIT_OK) {
		fprintf(stderr, "scaffold file: cannot write '%s': %s\n",
			argv[2], strerror(errno));
		ret = EXIT_FINDING;
	}
	free(f.name);
	buf_release(&data);
	buf_release(&path);
	target_close(&t);
	return ret;
}

static int
file_ls(const struct cmd_entry *self, const struct cmd_opts *o, int argc,
	char **argv)
{
	struct target t;
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	memset(&t, 0, sizeof(t));
	if (argc != 1)
		return cmd_usage_error(self, "expected ls CASCADE");
	if (target_open(&t, self, o, argv[0]) < 0)
		goto out;
	if (t.c) {
		buf_puts(&t.path, "/files");
		if (client_json(t.c, "GET", t.path.ptr, NULL, 0, NULL, &v) < 0)
			goto out;
	} else if (view_files(&v, t.st, &t.row) < 0) {
		fprintf(stderr, "scaffold file: %s\n", err_msg());
		goto out;
	}
	print_files_view(v, o->json);
	ret = EXIT_OK;
out:
	json_decref(v);
	target_close(&t);
	return ret;
}

static int
file_rm(const struct cmd_entry *self, const struct cmd_opts *o, int argc,
	char **argv)
{
	struct target t;
	struct sched *s = NULL;
	struct buf path = BUF_INIT, report = BUF_INIT;
	json_t *v = NULL;
	int ret = EXIT_FINDING, r;

	memset(&t, 0, sizeof(t));
	if (argc != 2)
		return cmd_usage_error(self, "expected rm CASCADE NAME");
	if (!name_ok(argv[1]))
		return EXIT_FINDING;
	if (target_open(&t, self, o, argv[0]) < 0)
		goto out;
	if (t.c) {
		file_path(&path, &t, argv[1]);
		if (client_json(t.c, "DELETE", path.ptr, NULL, 0, NULL, &v) < 0)
			goto out;
	} else {
		sched_new(&s, t.st);
		r = sched_file_delete(s, t.row.id, argv[1], &report);
		if (r == ERR_NOTFOUND) {
			fprintf(stderr, "scaffold file: cascade '%s' has no "
					"file '%s' in its file store\n",
				t.name, argv[1]);
			goto out;
		}
		if (r < 0) {
			fprintf(stderr, "scaffold file: %s\n", err_msg());
			goto out;
		}
	}
	if (!o->quiet)
		fprintf(stderr, "cascade '%s': file '%s' removed\n%s", t.name,
			argv[1], v ? report_of(v) : report.ptr);
	ret = EXIT_OK;
out:
	json_decref(v);
	buf_release(&path);
	buf_release(&report);
	sched_free(s);
	target_close(&t);
	return ret;
}

static int
cmd_file(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	const char *verb;
	int first, ret;

	first = cmd_parse(self, argc, argv, "odqS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	verb = first < argc ? argv[first] : "";
	argc -= first + 1;
	argv += first + 1;
	if (!strcmp(verb, "put"))
		ret = file_put(self, &o, argc, argv);
	else if (!strcmp(verb, "get"))
		ret = file_get(self, &o, argc, argv);
	else if (!strcmp(verb, "ls"))
		ret = file_ls(self, &o, argc, argv);
	else if (!strcmp(verb, "rm"))
		ret = file_rm(self, &o, argc, argv);
	else
		ret = cmd_usage_error(self, "expected put, get, ls or rm");
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_file_entry = {
	"file",
	"put, get, list or remove files of a cascade's file store",
	"usage: scaffold file put [-d DIR | --server URL] [-q] [-o json] "
	"CASCADE NAME [PATH|-]\n"
	"       scaffold file get [-d DIR | --server URL] CASCADE NAME "
	"[PATH|-]\n"
	"       scaffold file ls [-d DIR | --server URL] [-o text|json] "
	"CASCADE\n"
	"       scaffold file rm [-d DIR | --server URL] [-q] CASCADE NAME\n"
	"\n"
	"A cascade's file store holds files an operator provides: a task that\n"
	"loads a file no task upstream of it stores gets it from there.  NAME\n"
	"is the path the task loads (relative, inside the run dir, no '..').\n"
	"put reads PATH (stdin when absent or '-'); get writes to PATH\n"
	"(stdout when absent or '-').  The file's content is part of the\n"
	"fingerprint of the tasks that load it from the store: put (of new\n"
	"bytes) and rm reset them and their descendants, and print what\n"
	"reset; the ready ones run (on a daemon at once, else at the next\n"
	"apply).\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"      --server URL      ask scaffold serve at URL (default\n"
	"                        $SCAFFOLD_SERVER; token: $SCAFFOLD_TOKEN or\n"
	"                        ~/.scaffold/creds)\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -q, --quiet           print nothing on success (put, rm)\n"
	"  -h, --help            show this help\n",
	cmd_file,
};
