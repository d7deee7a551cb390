/*
 * crypto.c - randomness, HMAC-SHA256 and AES-256-GCM sealing through
 * OpenSSL's libcrypto.  Sealed data is nonce (12) || ciphertext || tag (16).
 */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define GCM_NONCE 12
#define GCM_TAG 16

int
crypto_random(void *out, size_t n)
{
	if (RAND_bytes(out, (int)n) != 1)
		return err_set("cannot gather random bytes");
	return 0;
}

static void
to_hex(char *out, const unsigned char *md, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

void
hmac_sha256_hex(char out[SHA256_HEX_LEN + 1], const void *key, size_t klen,
		const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, data, len, md, &n) || n != 32)
		BUG("HMAC-SHA256 failed");
	to_hex(out, md, n);
}

void
hmac_sha256(unsigned char out[32], const void *key, size_t klen,
	    const void *data, size_t len)
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)klen, data, len, out, &n) || n != 32)
		BUG("HMAC-SHA256 failed");
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

int
aead_seal(struct buf *out, const unsigned char key[AEAD_KEY_LEN],
	  const void *pt, size_t len)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char nonce[GCM_NONCE], *p;
	int n = 0, ret = -1;

	if (!ctx)
		return err_set("cannot create a cipher context");
	if (crypto_random(nonce, sizeof(nonce)) < 0)
		goto out;
	buf_grow(out, GCM_NONCE + len + GCM_TAG);
	p = (unsigned char *)out->ptr + out->len;
	memcpy(p, nonce, GCM_NONCE);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, p + GCM_NONCE, &n, pt, (int)len) != 1 ||
	    (size_t)n != len ||
	    EVP_EncryptFinal_ex(ctx, p + GCM_NONCE + n, &n) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG,
				p + GCM_NONCE + len) != 1) {
		err_set("encryption failed");
		goto out;
	}
	out->len += GCM_NONCE + len + GCM_TAG;
	out->ptr[out->len] = '\0';
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int
aead_open(struct buf *out, const unsigned char key[AEAD_KEY_LEN],
	  const void *sealed, size_t len)
{
	const unsigned char *s = sealed;
	EVP_CIPHER_CTX *ctx;
	size_t ptlen;
	int n = 0, ret = -1;

	if (len < GCM_NONCE + GCM_TAG)
		return err_set("sealed value is truncated");
	ptlen = len - GCM_NONCE - GCM_TAG;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return err_set("cannot create a cipher context");
	buf_grow(out, ptlen);
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, s) != 1 ||
	    EVP_DecryptUpdate(ctx, (unsigned char *)out->ptr + out->len, &n,
			      s + GCM_NONCE, (int)ptlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
				(void *)(s + GCM_NONCE + ptlen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, (unsigned char *)out->ptr + out->len + n,
				&n) != 1) {
		err_set("cannot decrypt: wrong key or corrupted value");
		goto out;
	}
	out->len += ptlen;
	out->ptr[out->len] = '\0';
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

/* No passphrase to give: an encrypted PEM key fails to read. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(int *)u = 1;
	return -1;
}

int
pem_key_type(const char *path, const char *data, size_t len,
	     struct buf *type)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	EVP_PKEY *k = NULL;
	int asked = 0, ret = -1;

	if (!bio)
		return err_set("'%s': out of memory", path);
	k = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &asked);
	if (!k && (asked || strstr(data, "ENCRYPTED")))
		err_set("'%s' is protected by a passphrase: scaffold cannot "
			"use it (ssh-keygen -p -N '' -f '%s' removes it)",
			path, path);
	else if (!k)
		err_set("'%s' is not a valid PEM private key", path);
	else {
		buf_addf(type, "%s", OBJ_nid2sn(EVP_PKEY_base_id(k)));
		ret = 0;
	}
	EVP_PKEY_free(k);
	BIO_free(bio);
	return ret;
}
