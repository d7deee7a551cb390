/* cmd-validate.c - scaffold validate: check cascade files offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
		if (cascade_load_file(&cs[i], paths.v[i], 0, &diags) < 0)
			continue;
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
