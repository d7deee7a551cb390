#!/bin/sh
# A fan-out that fails on one host names that host everywhere (issue 17,
# item 2), against two real OpenSSH servers: the task is error and the
# cascade too; the API, `scaffold status`, the cascade page, `scaffold
# logs` and the run list (API and `scaffold runs`) show each host's last
# run; the task's retry and a run by hand run again only the failed host.
# The task fails where a marker of its host ($SCAFFOLD_HOST) exists.  A
# third host nothing listens on: the run that cannot start there says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub (make build/tests/forge-stub)"
test_user
spid=
trap '[ -n "$spid" ] && kill_ours "$spid" && wait "$spid" 2>/dev/null
[ -s "$T/gh.pid" ] && kill_ours "$(cat "$T/gh.pid")"
sshd_stop_all; rm -rf "$T"' EXIT
# the forge the commit statuses go to
"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
echo $! >"$T/gh.pid"
wait_for 10 test -s "$T/gh.port" || { echo "Bail out! no forge stub"; exit 1; }
touch "$T/gh.log"
echo ghp-token >"$T/gh.token"
D="$T/data"
G="$T/markers"
mkdir -p "$G" && chmod 755 "$T" "$G"

# a port nothing listens on (bound, then closed)
GONE_PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
: >"$T/gone_known"
{
	echo "data_dir: data"
	echo "listen: 127.0.0.1:0"
	echo "poll_interval: 1h"
	echo "public_status: full"
	echo "public_url: https://scaffold.example.com/"
	echo "repos:"
	echo "  - name: r"
	echo "    url: $T/r.git"
	echo "    runners: [ssh]"
	echo "    forge:"
	echo "      kind: github"
	echo "      api_url: http://127.0.0.1:$(cat "$T/gh.port")"
	echo "      token_file: gh.token"
	echo "      project: acme/r"
	echo "hosts:"
	# a host nothing listens on: its runs never start
	cat <<Y
  gone:
    address: 127.0.0.1
    port: $GONE_PORT
    user: $TEST_USER
    key_file: $T/user_ed25519
    known_hosts_file: $T/gone_known
Y
	sshd_hosts web1 web2
} >"$T/scaffold.yaml"

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: ssh
tasks:
  - name: deploy
    hosts: [web1, web2]
    retries: 1
    run: |
      echo "deploying on \$SCAFFOLD_HOST"
      if [ -e "$G/broken-\$SCAFFOLD_HOST" ]; then
        echo "\$SCAFFOLD_HOST is broken"
        exit 3
      fi
  - name: smoke
    hosts: [web2]
    depends_on: [deploy]
    run: echo smoke
Y
touch "$G/broken-web1"
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
OPER=$("$SCAFFOLD" token create op --role operator -d "$D" 2>/dev/null)
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
get() { curl -s -H "Authorization: Bearer $VIEW" "$U$1"; }
SHA=$(tgit -C "$T/r" rev-parse HEAD)
REV=$(echo "$SHA" | cut -c1-12)
deploy_state() { get /api/v1/cascades/r/web | jq -r '.tasks[0].state'; }
settled() { # STATE: deploy is in it and nothing waits or runs
	[ "$(deploy_state)" = "$1" ] &&
		[ "$(get /api/v1/cascades/r/web | jq '[.tasks[].state | select(. == "waiting" or . == "running")] | length')" = 0 ]
}
ok wait_for 30 settled error "the fan-out ends in error (web1 failed twice)"

# the stored state and the verdict: error, though web2 succeeded
is "$(sqlite3 "$D/scaffold.db" "SELECT state FROM tasks WHERE name = 'deploy'")" error \
	"the stored state is error"
get /api/v1/cascades/r/web >"$T/api.json"
is "$(jq -r .state "$T/api.json")" error "the cascade's verdict is error"
is "$(jq -c '.tasks[0].hosts | map([.host, .id, .attempt, .state, .exit_code, .message])' "$T/api.json")" \
	'[["web1",3,2,"error",3,"exit code 3"],["web2",2,1,"success",0,""]]' \
	"API: each host's last run; web1 failed, web2 succeeded"
is "$(jq -c '.tasks[1] | [.name, .state, has("hosts")]' "$T/api.json")" '["smoke","skipped",false]' \
	"API: a task that never ran on a host has no hosts"

# scaffold status, from the daemon and from the data dir alike
export SCAFFOLD_TOKEN="$VIEW"
run "$SCAFFOLD" status --server "$U" web
is "$RC:$OUT" "0:cascade 'r/web' at $SHA
  TASK                     STATE         RUNS  LAST RUN
  deploy                   error            3  3
    host web1: run 3 error (exit 3)
    host web2: run 2 success
  smoke                    skipped          0  -" "status: a line per host names the failed one"
S1=$OUT
run "$SCAFFOLD" status -d "$D" web
is "$OUT" "$S1" "status: the data dir says the same"
run "$SCAFFOLD" status -d "$D" -o json web
is "$(echo "$OUT" | jq -c '.cascades[0] | [.state, (.tasks[0].hosts | map([.host, .id, .state, .exit_code]))]')" \
	'["error",[["web1",3,"error",3],["web2",2,"success",0]]]' "status -o json: the hosts too"

# the run list: newest first, a run per host and attempt; the retry ran
# web1 alone
get /api/v1/cascades/r/web/tasks/deploy/runs >"$T/runs.json"
is "$(jq -c '[.total, (.runs | map([.id, .host, .attempt, .state, .exit_code, .revision == "'"$SHA"'", (.duration_ms >= 0)]))]' "$T/runs.json")" \
	'[3,[[3,"web1",2,"error",3,true,true],[2,"web2",1,"success",0,true,true],[1,"web1",1,"error",3,true,true]]]' \
	"API runs: newest first; the retry (attempt 2) ran only web1"
is "$(get '/api/v1/cascades/r/web/tasks/deploy/runs?limit=2' | jq -c '[.total, [.runs[].id]]')" '[3,[3,2]]' \
	"API runs: ?limit bounds the list"
is "$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $VIEW" "$U/api/v1/cascades/r/web/tasks/deploy/runs?limit=0" | tr -d '\n')" \
	"{\"error\":\"query parameter limit takes a number from 1 to 1000, not '0'\"} 400" "API runs: a bad limit is refused"
is "$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $VIEW" "$U/api/v1/cascades/r/web/tasks/nope/runs" | tr -d '\n')" \
	"{\"error\":\"cascade 'web' has no task 'nope'\"} 404" "API runs: an unknown task is a 404"
run "$SCAFFOLD" runs --server "$U" web deploy
is "$RC:$(printf '%s\n' "$OUT" | awk '{print $1, $2, $3, $4, $5, $8}')" "0:RUN HOST ATTEMPT OUTCOME EXIT REVISION
3 web1 2 error 3 $REV
2 web2 1 success 0 $REV
1 web1 1 error 3 $REV" "scaffold runs: run, host, attempt, outcome, exit code, revision"
R1=$OUT
run "$SCAFFOLD" runs -d "$D" web deploy
is "$OUT" "$R1" "scaffold runs: the data dir says the same"
run "$SCAFFOLD" runs -d "$D" -o json web deploy
is "$(echo "$OUT" | jq -S -c .)" "$(jq -S -c . "$T/runs.json")" "scaffold runs -o json: the API's view"
run "$SCAFFOLD" runs --server "$U" --limit 1 web deploy
is "$(printf '%s\n' "$OUT" | awk 'NR == 2 {print $1, $2} NR == 3')" "3 web1
(the newest 1 of 3 runs; --limit N shows more)" "scaffold runs --limit 1: the newest, and a note of the rest"
run "$SCAFFOLD" runs -d "$D" --limit 0 web deploy
is "$RC:$(head -n 1 "$T/.err")" "2:scaffold runs: --limit takes a number from 1 to 1000, not '0'" \
	"scaffold runs: a bad --limit is refused"
run "$SCAFFOLD" runs -d "$D" web nope
is "$RC:$ERR" "1:scaffold runs: cascade 'web' has no task 'nope'" "scaffold runs: an unknown task"

# logs: the failed host first, each headed by its host
LOGS="==> web1 (run 3, error, exit 3) <==
scaffold: run 3 of web/deploy, attempt 2, runner ssh
deploying on web1
web1 is broken
scaffold: run 3 ended error: exit code 3 after DUR

==> web2 (run 2, success, exit 0) <==
scaffold: run 2 of web/deploy, attempt 1, runner ssh
deploying on web2
scaffold: run 2 ended success after DUR"
run "$SCAFFOLD" logs --server "$U" web deploy
is "$RC:$(printf '%s\n' "$OUT" | sed 's/after [0-9a-z]*$/after DUR/')" "0:$LOGS" \
	"logs: the failed host's log first, each headed by its host"
run "$SCAFFOLD" logs -d "$D" web deploy
is "$RC:$(printf '%s\n' "$OUT" | sed 's/after [0-9a-z]*$/after DUR/')" "0:$LOGS" \
	"logs: the same from the data dir"
run "$SCAFFOLD" logs --server "$U" --host web2 web deploy
is "$RC:$(printf '%s\n' "$OUT" | sed -n 2p)" "0:deploying on web2" "logs --host: that host's last run"
run "$SCAFFOLD" logs -d "$D" --host web9 web deploy
is "$RC:$ERR" "1:scaffold logs: task 'deploy' has not run on host 'web9' (it ran on web1, web2)" \
	"logs --host: a host it did not run on"
run "$SCAFFOLD" logs --server "$U" -f web deploy
is "$RC:$ERR" "2:scaffold logs: task 'deploy' runs on 2 hosts: --follow needs --host NAME (one of web1, web2)" \
	"logs -f of a fan-out asks which host"

# the page: the verdict and the table name the host
get /c/r/web >"$T/page.html"
xp() { xmllint --html --xpath "$2" "$1" 2>/dev/null; }
is "$(xp "$T/page.html" "normalize-space(//p[@id='verdict'])")" \
	"1 of 2 tasks failed: deploy (on web1: exit code 3)." "page: the verdict names the failed host"
rows=$(for i in 1 2 3; do
	for j in 1 3 6; do
		printf '%s|' "$(xp "$T/page.html" "normalize-space((//table[@id='tasks']/tbody/tr)[$i]/td[$j])")"
	done
	echo
done)
is "$rows" "deploy|2 hosts, 1 failed: web1||
↳ web1|#3 error exit 3|2 of 2|
↳ web2|#2 success|1 of 2|" "page: a row per host, its last run and attempt"
ok page_shot "$U/c/r/web" fanout 1280,1000 -H "Authorization: Bearer $VIEW" \
	"screenshot of a task on two hosts, one failed"

# the commit status names the host
last_status() { # CASCADE: the description of its newest commit status
	grep "\"context\":\"scaffold/$1\"" "$T/gh.log" | tail -n 1 | jq -r '.body.state + ": " + .body.description'
}
ok wait_for 10 sh -c "grep -q '\"context\":\"scaffold/web\".*failure' '$T/gh.log'" "a failure status is sent"
is "$(last_status web)" "failure: 1 of 1 failed: deploy (web1: exit 3)" \
	"commit status: the failed host and its exit code"

# a run by hand, the fault fixed: only web1 runs again
rm "$G/broken-web1"
SCAFFOLD_TOKEN=$OPER run "$SCAFFOLD" run -q --server "$U" web deploy
is "$RC" 0 "a run by hand succeeds"
ok wait_for 10 settled success "deploy is success"
is "$(get /api/v1/cascades/r/web/tasks/deploy/runs | jq -c '[.runs[] | [.id, .host, .attempt, .state]] | .[0:2]')" \
	'[[4,"web1",1,"success"],[3,"web1",2,"error"]]' "the run by hand ran web1 alone"
is "$(get /api/v1/cascades/r/web/tasks/deploy/runs | jq -c '[.runs[].host] | group_by(.) | map({(.[0]): length}) | add')" \
	'{"web1":3,"web2":1}' "runs per host: web1 three, web2 once"
run "$SCAFFOLD" status --server "$U" web
is "$(printf '%s\n' "$OUT" | sed 1d)" "  TASK                     STATE         RUNS  LAST RUN
  deploy                   success          4  4
    host web1: run 4 success
    host web2: run 2 success
  smoke                    success          1  5" "status: every host succeeded, web2 by its first run"
is "$(get /api/v1/cascades/r/web | jq -r .state)" success "the cascade's verdict is success"

# a host where the run cannot start: no exit code, the header says why
cat >"$T/r/.scaffold/down.yaml" <<Y
version: v1
name: down
runner: ssh
tasks:
  - name: ping
    hosts: [gone, web2]
    run: echo pong
Y
(cd "$T/r" && tgit add -A && tgit commit -q -m down &&
	tgit push -q origin main 2>/dev/null)
SCAFFOLD_TOKEN=$OPER run "$SCAFFOLD" repo sync --server "$U" r
is "$RC" 0 "the new commit is fetched"
ok wait_for 30 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $VIEW' $U/api/v1/cascades/r/down | jq -r '.tasks[0].state')\" = error ]" \
	"down: the task is error"
WHY="cannot start: host 'gone' (127.0.0.1:$GONE_PORT): cannot connect: Connection refused"
run "$SCAFFOLD" logs --server "$U" down ping
is "$RC:$(printf '%s\n' "$OUT" | sed 's/after [0-9a-z]*$/after DUR/')" "0:==> gone (run 6, error: $WHY) <==
scaffold: run 6 of down/ping, attempt 1, runner ssh
scaffold: $WHY

==> web2 (run 7, success, exit 0) <==
scaffold: run 7 of down/ping, attempt 1, runner ssh
pong
scaffold: run 7 ended success after DUR" "logs: a host where the run never started comes first, with why"
run "$SCAFFOLD" status -d "$D" down
is "$(printf '%s\n' "$OUT" | sed -n '3,5p')" "  ping                     error            2  7
    host gone: run 6 error ($WHY)
    host web2: run 7 success" "status: the host that could not start, and why, though the last run succeeded"
get /c/r/down >"$T/down.html"
is "$(xp "$T/down.html" "string(//a[.//*[@data-task='ping']]/@href)")" "../../r/6" \
	"page: the graph's node links to the failed host's run, not the newest"
is "$(xp "$T/down.html" "normalize-space(//p[@id='verdict'])")" \
	"1 of 1 task failed: ping (on gone: $WHY)." "page: the verdict names the host and why"
ok wait_for 10 sh -c "grep -q '\"context\":\"scaffold/down\".*failure' '$T/gh.log'" "down: a failure status is sent"
is "$(last_status down)" "failure: 1 of 1 failed: ping (gone: cannot start: host 'gone' (127.0.0.1:$GONE_PORT): ...)" \
	"commit status: the host that failed, though another host's run came last"
done_testing
