/*
 * test_ssh.c - the ssh runner against real OpenSSH servers: throwaway
 * "sshd -D -e -f CONFIG" instances on 127.0.0.1, on random ports, with
 * freshly generated host keys, started here.  The runs log in as the test
 * user scaffoldtest, whose login shell is plain /bin/sh (created when
 * absent: the tests run as root, and are skipped otherwise).
 *
 * Servers: A and B (defaults of OpenSSH), C (killed and restarted by the
 * test of a lost connection), R (accepts RSA signatures with SHA-1, which
 * libssh2 1.10 needs for RSA keys).  Every server is stopped at the end, and
 * ~scaffoldtest/.scaffold removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "../../runner/runner-int.h"

#define USER "scaffoldtest"
#define SSHD "/usr/sbin/sshd"

struct sshd {
	const char *name;
	bool rsa; /* PubkeyAcceptedAlgorithms +ssh-rsa */
	char dir[128];
	char known[160]; /* its known_hosts line */
	char fp[128];	 /* its host key's SHA256:... */
	int port;
	pid_t pid;
};

static struct sshd srv_a = {.name = "A"};
static struct sshd srv_b = {.name = "B"};
static struct sshd srv_c = {.name = "C"};
static struct sshd srv_r = {.name = "R", .rsa = true};

static const char *skip_reason;
static char tdir[64];  /* the test's own files */
static char home[256]; /* the test user's home */
static char kh_unknown[128], kh_mismatch[128];
static char userkey[128], otherkey[128], rsakey[128];
static int64_t first_run_id, next_run_id;

/* ---- helpers ---------------------------------------------------------- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
slurp(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path, 1 << 26) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

static void
spit(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Output of a shell command (caller frees); NULL when it failed. */
static char *
sh_out(const char *cmd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *p = popen(cmd, "r");

	if (!p)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
		buf_add(&b, chunk, n);
	if (pclose(p) != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int sh(const char *fmt, ...) PRINTF_LIKE(1, 2);

static int
sh(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	r = system(b.ptr);
	buf_release(&b);
	return r;
}

/*
 * cmd on server d, through the OpenSSH client as the test user (cmd must
 * hold no single quote); its output, or NULL.
 */
static char *
ssh_out(const struct sshd *d, const char *cmd)
{
	struct buf b = BUF_INIT;
	char *out;

	buf_addf(&b,
		 "ssh -p %d -i %s -o BatchMode=yes -o IdentitiesOnly=yes "
		 "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s "
		 "-o LogLevel=ERROR " USER "@127.0.0.1 '%s' </dev/null",
		 d->port, userkey, d->known, cmd);
	out = sh_out(b.ptr);
	buf_release(&b);
	return out;
}

/*
 * Does process group pgid still have a process on d (not a zombie: in a
 * container, orphans may go to an init that does not reap)?  Over ssh.
 */
static bool
group_alive(const struct sshd *d, long pgid)
{
	char cmd[200], *out;
	bool alive;

	snprintf(cmd, sizeof(cmd),
		 "ps -eo pgid=,stat= | awk \"\\$1 == %ld && \\$2 !~ /^Z/\" "
		 "| grep -q . && echo alive || echo gone",
		 pgid);
	out = ssh_out(d, cmd);
	assert_non_null(out);
	alive = !strcmp(out, "alive\n");
	if (!alive)
		assert_string_equal(out, "gone\n");
	free(out);
	return alive;
}

/* The group is gone within 3 s (signals take a moment). */
static bool
group_gone(const struct sshd *d, long pgid)
{
	int i;

	for (i = 0; i < 30; i++) {
		if (!group_alive(d, pgid))
			return true;
		usleep(100000);
	}
	return false;
}

static void
run_base(char *out, size_t len, int64_t id)
{
	snprintf(out, len, "%s/.scaffold/runs/%lld", home, (long long)id);
}

static void
meta_path(char *out, size_t len, int64_t id, const char *name)
{
	snprintf(out, len, "%s/.scaffold/runs/%lld/meta/%s", home,
		 (long long)id, name);
}

/* The run dir of run id is not there now. */
static bool
remote_gone_now(int64_t id)
{
	char p[512];

	run_base(p, sizeof(p), id);
	return access(p, F_OK) < 0 && errno == ENOENT;
}

/* The run dir of run id is gone from the host (same machine). */
static bool
remote_gone(int64_t id)
{
	char p[512];
	int i;

	/* the helper removes run dirs in the background */
	run_base(p, sizeof(p), id);
	for (i = 0; i < 100 && access(p, F_OK) == 0; i++)
		usleep(50000);
	return access(p, F_OK) < 0 && errno == ENOENT;
}

/* ---- servers ---------------------------------------------------------- */

static bool
port_open(int port)
{
	struct sockaddr_in sa;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

static void
write_config(const struct sshd *d)
{
	char path[PATH_MAX + 32];
	struct buf b = BUF_INIT;

	buf_addf(&b,
		 "Port %d\n"
		 "ListenAddress 127.0.0.1\n"
		 "HostKey %s/host_ed25519\n"
		 "AuthorizedKeysFile %s/authorized_keys\n"
		 "AllowUsers " USER "\n"
		 "PermitRootLogin no\n"
		 "PasswordAuthentication no\n"
		 "KbdInteractiveAuthentication no\n"
		 "UsePAM no\n"
		 "StrictModes no\n"
		 "Subsystem sftp internal-sftp\n"
		 "PidFile %s/sshd.pid\n"
		 "LogLevel ERROR\n",
		 d->port, d->dir, tdir, d->dir);
	if (d->rsa)
		buf_puts(&b, "PubkeyAcceptedAlgorithms +ssh-rsa\n");
	snprintf(path, sizeof(path), "%s/sshd_config", d->dir);
	spit(path, b.ptr, b.len);
	buf_release(&b);
}

/* Start sshd d on its port; 0, or -1 when it exited (port taken?). */
static int
sshd_spawn(struct sshd *d)
{
	char conf[PATH_MAX + 32], log[PATH_MAX + 32];
	int i, fd, st;
	pid_t pid;

	write_config(d);
	snprintf(conf, sizeof(conf), "%s/sshd_config", d->dir);
	snprintf(log, sizeof(log), "%s/log", d->dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
			dup2(fd, 2);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		execl(SSHD, SSHD, "-D", "-e", "-f", conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return -1;
		if (port_open(d->port)) {
			d->pid = pid;
			return 0;
		}
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int
sshd_start(struct sshd *d)
{
	char cmd[PATH_MAX * 2], *out, *sp;
	int tries;

	snprintf(d->dir, sizeof(d->dir), "%s/sshd-%s", tdir, d->name);
	if (mkdir(d->dir, 0755) < 0)
		return -1;
	if (sh("ssh-keygen -q -t ed25519 -N '' -f %s/host_ed25519 "
	       "</dev/null",
	       d->dir))
		return -1;
	snprintf(cmd, sizeof(cmd), "ssh-keygen -lf %s/host_ed25519.pub",
		 d->dir);
	out = sh_out(cmd);
	if (!out || !(sp = strchr(out, ' ')))
		return -1;
	snprintf(d->fp, sizeof(d->fp), "%.*s", (int)strcspn(sp + 1, " "),
		 sp + 1);
	free(out);
	for (tries = 0; tries < 20; tries++) {
		d->port =
		    20000 +
		    (int)((getpid() * 7919 + tries * 104729 + time(NULL)) %
			  20000);
		if (port_open(d->port))
			continue;
		if (sshd_spawn(d) == 0)
			break;
	}
	if (!d->pid)
		return -1;
	snprintf(d->known, sizeof(d->known), "%s/known_hosts", d->dir);
	return sh("echo \"[127.0.0.1]:%d $(cut -d' ' -f1,2 "
		  "%s/host_ed25519.pub)\" >%s",
		  d->port, d->dir, d->known);
}

static void
sshd_stop(struct sshd *d)
{
	int st;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

/* Parent pid and command name of a process, from /proc; -1 if gone. */
static pid_t
proc_parent(pid_t pid, char *comm, size_t len)
{
	char path[64], *s = NULL, *open_p, *close_p;
	pid_t ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = slurp(path, NULL);
	if (!s)
		return -1;
	open_p = strchr(s, '(');
	close_p = strrchr(s, ')');
	if (open_p && close_p && close_p > open_p) {
		snprintf(comm, len, "%.*s", (int)(close_p - open_p - 1),
			 open_p + 1);
		if (sscanf(close_p + 2, "%*c %d", &ppid) != 1)
			ppid = -1;
	}
	free(s);
	return ppid;
}

/*
 * SIGKILL every sshd process of server d: the listener, and the processes
 * serving its connections (what a crash of the server does to the runs'
 * connection); the runs' own processes live on.  The listener is stopped
 * first, so that it reaps none of them while we look: an orphan would
 * leave the tree.
 */
static void
sshd_crash(struct sshd *d)
{
	DIR *dir;
	struct dirent *de;
	char comm[64];
	pid_t pid, p, victims[64];
	int st, depth, n = 0, i;

	kill(d->pid, SIGSTOP);
	dir = opendir("/proc");
	assert_non_null(dir);
	while ((de = readdir(dir)) && n < (int)ARRAY_SIZE(victims)) {
		pid = (pid_t)atoi(de->d_name);
		if (pid <= 0 || pid == d->pid)
			continue;
		if (proc_parent(pid, comm, sizeof(comm)) < 0 ||
		    strcmp(comm, "sshd"))
			continue;
		for (p = pid, depth = 0; p > 1 && depth < 8; depth++) {
			p = proc_parent(p, comm, sizeof(comm));
			if (p == d->pid) {
				victims[n++] = pid;
				break;
			}
		}
	}
	closedir(dir);
	assert_true(n > 0);
	for (i = 0; i < n; i++)
		kill(victims[i], SIGKILL);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
}

static int
make_user(void)
{
	struct passwd *pw;

	if (!getpwnam(USER) &&
	    sh("useradd -m -s /bin/sh " USER " >/dev/null 2>&1"))
		return -1;
	/* not locked ('!'): sshd refuses locked accounts without PAM */
	if (sh("usermod -p '*' " USER " >/dev/null 2>&1"))
		return -1;
	pw = getpwnam(USER);
	if (!pw || !pw->pw_dir)
		return -1;
	snprintf(home, sizeof(home), "%s", pw->pw_dir);
	return 0;
}

static void
configure(void)
{
	struct ssh_host hosts[] = {
	    {"A", "127.0.0.1", srv_a.port, USER, userkey, srv_a.known, 0},
	    {"B", "127.0.0.1", srv_b.port, USER, userkey, srv_b.known, 0},
	    {"C", "127.0.0.1", srv_c.port, USER, userkey, srv_c.known, 0},
	    {"A2", "127.0.0.1", srv_a.port, USER, userkey, srv_a.known, 2},
	    {"A-otherkey", "127.0.0.1", srv_a.port, USER, otherkey, srv_a.known,
	     0},
	    {"A-unknown", "127.0.0.1", srv_a.port, USER, userkey, kh_unknown,
	     0},
	    {"A-mismatch", "127.0.0.1", srv_a.port, USER, userkey, kh_mismatch,
	     0},
	    {"A-rsa", "127.0.0.1", srv_a.port, USER, rsakey, srv_a.known, 0},
	    {"R-rsa", "127.0.0.1", srv_r.port, USER, rsakey, srv_r.known, 0},
	};

	runner_ssh_configure(hosts, ARRAY_SIZE(hosts));
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Orphans of the servers and of the runs come to us, to be reaped at
	 * the end: in a container, init may leave them zombies.
	 */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (geteuid() != 0) {
		skip_reason = "not root (the test starts sshd and needs the "
			      "user " USER ")";
		goto out;
	}
	if (access(SSHD, X_OK) < 0 || sh("command -v ssh-keygen ssh "
					 ">/dev/null 2>&1")) {
		skip_reason =
		    "OpenSSH is not installed (scripts/install-deps.sh "
		    "installs openssh-server and openssh-client)";
		goto out;
	}
	if (make_user() < 0) {
		skip_reason = "cannot create the user " USER;
		goto out;
	}
	mkdir("/run/sshd", 0755);
	unit_tmp_path(tdir, sizeof(tdir), "scaffold-test-ssh");
	if (!mkdtemp(tdir) || chmod(tdir, 0755) < 0) {
		skip_reason = "cannot make a temporary directory";
		goto out;
	}
	unit_tmps_add(tdir);
	snprintf(userkey, sizeof(userkey), "%s/user_ed25519", tdir);
	snprintf(otherkey, sizeof(otherkey), "%s/other_ed25519", tdir);
	snprintf(rsakey, sizeof(rsakey), "%s/user_rsa", tdir);
	if (sh("cd %s && ssh-keygen -q -t ed25519 -N '' -f user_ed25519 "
	       "</dev/null && ssh-keygen -q -t ed25519 -N '' -f other_ed25519 "
	       "</dev/null && ssh-keygen -q -t rsa -b 3072 -N '' -f user_rsa "
	       "</dev/null && cat user_ed25519.pub user_rsa.pub "
	       ">authorized_keys && ssh-keygen -q -t ed25519 -N '' -f "
	       "stranger </dev/null",
	       tdir)) {
		skip_reason = "ssh-keygen failed";
		goto out;
	}
	if (sshd_start(&srv_a) || sshd_start(&srv_b) || sshd_start(&srv_c) ||
	    sshd_start(&srv_r)) {
		skip_reason = "cannot start sshd";
		goto out;
	}
	snprintf(kh_unknown, sizeof(kh_unknown), "%s/kh_unknown", tdir);
	snprintf(kh_mismatch, sizeof(kh_mismatch), "%s/kh_mismatch", tdir);
	if (sh("echo \"[127.0.0.1]:%d $(cut -d' ' -f1,2 %s/stranger.pub)\" "
	       ">%s && echo \"[127.0.0.1]:%d $(cut -d' ' -f1,2 "
	       "%s/stranger.pub)\" >%s",
	       srv_a.port + 1, tdir, kh_unknown, srv_a.port, tdir,
	       kh_mismatch)) {
		skip_reason = "cannot write known_hosts files";
		goto out;
	}
	configure();
out:
	if (skip_reason)
		fprintf(stderr, "test_ssh: skipping: %s\n", skip_reason);
	/* a run id range of our own: other tests may use the account */
	first_run_id = next_run_id = 8000000000000LL +
				     (int64_t)getpid() * 100000 +
				     (int64_t)(time(NULL) % 1000) * 100;
	return 0;
}

static int
group_teardown(void **state)
{
	char p[600];
	int64_t id;

	(void)state;
	runner_ssh_configure(NULL, 0);
	sshd_stop(&srv_a);
	sshd_stop(&srv_b);
	sshd_stop(&srv_c);
	sshd_stop(&srv_r);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (tdir[0])
		rm_tree(tdir);
	/* only our runs' dirs: other tests may be running as the user */
	if (home[0]) {
		for (id = first_run_id; id < next_run_id; id++) {
			run_base(p, sizeof(p), id);
			if (!access(p, F_OK))
				rm_tree(p);
		}
		snprintf(p, sizeof(p), "%s/.scaffold/runs", home);
		rmdir(p);
		snprintf(p, sizeof(p), "%s/.scaffold", home);
		rmdir(p);
	}
	return 0;
}

#define NEED_SERVERS()                                                         \
	do {                                                                   \
		if (skip_reason)                                               \
			skip();                                                \
	} while (0)

/* ---- fixture ---------------------------------------------------------- */

struct fx {
	char base[128];
	char work[PATH_MAX];
	char logp[PATH_MAX];
	struct run_spec spec;
	struct run_result res;
	char *log;
	size_t loglen;
	int64_t elapsed_ms;
	struct run_handle *h;
	int wait_ret;
};

static void
fx_init(struct fx *f, const char *host)
{
	int fd;

	memset(f, 0, sizeof(*f));
	unit_tmpdir(f->base, sizeof(f->base), "scaffold-test-sshrun");
	snprintf(f->work, sizeof(f->work), "%s/work", f->base);
	assert_int_equal(mkdir(f->work, 0700), 0);
	snprintf(f->logp, sizeof(f->logp), "%s/log", f->base);
	fd = open(f->logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	f->spec.run_id = next_run_id++;
	f->spec.cascade = "simple";
	f->spec.task = "t";
	f->spec.attempt = 1;
	f->spec.host = host;
	f->spec.work_dir = f->work;
	f->spec.log_fd = fd;
	run_result_release(&f->res);
}

static int
fx_start(struct fx *f, const char *script)
{
	f->spec.script = script;
	f->spec.script_len = strlen(script);
	return runner_ssh.start(&f->h, &f->spec);
}

static void
fx_read_log(struct fx *f)
{
	free(f->log);
	f->log = slurp(f->logp, &f->loglen);
	assert_non_null(f->log);
}

/* Wait, free, read the log. */
static void
fx_finish(struct fx *f, int64_t t0)
{
	f->wait_ret = runner_ssh.wait(f->h, &f->res);
	f->elapsed_ms = mono_ms() - t0;
	runner_ssh.free(f->h);
	f->h = NULL;
	fx_read_log(f);
}

static void
fx_run(struct fx *f, const char *script)
{
	int64_t t0 = mono_ms();

	if (fx_start(f, script))
		fail_msg("start: %s", err_msg());
	fx_finish(f, t0);
	if (f->wait_ret)
		fail_msg("wait: %s", err_msg());
}

static void
fx_done(struct fx *f)
{
	run_result_release(&f->res);
	close(f->spec.log_fd);
	free(f->log);
	rm_tree(f->base);
}

static const char *
env_of(const struct run_result *r, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i < r->nenv; i++) {
		if (!strcmp(r->env[i].name, name)) {
			if (len)
				*len = r->env[i].len;
			return r->env[i].value;
		}
	}
	return NULL;
}

static const char *
file_of(const struct run_result *r, const char *path)
{
	size_t i;

	for (i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i].path, path))
			return r->files[i].src;
	return NULL;
}

static void
assert_log(const struct fx *f, const char *want, size_t wlen)
{
	struct buf a = BUF_INIT, b = BUF_INIT;

	if (f->loglen == wlen && !memcmp(f->log, want, wlen))
		return;
	escape_log(&a, f->log, f->loglen);
	escape_log(&b, want, wlen);
	fail_msg("log:\n%s\nwanted:\n%s", a.ptr, b.ptr);
}

/* "pid=N" in the log: the run's process group. */
static long
pgid_in_log(const struct fx *f)
{
	const char *p = strstr(f->log, "pid=");

	assert_non_null(p);
	return atol(p + 4);
}

/* ---- tests ------------------------------------------------------------ */

static void
test_table(void **state)
{
	(void)state;
	assert_ptr_equal(runner_find("ssh"), &runner_ssh);
	assert_string_equal(runner_ssh.name, "ssh");
	assert_non_null(runner_ssh.adopt);
}

static void
test_not_in_inventory(void **state)
{
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "web9");
	assert_int_equal(fx_start(&f, "true\n"), ERR_NOTFOUND);
	assert_null(f.h);
	assert_string_equal(err_msg(), "host 'web9' is not in the inventory");
	fx_done(&f);
}

/* A byte-exact value with a newline, quotes, '=' and bytes not UTF-8. */
static const char tricky[] = "line1\nqu\"ote's = x\xff\xfe end\n";

/*
 * Scaffold's "simple" example across two hosts: a task on A writes a file
 * and sets a variable, both stored; a task on B loads both.
 */
static void
test_store_on_a_load_on_b(void **state)
{
	static const char *const sf[] = {"out.txt", "./sub//deep.txt"};
	static const char *const se[] = {"V", "EMPTY", "PLAIN"};
	static const char *const sf2[] = {"v.bin"};
	struct runner_env env[5];
	struct runner_file files[2];
	struct fx f, g;
	struct buf want = BUF_INIT;
	char *copy_out, *copy_deep, *s, rdir[512];
	const char *v;
	size_t len;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_files = sf;
	f.spec.nstore_files = 2;
	f.spec.store_env = se;
	f.spec.nstore_env = 3;
	fx_run(&f, "echo \"dir=$SCAFFOLD_RUN_DIR pwd=$(pwd)\"\n"
		   "ls -A\n"
		   "echo hello > out.txt\n"
		   "mkdir sub && printf 'deep' > sub/deep.txt\n"
		   "V='line1\nqu\"ote'\\''s = x\xff\xfe end\n'\n"
		   "EMPTY=\n"
		   "PLAIN=plain\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.exit_code, 0);
	run_base(rdir, sizeof(rdir) - 8, f.spec.run_id);
	memcpy(rdir + strlen(rdir), "/run", 5);
	buf_addf(&want, "dir=%s pwd=%s\n", rdir, rdir);
	assert_log(&f, want.ptr, want.len);
	v = env_of(&f.res, "V", &len);
	assert_non_null(v);
	assert_int_equal(len, sizeof(tricky) - 1);
	assert_memory_equal(v, tricky, len);
	assert_string_equal(env_of(&f.res, "EMPTY", &len), "");
	assert_int_equal(len, 0);
	assert_string_equal(env_of(&f.res, "PLAIN", NULL), "plain");
	assert_int_equal(f.res.nfiles, 2);
	assert_string_equal(f.res.files[0].path, "out.txt");
	assert_string_equal(f.res.files[1].path, "./sub//deep.txt");
	s = slurp(file_of(&f.res, "out.txt"), NULL);
	assert_string_equal(s, "hello\n");
	free(s);
	s = slurp(file_of(&f.res, "./sub//deep.txt"), NULL);
	assert_string_equal(s, "deep");
	free(s);
	/* collected into the work dir, under run/, like the local runner */
	buf_reset(&want);
	buf_addf(&want, "%s/run/out.txt", f.work);
	assert_string_equal(file_of(&f.res, "out.txt"), want.ptr);
	/* and the host is clean */
	assert_true(remote_gone(f.spec.run_id));

	copy_out = xmalloc(128);
	copy_deep = xmalloc(128);
	close(unit_tmpfile(copy_out, 128, "scaffold-test-ssh-out"));
	close(unit_tmpfile(copy_deep, 128, "scaffold-test-ssh-deep"));
	spit(copy_out, "hello\n", 6);
	spit(copy_deep, "deep", 4);

	/* on B: later env entries win; SCAFFOLD_HOST comes from the engine */
	fx_init(&g, "B");
	env[0] = (struct runner_env){"SCAFFOLD_HOST", "B", 1};
	env[1] = (struct runner_env){"V", "overridden", 10};
	env[2] = (struct runner_env){"A", "1", 1};
	env[3] = (struct runner_env){"V", (char *)v, sizeof(tricky) - 1};
	env[4] = (struct runner_env){"A", "two", 3};
	files[0] = (struct runner_file){"out.txt", copy_out};
	files[1] = (struct runner_file){"sub/deep.txt", copy_deep};
	g.spec.env = env;
	g.spec.nenv = 5;
	g.spec.files = files;
	g.spec.nfiles = 2;
	g.spec.store_files = sf2;
	g.spec.nstore_files = 1;
	fx_run(&g, "ls -A\n"
		   "cat out.txt sub/deep.txt; echo\n"
		   "echo \"A=$A host=$SCAFFOLD_HOST\"\n"
		   "printf '%s' \"$V\" > v.bin\n"
		   "printf '[%s]' \"$V\"\n");
	assert_string_equal(g.res.message, "");
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	buf_reset(&want);
	buf_puts(&want, "out.txt\nsub\nhello\ndeep\nA=two host=B\n[");
	buf_add(&want, tricky, sizeof(tricky) - 1);
	buf_putc(&want, ']');
	assert_log(&g, want.ptr, want.len);
	s = slurp(file_of(&g.res, "v.bin"), &len);
	assert_int_equal(len, sizeof(tricky) - 1);
	assert_memory_equal(s, tricky, len);
	free(s);
	assert_true(remote_gone(g.spec.run_id));

	unlink(copy_out);
	unlink(copy_deep);
	free(copy_out);
	free(copy_deep);
	buf_release(&want);
	fx_done(&f);
	fx_done(&g);
}

/* Runs on a host share its connection (SSH_CLIENT names its port). */
static void
test_one_connection(void **state)
{
	struct fx f, g;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	fx_run(&f, "echo \"$SSH_CLIENT\"\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	fx_init(&g, "A");
	fx_run(&g, "echo \"$SSH_CLIENT\"\n");
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	assert_true(!strncmp(f.log, "127.0.0.1 ", 10));
	assert_string_equal(f.log, g.log);
	fx_done(&f);
	fx_done(&g);
}

static void
test_exit_codes(void **state)
{
	static const char *const se[] = {"X"};
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "X=1\necho before\nfalse\necho never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 1");
	assert_int_equal(f.res.exit_code, 1);
	assert_int_equal(f.res.nenv, 0);
	assert_string_equal(f.log, "before\n");
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);

	fx_init(&f, "A");
	fx_run(&f, "echo out; sleep 0.1; echo err >&2; exit 3\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "exit code 3");
	assert_int_equal(f.res.exit_code, 3);
	assert_string_equal(f.log, "out\nerr\n");
	fx_done(&f);
}

/* exit 0 mid-script, and scripts with an EXIT trap of their own. */
static void
test_exit_trap(void **state)
{
	static const char *const se[] = {"X"};
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "cd /\nX=1\nexit 0\nX=2\necho never\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "1");
	assert_string_equal(f.log, "");
	fx_done(&f);

	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "trap 'echo cleanup' EXIT\nX=5\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "5");
	assert_string_equal(f.log, "cleanup\n");
	fx_done(&f);

	/* ... one that replaces it and exits: nothing captured */
	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "trap 'echo mine' EXIT\nX=5\nexit 0\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store env 'X' is not set");
	assert_string_equal(f.log,
			    "mine\n"
			    "scaffold: store env was not captured: did the "
			    "script replace the EXIT trap and exit, or exec?\n"
			    "scaffold: store env 'X' is not set\n");
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);

	/* ... and exec */
	fx_init(&f, "A");
	fx_run(&f, "exec sh -c 'exit 4'\n");
	assert_string_equal(f.res.message, "exit code 4");
	fx_done(&f);
}

/* The timeout ends the whole remote group, background children too. */
static void
test_timeout(void **state)
{
	struct fx f;
	long pgid;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.timeout_ms = 1000;
	fx_run(&f, "echo \"pid=$$\"\nsleep 30 &\nsleep 30\necho never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "timed out after 1s");
	assert_int_equal(f.res.exit_code, -1);
	pgid = pgid_in_log(&f);
	{
		char want[128];

		snprintf(want, sizeof(want),
			 "pid=%ld\nscaffold: timed out after 1s\n", pgid);
		assert_string_equal(f.log, want);
	}
	assert_true(f.elapsed_ms < 10000);
	assert_true(group_gone(&srv_a, pgid));
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

struct killer {
	struct fx *f;
	int ret;
};

static void *
killer_main(void *arg)
{
	struct killer *k = arg;
	char *log;
	int i;

	for (i = 0; i < 200; i++) {
		log = slurp(k->f->logp, NULL);
		if (log && strstr(log, "started")) {
			free(log);
			break;
		}
		free(log);
		usleep(50000);
	}
	k->ret = runner_ssh.kill(k->f->h);
	return NULL;
}

/* kill() from another thread; a script that ignores SIGTERM. */
static void
test_kill_from_thread(void **state)
{
	struct killer k;
	pthread_t th;
	struct fx f;
	int64_t t0;
	long pgid;
	char want[256];

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	t0 = mono_ms();
	if (fx_start(&f, "echo \"pid=$$\"; echo started\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	k.f = &f;
	k.ret = -1;
	assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
	f.wait_ret = runner_ssh.wait(f.h, &f.res);
	pthread_join(th, NULL);
	assert_int_equal(k.ret, 0);
	assert_int_equal(f.wait_ret, 0);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_string_equal(f.res.message, "killed");
	assert_true(mono_ms() - t0 < 15000);
	runner_ssh.free(f.h);
	f.h = NULL;
	fx_read_log(&f);
	pgid = pgid_in_log(&f);
	snprintf(want, sizeof(want), "pid=%ld\nstarted\nscaffold: killed\n",
		 pgid);
	assert_string_equal(f.log, want);
	assert_true(group_gone(&srv_a, pgid));
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);

	/* SIGTERM ignored: SIGKILL 2 s later */
	fx_init(&f, "A");
	t0 = mono_ms();
	if (fx_start(&f, "trap '' TERM\necho \"pid=$$\"; echo started\n"
			 "sleep 30\n"))
		fail_msg("start: %s", err_msg());
	k.f = &f;
	assert_int_equal(pthread_create(&th, NULL, killer_main, &k), 0);
	fx_finish(&f, t0);
	pthread_join(th, NULL);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_true(f.elapsed_ms >= 2000 && f.elapsed_ms < 15000);
	pgid = pgid_in_log(&f);
	snprintf(want, sizeof(want),
		 "pid=%ld\nstarted\nscaffold: killed\nscaffold: still running "
		 "2s after SIGTERM, sending SIGKILL\n",
		 pgid);
	assert_string_equal(f.log, want);
	assert_true(group_gone(&srv_a, pgid));
	fx_done(&f);

	/* a kill before wait() */
	fx_init(&f, "A");
	if (fx_start(&f, "sleep 30\n"))
		fail_msg("start: %s", err_msg());
	assert_int_equal(runner_ssh.kill(f.h), 0);
	fx_finish(&f, mono_ms());
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_true(f.elapsed_ms < 10000);
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

/* free() without wait() ends the remote run and removes its run dir. */
static void
test_free_without_wait(void **state)
{
	struct fx f;
	char *log;
	long pgid = 0;
	int i;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	if (fx_start(&f, "echo \"pid=$$\"\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	for (i = 0; i < 200 && !pgid; i++) {
		log = slurp(f.logp, NULL);
		if (log && strstr(log, "pid="))
			pgid = atol(strstr(log, "pid=") + 4);
		free(log);
		usleep(50000);
	}
	assert_true(pgid > 0);
	assert_true(group_alive(&srv_a, pgid));
	runner_ssh.free(f.h);
	f.h = NULL;
	assert_true(group_gone(&srv_a, pgid));
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

static void
test_host_keys(void **state)
{
	char want[PATH_MAX + 256];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A-unknown");
	assert_int_equal(fx_start(&f, "true\n"), ERR_AUTH);
	assert_null(f.h);
	snprintf(want, sizeof(want),
		 "host 'A-unknown' (127.0.0.1:%d) is not in known_hosts '%s' "
		 "(its key is %s)",
		 srv_a.port, kh_unknown, srv_a.fp);
	assert_string_equal(err_msg(), want);

	f.spec.host = "A-mismatch";
	assert_int_equal(fx_start(&f, "true\n"), ERR_AUTH);
	snprintf(want, sizeof(want),
		 "host key of 'A-mismatch' (127.0.0.1:%d) does not match "
		 "known_hosts '%s' (it offered %s)",
		 srv_a.port, kh_mismatch, srv_a.fp);
	assert_string_equal(err_msg(), want);

	/* adopt checks it as well */
	assert_int_equal(runner_ssh.adopt(&f.h, &f.spec), ERR_AUTH);
	assert_string_equal(err_msg(), want);
	assert_null(f.h);
	fx_done(&f);
}

static void
test_wrong_user_key(void **state)
{
	char want[PATH_MAX + 128];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A-otherkey");
	assert_int_equal(fx_start(&f, "true\n"), ERR_AUTH);
	assert_null(f.h);
	snprintf(want, sizeof(want),
		 "host 'A-otherkey': authentication as '" USER "' with key "
		 "'%s' failed",
		 otherkey);
	assert_string_equal(err_msg(), want);
	fx_done(&f);
}

/*
 * An input-like value with quotes, $(...), backticks and newlines arrives
 * byte for byte and is never executed; so does a loaded file's name.
 */
/* p as "od -An -v -tx1 | tr -d ' \n'" prints it. */
static void
od_hex(struct buf *out, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		buf_putc(out, hex[(unsigned char)p[i] >> 4]);
		buf_putc(out, hex[(unsigned char)p[i] & 15]);
	}
}

static void
test_values_never_run(void **state)
{
	struct runner_env env[2];
	struct runner_file files[1];
	struct buf val = BUF_INIT, want = BUF_INIT, name = BUF_INIT;
	char pwned[64], src[128];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	snprintf(pwned, sizeof(pwned), "/tmp/pwned-%lld",
		 (long long)f.spec.run_id);
	buf_addf(&val,
		 "it's \"quoted\" $(touch %s) `touch %s` ${HOME} \\ $'x'\n"
		 "second line;touch %s\n\n",
		 pwned, pwned, pwned);
	buf_addf(&name, "$(touch pwned2)`touch pwned3`'\"");
	env[0] = (struct runner_env){"INPUT", val.ptr, val.len};
	env[1] = (struct runner_env){"SCAFFOLD_HOST", "A", 1};
	close(unit_tmpfile(src, sizeof(src), "scaffold-test-ssh-in"));
	spit(src, "content\n", 8);
	files[0] = (struct runner_file){name.ptr, src};
	f.spec.env = env;
	f.spec.nenv = 2;
	f.spec.files = files;
	f.spec.nfiles = 1;
	fx_run(&f, "printf '%s' \"$INPUT\" | od -An -v -tx1 | tr -d ' \\n'\n"
		   "echo\n"
		   "ls\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	od_hex(&want, val.ptr, val.len);
	buf_putc(&want, '\n');
	buf_add(&want, name.ptr, name.len);
	buf_putc(&want, '\n');
	assert_log(&f, want.ptr, want.len);
	assert_int_equal(access(pwned, F_OK), -1);
	unlink(src);
	buf_release(&val);
	buf_release(&want);
	buf_release(&name);
	fx_done(&f);
}

/*
 * A run that loads no files starts with one line to the helper: the script
 * and the wrapper (with the env) as printf formats.  Every byte but NUL
 * arrives as it was, in the env and in the script; a script too long for
 * a line goes by SFTP, byte for byte too.
 */
static void
test_one_line_start(void **state)
{
	struct runner_env env[1];
	struct buf val = BUF_INIT, want = BUF_INIT, script = BUF_INIT;
	char hash[SHA256_HEX_LEN + 1];
	struct fx f;
	int c;

	(void)state;
	NEED_SERVERS();
	for (c = 1; c < 256; c++)
		buf_putc(&val, (char)c);
	buf_puts(&val, "%s %% %d \\n \\\\ \\0101 '\\'' \"$(id)\"\n");
	env[0] = (struct runner_env){"ALL", val.ptr, val.len};
	fx_init(&f, "A");
	f.spec.env = env;
	f.spec.nenv = 1;
	fx_run(&f, "printf '%s' \"$ALL\" | od -An -v -tx1 | tr -d ' \\n'\n"
		   "echo\n"
		   "printf '%s|%%|\\\\|\\r|\\303\\251|'\"'\"'\\n' x\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	od_hex(&want, val.ptr, val.len);
	buf_puts(&want, "\nx|%|\\|\r|\303\251|'\n");
	assert_log(&f, want.ptr, want.len);
	fx_done(&f);

	/* 12 KiB of script: by SFTP */
	fx_init(&f, "A");
	buf_puts(&script, "sha256sum ../meta/script | cut -c1-64\n");
	while (script.len < 12 << 10)
		buf_puts(&script, "# padding: % \\ ' \" $(x) \r\n");
	fx_run(&f, script.ptr);
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	sha256_hex(hash, script.ptr, script.len);
	buf_reset(&want);
	buf_addf(&want, "%s\n", hash);
	assert_log(&f, want.ptr, want.len);
	fx_done(&f);
	buf_release(&val);
	buf_release(&want);
	buf_release(&script);
}

/* The helper cannot make the run dir: the run ends in error, saying why. */
static void
test_run_dir_fails(void **state)
{
	char base[512], want[1400];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	/* left behind, and not the user's to remove */
	run_base(base, sizeof(base), f.spec.run_id);
	assert_int_equal(sh("mkdir -p %s/meta && chmod 755 %s", base, base), 0);
	fx_run(&f, "echo never\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	snprintf(want, sizeof(want),
		 "host 'A': cannot create the run dir '%s': rm: cannot remove "
		 "'%s/meta': Permission denied",
		 base, base);
	assert_string_equal(f.res.message, want);
	assert_int_equal(sh("test -d %s/meta && rm -rf %s", base, base), 0);
	fx_done(&f);
}

static void
test_masking(void **state)
{
	static const char *const sec[] = {"s3cr3t-value", "hunter2"};
	static const size_t lens[] = {12, 7};
	struct runner_env env[1] = {{"PASSWORD", "hunter2", 7}};
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.secrets = sec;
	f.spec.secret_lens = lens;
	f.spec.nsecrets = 2;
	f.spec.env = env;
	f.spec.nenv = 1;
	fx_run(&f, "echo 'whole: s3cr3t-value.'\n"
		   "printf 'split: s3cr'; sleep 0.3; printf '3t-value!\\n'\n"
		   "sleep 0.1; echo \"err: $PASSWORD\" >&2; sleep 0.1\n"
		   "printf 'tail: s3cr3t'\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "whole: ********.\n"
				   "split: ********!\n"
				   "err: ********\n"
				   "tail: s3cr3t");
	fx_done(&f);
}

static void
test_store_errors(void **state)
{
	static const char *const missing[] = {"nope.txt"};
	static const char *const link[] = {"link"};
	static const char *const behind[] = {"d/f"};
	static const char *const dir[] = {"adir"};
	static const char *const se[] = {"NEVER"};
	static const char *const caps[] = {"a", "b"};
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_files = missing;
	f.spec.nstore_files = 1;
	fx_run(&f, "true\n");
	assert_int_equal(f.res.outcome, RUN_ERROR);
	assert_string_equal(f.res.message, "store file 'nope.txt' was not "
					   "created");
	assert_string_equal(f.log, "scaffold: store file 'nope.txt' was not "
				   "created\n");
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);

	fx_init(&f, "A");
	f.spec.store_files = link;
	f.spec.nstore_files = 1;
	fx_run(&f, "ln -s /etc/passwd link\n");
	assert_string_equal(f.res.message, "store file 'link' is a symlink");
	fx_done(&f);

	fx_init(&f, "A");
	f.spec.store_files = behind;
	f.spec.nstore_files = 1;
	fx_run(&f, "mkdir real; echo x > real/f; ln -s real d\n");
	assert_string_equal(f.res.message,
			    "store file 'd/f' is behind a symlink ('d')");
	fx_done(&f);

	fx_init(&f, "A");
	f.spec.store_files = dir;
	f.spec.nstore_files = 1;
	fx_run(&f, "mkdir adir\n");
	assert_string_equal(f.res.message,
			    "store file 'adir' is not a regular file");
	fx_done(&f);

	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	fx_run(&f, "echo hi\n");
	assert_string_equal(f.res.message, "store env 'NEVER' is not set");
	assert_string_equal(f.log, "hi\nscaffold: store env 'NEVER' is not "
				   "set\n");
	fx_done(&f);

	/* the caps of runner_store_limits, per file and per run */
	runner_store_limits(1000, 1500);
	fx_init(&f, "A");
	f.spec.store_files = caps;
	f.spec.nstore_files = 1;
	fx_run(&f, "head -c 1001 /dev/zero > a\n");
	assert_string_equal(f.res.message,
			    "store file 'a' is larger than the limit of "
			    "1000 bytes (limits.store_file)");
	fx_done(&f);
	fx_init(&f, "A");
	f.spec.store_files = caps;
	f.spec.nstore_files = 2;
	fx_run(&f, "head -c 1000 /dev/zero > a; head -c 501 /dev/zero > b\n");
	assert_string_equal(f.res.message,
			    "store file 'b' takes the store files of this run "
			    "over the limit of 1500 bytes (limits.store_run)");
	fx_done(&f);
	fx_init(&f, "A");
	f.spec.store_files = caps;
	f.spec.nstore_files = 2;
	fx_run(&f, "head -c 1000 /dev/zero > a; head -c 500 /dev/zero > b\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_int_equal(f.res.nfiles, 2);
	fx_done(&f);
	runner_store_limits(0, 0);
}

static void
test_bad_spec(void **state)
{
	struct runner_env bad_name[1] = {{"A-B", "x", 1}};
	struct runner_env nul[1] = {{"X", "a\0b", 3}};
	static const char *const bad_env[] = {"1X"};
	static const char *const bad_file[] = {"../x"};
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.env = bad_name;
	f.spec.nenv = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "env 'A-B': not a valid variable name");
	f.spec.env = nul;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "env 'X': the value holds a NUL byte");
	f.spec.nenv = 0;
	f.spec.store_env = bad_env;
	f.spec.nstore_env = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(),
			    "store env '1X' is not a valid variable name");
	f.spec.nstore_env = 0;
	f.spec.store_files = bad_file;
	f.spec.nstore_files = 1;
	assert_int_equal(fx_start(&f, "true\n"), ERR_INVALID);
	assert_string_equal(err_msg(), "store file '../x' is not a path "
				       "inside the run dir");
	assert_null(f.h);
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

/* The server dies mid-run: RUN_LOST; then it is back, and so are runs. */
static void
test_server_killed(void **state)
{
	char want[600], *s;
	struct fx f;
	int64_t lost_id;
	long pgid = 0;
	int i;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "C");
	if (fx_start(&f, "echo \"pid=$$\"\necho started\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	for (i = 0; i < 200; i++) {
		s = slurp(f.logp, NULL);
		if (s && strstr(s, "started")) {
			pgid = atol(strstr(s, "pid=") + 4);
			free(s);
			break;
		}
		free(s);
		usleep(50000);
	}
	assert_true(pgid > 0);
	sshd_crash(&srv_c);
	fx_finish(&f, mono_ms());
	if (f.res.outcome != RUN_LOST)
		fail_msg("outcome %s (%s) after %lld ms, log:\n%s",
			 run_outcome_names[f.res.outcome], f.res.message,
			 (long long)f.elapsed_ms, f.log);
	assert_int_equal(f.wait_ret, 0);
	assert_int_equal(f.res.outcome, RUN_LOST);
	assert_int_equal(f.res.exit_code, -1);
	assert_string_equal(f.res.message, "lost contact with host 'C': the "
					   "connection was closed");
	snprintf(want, sizeof(want),
		 "pid=%ld\nstarted\nscaffold: lost contact with host 'C': the "
		 "connection was closed\n",
		 pgid);
	assert_string_equal(f.log, want);
	assert_true(f.elapsed_ms < 10000);
	/* the run lives on, out of reach until the host answers again */
	assert_int_equal(kill(-(pid_t)pgid, 0), 0);
	lost_id = f.spec.run_id;
	fx_done(&f);

	/* while the server is down, a run cannot start */
	fx_init(&f, "C");
	assert_int_equal(fx_start(&f, "true\n"), ERR_GENERIC);
	snprintf(want, sizeof(want),
		 "host 'C' (127.0.0.1:%d): cannot connect: Connection refused",
		 srv_c.port);
	assert_string_equal(err_msg(), want);
	fx_done(&f);

	/* back on the same port: scaffold connects again, and first ends
	 * what is left of the lost run */
	assert_int_equal(sshd_spawn(&srv_c), 0);
	fx_init(&f, "C");
	fx_run(&f, "echo back\n");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "back\n");
	assert_true(group_gone(&srv_c, pgid));
	assert_true(remote_gone(lost_id));
	fx_done(&f);
}

struct par {
	pthread_t th;
	struct fx f;
	char id[32];
	struct runner_env env[2];
};

static const char par_script[] =
    "mkdir \"$SLOTS/$SCAFFOLD_RUN_ID\"\n"
    "ls \"$SLOTS\" | wc -l >> \"$SLOTS/../counts\"\n"
    "sleep 0.7\n"
    "rmdir \"$SLOTS/$SCAFFOLD_RUN_ID\"\n";

static void *
par_main(void *arg)
{
	struct par *p = arg;

	if (fx_start(&p->f, par_script) == 0) {
		p->f.wait_ret = runner_ssh.wait(p->f.h, &p->f.res);
		runner_ssh.free(p->f.h);
		p->f.h = NULL;
	}
	return NULL;
}

/* max_sessions 2: five runs at once, never more than two on the host. */
static void
test_max_sessions(void **state)
{
	struct par p[5];
	char dir[128], counts[160], *s, *line;
	int i, max = 0, n = 0;
	int64_t t0;

	(void)state;
	NEED_SERVERS();
	snprintf(dir, sizeof(dir), "%s/par/slots", tdir);
	snprintf(counts, sizeof(counts), "%s/par/counts", tdir);
	assert_int_equal(sh("mkdir -p %s && chmod 777 %s %s/par && "
			    ": >%s && chmod 666 %s",
			    dir, dir, tdir, counts, counts),
			 0);
	for (i = 0; i < 5; i++) {
		fx_init(&p[i].f, "A2");
		snprintf(p[i].id, sizeof(p[i].id), "%lld",
			 (long long)p[i].f.spec.run_id);
		p[i].env[0] = (struct runner_env){"SCAFFOLD_RUN_ID", p[i].id,
						  strlen(p[i].id)};
		p[i].env[1] = (struct runner_env){"SLOTS", dir, strlen(dir)};
		p[i].f.spec.env = p[i].env;
		p[i].f.spec.nenv = 2;
	}
	t0 = mono_ms();
	for (i = 0; i < 5; i++)
		assert_int_equal(
		    pthread_create(&p[i].th, NULL, par_main, &p[i]), 0);
	for (i = 0; i < 5; i++)
		pthread_join(p[i].th, NULL);
	for (i = 0; i < 5; i++) {
		if (p[i].f.res.outcome != RUN_SUCCESS) {
			fx_read_log(&p[i].f);
			fail_msg("run %d: %s, log:\n%s", i, p[i].f.res.message,
				 p[i].f.log);
		}
		assert_true(remote_gone(p[i].f.spec.run_id));
		fx_done(&p[i].f);
	}
	s = slurp(counts, NULL);
	assert_non_null(s);
	for (line = s; *line; line = strchr(line, '\n') + 1) {
		if (atoi(line) > max)
			max = atoi(line);
		n++;
		if (!strchr(line, '\n'))
			break;
	}
	free(s);
	assert_int_equal(n, 5);
	assert_int_equal(max, 2);
	/* three rounds of 0.7 s at least */
	assert_true(mono_ms() - t0 >= 2100);
}

/* Wait until the file exists (the host is this machine). */
static void
wait_for_file(const char *path)
{
	int i;

	for (i = 0; i < 200 && access(path, F_OK); i++)
		usleep(50000);
	assert_int_equal(access(path, F_OK), 0);
}

static const char adopted_note[] = "scaffold: re-adopted after a restart\n";

/* The old log and the new one after its note: all the run wrote, once. */
static void
assert_logs_join(struct fx *old, struct fx *new, const char *want)
{
	char got[512];
	size_t n = strlen(adopted_note);

	fx_read_log(old);
	fx_read_log(new);
	if (strncmp(new->log, adopted_note, n))
		fail_msg("the adopted log does not start with the note:\n%s",
			 new->log);
	snprintf(got, sizeof(got), "%s%s", old->log, new->log + n);
	assert_string_equal(got, want);
}

/* A run that ended while scaffold was away, and one that still runs. */
static void
test_adopt(void **state)
{
	static const char *const sf[] = {"out.txt"};
	static const char *const se[] = {"X"};
	struct run_handle *h = NULL;
	struct fx f, g;
	char p[512], *s;
	long pgid;
	int fd;
	int64_t t0;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_files = sf;
	f.spec.nstore_files = 1;
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	if (fx_start(&f, "echo before\necho adopted > out.txt\nX=42\n"))
		fail_msg("start: %s", err_msg());
	/* the old scaffold goes away without a word */
	ssh_detach(f.h);
	runner_ssh.free(f.h);
	f.h = NULL;
	meta_path(p, sizeof(p), f.spec.run_id, "exit");
	wait_for_file(p);

	/* the new one: same run and work dir (the engine's), its own log */
	fx_init(&g, "A");
	fd = g.spec.log_fd;
	g.spec = f.spec;
	g.spec.log_fd = fd;
	g.spec.script = NULL; /* adopt needs no script */
	assert_int_equal(runner_ssh.adopt(&h, &g.spec), 0);
	assert_non_null(h);
	assert_int_equal(runner_ssh.wait(h, &g.res), 0);
	runner_ssh.free(h);
	assert_string_equal(g.res.message, "");
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&g.res, "X", NULL), "42");
	s = slurp(file_of(&g.res, "out.txt"), NULL);
	assert_string_equal(s, "adopted\n");
	free(s);
	/* "before" reached the old log, or the new one: not both */
	assert_logs_join(&f, &g, "before\n");
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
	fx_done(&g);

	/* still running at the adoption: polled until it ends */
	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	if (fx_start(&f, "sleep 2\necho after\nsleep 0.5\necho more\nX=7\n"))
		fail_msg("start: %s", err_msg());
	ssh_detach(f.h);
	runner_ssh.free(f.h);
	f.h = NULL;
	meta_path(p, sizeof(p), f.spec.run_id, "pid");
	wait_for_file(p);
	fx_init(&g, "A");
	fd = g.spec.log_fd;
	g.spec = f.spec;
	g.spec.log_fd = fd;
	t0 = mono_ms();
	assert_int_equal(runner_ssh.adopt(&h, &g.spec), 0);
	assert_int_equal(runner_ssh.wait(h, &g.res), 0);
	runner_ssh.free(h);
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&g.res, "X", NULL), "7");
	assert_true(mono_ms() - t0 >= 1000 && mono_ms() - t0 < 8000);
	/* what it wrote after the old scaffold went, all of it */
	assert_logs_join(&f, &g, "after\nmore\n");
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
	fx_done(&g);

	/* ... and killed after the adoption */
	fx_init(&f, "A");
	if (fx_start(&f, "echo \"pid=$$\"\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	ssh_detach(f.h);
	runner_ssh.free(f.h);
	f.h = NULL;
	meta_path(p, sizeof(p), f.spec.run_id, "pid");
	wait_for_file(p);
	s = slurp(p, NULL);
	pgid = s ? atol(s) : 0;
	free(s);
	assert_true(pgid > 0);
	assert_int_equal(runner_ssh.adopt(&h, &f.spec), 0);
	assert_int_equal(runner_ssh.kill(h), 0);
	t0 = mono_ms();
	assert_int_equal(runner_ssh.wait(h, &f.res), 0);
	runner_ssh.free(h);
	assert_int_equal(f.res.outcome, RUN_KILLED);
	assert_true(mono_ms() - t0 < 8000);
	fx_read_log(&f);
	assert_true(strstr(f.log, adopted_note) != NULL);
	assert_true(group_gone(&srv_a, pgid));
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

/*
 * wait() leaves the run dir for free(), which the engine calls once the
 * run's end is recorded: a scaffold killed in between adopts the run
 * again and gets the same result.
 */
static void
test_adopt_after_wait(void **state)
{
	static const char *const se[] = {"X"};
	struct run_handle *h = NULL;
	struct fx f, g;
	int fd;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	f.spec.store_env = se;
	f.spec.nstore_env = 1;
	if (fx_start(&f, "echo once\nX=9\n"))
		fail_msg("start: %s", err_msg());
	assert_int_equal(runner_ssh.wait(f.h, &f.res), 0);
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&f.res, "X", NULL), "9");
	/* killed before recording it: no free() */
	ssh_detach(f.h);
	runner_ssh.free(f.h);
	f.h = NULL;
	assert_false(remote_gone_now(f.spec.run_id));

	fx_init(&g, "A");
	fd = g.spec.log_fd;
	g.spec = f.spec;
	g.spec.log_fd = fd;
	g.spec.script = NULL;
	assert_int_equal(runner_ssh.adopt(&h, &g.spec), 0);
	assert_int_equal(runner_ssh.wait(h, &g.res), 0);
	assert_int_equal(g.res.outcome, RUN_SUCCESS);
	assert_string_equal(env_of(&g.res, "X", NULL), "9");
	/* its output was all read by the first: not again */
	assert_logs_join(&f, &g, "once\n");
	runner_ssh.free(h);
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
	fx_done(&g);
}

static void
test_adopt_gone(void **state)
{
	struct run_handle *h = (struct run_handle *)&h;
	char want[700], p[512];
	struct fx f;
	int i;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	assert_int_equal(runner_ssh.adopt(&h, &f.spec), RUNNER_NOT_STARTED);
	assert_null(h);
	run_base(p, sizeof(p), f.spec.run_id);
	snprintf(want, sizeof(want), "run %lld: no run dir '%s' on host 'A'",
		 (long long)f.spec.run_id, p);
	assert_string_equal(err_msg(), want);

	/*
	 * A run that died with its launcher (the host rebooted, say): no exit
	 * status, nothing running; its run dir is cleared away.
	 */
	if (fx_start(&f, "echo \"pid=$$\"\nsleep 30\n"))
		fail_msg("start: %s", err_msg());
	ssh_detach(f.h);
	runner_ssh.free(f.h);
	f.h = NULL;
	meta_path(want, sizeof(want), f.spec.run_id, "pid");
	wait_for_file(want);
	{
		char comm[64], *pidf = slurp(want, NULL);
		long pgid = pidf ? atol(pidf) : 0;
		pid_t launcher = proc_parent((pid_t)pgid, comm, sizeof(comm));

		free(pidf);
		assert_true(pgid > 0 && launcher > 1);
		/* the group exists once the wrapper has called setsid() */
		for (i = 0; i < 100 && getpgid((pid_t)pgid) != pgid; i++)
			usleep(20000);
		assert_int_equal(getpgid((pid_t)pgid), pgid);
		kill(launcher, SIGKILL);
		kill(-(pid_t)pgid, SIGKILL);
		assert_true(group_gone(&srv_a, pgid));
	}
	assert_int_equal(runner_ssh.adopt(&h, &f.spec), ERR_NOTFOUND);
	snprintf(want, sizeof(want),
		 "run %lld: it does not run on host 'A' any more and left no "
		 "exit status",
		 (long long)f.spec.run_id);
	assert_string_equal(err_msg(), want);
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

/*
 * A run dir without meta/out: scaffold died before the helper forked the
 * wrapper (while the loaded files went up, say).  It never started, and
 * its remains go.
 */
static void
test_adopt_never_started(void **state)
{
	struct run_handle *h = (struct run_handle *)&h;
	char p[512], want[600];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "A");
	run_base(p, sizeof(p), f.spec.run_id);
	assert_int_equal(sh("su -s /bin/sh " USER " -c 'mkdir -p %s/meta "
			    "%s/run && echo true >%s/meta/script'",
			    p, p, p),
			 0);
	assert_int_equal(runner_ssh.adopt(&h, &f.spec), RUNNER_NOT_STARTED);
	assert_null(h);
	snprintf(want, sizeof(want),
		 "run %lld: it was never started on host 'A'",
		 (long long)f.spec.run_id);
	assert_string_equal(err_msg(), want);
	assert_true(remote_gone(f.spec.run_id));
	fx_done(&f);
}

/*
 * RSA keys: libssh2 1.10 signs with ssh-rsa (SHA-1), accepted by a server
 * with PubkeyAcceptedAlgorithms +ssh-rsa, refused by OpenSSH's defaults.
 */
static void
test_rsa_key(void **state)
{
	char want[PATH_MAX + 128];
	struct fx f;

	(void)state;
	NEED_SERVERS();
	fx_init(&f, "R-rsa");
	fx_run(&f, "echo rsa\n");
	assert_string_equal(f.res.message, "");
	assert_int_equal(f.res.outcome, RUN_SUCCESS);
	assert_string_equal(f.log, "rsa\n");
	fx_done(&f);

	fx_init(&f, "A-rsa");
	if (fx_start(&f, "echo rsa\n") == 0) {
		/* a libssh2 that signs with rsa-sha2-256 gets in */
		fx_finish(&f, mono_ms());
		assert_int_equal(f.res.outcome, RUN_SUCCESS);
	} else {
		snprintf(want, sizeof(want),
			 "host 'A-rsa': authentication as '" USER "' with "
			 "key '%s' failed",
			 rsakey);
		assert_string_equal(err_msg(), want);
	}
	fx_done(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_not_in_inventory),
	    cmocka_unit_test(test_store_on_a_load_on_b),
	    cmocka_unit_test(test_one_connection),
	    cmocka_unit_test(test_exit_codes),
	    cmocka_unit_test(test_exit_trap),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_kill_from_thread),
	    cmocka_unit_test(test_free_without_wait),
	    cmocka_unit_test(test_host_keys),
	    cmocka_unit_test(test_wrong_user_key),
	    cmocka_unit_test(test_values_never_run),
	    cmocka_unit_test(test_one_line_start),
	    cmocka_unit_test(test_run_dir_fails),
	    cmocka_unit_test(test_masking),
	    cmocka_unit_test(test_store_errors),
	    cmocka_unit_test(test_bad_spec),
	    cmocka_unit_test(test_server_killed),
	    cmocka_unit_test(test_max_sessions),
	    cmocka_unit_test(test_adopt),
	    cmocka_unit_test(test_adopt_after_wait),
	    cmocka_unit_test(test_adopt_gone),
	    cmocka_unit_test(test_adopt_never_started),
	    cmocka_unit_test(test_rsa_key),
	};

	/* SSH_TEST_FILTER=test_adopt runs the tests of that name only */
	if (getenv("SSH_TEST_FILTER"))
		cmocka_set_test_filter(getenv("SSH_TEST_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
