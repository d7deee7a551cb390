/* duration.c - parse and format "1h30m"-style durations. */
#include <stdio.h>
#include <string.h>

#include "common.h"

static const struct {
	const char *unit;
	int64_t ms;
} units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

/* Ten years: more than any task should need, far from overflow. */
#define DURATION_MAX_MS ((int64_t)10 * 366 * 24 * 60 * 60 * 1000)

int
duration_parse(int64_t *out_ms, const char *s)
{
	int64_t total = 0, n;
	size_t i, ulen, best;
	const char *p = s;

	if (!*p)
		return ERR_INVALID;
	while (*p) {
		if (*p < '0' || *p > '9')
			return ERR_INVALID;
		n = 0;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p++ - '0');
			if (n > DURATION_MAX_MS)
				return ERR_TOOBIG;
		}
		best = ARRAY_SIZE(units);
		ulen = 0;
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);

			if (!strncmp(p, units[i].unit, l) && l > ulen) {
				best = i;
				ulen = l;
			}
		}
		if (best == ARRAY_SIZE(units))
			return ERR_INVALID;
		p += ulen;
		if (n > DURATION_MAX_MS / units[best].ms)
			return ERR_TOOBIG;
		total += n * units[best].ms;
		if (total > DURATION_MAX_MS)
			return ERR_TOOBIG;
	}
	*out_ms = total;
	return 0;
}

void
duration_format(char *out, size_t len, int64_t ms)
{
	struct buf b = BUF_INIT;
	size_t i;

	if (ms == 0)
		buf_puts(&b, "0s");
	for (i = ARRAY_SIZE(units); i-- > 0 && ms > 0;) {
		if (ms >= units[i].ms) {
			buf_addf(&b, "%lld%s", (long long)(ms / units[i].ms),
				 units[i].unit);
			ms %= units[i].ms;
		}
	}
	snprintf(out, len, "%s", b.ptr);
	buf_release(&b);
}
