/* ssh-int.h - what the files of the ssh runner share (see ssh.c). */
#ifndef SCAFFOLD_RUNNER_SSH_INT_H
#define SCAFFOLD_RUNNER_SSH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <libssh2.h>
#include <libssh2_sftp.h>

#include "runner-int.h"

#define DEFAULT_PORT 22
#define DEFAULT_MAX_SESSIONS 8
#define CONNECT_TIMEOUT_MS 15000 /* TCP connect; then each login step */
#define IO_TIMEOUT_MS 60000	 /* an answer to one request */
#define KEEPALIVE_S 15
#define TCP_TIMEOUT_MS 60000 /* sent data unacknowledged: the link is dead */
#define IDLE_CLOSE_MS (5 * 60 * 1000)
#define GRACE_MS 2000	    /* SIGTERM → SIGKILL */
#define KILL_WAIT_MS 30000  /* SIGKILL → the run must be over */
#define SIGNAL_RETRY_MS 200 /* a signal before the group is recorded */
#define ADOPT_POLL_MS 1000
#define ALIVE_EVERY 5	     /* adopt polls between two "does it still run?" */
#define OUT_POLL_MIN_MS 50   /* meta/out of a run: read again after... */
#define OUT_POLL_MAX_MS 1000 /* ...doubling while it does not grow */
#define EXIT_CHECK_MS 5000   /* a started run: meta/exit looked at */
#define AGENT_LINE_MAX 1024
#define RUN_LINE_MAX 8192 /* a run started by one line to the helper */
#define CHUNK 65536
#define SLICE_MAX (256 << 10) /* output of one run per turn of the I/O */
#define EXIT_MAX 64

/* Internal: the connection broke (conn_lost() ran); runner_ops never say it. */
#define SSH_LOST (-1000)

enum why_stop { STOP_NONE, STOP_TIMEOUT, STOP_KILLED };

/* The socket under a session; once dead, it swallows and reads EOF. */
struct link {
	int fd;
	bool dead;
};

struct run_handle;

/* A host of the inventory and its connection. */
struct conn {
	/* the inventory entry, read-only */
	char *name;
	char *address;
	int port;
	char *user;
	char *key_file;
	char *known_hosts;
	int max_sessions;
	char *umask; /* the runs' unless the task has one; NULL: 022 */
	char *where; /* "127.0.0.1:2222", for messages */
	int refs;    /* under inv_lock: the inventory's and each handle's */

	pthread_mutex_t lock;
	pthread_cond_t cond; /* a slot freed, a run over, a kill request */
	/* all below under lock */
	LIBSSH2_SESSION *s;
	struct link *link;
	LIBSSH2_SFTP *sftp;
	bool ready;   /* logged in: keepalives may go */
	char *home;   /* the user's home directory on the host */
	unsigned gen; /* bumped at every login; older handles are gone */
	char lost_reason[256];	 /* why the last session ended */
	int slots;		 /* runs holding one of max_sessions */
	struct run_handle *runs; /* started or adopted, not yet freed */
	int64_t idle_since;
	bool io_started;
	bool stopping;
	pthread_t io;
	int wake[2];	 /* wakes the I/O thread from its poll */
	bool connecting; /* conn_connect() runs: the lock is never dropped */
	bool probe;	 /* runner_ssh_probe's: log in, and no more */

	/* the helper shell of the session (all under lock) */
	LIBSSH2_CHANNEL *agent;
	struct buf ain, aerr; /* what it wrote: a line not complete yet */
	unsigned tag;	      /* of the last call */
	bool replied;	      /* the call tag has its answer, */
	int reply;	      /* this one */
	/* run dirs of runs ended lost with the connection: their process
	 * may still run on the host; the next session kills and removes */
	struct strvec orphans;
};

struct run_handle {
	struct conn *c; /* holds a reference */
	int64_t run_id;
	char instance[40]; /* spec->instance, or "" */
	struct strvec store_files;
	struct strvec store_env;
	char *base;	 /* on the host: HOME/.scaffold/runs/ID */
	char *rdir;	 /* base/run */
	char *mdir;	 /* base/meta */
	char *local_run; /* work_dir/run: collected files go there */
	int64_t timeout_ms;
	int64_t deadline_ms; /* monotonic; 0: none */

	struct run_log log; /* fd, masker, last byte */

	int off_fd;	/* work_dir/ssh-out-offset, or -1 */
	char *off_path; /* how far meta/out went into the log */

	/* under c->lock */
	struct run_handle *next; /* in c->runs */
	bool listed;
	bool live;   /* started on this session; its end not seen yet */
	bool exited; /* the helper saw it end: the rest of out, then done */
	int display; /* the helper saw run/.display: 1, 0; -1: ask SFTP */
	int64_t check_at;  /* when meta/exit is looked at next (live) */
	bool exit_seen;	   /* ...and was there the last time */
	bool out_empty;	   /* the helper saw an empty meta/out at the end */
	bool start_failed; /* the helper could not make the run dir */
	LIBSSH2_SFTP_HANDLE *out; /* meta/out, read as it grows */
	int64_t out_off;	  /* what of it is in the log */
	int64_t read_at;	  /* next read (live) */
	int read_every;
	bool slot;
	bool polling;  /* adopted while running: wait() polls meta/exit */
	bool finished; /* adopted after its end */
	bool kill_req;
	enum why_stop why;
	int64_t term_at;     /* SIGTERM due since; 0: not */
	int64_t kill_at;     /* SIGKILL due since; 0: not */
	const char *pending; /* a signal not delivered yet: "TERM", "KILL" */
	int64_t retry_at;
	bool done; /* the channel closed, or the connection broke */
	bool lost;
	char reason[256]; /* why it was lost */
	int exit_status;  /* from the helper, or meta/exit */
	bool waited;
	bool detached; /* free() leaves the remote run alone */
	bool removed;  /* the remote run dir is gone */
};

/*
 * Repeat a libssh2 call returning a number while it would block; c->lock
 * held.  rc: its result, SSH_LOST when the session broke meanwhile.
 */
#define DRIVE_T(c, rc, call, timeout)                                          \
	do {                                                                   \
		int64_t dl_ = ssh_now_ms() + (timeout);                        \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN &&              \
		       ((rc) = conn_wait((c), dl_)) == 0)                      \
			;                                                      \
		if ((rc) < 0)                                                  \
			(rc) = conn_check((c), (int)(rc));                     \
	} while (0)
#define DRIVE(c, rc, call) DRIVE_T(c, rc, call, IO_TIMEOUT_MS)

/* The same for a call returning a pointer; NULL: see conn_ptr_fail(). */
#define DRIVE_PTR(c, p, call)                                                  \
	do {                                                                   \
		int64_t dl_ = ssh_now_ms() + IO_TIMEOUT_MS;                    \
		while (!((p) = (call)) &&                                      \
		       libssh2_session_last_errno((c)->s) ==                   \
			   LIBSSH2_ERROR_EAGAIN &&                             \
		       conn_wait((c), dl_) == 0)                               \
			;                                                      \
	} while (0)

/* ssh-conn.c */
int64_t ssh_now_ms(void);
int PRINTF_LIKE(1, 2) ssh_err_wrap(const char *fmt, ...);
void ssh_quote(struct buf *b, const char *s);
int64_t ssh_sooner(int64_t t, int64_t x);
const char *ssh_last_error(LIBSSH2_SESSION *s);
void conn_wake(struct conn *c);
struct conn *conn_find(const char *name);
void conn_put(struct conn *c);
int conn_connect(struct conn *c);
int conn_ensure(struct conn *c, bool *fresh);
int conn_check(struct conn *c, int rc);
int conn_wait_x(struct conn *c, int64_t deadline, bool soft);
int conn_wait(struct conn *c, int64_t deadline);
int conn_ptr_fail(struct conn *c);
int conn_lost(struct conn *c, const char *reason);
int conn_lost_err(struct conn *c);
void conn_teardown(struct conn *c, bool graceful);
void conn_slot_release(struct conn *c, struct run_handle *h);
ssize_t conn_agent_read(struct conn *c, int stream, char *buf, size_t len);
bool conn_agent_eof(struct conn *c);
int conn_agent_write(struct conn *c, const char *data, size_t len);
int conn_agent_open(struct conn *c, const char *cmd);
int conn_keepalive(struct conn *c, int64_t *t, bool *sending);

/* ssh-xfer.c */
int xfer_stat(struct conn *c, const char *path, bool follow,
	      LIBSSH2_SFTP_ATTRIBUTES *st);
int xfer_mkdir(struct conn *c, const char *path, long mode);
void xfer_close(struct conn *c, LIBSSH2_SFTP_HANDLE *fh);
int xfer_put(struct conn *c, const char *path, long mode, int fd,
	     const char *data, size_t len);
int xfer_get(struct conn *c, const char *path, int64_t max, int fd,
	     struct buf *into);
int xfer_runs_dir(struct conn *c);
int xfer_upload_loaded(struct conn *c, struct run_handle *h, const char *path,
		       const char *src);
int xfer_upload_meta(struct conn *c, struct run_handle *h, const char *name,
		     const char *data, size_t len);
int64_t xfer_load_offset(struct run_handle *h);
int xfer_open_output(struct conn *c, struct run_handle *h, bool adopted);
int xfer_read_output(struct conn *c, struct run_handle *h, char *buf);
int xfer_read_exit(struct conn *c, struct run_handle *h, int *status);
int xfer_rename(struct conn *c, const char *from, const char *to);
int xfer_unlink(struct conn *c, const char *path);
int ssh_collect(struct run_handle *h, struct run_result *out);

/* ssh-proto.c */
extern const char proto_agent_script[];
int proto_start(struct conn *c);
int proto_pump(struct conn *c);
int proto_send(struct conn *c, const char *line, size_t len);
int proto_signal(struct conn *c, struct run_handle *h, const char *sig,
		 int *status);
int proto_remove(struct conn *c, const char *base, bool now);
int proto_reap_orphans(struct conn *c);
int proto_exports(struct buf *out, const struct run_spec *spec);
void proto_wrapper(struct buf *w, const struct run_handle *h,
		   const struct buf *exports);
bool proto_run_line(struct buf *line, const struct run_handle *h,
		    const struct run_spec *spec, const struct buf *wrapper);

/* ssh.c */
void *ssh_io_main(void *arg);

#endif
