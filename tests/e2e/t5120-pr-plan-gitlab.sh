#!/bin/sh
# Plan previews on GitLab merge requests: a Merge Request Hook with the
# right token, shaped like GitLab's (tests/cases/webhooks/), gets the
# status scaffold/plan on its head through GitLab's status API, with the
# exact description and link, and (forge.plan_comments) one note with the
# per-cascade table; a new head ("update") gets its own status and the
# same note updated in place (PUT); merge clears the preview and the note
# says so; nothing runs.  The answer to the note's creation is lost (the
# stub keeps the note, answers 502): it is found by its marker among the
# merge request's notes, never made twice.  The head comes from the base repository's
# refs/merge-requests/N/head, as GitLab serves it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"
command -v jq >/dev/null || skip_all "jq is not installed (scripts/install-deps.sh installs it)"

pr_init gitlab
deploy() { # BUILD
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: $1
  - name: test
    depends_on: [build]
    run: echo test
Y
}
deploy "echo v1" >"$T/work/.scaffold/deploy.yaml"
pr_first_push
pr_start_stub --lose-creates 1
pr_start_serve "      plan_comments: true"
ok wait_for 30 pr_base_ran 2 \
	"the base branch is applied and its 2 tasks ran"
RUNS0=$(runs)

notes() { pr_comment_log '/api/v4/projects/acme%2Finfra/merge_requests/'; }
note_req() { # METHOD PATH STATUS BODY
	printf '{"body":{"body":"%s"},"headers":{"accept":"application/json","content-type":"application/json","private-token":"%s","user-agent":"scaffold/V"},"method":"%s","path":"/api/v4/projects/acme%%2Finfra/merge_requests/4/%s","status":%s}\n' \
		"$4" "$TOKEN" "$1" "$2" "$3"
}

w checkout -q -b toolchain
deploy "echo v2" >"$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 4)
pr_payload open 4 "$HEAD1" >"$T/pr1.json"
pr_post "$T/pr1.json" 0a3b5c7d-mr-0001
is "$CODE $BODY" '202 {"accepted":true,"delivery":"0a3b5c7d-mr-0001","pull_request":4,"repos":["infra"]}' \
	"gitlab: a Merge Request Hook (open) with the right token is accepted"
ok wait_for 30 grep -q "the comment of pull request #4 is up to date" "$T/serve.log" \
	"its plan status and note are posted"
is "$(pr_plans)" "$(pr_status "$HEAD1" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"gitlab: scaffold/plan on the head, PRIVATE-TOKEN, the link to /p/infra/SHA"
is "$(notes | jq -c '[.method, .path, .query, .status]')" '["POST","/api/v4/projects/acme%2Finfra/merge_requests/4/notes",null,502]
["GET","/api/v4/projects/acme%2Finfra/merge_requests/4/notes",{"order_by":"created_at","page":"1","per_page":"100","sort":"asc"},200]
["PUT","/api/v4/projects/acme%2Finfra/merge_requests/4/notes/1000",null,200]' \
	"gitlab: the note's creation answered 502, the note found among the merge request's notes by its marker and updated"
is "$(notes | sed -n 3p)" "$(note_req PUT notes/1000 200 "$(pr_table_body "$HEAD1" "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged" '| deploy | changed | 2: build, test |  |\n')")" \
	"gitlab: the note: the table and the link"
is "$(curl -s "$H/p/infra/$HEAD1" | grep -c '<li class="changed"><span class="act act-changed">changed</span> build <span class="muted">changed: run</span></li>')" 1 \
	"the plan page names the changed task"

pr_post "$T/pr1.json" 0a3b5c7d-mr-0001
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"0a3b5c7d-mr-0001"}' "gitlab: the same delivery again is a duplicate"

n=$(pr_nplans)
deploy "echo v3" >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 4)
pr_payload update 4 "$HEAD2" >"$T/pr2.json"
pr_post "$T/pr2.json" 0a3b5c7d-mr-0002
is "$CODE" 202 "gitlab: update (a new head) is accepted"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #4 is up to date' '$T/serve.log') -eq 2 ]" \
	"a status and the note for the new head are posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"on the new head"
is "$(notes | tail -n +4)" "$(note_req PUT notes/1000 200 "$(pr_table_body "$HEAD2" "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged" '| deploy | changed | 2: build, test |  |\n')")" \
	"gitlab: the same note is updated in place: PUT .../notes/ID"

pr_payload merge 4 "$HEAD2" >"$T/pr3.json"
pr_post "$T/pr3.json" 0a3b5c7d-mr-0003
is "$CODE $BODY" '202 {"closed":"merged","delivery":"0a3b5c7d-mr-0003","pull_request":4,"repos":["infra"]}' \
	"gitlab: merge clears the preview"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #4 is up to date' '$T/serve.log') -eq 3 ]" \
	"the note is updated once more"
is "$(notes | tail -n +5)" "$(note_req PUT notes/1000 200 "$(printf '<!-- scaffold-plan M -->\\n**scaffold plan** of repo infra at %.12s ([the plan](https://scaffold.example.com/p/infra/%s)): the pull request is merged; its plan preview is cleared, nothing of it is planned any more\\n' "$HEAD2" "$HEAD2")")" \
	"gitlab: the note says the merge request is merged"
is "$(grep -c '"method":"POST","path":"/api/v4/projects/acme%2Finfra/merge_requests/4/notes"' "$STUB_LOG")" 1 \
	"and there is one note, never a second"
pr_payload close 5 "$HEAD2" >"$T/pr5.json"
pr_post "$T/pr5.json" 0a3b5c7d-mr-0005
is "$CODE $BODY" '202 {"closed":"closed","delivery":"0a3b5c7d-mr-0005","pull_request":5,"repos":["infra"]}' \
	"gitlab: closing a merge request never planned is answered, and clears nothing"
is "$(pr_nplans)" "$((n + 1))" "closing posts no status"
is "$(runs)" "$RUNS0" "nothing of the merge request ran"
done_testing
