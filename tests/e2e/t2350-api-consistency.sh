#!/bin/sh
# The API tells the truth, and docs/api.md tells all of it (issue 17,
# item 6): a revision's time is in ms like every other time; a task that
# ran two attempts says 2; a task with auto_execute: false is manual; the
# keys of every answer are the fields docs/api.md lists.  scaffold logs of
# a run that never started says why and exits 1.  With scaffold serve on
# the data dir, run -d and input set -d work (the daemon runs them).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
perl -MJSON::PP -e 1 2>/dev/null || skip_all "perl's JSON::PP is missing"

spid=
cleanup() {
	[ -n "$spid" ] && kill_ours "$spid"
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
D="$T/data"

# flaky fails its first attempt (run 1) and passes its retry (run 2)
cat >"$T/gate.yaml" <<Y
version: v1
name: gate
runner: local
inputs:
  - name: greeting
    type: text
    default: hello
tasks:
  - name: flaky
    retries: 1
    run: '[ "\$SCAFFOLD_ATTEMPT" -ge 2 ]'
  - name: greet
    depends_on: [flaky]
    inputs: {GREETING: greeting}
    run: echo "greet \$GREETING"
  - name: approve
    auto_execute: false
    depends_on: [flaky]
    run: echo approved
Y
# show loads a file nobody stores and the file store lacks: run 4 fails
# before its script starts
cat >"$T/warn.yaml" <<'Y'
version: v1
name: warn
runner: local
tasks:
  - name: show
    load:
      file: [conf.txt]
    run: cat conf.txt
Y
"$SCAFFOLD" apply -q -d "$D" "$T/gate.yaml" >/dev/null 2>&1
"$SCAFFOLD" apply -q -d "$D" "$T/warn.yaml" >/dev/null 2>&1
states() { # CASCADE: "task:state:runs ..." from scaffold status
	"$SCAFFOLD" status -d "$D" "$1" | awk 'NR > 2 { printf "%s:%s:%s ", $1, $2, $3 }'
}
is "$(states gate)" "flaky:success:2 greet:success:1 approve:not_started:0 " \
	"flaky passed on its second attempt; approve waits for a hand"

# 1. logs of a run that never started, on the data dir
run "$SCAFFOLD" logs -d "$D" warn show
is "$RC:$OUT" "1:" "logs of a run that never started: exit 1, no log"
is "$ERR" "scaffold logs: run 4 never started: load file 'conf.txt': no task it depends on has stored it, and the cascade's file store does not have it" \
	"and the reason on stderr"

# a repository, for revisions and plans: two commits
tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
printf 'version: v1\nname: hi\nrunner: local\ntasks:\n  - name: say\n    run: echo one\n' \
	>"$T/r/.scaffold/hi.yaml"
(cd "$T/r" && tgit add -A && tgit commit -q -m one &&
	tgit push -q origin main 2>/dev/null)
c1=$(cd "$T/r" && tgit rev-parse HEAD)
sed -i 's/echo one/echo two/' "$T/r/.scaffold/hi.yaml"
(cd "$T/r" && GIT_COMMITTER_DATE="2026-01-02T03:04:05Z" tgit commit -q -am two &&
	tgit push -q origin main 2>/dev/null)
c2=$(cd "$T/r" && tgit rev-parse HEAD)
cat >"$T/scaffold.yaml" <<Y
data_dir: $D
listen: 127.0.0.1:0
poll_interval: 200ms
local: {user: nobody}
repos:
  - name: r
    url: $T/r.git
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
TOKEN=$("$SCAFFOLD" token create admin --role admin -d "$D" 2>/dev/null | tail -1)
get() { curl -s -H "Authorization: Bearer $TOKEN" "$H$1"; }
send() { # METHOD PATH [BODY]
	curl -s -X "$1" -H "Authorization: Bearer $TOKEN" \
		-H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$H$2"
}
# json PATH: the value at PATH (keys and indexes joined by '.') of stdin
json() {
	perl -MJSON::PP -e 'local $/; my $v = JSON::PP->new->allow_nonref->decode(<STDIN>);
		for (split /\./, $ARGV[0]) { $v = ref $v eq "ARRAY" ? $v->[$_] : $v->{$_} }
		print JSON::PP->new->allow_nonref->canonical->encode($v)' "$1"
}
applied() { get /api/v1/repos | json repos.0.applied | grep -q "$c2"; }
ok wait_for 30 applied "the daemon applies the repository's head"
said() { "$SCAFFOLD" status -d "$D" r/hi | grep -q '^  say  *success  *1  *5$'; }
ok wait_for 30 said "and runs its task (run 5)"

# 2. the values
get /api/v1/cascades/-/gate >"$T/gate.json"
is "$(json tasks.0.attempts <"$T/gate.json")" 2 "attempts: 2 for a task that passed on its second attempt"
is "$(json tasks.1.attempts <"$T/gate.json")" 1 "attempts: 1 for a first try"
is "$(json tasks.2.attempts <"$T/gate.json")" 0 "attempts: 0 for a task that never ran"
is "$(json tasks.2.manual <"$T/gate.json")" true "manual: true for auto_execute: false"
is "$(json tasks.0.manual <"$T/gate.json")" false "manual: false for a task that runs by itself"
is "$(get /api/v1/runs/2 | json attempt)" 2 "the run of the retry says attempt 2"
t2=$(cd "$T/r" && tgit log -1 --format=%ct "$c2")
is "$(get /api/v1/repos | json repos.0.revisions.0.time)" "${t2}000" \
	"revisions[].time is the commit time in ms"
is "$(get /api/v1/repos | json repos.0.revisions.0.time)" 1767323045000 \
	"(2026-01-02T03:04:05Z)"
# the files a cascade's tasks load from its file store that it lacks: the
# API lists them as the status page does, live
is "$(get /api/v1/cascades/-/warn | json missing_files)" '[{"file":"conf.txt","task":"show"}]' \
	"missing_files: the file show loads and the file store lacks"
is "$(get /api/v1/cascades/-/gate | json missing_files)" '[]' "none for a cascade that lacks nothing"
is "$(curl -s "$H/c/-/warn" | grep -c "<li>task 'show' loads file 'conf.txt' but no task it depends on stores it")" 1 \
	"the status page's note says the same"
now=$(get /api/v1/cascades/-/gate | json updated_at)
is "$(printf '%s' "$now" | wc -c | tr -d ' ')" 13 "and updated_at is ms too"

# 3. logs of the never-started run, through the API
export SCAFFOLD_TOKEN="$TOKEN"
run "$SCAFFOLD" logs --server "$H" warn show
is "$RC:$OUT:$ERR" "1::scaffold logs: run 4 never started: load file 'conf.txt': no task it depends on has stored it, and the cascade's file store does not have it" \
	"logs --server of a run that never started: the reason, exit 1"
run "$SCAFFOLD" logs -d "$D" warn show
is "$RC:$ERR" "1:scaffold logs: run 4 never started: load file 'conf.txt': no task it depends on has stored it, and the cascade's file store does not have it" \
	"logs -d, while the daemon runs: the same"

# 4. run -d and input set -d while scaffold serve holds the data dir
run "$SCAFFOLD" run -q -d "$D" gate approve
is "$RC:$ERR" "0:" "run -d while the daemon runs: accepted, exit 0"
is "$OUT" "cascade 'gate' at $(json revision <"$T/gate.json" | tr -d '"')
  TASK                     STATE         RUNS  LAST RUN
  flaky                    success          2  2
  greet                    success          1  3
  approve                  success          1  6" \
	"it waits for the daemon to run the task and prints the states"
is "$(grep -c 'run 6 gate/approve: success' "$T/serve.log")" 1 "the daemon ran it"
run "$SCAFFOLD" logs -d "$D" gate approve
is "$RC:$(printf '%s\n' "$OUT" | sed -n 2p)" "0:approved" "its log"
run "$SCAFFOLD" input set -d "$D" gate greeting bonjour
is "$RC:$ERR" "0:cascade 'gate': 0 new, 1 changed, 0 removed; 0 downstream reset" \
	"input set -d while the daemon runs: stored, exit 0"
greeted() { "$SCAFFOLD" logs -d "$D" gate greet | grep -q '^greet bonjour$'; }
ok wait_for 30 greeted "the daemon re-runs the task that uses it, with the new value"
ok wait_for 10 sh -c "'$SCAFFOLD' status -d '$D' gate | grep -q '^  greet  *success  *2 '" \
	"greet ran twice"
is "$(get /api/v1/cascades/-/gate/inputs/greeting | json value)" '"bonjour"' \
	"the API sees the value"

# 5. every field of every answer is in docs/api.md, and nothing more
F="$SRC/tests/e2e/api-fields.pl"
DOC="$SRC/docs/api.md"
fields() { # SECTION [PATH]: stdin's keys against the doc
	perl "$F" "$DOC" "$@"
}
is "$(get /api/v1/cascades/-/gate | fields CASCADE)" ok "CASCADE: the documented fields"
is "$(get /api/v1/cascades/-/gate | fields TASK tasks.0)" ok "TASK"
is "$(get /api/v1/cascades | fields CASCADE cascades.0)" ok "the cascades list"
is "$(get /api/v1/cascades/-/warn | fields MISSING missing_files.0)" ok "MISSING"
is "$(get /api/v1/runs/6 | fields RUN)" ok "RUN, ended"
is "$(get /api/v1/runs/4 | fields RUN)" ok "RUN, never started"
is "$(get /api/v1/cascades/-/gate/inputs/greeting | fields INPUT)" ok "INPUT"
is "$(get /api/v1/cascades/-/gate/inputs | fields INPUT inputs.0)" ok "the inputs list"
is "$(send PUT /api/v1/cascades/-/gate/inputs/greeting '{"value":"bonjour"}' | fields INPUT)" ok \
	"INPUT, as PUT answers it"
printf 'conf\n' >"$T/conf.txt"
is "$(curl -s -X PUT -H "Authorization: Bearer $TOKEN" --data-binary @"$T/conf.txt" "$H/api/v1/cascades/-/warn/files/conf.txt" | fields FILE)" ok "FILE, as PUT answers it"
is "$(get /api/v1/cascades/-/warn | json missing_files)" '[]' "once uploaded, the file is no longer missing"
is "$(curl -s "$H/c/-/warn" | grep -c 'id="missing-files"')" 0 "nor on the page"
is "$(get /api/v1/cascades/-/warn/files | fields FILE files.0)" ok "the files list"
is "$(get /api/v1/repos | fields REPO repos.0)" ok "REPO"
is "$(get /api/v1/repos | fields REVISION repos.0.revisions.0)" ok "REVISION"
is "$(get "/api/v1/cascades/r/hi/plan?from=$c1&to=$c2" | fields PLAN)" ok "PLAN"
is "$(get /api/v1/tokens | fields TOKEN tokens.0)" ok "TOKEN"
is "$(curl -s "$H/healthz" | fields "Other answers/GET /healthz")" ok "healthz"
is "$(send POST /api/v1/cascades/-/gate/tasks/approve/run | fields "Other answers/POST …/tasks/{task}/run")" ok \
	"the answer of a run"
is "$(send POST /api/v1/repos/r/sync | fields "Other answers/POST /api/v1/repos/{repo}/sync")" ok \
	"the answer of a sync"
is "$(send POST /api/v1/tokens '{"name":"v","role":"viewer"}' | fields "Other answers/POST /api/v1/tokens")" ok \
	"the answer of a new token"
is "$(send DELETE /api/v1/tokens/v | fields "Other answers/DELETE /api/v1/tokens/{name}")" ok \
	"the answer of a revoked token"
is "$(send DELETE /api/v1/cascades/-/warn/files/conf.txt | fields "Other answers/DELETE …/files/{name}")" ok \
	"the answer of a deleted file"
is "$(get /api/v1/cascades/-/warn | json missing_files)" '[{"file":"conf.txt","task":"show"}]' \
	"deleted, it is missing again"
is "$(get /api/v1/runs/999 | fields "Other answers/every error")" ok "an error"
is "$(printf '{"name":"x","extra":1}' | fields TOKEN)" "undocumented: extra
missing: created_at
missing: last_used_at
missing: role" "the comparison catches a field the doc lacks, and one the answer lacks"

kill -TERM "$spid"
wait "$spid"
is "$?" 0 "serve stops cleanly"
spid=
done_testing
