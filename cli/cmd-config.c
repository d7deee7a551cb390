/*
 * cmd-config.c - scaffold config check: the daemon's config, checked
 * without starting the daemon.  It loads the file as serve does (the same
 * messages), then looks at what the file names: secret files readable
 * and private, SSH keys that parse, known_hosts files that exist, the data
 * dir; with --connect it also fetches each repo and logs in to each host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "../gitsync/gitsync.h"
#include "../runner/runner.h"

#define DEFAULT_CONFIG "/etc/scaffold/scaffold.yaml"

/* What the file checks add to: diags at the entry that names the file. */
struct cfcheck {
	const struct config *cf;
	struct diags *diags;
};

/*
 * A file the config names: it must be readable; a secret must not be
 * readable (or writable) by group or others.  0 when fine.
 */
static int
check_file(struct cfcheck *k, struct pos pos, const char *who, const char *key,
	   const char *path, int secret)
{
	struct stat st;
	unsigned mode;

	if (!path)
		return 0;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		diags_add(k->diags, DIAG_ERROR, k->cf->file, pos,
			  "%s: %s '%s': %s", who, key, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		diags_add(k->diags, DIAG_ERROR, k->cf->file, pos,
			  "%s: %s '%s' is not a regular file", who, key, path);
		return -1;
	}
	mode = (unsigned)st.st_mode & 07777;
	if (secret && (mode & 077)) {
		diags_add(k->diags, DIAG_ERROR, k->cf->file, pos,
			  "%s: %s '%s' is a secret that other users can %s "
			  "(mode %04o): chmod 600 '%s'",
			  who, key, path, mode & 044 ? "read" : "reach", mode,
			  path);
		return -1;
	}
	return 0;
}

/* A secret read whole (webhook secret, token): not empty. */
static void
check_nonempty(struct cfcheck *k, struct pos pos, const char *who,
	       const char *key, const char *path)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path, 4096) < 0) {
		diags_add(k->diags, DIAG_ERROR, k->cf->file, pos, "%s: %s",
			  who, err_msg());
	} else {
		while (b.len && (b.ptr[b.len - 1] == '\n' ||
				 b.ptr[b.len - 1] == '\r'))
			b.len--;
		if (!b.len)
			diags_add(k->diags, DIAG_ERROR, k->cf->file, pos,
				  "%s: %s '%s' is empty", who, key, path);
		explicit_bzero(b.ptr, b.alloc);
	}
	buf_release(&b);
}

static void
check_key(struct cfcheck *k, struct pos pos, const char *who, const char *key,
	  const char *path)
{
	struct buf type = BUF_INIT;

	if (!path)
		return;
	if (check_file(k, pos, who, key, path, 1) == 0 &&
	    ssh_key_check(path, &type) < 0)
		diags_add(k->diags, DIAG_ERROR, k->cf->file, pos, "%s: %s %s",
			  who, key, err_msg());
	buf_release(&type);
}

static void
check_secret(struct cfcheck *k, struct pos pos, const char *who,
	     const char *key, const char *path)
{
	if (check_file(k, pos, who, key, path, 1) == 0 && path)
		check_nonempty(k, pos, who, key, path);
}

/* Every file of the config, and the data dir. */
static void
check_files(struct cfcheck *k)
{
	const struct config *cf = k->cf;
	struct buf who = BUF_INIT;
	struct stat st;
	size_t i;

	if (cf->data_dir && stat(cf->data_dir, &st) == 0 &&
	    store_check_data_dir(cf->data_dir) < 0)
		diags_add(k->diags, DIAG_ERROR, cf->file, (struct pos){ 0, 0 },
			  "%s", err_msg());
	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *r = &cf->repos[i];

		buf_reset(&who);
		buf_addf(&who, "repo '%s'", r->name);
		check_key(k, r->pos, who.ptr, "ssh_key_file", r->ssh_key_file);
		check_file(k, r->pos, who.ptr, "known_hosts_file",
			   r->known_hosts_file, 0);
		check_secret(k, r->pos, who.ptr, "token_file", r->token_file);
		check_secret(k, r->pos, who.ptr, "webhook_secret_file",
			     r->webhook_secret_file);
		check_secret(k, r->pos, who.ptr, "forge.token_file",
			     r->forge_token_file);
	}
	for (i = 0; i < cf->nhosts; i++) {
		const struct host_config *h = &cf->hosts[i];

		buf_reset(&who);
		buf_addf(&who, "host '%s'", h->name);
		check_key(k, h->pos, who.ptr, "key_file", h->key_file);
		check_file(k, h->pos, who.ptr, "known_hosts_file",
			   h->known_hosts_file, 0);
	}
	buf_release(&who);
}

/* --connect: each repo fetched into a scratch mirror, each host logged in
 * to.  A line on stdout for each that works; an error for each that not. */
static void
check_connect(struct cfcheck *k, int quiet)
{
	const struct config *cf = k->cf;
	char tmpl[] = "/tmp/scaffold-check.XXXXXX";
	char head[GIT_OID_HEX + 1];
	struct buf dir = BUF_INIT, home = BUF_INIT;
	struct repo_spec spec;
	struct ssh_host sh;
	size_t i;

	if (cf->nrepos && (gitsync_init() < 0 || !mkdtemp(tmpl))) {
		diags_add(k->diags, DIAG_ERROR, cf->file, (struct pos){ 0, 0 },
			  "cannot make a scratch mirror: %s",
			  err_msg()[0] ? err_msg() : strerror(errno));
		return;
	}
	for (i = 0; i < cf->nrepos; i++) {
		const struct repo_config *r = &cf->repos[i];

		buf_reset(&dir);
		buf_addf(&dir, "%s/%zu.git", tmpl, i);
		memset(&spec, 0, sizeof(spec));
		spec.name = r->name;
		spec.url = r->url;
		spec.branch = r->branch;
		spec.creds.ssh_key_file = r->ssh_key_file;
		spec.creds.known_hosts_file = r->known_hosts_file;
		spec.creds.token_file = r->token_file;
		if (mirror_fetch(dir.ptr, &spec, cf->fetch_timeout_ms) < 0) {
			diags_add(k->diags, DIAG_ERROR, cf->file, r->pos, "%s",
				  err_msg());
			continue;
		}
		if (mirror_branch_head(dir.ptr, r->branch, head) < 0) {
			diags_add(k->diags, DIAG_ERROR, cf->file, r->pos,
				  "repo '%s': branch '%s' is not on the remote",
				  r->name, r->branch);
			continue;
		}
		if (!quiet)
			printf("repo '%s': fetched, branch '%s' at %.12s\n",
			       r->name, r->branch, head);
	}
	if (cf->nrepos)
		rm_rf(tmpl);
	for (i = 0; i < cf->nhosts; i++) {
		const struct host_config *h = &cf->hosts[i];

		memset(&sh, 0, sizeof(sh));
		sh.name = h->name;
		sh.address = h->address;
		sh.port = h->port;
		sh.user = h->user;
		sh.key_file = h->key_file;
		sh.known_hosts_file = h->known_hosts_file;
		buf_reset(&home);
		if (runner_ssh_probe(&sh, &home) < 0) {
			diags_add(k->diags, DIAG_ERROR, cf->file, h->pos, "%s",
				  err_msg());
			continue;
		}
		if (!quiet)
			printf("host '%s': logged in as '%s' (home %s)\n",
			       h->name, h->user, home.ptr);
	}
	buf_release(&dir);
	buf_release(&home);
}

static int
config_check(const struct cmd_entry *self, const struct cmd_opts *o)
{
	const char *file = o->config ? o->config : DEFAULT_CONFIG;
	struct diags diags = DIAGS_INIT;
	struct config *cf = NULL;
	struct cfcheck k;
	int ret = EXIT_FINDING;

	(void)self;
	/* as serve loads it: the same messages */
	if (config_load(&cf, file, &diags) < 0)
		goto report;
	if (!cf->data_dir)
		diags_add(&diags, DIAG_ERROR, file, (struct pos){ 0, 0 },
			  "missing required key 'data_dir' (scaffold serve "
			  "needs one)");
	k.cf = cf;
	k.diags = &diags;
	check_files(&k);
	/* a connection needs files that work */
	if (o->connect && !diags.nerrors)
		check_connect(&k, o->quiet);
report:
	diags_sort(&diags);
	diags_print(stderr, &diags);
	if (diags.nerrors) {
		fprintf(stderr, "%s: %zu error%s, %zu warning%s\n", file,
			diags.nerrors, diags.nerrors == 1 ? "" : "s",
			diags.nwarnings, diags.nwarnings == 1 ? "" : "s");
	} else {
		if (!o->quiet)
			printf("%s: ok (%zu repo%s, %zu host%s%s)\n", file,
			       cf->nrepos, cf->nrepos == 1 ? "" : "s",
			       cf->nhosts, cf->nhosts == 1 ? "" : "s",
			       o->connect ? ", all reached" : "");
		ret = EXIT_OK;
	}
	config_free(cf);
	diags_release(&diags);
	return ret;
}

static int
cmd_config(const struct cmd_entry *self, int argc, char **argv)
{
	struct cmd_opts o;
	int first, ret;

	first = cmd_parse(self, argc, argv, "cCq", &o);
	if (first < 0)
		return first == -1 ? EXIT_OK : EXIT_USAGE;
	if (argc - first != 1 || strcmp(argv[first], "check"))
		ret = cmd_usage_error(self, argc - first < 1
						    ? "expected 'check'"
						    : "unknown subcommand '%s' "
						      "(expected 'check')",
				      argv[first]);
	else
		ret = config_check(self, &o);
	cmd_opts_release(&o);
	return ret;
}

const struct cmd_entry cmd_config_entry = {
	"config",
	"check the daemon's config without starting it",
	"usage: scaffold config check [--config FILE] [--connect] [-q]\n"
	"\n"
	"Load the daemon's config as 'scaffold serve' does, with the same\n"
	"messages (FILE:LINE:COL: error: MESSAGE), then check what it names:\n"
	"every file readable, every secret file (ssh keys, tokens, webhook\n"
	"secrets) private to its owner (mode 0600 or tighter) and not empty,\n"
	"every ssh key a private key without a passphrase, every\n"
	"known_hosts file present, the data dir (when it exists) closed to\n"
	"other users.  Nothing is changed.\n"
	"\n"
	"  -c, --config FILE   the configuration (default " DEFAULT_CONFIG ")\n"
	"      --connect       also fetch each repo (into a scratch mirror)\n"
	"                      and log in to each ssh host, one line for each\n"
	"  -q, --quiet         print only problems\n"
	"  -h, --help          show this help\n"
	"\n"
	"Exit status: 0 the config is good, 1 problems found, 2 usage error.\n",
	cmd_config,
};
