/* test_hooks.c - the webhook push payload parser (hooks_parse_push). */
#include "unit.h"

#include "../../webhook/webhook-int.h"

static int
parse(struct hooks_push *pu, int forge, const char *ct, const char *body)
{
	return hooks_parse_push(pu, forge, ct, body, strlen(body));
}

static void
test_github_json(void **state)
{
	struct hooks_push pu;

	(void)state;
	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json",
			       "{\"ref\":\"refs/heads/main\",\"after\":\"ab\","
			       "\"repository\":{\"full_name\":\"acme/infra\","
			       "\"clone_url\":\"https://h/acme/infra.git\","
			       "\"ssh_url\":\"git@h:acme/infra.git\","
			       "\"git_url\":\"git://h/acme/infra.git\","
			       "\"html_url\":\"https://h/acme/infra\"}}"),
			 0);
	assert_string_equal(pu.ref, "refs/heads/main");
	assert_string_equal(pu.after, "ab");
	assert_string_equal(pu.project, "acme/infra");
	assert_int_equal(pu.nurls, 4);
	assert_string_equal(pu.urls[0], "https://h/acme/infra.git");
	assert_string_equal(pu.urls[1], "git@h:acme/infra.git");
	assert_string_equal(pu.urls[2], "git://h/acme/infra.git");
	assert_string_equal(pu.urls[3], "https://h/acme/infra");
	hooks_push_release(&pu);
}

static void
test_gitlab_gitea(void **state)
{
	struct hooks_push pu;

	(void)state;
	assert_int_equal(parse(&pu, FORGE_GITLAB, "application/json",
			       "{\"ref\":\"r\",\"project\":{"
			       "\"path_with_namespace\":\"g/s/p\","
			       "\"git_http_url\":\"u0\",\"git_ssh_url\":\"u1\","
			       "\"web_url\":\"u2\"},"
			       "\"repository\":{\"git_http_url\":\"u3\"}}"),
			 0);
	assert_string_equal(pu.project, "g/s/p");
	assert_int_equal(pu.nurls, 4);
	assert_string_equal(pu.urls[0], "u0");
	assert_string_equal(pu.urls[3], "u3");
	assert_null(pu.after);
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITEA, "application/json",
			       "{\"ref\":\"r\",\"repository\":{"
			       "\"full_name\":\"o/n\",\"clone_url\":\"c\","
			       "\"html_url\":\"h\"}}"),
			 0);
	assert_string_equal(pu.project, "o/n");
	assert_int_equal(pu.nurls, 3);
	assert_string_equal(pu.urls[0], "c");
	assert_null(pu.urls[1]);
	assert_string_equal(pu.urls[2], "h");
	hooks_push_release(&pu);
}

/* GitHub's form encoding: the payload field among others, + for spaces */
static void
test_form(void **state)
{
	struct hooks_push pu;

	(void)state;
	assert_int_equal(parse(&pu, FORGE_GITHUB,
			       "application/x-www-form-urlencoded",
			       "a=1&payload=%7B%22ref%22%3A%22a+b%22%7D&z=2"),
			 0);
	assert_string_equal(pu.ref, "a b");
	assert_null(pu.project);
	hooks_push_release(&pu);

	/* the form ends at the first NUL, as the body did as a string */
	assert_int_equal(hooks_parse_push(&pu, FORGE_GITHUB,
					  "application/x-www-form-urlencoded",
					  "a=1\0&payload={}",
					  sizeof("a=1\0&payload={}") - 1),
			 -1);
	assert_int_equal(pu.status, 400);
	assert_string_equal(pu.error.ptr, "the form has no 'payload' field");
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITHUB,
			       "application/x-www-form-urlencoded",
			       "xpayload=1&payloa"),
			 -1);
	assert_string_equal(pu.error.ptr, "the form has no 'payload' field");
	hooks_push_release(&pu);
}

static void
test_errors(void **state)
{
	struct hooks_push pu;

	(void)state;
	assert_int_equal(parse(&pu, FORGE_GITEA, "text/plain", "{}"), -1);
	assert_int_equal(pu.status, 415);
	assert_string_equal(pu.error.ptr, "unsupported Content-Type "
					  "'text/plain': send "
					  "application/json");
	hooks_push_release(&pu);

	/* the exact media type: a longer one that starts the same is not */
	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json-evil",
			       "{\"ref\":\"x\"}"),
			 -1);
	assert_int_equal(pu.status, 415);
	assert_string_equal(pu.error.ptr, "unsupported Content-Type "
					  "'application/json-evil': send "
					  "application/json");
	hooks_push_release(&pu);
	assert_int_equal(parse(&pu, FORGE_GITHUB,
			       "application/x-www-form-urlencodedx",
			       "payload=%7B%7D"),
			 -1);
	assert_int_equal(pu.status, 415);
	hooks_push_release(&pu);
	/* parameters and optional whitespace are allowed, any case */
	assert_int_equal(parse(&pu, FORGE_GITHUB,
			       "Application/JSON ; charset=utf-8",
			       "{\"ref\":\"x\"}"),
			 0);
	hooks_push_release(&pu);
	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json;",
			       "{\"ref\":\"x\"}"),
			 0);
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITEA, NULL, "{}"), -1);
	assert_int_equal(pu.status, 415);
	assert_string_equal(pu.error.ptr, "unsupported Content-Type '': send "
					  "application/json");
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json",
			       "{\"ref\":"),
			 -1);
	assert_int_equal(pu.status, 400);
	assert_string_equal(pu.error.ptr, "the payload is not valid JSON: "
					  "line 1 column 7: unexpected token "
					  "near end of file");
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITLAB, "application/json", "[]"),
			 -1);
	assert_int_equal(pu.status, 400);
	assert_string_equal(pu.error.ptr, "the payload must be a JSON object");
	hooks_push_release(&pu);

	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json",
			       "{\"ref\":1}"),
			 -1);
	assert_int_equal(pu.status, 400);
	assert_string_equal(pu.error.ptr, "the push payload has no 'ref'");
	hooks_push_release(&pu);
}

static int
parse_pull(struct hooks_push *pu, const char *body)
{
	return hooks_parse_event(pu, FORGE_GITHUB, 1, "application/json", body,
				 strlen(body));
}

#define SHA "0123456789abcdef0123456789abcdef01234567"

/* A pull_request payload: no ref needed, the base repository named, the
 * head-bringing actions checked for number, head and base. */
static void
test_pull_request(void **state)
{
	struct hooks_push pu;
	const char *body =
		"{\"action\":\"opened\",\"number\":3,\"pull_request\":"
		"{\"head\":{\"sha\":\"" SHA "\"},\"base\":{\"ref\":"
		"\"main\"}},\"repository\":{\"full_name\":\"acme/infra\","
		"\"clone_url\":\"https://h/acme/infra.git\"}}";
	static const char *const bad[] = {
		/* no number, a number out of range, a short head, no base */
		"{\"action\":\"opened\",\"pull_request\":{\"head\":"
		"{\"sha\":\"" SHA "\"},\"base\":{\"ref\":\"main\"}}}",
		"{\"action\":\"synchronize\",\"number\":1000000000,"
		"\"pull_request\":{\"head\":{\"sha\":\"" SHA "\"},"
		"\"base\":{\"ref\":\"main\"}}}",
		"{\"action\":\"reopened\",\"number\":1,\"pull_request\":"
		"{\"head\":{\"sha\":\"abc\"},\"base\":{\"ref\":"
		"\"main\"}}}",
		"{\"action\":\"opened\",\"number\":1,\"pull_request\":"
		"{\"head\":{\"sha\":\"" SHA "\"}}}",
	};
	size_t i;

	(void)state;
	assert_int_equal(parse_pull(&pu, body), 0);
	assert_null(pu.ref);
	assert_string_equal(pu.action, "opened");
	assert_int_equal(pu.new_head, 1);
	assert_int_equal(pu.number, 3);
	assert_string_equal(pu.head, SHA);
	assert_string_equal(pu.base, "main");
	assert_string_equal(pu.project, "acme/infra");
	assert_string_equal(pu.urls[0], "https://h/acme/infra.git");
	hooks_push_release(&pu);
	/* the same as a push: a ref is required */
	assert_int_equal(parse(&pu, FORGE_GITHUB, "application/json", body),
			 -1);
	assert_string_equal(pu.error.ptr, "the push payload has no 'ref'");
	hooks_push_release(&pu);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_pull(&pu, bad[i]), -1);
		assert_int_equal(pu.status, 400);
		assert_string_equal(
			pu.error.ptr,
			"the pull_request payload needs 'number' (1 to "
			"999999999), 'pull_request.head.sha' (40 hex digits) "
			"and 'pull_request.base.ref'");
		hooks_push_release(&pu);
	}
	/* Gitea's word for a new head */
	body = "{\"action\":\"synchronized\",\"number\":9,\"pull_request\":"
	       "{\"head\":{\"sha\":\"" SHA "\"},\"base\":{\"ref\":"
	       "\"main\"}}}";
	assert_int_equal(hooks_parse_event(&pu, FORGE_GITEA, 1,
					   "application/json", body,
					   strlen(body)),
			 0);
	assert_int_equal(pu.new_head, 1);
	assert_int_equal(pu.number, 9);
	hooks_push_release(&pu);
	/* GitLab's Merge Request Hook */
	body = "{\"object_kind\":\"merge_request\",\"project\":"
	       "{\"path_with_namespace\":\"acme/infra\"},"
	       "\"object_attributes\":{\"iid\":5,\"action\":\"update\","
	       "\"target_branch\":\"main\",\"last_commit\":{\"id\":\"" SHA
	       "\"}}}";
	assert_int_equal(hooks_parse_event(&pu, FORGE_GITLAB, 1,
					   "application/json", body,
					   strlen(body)),
			 0);
	assert_int_equal(pu.new_head, 1);
	assert_int_equal(pu.number, 5);
	assert_string_equal(pu.head, SHA);
	assert_string_equal(pu.base, "main");
	assert_string_equal(pu.project, "acme/infra");
	hooks_push_release(&pu);
	body = "{\"object_attributes\":{\"iid\":5,\"action\":\"open\"}}";
	assert_int_equal(hooks_parse_event(&pu, FORGE_GITLAB, 1,
					   "application/json", body,
					   strlen(body)),
			 -1);
	assert_string_equal(pu.error.ptr,
			    "the Merge Request Hook payload needs "
			    "'object_attributes.iid' (1 to 999999999), "
			    "'object_attributes.last_commit.id' (40 hex "
			    "digits) and 'object_attributes.target_branch'");
	hooks_push_release(&pu);
	/* closed needs the number and head as well; merged or not */
	assert_int_equal(parse_pull(&pu, "{\"action\":\"closed\","
					 "\"pull_request\":{}}"),
			 -1);
	assert_int_equal(pu.status, 400);
	hooks_push_release(&pu);
	body = "{\"action\":\"closed\",\"number\":3,\"pull_request\":"
	       "{\"merged\":true,\"head\":{\"sha\":\"" SHA "\"},\"base\":"
	       "{\"ref\":\"main\"}}}";
	assert_int_equal(parse_pull(&pu, body), 0);
	assert_int_equal(pu.new_head, 0);
	assert_string_equal(pu.closed, "merged");
	hooks_push_release(&pu);
	body = "{\"action\":\"closed\",\"number\":3,\"pull_request\":"
	       "{\"merged\":false,\"head\":{\"sha\":\"" SHA "\"},\"base\":"
	       "{\"ref\":\"main\"}}}";
	assert_int_equal(parse_pull(&pu, body), 0);
	assert_string_equal(pu.closed, "closed");
	hooks_push_release(&pu);
	/* edited: a new base is a new plan, a new title nothing */
	body = "{\"action\":\"edited\",\"number\":3,\"changes\":{\"base\":"
	       "{\"ref\":{\"from\":\"dev\"}}},\"pull_request\":{\"head\":"
	       "{\"sha\":\"" SHA "\"},\"base\":{\"ref\":\"main\"}}}";
	assert_int_equal(parse_pull(&pu, body), 0);
	assert_int_equal(pu.new_head, 1);
	assert_int_equal(pu.base_edited, 1);
	assert_string_equal(pu.base, "main");
	hooks_push_release(&pu);
	body = "{\"action\":\"edited\",\"number\":3,\"changes\":{\"title\":"
	       "{\"from\":\"x\"}},\"pull_request\":{}}";
	assert_int_equal(parse_pull(&pu, body), 0);
	assert_int_equal(pu.new_head, 0);
	assert_null(pu.closed);
	hooks_push_release(&pu);
	/* Gitea says a changed base in changes.ref */
	body = "{\"action\":\"edited\",\"number\":4,\"changes\":{\"ref\":"
	       "{\"from\":\"dev\"}},\"pull_request\":{\"head\":"
	       "{\"sha\":\"" SHA "\"},\"base\":{\"ref\":\"main\"}}}";
	assert_int_equal(hooks_parse_event(&pu, FORGE_GITEA, 1,
					   "application/json", body,
					   strlen(body)),
			 0);
	assert_int_equal(pu.new_head, 1);
	hooks_push_release(&pu);
	/* GitLab's merge */
	body = "{\"object_attributes\":{\"iid\":5,\"action\":\"merge\","
	       "\"target_branch\":\"main\",\"last_commit\":{\"id\":\"" SHA
	       "\"}}}";
	assert_int_equal(hooks_parse_event(&pu, FORGE_GITLAB, 1,
					   "application/json", body,
					   strlen(body)),
			 0);
	assert_int_equal(pu.new_head, 0);
	assert_string_equal(pu.closed, "merged");
	hooks_push_release(&pu);
	assert_int_equal(parse_pull(&pu, "{\"number\":1}"), -1);
	assert_string_equal(pu.error.ptr, "the pull_request payload has no "
					  "'action' or 'pull_request'");
	hooks_push_release(&pu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_github_json),
		cmocka_unit_test(test_gitlab_gitea),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pull_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
