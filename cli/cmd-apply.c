/*
 * cmd-apply.c - scaffold apply: treat cascade files as a new revision,
 * reconcile the data dir against them and run until nothing is left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int
cmd_apply(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct strvec paths = STRVEC_INIT, names = STRVEC_INIT;
	struct cmd_opts o;
	struct config *cf = NULL;
	struct buf *src = NULL, report = BUF_INIT, rev = BUF_INIT;
	struct sched_def *defs = NULL;
	struct store *st = NULL;
	struct sched *s = NULL;
	struct sha256_ctx *h;
	char hex[SHA256_HEX_LEN + 1];
	int64_t *ids = NULL;
	struct stat sb;
	size_t i, j;
	int first, ret = EXIT_FINDING, lockfd = -1, all_ok = 0, isdir;

	first = cmd_parse(self, argc, argv, "oqdijc", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1) {
		ret = cmd_usage_error(self, "expected one PATH, got %d",
				      argc - first);
		goto out;
	}
	isdir = stat(argv[first], &sb) == 0 && S_ISDIR(sb.st_mode);
	cascade_paths(&paths, argv + first, 1, &diags);
	defs = xcalloc(paths.n + 1, sizeof(*defs));
	src = xcalloc(paths.n + 1, sizeof(*src));
	h = sha256_new();
	for (i = 0; i < paths.n; i++) {
		buf_init(&src[i]);
		if (buf_read_file(&src[i], paths.v[i], CASCADE_MAX_FILE_SIZE) <
		    0) {
			diags_add(&diags, DIAG_ERROR, paths.v[i],
				  (struct pos){ 0, 0 }, "%s", err_msg());
			continue;
		}
		sha256_update(h, src[i].ptr, src[i].len);
		if (cascade_load(&defs[i].cascade, paths.v[i], src[i].ptr,
				 src[i].len, 0, &diags) < 0)
			continue;
		defs[i].source = src[i].ptr;
		defs[i].file = paths.v[i];
		for (j = 0; j < i; j++)
			if (defs[j].cascade &&
			    !strcmp(defs[j].cascade->name,
				    defs[i].cascade->name))
				diags_add(&diags, DIAG_ERROR, paths.v[i],
					  defs[i].cascade->name_pos,
					  "cascade name '%s' is also used by "
					  "'%s'",
					  defs[i].cascade->name, paths.v[j]);
		strvec_push(&names, defs[i].cascade->name);
	}
	sha256_final_hex(h, hex);
	diags_sort(&diags);
	if (diags.nerrors) {
		diags_print(stderr, &diags);
		fprintf(stderr, "scaffold apply: nothing applied: fix the "
				"errors above first\n");
		goto out;
	}
	/* every --input must name an input some cascade declares */
	for (i = 0; i < o.inputs.n; i++) {
		size_t nl = strcspn(o.inputs.v[i], "=");
		int found = 0;

		for (j = 0; j < paths.n; j++) {
			struct buf nm = BUF_INIT;

			buf_add(&nm, o.inputs.v[i], nl);
			if (cascade_input(defs[j].cascade, nm.ptr))
				found = 1;
			buf_release(&nm);
		}
		if (!found) {
			ret = cmd_usage_error(self, "no cascade in '%s' "
						    "declares input '%.*s'",
					      argv[first], (int)nl,
					      o.inputs.v[i]);
			goto out;
		}
	}
	if (cmd_runners_setup(self, o.config, &cf) < 0)
		goto out;
	if (cmd_lock(self, o.data_dir, &lockfd) < 0 ||
	    !(st = cmd_open_store(self, &o, 1)))
		goto out;
	/* the warnings, but not of loads the file store satisfies now */
	file_store_loads(st, "", defs, paths.n, &diags, 0, NULL, NULL);
	diags_print(stderr, &diags);
	if (runners_configure_local(cf, o.data_dir) < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		goto out;
	}
	sched_new(&s, st);
	buf_addf(&rev, "local-%.12s", hex);
	if (sched_apply(s, "", rev.ptr, defs, paths.n, isdir, NULL, &report) < 0)
		goto fail;
	for (i = 0; i < o.inputs.n; i++) {
		size_t nl = strcspn(o.inputs.v[i], "=");
		const char *val = o.inputs.v[i] + nl + 1;
		struct buf nm = BUF_INIT;

		buf_add(&nm, o.inputs.v[i], nl);
		for (j = 0; j < paths.n; j++) {
			if (!cascade_input(defs[j].cascade, nm.ptr))
				continue;
			if (sched_input_set(s, "", defs[j].cascade->name,
					    nm.ptr, val, strlen(val),
					    NULL) < 0) {
				buf_release(&nm);
				goto fail;
			}
		}
		buf_release(&nm);
	}
	if (!o.quiet)
		fputs(report.ptr, stderr);
	if (exec_until_idle(st, s, o.max_parallel, o.quiet) < 0)
		goto fail;
	ids = xcalloc(paths.n + 1, sizeof(*ids));
	for (i = 0; i < paths.n; i++) {
		struct cascade_row row;

		if (store_cascade_find(st, "", defs[i].cascade->name, &row) < 0)
			goto fail;
		ids[i] = row.id;
		cascade_row_release(&row);
	}
	if (print_status(st, ids, paths.n, o.json, &all_ok) < 0)
		goto fail;
	ret = all_ok ? EXIT_OK : EXIT_FINDING;
	goto out;
fail:
	fprintf(stderr, "scaffold apply: %s\n", err_msg());
	ret = EXIT_FINDING;
out:
	for (i = 0; defs && i < paths.n; i++) {
		cascade_free(defs[i].cascade);
		buf_release(&src[i]);
	}
	free(defs);
	free(src);
	free(ids);
	sched_free(s);
	store_close(st);
	config_free(cf);
	if (lockfd >= 0)
		close(lockfd);
	buf_release(&report);
	buf_release(&rev);
	strvec_clear(&paths);
	strvec_clear(&names);
	diags_release(&diags);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_apply_entry = {
	"apply",
	"apply cascade files to a data dir and run what they need",
	"usage: scaffold apply [options] PATH\n"
	"\n"
	"Treat PATH (a cascade file, or a folder of them) as a new revision:\n"
	"validate it, reset the tasks whose definition changed and everything\n"
	"downstream of them, run what is ready until nothing is left, and\n"
	"print the final states.  Applying the same files again runs nothing.\n"
	"A folder stands for a whole repository: cascades applied from it\n"
	"before and missing now are deactivated.\n"
	"\n"
	"  -d, --data-dir DIR      state, logs and stored files (default\n"
	"                          ./.scaffold-data, or $SCAFFOLD_DATA_DIR)\n"
	"  -i, --input NAME=VALUE  set an input first (repeatable)\n"
	"  -j, --max-parallel N    run at most N tasks at once (default 4)\n"
	"  -c, --config FILE       the ssh host inventory and docker settings\n"
	"                          (the serve config; see docs/config.md)\n"
	"  -o, --output FORMAT     'text' (default) or 'json'\n"
	"  -q, --quiet             print only the final states\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 every task succeeded, 1 a task did not (or the files\n"
	"are invalid), 2 usage error.\n",
	cmd_apply,
};
