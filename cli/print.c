/*
 * print.c - text and JSON printers of the API's views (repos, inputs, the
 * file store), shared by the data-dir and the --server forms of each
 * command so that both print the same bytes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char *
str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/*
 * The string at key (dflt when absent) escaped for the terminal: every
 * string of a view may come from a repository (escape_text); b owns it.
 */
static const char *
esc_or(struct buf *b, json_t *o, const char *key, const char *dflt)
{
	return escape_text(b, str_or(o, key, dflt));
}

static json_t *
copy_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v ? json_incref(v) : json_null();
}

static void
print_json(json_t *root)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	puts(s ? s : "{}");
	free(s);
}

/* Keep only keys[] of o, in that order (absent ones null). */
static json_t *
project(json_t *o, const char *const *keys)
{
	json_t *p = json_object();

	for (; *keys; keys++)
		json_object_set_new(p, *keys, copy_of(o, *keys));
	return p;
}

void
print_repos_view(json_t *view, int json)
{
	static const char *const repo_keys[] = {
		"name",	      "url",	  "branch",	    "head", "applied",
		"last_error", "failures", "branch_missing", NULL,
	};
	static const char *const rev_keys[] = {
		"commit", "author", "subject", "time", "result", "errors", NULL,
	};
	json_t *arr = json_array(), *r, *o, *ra, *v;
	struct buf e[4] = { BUF_INIT, BUF_INIT, BUF_INIT, BUF_INIT };
	size_t i, k;

	if (!json)
		printf("%-16s %-12s %-12s %s\n", "REPO", "BRANCH", "APPLIED",
		       "STATE");
	json_array_foreach(json_object_get(view, "repos"), i, r) {
		o = project(r, repo_keys);
		ra = json_array();
		json_array_foreach(json_object_get(r, "revisions"), k, v)
			json_array_append_new(ra, project(v, rev_keys));
		json_object_set_new(o, "revisions", ra);
		json_array_append_new(arr, o);
		if (json)
			continue;
		printf("%-16s %-12s %-12.12s %s\n", esc_or(&e[0], r, "name", ""),
		       esc_or(&e[1], r, "branch", ""),
		       esc_or(&e[2], r, "applied", "-"),
		       esc_or(&e[3], r, "last_error", "ok"));
		json_array_foreach(json_object_get(r, "revisions"), k, v) {
			if (k >= 5)
				break;
			printf("  %.12s  %-18s %s\n",
			       esc_or(&e[0], v, "commit", ""),
			       esc_or(&e[1], v, "result", ""),
			       esc_or(&e[2], v, "subject", ""));
		}
	}
	for (k = 0; k < ARRAY_SIZE(e); k++)
		buf_release(&e[k]);
	if (json) {
		o = json_pack("{s:o}", "repos", arr);
		print_json(o);
		json_decref(o);
	} else {
		json_decref(arr);
	}
}

void
print_inputs_view(json_t *view, int json)
{
	struct buf esc = BUF_INIT;
	const char *source, *value;
	json_t *in, *jv;
	size_t i;

	if (json) {
		print_json(view);
		return;
	}
	printf("%-24s %-9s %-8s %s\n", "NAME", "TYPE", "SOURCE", "VALUE");
	json_array_foreach(json_object_get(view, "inputs"), i, in) {
		source = str_or(in, "source", "unset");
		printf("%-24s %-9s %-8s ", esc_or(&esc, in, "name", ""),
		       str_or(in, "type", ""), source);
		jv = json_object_get(in, "value");
		value = json_string_value(jv);
		if (!strcmp(source, "unset")) {
			printf("-\n");
		} else if (!strcmp(str_or(in, "type", ""), "password")) {
			printf("********\n");
		} else {
			buf_reset(&esc);
			if (value)
				escape_log(&esc, value, json_string_length(jv));
			printf("%s\n", esc.ptr);
		}
	}
	buf_release(&esc);
}

void
print_files_view(json_t *view, int json)
{
	struct buf e[2] = { BUF_INIT, BUF_INIT };
	char when[32];
	json_int_t size;
	time_t t;
	struct tm tm;
	json_t *f;
	size_t i;

	if (json) {
		print_json(view);
		return;
	}
	printf("%-40s %10s  %-20s  %s\n", "NAME", "SIZE", "UPDATED", "SHA256");
	json_array_foreach(json_object_get(view, "files"), i, f) {
		size = json_integer_value(json_object_get(f, "size"));
		t = (time_t)(json_integer_value(json_object_get(f,
								"updated_at")) /
			     1000);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-40s %10lld  %-20s  %.12s\n",
		       esc_or(&e[0], f, "name", ""), (long long)size, when,
		       esc_or(&e[1], f, "sha256", ""));
	}
	buf_release(&e[0]);
	buf_release(&e[1]);
}
