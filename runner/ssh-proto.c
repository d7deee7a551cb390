/*
 * ssh-proto.c - the ssh runner's helper on the host (see ssh.c): the
 * helper shell's script and its line protocol (start, signal, remove a
 * run; the end of each run reported), and the wrapper script of a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ssh-int.h"

/*
 * What the session's helper channel runs (saved as
 * ~/.scaffold/agent-HASH.sh): a /bin/sh reading one command a line from
 * scaffold and answering on its stdout with lines of its own:
 *
 *	__start ID BASE		starts run ID (its dir BASE) in the
 *				background; "x ID STATUS DISPLAY OUT" when it
 *				ends (DISPLAY 1: run/.display is there; OUT
 *				1: meta/out is not empty)
 *	__run ID BASE ENV SCRIPT WRAPPER
 *				makes the run dir (meta/env too when ENV is
 *				1), writes the script and the wrapper (printf
 *				formats), then __start; "e ID MESSAGE" when
 *				it cannot: the start of a run that loads no
 *				files is one line, no SFTP round trip
 *	__sig TAG BASE SIG	SIG (TERM, KILL; 0: does it still run?) to
 *				the run's process group; "r TAG STATUS": 0,
 *				1 gone (or its pid names another process
 *				now), 3 not recorded yet
 *	__rm BASE...		removes run dirs, in the background
 *	__rmw TAG BASE		removes one now; "r TAG STATUS"
 *
 * A run is a fork of the helper (no exec) that makes meta/out (before the
 * wrapper's fork: an adopt that finds no meta/out knows the wrapper never
 * ran, and one that finds it without meta/pid waits), starts wrapper.sh
 * with setsid, output appended to meta/out, records the group's id and the
 * leader's start time in meta/pid (so that a recycled pid is never
 * signalled), waits, writes meta/exit when the wrapper could not (exec, a
 * replaced EXIT trap, a signal; and then meta/no-trap), kills what is
 * left of the group and reports.  The run outlives the helper and the
 * connection: its output is in a file, its status in meta/exit.
 * Arguments are single-quoted by scaffold; the helper evals its lines.
 */
const char proto_agent_script[] =
    "# Written by scaffold (runner/ssh.c): starts and signals runs.\n"
    "umask 077\n"
    "__nl='\n"
    "'\n"
    "__setsid=\n"
    "command -v setsid >/dev/null 2>&1 && __setsid=setsid\n"
    "__stt() {\n"
    "\t__t=-\n"
    "\t__l=\n"
    "\tread -r __l 2>/dev/null <\"/proc/$1/stat\" || return 0\n"
    "\tset -- ${__l##*\") \"}\n"
    "\tshift 19\n"
    "\t__t=${1:--}\n"
    "}\n"
    "__start() {\n"
    "\t(\n"
    "\t\tif ! cd \"$2/run\"; then\n"
    "\t\t\techo 125 >\"$2/meta/exit\"\n"
    "\t\t\techo \"x $1 125 0\"\n"
    "\t\t\texit 0\n"
    "\t\tfi\n"
    "\t\t: >>\"$2/meta/out\"\n"
    "\t\t$__setsid /bin/sh -e \"$2/meta/wrapper.sh\" </dev/null "
    ">>\"$2/meta/out\" 2>&1 &\n"
    "\t\t__p=$!\n"
    "\t\t__stt \"$__p\"\n"
    "\t\techo \"$__p $__t\" >\"$2/meta/pid\"\n"
    "\t\twait \"$__p\"\n"
    "\t\t__s=$?\n"
    "\t\tif [ ! -s \"$2/meta/exit\" ]; then\n"
    "\t\t\t: >\"$2/meta/no-trap\"\n"
    "\t\t\techo \"$__s\" >\"$2/meta/exit\"\n"
    "\t\tfi\n"
    "\t\tkill -KILL -\"$__p\" 2>/dev/null\n"
    "\t\t__d=0\n"
    "\t\t[ -e \"$2/run/.display\" ] && __d=1\n"
    "\t\t__o=0\n"
    "\t\t[ -s \"$2/meta/out\" ] && __o=1\n"
    "\t\techo \"x $1 $__s $__d $__o\"\n"
    "\t) 2>/dev/null &\n"
    "}\n"
    "__mk() {\n"
    "\tif [ -e \"$2\" ]; then rm -rf -- \"$2\" || return 1; fi\n"
    "\tmkdir -p -- \"$2/meta\" \"$2/run\" || return 1\n"
    "\tif [ \"$3\" = 1 ]; then mkdir -- \"$2/meta/env\" || return 1; fi\n"
    "\tprintf \"%s$4\" '' >\"$2/meta/script\" &&\n"
    "\t    printf \"%s$5\" '' >\"$2/meta/wrapper.sh\"\n"
    "}\n"
    "__run() {\n"
    "\tif __mk \"$@\" 2>/dev/null; then\n"
    "\t\t__start \"$1\" \"$2\"\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\t__e=$(__mk \"$@\" 2>&1 >/dev/null) || :\n"
    "\techo \"e $1 ${__e%%\"$__nl\"*}\"\n"
    "}\n"
    "__sig() {\n"
    "\t__tag=$1\n"
    "\t__p=\n"
    "\t__pt=\n"
    "\tread -r __p __pt 2>/dev/null <\"$2/meta/pid\"\n"
    "\tcase $__p in ''|*[!0-9]*) echo \"r $__tag 3\"; return 0 ;; esac\n"
    "\tif [ \"${__pt:--}\" != - ] && [ -e \"/proc/$__p\" ]; then\n"
    "\t\t__stt \"$__p\"\n"
    "\t\tif [ \"$__t\" != \"$__pt\" ]; then echo \"r $__tag 1\"; "
    "return 0; fi\n"
    "\tfi\n"
    "\tif [ \"$3\" = 0 ] && [ -r /proc/self/stat ]; then\n"
    "\t\tfor __f in /proc/[0-9]*/stat; do\n"
    "\t\t\t__l=\n"
    "\t\t\tread -r __l 2>/dev/null <\"$__f\" || continue\n"
    "\t\t\tset -- ${__l##*\") \"}\n"
    "\t\t\tif [ \"${3-}\" = \"$__p\" ] && [ \"$1\" != Z ]; then\n"
    "\t\t\t\techo \"r $__tag 0\"\n"
    "\t\t\t\treturn 0\n"
    "\t\t\tfi\n"
    "\t\tdone\n"
    "\t\techo \"r $__tag 1\"\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tkill -\"$3\" -\"$__p\" 2>/dev/null || kill -\"$3\" \"$__p\" "
    "2>/dev/null\n"
    "\techo \"r $__tag $?\"\n"
    "}\n"
    "__rm() {\n"
    "\trm -rf -- \"$@\" </dev/null >/dev/null &\n"
    "}\n"
    "__rmw() {\n"
    "\t__tag=$1\n"
    "\tshift\n"
    "\trm -rf -- \"$@\" </dev/null >/dev/null\n"
    "\techo \"r $__tag $?\"\n"
    "}\n"
    "while IFS= read -r __c; do\n"
    "\teval \"$__c\"\n"
    "done\n";

static struct run_handle *
run_by_id(struct conn *c, int64_t id)
{
	struct run_handle *h;

	for (h = c->runs; h; h = h->next)
		if (h->run_id == id && h->live && !h->exited)
			return h;
	return NULL;
}

/* One line from the helper's stdout.  c->lock held. */
static void
agent_line(struct conn *c, const char *line)
{
	struct run_handle *h;
	long long id;
	unsigned tag;
	int st, disp, out, n = 0;

	if (sscanf(line, "x %lld %d %d %d%n", &id, &st, &disp, &out, &n) == 4 &&
	    !line[n]) {
		h = run_by_id(c, id);
		if (h) {
			h->exited = true;
			h->exit_status = st;
			h->display = disp == 1;
			h->out_empty = out == 0;
		}
		return;
	}
	if (sscanf(line, "e %lld %n", &id, &n) == 1 && n > 0) {
		h = run_by_id(c, id);
		if (h) {
			h->exited = true;
			h->start_failed = true;
			h->out_empty = true;
			snprintf(h->reason, sizeof(h->reason), "%s",
				 line[n] ? line + n : "failed");
		}
		return;
	}
	if (sscanf(line, "r %u %d%n", &tag, &st, &n) == 2 && !line[n]) {
		if (tag == c->tag) {
			c->replied = true;
			c->reply = st;
		}
		return;
	}
	log_warnx("runner: host '%s': the helper said: %s", c->name, line);
}

/* Complete lines of b go to fn (or the log); a runaway line is dropped. */
static void
agent_lines(struct conn *c, struct buf *b, bool err)
{
	char *nl, *p = b->ptr;
	size_t left;

	while ((nl = memchr(p, '\n', b->len - (size_t)(p - b->ptr)))) {
		*nl = '\0';
		if (err)
			log_warnx("runner: host '%s': the helper: %s", c->name,
				  p);
		else
			agent_line(c, p);
		p = nl + 1;
	}
	left = b->len - (size_t)(p - b->ptr);
	if (left > AGENT_LINE_MAX)
		left = 0;
	memmove(b->ptr, p, left);
	b->len = left;
	b->ptr[left] = '\0';
}

/*
 * Read what the helper wrote and act on it (ends of runs, answers).  0,
 * SSH_LOST (also when the helper itself has ended).  c->lock held.
 */
int
proto_pump(struct conn *c)
{
	char buf[4096];
	ssize_t n;
	int stream;

	if (!c->agent)
		return SSH_LOST;
	for (stream = 0; stream < 2; stream++) {
		struct buf *b = stream ? &c->aerr : &c->ain;

		while ((n = conn_agent_read(c, stream, buf, sizeof(buf))) > 0) {
			buf_add(b, buf, (size_t)n);
			agent_lines(c, b, stream);
		}
		if (n == SSH_LOST)
			return SSH_LOST;
	}
	if (conn_agent_eof(c))
		return conn_lost(c, "scaffold's helper on the host ended");
	return 0;
}

/* A line to the helper.  0, SSH_LOST.  c->lock held. */
int
proto_send(struct conn *c, const char *line, size_t len)
{
	return conn_agent_write(c, line, len);
}

/*
 * "FN TAG ARG" to the helper, and its answer in *status.  0, SSH_LOST,
 * or -1 with err_set() when it does not answer in IO_TIMEOUT_MS.  c->lock
 * held.
 */
static int
agent_call(struct conn *c, const char *fn, const char *arg, int *status)
{
	struct buf cmd = BUF_INIT;
	int64_t dl = ssh_now_ms() + IO_TIMEOUT_MS;
	int r;

	*status = -1;
	c->tag++;
	c->replied = false;
	buf_addf(&cmd, "%s %u %s\n", fn, c->tag, arg);
	r = proto_send(c, cmd.ptr, cmd.len);
	buf_release(&cmd);
	while (r == 0) {
		r = proto_pump(c);
		if (r < 0 || c->replied)
			break;
		r = conn_wait_x(c, dl, true);
		if (r == ERR_TIMEOUT)
			r = err_set("host '%s': scaffold's helper did not "
				    "answer in time",
				    c->name);
	}
	if (r == 0)
		*status = c->reply;
	return r;
}

/* Send sig (TERM, KILL, 0) to the run's process group; the answer. */
int
proto_signal(struct conn *c, struct run_handle *h, const char *sig, int *status)
{
	struct buf arg = BUF_INIT;
	int r;

	ssh_quote(&arg, h->base);
	buf_addf(&arg, " %s", sig);
	r = agent_call(c, "__sig", arg.ptr, status);
	buf_release(&arg);
	return r;
}

/* rm -rf the run's base dir on the host: now, or in the background. */
int
proto_remove(struct conn *c, const char *base, bool now)
{
	struct buf arg = BUF_INIT;
	int r, status;

	if (!base || !strstr(base, "/.scaffold/runs/"))
		BUG("removing '%s'", base ? base : "(null)");
	if (!now)
		buf_puts(&arg, "__rm ");
	ssh_quote(&arg, base);
	if (now) {
		r = agent_call(c, "__rmw", arg.ptr, &status);
		if (!r && status)
			r = err_set("host '%s': cannot remove '%s' (rm: exit "
				    "code %d)",
				    c->name, base, status);
	} else {
		buf_putc(&arg, '\n');
		r = proto_send(c, arg.ptr, arg.len);
	}
	buf_release(&arg);
	return r;
}

/*
 * The runs that ended lost with the last connection may still run on the
 * host (a dropped connection does not stop them): SIGKILL to their groups
 * and their dirs removed, before anything else runs.  0, SSH_LOST.
 * c->lock held.
 */
int
proto_reap_orphans(struct conn *c)
{
	struct run_handle tmp;
	int r = 0, status;
	size_t i;

	for (i = 0; i < c->orphans.n && r != SSH_LOST; i++) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.base = c->orphans.v[i];
		r = proto_signal(c, &tmp, "KILL", &status);
		if (r == 0 && status == 0)
			log_warnx("runner: host '%s': killed what was left of "
				  "a run lost with the connection ('%s')",
				  c->name, tmp.base);
		if (r == 0)
			r = proto_remove(c, tmp.base, false);
	}
	if (r != SSH_LOST)
		strvec_clear(&c->orphans);
	return r;
}

/* "export NAME='value'" lines for the run's environment. */
int
proto_exports(struct buf *out, const struct run_spec *spec)
{
	struct buf e = BUF_INIT;
	const struct runner_env *v;
	size_t i;
	int ret = ERR_INVALID;

	for (i = 0; i < spec->nenv; i++) {
		v = &spec->env[i];
		if (!runner_valid_env_name(v->name)) {
			err_set("env '%s': not a valid variable name",
				v->name ? runner_esc(&e, v->name) : "");
			goto out;
		}
		if (v->len && (!v->value || memchr(v->value, '\0', v->len))) {
			err_set("env '%s': the value holds a NUL byte",
				runner_esc(&e, v->name));
			goto out;
		}
		buf_addf(out, "export %s=", v->name);
		runner_sh_quote(out, v->len ? v->value : "", v->len);
		buf_putc(out, '\n');
	}
	ret = 0;
out:
	buf_release(&e);
	return ret;
}

/* path = mdir + "/" + name, single-quoted. */
static void
meta_word(struct buf *b, const struct run_handle *h, const char *name)
{
	struct buf p = BUF_INIT;

	buf_addf(&p, "%s/%s", h->mdir, name);
	ssh_quote(b, p.ptr);
	buf_release(&p);
}

/*
 * The wrapper: exports the environment, sources the script in this shell;
 * when the shell leaves (exit, set -e, end of the script) records the
 * store env on success, one file per name written with printf so that
 * every byte is kept, then the exit status, last (adopt() takes the exit
 * file as the end of the run).  The end also runs by hand after the
 * script, for scripts that replace the EXIT trap but end normally.
 */
void
proto_wrapper(struct buf *w, const struct run_handle *h,
	      const struct buf *exports)
{
	struct buf name = BUF_INIT;
	size_t i;
	const char *n;

	buf_puts(w, "# Written by scaffold: runs the task's script in this "
		    "shell, then records\n"
		    "# the store env and, last, its exit status.\n");
	buf_add(w, exports->ptr, exports->len);
	buf_puts(w, "export SCAFFOLD_RUN_DIR=");
	ssh_quote(w, h->rdir);
	buf_puts(w, "\n__scaffold_end() {\n"
		    "\tif [ -n \"${__scaffold_done-}\" ]; then return 0; fi\n"
		    "\t__scaffold_done=1\n"
		    "\tumask 077\n"
		    "\tif [ \"$1\" -eq 0 ]; then\n\t\t:\n");
	for (i = 0; i < h->store_env.n; i++) {
		n = h->store_env.v[i];
		buf_reset(&name);
		buf_addf(&name, "env/%s", n);
		buf_addf(w,
			 "\t\tif [ \"${%s+set}\" = set ]; then "
			 "command printf '%%s' \"$%s\" >",
			 n, n);
		meta_word(w, h, name.ptr);
		buf_puts(w, "; fi\n");
	}
	buf_puts(w, "\tfi\n\tcommand printf '%s\\n' \"$1\" >");
	meta_word(w, h, "exit");
	buf_puts(w, "\n}\n"
		    "trap '__scaffold_end \"$?\"' EXIT\n"
		    ". ");
	meta_word(w, h, "script");
	buf_puts(w, "\n__scaffold_st=$?\n"
		    "__scaffold_end \"$__scaffold_st\"\n"
		    "exit \"$__scaffold_st\"\n");
	buf_release(&name);
}

/*
 * The session's helper: ~/.scaffold/runs made, the helper's script saved
 * under a name that is its hash (once per host and version), its channel
 * started.  c->lock held, during conn_connect().
 */
int
proto_start(struct conn *c)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf path = BUF_INIT, tmp = BUF_INIT, cmd = BUF_INIT;
	char hex[SHA256_HEX_LEN + 1];
	int r, rc, ret = -1;

	if ((r = xfer_runs_dir(c)) < 0)
		goto fail;
	sha256_hex(hex, proto_agent_script, sizeof(proto_agent_script) - 1);
	buf_addf(&path, "%s/.scaffold/agent-%.16s.sh",
		 strcmp(c->home, "/") ? c->home : "", hex);
	r = xfer_stat(c, path.ptr, false, &st);
	if (r == ERR_NOTFOUND) {
		/* written aside, then renamed: another scaffold may be here */
		buf_addf(&tmp, "%s.%ld.%u", path.ptr, (long)getpid(), c->gen);
		r = xfer_put(c, tmp.ptr, 0600, -1, proto_agent_script,
			     sizeof(proto_agent_script) - 1);
		if (r == 0) {
			rc = xfer_rename(c, tmp.ptr, path.ptr);
			if (rc < 0 && rc != SSH_LOST) {
				/* it lost the race: the other one is there */
				rc = xfer_unlink(c, tmp.ptr);
				r = xfer_stat(c, path.ptr, false, &st);
			}
			if (rc == SSH_LOST)
				r = SSH_LOST;
		}
	}
	if (r < 0)
		goto fail;
	buf_puts(&cmd, "exec /bin/sh ");
	ssh_quote(&cmd, path.ptr);
	if ((r = conn_agent_open(c, cmd.ptr)) < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	if (r == SSH_LOST)
		err_set("host '%s' (%s): lost contact while starting: %s",
			c->name, c->where, c->lost_reason);
	else if (r < 0 && !strstr(err_msg(), c->name))
		ssh_err_wrap("host '%s': cannot start scaffold's helper",
			     c->name);
	ret = -1;
out:
	buf_release(&path);
	buf_release(&tmp);
	buf_release(&cmd);
	return ret;
}

/*
 * data as one single-quoted printf format that prints it byte for byte,
 * on one line; false when it holds a NUL (printf cannot make one).
 */
static bool
printf_word(struct buf *out, const char *data, size_t len)
{
	size_t i;

	if (memchr(data, '\0', len))
		return false;
	buf_putc(out, '\'');
	for (i = 0; i < len; i++) {
		switch (data[i]) {
		case '\\':
			buf_puts(out, "\\\\");
			break;
		case '%':
			buf_puts(out, "%%");
			break;
		case '\n':
			buf_puts(out, "\\n");
			break;
		case '\'':
			buf_puts(out, "'\\''");
			break;
		default:
			buf_putc(out, data[i]);
		}
	}
	buf_putc(out, '\'');
	return true;
}

/*
 * The helper's line that makes the run dir, writes the script and the
 * wrapper and starts the run; false when the run needs SFTP (it loads
 * files, or the line would be long: the helper's shell reads a byte at a
 * time).
 */
bool
proto_run_line(struct buf *line, const struct run_handle *h,
	       const struct run_spec *spec, const struct buf *wrapper)
{
	if (spec->nfiles)
		return false;
	buf_addf(line, "__run %lld ", (long long)h->run_id);
	ssh_quote(line, h->base);
	buf_addf(line, " %d ", h->store_env.n ? 1 : 0);
	if (!printf_word(line, spec->script, spec->script_len))
		return false;
	buf_putc(line, ' ');
	if (!printf_word(line, wrapper->ptr, wrapper->len))
		return false;
	buf_putc(line, '\n');
	return line->len <= RUN_LINE_MAX;
}
