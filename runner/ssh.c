/*
 * ssh.c - the "ssh" runner: the task's script on a host of the inventory,
 * over SSH with libssh2.  A family of files, ssh-int.h their shared
 * header: ssh.c the runs (start, the I/O thread, adopt, wait, kill),
 * ssh-conn.c the connections (the inventory, login, known_hosts, the
 * helper's channel, faults), ssh-xfer.c the transfers (SFTP: files up,
 * output, exit status and stored outputs back), ssh-proto.c the helper
 * on the host and its line protocol, and the run's wrapper.  libssh2 is
 * called in ssh-conn.c and ssh-xfer.c only; its errors are translated
 * there.
 *
 * On the host, in the home directory of the inventory's user:
 *
 *	~/.scaffold/agent-HASH.sh	the helper (below), one per version
 *	~/.scaffold/runs/ID/run		the run dir: the script's cwd,
 *					$SCAFFOLD_RUN_DIR, loaded and stored
 *					files
 *	~/.scaffold/runs/ID/meta/	scaffold's own files (0700):
 *	    script			the task's script, byte for byte
 *	    wrapper.sh			exports the run's environment,
 *					sources the script, then records the
 *					store env (env/NAME) and, last, the
 *					exit status (exit)
 *	    out				stdout and stderr of the run, in the
 *					order written
 *	    pid				its process group and the leader's
 *					start time
 *
 * Files go up and come back by SFTP.  Each session has one more channel:
 * a helper shell (proto_agent_script) that starts runs, signals them and
 * removes their dirs, on one line of stdin each, and reports each run's
 * end on one line of stdout.  A run costs the host a fork of the helper,
 * setsid and the wrapper's shell: no channel, no sshd session child, no
 * login shell (the first design, a channel per run running a launcher,
 * cost three times the server CPU of "ssh host true" over a master).  The
 * environment is exported by the wrapper, single-quoted, never passed as a
 * command line nor by the channel's setenv.  The I/O thread reads meta/out
 * as it grows (every 50 ms, backing off to 1 s while it does not) through
 * the run's masker into the log, and saves how far it got in the work dir
 * (ssh-out-offset), so that a scaffold that adopts the run after a restart
 * reads on from there: a run outlives a restart of scaffold or a dropped
 * connection (setsid, and nothing of it writes to the connection) and
 * loses no output.  Its exit status is the helper's report, or meta/exit
 * for an adopted run.  Timeouts and kills go to the helper: SIGTERM to the
 * group, SIGKILL 2 s later (a signal that comes before the group is
 * recorded is sent again; the helper checks the leader's start time, so
 * that a recycled pid is never signalled).
 *
 * Sessions.  One libssh2 session per host, opened on first use and shared
 * by every run on the host: the helper's channel, one SFTP channel; at
 * most max_sessions runs at once (start() waits for a free slot).
 *
 * Threads and locking.  A libssh2 session is not thread-safe: every use of
 * one happens under its host's lock (struct conn).  The session is
 * non-blocking.  A call that would block returns EAGAIN and is repeated,
 * lock held, once the socket is ready in the direction libssh2 names
 * (libssh2_session_block_directions): libssh2 needs a half-sent packet
 * finished by the same call before any other may send.  Each host has an
 * I/O thread that reads the helper's reports and the output of all its
 * runs into their logs, enforces their timeouts and kill requests, sends
 * keepalives, and closes the session after five idle minutes.  wait()
 * sleeps on the host's condition variable until its run has ended and
 * its output is in.  start(), the
 * collection in wait() and adopt() take the lock for one SFTP call at a
 * time, so a long transfer does not starve the output of the other runs.
 *
 * Faults.  When the connection breaks (or stays silent through the TCP and
 * SSH keepalives), or the helper ends, every run started on it ends
 * RUN_LOST (its process on the host goes on, as after a restart of
 * scaffold; the run is recorded lost and retried); the next start()
 * connects again, and a start() that finds its shared session dead retries
 * once on a new one.  The host key is always checked against the host's
 * known_hosts file.
 *
 * libssh2 1.10 (Debian 12) signs with RSA keys only as "ssh-rsa" (SHA-1),
 * which OpenSSH 8.8 and later refuse unless the server has
 * "PubkeyAcceptedAlgorithms +ssh-rsa": prefer ed25519 or ECDSA keys.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ssh-int.h"

static void ssh_free(struct run_handle *h);

/* The run's end as the helper reported it, once its output is in. */
static void
finish_run(struct conn *c, struct run_handle *h)
{
	if (h->out && c->s)
		xfer_close(c, h->out);
	h->out = NULL;
	h->live = false;
	h->done = true;
	conn_slot_release(c, h);
}

/*
 * Timeout and kill requests of a run: SIGTERM, SIGKILL GRACE_MS later;
 * a run still there KILL_WAIT_MS after that ends lost.  A signal that
 * comes before the run has recorded its group is sent again.  1 when
 * a command went to the host, 0, SSH_LOST.  c->lock held.
 */
static int
run_timers(struct conn *c, struct run_handle *h, int64_t now)
{
	char dur[32];
	int r, status;

	if (h->why == STOP_NONE && h->kill_req) {
		h->why = STOP_KILLED;
		run_log_note(&h->log, "killed");
		h->term_at = now;
		h->pending = "TERM";
	} else if (h->why == STOP_NONE && h->deadline_ms &&
		   now >= h->deadline_ms) {
		h->why = STOP_TIMEOUT;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		run_log_note(&h->log, "timed out after %s", dur);
		h->term_at = now;
		h->pending = "TERM";
	} else if (h->term_at && !h->kill_at && now >= h->term_at + GRACE_MS) {
		duration_format(dur, sizeof(dur), GRACE_MS);
		run_log_note(&h->log,
			     "still running %s after SIGTERM, sending SIGKILL",
			     dur);
		h->kill_at = now;
		h->pending = "KILL";
		h->retry_at = 0;
	} else if (h->kill_at && now >= h->kill_at + KILL_WAIT_MS) {
		duration_format(dur, sizeof(dur), KILL_WAIT_MS);
		h->pending = NULL;
		snprintf(h->reason, sizeof(h->reason),
			 "the run did not stop %s after SIGKILL", dur);
		if (h->live)
			finish_run(c, h);
		h->done = true;
		h->lost = true;
		pthread_cond_broadcast(&c->cond);
		return 0;
	}
	if (!h->pending || now < h->retry_at)
		return 0;
	r = proto_signal(c, h, h->pending, &status);
	if (r == SSH_LOST)
		return r;
	if (r < 0)
		log_warnx("runner: run %lld: host '%s': cannot send SIG%s: %s",
			  (long long)h->run_id, c->name, h->pending, err_msg());
	if (r == 0 && status == 3) /* not recorded yet */
		h->retry_at = now + SIGNAL_RETRY_MS;
	else
		h->pending = NULL;
	return 1;
}

/* t, or ssh_sooner when a timer of h is due before; -1: none. */
static int64_t
run_next_timer(const struct run_handle *h, int64_t now, int64_t t)
{
	if (h->why == STOP_NONE && h->kill_req)
		t = 0;
	if (h->pending)
		t = ssh_sooner(t, h->retry_at - now);
	if (h->why == STOP_NONE && h->deadline_ms)
		t = ssh_sooner(t, h->deadline_ms - now);
	if (h->term_at && !h->kill_at)
		t = ssh_sooner(t, h->term_at + GRACE_MS - now);
	if (h->kill_at)
		t = ssh_sooner(t, h->kill_at + KILL_WAIT_MS - now);
	if (h->live) {
		t = ssh_sooner(t, h->read_at - now);
		t = ssh_sooner(t, h->check_at - now);
	}
	return t;
}

/*
 * A started run whose end the helper did not report (it was killed, say):
 * its meta/exit, found twice EXIT_CHECK_MS apart, ends it.  c->lock held.
 */
static int
check_exit(struct conn *c, struct run_handle *h, int64_t now)
{
	struct buf p = BUF_INIT, v = BUF_INIT;
	int r;

	h->check_at = now + EXIT_CHECK_MS;
	buf_addf(&p, "%s/exit", h->mdir);
	r = xfer_get(c, p.ptr, EXIT_MAX, -1, &v);
	if (r == SSH_LOST)
		goto out;
	r = 0;
	if (!v.len || v.ptr[v.len - 1] != '\n') {
		h->exit_seen = false;
	} else if (!h->exit_seen) {
		h->exit_seen = true;
	} else if (!h->exited) {
		h->exited = true;
		h->exit_status = atoi(v.ptr);
		h->display = -1;
	}
out:
	buf_release(&p);
	buf_release(&v);
	return r;
}

/*
 * One turn for a started run: output, timers, its end.  *more when output
 * is still waiting.  c->lock held.
 */
static int
service_run(struct conn *c, struct run_handle *h, char *buf, bool *more)
{
	int64_t now = ssh_now_ms();
	int r;

	if (h->exited) {
		r = h->out_empty && !h->out ? 0 : xfer_read_output(c, h, buf);
		if (r == SSH_LOST)
			return r;
		if (r == 2) {
			*more = true;
			return 0;
		}
		finish_run(c, h);
		pthread_cond_broadcast(&c->cond);
		return 0;
	}
	if (now >= h->read_at) {
		r = xfer_read_output(c, h, buf);
		if (r == SSH_LOST)
			return r;
		if (r == 2)
			*more = true;
		if (r > 0)
			h->read_every = OUT_POLL_MIN_MS;
		else if (h->read_every < OUT_POLL_MAX_MS)
			h->read_every *= 2;
		h->read_at = now + h->read_every;
	}
	if (now >= h->check_at && check_exit(c, h, now) == SSH_LOST)
		return SSH_LOST;
	r = run_timers(c, h, now);
	if (r == SSH_LOST)
		return r;
	if (r == 1 || h->exited)
		*more = true; /* an answer may have ended others */
	return 0;
}

/*
 * The host's I/O thread: the helper's reports, the output of the runs,
 * their timers, keepalives; closes an idle session.  Sleeps in poll() on
 * the socket and the wake pipe with the lock dropped.
 */
void *
ssh_io_main(void *arg)
{
	struct conn *c = arg;
	struct run_handle *h;
	struct pollfd p[2];
	char *buf = xmalloc(CHUNK), drain[64];
	int64_t now, t, tt;
	bool more, sending;
	int nfds;

	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		more = false;
		t = -1;
		if (c->s && c->agent && proto_pump(c) == SSH_LOST)
			continue;
		for (h = c->runs; h && c->s; h = h->next) {
			if (!h->live || h->done)
				continue;
			if (service_run(c, h, buf, &more) == SSH_LOST)
				break;
		}
		nfds = 1;
		p[0].fd = c->wake[0];
		p[0].events = POLLIN;
		if (c->s) {
			now = ssh_now_ms();
			if (conn_keepalive(c, &t, &sending) == SSH_LOST)
				continue;
			for (h = c->runs; h; h = h->next)
				if (h->live && !h->done)
					t = run_next_timer(h, now, t);
			if (!c->runs && !c->slots) {
				tt = c->idle_since + IDLE_CLOSE_MS - now;
				if (tt <= 0) {
					conn_teardown(c, true);
					continue;
				}
				t = ssh_sooner(t, tt);
			}
			p[1].fd = c->link->fd;
			p[1].events = POLLIN;
			if (sending)
				p[1].events |= POLLOUT;
			p[1].revents = 0;
			nfds = 2;
		}
		if (more)
			t = 0;
		if (t > INT_MAX)
			t = INT_MAX;
		pthread_mutex_unlock(&c->lock);
		p[0].revents = 0;
		if (poll(p, (nfds_t)nfds, (int)t) > 0 && p[0].revents)
			while (read(c->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	free(buf);
	return NULL;
}

/* A handle for spec: checked names, the host's connection (a reference). */
static int
handle_new(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = xcalloc(1, sizeof(*h));
	struct buf e = BUF_INIT, p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	h->run_id = spec->run_id;
	if (spec->instance)
		snprintf(h->instance, sizeof(h->instance), "%s-",
			 spec->instance);
	run_log_init(&h->log, spec);
	h->exit_status = -1;
	h->off_fd = -1;
	h->display = -1;
	h->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	if (!spec->work_dir) {
		ret = err_set("run %lld: no work dir", (long long)spec->run_id);
		goto out;
	}
	if (!spec->host || !*spec->host) {
		ret = err_set("run %lld: no host", (long long)spec->run_id);
		goto out;
	}
	if ((ret = runner_spec_stores(spec, &h->store_files, &h->store_env)) <
	    0)
		goto out;
	ret = -1;
	h->c = conn_find(spec->host);
	if (!h->c) {
		err_set("host '%s' is not in the inventory",
			runner_esc(&e, spec->host));
		ret = ERR_NOTFOUND;
		goto out;
	}
	buf_addf(&p, "%s/run", spec->work_dir);
	h->local_run = buf_detach(&p, NULL);
	buf_addf(&p, "%s/ssh-out-offset", spec->work_dir);
	h->off_path = buf_detach(&p, NULL);
	*out = h;
	h = NULL;
	ret = 0;
out:
	ssh_free(h);
	buf_release(&e);
	buf_release(&p);
	return ret;
}

/* The run's paths on the host, under the home of the current session. */
static void
set_paths(struct run_handle *h)
{
	struct buf b = BUF_INIT;

	free(h->base);
	free(h->rdir);
	free(h->mdir);
	buf_addf(&b, "%s/.scaffold/runs/%s%lld",
		 strcmp(h->c->home, "/") ? h->c->home : "", h->instance,
		 (long long)h->run_id);
	h->base = buf_detach(&b, NULL);
	buf_addf(&b, "%s/run", h->base);
	h->rdir = buf_detach(&b, NULL);
	buf_addf(&b, "%s/meta", h->base);
	h->mdir = buf_detach(&b, NULL);
}

static void
list_add(struct conn *c, struct run_handle *h)
{
	if (h->listed)
		return;
	h->next = c->runs;
	c->runs = h;
	h->listed = true;
}

static void
list_del(struct conn *c, struct run_handle *h)
{
	struct run_handle **pp;

	if (!h->listed)
		return;
	for (pp = &c->runs; *pp; pp = &(*pp)->next) {
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	}
	h->listed = false;
	if (!c->runs && !c->slots)
		c->idle_since = ssh_now_ms();
}

/*
 * On the host: the run dir, its files and scripts, then the helper starts
 * the run; for a run that loads no files, all of it is one line to the
 * helper.  c->lock held (dropped between chunks).  *exec_sent once the
 * run may have started.
 */
static int
prepare_remote(struct conn *c, struct run_handle *h,
	       const struct run_spec *spec, const struct buf *exports,
	       bool *exec_sent)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT, w = BUF_INIT, line = BUF_INIT;
	size_t i;
	int r, ret = -1;

	set_paths(h);
	runner_umask_line(&w, spec, c->umask);
	proto_wrapper(&w, h, exports);
	if (proto_run_line(&line, h, spec, &w))
		goto start;
	buf_reset(&line);
	r = xfer_mkdir(c, h->base, 0700);
	if (r < 0 && r != SSH_LOST) {
		/* left by an earlier start of this run that died half way,
		 * or someone cleaned ~/.scaffold up */
		r = xfer_stat(c, h->base, false, &st);
		if (r == 0)
			r = proto_remove(c, h->base, true);
		else if (r == ERR_NOTFOUND)
			r = xfer_runs_dir(c);
		if (r == 0)
			r = xfer_mkdir(c, h->base, 0700);
	}
	if (r < 0 || (r = xfer_mkdir(c, h->rdir, 0700)) < 0 ||
	    (r = xfer_mkdir(c, h->mdir, 0700)) < 0)
		goto fail;
	if (h->store_env.n) {
		buf_addf(&p, "%s/env", h->mdir);
		if ((r = xfer_mkdir(c, p.ptr, 0700)) < 0)
			goto fail;
	}
	for (i = 0; i < spec->nfiles; i++)
		if ((r = xfer_upload_loaded(c, h, spec->files[i].path,
					    spec->files[i].src)) < 0)
			goto out_r;
	if ((r = xfer_upload_meta(c, h, "script", spec->script,
				  spec->script_len)) < 0)
		goto out_r;
	if ((r = xfer_upload_meta(c, h, "wrapper.sh", w.ptr, w.len)) < 0)
		goto out_r;
	buf_addf(&line, "__start %lld ", (long long)h->run_id);
	ssh_quote(&line, h->base);
	buf_putc(&line, '\n');
start:
	h->live = true;
	h->exited = false;
	h->read_every = OUT_POLL_MIN_MS;
	h->read_at = ssh_now_ms() + OUT_POLL_MIN_MS;
	h->check_at = ssh_now_ms() + EXIT_CHECK_MS;
	list_add(c, h);
	*exec_sent = true;
	if ((r = proto_send(c, line.ptr, line.len)) < 0) {
		h->live = false;
		goto out_r;
	}
	if (h->timeout_ms && h->timeout_ms < INT64_MAX - ssh_now_ms())
		h->deadline_ms = ssh_now_ms() + h->timeout_ms;
	ret = 0;
	goto out;
fail:
	if (r != SSH_LOST && r < 0)
		ssh_err_wrap("host '%s': cannot create the run dir '%s'",
			     c->name, h->base);
out_r:
	ret = r < 0 ? r : -1;
out:
	/* the env may hold secrets */
	memset(w.ptr, 0, w.len);
	memset(line.ptr, 0, line.len);
	buf_release(&p);
	buf_release(&w);
	buf_release(&line);
	return ret;
}

static int
ssh_start(struct run_handle **out, const struct run_spec *spec)
{
	struct run_handle *h = NULL;
	struct buf exports = BUF_INIT, e = BUF_INIT;
	struct conn *c;
	bool fresh, exec_sent;
	size_t i;
	int tries, r, ret = -1;

	*out = NULL;
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	c = h->c;
	if (!spec->script) {
		ret = err_set("run %lld: no script", (long long)spec->run_id);
		goto out;
	}
	for (i = 0; i < spec->nfiles; i++) {
		if (!runner_valid_rel_path(spec->files[i].path) ||
		    !spec->files[i].src) {
			err_set("file '%s' is not a path inside the run dir",
				spec->files[i].path
				    ? runner_esc(&e, spec->files[i].path)
				    : "");
			ret = ERR_INVALID;
			goto out;
		}
	}
	if ((ret = proto_exports(&exports, spec)) < 0)
		goto out;
	ret = -1;

	pthread_mutex_lock(&c->lock);
	while (c->slots >= c->max_sessions)
		pthread_cond_wait(&c->cond, &c->lock);
	c->slots++;
	h->slot = true;
	for (tries = 0;; tries++) {
		exec_sent = false;
		r = conn_ensure(c, &fresh);
		if (r < 0) {
			ret = r;
			break;
		}
		r = prepare_remote(c, h, spec, &exports, &exec_sent);
		if (!r) {
			ret = 0;
			break;
		}
		/* a shared session that died while idle: once more */
		if (r == SSH_LOST && !fresh && !exec_sent && !tries)
			continue;
		if (r == SSH_LOST)
			conn_lost_err(c);
		ret = r == SSH_LOST ? -1 : r;
		break;
	}
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	if (ret < 0)
		goto out;
	*out = h;
	h = NULL;
out:
	ssh_free(h); /* removes what it made on the host */
	if (exports.len)
		memset(exports.ptr, 0, exports.len);
	buf_release(&exports);
	buf_release(&e);
	return ret;
}

/*
 * Does the run's process group still run?  1, 0, 2 when the helper has
 * not recorded it yet (it is starting, or died first), SSH_LOST, -1.
 */
static int
still_runs(struct conn *c, struct run_handle *h)
{
	int r, status;

	r = proto_signal(c, h, "0", &status);
	if (r < 0)
		return r;
	return status == 0 ? 1 : status == 3 ? 2 : 0;
}

/* The deadline of an adopted run, from its start (meta/pid's mtime). */
static void
adopt_deadline(struct conn *c, struct run_handle *h)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct buf p = BUF_INIT;
	int64_t left = h->timeout_ms, ran;

	if (!h->timeout_ms)
		return;
	buf_addf(&p, "%s/pid", h->mdir);
	if (xfer_stat(c, p.ptr, false, &st) == 0 &&
	    (st.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)) {
		ran = ((int64_t)time(NULL) - (int64_t)st.mtime) * 1000;
		if (ran > 0)
			left = ran >= h->timeout_ms ? 0 : h->timeout_ms - ran;
	}
	h->deadline_ms = ssh_now_ms() + left;
	buf_release(&p);
}

static int
ssh_adopt(struct run_handle **out, const struct run_spec *spec)
{
	LIBSSH2_SFTP_ATTRIBUTES st;
	struct run_handle *h = NULL;
	struct conn *c = NULL;
	struct buf p = BUF_INIT;
	int r, status, ret = -1;

	*out = NULL;
	if ((ret = handle_new(&h, spec)) < 0)
		goto out;
	ret = -1;
	c = h->c;
	h->removed = true; /* a failed adopt leaves the host as it is */
	pthread_mutex_lock(&c->lock);
	if ((r = conn_ensure(c, NULL)) < 0) {
		ret = r;
		goto unlock;
	}
	set_paths(h);
	r = xfer_read_exit(c, h, &status);
	if (r == ERR_NOTFOUND) {
		r = xfer_stat(c, h->base, false, &st);
		if (r == ERR_NOTFOUND) {
			/* it goes only once the run's end is recorded */
			err_set("run %lld: no run dir '%s' on host '%s'",
				(long long)h->run_id, h->base, c->name);
			ret = RUNNER_NOT_STARTED;
			goto unlock;
		}
		if (r == 0) {
			/* the helper's __start creates meta/out before it
			 * forks the wrapper: without it, the wrapper never
			 * ran (with it and no meta/pid yet, still_runs says
			 * 2 and the run is polled) */
			buf_addf(&p, "%s/out", h->mdir);
			r = xfer_stat(c, p.ptr, false, &st);
			if (r == ERR_NOTFOUND) {
				err_set("run %lld: it was never started on "
					"host '%s'",
					(long long)h->run_id, c->name);
				h->removed = false; /* its remains go */
				ret = RUNNER_NOT_STARTED;
				goto unlock;
			}
		}
		if (r == 0)
			r = still_runs(c, h);
		if (r == 1 || r == 2) {
			h->polling = true;
			r = 0;
		} else if (r == 0) {
			/* it may have ended just now */
			r = xfer_read_exit(c, h, &status);
			if (r == ERR_NOTFOUND) {
				err_set("run %lld: it does not run on host "
					"'%s' any more and left no exit status",
					(long long)h->run_id, c->name);
				h->removed = false; /* its remains go */
				ret = ERR_NOTFOUND;
				goto unlock;
			}
		}
	}
	if (r == SSH_LOST) {
		conn_lost_err(c);
		goto unlock;
	}
	if (r < 0)
		goto unlock;
	if (!h->polling)
		h->finished = true;
	h->removed = false;
	adopt_deadline(c, h);
	list_add(c, h);
	h->out_off = xfer_load_offset(h);
	if ((r = xfer_open_output(c, h, true)) == SSH_LOST) {
		conn_lost_err(c);
		goto unlock;
	}
	run_log_note(&h->log, "re-adopted after a restart");
	*out = h;
	h = NULL;
	ret = 0;
unlock:
	pthread_mutex_unlock(&c->lock);
out:
	ssh_free(h);
	buf_release(&p);
	return ret;
}

/*
 * An adopted run that still runs: look for meta/exit every ADOPT_POLL_MS,
 * with the timers of a run (kill requests, the timeout).  0 and *status,
 * SSH_LOST, -1 with reason set.  c->lock held.
 */
static int
poll_run(struct conn *c, struct run_handle *h, char *buf, int *status,
	 char *reason, size_t rlen)
{
	struct timespec ts;
	int64_t until;
	int r, polls = 0;

	for (;;) {
		r = conn_ensure(c, NULL);
		if (r < 0) {
			snprintf(reason, rlen, "%s", err_msg());
			return -1;
		}
		if (xfer_read_output(c, h, buf) == SSH_LOST)
			return SSH_LOST;
		r = xfer_read_exit(c, h, status);
		if (r != ERR_NOTFOUND)
			return r;
		r = run_timers(c, h, ssh_now_ms());
		if (r == SSH_LOST)
			return r;
		if (h->done) {
			snprintf(reason, rlen, "%s", h->reason);
			return -1;
		}
		if (++polls % ALIVE_EVERY == 0) {
			r = still_runs(c, h);
			if (r < 0)
				return r;
			/* never recorded: its monitor died first */
			if (r == 2 && polls >= 6 * ALIVE_EVERY)
				r = 0;
			if (r == 0) {
				r = xfer_read_exit(c, h, status);
				if (r != ERR_NOTFOUND)
					return r;
				snprintf(reason, rlen,
					 "the run ended without an exit "
					 "status");
				return -1;
			}
		}
		until = ssh_now_ms() + ADOPT_POLL_MS;
		while (!h->kill_req || h->why != STOP_NONE) {
			if (ssh_now_ms() >= until)
				break;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ADOPT_POLL_MS / 1000;
			ts.tv_nsec += (ADOPT_POLL_MS % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			if (pthread_cond_timedwait(&c->cond, &c->lock, &ts))
				break;
		}
	}
}

/* After the run: RUN_LOST with the reason, in the result and the log. */
static void
result_lost(struct run_handle *h, struct run_result *out, const char *reason)
{
	run_result_lost(out, &h->log, "lost contact with host '%s': %s",
			h->c->name, reason);
}

static int
ssh_wait(struct run_handle *h, struct run_result *out)
{
	struct conn *c = h->c;
	char reason[512], dur[32], *buf;
	int status = -1, r = 0;
	bool lost = false;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	if (h->waited)
		return err_set("run %lld: already waited for",
			       (long long)h->run_id);
	h->waited = true;
	reason[0] = '\0';

	pthread_mutex_lock(&c->lock);
	if (h->polling || h->finished) {
		buf = xmalloc(CHUNK);
		if (h->finished)
			r = conn_ensure(c, NULL) < 0
				? -2
				: xfer_read_exit(c, h, &status);
		else
			r = poll_run(c, h, buf, &status, reason,
				     sizeof(reason));
		if (r == -2) {
			snprintf(reason, sizeof(reason), "%s", err_msg());
			r = -1;
		} else if (r == SSH_LOST) {
			snprintf(reason, sizeof(reason), "%s", c->lost_reason);
		} else if (r < 0 && !reason[0]) {
			snprintf(reason, sizeof(reason), "%s", err_msg());
		}
		lost = r < 0;
		h->exit_status = status;
		/* the rest of its output */
		while (!lost && h->out && (r = xfer_read_output(c, h, buf)) > 0)
			;
		if (!lost && r == SSH_LOST) {
			snprintf(reason, sizeof(reason), "%s", c->lost_reason);
			lost = true;
		}
		if (h->out && c->s)
			xfer_close(c, h->out);
		h->out = NULL;
		free(buf);
	} else {
		while (!h->done)
			pthread_cond_wait(&c->cond, &c->lock);
		lost = h->lost;
		snprintf(reason, sizeof(reason), "%s", h->reason);
		status = h->exit_status;
	}
	run_log_flush(&h->log);

	if (lost) {
		result_lost(h, out, reason);
	} else if (h->start_failed) {
		out->outcome = RUN_ERROR;
		snprintf(out->message, sizeof(out->message),
			 "host '%s': cannot create the run dir '%s': %s",
			 c->name, h->base, h->reason);
		run_log_note(&h->log, "%s", out->message);
	} else if (h->why == STOP_KILLED) {
		out->outcome = RUN_KILLED;
		snprintf(out->message, sizeof(out->message), "killed");
	} else if (h->why == STOP_TIMEOUT) {
		out->outcome = RUN_ERROR;
		duration_format(dur, sizeof(dur), h->timeout_ms);
		snprintf(out->message, sizeof(out->message),
			 "timed out after %s", dur);
	} else if (status == 0) {
		out->outcome = RUN_SUCCESS;
		out->exit_code = 0;
		r = conn_ensure(c, NULL) < 0 ? -2 : ssh_collect(h, out);
		if (r == -2) {
			result_lost(h, out, err_msg());
			lost = true;
		} else if (r == SSH_LOST) {
			result_lost(h, out, c->lost_reason);
			lost = true;
		} else if (r == RUNNER_OUT_FAILED) {
			out->outcome = RUN_ERROR;
			run_log_note(&h->log, "%s", out->message);
		}
	} else {
		out->outcome = RUN_ERROR;
		out->exit_code = status;
		snprintf(out->message, sizeof(out->message), "exit code %d",
			 status);
	}

	/*
	 * The run dir stays until free(), which the engine calls once the
	 * run's end is recorded: a scaffold killed before that adopts the
	 * run again and finds it.  A lost run's is out of reach (the next
	 * session ends what is left of it, see proto_reap_orphans()).
	 */
	if (lost)
		h->removed = true;
	conn_slot_release(c, h);
	list_del(c, h);
	pthread_mutex_unlock(&c->lock);
	conn_wake(c);
	return 0;
}

/* Safe from any thread: the I/O thread (or an adopted run's wait) acts. */
static int
ssh_kill(struct run_handle *h)
{
	pthread_mutex_lock(&h->c->lock);
	h->kill_req = true;
	pthread_cond_broadcast(&h->c->cond);
	pthread_mutex_unlock(&h->c->lock);
	conn_wake(h->c);
	return 0;
}

void
ssh_detach(struct run_handle *h)
{
	h->detached = true;
}

/*
 * Without wait(): kill the run's group and remove its run dir (unless
 * detached), close its channel.  The thread's error stays as it was.
 */
static void
ssh_free(struct run_handle *h)
{
	struct conn *c;
	char *saved;
	int r, status;

	if (!h)
		return;
	c = h->c;
	if (c) {
		saved = xstrdup(err_msg());
		pthread_mutex_lock(&c->lock);
		if (h->live && c->s && !h->detached) {
			r = proto_signal(c, h, "KILL", &status);
			if (r < 0 && r != SSH_LOST)
				log_warnx("runner: run %lld: host '%s': %s",
					  (long long)h->run_id, c->name,
					  err_msg());
		}
		h->live = false;
		if (h->out && c->s)
			xfer_close(c, h->out);
		h->out = NULL;
		if (!h->detached && !h->removed && h->base && c->s) {
			r = proto_remove(c, h->base, false);
			if (r < 0 && r != SSH_LOST)
				log_warnx("runner: run %lld: %s",
					  (long long)h->run_id, err_msg());
		}
		conn_slot_release(c, h);
		list_del(c, h);
		pthread_mutex_unlock(&c->lock);
		conn_wake(c);
		conn_put(c);
		err_set("%s", saved);
		free(saved);
	}
	masker_free(h->log.masker);
	strvec_clear(&h->store_files);
	strvec_clear(&h->store_env);
	free(h->base);
	free(h->rdir);
	free(h->mdir);
	free(h->local_run);
	if (h->off_fd >= 0)
		close(h->off_fd);
	free(h->off_path);
	free(h);
}

const struct runner_ops runner_ssh = {
    .name = "ssh",
    .start = ssh_start,
    .wait = ssh_wait,
    .kill = ssh_kill,
    .free = ssh_free,
    .adopt = ssh_adopt,
};
