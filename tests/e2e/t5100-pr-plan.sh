#!/bin/sh
# Plan previews on pull requests (GitHub): a signed pull_request delivery
# (shaped like GitHub's documented example, tests/cases/webhooks/) whose
# base is the followed branch gets the commit status scaffold/plan on its
# head, with the exact description and a link to /p/REPO/SHA; that page
# lists the changed task and the reset set with reasons; the head comes
# from the base repository's refs/pull/N/head (the pull request is from a
# fork); nothing of it runs; an invalid file gets failure with its first
# error; a new head (synchronize) gets its own status; duplicates,
# other branches and other actions change nothing.  Served by git daemon,
# the forge is the recording stub.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"

pr_init github
FORK_GIT="$T/git/octo-dev/infra.git"
mkdir -p "$T/git/octo-dev"
# deploy: build -> test -> deploy, and lint on its own.  BUILD is build's
# script.
deploy() { # BUILD [DEPKEY]
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: $1
  - name: test
    ${2:-depends_on}: [build]
    run: echo "test ran"
  - name: deploy
    depends_on: [test]
    run: echo "deploy ran"
  - name: lint
    run: echo "lint ran"
Y
}
web() { # COMMENT
	cat <<Y
# $1
version: v1
name: web
runner: local
tasks:
  - name: assets
    run: echo "assets ran"
  - name: publish
    depends_on: [assets]
    run: echo "publish ran"
Y
}
deploy "echo v1" >"$T/work/.scaffold/deploy.yaml"
web "first" >"$T/work/.scaffold/web.yaml"
pr_first_push
pr_start_stub
pr_start_serve
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' '$T/serve.log') -eq 6 ]" \
	"the base branch is applied and its 6 tasks ran"
# the statuses of the applied revision are out before the PR's
ok wait_for 20 sh -c "[ \$(grep -c 'scaffold/web' '$STUB_LOG') -ge 2 ]" "the push statuses are posted"
RUNS0=$(runs)

# a fork's branch, served as the base repository serves it: its
# refs/pull/N/head
tgit init -q --bare -b main "$FORK_GIT"
pr_head() { # N: commit the work tree to the fork, publish refs/pull/N/head
	w add -A && w commit -qm "pr $1" && w push -q -f "$FORK_GIT" HEAD:toolchain
	tgit -C "$BASE_GIT" fetch -q -f "$FORK_GIT" "toolchain:refs/pull/$1/head"
	w rev-parse HEAD
}
w checkout -q -b toolchain
deploy 'echo PR-BUILD-RAN' >"$T/work/.scaffold/deploy.yaml"
web "only a comment changes" >"$T/work/.scaffold/web.yaml"
HEAD1=$(pr_head 7)

# 1. opened: planned, success with the counts
pr_payload opened 7 "$HEAD1" main >"$T/pr1.json"
pr_post "$T/pr1.json" pr-delivery-1
is "$CODE $BODY" '202 {"accepted":true,"delivery":"pr-delivery-1","pull_request":7,"repos":["infra"]}' \
	"a signed pull_request (opened) into the followed branch is accepted"
ok wait_for 30 sh -c "grep -q '\"scaffold/plan\"' '$STUB_LOG'" "its plan status is posted"
is "$(pr_plans)" "$(pr_status "$HEAD1" success "2 cascades: 1 changed, 3 tasks to re-run, 3 unchanged")" \
	"scaffold/plan on the head: success, the counts, the link to /p/infra/SHA"

curl -s "$H/p/infra/$HEAD1" >"$T/page1.html"
is "$(grep -c '<li class="changed">' "$T/page1.html") $(grep '<li class="changed">' "$T/page1.html")" \
	'1 <li class="changed"><span class="act act-changed">changed</span> build <span class="muted">changed: run</span></li>' \
	"the plan page names the changed task and the field"
is "$(grep '<li class="reset">' "$T/page1.html")" \
	"<li class=\"reset\"><span class=\"act act-reset\">reset</span> build <span class=\"muted\">changed: run</span></li>
<li class=\"reset\"><span class=\"act act-reset\">reset</span> deploy <span class=\"muted\">downstream of 'build' (changed)</span></li>
<li class=\"reset\"><span class=\"act act-reset\">reset</span> test <span class=\"muted\">downstream of 'build' (changed)</span></li>" \
	"and the reset set, each task with its reason"
is "$(grep -c '<p>0 tasks changed, 0 to re-run, 2 unchanged.</p>' "$T/page1.html")" 1 \
	"the cascade whose file changed only in a comment re-runs nothing"
is "$(sed -n 's|.*<p id="plan-summary">\(.*\)</p>|\1|p' "$T/page1.html")" \
	"2 cascades: 1 changed, 3 tasks to re-run, 3 unchanged" "the page says the status's summary"

# nothing of the pull request ran, nor was applied
is "$(runs)" "$RUNS0" "nothing ran for the pull request (no run started since)"
is "$("$SCAFFOLD" logs -d "$T/data" deploy build | sed -n 2p)" "v1" \
	"the build's last output is the base branch's: the pull request's script never ran"
is "$("$SCAFFOLD" repos -d "$T/data" -o json | grep -c "\"applied\": \"$BASE_SHA\"")" 1 \
	"the applied revision is still the base branch's"
ok tgit -C "$T/data/mirrors/infra.git" cat-file -e "$HEAD1^{commit}" "the head was fetched into the mirror"
is "$(tgit -C "$T/data/mirrors/infra.git" rev-parse refs/pull/7/head)" "$HEAD1" \
	"under the private ref refs/pull/7/head"
is "$(tgit -C "$T/data/mirrors/infra.git" rev-parse refs/heads/main)" "$BASE_SHA" \
	"the mirror's branch is untouched"

# 2. the same delivery again, and its body under a new id: duplicates
n=$(pr_nplans)
pr_post "$T/pr1.json" pr-delivery-1
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"pr-delivery-1"}' "the same delivery again is a duplicate"
pr_post "$T/pr1.json" pr-delivery-1-replayed
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"pr-delivery-1-replayed"}' \
	"its body under a fresh delivery id is a duplicate too"
pr_post "$T/pr1.json" pr-delivery-1-bad-sig
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST --data-binary "@$T/pr1.json" \
	-H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
	-H 'X-GitHub-Delivery: bad' -H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)" "$H/hooks/github")
is "$CODE $(cat "$T/.resp")" '401 {"error":"the X-Hub-Signature-256 header does not match the webhook secret of any repository"}' \
	"a pull_request with a wrong signature gets 401"

# 3. other branches, other actions: 202, ignored
pr_payload opened 8 "$HEAD1" develop >"$T/pr-dev.json"
pr_post "$T/pr-dev.json" pr-dev
is "$CODE $BODY" "202 {\"ignored\":\"a pull request into 'develop', which no repo follows (repo 'infra' follows 'main')\"}" \
	"a pull request into a branch no repo follows is ignored"
pr_payload labeled 7 "$HEAD1" main >"$T/pr-labeled.json"
pr_post "$T/pr-labeled.json" pr-labeled
is "$CODE $BODY" "202 {\"ignored\":\"pull request action 'labeled' brings no new head\"}" \
	"another action is answered and ignored"

# 4. synchronize: a new head with an invalid file gets failure with its
# first error, on that head
deploy 'echo v3' depend_on >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 7)
pr_payload synchronize 7 "$HEAD2" main >"$T/pr2.json"
pr_post "$T/pr2.json" pr-delivery-2
is "$CODE $BODY" '202 {"accepted":true,"delivery":"pr-delivery-2","pull_request":7,"repos":["infra"]}' \
	"synchronize with a new head is accepted"
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]" "a status for the new head is posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" failure ".scaffold/deploy.yaml:8:5: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?")" \
	"failure on the new head, with the first error's file:line:col"
curl -s "$H/p/infra/$HEAD2" >"$T/page2.html"
is "$(sed -n '/<pre class="errors">/,/<\/pre>/p' "$T/page2.html")" \
	"<pre class=\"errors\">.scaffold/deploy.yaml:8:5: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?
</pre>" "the plan page shows the error, escaped"
is "$(runs)" "$RUNS0" "still nothing ran"

# 5. reopened with a head whose error holds markup: the status says it as
# it is, the page escapes it
n=$(pr_nplans)
deploy 'echo v4' '"<b>x</b>"' >"$T/work/.scaffold/deploy.yaml"
HEAD3=$(pr_head 7)
pr_payload reopened 7 "$HEAD3" main >"$T/pr3.json"
pr_post "$T/pr3.json" pr-delivery-3
is "$CODE" 202 "reopened with a new head is accepted"
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]" "its status is posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD3" failure ".scaffold/deploy.yaml:8:5: task 'test': unknown key '<b>x</b>'")" \
	"failure with the error as the loader says it"
is "$(curl -s "$H/p/infra/$HEAD3" | grep -cxF "<pre class=\"errors\">.scaffold/deploy.yaml:8:5: task 'test': unknown key '&lt;b&gt;x&lt;/b&gt;'")" 1 \
	"the page escapes the markup in the error"

# 6. a new file whose cascade name another applied file holds: failure,
# as the push of that merge would refuse it
n=$(pr_nplans)
w checkout -q main && w checkout -q -b copy
web "a copy" >"$T/work/.scaffold/copy.yaml"
HEAD4=$(pr_head 11)
pr_payload opened 11 "$HEAD4" main >"$T/pr11.json"
pr_post "$T/pr11.json" pr-delivery-11
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]" "a second pull request gets its status"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD4" failure ".scaffold/copy.yaml:3:7: cascade name 'web' is also used by '.scaffold/web.yaml'")" \
	"a cascade name taken by another file: failure"

# 7. a pull request whose head the base repository does not serve: error,
# the reason on the page, nothing else
n=$(pr_nplans)
pr_payload opened 9 "$(printf 'f%.0s' $(seq 40))" main >"$T/pr9.json"
pr_post "$T/pr9.json" pr-delivery-9
is "$CODE" 202 "a pull request with no refs/pull/9/head is accepted"
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]" "its status is posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status ffffffffffffffffffffffffffffffffffffffff error "the head of pull request #9 cannot be read")" \
	"error: its head cannot be read"
is "$(curl -s "$H/p/infra/ffffffffffffffffffffffffffffffffffffffff" | sed -n 's|<p class="note bad" id="plan-error">\(.*\)</p>|\1|p')" \
	"repo 'infra' does not serve refs/pull/9/head" \
	"the page says why"
is "$(runs)" "$RUNS0" "and still nothing ran"

# 8. the page of a commit never planned, and a bad commit id
is "$(curl -s -o /dev/null -w '%{http_code}' "$H/p/infra/$BASE_SHA")" 404 "a commit no pull request asked about: 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "$H/p/infra/not-a-sha")" 404 "not a commit id: 404"
is "$(grep -c "$TOKEN" "$T/serve.log")" 0 "the forge token never reaches the log"
# 9. the merge of the first head re-runs exactly what its plan previewed
tgit -C "$BASE_GIT" update-ref refs/heads/main "$HEAD1"
sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$BASE_SHA|g" -e "s|@AFTER@|$HEAD1|g" \
	-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
	"$FIX/github-push.json" >"$T/merge.json"
pr_post "$T/merge.json" merge-1 push
is "$CODE" 202 "the merge's push is accepted"
ok wait_for 30 grep -q "scaffold/deploy success (1 changed, 3 re-ran, all succeeded)" "$T/serve.log" \
	"the merged commit's deploy status settles"
is "$(sed -n "/at $(echo "$HEAD1" | cut -c1-12): cascade 'deploy'/,\$p" "$T/serve.log" |
	sed -n 's/^.* info: run [0-9]* \([a-z]*\/[a-z]*\): success.*/\1/p' | sort | tr '\n' ' ')" \
	"deploy/build deploy/deploy deploy/test " \
	"the runs after the merge are the previewed reset set, no more"
is "$(grep -c "at $(echo "$HEAD1" | cut -c1-12): cascade 'web'" "$T/serve.log"):$(grep -c "at $(echo "$HEAD1" | cut -c1-12): 1 other cascade unchanged" "$T/serve.log")" 0:1 \
	"and the cascade the plan called unchanged resets nothing (the log counts it among the unchanged)"

# what each plan took, for the record
grep 'prplan: .* ms' "$T/serve.log" | sed 's/^/# /'
done_testing
