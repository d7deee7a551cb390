/* cmd-kill.c - scaffold kill: stop a running run. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

/* POST /api/v1/runs/ID/kill */
static int
kill_remote(const struct cmd_entry *self, const struct cmd_opts *o,
	    long long id)
{
	struct client *c = client_new(self, o->server);
	struct buf path = BUF_INIT;
	json_t *v = NULL;
	int ret = EXIT_FINDING;

	if (!c)
		return EXIT_FINDING;
	buf_addf(&path, "/api/v1/runs/%lld/kill", id);
	if (client_json(c, "POST", path.ptr, NULL, 0, NULL, &v) == 0) {
		printf("kill requested for run %lld\n", id);
		ret = EXIT_OK;
	}
	json_decref(v);
	buf_release(&path);
	client_free(c);
	return ret;
}

static int
cmd_kill(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct sched *s = NULL;
	struct cmd_opts o;
	char *end;
	long long id;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "dS", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1) {
		ret = cmd_usage_error(self, "expected one RUN id");
		goto out;
	}
	id = strtoll(argv[first], &end, 10);
	if (*end || id < 1) {
		ret = cmd_usage_error(self, "'%s' is not a run id",
				      argv[first]);
		goto out;
	}
	if (o.server) {
		ret = kill_remote(self, &o, id);
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	sched_new(&s, st);
	if (sched_kill(s, id) < 0) {
		fprintf(stderr, "scaffold kill: %s\n", err_msg());
		goto out;
	}
	printf("kill requested for run %lld\n", id);
	ret = EXIT_OK;
out:
	sched_free(s);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_kill_entry = {
	"kill",
	"stop a running run",
	"usage: scaffold kill [-d DIR | --server URL] RUN\n"
	"\n"
	"Ask the scaffold that runs RUN to stop it: its whole process group\n"
	"is terminated and the run ends 'killed'.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"      --server URL     ask scaffold serve at URL (default\n"
	"                       $SCAFFOLD_SERVER)\n"
	"  -h, --help           show this help\n",
	cmd_kill,
};
