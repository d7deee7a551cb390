#!/bin/sh
# Plan previews on Gitea (and Forgejo) pull requests: a signed
# pull_request delivery shaped like Gitea's (tests/cases/webhooks/) gets
# the status scaffold/plan on its head through Gitea's status API, with
# the exact description and link, and (forge.plan_comments) one comment
# with the per-cascade table; a new head ("synchronized", Gitea's word)
# gets its own status and the same comment updated in place (PATCH); a
# closed pull request's preview is cleared and its comment says so;
# nothing runs.  The head comes from the base repository's
# refs/pull/N/head, as Gitea serves it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"

pr_init gitea
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
pr_start_stub
pr_start_serve "      plan_comments: true"
ok wait_for 30 pr_base_ran 2 \
	"the base branch is applied and its 2 tasks ran"
RUNS0=$(runs)

comments() { pr_comment_log '/api/v1/repos/acme/infra/issues/'; }
comment_req() { # METHOD PATH STATUS BODY
	printf '{"body":{"body":"%s"},"headers":{"accept":"application/json","authorization":"token %s","content-type":"application/json","user-agent":"scaffold/V"},"method":"%s","path":"/api/v1/repos/acme/infra/issues/%s","status":%s}\n' \
		"$4" "$TOKEN" "$1" "$2" "$3"
}

w checkout -q -b toolchain
deploy "echo v2" >"$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 4)
pr_payload opened 4 "$HEAD1" >"$T/pr1.json"
pr_post "$T/pr1.json" 6b1c2d3e-0001
is "$CODE $BODY" '202 {"accepted":true,"delivery":"6b1c2d3e-0001","pull_request":4,"repos":["infra"]}' \
	"gitea: a signed pull_request (opened) is accepted"
ok wait_for 30 grep -q "the comment of pull request #4 is up to date" "$T/serve.log" \
	"its plan status and comment are posted"
is "$(pr_plans)" "$(pr_status "$HEAD1" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"gitea: scaffold/plan on the head, 'token' authorization, the link to /p/infra/SHA"
is "$(comments)" "$(comment_req POST 4/comments 201 "$(pr_table_body "$HEAD1" "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged" '| deploy | changed | 2: build, test |  |\n')")" \
	"gitea: one comment, created with POST .../issues/4/comments, the table and the link"
is "$(curl -s "$H/p/infra/$HEAD1" | grep -c '<li class="changed"><span class="act act-changed">changed</span> build <span class="muted">changed: run</span></li>')" 1 \
	"the plan page names the changed task"

pr_post "$T/pr1.json" 6b1c2d3e-0001
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"6b1c2d3e-0001"}' "gitea: the same delivery again is a duplicate"

n=$(pr_nplans)
deploy "echo v3 # |@all <b>" >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 4)
pr_payload synchronized 4 "$HEAD2" >"$T/pr2.json"
pr_post "$T/pr2.json" 6b1c2d3e-0002
is "$CODE" 202 "gitea: synchronized (a new head) is accepted"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #4 is up to date' '$T/serve.log') -eq 2 ]" \
	"a status and the comment for the new head are posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"on the new head"
is "$(comments | tail -n +2)" "$(comment_req PATCH comments/1000 200 "$(pr_table_body "$HEAD2" "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged" '| deploy | changed | 2: build, test |  |\n')")" \
	"gitea: the same comment is updated in place: PATCH .../issues/comments/ID"

pr_payload closed 4 "$HEAD2" >"$T/pr3.json"
pr_post "$T/pr3.json" 6b1c2d3e-0003
is "$CODE $BODY" '202 {"closed":"closed","delivery":"6b1c2d3e-0003","pull_request":4,"repos":["infra"]}' \
	"gitea: closed clears the preview"
ok wait_for 30 sh -c "[ \$(grep -c 'the comment of pull request #4 is up to date' '$T/serve.log') -eq 3 ]" \
	"the comment is updated once more"
is "$(comments | tail -n +3)" "$(comment_req PATCH comments/1000 200 "$(printf '<!-- scaffold-plan M -->\\n**scaffold plan** of repo infra at %.12s ([the plan](https://scaffold.example.com/p/infra/%s)): the pull request is closed; its plan preview is cleared, nothing of it is planned any more\\n' "$HEAD2" "$HEAD2")")" \
	"gitea: the comment says the pull request is closed"
is "$(grep -c '"POST","path":"/api/v1/repos/acme/infra/issues/4/comments"' "$STUB_LOG")" 1 \
	"and there is one comment, never a second"
is "$(pr_nplans)" "$((n + 1))" "closing posts no status"
is "$(runs)" "$RUNS0" "nothing of the pull request ran"
done_testing
