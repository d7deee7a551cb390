/* cmd.c - option parsing and operand expansion shared by the commands. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "../runner/runner.h"

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
		{ "data-dir", required_argument, NULL, 'd' },
		{ "input", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, 'f' },
		{ "run", required_argument, NULL, 'r' },
		{ "max-parallel", required_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' },
		{ "server", required_argument, NULL, 'S' },
		{ "follow", no_argument, NULL, 'F' },
		{ "check", no_argument, NULL, 'K' },
		{ "limit", required_argument, NULL, 'L' },
		{ "host", required_argument, NULL, 'H' },
		{ "connect", no_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env_server = getenv("SCAFFOLD_SERVER");
	int explicit_dir = 0;
	char *end;
	long v;
	int c;

	memset(opts, 0, sizeof(*opts));
	strvec_init(&opts->inputs);
	opts->data_dir = getenv("SCAFFOLD_DATA_DIR");
	if (!opts->data_dir || !*opts->data_dir)
		opts->data_dir = DEFAULT_DATA_DIR;
	opts->max_parallel = 4;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "ho:qd:i:fr:j:c:n", longopts,
				NULL)) != -1) {
		/* -f is --follow for a command that has no --force */
		if (c == 'f' && !strchr(allowed, 'f') && strchr(allowed, 'F'))
			c = 'F';
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
		case 'd':
			opts->data_dir = optarg;
			explicit_dir = 1;
			opts->data_dir_given = 1;
			break;
		case 'S':
			if (!*optarg) {
				cmd_usage_error(self, "--server needs a URL");
				return -2;
			}
			opts->server = optarg;
			opts->server_given = 1;
			break;
		case 'F':
			opts->follow = 1;
			break;
		case 'K':
			opts->check = 1;
			break;
		case 'H':
			if (!*optarg) {
				cmd_usage_error(self, "--host needs a host "
						      "name");
				return -2;
			}
			opts->host = optarg;
			break;
		case 'C':
			opts->connect = 1;
			break;
		case 'n':
			opts->dry_run = 1;
			break;
		case 'i':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				cmd_usage_error(self, "--input takes NAME=VALUE, "
						      "not '%s'",
						optarg);
				return -2;
			}
			strvec_push(&opts->inputs, optarg);
			break;
		case 'f':
			opts->force = 1;
			break;
		case 'c':
			opts->config = optarg;
			break;
		case 'r':
		case 'j':
		case 'L':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || (c == 'j' && v > 256) ||
			    (c == 'L' && v > 1000)) {
				cmd_usage_error(self, "%s takes a number%s, "
						      "not '%s'",
						c == 'r'   ? "--run"
						: c == 'L' ? "--limit"
							   : "--max-parallel",
						c == 'j'   ? " from 1 to 256"
						: c == 'L' ? " from 1 to 1000"
							   : "",
						optarg);
				return -2;
			}
			if (c == 'r')
				opts->run = v;
			else if (c == 'L')
				opts->limit = (int)v;
			else
				opts->max_parallel = (int)v;
			break;
		default:
			if ((optopt && strchr("odirjc", optopt)) ||
			    optopt == 'S' || optopt == 'L' || optopt == 'H')
				cmd_usage_error(self, "option '%s' needs a "
						      "value",
						argv[optind - 1]);
			else
				cmd_usage_error(self, "unknown option '%s'",
						argv[optind - 1]);
			return -2;
		}
	}
	if (opts->server && explicit_dir) {
		cmd_usage_error(self, "--server and --data-dir exclude each "
				      "other");
		return -2;
	}
	/* SCAFFOLD_SERVER unless the data dir is named */
	if (!opts->server && !explicit_dir && strchr(allowed, 'S') &&
	    env_server && *env_server)
		opts->server = env_server;
	return optind;
}

void
cmd_opts_release(struct cmd_opts *opts)
{
	strvec_clear(&opts->inputs);
}

struct store *
cmd_open_store(const struct cmd_entry *self, const struct cmd_opts *opts,
	       int create)
{
	struct store *st = NULL;

	if ((create ? store_open(&st, opts->data_dir)
		    : store_open_existing(&st, opts->data_dir)) < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		return NULL;
	}
	return st;
}

int
cmd_runners_setup(const struct cmd_entry *self, const char *config_path,
		  struct config **out)
{
	struct diags diags = DIAGS_INIT;
	struct config *cf = NULL;

	*out = NULL;
	if (config_path) {
		if (config_load(&cf, config_path, &diags) < 0) {
			diags_sort(&diags);
			diags_print(stderr, &diags);
			fprintf(stderr, "scaffold %s: the config is invalid\n",
				self->name);
			diags_release(&diags);
			return -1;
		}
		diags_release(&diags);
		runner_docker_configure(cf->docker_socket,
					cf->docker_keep_failed);
		runners_configure_hosts(cf);
		runner_store_limits(cf->store_file_max, cf->store_run_max);
		runner_log_limit(cf->run_log_max);
		*out = cf;
		return 0;
	}
	/* without a config, the engine's socket may come from the env */
	runner_docker_configure(getenv("SCAFFOLD_DOCKER_SOCKET"), 0);
	return 0;
}

int
cmd_lock(const struct cmd_entry *self, const char *data_dir, int *fd)
{
	if (mkdir_p(data_dir, 0700) < 0 || lock_dir(fd, data_dir) < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		return -1;
	}
	return 0;
}

int
cmd_lock_or_daemon(const struct cmd_entry *self, const char *data_dir,
		   int *fd, int *daemon)
{
	int ret;

	*daemon = 0;
	if (mkdir_p(data_dir, 0700) < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		return -1;
	}
	ret = lock_dir(fd, data_dir);
	if (ret == ERR_CONFLICT && lock_held_by(data_dir, "serve")) {
		/* the daemon runs what the store says is waiting */
		*daemon = 1;
		return 0;
	}
	if (ret < 0) {
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
		return -1;
	}
	return 0;
}

int
cmd_cascade(const struct cmd_entry *self, struct store *st, const char *spec,
	    struct cascade_row *out)
{
	int ret = store_cascade_lookup(st, spec, out);

	if (ret == 0 && !out->active) {
		err_set("cascade '%s' is no longer active (its file was "
			"removed)",
			spec);
		cascade_row_release(out);
		ret = ERR_NOTFOUND;
	}
	if (ret < 0)
		fprintf(stderr, "scaffold %s: %s\n", self->name, err_msg());
	return ret;
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
