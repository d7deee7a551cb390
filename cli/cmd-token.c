/*
 * cmd-token.c - scaffold token create|ls|revoke: API tokens of a data dir.
 * A new token is printed once; the store keeps only a salted hash.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../webhook/webhook.h"

/* Take "--role R" / "--role=R" out of argv (cmd_parse does not know it). */
static int
take_role(int *argc, char **argv, const char **out)
{
	int i, j;

	*out = NULL;
	for (i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strncmp(argv[i], "--role=", 7)) {
			*out = argv[i] + 7;
			j = 1;
		} else if (!strcmp(argv[i], "--role")) {
			if (i + 1 >= *argc)
				return -1;
			*out = argv[i + 1];
			j = 2;
		} else {
			continue;
		}
		memmove(&argv[i], &argv[i + j],
			(size_t)(*argc - i - j + 1) * sizeof(*argv));
		*argc -= j;
		i--;
	}
	return 0;
}

static int
cmd_token(const struct cmd_entry *self, int argc, char **argv)
{
	struct store *st = NULL;
	struct cmd_opts o;
	struct buf tok = BUF_INIT;
	struct token_row *v = NULL;
	const char *role_s = NULL, *verb;
	size_t n = 0, i;
	enum role role = ROLE_VIEWER;
	int first, ret = EXIT_FINDING, rc;

	memset(&o, 0, sizeof(o));
	if (take_role(&argc, argv, &role_s) < 0)
		return cmd_usage_error(self, "--role needs a value");
	first = cmd_parse(self, argc, argv, "od", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (first >= argc) {
		ret = cmd_usage_error(self, "expected create, ls or revoke");
		goto out;
	}
	verb = argv[first];
	if (!strcmp(verb, "create")) {
		if (argc - first != 2) {
			ret = cmd_usage_error(self, "expected one NAME");
			goto out;
		}
		if (!role_s) {
			ret = cmd_usage_error(self, "--role admin|operator|"
						    "viewer is required");
			goto out;
		}
		if (role_parse(role_s, &role) < 0) {
			ret = cmd_usage_error(self, "unknown role '%s': use "
						    "admin, operator or viewer",
					      role_s);
			goto out;
		}
		if (!(st = cmd_open_store(self, &o, 1)))
			goto out;
		if (token_create(st, argv[first + 1], role, &tok) < 0) {
			fprintf(stderr, "scaffold token: %s\n", err_msg());
			goto out;
		}
		if (o.json)
			printf("{\"name\":\"%s\",\"role\":\"%s\",\"token\":"
			       "\"%s\"}\n",
			       argv[first + 1], role_name(role), tok.ptr);
		else
			printf("%s\n", tok.ptr);
		if (!o.quiet && !o.json)
			fprintf(stderr, "token '%s' (%s) created: it is shown "
					"only this once\n",
				argv[first + 1], role_name(role));
	} else if (!strcmp(verb, "ls")) {
		if (argc - first != 1 || role_s) {
			ret = cmd_usage_error(self, "ls takes no arguments");
			goto out;
		}
		if (!(st = cmd_open_store(self, &o, 0)))
			goto out;
		if (store_token_list(st, &v, &n) < 0) {
			fprintf(stderr, "scaffold token: %s\n", err_msg());
			goto out;
		}
		if (o.json)
			printf("[");
		else
			printf("%-24s %-9s %s\n", "NAME", "ROLE", "LAST USED");
		for (i = 0; i < n; i++) {
			char when[64] = "never";

			if (v[i].last_used_at) {
				time_t t = (time_t)(v[i].last_used_at / 1000);
				struct tm tm;

				gmtime_r(&t, &tm);
				strftime(when, sizeof(when),
					 "%Y-%m-%dT%H:%M:%SZ", &tm);
			}
			if (o.json)
				printf("%s{\"name\":\"%s\",\"role\":\"%s\","
				       "\"created_at\":%lld,\"last_used_at\":"
				       "%lld}",
				       i ? "," : "", v[i].name, v[i].role,
				       (long long)v[i].created_at,
				       (long long)v[i].last_used_at);
			else
				printf("%-24s %-9s %s\n", v[i].name, v[i].role,
				       when);
		}
		if (o.json)
			printf("]\n");
	} else if (!strcmp(verb, "revoke")) {
		if (argc - first != 2) {
			ret = cmd_usage_error(self, "expected one NAME");
			goto out;
		}
		if (!(st = cmd_open_store(self, &o, 0)))
			goto out;
		rc = store_token_delete(st, argv[first + 1]);
		if (rc < 0) {
			fprintf(stderr, "scaffold token: %s\n", err_msg());
			goto out;
		}
		printf("token '%s' revoked\n", argv[first + 1]);
	} else {
		ret = cmd_usage_error(self, "unknown action '%s': use create, "
					    "ls or revoke",
				      verb);
		goto out;
	}
	ret = EXIT_OK;
out:
	token_rows_free(v, n);
	buf_release(&tok);
	store_close(st);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_token_entry = {
	"token",
	"create, list and revoke API tokens",
	"usage: scaffold token create NAME --role admin|operator|viewer "
	"[-d DIR]\n"
	"       scaffold token ls [-o json] [-d DIR]\n"
	"       scaffold token revoke NAME [-d DIR]\n"
	"\n"
	"Tokens let clients use scaffold serve's API (Authorization: Bearer\n"
	"TOKEN).  A viewer reads; an operator also runs and kills tasks and\n"
	"sets inputs and files; an admin also manages repositories and\n"
	"tokens.  create prints the token once: only a salted hash is kept.\n"
	"\n"
	"  --role ROLE          admin, operator or viewer (create)\n"
	"  -o, --output FORMAT  text (default) or json\n"
	"  -d, --data-dir DIR   default ./.scaffold-data\n"
	"  -h, --help           show this help\n",
	cmd_token,
};
