/*
 * auth.c - API tokens and roles.  A token is "scf_" and 48 hex digits of
 * randomness, shown once; the store keeps a random salt and
 * HMAC-SHA256(salt, token), compared in constant time.
 */
#include <string.h>

#include "webhook-int.h"

static const char *const role_names[] = { "none", "viewer", "operator",
					  "admin" };

const char *
role_name(enum role r)
{
	return (unsigned)r < ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

int
role_parse(const char *name, enum role *out)
{
	size_t i;

	for (i = ROLE_VIEWER; i < ARRAY_SIZE(role_names); i++)
		if (!strcmp(name, role_names[i])) {
			*out = (enum role)i;
			return 0;
		}
	return -1;
}

int
token_create(struct store *st, const char *name, enum role role,
	     struct buf *out)
{
	unsigned char raw[24];
	struct token_row t;
	size_t i;
	int ret;

	if (!name_is_valid(name))
		return err_set("invalid token name '%s': use 1-63 characters "
			       "a-z, 0-9, '_', '.', '-', starting with a "
			       "letter or digit",
			       name),
		       ERR_INVALID;
	memset(&t, 0, sizeof(t));
	if (crypto_random(raw, sizeof(raw)) < 0 ||
	    crypto_random(t.salt, sizeof(t.salt)) < 0)
		return -1;
	buf_reset(out);
	buf_puts(out, "scf_");
	for (i = 0; i < sizeof(raw); i++)
		buf_addf(out, "%02x", raw[i]);
	hmac_sha256(t.hash, t.salt, sizeof(t.salt), out->ptr, out->len);
	t.name = (char *)name;
	t.role = (char *)role_name(role);
	ret = store_token_insert(st, &t);
	if (ret < 0)
		buf_reset(out);
	memset(raw, 0, sizeof(raw));
	return ret;
}

int
token_check(struct store *st, const char *token, enum role *out)
{
	struct token_row *v = NULL;
	unsigned char hash[32];
	size_t n = 0, i, len = strlen(token);
	int ret = ERR_AUTH;
	enum role r;

	*out = ROLE_NONE;
	if (len != 52 || strncmp(token, "scf_", 4))
		return ERR_AUTH;
	if (store_token_list(st, &v, &n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		hmac_sha256(hash, v[i].salt, sizeof(v[i].salt), token, len);
		if (crypto_equal(hash, v[i].hash, sizeof(hash)) &&
		    role_parse(v[i].role, &r) == 0) {
			*out = r;
			ret = 0;
			/* once a minute is enough to show it is in use */
			if (store_now_ms() - v[i].last_used_at > 60000)
				store_token_used(st, v[i].id);
			break;
		}
	}
	token_rows_free(v, n);
	return ret;
}
