/* cmd-plan.c - scaffold plan: which tasks a change to a cascade resets. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../webhook/webhook.h"

static void
print_json(const struct plan *p)
{
	json_t *o = view_plan(p, NULL, NULL);
	char *s;

	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(o);
}

static void
print_text(const struct plan *p)
{
	size_t i, w = 4;

	printf("cascade '%s': %zu changed, %zu added, %zu removed; "
	       "%zu task%s to reset, %zu unchanged\n",
	       p->cascade, p->count[PLAN_CHANGED], p->count[PLAN_ADDED],
	       p->count[PLAN_REMOVED], plan_reset_count(p),
	       plan_reset_count(p) == 1 ? "" : "s", p->count[PLAN_UNCHANGED]);
	if (p->n == p->count[PLAN_UNCHANGED]) {
		printf("nothing to do\n");
		return;
	}
	for (i = 0; i < p->n; i++)
		if (p->v[i].action != PLAN_UNCHANGED &&
		    strlen(p->v[i].task) > w)
			w = strlen(p->v[i].task);
	printf("\n%-*s  %-9s  %s\n", (int)w, "TASK", "ACTION", "REASON");
	for (i = 0; i < p->n; i++) {
		if (p->v[i].action == PLAN_UNCHANGED)
			continue;
		printf("%-*s  %-9s  %s\n", (int)w, p->v[i].task,
		       plan_action_names[p->v[i].action], p->v[i].reason);
	}
}

static int
cmd_plan(const struct cmd_entry *self, int argc, char **argv)
{
	struct diags diags = DIAGS_INIT;
	struct cascade *old = NULL, *new = NULL;
	struct plan plan;
	struct cmd_opts o;
	int first, ret = EXIT_FINDING, rold, rnew;

	first = cmd_parse(self, argc, argv, "o", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 2)
		return cmd_usage_error(self, "expected OLD and NEW files, "
					     "got %d operand%s",
				       argc - first,
				       argc - first == 1 ? "" : "s");
	rold = cascade_load_file(&old, argv[first], 1, &diags);
	rnew = cascade_load_file(&new, argv[first + 1], 1, &diags);
	diags_sort(&diags);
	diags_print(stderr, &diags);
	if ((rold < 0 && rold != ERR_NOTFOUND) ||
	    (rnew < 0 && rnew != ERR_NOTFOUND))
		goto out;
	if (!old && !new) {
		fprintf(stderr, "scaffold plan: both files are empty; nothing "
				"to compare\n");
		goto out;
	}
	if (old && new && strcmp(old->name, new->name))
		fprintf(stderr,
			"scaffold plan: note: the cascade is renamed from "
			"'%s' to '%s'; it starts afresh under the new name\n",
			old->name, new->name);
	if (new) {
		plan_compute(&plan, old && !strcmp(old->name, new->name) ? old
									 : NULL,
			     new, NULL, NULL);
	} else {
		/* NEW is empty: the cascade is removed, every task with it */
		size_t i;

		plan_compute(&plan, NULL, old, NULL, NULL);
		for (i = 0; i < plan.n; i++) {
			free(plan.v[i].reason);
			plan.v[i].action = PLAN_REMOVED;
			plan.v[i].reason = xstrdup("the cascade file is removed");
		}
		memset(plan.count, 0, sizeof(plan.count));
		plan.count[PLAN_REMOVED] = plan.n;
	}
	if (o.json)
		print_json(&plan);
	else
		print_text(&plan);
	plan_release(&plan);
	ret = EXIT_OK;
out:
	cascade_free(old);
	cascade_free(new);
	diags_release(&diags);
	return ret;
}

const struct cmd_entry cmd_plan_entry = {
	"plan",
	"show which tasks a change to a cascade resets, and why",
	"usage: scaffold plan [-o text|json] OLD.yaml NEW.yaml\n"
	"\n"
	"Compare two versions of a cascade: tasks added, removed and changed\n"
	"(with the fields that changed), and the reset set: the changed and\n"
	"added tasks and everything downstream of them.  OLD may be /dev/null\n"
	"(every task is added).\n"
	"\n"
	"  -o, --output FORMAT  'text' (default) or 'json'\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 plan printed, 1 a file is invalid, 2 usage error.\n",
	cmd_plan,
};
