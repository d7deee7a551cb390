#!/bin/sh
# A pull request's plan counts input values as they are now (issue 20,
# item 3): an operator set REGION after the apply (its tasks re-ran with
# it); a pull request that changes only the input's default changes no
# task whose value is set, and one that maps the input into another task
# changes that task alone.  The preview says what the merge then re-runs,
# exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pr.sh"

pr_init github
cascade() { # DEFAULT [MAP_INTO_LINT]
	cat <<Y
version: v1
name: deploy
runner: local
inputs:
  - {name: REGION, default: $1}
tasks:
  - name: build
    run: echo "build in \$REGION"
    inputs: {REGION: REGION}
  - name: ship
    depends_on: [build]
    run: echo ship
  - name: lint
    run: echo lint
${2:+    inputs: {REGION: REGION\}}
Y
}
cascade eu >"$T/work/.scaffold/deploy.yaml"
pr_first_push
pr_start_stub
pr_start_serve
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' '$T/serve.log') -eq 3 ]" \
	"the base branch is applied and its 3 tasks ran"
export SCAFFOLD_TOKEN=$("$SCAFFOLD" token create ops --role operator -d "$T/data" 2>/dev/null)
run "$SCAFFOLD" input set --server "$H" deploy REGION us
is "$RC:$ERR" "0:cascade 'deploy': 0 new, 1 changed, 0 removed; 1 downstream reset" \
	"the operator sets REGION: build and its downstream reset"
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' '$T/serve.log') -eq 5 ]" \
	"they re-ran with the value"
RUNS0=$(runs)

# 1. the input's default changes, its value is set: nothing to re-run
w checkout -q -b pr31
cascade us-west >"$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 31)
pr_payload opened 31 "$HEAD1" main >"$T/pr31.json"
pr_post "$T/pr31.json" inputs-31
ok wait_for 30 grep -q '"scaffold/plan"' "$STUB_LOG" "the plan's status is posted"
is "$(pr_plans)" "$(pr_status "$HEAD1" success "1 cascade: 0 changed, 0 tasks to re-run, 3 unchanged")" \
	"a new default of an input whose value is set changes no task"

# 2. the input mapped into lint too: lint alone
n=$(pr_nplans)
w checkout -q main && w checkout -q -b pr32
cascade eu yes >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 32)
pr_payload opened 32 "$HEAD2" main >"$T/pr32.json"
pr_post "$T/pr32.json" inputs-32
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$STUB_LOG') -ge $((n + 1)) ]" "its status is posted"
is "$(pr_plans | tail -n +$((n + 1)))" "$(pr_status "$HEAD2" success "1 cascade: 1 changed, 1 task to re-run, 2 unchanged")" \
	"mapping the input into lint re-runs lint alone"
is "$(runs)" "$RUNS0" "nothing ran for the pull requests"

# 3. the merge of the first re-runs what its preview said: nothing
tgit -C "$BASE_GIT" update-ref refs/heads/main "$HEAD1"
sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$BASE_SHA|g" -e "s|@AFTER@|$HEAD1|g" \
	-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
	"$FIX/github-push.json" >"$T/merge.json"
pr_post "$T/merge.json" merge-31 push
is "$CODE" 202 "the merge's push is accepted"
ok wait_for 30 grep -q "reconcile: repo 'infra' at $(echo "$HEAD1" | cut -c1-12): " "$T/serve.log" "the merge is applied"
is "$(grep "reconcile: repo 'infra' at $(echo "$HEAD1" | cut -c1-12): " "$T/serve.log" | sed 's/^.* info: //')" \
	"reconcile: repo 'infra' at $(echo "$HEAD1" | cut -c1-12): 1 other cascade unchanged" \
	"and resets nothing, as previewed (the cascade counts among the unchanged)"
is "$(runs)" "$RUNS0" "nothing re-ran"
done_testing
