/* cmd-logs.c - scaffold logs: the output of a task's run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int
cmd_logs(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct cascade_row row;
	struct task_row task;
	struct run_row run;
	struct buf path = BUF_INIT, log = BUF_INIT;
	struct cmd_opts o;
	int64_t id;
	int first, ret = EXIT_FINDING;

	memset(&row, 0, sizeof(row));
	memset(&task, 0, sizeof(task));
	memset(&run, 0, sizeof(run));
	first = cmd_parse(self, argc, argv, "dr", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 2) {
		ret = cmd_usage_error(self, "expected CASCADE and TASK");
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (store_cascade_lookup(st, argv[first], &row) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	if (store_task_find(st, row.id, argv[first + 1], &task) < 0) {
		fprintf(stderr, "scaffold logs: cascade '%s' has no task '%s'\n",
			argv[first], argv[first + 1]);
		goto out;
	}
	id = o.run ? o.run : task.last_run;
	if (!id) {
		fprintf(stderr, "scaffold logs: task '%s' has not run yet\n",
			task.name);
		goto out;
	}
	if (store_run_get(st, id, &run) < 0 || run.task_id != task.id) {
		fprintf(stderr, "scaffold logs: run %lld is not a run of "
				"'%s/%s'\n",
			(long long)id, row.name, task.name);
		goto out;
	}
	store_log_path(st, id, &path);
	if (buf_read_file(&log, path.ptr, (size_t)1 << 30) < 0) {
		fprintf(stderr, "scaffold logs: %s\n", err_msg());
		goto out;
	}
	fwrite(log.ptr, 1, log.len, stdout);
	ret = EXIT_OK;
out:
	run_row_release(&run);
	free(task.name);
	cascade_row_release(&row);
	buf_release(&path);
	buf_release(&log);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_logs_entry = {
	"logs",
	"print the log of a task's latest run (or of run N)",
	"usage: scaffold logs [-d DIR] [--run N] CASCADE TASK\n"
	"\n"
	"Print the output of the task's latest run, or of run N.  Password\n"
	"input values never appear: they were masked as they were written.\n"
	"\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"  -r, --run N          that run instead of the latest\n"
	"  -h, --help           show this help\n",
	cmd_logs,
};
