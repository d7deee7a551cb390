/*
 * fuzz-http-screen.c - libFuzzer target: the request head screening
 * (http_screen_target, http_screen_head), as reached for every request
 * before routing.  The input is a request head as sent: the first line's
 * target, then "name: value" lines (a name may hold anything but a colon,
 * as libmicrohttpd passes it on).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../webhook/webhook-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_field f[64];
	struct buf out = BUF_INIT;
	char *s = malloc(size + 1), *line, *next, *colon;
	size_t n = 0;
	int code;

	memcpy(s, data, size);
	s[size] = '\0';
	line = s;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	code = http_screen_target(line, &out);
	if (code != 0 && (code != 400 || !out.len))
		abort();
	if (!code && strstr(line, "%00"))
		abort();
	for (line = next; line && n < 64; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!(colon = strchr(line, ':')))
			continue;
		*colon = '\0';
		f[n].name = line;
		f[n].name_len = (size_t)(colon - line);
		f[n].value = colon + 1;
		n++;
	}
	buf_reset(&out);
	code = http_screen_head(f, n, &out);
	if (code != 0 && (code != 400 || !out.len))
		abort();
	if (!code && out.len)
		abort();
	/* the message is text a log and a JSON string can hold */
	if (strlen(out.ptr) != out.len)
		abort();
	buf_release(&out);
	free(s);
	return 0;
}
