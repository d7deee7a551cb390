/*
 * sshkey.c - is a file an SSH private key scaffold can use?  OpenSSH's
 * own format ("openssh-key-v1", read here) or PEM (through crypto.c), and
 * not protected by a passphrase: the daemon has nobody to ask for one.
 */
#include <stdint.h>
#include <string.h>

#include "common.h"

#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"
#define OPENSSH_MAGIC "openssh-key-v1"

/* An SSH wire string at *p (of n left): its bytes; -1 past the end. */
static int
wire_string(const unsigned char **p, size_t *n, const unsigned char **s,
	    uint32_t *len)
{
	uint32_t l;

	if (*n < 4)
		return -1;
	l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	if (l > *n - 4)
		return -1;
	*s = *p + 4;
	*len = l;
	*p += 4 + l;
	*n -= 4 + l;
	return 0;
}

/* The OpenSSH format: magic, cipher, kdf, kdf options, count, public key. */
static int
openssh_key(const char *path, const char *text, struct buf *type)
{
	const char *b = strstr(text, OPENSSH_BEGIN), *e;
	struct buf b64 = BUF_INIT, raw = BUF_INIT;
	const unsigned char *p, *s, *ks;
	uint32_t len, klen;
	size_t n;
	int ret = -1;

	e = strstr(b, OPENSSH_END);
	if (!e) {
		err_set("'%s' has no end line", path);
		goto out;
	}
	for (b += strlen(OPENSSH_BEGIN); b < e; b++)
		if (*b != '\n' && *b != '\r' && *b != ' ' && *b != '\t')
			buf_putc(&b64, *b);
	if (b64_decode(&raw, b64.ptr, b64.len) < 0 ||
	    raw.len < sizeof(OPENSSH_MAGIC) ||
	    memcmp(raw.ptr, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC))) {
		err_set("'%s' is not a valid OpenSSH private key", path);
		goto out;
	}
	p = (const unsigned char *)raw.ptr + sizeof(OPENSSH_MAGIC);
	n = raw.len - sizeof(OPENSSH_MAGIC);
	if (wire_string(&p, &n, &s, &len) < 0)
		goto bad;
	if (len != 4 || memcmp(s, "none", 4)) {
		err_set("'%s' is protected by a passphrase: scaffold cannot "
			"use it (ssh-keygen -p -N '' -f '%s' removes it)",
			path, path);
		goto out;
	}
	/* kdf name, kdf options, the number of keys, the first public key */
	if (wire_string(&p, &n, &s, &len) < 0 ||
	    wire_string(&p, &n, &s, &len) < 0 || n < 4)
		goto bad;
	p += 4;
	n -= 4;
	if (wire_string(&p, &n, &ks, &klen) < 0)
		goto bad;
	n = klen;
	if (wire_string(&ks, &n, &s, &len) < 0 || !len)
		goto bad;
	buf_add(type, (const char *)s, len);
	ret = 0;
	goto out;
bad:
	err_set("'%s' is not a valid OpenSSH private key", path);
out:
	buf_release(&b64);
	buf_release(&raw);
	return ret;
}

int
ssh_key_check(const char *path, struct buf *type)
{
	struct buf data = BUF_INIT;
	int ret = -1;

	if (buf_read_file(&data, path, 64 << 10) < 0)
		goto out;
	if (strstr(data.ptr, OPENSSH_BEGIN))
		ret = openssh_key(path, data.ptr, type);
	else if (strstr(data.ptr, "-----BEGIN ") &&
		 strstr(data.ptr, "PRIVATE KEY-----"))
		ret = pem_key_type(path, data.ptr, data.len, type);
	else
		ret = err_set("'%s' is not an SSH private key (neither "
			      "OpenSSH's format nor PEM)",
			      path);
out:
	if (data.len)
		explicit_bzero(data.ptr, data.len);
	buf_release(&data);
	return ret;
}
