/* cmd-serve.c - scaffold serve: the daemon. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int
cmd_serve(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct config *cf = NULL;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "cq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 0 || !o.config) {
		ret = cmd_usage_error(self, "expected --config FILE");
		goto out;
	}
	if (config_load(&cf, o.config, &diags) < 0) {
		diags_sort(&diags);
		diags_print(stderr, &diags);
		fprintf(stderr, "scaffold serve: the config is invalid; not "
				"started\n");
		goto out;
	}
	diags_print(stderr, &diags);
	if (!cf->data_dir) {
		fprintf(stderr, "%s: error: missing required key 'data_dir' "
				"(scaffold serve needs one)\n",
			o.config);
		goto out;
	}
	if (serve_run(cf, o.quiet) == 0)
		ret = EXIT_OK;
out:
	config_free(cf);
	diags_release(&diags);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_serve_entry = {
	"serve",
	"run the daemon: mirror the repositories, reconcile, run",
	"usage: scaffold serve --config FILE\n"
	"\n"
	"Mirror every repository of the config, reconcile each new revision\n"
	"of its branch (the cascade files under its 'path') and run what is\n"
	"ready.  Logs to stderr, each line after its time (ISO 8601, UTC, with\n"
	"milliseconds), or under journald (JOURNAL_STREAM) with the level as\n"
	"a syslog priority.  SIGHUP reloads the config: repos and hosts\n"
	"added, changed or removed, forge and webhook settings, limits; runs\n"
	"in progress go on; an invalid config is refused (its errors logged)\n"
	"and the running one stays.  SIGTERM or SIGINT stops it cleanly: runs\n"
	"in progress are stopped and run again at the next start.\n"
	"\n"
	"  -c, --config FILE   the configuration (YAML; see docs/config.md)\n"
	"  -q, --quiet         do not log each finished run\n"
	"  -h, --help          show this help\n",
	cmd_serve,
};
