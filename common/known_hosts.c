/*
 * known_hosts.c - OpenSSH known_hosts lookups, for gitsync's ssh transport
 * and the ssh runner.  No libssh2 here: the callers hand in the raw key.
 *
 * We parse the file ourselves instead of asking libssh2, so that the file
 * is the one the configuration names (not ~/.ssh/known_hosts), and so that
 * a refusal can say exactly why: unknown host, a different key, or a
 * revoked one.  The format (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"):
 *
 *	[@marker] hostpatterns keytype base64-key [comment]
 *
 * hostpatterns is a comma-separated list of names with * and ? wildcards
 * and ! negations, "[host]:port" for a port other than 22, or one hashed
 * name "|1|base64-salt|base64-HMAC-SHA1(salt, name)".
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define KNOWN_HOSTS_MAX (16 << 20)

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
b64_decode(struct buf *out, const char *s, size_t len)
{
	uint32_t acc = 0;
	size_t i, bits = 0;
	int v;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_putc(out, (char)((acc >> bits) & 0xff));
		}
	}
	/* leftover bits must be a whole final group's padding */
	return bits >= 6 ? -1 : 0;
}

/* Unpadded base64, as OpenSSH prints fingerprints. */
static void
b64_encode_nopad(struct buf *out, const unsigned char *p, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	size_t i, bits = 0;

	for (i = 0; i < len; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			buf_putc(out, tab[(acc >> bits) & 63]);
		}
	}
	if (bits > 0)
		buf_putc(out, tab[(acc << (6 - bits)) & 63]);
}

void
ssh_fingerprint(char out[SSH_FINGERPRINT_LEN], const void *key, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct buf b = BUF_INIT;

	if (!EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) || n != 32)
		BUG("SHA-256 failed");
	buf_puts(&b, "SHA256:");
	b64_encode_nopad(&b, md, n);
	snprintf(out, SSH_FINGERPRINT_LEN, "%s", b.ptr);
	buf_release(&b);
}

char *
known_hosts_name(const char *host, int port)
{
	struct buf b = BUF_INIT;

	if (port <= 0 || port == 22)
		buf_puts(&b, host);
	else
		buf_addf(&b, "[%s]:%d", host, port);
	return buf_detach(&b, NULL);
}

/* Glob with * and ?, ASCII case-insensitive, as OpenSSH's match_pattern. */
static int
glob_match(const char *p, size_t plen, const char *s)
{
	size_t i;

	while (plen > 0) {
		if (*p == '*') {
			while (plen > 0 && *p == '*') {
				p++;
				plen--;
			}
			if (plen == 0)
				return 1;
			for (i = 0; s[i]; i++)
				if (glob_match(p, plen, s + i))
					return 1;
			return 0;
		}
		if (!*s)
			return 0;
		if (*p != '?' &&
		    tolower((unsigned char)*p) != tolower((unsigned char)*s))
			return 0;
		p++;
		plen--;
		s++;
	}
	return *s == '\0';
}

/* Does the hashed name "|1|salt|hash" stand for name? */
static int
hashed_match(const char *pat, size_t len, const char *name)
{
	struct buf salt = BUF_INIT, want = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	const char *sep;
	int ret = 0;

	if (len < 3 || memcmp(pat, "|1|", 3) != 0)
		return 0;
	pat += 3;
	len -= 3;
	sep = memchr(pat, '|', len);
	if (!sep)
		return 0;
	if (b64_decode(&salt, pat, (size_t)(sep - pat)) < 0 ||
	    b64_decode(&want, sep + 1, len - (size_t)(sep - pat) - 1) < 0)
		goto out;
	if (!HMAC(EVP_sha1(), salt.ptr, (int)salt.len,
		  (const unsigned char *)name, strlen(name), md, &n))
		goto out;
	ret = want.len == n && crypto_equal(want.ptr, md, n);
out:
	buf_release(&salt);
	buf_release(&want);
	return ret;
}

/* Does the pattern list (one known_hosts field) name name? */
static int
hosts_match(const char *field, size_t len, const char *name)
{
	const char *p = field, *end = field + len, *comma;
	size_t plen;
	int found = 0;

	if (len > 0 && field[0] == '|')
		return hashed_match(field, len, name);
	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		plen = (size_t)((comma ? comma : end) - p);
		if (plen > 0 && p[0] == '!') {
			if (glob_match(p + 1, plen - 1, name))
				return 0; /* a negation wins */
		} else if (plen > 0 && glob_match(p, plen, name)) {
			found = 1;
		}
		p += plen + 1;
	}
	return found;
}

/* Split off the next blank-separated field of [*p, end). */
static int
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*f = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*flen = (size_t)(s - *f);
	*p = s;
	return *flen > 0;
}

enum line_kind { LINE_KEY, LINE_REVOKED, LINE_SKIP };

/* One line of the file, as far as it concerns one host name. */
struct kh_line {
	enum line_kind kind;
	int named;	  /* a key line (or @revoked) that names the host */
	const char *type; /* its key type and base64 key */
	size_t type_len;
	const char *b64;
	size_t b64_len;
	struct buf blob; /* the decoded key */
};

/* Parse [line, end) for name; l->blob must be initialised. */
static void
parse_line(struct kh_line *l, const char *line, const char *end,
	   const char *name)
{
	const char *p = line, *f;
	size_t flen;

	l->named = 0;
	l->kind = LINE_SKIP;
	buf_reset(&l->blob);
	if (!next_field(&p, end, &f, &flen) || f[0] == '#')
		return;
	l->kind = LINE_KEY;
	if (f[0] == '@') {
		if (flen == 8 && !memcmp(f, "@revoked", 8))
			l->kind = LINE_REVOKED;
		else
			l->kind = LINE_SKIP; /* @cert-authority: not ours */
		if (l->kind == LINE_SKIP || !next_field(&p, end, &f, &flen))
			return;
	}
	if (!hosts_match(f, flen, name))
		return;
	/* key type, then the key; a malformed line names nothing */
	if (!next_field(&p, end, &l->type, &l->type_len) ||
	    !next_field(&p, end, &l->b64, &l->b64_len) ||
	    b64_decode(&l->blob, l->b64, l->b64_len) < 0)
		return;
	l->named = 1;
}

/* Call fn for every line of file that names host:port. */
static int
for_each_line(const char *file, const char *host, int port,
	      void (*fn)(const struct kh_line *l, void *arg), void *arg)
{
	struct buf b = BUF_INIT;
	struct kh_line l;
	char *name = NULL;
	const char *line, *end, *nl;
	int ret = -1;

	memset(&l, 0, sizeof(l));
	buf_init(&l.blob);
	if (buf_read_file(&b, file, KNOWN_HOSTS_MAX) < 0)
		goto out;
	name = known_hosts_name(host, port);
	for (line = b.ptr, end = b.ptr + b.len; line < end; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		parse_line(&l, line, nl > line && nl[-1] == '\r' ? nl - 1 : nl,
			   name);
		if (l.named)
			fn(&l, arg);
	}
	ret = 0;
out:
	free(name);
	buf_release(&l.blob);
	buf_release(&b);
	return ret;
}

struct check_arg {
	const void *key;
	size_t len;
	int known, matched, revoked;
};

static void
check_one(const struct kh_line *l, void *arg)
{
	struct check_arg *a = arg;
	int same =
	    l->blob.len == a->len && !memcmp(l->blob.ptr, a->key, a->len);

	if (l->kind == LINE_REVOKED) {
		a->revoked |= same;
		return;
	}
	a->known = 1;
	a->matched |= same;
}

int
known_hosts_check(enum known_hosts_result *out, const char *file,
		  const char *host, int port, const void *key, size_t len)
{
	struct check_arg a = {key, len, 0, 0, 0};

	if (for_each_line(file, host, port, check_one, &a) < 0)
		return -1;
	if (a.revoked)
		*out = KNOWN_HOSTS_REVOKED;
	else if (a.matched)
		*out = KNOWN_HOSTS_OK;
	else if (a.known)
		*out = KNOWN_HOSTS_MISMATCH;
	else
		*out = KNOWN_HOSTS_UNKNOWN;
	return 0;
}

struct extract_arg {
	struct buf *out;
	char *name;
};

static void
extract_one(const struct kh_line *l, void *arg)
{
	static const char *const types[] = {
	    "ssh-ed25519",
	    "ecdsa-sha2-nistp256",
	    "ecdsa-sha2-nistp384",
	    "ecdsa-sha2-nistp521",
	    "ssh-rsa",
	    "ssh-dss",
	};
	struct extract_arg *a = arg;
	size_t i;

	if (l->kind != LINE_KEY)
		return;
	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (strlen(types[i]) == l->type_len &&
		    !memcmp(types[i], l->type, l->type_len))
			break;
	if (i == ARRAY_SIZE(types))
		return;
	buf_addf(a->out, "%s %.*s %.*s\n", a->name, (int)l->type_len, l->type,
		 (int)l->b64_len, l->b64);
}

int
known_hosts_extract(struct buf *out, const char *file, const char *host,
		    int port)
{
	struct extract_arg a;
	int ret;

	a.out = out;
	a.name = known_hosts_name(host, port);
	ret = for_each_line(file, host, port, extract_one, &a);
	free(a.name);
	return ret;
}
