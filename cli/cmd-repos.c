/* cmd-repos.c - scaffold repos: the repositories and their revisions. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int
cmd_repos(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct repo_row *repos = NULL;
	struct revision_row *revs = NULL;
	size_t nrepos = 0, nrevs = 0, i, k;
	json_t *root = json_object(), *arr = json_array(), *r, *ra, *v;
	struct cmd_opts o;
	char *s;
	int first, ret = EXIT_FINDING;

	first = cmd_parse(self, argc, argv, "od", &o);
	if (first < 0) {
		json_decref(root);
		json_decref(arr);
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	}
	if (argc != first) {
		ret = cmd_usage_error(self, "expected no operands");
		goto out;
	}
	if (!(st = cmd_open_store(self, &o, 0)))
		goto out;
	if (store_repo_list(st, &repos, &nrepos) < 0)
		goto fail;
	if (!o.json)
		printf("%-16s %-12s %-12s %s\n", "REPO", "BRANCH", "APPLIED",
		       "STATE");
	for (i = 0; i < nrepos; i++) {
		if (store_revisions(st, repos[i].name, 20, &revs, &nrevs) < 0)
			goto fail;
		r = json_object();
		json_object_set_new(r, "name", jstr(repos[i].name));
		json_object_set_new(r, "url", jstr(repos[i].url));
		json_object_set_new(r, "branch", jstr(repos[i].branch));
		json_object_set_new(r, "head", jstr(repos[i].head));
		json_object_set_new(r, "applied", jstr(repos[i].applied));
		json_object_set_new(r, "last_error", jstr(repos[i].last_error));
		json_object_set_new(r, "failures",
				    json_integer(repos[i].failures));
		json_object_set_new(r, "branch_missing",
				    json_boolean(repos[i].branch_missing));
		ra = json_array();
		for (k = 0; k < nrevs; k++) {
			v = json_object();
			json_object_set_new(v, "commit", jstr(revs[k].commit_id));
			json_object_set_new(v, "author", jstr(revs[k].author));
			json_object_set_new(v, "subject", jstr(revs[k].subject));
			json_object_set_new(v, "time", json_integer(revs[k].time));
			json_object_set_new(v, "result", jstr(revs[k].result));
			json_object_set_new(v, "errors", jstr(revs[k].errors));
			json_array_append_new(ra, v);
		}
		json_object_set_new(r, "revisions", ra);
		json_array_append_new(arr, r);
		if (!o.json) {
			printf("%-16s %-12s %-12.12s %s\n", repos[i].name,
			       repos[i].branch,
			       repos[i].applied ? repos[i].applied : "-",
			       repos[i].last_error ? repos[i].last_error
						   : "ok");
			for (k = 0; k < nrevs && k < 5; k++)
				printf("  %.12s  %-18s %s\n",
				       revs[k].commit_id, revs[k].result,
				       revs[k].subject ? revs[k].subject : "");
		}
		revision_rows_free(revs, nrevs);
		revs = NULL;
		nrevs = 0;
	}
	if (o.json) {
		json_object_set_new(root, "repos", arr);
		arr = NULL;
		s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
	}
	ret = EXIT_OK;
	goto out;
fail:
	fprintf(stderr, "scaffold repos: %s\n", err_msg());
out:
	json_decref(arr);
	json_decref(root);
	repo_rows_free(repos, nrepos);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_repos_entry = {
	"repos",
	"show the repositories, their fetch state and revisions",
	"usage: scaffold repos [-d DIR] [-o text|json]\n"
	"\n"
	"For each repository the daemon mirrors: its branch, the commit last\n"
	"reconciled, the last fetch error if any, and the latest revisions\n"
	"seen with their result (applied, invalid with the errors, or no\n"
	"cascade change).\n"
	"\n"
	"  -d, --data-dir DIR    default ./.scaffold-data\n"
	"  -o, --output FORMAT   'text' (default) or 'json'\n"
	"  -h, --help            show this help\n",
	cmd_repos,
};
