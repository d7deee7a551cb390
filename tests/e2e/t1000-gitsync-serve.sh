#!/bin/sh
# scaffold serve against real git repositories: pushes are reconciled,
# edits re-run exactly what they affect, invalid pushes reset nothing,
# force pushes and deleted branches are handled, one broken repository
# does not stop another.
. "$(dirname "$0")/lib.sh"
D="$T/data"

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/deploy.yaml" <<'Y'
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: echo building
  - name: test
    run: echo testing
    depends_on: [build]
  - name: release
    run: echo releasing
    depends_on: [test]
  - name: docs
    run: echo docs
Y
cd "$T/work" && tgit add -A && tgit commit -q -m "first deploy" && tgit push -q origin main 2>/dev/null
first=$(tgit rev-parse HEAD)

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 1s
fetch_timeout: 5s
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
  - name: broken
    url: git://127.0.0.1:1/nothing.git
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
trap 'kill_ours $spid 2>/dev/null; rm -rf "$T"' EXIT

runs_of() { # TASK -> its run count
	"$SCAFFOLD" status -d "$D" -o json deploy | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"name\":\"$1\"" | sed 's/.*"runs":\([0-9]*\).*/\1/'
}
all_success() {
	"$SCAFFOLD" status -d "$D" deploy 2>/dev/null | awk 'NR > 2 && $2 != "success" {bad=1} END {exit bad}' &&
		"$SCAFFOLD" status -d "$D" deploy 2>/dev/null | grep -q release
}
applied_is() {
	"$SCAFFOLD" repos -d "$D" -o json | tr -d ' \n' | grep -q "\"name\":\"infra\"[^}]*\"applied\":\"$1\""
}

ok wait_for 20 all_success "a push is reconciled and its tasks run"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:1:1:1" "each task ran once"
run "$SCAFFOLD" status -d "$D" -o json
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/"tasks".*//')" "{\"cascades\":[{\"name\":\"deploy\",\"repo\":\"infra\",\"revision\":\"$first\",\"state\":\"success\"," "status carries the repo, the applied commit and the verdict"

# an edit to one task: exactly it and its descendants run again
sed -i 's/echo testing/echo testing more/' .scaffold/deploy.yaml
tgit commit -q -am "test more" && tgit push -q origin main 2>/dev/null
second=$(tgit rev-parse HEAD)
ok wait_for 20 sh -c "[ \"\$($(command -v "$SCAFFOLD") status -d '$D' -o json deploy | grep -c '\"runs\": 2')\" = 2 ]" "the edit is reconciled"
ok wait_for 10 all_success "and everything succeeds again"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:2:2:1" "only test and release ran again"

# a commit that touches no cascade runs nothing
echo "readme" >README && tgit add README && tgit commit -q -m "docs only" && tgit push -q origin main 2>/dev/null
third=$(tgit rev-parse HEAD)
ok wait_for 20 applied_is "$third" "the commit is seen"
sleep 1.5
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:2:2:1" "nothing ran for it"
run "$SCAFFOLD" repos -d "$D" -o json
is "$(printf '%s\n' "$OUT" | grep -A6 "\"commit\": \"$third\"" | grep '"result"' | tr -d ' ,')" '"result":"nocascadechange"' "the revision is recorded as no cascade change"

# an invalid cascade: recorded with its error, nothing resets
sed -i 's/depends_on: \[test\]/depends_on: [tset]/' .scaffold/deploy.yaml
tgit commit -q -am "typo" && tgit push -q origin main 2>/dev/null
bad=$(tgit rev-parse HEAD)
ok wait_for 20 applied_is "$bad" "the invalid revision is seen"
run "$SCAFFOLD" repos -d "$D" -o json
is "$(printf '%s\n' "$OUT" | grep -A7 "\"commit\": \"$bad\"" | grep -E '"result"|"errors"' | sed 's/^ *//')" '"result": "invalid",
"errors": ".scaffold/deploy.yaml:12:18: error: task '"'release'"' depends on unknown task '"'tset'"'; did you mean '"'test'"'?\n"' "it is recorded invalid with file:line:col"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:2:2:1" "nothing reset or ran"
run "$SCAFFOLD" status -d "$D" -o json deploy
is "$(printf '%s\n' "$OUT" | grep '"revision"' | tr -d ' ,')" "\"revision\":\"$second\"" "the last good definition stays active"
ok grep -q "depends on unknown task 'tset'" "$T/serve.log" "the daemon logs the error"

# force push back to the first commit: reconciled to it
tgit reset -q --hard "$first" && tgit push -q -f origin main 2>/dev/null
ok wait_for 20 applied_is "$first" "the force push is seen"
ok wait_for 10 sh -c "[ \"\$($(command -v "$SCAFFOLD") status -d '$D' -o json deploy | grep -c '\"runs\": 3')\" = 2 ]" "the older definition is reconciled"
ok wait_for 10 all_success "and succeeds"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:3:3:1" "test (changed back) and release ran again"

# a cascade file added, then removed: the cascade is deactivated
printf 'version: v1\nname: extra\nrunner: local\ntasks: [{name: once, run: "true"}]\n' >.scaffold/extra.yaml
tgit add .scaffold/extra.yaml && tgit commit -q -m "add extra" && tgit push -q origin main 2>/dev/null
extra_ok() { "$SCAFFOLD" status -d "$D" extra 2>/dev/null | grep -q 'once  *success'; }
ok wait_for 20 extra_ok "a new cascade file is reconciled and runs"
tgit rm -q .scaffold/extra.yaml && tgit commit -q -m "drop extra" && tgit push -q origin main 2>/dev/null
dropped=$(tgit rev-parse HEAD)
ok wait_for 20 applied_is "$dropped" "its removal is seen"
run "$SCAFFOLD" status -d "$D" extra
is "$RC:$ERR" "1:scaffold status: cascade 'extra' is no longer active (its file was removed)" "a removed cascade file deactivates the cascade"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:3:3:1" "and touches no other cascade"

# the unreachable repository: a clear error, and infra kept syncing
run "$SCAFFOLD" repos -d "$D" -o json
is "$(printf '%s\n' "$OUT" | tr -d '\n' | sed 's/.*"name": "broken"//' | grep -o '"last_error": "[^"]*"' | head -1)" '"last_error": "repo '"'broken'"': cannot fetch '"'git://127.0.0.1:1/nothing.git'"': failed to connect to 127.0.0.1: Connection refused"' "an unreachable remote is an error on that repo only"

# delete the branch: reported, state kept
tgit --git-dir="$T/infra.git" update-ref -d refs/heads/main
ok wait_for 20 sh -c "$(command -v "$SCAFFOLD") repos -d '$D' | grep -q \"branch 'main' is missing\"" "a deleted branch is reported"
is "$(runs_of build):$(runs_of test):$(runs_of release):$(runs_of docs)" "1:3:3:1" "and the state is kept"

# a clean stop
kill -TERM $spid
wait $spid
is "$?" 0 "SIGTERM stops the daemon cleanly"
ok grep -q "serve: stopped" "$T/serve.log" "and it says so"
done_testing
