/*
 * common.h - buffers, arenas, string maps, errors, logging, durations and
 * hashing shared by every module.  No project logic lives here.
 */
#ifndef SCAFFOLD_COMMON_H
#define SCAFFOLD_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SCAFFOLD_VERSION "0.1.0"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define NORETURN __attribute__((noreturn))
#else
#define PRINTF_LIKE(f, a)
#define NORETURN
#endif

/* Error codes returned (negated) by functions that can fail. */
enum {
	ERR_GENERIC = -1,
	ERR_NOTFOUND = -2,
	ERR_CONFLICT = -3,
	ERR_AUTH = -4,
	ERR_TIMEOUT = -5,
	ERR_INVALID = -6,
	ERR_TOOBIG = -7,
};

/* A broken invariant: print where and abort.  Never for bad input. */
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
NORETURN void bug_fl(const char *file, int line, const char *fmt, ...)
	PRINTF_LIKE(3, 4);

/*
 * Allocation.  Running out of memory is not recoverable for this program;
 * these print a message and abort instead of returning NULL.
 */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Grow *p (of *alloc elements of size sz) so that it holds at least n. */
void *xgrow(void *p, size_t sz, size_t n, size_t *alloc);
#define GROW(p, n, alloc) ((p) = xgrow((p), sizeof(*(p)), (n), &(alloc)))

/* Per-thread error message, set by the failing function, read by callers. */
int err_set(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* The last message of this thread; never NULL; owned by the thread. */
const char *err_msg(void);
void err_clear(void);

/*
 * struct buf: a growable byte buffer that is never NULL and always
 * NUL-terminated.  buf_detach() is the one way to take ownership.
 */
struct buf {
	char *ptr;
	size_t len;
	size_t alloc;
};
#define BUF_INIT { buf_empty, 0, 0 }
extern char buf_empty[];

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Returns the heap string (caller frees); the buffer is empty afterwards. */
char *buf_detach(struct buf *b, size_t *len_out);
/* Read a whole file; -1 with err_set on failure or when above max bytes. */
int buf_read_file(struct buf *b, const char *path, size_t max);

/* struct strvec: a NULL-terminated vector of heap strings (argv, env). */
struct strvec {
	char **v;
	size_t n;
	size_t alloc;
};
#define STRVEC_INIT { strvec_empty, 0, 0 }
extern char *strvec_empty[];
void strvec_init(struct strvec *sv);
void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...) PRINTF_LIKE(2, 3);
void strvec_clear(struct strvec *sv);

/*
 * struct arena: bump allocation for data that lives and dies together (a
 * parsed document, a cascade).  Nothing is freed alone; arena_release()
 * frees everything.  Allocations are aligned for any type.
 */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
};
#define ARENA_INIT { NULL }
void *arena_alloc(struct arena *a, size_t n);
void *arena_memdup(struct arena *a, const void *p, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
void arena_release(struct arena *a);

/*
 * struct strmap: open-addressing hash map from NUL-terminated keys to
 * pointers.  Keys are not copied: they must outlive the map.
 */
struct strmap_entry {
	const char *key;
	void *value;
	uint32_t hash;
};
struct strmap {
	struct strmap_entry *slots;
	size_t cap;
	size_t n;
};
#define STRMAP_INIT { NULL, 0, 0 }
/* Insert; returns the previous value for key (or NULL) and replaces it. */
void *strmap_put(struct strmap *m, const char *key, void *value);
void *strmap_get(const struct strmap *m, const char *key);
void strmap_release(struct strmap *m);

/*
 * Durations: "1h30m", "45s", "500ms", "2d"; at least one unit, no sign.
 * ERR_INVALID for bad syntax, ERR_TOOBIG above ten years.
 */
int duration_parse(int64_t *out_ms, const char *s);
/* Format like "1h30m" into buf (at least 32 bytes). */
void duration_format(char *buf, size_t len, int64_t ms);

/*
 * Byte sizes: a number of bytes, or one followed by K, M, G or T (also
 * KiB, MiB, GiB, TiB and lowercase k, m, g, t), powers of 1024: "512K",
 * "256M", "1G".  ERR_INVALID for bad syntax, ERR_TOOBIG above 1 PiB.
 */
#define SIZE_PARSE_MAX ((int64_t)1 << 50)
int size_parse(int64_t *out_bytes, const char *s);
/* Format in the largest unit that is exact: "256M", "1G", "1000". */
void size_format(char *buf, size_t len, int64_t bytes);

/* Files: mkdir -p; rm -rf (no error when absent); an exclusive lock on
 * DIR/lock held while *out_fd is open (ERR_CONFLICT when held). */
#include <sys/types.h>
int mkdir_p(const char *path, mode_t mode);
int rm_rf(const char *path);
int lock_dir(int *out_fd, const char *dir);
/* lock_dir, the lock file saying who holds it ("PID ROLE"): "serve" for
 * the daemon, which other commands then leave the running to. */
int lock_dir_as(int *out_fd, const char *dir, const char *role);
/* 1 when a live process holds DIR/lock as role, else 0. */
int lock_held_by(const char *dir, const char *role);

/* Levenshtein distance, capped: returns cap + 1 when larger than cap. */
size_t edit_distance(const char *a, const char *b, size_t cap);

/* SHA-256 */
#define SHA256_HEX_LEN 64
struct sha256_ctx;
struct sha256_ctx *sha256_new(void);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Writes 65 bytes (hex + NUL) and frees the context. */
void sha256_final_hex(struct sha256_ctx *c, char out[SHA256_HEX_LEN + 1]);
void sha256_hex(char out[SHA256_HEX_LEN + 1], const void *data, size_t len);

/* Randomness, HMAC and AES-256-GCM (sealed = nonce || ciphertext || tag). */
#define AEAD_KEY_LEN 32
int crypto_random(void *out, size_t n);
void hmac_sha256(unsigned char out[32], const void *key, size_t klen,
		 const void *data, size_t len);
void hmac_sha256_hex(char out[SHA256_HEX_LEN + 1], const void *key,
		     size_t klen, const void *data, size_t len);
/* Constant-time comparison of n bytes: 1 when equal. */
int crypto_equal(const void *a, const void *b, size_t n);
/* Append the sealed form of pt to out. */
int aead_seal(struct buf *out, const unsigned char key[AEAD_KEY_LEN],
	      const void *pt, size_t len);
/* Append the plaintext to out; -1 when the key is wrong or data altered. */
int aead_open(struct buf *out, const unsigned char key[AEAD_KEY_LEN],
	      const void *sealed, size_t len);

/*
 * Logging to stderr: "LEVEL module: message".  log_warn appends errno.
 * The daemon's style (log_style_for_stderr) puts an ISO-8601 UTC time with
 * milliseconds first, or under journald (JOURNAL_STREAM is stderr) the
 * level as a syslog priority ("<3>" for errors) instead of its name.
 * Commands keep the plain style: their lines are for the terminal.
 */
enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_style { LOG_STYLE_PLAIN, LOG_STYLE_TIME, LOG_STYLE_JOURNAL };
void log_set_level(enum log_level lvl);
void log_set_style(enum log_style style);
enum log_style log_style_for_stderr(void);
/*
 * A step where the tests may make the process die (testpoint.c):
 * SIGKILL when SCAFFOLD_TEST_KILL_AT names it, else nothing.
 */
void testpoint(const char *name);

/* A condition that stops the daemon (or what it was asked to do). */
void log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warn(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_warnx(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);

/*
 * Untrusted text (repository-sourced: file, task and cascade names, commit
 * subjects, refs, error messages quoting them) for a terminal or a log
 * line, escaped in the spirit of git's core.quotePath, with C-style hex:
 * "\\" for a backslash, "\n" for a newline, and "\xNN" for each byte of
 * the C0 controls and DEL, of the C1 controls (U+0080-U+009F), of the
 * bidirectional controls U+202A-U+202E and U+2066-U+2069, and for every
 * byte that is not part of valid UTF-8 (overlongs, surrogates and code
 * points above U+10FFFF included).  Other UTF-8 is kept, so names in any
 * script stay readable.  The result is valid UTF-8 that cannot move the
 * cursor, set a title, end a line or reorder what follows it.
 * escape_log: append s (len bytes, any byte) to b.
 * escape_text: s (NULL: "") escaped into b, which is reset first; returns
 * b->ptr (b owns it).
 */
void escape_log(struct buf *b, const char *s, size_t len);
const char *escape_text(struct buf *b, const char *s);
/*
 * The daemon log's last guard (log.c): the same, but a backslash is kept,
 * so that text a caller escaped already is not escaped twice.
 */
void escape_log_line(struct buf *b, const char *s, size_t len);

/*
 * OpenSSH known_hosts (known_hosts.c), checked against the raw host key
 * (the SSH wire-format blob) by gitsync's ssh transport and the ssh
 * runner.  Lines may name the host plainly, as [host]:port (used when port
 * is not 22), with wildcards and negations, or hashed (|1|salt|hash).
 * @cert-authority lines are ignored.
 */
enum known_hosts_result {
	KNOWN_HOSTS_OK,	      /* a line for the host carries this key */
	KNOWN_HOSTS_UNKNOWN,  /* no line names the host */
	KNOWN_HOSTS_MISMATCH, /* lines name the host, none with this key */
	KNOWN_HOSTS_REVOKED,  /* an @revoked line for the host has this key */
};
/* port <= 0 means 22; *out is set on success; -1 when file is unreadable */
int known_hosts_check(enum known_hosts_result *out, const char *file,
		      const char *host, int port, const void *key, size_t len);
/*
 * Append the key lines of file that name host:port, as plain
 * "NAME TYPE KEY" lines of the key types libssh2 knows (no markers, no
 * patterns, no hashes); -1 when file is unreadable.
 */
int known_hosts_extract(struct buf *out, const char *file, const char *host,
			int port);
/* The name a known_hosts line uses for host:port ("h" or "[h]:p"); caller
 * frees. */
char *known_hosts_name(const char *host, int port);
/*
 * Tar archives (tar.c, the only file that includes archive.h for them).
 * A writer makes PATH.tmp-PID (0600) and renames it to path at commit; a
 * writer freed before its commit removes it.  Members are written 0700
 * (dirs) and 0600 (files); tar_writer_file streams src (ERR_NOTFOUND
 * when it is missing), as long as it is when it starts.  tar_extract
 * writes the members of path under dir (which must exist), refusing names
 * that would leave it and anything but plain files and directories, every
 * file 0600 and directory 0700; the names of the files go on names.
 */
struct tar_writer;
int tar_writer_open(struct tar_writer **out, const char *path);
int tar_writer_dir(struct tar_writer *t, const char *name);
int tar_writer_file(struct tar_writer *t, const char *name, const char *src);
int tar_writer_commit(struct tar_writer *t);
int64_t tar_writer_bytes(const struct tar_writer *t);
void tar_writer_free(struct tar_writer *t);
int tar_extract(const char *path, const char *dir, struct strvec *names);

/* Decode standard base64 (padding optional) into out; -1 when malformed. */
int b64_decode(struct buf *out, const char *s, size_t len);
/*
 * Is path an SSH private key scaffold can use (OpenSSH's format or PEM,
 * without a passphrase)?  0 with its type appended to type ("ssh-ed25519",
 * "RSA"...), or -1 with why (sshkey.c).
 */
int ssh_key_check(const char *path, struct buf *type);
/* The PEM private key of path (data, len): its type; -1 with why. */
int pem_key_type(const char *path, const char *data, size_t len,
		 struct buf *type);
/* OpenSSH's fingerprint of a key blob: "SHA256:" + unpadded base64. */
#define SSH_FINGERPRINT_LEN 51
void ssh_fingerprint(char out[SSH_FINGERPRINT_LEN], const void *key,
		     size_t len);

/*
 * HTML escaping (html.c), cgit's way: the helper is named for where its
 * output goes, so every call site shows how it escapes.  Each appends to
 * b (NULL s: nothing).  Bytes that are not valid UTF-8, control
 * characters (but tab, newline, carriage return) and noncharacters become
 * U+FFFD: the output is valid HTML and XML text.
 */
/* Element text: & < > as entities. */
void html_txt(struct buf *b, const char *s);
void html_ntxt(struct buf *b, const char *s, size_t len);
/* A double- or single-quoted attribute value: & < > " ' as entities. */
void html_attr(struct buf *b, const char *s);
/* A URL path segment or query value: %XX for every byte but A-Z a-z 0-9
 * - . _ ~ (and a "." or ".." segment whole). */
void html_url_arg(struct buf *b, const char *s);
/* The same for a relative path: '/' is kept, each segment encoded. */
void html_url_path(struct buf *b, const char *s);

#include "banned.h"

#endif
