/* cmd-status.c - scaffold status: the state of every task. */
#include <jansson.h>
#include <stdio.h>

#include "cli.h"

/* The same from a daemon's API. */
static int
status_remote(const struct cmd_entry *self, const struct cmd_opts *o,
	      const char *spec)
{
	struct client *c = client_new(self, o->server);
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	if (!c)
		return EXIT_FINDING;
	if (spec) {
		if (client_cascade(c, spec, &v, NULL) < 0)
			goto out;
		v = json_pack("{s:[o]}", "cascades", v);
	} else if (client_json(c, "GET", "/api/v1/cascades", NULL, 0, NULL,
			       &v) < 0) {
		goto out;
	}
	print_status_view(v, o->json, NULL);
	ret = EXIT_OK;
out:
	json_decref(v);
	client_free(c);
	return ret;
}

static int
cmd_status(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	int64_t id = 0;
	struct cascade_row row;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "odS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first > 1) {
		ret = cmd_usage_error(self, "expected at most one CASCADE");
		goto out;
	}
	if (o.server) {
		ret = status_remote(self, &o,
				    argc - first == 1 ? argv[first] : NULL);
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (argc - first == 1) {
		if (cmd_cascade(self, st, argv[first], &row) < 0)
			goto out;
		id = row.id;
		cascade_row_release(&row);
	}
	if (print_status(st, &id, id ? 1 : 0, o.json, NULL) < 0) {
		fprintf(stderr, "scaffold status: %s\n", err_msg());
		goto out;
	}
	ret = EXIT_OK;
out:
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_status_entry = {
	"status",
	"show the state of every task",
	"usage: scaffold status [-d DIR | --server URL] [-o text|json]\n"
	"                       [[REPO/]CASCADE]\n"
	"\n"
	"Show each task's state, its number of runs and its last run, for\n"
	"every active cascade or only CASCADE.  Safe while another scaffold\n"
	"works on the same data dir.\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"      --server URL      ask scaffold serve at URL instead (default\n"
	"                        $SCAFFOLD_SERVER; token: $SCAFFOLD_TOKEN or\n"
	"                        ~/.scaffold/creds)\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -h, --help            show this help\n",
	cmd_status,
};
