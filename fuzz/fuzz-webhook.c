/*
 * fuzz-webhook.c - libFuzzer target: the webhook push payload parser
 * (hooks_parse_push) and GitHub's pull_request one (hooks_parse_event),
 * and GitLab's Merge Request Hook, as reached once a signature is
 * verified.  The first byte picks the forge (3: a pull request, of the
 * forge its high bits pick) and the Content-Type; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../webhook/webhook-int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
	"application/json",
	"application/x-www-form-urlencoded",
	"application/json; charset=utf-8",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hooks_push pu;
	char *body;
	size_t i;
	int forge, rc;

	if (!size)
		return 0;
	forge = data[0] % 4;
	/* the body as the server holds it: a copy of exactly its bytes */
	body = malloc(size - 1 ? size - 1 : 1);
	memcpy(body, data + 1, size - 1);
	rc = hooks_parse_event(&pu, forge == 3 ? (data[0] >> 4) % 3 : forge,
			       forge == 3, content_types[(data[0] >> 2) % 4],
			       body, size - 1);
	if (rc < 0) {
		if (pu.status != 400 && pu.status != 415)
			abort();
		if (!pu.error.len)
			abort();
	} else if (forge == 3) {
		if (!pu.action || (pu.new_head &&
				   (!pu.head || strlen(pu.head) != 40 ||
				    !pu.base || pu.number < 1)))
			abort();
		(void)strlen(pu.action);
		if (pu.new_head)
			(void)strlen(pu.base);
	} else {
		if (!pu.ref)
			abort();
		/* every string is readable to its end */
		(void)strlen(pu.ref);
		for (i = 0; i < pu.nurls; i++)
			if (pu.urls[i])
				(void)strlen(pu.urls[i]);
		if (pu.project)
			(void)strlen(pu.project);
		if (pu.after)
			(void)strlen(pu.after);
	}
	hooks_push_release(&pu);
	free(body);
	return 0;
}
