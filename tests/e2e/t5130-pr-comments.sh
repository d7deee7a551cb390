#!/bin/sh
# Pull request comments on GitHub (forge.plan_comments) and what changes a
# preview: a create whose answer is lost (the comment was made, its id
# never came back, as after a crash) is found again by its hidden marker
# and updated, never made twice; an edited base re-plans the head against
# the new base when a repo follows it; an edit of the title alone is
# answered and changes nothing; a merged pull request clears its preview
# and the comment says so; reopened, the same head is planned again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"
command -v jq >/dev/null || skip_all "jq is not installed (scripts/install-deps.sh installs it)"

pr_init github
cat >"$T/work/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: echo v1
  - name: test
    depends_on: [build]
    run: echo test
Y
pr_first_push
pr_start_stub --lose-creates 1
pr_start_serve "      plan_comments: true"
ok wait_for 30 pr_base_ran 2 \
	"the base branch is applied and its 2 tasks ran"
RUNS0=$(runs)

# method, path, query and status of the comment requests, in order
calls() { grep '"/repos/acme/infra/issues/' "$STUB_LOG" | jq -c '[.method, .path, .query, .status]'; }
body_of() { grep '"/repos/acme/infra/issues/' "$STUB_LOG" | sed -n "${1}p" |
	jq -r .body.body | sed 's/scaffold-plan [0-9a-f]\{32\}/scaffold-plan M/'; }

w checkout -q -b toolchain
sed -i 's/echo v1/echo v2/' "$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 3)

# 1. opened into a branch no repo follows, then its base edited to main
pr_payload opened 3 "$HEAD1" develop >"$T/dev.json"
pr_post "$T/dev.json" gh-3-opened
is "$CODE $BODY" "202 {\"ignored\":\"a pull request into 'develop', which no repo follows (repo 'infra' follows 'main')\"}" \
	"a pull request into develop is ignored"
pr_payload edited 3 "$HEAD1" main | jq -c '. + {changes: {base: {ref: {from: "develop"}, sha: {from: "'"$BASE_SHA"'"}}}}' >"$T/edited.json"
pr_post "$T/edited.json" gh-3-edited
is "$CODE $BODY" '202 {"accepted":true,"delivery":"gh-3-edited","pull_request":3,"repos":["infra"]}' \
	"edited with changes.base into main: accepted, planned"
ok wait_for 30 grep -q "the comment of pull request #3 is up to date" "$T/serve.log" \
	"its status and comment are posted (after the lost answer)"
is "$(pr_plans)" "$(pr_status "$HEAD1" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"the status of the head planned against main"
is "$(calls)" '["POST","/repos/acme/infra/issues/3/comments",null,502]
["GET","/repos/acme/infra/issues/3/comments",{"page":"1","per_page":"100"},200]
["PATCH","/repos/acme/infra/issues/comments/1000",null,200]' \
	"the create's answer is lost: the comment is found by its marker and updated, not made again"
is "$(grep -c 'the comment of pull request #3 is found by its marker' "$T/serve.log")" 1 "the log says so"
is "$(body_of 3)" "<!-- scaffold-plan M -->
**scaffold plan** of repo infra at $(echo "$HEAD1" | cut -c1-12) ([the plan](https://scaffold.example.com/p/infra/$HEAD1)): 1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged

| cascade | change | tasks to re-run | first error |
| --- | --- | --- | --- |
| deploy | changed | 2: build, test |  |" "the comment: the summary, the table, the link"

# 2. an edit of the title alone
n=$(pr_nplans)
pr_payload edited 3 "$HEAD1" main | jq -c '. + {changes: {title: {from: "old title"}}}' >"$T/title.json"
pr_post "$T/title.json" gh-3-title
is "$CODE $BODY" "202 {\"ignored\":\"pull request action 'edited' changes neither its head nor its base\"}" \
	"edited with only a new title is ignored"

# 3. an invalid head: failure, its error in the comment's table, escaped
printf '  - name: z\n    depends_on: ["x|y @team <b>"]\n    run: echo\n' >>"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 3)
pr_payload synchronize 3 "$HEAD2" main >"$T/sync.json"
pr_post "$T/sync.json" gh-3-sync
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #3 is up to date' '$T/serve.log') -eq 2 ]" \
	"the comment follows the new head"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" failure ".scaffold/deploy.yaml:11:18: task 'z' depends on unknown task 'x|y @team <b>'")" \
	"the title's edit posted nothing; the new head's status is failure"
is "$(body_of 4 | sed "/^$/d" | tail -1)" "| .scaffold/deploy.yaml | invalid |  | .scaffold/deploy.yaml:11:18: task 'z' depends on unknown task 'x&#124;y &#64;team &lt;b&gt;' |" \
	"the comment's row: the file, invalid, the first error with its markup and mention neutralised"

# 4. merged: the preview is cleared, the comment says so
pr_payload closed 3 "$HEAD2" main | jq -c '.pull_request.merged = true' >"$T/merged.json"
pr_post "$T/merged.json" gh-3-merged
is "$CODE $BODY" '202 {"closed":"merged","delivery":"gh-3-merged","pull_request":3,"repos":["infra"]}' \
	"closed and merged: the preview is cleared"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #3 is up to date' '$T/serve.log') -eq 3 ]" \
	"the comment is updated"
is "$(body_of 5)" "<!-- scaffold-plan M -->
**scaffold plan** of repo infra at $(echo "$HEAD2" | cut -c1-12) ([the plan](https://scaffold.example.com/p/infra/$HEAD2)): the pull request is merged; its plan preview is cleared, nothing of it is planned any more" \
	"the comment says the pull request is merged"
pr_post "$T/merged.json" gh-3-merged
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"gh-3-merged"}' "the same close again is a duplicate"

# 5. reopened with the same head: planned again
n=$(pr_nplans)
pr_payload reopened 3 "$HEAD2" main >"$T/reopened.json"
pr_post "$T/reopened.json" gh-3-reopened
is "$CODE" 202 "reopened is accepted"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #3 is up to date' '$T/serve.log') -eq 4 ]" \
	"the comment shows the plan again"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" failure ".scaffold/deploy.yaml:11:18: task 'z' depends on unknown task 'x|y @team <b>'")" \
	"the same head gets its status again"
is "$(calls | grep -c '"POST"')" 1 "one comment was ever created"
# the stub holds requests to the documented API: what scaffold sent
# passed it, and these do not
stub() { # METHOD PATH BODY [HEADER...]: the stub's answer
	_m=$1 _p=$2 _b=$3
	shift 3
	curl -s -X "$_m" -H 'Accept: application/vnd.github+json' \
		-H 'X-GitHub-Api-Version: 2022-11-28' "$@" --data-binary "$_b" \
		-w ' %{http_code}' "http://127.0.0.1:$STUB_PORT$_p"
}
is "$(stub PATCH /repos/acme/infra/issues/comments/1000 '{"body":"x"}' -H 'Content-Type: application/json')" \
	"{\"message\":\"GitHub wants 'Authorization: Bearer TOKEN'\"} 422" "the stub refuses a request without the token"
is "$(stub PATCH /repos/acme/infra/issues/comments/1000 '{"body":"x","title":"y"}' -H 'Content-Type: application/json' -H 'Authorization: Bearer t')" \
	'{"message":"the body must be {\"body\": STRING}"} 422' "a body with more than the documented field"
is "$(stub PUT /repos/acme/infra/issues/comments/1000 '{"body":"x"}' -H 'Content-Type: application/json' -H 'Authorization: Bearer t')" \
	'{"message":"this method is not documented for this path"} 422' "GitHub's update with PUT"
is "$(stub PATCH /repos/acme/infra/issues/comments/999 '{"body":"x"}' -H 'Content-Type: application/json' -H 'Authorization: Bearer t')" \
	'{"message":"Not Found"} 404' "an update of a comment that does not exist"
is "$(runs)" "$RUNS0" "nothing of the pull request ran"
is "$(grep -c "$TOKEN" "$T/serve.log")" 0 "the token never reaches the log"
done_testing
