/*
 * store-int.h - shared by the files of the state store (store.c and
 * store-*.c), the only ones that include sqlite3.h.
 */
#ifndef SCAFFOLD_STORE_INT_H
#define SCAFFOLD_STORE_INT_H

#include <sqlite3.h>

#include "reconciler-int.h"

struct store {
	sqlite3 *db;
	char *dir;
	unsigned char key[AEAD_KEY_LEN];
	char instance[13];
	struct strmap stmts; /* SQL text -> sqlite3_stmt, prepared once */
};

/* err_set("store: WHAT: sqlite's message"); returns -1. */
int db_err(struct store *s, const char *what);
/* The statement for sql, prepared once per connection, reset and unbound;
 * NULL (and err_set) on failure.  Owned by the store. */
sqlite3_stmt *db_stmt(struct store *s, const char *sql);
/* Run SQL text with no rows (several statements allowed). */
int db_exec(struct store *s, const char *sql);
/* Step a statement that returns no rows, then reset it. */
int db_step_done(struct store *s, sqlite3_stmt *st, const char *what);
/* Column i as a new string (NULL for NULL); free() it. */
char *db_col_str(sqlite3_stmt *st, int i);
/* Column i, a hex SHA-256, into out ("" for NULL). */
void db_col_hex(sqlite3_stmt *st, int i, char out[SHA256_HEX_LEN + 1]);

/* The tables of drift probes (store-checks.c), a migration of store.c. */
extern const char store_checks_schema[];
/* What each revision reset (store-resets.c), a migration of store.c. */
extern const char store_resets_schema[];
/* The table of pull request plans (store-prplans.c). */
extern const char store_prplans_schema[];
/* Pull request comments, and closed plans (store-prcomments.c). */
extern const char store_prcomments_schema[];

#endif
