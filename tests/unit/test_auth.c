/*
 * test_auth.c - who may see what (webhook/auth.c): where ?next= may send
 * a browser after /login (never off the site), the way back to "/", the
 * session cookie's attributes, and the sessions in a real store: found
 * while live, gone at expiry, at sign-out and with their token.
 */
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "unit.h"
#include "../../webhook/webhook-int.h"

static void
test_next(void **state)
{
	static const char *const good[] = {
	    "/",
	    "/r/12/log",
	    "/c/infra/deploy?rev=0123abcd",
	    "/r/1/files/a%20b.txt",
	    "/login?next=%2F",
	    "/a/b//c",
	};
	static const char *const bad[] = {
	    "",
	    "r/1",
	    "//evil.example",
	    "//evil.example/x",
	    "/\\evil.example",
	    "\\\\evil.example",
	    "/x\\y",
	    "https://evil.example/",
	    "http:/evil.example",
	    "javascript:alert(1)",
	    " /r/1",
	    "/r/1 x",
	    "/r/1\r\nSet-Cookie: a=b",
	    "/\t/evil.example",
	    "/caf\xc3\xa9",
	    "/\x7f",
	};
	char big[2100];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(good); i++)
		if (!auth_next_ok(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		if (auth_next_ok(bad[i]))
			fail_msg("'%s' allowed", bad[i]);
	assert_false(auth_next_ok(NULL));
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[2048] = '\0';
	assert_true(auth_next_ok(big));
	big[2048] = 'a';
	big[2049] = '\0';
	assert_false(auth_next_ok(big));
}

static void
test_root(void **state)
{
	static const char *const cases[][2] = {
	    {"/", ""},
	    {"/login", ""},
	    {"/r/5", "../"},
	    {"/r/5/log", "../../"},
	    {"/c/infra/x", "../../"},
	    {"/r/5/files/a/b.txt", "../../../../"},
	};
	struct buf b = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		buf_reset(&b);
		auth_root(&b, cases[i][0]);
		assert_string_equal(b.ptr, cases[i][1]);
	}
	buf_release(&b);
}

static void
test_cookie(void **state)
{
	struct config cf;
	struct buf b = BUF_INIT;

	(void)state;
	memset(&cf, 0, sizeof(cf));
	cf.public_url = "http://127.0.0.1:8080";
	cf.session_lifetime_ms = CONFIG_SESSION_LIFETIME;
	auth_cookie(&b, &cf, "ab12");
	assert_string_equal(b.ptr, "scaffold_session=ab12; Path=/; "
				   "Max-Age=43200; HttpOnly; SameSite=Strict");
	cf.public_url = "HTTPS://scaffold.example.com/";
	cf.session_lifetime_ms = 300;
	auth_cookie(&b, &cf, "ab12");
	assert_string_equal(b.ptr, "scaffold_session=ab12; Path=/; Max-Age=1; "
				   "HttpOnly; SameSite=Strict; Secure");
	auth_cookie(&b, &cf, NULL);
	assert_string_equal(b.ptr, "scaffold_session=; Path=/; Max-Age=0; "
				   "HttpOnly; SameSite=Strict; Secure");
	buf_release(&b);
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(p);
}

static void
test_sessions(void **state)
{
	char dir[64], hash[SHA256_HEX_LEN + 1];
	struct store *st = NULL;
	struct buf tok = BUF_INIT, id = BUF_INIT, id2 = BUF_INIT;
	struct session_row row;
	char *name = NULL;
	int64_t now;

	(void)state;
	unit_tmpdir(dir, sizeof(dir), "scaffold-unit");
	if (store_open(&st, dir) < 0)
		fail_msg("store_open: %s", err_msg());
	assert_int_equal(token_create(st, "watcher", ROLE_VIEWER, &tok), 0);
	assert_int_equal(auth_session_start(st, "scf_nope", 1000, &id, &name),
			 ERR_AUTH);
	assert_int_equal(id.len, 0);
	assert_null(name);
	assert_int_equal(auth_session_start(st, tok.ptr, 60000, &id, &name), 0);
	assert_string_equal(name, "watcher");
	free(name);
	assert_int_equal(id.len, 64);
	/* the store knows the hash, not the id */
	assert_int_equal(store_session_find(st, id.ptr, store_now_ms(), &row),
			 ERR_NOTFOUND);
	sha256_hex(hash, id.ptr, id.len);
	now = store_now_ms();
	assert_int_equal(store_session_find(st, hash, now, &row), 0);
	assert_string_equal(row.role, "viewer");
	assert_string_equal(row.token_name, "watcher");
	assert_true(row.expires_at >= now + 59000 &&
		    row.expires_at <= now + 60000);
	session_row_release(&row);
	/* absolute expiry */
	assert_int_equal(store_session_find(st, hash, now + 61000, &row),
			 ERR_NOTFOUND);
	/* sign-out */
	assert_int_equal(auth_session_end(st, id.ptr), 0);
	assert_int_equal(store_session_find(st, hash, now, &row), ERR_NOTFOUND);
	assert_int_equal(auth_session_end(st, "not-an-id"), 0);
	/* revoking the token ends its sessions */
	assert_int_equal(auth_session_start(st, tok.ptr, 60000, &id2, &name),
			 0);
	free(name);
	sha256_hex(hash, id2.ptr, id2.len);
	assert_int_equal(store_session_find(st, hash, now, &row), 0);
	session_row_release(&row);
	assert_int_equal(store_token_delete(st, "watcher"), 0);
	assert_int_equal(token_create(st, "watcher", ROLE_ADMIN, &tok), 0);
	assert_int_equal(store_session_find(st, hash, now, &row), ERR_NOTFOUND);
	store_close(st);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	buf_release(&tok);
	buf_release(&id);
	buf_release(&id2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_next),
	    cmocka_unit_test(test_root),
	    cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_sessions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
