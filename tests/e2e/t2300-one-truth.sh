#!/bin/sh
# One truth (DESIGN §3): for cascades in varied states (all success; a
# success whose error: handler is skipped; a failed task; one waiting on a
# manual gate; one running), every view gives the same verdict: the badge,
# the index row, the cascade page, `scaffold status`, the API, /metrics,
# the commit status (through the forge stub) and the exit codes of apply
# and run.  Any disagreement fails.
. "$(dirname "$0")/lib.sh"

STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub (make build/tests/forge-stub)"
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	[ -s "$T/gh.pid" ] && kill "$(cat "$T/gh.pid")" 2>/dev/null
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
trap cleanup EXIT
"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
echo $! >"$T/gh.pid"
wait_for 10 test -s "$T/gh.port" || { echo "Bail out! no stub"; exit 1; }
touch "$T/gh.log"

tgit init -q --bare -b main "$T/gh.git"
tgit clone -q "$T/gh.git" "$T/w" 2>/dev/null
mkdir -p "$T/w/.scaffold"
c() { # NAME: the cascade file from stdin
	{ printf 'version: v1\nname: %s\nrunner: local\ntasks:\n' "$1"; cat; } \
		>"$T/w/.scaffold/$1.yaml"
}
c allok <<Y
  - {name: a, run: "true"}
  - {name: b, run: "true", depends_on: [a]}
Y
c handled <<Y
  - {name: a, run: "true"}
  - {name: rollback, run: "true", depends_on: {error: [a]}}
  - {name: after, run: "true", depends_on: [rollback]}
  - {name: cleanup, run: "true", depends_on: {always: [a]}}
Y
c failed <<Y
  - {name: a, run: "exit 3"}
  - {name: b, run: "true", depends_on: [a]}
Y
c gated <<Y
  - {name: a, run: "true"}
  - {name: gate, run: "true", auto_execute: false, depends_on: [a]}
Y
c busy <<Y
  - {name: a, run: 'while [ ! -e "$G/go" ]; do sleep 0.05; done'}
Y
(cd "$T/w" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
SHA=$(tgit -C "$T/w" rev-parse HEAD)
D="$T/data"
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
public_url: https://scaffold.example.com/
public_status: full
poll_interval: 1h
local: {user: nobody}
repos:
  - name: gh
    url: $T/gh.git
    runners: [local]
    forge:
      kind: github
      api_url: http://127.0.0.1:$(cat "$T/gh.port")
      token_file: gh.token
      project: acme/gh
Y
echo ghp-token >"$T/gh.token"
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
get() { curl -s -H "Authorization: Bearer $VIEW" "$U$1"; }
api_state() { get "/api/v1/cascades/gh/$1" | jq -r .state; }

# settled (by the tasks' states, not by the verdict under test): no task
# but busy's waits or runs, and busy's runs
busy_tasks() { # NAME: how many of its tasks wait or run
	get "/api/v1/cascades/gh/$1" |
		jq '[.tasks[].state | select(. == "waiting" or . == "running")] | length'
}
settled() {
	for n in allok handled failed gated; do
		[ "$(busy_tasks $n)" = 0 ] || return 1
	done
	[ "$(busy_tasks busy)" = 1 ]
}
ok wait_for 20 settled "the cascades settle"

# The commit status a verdict means, and its label on the badge
status_of() {
	case $1 in
	success) echo success ;; error | killed) echo failure ;;
	*) echo pending ;;
	esac
}
label_of() { [ "$1" = not_started ] && echo "not started" || echo "$1"; }
last_status() { # NAME: the state of the newest status of its context
	grep "\"context\":\"scaffold/$1\"" "$T/gh.log" | tail -n 1 |
		jq -r .body.state
}
get / >"$T/index.html"
get /metrics >"$T/metrics"
"$SCAFFOLD" status -d "$D" -o json >"$T/status.json" 2>"$T/status.err" ||
	"$SCAFFOLD" status --server "$U" -o json >"$T/status.json"

# the verdict the rule (DESIGN §3) gives each
want() {
	case $1 in
	allok | handled) echo success ;; failed) echo error ;;
	gated) echo not_started ;; busy) echo running ;;
	esac
}
for n in allok handled failed gated busy; do
	v=$(want $n)
	want_st=$(status_of "$v")
	ok wait_for 5 sh -c "[ \"\$(grep '\"context\":\"scaffold/$n\"' '$T/gh.log' | tail -n 1 | jq -r .body.state)\" = $want_st ]" \
		"$n: the commit status is $want_st ($v)"
	badge=$(get "/badge/gh/$n.svg" |
		xmllint --xpath "string(//*[local-name()='title'])" -)
	page=$(get "/c/gh/$n" | sed -n 's|.*<h1 id="cascade">[^<]*<span class="st st-\([a-z_]*\)".*|\1|p')
	row=$(sed -n "s|.*>gh/$n</a></td><td><span class=\"st st-\([a-z_]*\)\".*|\1|p" "$T/index.html")
	cli=$(jq -r ".cascades[] | select(.name == \"$n\") | .state" "$T/status.json")
	met=$(sed -n "s|^scaffold_cascade_state{repo=\"gh\",cascade=\"$n\",state=\"\([a-z_]*\)\"} 1$|\1|p" "$T/metrics")
	api=$(api_state $n)
	is "api:$api badge:$badge page:$page index:$row status:$cli metrics:$met" \
		"api:$v badge:$n: $(label_of "$v") page:$v index:$v status:$v metrics:$v" \
		"$n: every view says $v"
done
is "$("$SCAFFOLD" status -d "$D" handled 2>/dev/null | awk 'NR > 2 {print $1 ":" $2}' | tr '\n' ' ')" \
	"a:success rollback:skipped after:skipped cleanup:success " \
	"the handler of a success, and what only it leads to, are skipped"
ok page_shot "$U/c/gh/handled" skipped 1280,1100 -H "Authorization: Bearer $VIEW" \
	"screenshot of a cascade with skipped tasks"
ok page_shot "$U/" index 1280,700 -H "Authorization: Bearer $VIEW" \
	"screenshot of the index: one verdict per cascade"

# apply and run exit 0 exactly when the verdict is success
L="$T/local"
for n in allok handled failed gated; do
	v=$(want $n)
	"$SCAFFOLD" apply -q -d "$L" "$T/w/.scaffold/$n.yaml" >/dev/null 2>&1
	a=$?
	"$SCAFFOLD" run -q -d "$L" $n a >/dev/null 2>&1
	r=$?
	want=1
	[ "$v" = success ] && want=0
	is "apply:$a run:$r" "apply:$want run:$want" "$n: apply and run exit as the verdict ($v)"
done

# the project's own example
"$SCAFFOLD" apply -q -d "$T/ex" "$SRC/examples/deploy-rollback.yaml" >/dev/null 2>&1
is "$?" 0 "examples/deploy-rollback.yaml: apply exits 0"
is "$("$SCAFFOLD" status -d "$T/ex" 2>/dev/null | awk '$1 == "rollback" {print $2}')" skipped \
	"its rollback is skipped"
touch "$G/go"
done_testing
