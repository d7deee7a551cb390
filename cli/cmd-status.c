/* cmd-status.c - scaffold status: the state of every task. */
#include <stdio.h>

#include "cli.h"

static int
cmd_status(const struct cmd_entry *self, int argc, char **argv)
{
	struct strvec only = STRVEC_INIT;
	struct store *st = NULL;
	struct cascade_row row;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "od", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first > 1) {
		ret = cmd_usage_error(self, "expected at most one CASCADE");
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (argc - first == 1) {
		if (store_cascade_find(st, "", argv[first], &row) < 0 ||
		    !row.active) {
			fprintf(stderr, "scaffold status: no active cascade "
					"'%s' in '%s'\n",
				argv[first], o.data_dir);
			if (row.name)
				cascade_row_release(&row);
			goto out;
		}
		cascade_row_release(&row);
		strvec_push(&only, argv[first]);
	}
	if (print_status(st, &only, o.json, NULL) < 0) {
		fprintf(stderr, "scaffold status: %s\n", err_msg());
		goto out;
	}
	ret = EXIT_OK;
out:
	store_close(st);
	strvec_clear(&only);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_status_entry = {
	"status",
	"show the state of every task",
	"usage: scaffold status [-d DIR] [-o text|json] [CASCADE]\n"
	"\n"
	"Show each task's state, its number of runs and its last run, for\n"
	"every active cascade or only CASCADE.  Safe while another scaffold\n"
	"works on the same data dir.\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -h, --help            show this help\n",
	cmd_status,
};
