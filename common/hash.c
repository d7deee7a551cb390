/* hash.c - SHA-256 through OpenSSL's EVP interface. */
#include <openssl/evp.h>
#include <stdlib.h>

#include "common.h"

struct sha256_ctx {
	EVP_MD_CTX *md;
};

struct sha256_ctx *
sha256_new(void)
{
	struct sha256_ctx *c = xmalloc(sizeof(*c));

	c->md = EVP_MD_CTX_new();
	if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
		BUG("cannot initialise SHA-256");
	return c;
}

void
sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	if (EVP_DigestUpdate(c->md, data, len) != 1)
		BUG("SHA-256 update failed");
}

void
sha256_final_hex(struct sha256_ctx *c, char out[SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_DigestFinal_ex(c->md, md, &n) != 1 || n != 32)
		BUG("SHA-256 final failed");
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
	EVP_MD_CTX_free(c->md);
	free(c);
}

void
sha256_hex(char out[SHA256_HEX_LEN + 1], const void *data, size_t len)
{
	struct sha256_ctx *c = sha256_new();

	sha256_update(c, data, len);
	sha256_final_hex(c, out);
}
