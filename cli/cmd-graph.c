/* cmd-graph.c - scaffold graph: a cascade's DAG in Graphviz DOT. */
#include <stdio.h>

#include "cli.h"

static int
cmd_graph(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct cascade *c = NULL;
	struct buf out = BUF_INIT;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1)
		return cmd_usage_error(self, "expected one FILE, got %d",
				       argc - first);
	cascade_load_file(&c, argv[first], 0, &diags);
	diags_sort(&diags);
	diags_print(stderr, &diags);
	if (c) {
		dag_write_dot(&out, c);
		fwrite(out.ptr, 1, out.len, stdout);
		ret = EXIT_OK;
	}
	buf_release(&out);
	cascade_free(c);
	diags_release(&diags);
	return ret;
}

const struct cmd_entry cmd_graph_entry = {
	"graph",
	"print a cascade's DAG in Graphviz DOT",
	"usage: scaffold graph FILE\n"
	"\n"
	"Print the cascade's tasks and dependencies as a Graphviz digraph:\n"
	"solid edges for 'success' dependencies, dashed red for 'error',\n"
	"dotted grey for 'always'.  Render it with: dot -Tsvg\n"
	"\n"
	"  -h, --help   show this help\n"
	"\n"
	"Exit status: 0 printed, 1 the file is invalid, 2 usage error.\n",
	cmd_graph,
};
