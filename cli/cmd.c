/* cmd.c - option parsing and operand expansion shared by the commands. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

int
cmd_usage_error(const struct cmd_entry *self, const char *fmt, ...)
{
	va_list ap;
	const char *nl = strchr(self->usage, '\n');

	fprintf(stderr, "scaffold %s: ", self->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%.*s\n", nl ? (int)(nl - self->usage) : 1000,
		self->usage);
	return EXIT_USAGE;
}

int
cmd_help(const struct cmd_entry *self)
{
	fputs(self->usage, stdout);
	return EXIT_OK;
}

int
cmd_parse(const struct cmd_entry *self, int argc, char **argv,
	  const char *allowed, struct cmd_opts *opts)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(opts, 0, sizeof(*opts));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:q", longopts, NULL)) != -1) {
		if (c != '?' && c != ':' && c != 'h' && !strchr(allowed, c)) {
			cmd_usage_error(self, "unknown option '%s'",
					argv[optind - 1]);
			return -2;
		}
		switch (c) {
		case 'h':
			cmd_help(self);
			return -1;
		case 'o':
			if (!strcmp(optarg, "json")) {
				opts->json = 1;
			} else if (!strcmp(optarg, "text")) {
				opts->json = 0;
			} else {
				cmd_usage_error(self,
						"unknown output format '%s' "
						"(expected 'text' or 'json')",
						optarg);
				return -2;
			}
			break;
		case 'q':
			opts->quiet = 1;
			break;
		default:
			if (optopt && strchr("o", optopt))
				cmd_usage_error(self, "option '-%c' needs a "
						      "value",
						optopt);
			else
				cmd_usage_error(self, "unknown option '%s'",
						argv[optind - 1]);
			return -2;
		}
	}
	return optind;
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
is_cascade_name(const char *n)
{
	size_t l = strlen(n);

	if (n[0] == '.')
		return 0;
	return (l > 5 && !strcmp(n + l - 5, ".yaml")) ||
	       (l > 4 && !strcmp(n + l - 4, ".yml"));
}

int
cascade_paths(struct strvec *out, char **argv, int argc, struct diags *diags)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;
	size_t first;
	int i, ret = 0;

	for (i = 0; i < argc; i++) {
		if (stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) {
			strvec_push(out, argv[i]);
			continue;
		}
		dir = opendir(argv[i]);
		if (!dir) {
			diags_add(diags, DIAG_ERROR, argv[i],
				  (struct pos){ 0, 0 }, "cannot open: %s",
				  strerror(errno));
			ret = -1;
			continue;
		}
		first = out->n;
		while ((de = readdir(dir)))
			if (is_cascade_name(de->d_name))
				strvec_pushf(out, "%s%s%s", argv[i],
					     argv[i][strlen(argv[i]) - 1] == '/'
						     ? ""
						     : "/",
					     de->d_name);
		closedir(dir);
		if (out->n == first) {
			diags_add(diags, DIAG_ERROR, argv[i],
				  (struct pos){ 0, 0 },
				  "no cascade files (*.yaml, *.yml) in this "
				  "directory");
			ret = -1;
		}
		qsort(out->v + first, out->n - first, sizeof(char *),
		      cmp_path);
	}
	return ret;
}
