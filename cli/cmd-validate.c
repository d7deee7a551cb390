/* cmd-validate.c - scaffold validate: check cascade files offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/*
 * A daemon config given to validate by mistake: a top-level 'repos:',
 * 'data_dir:' or 'listen:' and no 'tasks:'.  1 with the first such key
 * and its line.
 */
static int
daemon_config_key(const char *path, char key[16], int *line)
{
	static const char *const keys[] = { "repos:", "data_dir:", "listen:" };
	struct buf b = BUF_INIT;
	const char *p;
	int n = 1, found = 0;
	size_t i;

	if (buf_read_file(&b, path, CASCADE_MAX_FILE_SIZE) < 0) {
		/* what it read before it failed is b's too */
		buf_release(&b);
		err_clear();
		return 0;
	}
	for (p = b.ptr; p && *p; n++) {
		if (!strncmp(p, "tasks:", 6)) {
			found = 0;
			break;
		}
		for (i = 0; i < ARRAY_SIZE(keys) && !found; i++)
			if (!strncmp(p, keys[i], strlen(keys[i]))) {
				snprintf(key, 16, "%.*s",
					 (int)strlen(keys[i]) - 1, keys[i]);
				*line = n;
				found = 1;
			}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	buf_release(&b);
	return found;
}

/* The diagnostics of file replaced by one: it is a daemon config. */
static void
say_daemon_config(struct diags *diags, const char *file, const char *key,
		  int line)
{
	struct diags keep = DIAGS_INIT;
	size_t i;

	for (i = 0; i < diags->n; i++)
		if (strcmp(diags->v[i].file, file))
			diags_add(&keep, diags->v[i].sev, diags->v[i].file,
				  diags->v[i].pos, "%s", diags->v[i].msg);
	diags_add(&keep, DIAG_ERROR, file, (struct pos){ line, 1 },
		  "this looks like a daemon config (top-level '%s'), not a "
		  "cascade: check it with 'scaffold config check --config %s'",
		  key, file);
	diags_release(diags);
	*diags = keep;
}

static int
cmd_validate(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct strvec paths = STRVEC_INIT;
	struct strmap names = STRMAP_INIT;
	struct cmd_opts o;
	struct cascade **cs = NULL;
	size_t i, ok = 0;
	int first, ret;
	const struct cascade *prev;

	first = cmd_parse(self, argc, argv, "q", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (first >= argc)
		return cmd_usage_error(self, "no files given");
	cascade_paths(&paths, argv + first, argc - first, &diags);
	cs = xcalloc(paths.n + 1, sizeof(*cs));
	for (i = 0; i < paths.n; i++) {
		if (cascade_load_file(&cs[i], paths.v[i], 0, &diags) < 0) {
			char key[16];
			int line;

			if (daemon_config_key(paths.v[i], key, &line))
				say_daemon_config(&diags, paths.v[i], key,
						  line);
			continue;
		}
		prev = strmap_get(&names, cs[i]->name);
		if (!prev) {
			strmap_put(&names, cs[i]->name, cs[i]);
		} else {
			diags_add(&diags, DIAG_ERROR, paths.v[i],
				  cs[i]->name_pos,
				  "cascade name '%s' is also used by '%s'",
				  cs[i]->name, prev->file);
			continue;
		}
		ok++;
	}
	diags_sort(&diags);
	diags_print(stderr, &diags);
	if (!o.quiet) {
		for (i = 0; i < paths.n; i++)
			if (cs[i] && strmap_get(&names, cs[i]->name) == cs[i])
				printf("%s: ok (cascade '%s', %zu task%s)\n",
				       paths.v[i], cs[i]->name, cs[i]->ntasks,
				       cs[i]->ntasks == 1 ? "" : "s");
	}
	ret = diags.nerrors ? EXIT_FINDING : EXIT_OK;
	if (diags.nerrors && !o.quiet)
		fprintf(stderr, "%zu error%s, %zu warning%s in %zu file%s\n",
			diags.nerrors, diags.nerrors == 1 ? "" : "s",
			diags.nwarnings, diags.nwarnings == 1 ? "" : "s",
			paths.n, paths.n == 1 ? "" : "s");
	for (i = 0; i < paths.n; i++)
		cascade_free(cs[i]);
	free(cs);
	strmap_release(&names);
	strvec_clear(&paths);
	diags_release(&diags);
	return ret;
}

const struct cmd_entry cmd_validate_entry = {
	"validate",
	"check cascade files and report every problem",
	"usage: scaffold validate [-q] FILE|DIR...\n"
	"\n"
	"Check cascade files without a daemon.  A directory stands for its\n"
	"*.yaml and *.yml files.  Every problem is printed on stderr as\n"
	"FILE:LINE:COL: error: MESSAGE.\n"
	"\n"
	"  -q, --quiet   print only problems\n"
	"  -h, --help    show this help\n"
	"\n"
	"Exit status: 0 all valid, 1 errors found, 2 usage error.\n",
	cmd_validate,
};
