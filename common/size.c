/* size.c - parse and format byte sizes such as "256M", "1G", "512K". */
#include <stdio.h>
#include <string.h>

#include "common.h"

/* Powers of 1024, as docker and most tools mean K, M and G. */
static const struct {
	const char *unit;
	int64_t bytes;
} units[] = {
	{ "", 1 },
	{ "K", (int64_t)1 << 10 },   { "k", (int64_t)1 << 10 },
	{ "KiB", (int64_t)1 << 10 }, { "M", (int64_t)1 << 20 },
	{ "m", (int64_t)1 << 20 },   { "MiB", (int64_t)1 << 20 },
	{ "G", (int64_t)1 << 30 },   { "g", (int64_t)1 << 30 },
	{ "GiB", (int64_t)1 << 30 }, { "T", (int64_t)1 << 40 },
	{ "t", (int64_t)1 << 40 },   { "TiB", (int64_t)1 << 40 },
};

int
size_parse(int64_t *out_bytes, const char *s)
{
	int64_t n = 0;
	const char *p = s;
	size_t i;

	if (*p < '0' || *p > '9')
		return ERR_INVALID;
	while (*p >= '0' && *p <= '9') {
		n = n * 10 + (*p++ - '0');
		if (n > SIZE_PARSE_MAX)
			return ERR_TOOBIG;
	}
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(p, units[i].unit))
			break;
	if (i == ARRAY_SIZE(units))
		return ERR_INVALID;
	if (n > SIZE_PARSE_MAX / units[i].bytes)
		return ERR_TOOBIG;
	*out_bytes = n * units[i].bytes;
	return 0;
}

void
size_format(char *out, size_t len, int64_t bytes)
{
	static const char *const sfx[] = { "T", "G", "M", "K" };
	int shift = 40;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sfx); i++, shift -= 10) {
		if (bytes > 0 && bytes % ((int64_t)1 << shift) == 0) {
			snprintf(out, len, "%lld%s",
				 (long long)(bytes >> shift), sfx[i]);
			return;
		}
	}
	snprintf(out, len, "%lld", (long long)bytes);
}
