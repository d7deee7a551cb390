#!/bin/sh
# The JSON API v1 and the CLI as its client, against a real scaffold serve
# on a local repository: every route with each role and without a token
# (exact codes and error JSON); an input set through the API resets exactly
# the tasks that map it; a file put through the API satisfies a load; a
# followed log (server-sent events) shows lines as they come and ends with
# the run; the CLI with --server prints the same bytes as with -d; a
# password's value appears in no answer.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"

D="$T/data"
export HOME="$T/home"
mkdir -p "$HOME"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR
PASSWORD='hunter2-XYZZY-sekrit'
# the gates the tasks wait for: outside /tmp, which a local task has its
# own of, and readable by the task user
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap 'rm -rf "$T" "$G"' EXIT

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cascade() { # GREET_WORD
	cat >"$T/work/.scaffold/app.yaml" <<Y
version: v1
name: app
runner: local
inputs:
  - name: GREETING
    default: hello
  - name: DB_PASSWORD
    type: password
tasks:
  - name: build
    run: echo building
  - name: greet
    run: echo "$1 \$MSG"
    inputs: {MSG: GREETING}
    depends_on: [build]
  - name: announce
    run: echo announced
    depends_on: [greet]
  - name: other
    run: echo other
    depends_on: [build]
  - name: usefile
    run: cat conf/app.conf
    load: {file: [conf/app.conf]}
    depends_on: [build]
  - name: after_file
    run: echo after the file
    depends_on: [usefile]
  - name: db
    run: echo "connecting with \$PW"
    inputs: {PW: DB_PASSWORD}
    auto_execute: false
  - name: forever
    run: echo waiting forever; [ -e "$G/quick" ] || sleep 60
    auto_execute: false
  - name: slow
    run: |
      echo first line
      while [ ! -e "$G/go" ]; do sleep 0.05; done
      echo second line
    auto_execute: false
Y
}
cascade greeting
(cd "$T/work" && tgit add -A && tgit commit -q -m "first" && tgit push -q origin main 2>/dev/null)
SHA1=$(tgit -C "$T/work" rev-parse HEAD)

ADMIN=$("$SCAFFOLD" token create root --role admin -d "$D" 2>/dev/null)
OPER=$("$SCAFFOLD" token create ops --role operator -d "$D" 2>/dev/null)
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)

cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T" "$G"' EXIT
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"

# api METHOD PATH TOKEN [CURL ARGS...]: $RES is "CODE BODY"; every answer
# is kept in $T/answers
api() {
	_m=$1 _p=$2 _t=$3
	shift 3
	if [ -n "$_t" ]; then
		set -- -H "Authorization: Bearer $_t" "$@"
	fi
	_code=$(curl -s --path-as-is -o "$T/.body" -w '%{http_code}' \
		-X "$_m" "$@" "$U$_p")
	cat "$T/.body" >>"$T/answers"
	RES="$_code $(cat "$T/.body")"
}
state_of() { # TASK -> its state
	"$SCAFFOLD" status -d "$D" app 2>/dev/null | awk -v t="$1" '$1 == t {print $2}'
}
runs_of() { # TASK -> its run count
	"$SCAFFOLD" status -d "$D" app 2>/dev/null | awk -v t="$1" '$1 == t {print $3}'
}
last_run() { # TASK -> its last run id
	"$SCAFFOLD" status -d "$D" app 2>/dev/null | awk -v t="$1" '$1 == t {print $4}'
}
settled() { # the first revision ran: everything it could
	[ "$(state_of announce)" = success ] && [ "$(state_of other)" = success ] &&
		[ "$(state_of usefile)" = error ]
}
ok wait_for 20 settled "the daemon applies the first commit and runs it"
C=/api/v1/cascades/infra/app

# ---- every route, each role, no token ----
NOTOKEN='{"error":"this needs a token with role viewer or more: send '"'"'Authorization: Bearer TOKEN'"'"'"}'
need_op() { printf '{"error":"this needs role operator or more; the token has role %s"}' "$1"; }
need_admin() { printf '{"error":"this needs role admin or more; the token has role %s"}' "$1"; }
denied() { # METHOD PATH NEED: every role below NEED is refused, exactly
	api "$1" "$2" ""
	case $3 in
	viewer) is "$RES" "401 $NOTOKEN" "$1 $2 without a token: 401" ;;
	operator) is "$RES" "401 $(echo "$NOTOKEN" | sed 's/role viewer/role operator/')" "$1 $2 without a token: 401" ;;
	admin) is "$RES" "401 $(echo "$NOTOKEN" | sed 's/role viewer/role admin/')" "$1 $2 without a token: 401" ;;
	esac
	if [ "$3" != viewer ]; then
		api "$1" "$2" "$VIEW"
		if [ "$3" = operator ]; then
			is "$RES" "403 $(need_op viewer)" "$1 $2 as a viewer: 403"
		else
			is "$RES" "403 $(need_admin viewer)" "$1 $2 as a viewer: 403"
		fi
	fi
	if [ "$3" = admin ]; then
		api "$1" "$2" "$OPER"
		is "$RES" "403 $(need_admin operator)" "$1 $2 as an operator: 403"
	fi
}
while read -r m p need; do
	denied "$m" "$p" "$need"
done <<L
GET /api/v1/repos viewer
POST /api/v1/repos/infra/sync operator
GET /api/v1/cascades viewer
GET /api/v1/cascades/app viewer
GET $C viewer
GET $C/plan?from=$SHA1&to=$SHA1 viewer
POST $C/tasks/build/run operator
GET /api/v1/runs/1 viewer
GET /api/v1/runs/1/log viewer
POST /api/v1/runs/1/kill operator
GET $C/inputs viewer
GET $C/inputs/GREETING viewer
PUT $C/inputs/GREETING operator
GET $C/files viewer
GET $C/files/conf/app.conf viewer
PUT $C/files/conf/app.conf operator
DELETE $C/files/conf/app.conf operator
GET /api/v1/tokens admin
POST /api/v1/tokens admin
DELETE /api/v1/tokens/ops admin
GET /metrics viewer
L
api GET /api/v1/cascades "scf_000000000000000000000000000000000000000000000000"
is "$RES" '401 {"error":"the token is not valid (revoked, or not made by this scaffold)"}' "an unknown token: 401"
api GET /healthz ""
is "$RES" '200 {"status":"ok"}' "/healthz needs no token"
api GET /api/v1/nothing "$VIEW"
is "$RES" "404 {\"error\":\"no such path '/api/v1/nothing'\"}" "an unknown path: 404"
api DELETE /api/v1/cascades "$ADMIN"
is "$RES" "405 {\"error\":\"DELETE is not allowed on '/api/v1/cascades'\"}" "a wrong method: 405"
is "$(runs_of build):$(runs_of greet):$(runs_of usefile)" "1:1:1" "no refused request ran anything"

# reads: every role that may
for tok in "$VIEW" "$OPER" "$ADMIN"; do
	for p in /api/v1/repos /api/v1/cascades /api/v1/cascades/app $C "$C/plan?from=$SHA1&to=$SHA1" \
		/api/v1/runs/1 /api/v1/runs/1/log $C/inputs $C/inputs/GREETING $C/files /metrics; do
		api GET "$p" "$tok"
		echo "${RES%% *} $p" >>"$T/reads"
	done
done
is "$(grep -vc '^200 ' "$T/reads")" 0 "viewers, operators and admins read every route"

# ---- cascades ----
api GET $C "$VIEW"
is "$(echo "$RES" | sed 's/"updated_at":[0-9]*,//; s/"tasks".*//')" \
	"200 {\"name\":\"app\",\"repo\":\"infra\",\"revision\":\"$SHA1\",\"file\":\".scaffold/app.yaml\",\"active\":true,\"state\":\"error\",\"missing_files\":[{\"task\":\"usefile\",\"file\":\"conf/app.conf\"}]," \
	"a cascade carries its applied revision, its verdict and the file its task misses"
is "$(echo "$RES" | sed 's/.*"tasks":\[{//; s/},{.*//; s/"last_run":[0-9]*/"last_run":N/; s/,"updated_at":[0-9]*//')" \
	'"name":"build","state":"success","runs":1,"last_run":N,"attempts":1,"manual":false' \
	"its tasks carry name, state, runs, last run and attempts"
api GET /api/v1/cascades/infra/nope "$VIEW"
is "$RES" "404 {\"error\":\"no cascade 'infra/nope'\"}" "an unknown cascade: 404"
api GET /api/v1/cascades/nope "$VIEW"
is "$RES" "404 {\"error\":\"no cascade 'nope'\"}" "an unknown cascade by name: 404"

# ---- running a task by hand ----
api POST $C/tasks/after_file/run "$OPER"
is "$RES" "409 {\"error\":\"task 'after_file' is not ready: 'usefile' is error (needs success); use --force to run it anyway\"}" \
	"a task with unmet parents: 409 naming them"
api POST $C/tasks/nope/run "$OPER"
is "$RES" "404 {\"error\":\"cascade 'app' has no task 'nope'\"}" "an unknown task: 404"
api POST "$C/tasks/after_file/run?force=maybe" "$OPER"
is "$RES" "400 {\"error\":\"query parameter force takes 1 or 0, not 'maybe'\"}" "a bad force flag: 400"
is "$(state_of after_file):$(runs_of after_file)" "skipped:0" "refused runs change nothing (its parent failed: skipped)"

# ---- the file store satisfies a load ----
api PUT "$C/files/a/../b" "$OPER" --data-binary x
is "$RES" "400 {\"error\":\"file name 'a/../b' must stay inside the run dir ('..' is not allowed)\"}" "a name with '..': 400"
api PUT "$C/files//etc/passwd" "$OPER" --data-binary x
is "$RES" "400 {\"error\":\"file name '/etc/passwd' must be a relative path inside the run dir, not an absolute path\"}" "an absolute name: 400"
api PUT "$C/files/conf//app.conf" "$OPER" --data-binary x
is "$RES" "400 {\"error\":\"file name 'conf//app.conf' is not canonical: write it without empty or '.' segments\"}" "a non-canonical name: 400"
api GET $C/files/conf/app.conf "$VIEW"
is "$RES" "404 {\"error\":\"cascade 'app' has no file 'conf/app.conf' in its file store\"}" "a file not there: 404"
printf 'port=8080\n' >"$T/app.conf"
api PUT $C/files/conf/app.conf "$OPER" --data-binary @"$T/app.conf"
is "$(printf '%s' "$RES" | sed 's/"updated_at":[0-9]*/"updated_at":N/')" \
	"201 {\"name\":\"conf/app.conf\",\"size\":10,\"sha256\":\"$(sha256sum <"$T/app.conf" | cut -c1-64)\",\"updated_at\":N,\"report\":\"cascade 'app': 0 new, 1 changed, 0 removed; 1 downstream reset\\n\"}" \
	"a new file: 201 with its size, digest and what it reset"
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk '\$1 == \"after_file\" {print \$2}')\" = success ]" \
	"the load is satisfied from the file store: the task that failed for it runs, and what follows"
api PUT $C/files/conf/app.conf "$OPER" --data-binary @"$T/app.conf"
is "$(printf '%s' "$RES" | sed 's/"updated_at":[0-9]*/"updated_at":N/')" "200 {\"name\":\"conf/app.conf\",\"size\":10,\"sha256\":\"$(sha256sum <"$T/app.conf" | cut -c1-64)\",\"updated_at\":N,\"report\":\"cascade 'app': no change\\n\"}" \
	"the same name again replaces it: 200; the same bytes reset nothing"
curl -s -H "Authorization: Bearer $VIEW" -D "$T/hdr" -o "$T/got.conf" "$U$C/files/conf/app.conf"
ok cmp "$T/app.conf" "$T/got.conf" "GET gives the bytes back"
is "$(grep -i '^content-type' "$T/hdr" | tr -d '\r')" "Content-Type: application/octet-stream" "as application/octet-stream"
api GET $C/files "$VIEW"
is "$(echo "$RES" | sed 's/"updated_at":[0-9]*/"updated_at":N/')" \
	"200 {\"files\":[{\"name\":\"conf/app.conf\",\"size\":10,\"sha256\":\"$(sha256sum <"$T/app.conf" | cut -c1-64)\",\"updated_at\":N}]}" \
	"the listing shows only it"
is "$("$SCAFFOLD" logs -d "$D" app usefile | grep -v '^scaffold:')" "port=8080" "the task read the uploaded file"
printf 'x' | "$SCAFFOLD" file put --server "$U" -q app tmp/x.txt 2>"$T/err"
is "$?:$(cat "$T/err")" "1:scaffold file: this needs a token with role viewer or more: send 'Authorization: Bearer TOKEN'" \
	"the CLI prints the server's error as it is, exit 1"
printf 'x' | SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" file put --server "$U" app tmp/x.txt 2>"$T/err"
is "$?:$(cat "$T/err")" "0:cascade 'app': file 'tmp/x.txt' stored (1 bytes)
cascade 'app': no change" "file put --server, and what it reset (no task loads it)"
run env SCAFFOLD_TOKEN="$VIEW" "$SCAFFOLD" file ls --server "$U" app
run_server_ls=$OUT
run "$SCAFFOLD" file ls -d "$D" app
is "$run_server_ls" "$OUT" "file ls: the same with --server and -d"
is "$(SCAFFOLD_TOKEN="$VIEW" "$SCAFFOLD" file get --server "$U" app tmp/x.txt)" "x" "file get --server"
api DELETE $C/files/tmp/x.txt "$OPER"
is "$RES" '200 {"name":"tmp/x.txt","deleted":true,"report":"cascade '"'app'"': no change\n"}' "DELETE removes a file"
api DELETE $C/files/tmp/x.txt "$OPER"
is "$RES" "404 {\"error\":\"cascade 'app' has no file 'tmp/x.txt' in its file store\"}" "a second DELETE: 404"
run "$SCAFFOLD" file rm -d "$D" app tmp/x.txt
is "$RC:$ERR" "1:scaffold file: cascade 'app' has no file 'tmp/x.txt' in its file store" "file rm -d says the same"

# ---- inputs: a change resets exactly the tasks that map it ----
api GET $C/inputs "$VIEW"
is "$RES" '200 {"inputs":[{"name":"GREETING","type":"text","description":null,"source":"default","has_value":true,"value":"hello"},{"name":"DB_PASSWORD","type":"password","description":null,"source":"unset","has_value":false,"value":null}]}' \
	"GET inputs"
api PUT $C/inputs/GREETING "$OPER" --data 'nope'
is "$RES" "400 {\"error\":\"the body is not valid JSON: '[' or '{' expected near 'nope' (line 1, column 4)\"}" "a body that is not JSON: 400"
api PUT $C/inputs/GREETING "$OPER" --data '{"value": 5}'
is "$RES" '400 {"error":"the body must be {\"value\": \"...\"} with the value as a string"}' "a value that is not a string: 400"
api PUT $C/inputs/GREETING "$OPER" --data '{"value": "x", "extra": 1}'
is "$RES" "400 {\"error\":\"unknown key 'extra' in the body\"}" "an unknown key: 400"
api PUT $C/inputs/NOPE "$OPER" --data '{"value": "x"}'
is "$RES" "404 {\"error\":\"cascade 'app' has no input 'NOPE'\"}" "an undeclared input: 404"
api GET $C/inputs/NOPE "$VIEW"
is "$RES" "404 {\"error\":\"cascade 'app' has no input 'NOPE'\"}" "GET an undeclared input: 404"
is "$(runs_of build):$(runs_of greet):$(runs_of announce):$(runs_of other)" "1:1:1:1" "malformed requests change nothing"
api PUT $C/inputs/GREETING "$OPER" --data '{"value": "bonjour"}'
is "$RES" "200 {\"name\":\"GREETING\",\"type\":\"text\",\"description\":null,\"source\":\"set\",\"has_value\":true,\"value\":\"bonjour\",\"report\":\"cascade 'app': 0 new, 1 changed, 0 removed; 1 downstream reset\\n\"}" \
	"PUT an input: the new value and what it reset"
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk '\$1 == \"announce\" {print \$3}')\" = 2 ]" "the tasks it resets run again"
is "$(runs_of build):$(runs_of greet):$(runs_of announce):$(runs_of other):$(runs_of usefile)" "1:2:2:1:2" \
	"exactly the task that maps it and its descendant ran again"
is "$("$SCAFFOLD" logs -d "$D" app greet | grep -v '^scaffold:')" "greeting bonjour" "with the new value"

# a password: its value never comes back
api PUT $C/inputs/DB_PASSWORD "$OPER" --data "{\"value\": \"$PASSWORD\"}"
is "$RES" "200 {\"name\":\"DB_PASSWORD\",\"type\":\"password\",\"description\":null,\"source\":\"set\",\"has_value\":true,\"value\":null,\"report\":\"cascade 'app': 0 new, 1 changed, 0 removed; 0 downstream reset\\n\"}" \
	"PUT a password: no value in the answer"
api POST $C/tasks/db/run "$OPER"
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk '\$1 == \"db\" {print \$2}')\" = success ]" "the task mapping it runs"
DBRUN=$(last_run db)
api GET "/api/v1/runs/$DBRUN/log" "$VIEW"
is "$(echo "$RES" | grep connecting)" "connecting with ********" "its log shows the password masked"

# ---- runs ----
api GET /api/v1/runs/$DBRUN "$VIEW"
is "$(echo "$RES" | sed 's/"fingerprint":"[0-9a-f]*"/"fingerprint":F/; s/_at":[0-9]*/_at":N/g; s/"batch":[0-9]*/"batch":B/')" \
	"200 {\"id\":$DBRUN,\"repo\":\"infra\",\"cascade\":\"app\",\"task\":\"db\",\"attempt\":1,\"state\":\"success\",\"exit_code\":0,\"message\":\"\",\"superseded\":false,\"kill_requested\":false,\"runner\":\"local\",\"host\":null,\"revision\":\"$SHA1\",\"fingerprint\":F,\"started_at\":N,\"ended_at\":N,\"batch\":B}" \
	"GET a run"
api GET /api/v1/runs/9999 "$VIEW"
is "$RES" '404 {"error":"run 9999 does not exist"}' "an unknown run: 404"
api GET /api/v1/runs/abc "$VIEW"
is "$RES" "400 {\"error\":\"'abc' is not a run id (a positive number)\"}" "a run id that is not one: 400"
api POST /api/v1/runs/1/kill "$OPER"
is "$RES" '409 {"error":"run 1 is not running (it ended success)"}' "killing an ended run: 409"
api GET "/api/v1/runs/1/log?follow=maybe" "$VIEW"
is "$RES" "400 {\"error\":\"query parameter follow takes 1 or 0, not 'maybe'\"}" "a bad follow flag: 400"

# ---- a followed log shows lines as they come, and ends with the run ----
api POST $C/tasks/slow/run "$OPER"
is "${RES%% *}" 202 "the slow task is started"
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk '\$1 == \"slow\" {print \$2}')\" = running ]" "it runs"
SLOW=$(last_run slow)
curl -sN -H "Authorization: Bearer $VIEW" -D "$T/sse.hdr" "$U/api/v1/runs/$SLOW/log?follow=1" >"$T/sse" &
CPID=$!
SCAFFOLD_TOKEN="$VIEW" "$SCAFFOLD" logs -f --server "$U" app slow >"$T/follow.out" 2>"$T/follow.err" &
FPID=$!
"$SCAFFOLD" logs -f -d "$D" app slow >"$T/follow-d.out" 2>&1 &
LPID=$!
ok wait_for 10 grep -q '^data: first line$' "$T/sse" "the first line arrives while the run goes on"
ok wait_for 10 grep -q '^first line$' "$T/follow.out" "logs -f --server prints it too"
ok wait_for 10 grep -q '^first line$' "$T/follow-d.out" "and logs -f -d"
is "$(grep -c 'second line' "$T/sse" "$T/follow.out" "$T/follow-d.out" | cut -d: -f2 | tr '\n' ' ')" "0 0 0 " "the rest is not there yet"
ok kill -0 $CPID "the stream stays open while the run goes on"
touch "$G/go"
ok wait_for 10 sh -c "! kill -0 $CPID 2>/dev/null" "the stream ends when the run ends"
wait $FPID
is "$?" 0 "logs -f exits 0 for a run that succeeded"
wait $LPID
is "$?" 0 "logs -f -d too"
is "$(grep -i '^content-type' "$T/sse.hdr" | tr -d '\r')" "Content-Type: text/event-stream" "as text/event-stream"
is "$(grep -c '^data: second line$' "$T/sse")" 1 "the later lines follow"
is "$(tail -3 "$T/sse")" "event: end
data: {\"id\":$SLOW,\"state\":\"success\",\"exit_code\":0,\"message\":\"\"}" "then an end event with the outcome"
"$SCAFFOLD" logs -d "$D" app slow >"$T/slow.log"
ok cmp "$T/slow.log" "$T/follow.out" "logs -f --server printed exactly the log"
ok cmp "$T/slow.log" "$T/follow-d.out" "logs -f -d too"

# ---- killing a run ----
api POST $C/tasks/forever/run "$OPER"
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk '\$1 == \"forever\" {print \$2}')\" = running ]" "a long task runs"
FOREVER=$(last_run forever)
curl -sN -H "Authorization: Bearer $VIEW" "$U/api/v1/runs/$FOREVER/log?follow=1" >"$T/sse2" &
CPID=$!
ok wait_for 10 grep -q '^data: waiting forever$' "$T/sse2" "its log is followed"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" kill --server "$U" "$FOREVER"
is "$RC:$OUT" "0:kill requested for run $FOREVER" "kill --server asks the daemon to kill it"
ok wait_for 10 sh -c "! kill -0 $CPID 2>/dev/null" "the followed log ends"
is "$(tail -2 "$T/sse2" | head -1 | sed 's/"message":"[^"]*"/"message":M/')" "data: {\"id\":$FOREVER,\"state\":\"killed\",\"exit_code\":null,\"message\":M}" \
	"with the run killed"
is "$(state_of forever)" killed "the task is killed"
api POST /api/v1/runs/$FOREVER/kill "$OPER"
is "$RES" "409 {\"error\":\"run $FOREVER is not running (it ended killed)\"}" "killing it again: 409"

# ---- the CLI with --server prints what it prints with -d ----
export SCAFFOLD_TOKEN="$VIEW"
for cmd in "status" "status -o json" "status app" "status -o json infra/app" \
	"logs app build" "logs app slow" "logs app db" "logs --run 1 app build" \
	"input ls app" "input ls -o json app" "repo ls" "repos -o json" "file ls -o json app"; do
	# shellcheck disable=SC2086
	"$SCAFFOLD" $cmd -d "$D" >"$T/d.out" 2>&1
	drc=$?
	# shellcheck disable=SC2086
	"$SCAFFOLD" $cmd --server "$U" >"$T/s.out" 2>&1
	src=$?
	if [ $drc = 0 ] && [ $src = 0 ] && cmp -s "$T/d.out" "$T/s.out"; then
		_result 0 "'$cmd': the same bytes with --server and -d"
	else
		_result 1 "'$cmd': the same bytes with --server and -d ($drc/$src)"
		diff "$T/d.out" "$T/s.out" | sed 's/^/# /'
	fi
	cat "$T/s.out" >>"$T/answers"
done
run "$SCAFFOLD" status --server "$U" nope
is "$RC:$ERR" "1:scaffold status: no cascade 'nope'" "an error through --server: the same text"
run "$SCAFFOLD" status -d "$D" nope
is "$RC:$ERR" "1:scaffold status: no cascade 'nope'" "as with -d"
SCAFFOLD_SERVER="$U" "$SCAFFOLD" status app >"$T/env.out" 2>&1
"$SCAFFOLD" status app -d "$D" >"$T/d.out" 2>&1
ok cmp "$T/env.out" "$T/d.out" "SCAFFOLD_SERVER works like --server"
run "$SCAFFOLD" kill --server "$U" 1
is "$RC:$ERR" "1:scaffold kill: this needs role operator or more; the token has role viewer" "a viewer cannot kill"
run "$SCAFFOLD" status --server "http://127.0.0.1:1"
is "$RC:$ERR" "1:scaffold status: cannot reach the scaffold server at 'http://127.0.0.1:1': Couldn't connect to server" \
	"a server that is not there: a clear message naming it"
run "$SCAFFOLD" status --server "$U" -d "$D"
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold status: --server and --data-dir exclude each other" "--server and -d together: usage error"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" input set --server "$U" app GREETING salut
is "$RC:$ERR" "0:cascade 'app': 0 new, 1 changed, 0 removed; 1 downstream reset" "input set --server prints the report"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" input set --server "$U" app DB_PASSWORD argv-pw
is "$RC:$ERR" "1:scaffold input: input 'DB_PASSWORD' is a password: give its value on stdin or at the prompt (VALUE '-' or none), not on the command line, where ps and the shell's history show it" \
	"input set --server refuses a password on the command line"
touch "$G/quick"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" run --server "$U" app forever
is "$RC:$(echo "$OUT" | awk '$1 == "forever" {print $2}')" "0:success" "run --server waits for the run and prints the states: all succeeded, exit 0"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" run --server "$U" app announce
is "$RC:$(echo "$OUT" | awk '$1 == "announce" {print $2}')" "0:success" "run --server waits for the cascade and prints its states"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" run --server "$U" app after_file
is "$RC" 0 "run --server of a ready task"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" repo sync --server "$U" infra
is "$RC:$ERR" "0:repo 'infra': sync requested" "repo sync --server"
run env SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" repo sync --server "$U" nope
is "$RC:$ERR" "1:scaffold repo: no repo 'nope' in the config" "repo sync of an unknown repo"

# the token from ~/.scaffold/creds, which must be private
unset SCAFFOLD_TOKEN
mkdir -p "$HOME/.scaffold"
printf '# scaffold servers\n%s/ %s\n' "$U" "$VIEW" >"$HOME/.scaffold/creds"
chmod 644 "$HOME/.scaffold/creds"
run "$SCAFFOLD" status --server "$U" app
is "$RC:$ERR" "1:scaffold status: '$HOME/.scaffold/creds' may be read by group or others (mode 644): it holds tokens; run 'chmod 600 $HOME/.scaffold/creds'" \
	"a creds file others may read is refused"
chmod 600 "$HOME/.scaffold/creds"
run "$SCAFFOLD" status --server "$U" app
is "$RC:$(echo "$OUT" | head -1)" "0:cascade 'infra/app' at $SHA1" "the token comes from ~/.scaffold/creds"

# ---- tokens (admin) ----
api POST /api/v1/tokens "$ADMIN" --data '{"name": "ci", "role": "root"}'
is "$RES" "400 {\"error\":\"unknown role 'root': use admin, operator or viewer\"}" "an unknown role: 400"
api POST /api/v1/tokens "$ADMIN" --data '{"name": "ops", "role": "viewer"}'
is "$RES" "409 {\"error\":\"a token named 'ops' exists already; revoke it first\"}" "a name taken: 409"
api POST /api/v1/tokens "$ADMIN" --data '{"name": "ci", "role": "operator"}'
is "$(echo "$RES" | sed 's/scf_[0-9a-f]\{48\}/TOKEN/')" '201 {"name":"ci","role":"operator","token":"TOKEN"}' "an admin creates a token"
CI=$(echo "$RES" | sed 's/.*"token":"\([^"]*\)".*/\1/')
api GET /api/v1/tokens "$ADMIN"
is "$(echo "$RES" | grep -o '"name":"[a-z]*","role":"[a-z]*"' | tr '\n' ' ')" \
	'"name":"ci","role":"operator" "name":"ops","role":"operator" "name":"root","role":"admin" "name":"watcher","role":"viewer" ' \
	"and lists the tokens, never their values"
api POST $C/tasks/build/run?force=1 "$CI"
is "${RES%% *}" 202 "the new token works"
api DELETE /api/v1/tokens/ci "$ADMIN"
is "$RES" '200 {"name":"ci","revoked":true}' "an admin revokes it"
api GET /api/v1/cascades "$CI"
is "$RES" '401 {"error":"the token is not valid (revoked, or not made by this scaffold)"}' "then it no longer works"
api DELETE /api/v1/tokens/ci "$ADMIN"
is "$RES" "404 {\"error\":\"no token named 'ci'\"}" "revoking it again: 404"

# ---- metrics ----
ok wait_for 10 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' app | awk 'NR > 2 && (\$2 == \"waiting\" || \$2 == \"running\")' | wc -l)\" = 0 ]" "the cascade is idle"
api GET /metrics "$VIEW"
is "$(echo "$RES" | grep -E '^scaffold_(tasks|queue_depth|runs_total)' | grep -vE 'outcome="(success|error)"' | tr '\n' ' ')" \
	'scaffold_runs_total{outcome="running"} 0 scaffold_runs_total{outcome="killed"} 1 scaffold_runs_total{outcome="lost"} 0 scaffold_tasks{state="not_started"} 0 scaffold_tasks{state="waiting"} 0 scaffold_tasks{state="running"} 0 scaffold_tasks{state="success"} 9 scaffold_tasks{state="error"} 0 scaffold_tasks{state="killed"} 0 scaffold_tasks{state="skipped"} 0 scaffold_queue_depth 0 ' \
	"/metrics: tasks by state, the queue, runs by outcome"
is "$(echo "$RES" | sed -n 's/^scaffold_runs_total{outcome="error"} //p')" 1 "and the one error run counted"

# ---- plan between two commits ----
api GET "$C/plan?from=$SHA1" "$VIEW"
is "$RES" '400 {"error":"a plan needs the query parameters from=SHA and to=SHA"}' "a plan without to: 400"
api GET "$C/plan?from=$SHA1&to=xyz" "$VIEW"
is "$RES" "400 {\"error\":\"to: 'xyz' is not a commit id (use 4 to 40 hex digits)\"}" "a bad SHA: 400 naming it"
api GET "$C/plan?from=deadbeef&to=$SHA1" "$VIEW"
is "$RES" "400 {\"error\":\"from: commit 'deadbeef' is not in the mirror of repo 'infra'\"}" "an unknown commit: 400"
cascade hi
(cd "$T/work" && tgit commit -q -am "second" && tgit push -q origin main 2>/dev/null)
SHA2=$(tgit -C "$T/work" rev-parse HEAD)
api POST /api/v1/repos/infra/sync "$OPER"
is "$RES" '202 {"accepted":true,"repo":"infra"}' "an operator asks for a sync"
ok wait_for 10 sh -c "'$SCAFFOLD' repos -d '$D' -o json | grep -q '\"applied\": \"$SHA2\"'" "the second commit is applied"
api GET "$C/plan?from=$SHA1&to=$SHA2" "$VIEW"
git -C "$T/infra.git" show "$SHA1:.scaffold/app.yaml" >"$T/old.yaml"
git -C "$T/infra.git" show "$SHA2:.scaffold/app.yaml" >"$T/new.yaml"
want=$("$SCAFFOLD" plan -o json "$T/old.yaml" "$T/new.yaml" 2>/dev/null | tr -d '\n' | sed 's/  *//g; s/"cascade":"app",/&"from":"'"$SHA1"'","to":"'"$SHA2"'",/')
is "${RES%% *}:$(echo "${RES#* }" | sed 's/ //g')" "200:$want" "the plan between two commits is the offline plan of the two files"
is "$(echo "$RES" | grep -o '"reset":\[[^]]*\]')" '"reset":["announce","greet"]' "greet and its descendant would reset"
api GET "/api/v1/cascades/infra/nope/plan?from=$SHA1&to=$SHA2" "$VIEW"
is "$RES" "404 {\"error\":\"cascade 'nope' is in repo 'infra' neither at '$SHA1' nor at '$SHA2'\"}" "a plan of a cascade in neither: 404"
api GET "/api/v1/cascades/other/app/plan?from=$SHA1&to=$SHA2" "$VIEW"
is "$RES" "404 {\"error\":\"no repo 'other' in the config\"}" "a plan in an unknown repo: 404"

# ---- the password never appeared ----
is "$(grep -c "$PASSWORD" "$T/answers" "$T/sse" "$T/follow.out")" "$T/answers:0
$T/sse:0
$T/follow.out:0" "no API answer and no CLI output holds the password"
ok sh -c "! grep -q '$PASSWORD' '$T/serve.log'" "nor the daemon's log"

done_testing
