/*
 * cmd-gc.c - scaffold gc: retention on demand.  The daemon applies the
 * config's 'retention' every hour; this does it now, or with --dry-run
 * says what it would remove.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static int
cmd_gc(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct config *cf = NULL;
	struct store *st = NULL;
	struct gc_stats gs;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING, lockfd = -1;
	int64_t grace = 0;
	char freed[32], size[32];

	first = cmd_parse(self, argc, argv, "dcnq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 0) {
		ret = cmd_usage_error(self, "unexpected '%s'", argv[first]);
		goto out;
	}
	if (o.config) {
		if (config_load(&cf, o.config, &diags) < 0) {
			diags_sort(&diags);
			diags_print(stderr, &diags);
			fprintf(stderr, "scaffold gc: the config is invalid\n");
			goto out;
		}
		if (!o.data_dir_given && cf->data_dir)
			o.data_dir = cf->data_dir;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	/* with the daemon running, blobs it may be about to record stay */
	if (lock_dir(&lockfd, o.data_dir) == ERR_CONFLICT) {
		grace = 3600 * 1000;
		err_clear();
	}
	if (gc_run(st, o.data_dir, cf, grace, o.dry_run, &gs) < 0) {
		fprintf(stderr, "scaffold gc: %s\n", err_msg());
		goto out;
	}
	size_format(freed, sizeof(freed), gs.freed_bytes);
	size_format(size, sizeof(size), gs.data_bytes);
	if (!o.quiet)
		printf("%s%lld run%s (%lld log%s), %lld check run%s (%lld "
		       "log%s), %lld blob%s, %lld deliver%s; %s %s, the data "
		       "dir holds %s%s\n",
		       o.dry_run ? "would remove " : "removed ",
		       (long long)gs.runs, gs.runs == 1 ? "" : "s",
		       (long long)gs.logs, gs.logs == 1 ? "" : "s",
		       (long long)gs.checks, gs.checks == 1 ? "" : "s",
		       (long long)gs.check_logs, gs.check_logs == 1 ? "" : "s",
		       (long long)gs.blobs, gs.blobs == 1 ? "" : "s",
		       (long long)gs.deliveries,
		       gs.deliveries == 1 ? "y" : "ies", freed,
		       o.dry_run ? "would be freed" : "freed", size,
		       grace ? " (the daemon runs: blobs of the last hour "
			       "kept)"
			     : "");
	ret = EXIT_OK;
out:
	if (lockfd >= 0)
		close(lockfd);
	store_close(st);
	config_free(cf);
	diags_release(&diags);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_gc_entry = {
	"gc",
	"remove old runs, their logs and unreferenced blobs now",
	"usage: scaffold gc [--dry-run] [-d DIR] [--config FILE] [-q]\n"
	"\n"
	"Apply the config's 'retention' (docs/config.md) now, as scaffold\n"
	"serve does every hour: runs older than retention.runs or beyond\n"
	"the retention.keep_last_runs newest of their task go, with their\n"
	"logs (never a running run, never a task's last one); so do the\n"
	"drift probes' check runs, by the same two rules; processed\n"
	"webhook deliveries older than retention.deliveries go; then every\n"
	"blob (stored or uploaded file) nothing refers to.  Without --config,\n"
	"only the blobs.  Safe while the daemon runs (blobs written in the\n"
	"last hour are then kept).\n"
	"\n"
	"  -d, --data-dir DIR   default the config's data_dir, else\n"
	"                       ./.scaffold-data\n"
	"  -c, --config FILE    the daemon's config, for its 'retention'\n"
	"  -n, --dry-run        say what would go; remove nothing\n"
	"  -q, --quiet          print only problems\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 done, 1 failed, 2 usage error.\n",
	cmd_gc,
};
