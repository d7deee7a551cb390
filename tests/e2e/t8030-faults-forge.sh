#!/bin/sh
# A forge API answering 500 under scaffold serve (one daemon, no restart):
# two revisions settle during the outage; their statuses are retried with
# a doubling backoff, and once the forge answers again they all arrive,
# in order, each once; the log names the forge's error and never the
# token; another repository's forge gets its statuses meanwhile, and the
# daemon keeps serving.  (t5010 has an outage across a restart.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"

STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub at $STUB (make test builds it and sets FORGE_STUB)"
# the gates the tasks wait for: outside /tmp, which a local task has its
# own of, and readable by the task user
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap 'kill_ours $SPID $(cat "$T"/*.pid 2>/dev/null) 2>/dev/null; wait 2>/dev/null; rm -rf "$T" "$G"' EXIT

start_stub() { # NAME ARGS...
	_name=$1
	shift
	"$STUB" --log "$T/$_name.log" "$@" >"$T/$_name.port" 2>"$T/$_name.err" &
	echo $! >"$T/$_name.pid"
	wait_for 10 test -s "$T/$_name.port" ||
		{ echo "Bail out! the $_name stub did not start"; exit 1; }
	touch "$T/$_name.log"
}
start_stub gh --fail-while "$T/down"
start_stub gt
TOKEN=ghp-FAULT-token-9876
printf '%s\n' "$TOKEN" >"$T/gh.token"
printf '%s\n' gitea-FAULT-token-5432 >"$T/gt.token"

cascade() { # TEST_RUN: build waits for $G/gate (the pending status goes first)
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: while [ ! -e "$G/gate" ]; do sleep 0.1; done
  - name: test
    run: $1
    depends_on: [build]
Y
}
for r in gh gt; do
	new_repo $r
	put $r deploy.yaml "$(cascade "echo one")"
	push $r first
	eval "${r}_1=\$SHA"
done
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
local: {user: nobody}
repos:
  - name: gh
    url: $T/gh.git
    runners: [local]
    forge: {kind: github, api_url: "http://127.0.0.1:$(cat "$T/gh.port")", token_file: gh.token, project: acme/gh}
  - name: gt
    url: $T/gt.git
    runners: [local]
    forge: {kind: gitea, api_url: "http://127.0.0.1:$(cat "$T/gt.port")/api/v1", token_file: gt.token, project: acme/gt}
Y
# what a stub got: "SHORT-SHA STATE DESCRIPTION HTTP-STATUS" a line
got() { # NAME
	sed 's/.*"description":"\([^"]*\)".*"state":"\([^"]*\)".*\/statuses\/\([0-9a-f]\{12\}\)[0-9a-f]*".*"status":\([0-9]*\)}$/\3 \2 \1 \4/' "$T/$1.log"
}
short() { echo "$1" | cut -c1-12; }
touch "$G/gate"
serve_start serve.log
settled() { # NAME SHA STATE: the stub got that status, and took it
	got "$1" | grep -q "^$(short "$2") $3 .* 201$"
}
ok wait_for 30 settled gh "$gh_1" success "before the outage, the statuses go out"
is "$(got gh)" "$(short "$gh_1") pending 2 changed, 2 to run 201
$(short "$gh_1") success 2 changed, 2 re-ran, all succeeded 201" "pending, then success"

# the forge goes down; two revisions settle
touch "$T/down"
rm "$G/gate"
n0=$(wc -l <"$T/gh.log")
put gh deploy.yaml "$(cascade "echo two")"
push gh two
gh_2=$SHA
ok wait_for 30 sh -c "tail -n +$((n0 + 1)) '$T/gh.log' | grep -q '\"status\":500'" "the forge answers 500"
touch "$G/gate"
ok wait_for 30 grep -q "status: repo 'gh' at $(short "$gh_2"): scaffold/deploy success" "$T/serve.log" "a revision settles during the outage"
rm "$G/gate"
put gh deploy.yaml "$(cascade "echo three; exit 3")"
push gh three
gh_3=$SHA
touch "$G/gate"
ok wait_for 30 grep -q "status: repo 'gh' at $(short "$gh_3"): scaffold/deploy failure" "$T/serve.log" "a second one fails during the outage"
ok wait_for 60 grep -q "warn: status: repo 'gh': github answered 500 to the status of $(short "$gh_2") (scaffold/deploy): the stub forge is down (retrying in 4s)" "$T/serve.log" \
	"the log names the repo, the commit, the HTTP status and the forge's message, and backs off"
is "$(awk -v s="$(short "$gh_2")" '$0 ~ "at " s ": scaffold/deploy success" {on = 1}
	on && $0 ~ "status of " s ".*retrying in" {sub(/.*retrying in /, ""); sub(/\)$/, ""); printf "%s ", $0}' "$T/serve.log" | cut -d' ' -f1-3)" \
	"1s 2s 4s" "the backoff doubles"
is "$(got gh | tail -n +$((n0 + 1)) | grep -vc ' 500$')" 0 "nothing is taken meanwhile"

# the other repository's forge is up: its statuses go out meanwhile
rm "$G/gate"
put gt deploy.yaml "$(cascade "echo two")"
push gt two
gt_2=$SHA
touch "$G/gate"
ok wait_for 30 settled gt "$gt_2" success "another repository's statuses are delivered during the outage"
is "$(got gt)" "$(short "$gt_1") pending 2 changed, 2 to run 201
$(short "$gt_1") success 2 changed, 2 re-ran, all succeeded 201
$(short "$gt_2") pending 1 changed, 1 to run 201
$(short "$gt_2") success 1 changed, 1 re-ran, all succeeded 201" "all of them, once each"
serving "the daemon serves during the outage"

# the forge answers again: every status arrives, in order, once
rm "$T/down"
ok wait_for 60 settled gh "$gh_3" failure "after the outage, the statuses arrive"
sleep 1
is "$(got gh | grep ' 201$')" "$(short "$gh_1") pending 2 changed, 2 to run 201
$(short "$gh_1") success 2 changed, 2 re-ran, all succeeded 201
$(short "$gh_2") success 1 changed, 1 re-ran, all succeeded 201
$(short "$gh_3") failure 1 of 1 failed: test (exit 3) 201" \
	"each revision's final status, in order, none lost, none twice (the pending ones a final state replaced are dropped)"
is "$(grep -c "$TOKEN" "$T/serve.log")" 0 "the token is not in the log"
run "$SCAFFOLD" status -d "$D" -o json
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | grep -o '"name":"test","state":"[a-z]*","runs":[0-9]*' | tr '\n' ' ')" \
	'"name":"test","state":"error","runs":3 "name":"test","state":"success","runs":2 ' \
	"the runs recorded during the outage are kept"
serving "the daemon serves after the outage"
serve_stop
is "$?" 0 "the daemon stops cleanly"
done_testing
