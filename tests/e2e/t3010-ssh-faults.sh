#!/bin/sh
# The ssh runner's faults against real OpenSSH servers: a changed or
# unknown host key and a wrong user key are refused before anything runs;
# a kill from another process ends the remote process group; sshd killed
# mid-run ends the run lost; an input full of shell syntax arrives
# byte-exact and is never executed; a run outlives a SIGKILL of the daemon
# and is adopted by the next one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
test_user
D="$T/data"
# what a remote script leaves for the test: written as the test user
mkdir "$T/shared"
chmod 777 "$T/shared"
# the remote sleeps carry this script's pid, so that ps finds ours only
M=$$
PWNED=/tmp/PWNED-t3010-$M
remote_pids() { # [SECONDS]: our sleeps on the host (those of that length)
	pgrep -u "$TEST_USER" -f "^sleep ${1:-5[0-9]}\.$M\$" | tr '\n' ' '
}
RUNS=$(getent passwd "$TEST_USER" | cut -d: -f6)/.scaffold/runs
# a lost run's processes and run dir stay on the host by design: ours go
# (each script names its run dir in $T/shared/rundir-*)
leftover_runs() {
	for f in "$T"/shared/rundir-*; do
		[ -f "$f" ] || continue
		d=$(cat "$f")
		case $d in "$RUNS"/*/run) rm -rf "${d%/run}" ;; esac
	done
}
apid=
spid=
trap 'kill_ours $apid $spid $_sshd_pids; kill $(remote_pids) 2>/dev/null
leftover_runs; rm -f "$PWNED" "$PWNED-bt"; rm -rf "$T"' EXIT

start_sshd web1 "$TEST_USER"
PORT1=$SSHD_PORT
KNOWN1=$SSHD_KNOWN
# another host key in known_hosts, and a user key the server does not know
ssh-keygen -q -t ed25519 -N '' -f "$T/other_host" </dev/null
echo "[127.0.0.1]:$PORT1 $(cut -d' ' -f1,2 "$T/other_host.pub")" >"$T/known_other"
: >"$T/known_none"
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" </dev/null
start_sshd crashy "$TEST_USER"
PORT2=$SSHD_PORT
PID2=$SSHD_PID

host() { # NAME PORT KEY KNOWN_HOSTS
	cat <<Y
  $1:
    address: 127.0.0.1
    port: $2
    user: $TEST_USER
    key_file: $3
    known_hosts_file: $4
Y
}
{
	echo "hosts:"
	host web1 "$PORT1" "$SSHD_USERKEY" "$KNOWN1"
	host changed "$PORT1" "$SSHD_USERKEY" "$T/known_other"
	host unknown "$PORT1" "$SSHD_USERKEY" "$T/known_none"
	host stranger "$PORT1" "$T/stranger" "$KNOWN1"
	host crashy "$PORT2" "$SSHD_USERKEY" "$SSHD_KNOWN"
} >"$T/config.yaml"

run_of() { # CASCADE TASK -> its last run
	"$SCAFFOLD" status -d "$D" -o json "$1" 2>/dev/null | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"name\":\"$2\"" |
		sed -n 's/.*"last_run":\([0-9]*\).*/\1/p'
}
log_has() { # RUN TEXT: the run's log has a line starting with TEXT
	grep -q "^$2" "$D/logs/$1.log" 2>/dev/null
}
states() { # apply's output -> "task:state:runs ..."
	printf '%s\n' "$1" | awk 'NR > 2 {printf "%s:%s:%s ", $1, $2, $3}'
}
no_time() { sed 's/ after [0-9a-z.]*$//'; }

# --- 1, 2: a changed or unknown host key, a wrong user key -------------------
cat >"$T/refused.yaml" <<Y
version: v1
name: refused
runner: ssh
tasks:
  - name: changed_key
    hosts: [changed]
    run: touch $T/shared/ran-changed
  - name: unknown_key
    hosts: [unknown]
    run: touch $T/shared/ran-unknown
  - name: wrong_key
    hosts: [stranger]
    run: touch $T/shared/ran-stranger
Y
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/refused.yaml"
is "$RC:$(states "$OUT")" "1:changed_key:error:1 unknown_key:error:1 wrong_key:error:1 " "the three runs end in error"
fp=$(ssh-keygen -lf "$T/sshd-web1/host_ed25519.pub" | cut -d' ' -f2)
run "$SCAFFOLD" logs -d "$D" refused changed_key
is "$(printf '%s\n' "$OUT" | sed -n '2,$p')" "scaffold: cannot start: host key of 'changed' (127.0.0.1:$PORT1) does not match known_hosts '$T/known_other' (it offered $fp)" \
	"a changed host key is refused, naming the host and the key it offered"
run "$SCAFFOLD" logs -d "$D" refused unknown_key
is "$(printf '%s\n' "$OUT" | sed -n '2,$p')" "scaffold: cannot start: host 'unknown' (127.0.0.1:$PORT1) is not in known_hosts '$T/known_none' (its key is $fp)" \
	"an unknown host key is refused, naming the host and its key"
run "$SCAFFOLD" logs -d "$D" refused wrong_key
is "$(printf '%s\n' "$OUT" | sed -n '2,$p')" "scaffold: cannot start: host 'stranger': authentication as '$TEST_USER' with key '$T/stranger' failed" \
	"a wrong user key is refused, naming the host, the user and the key"

# --- 3: a kill from another process -----------------------------------------
cat >"$T/long.yaml" <<Y
version: v1
name: long
runner: ssh
hosts: [web1]
tasks:
  - name: sleeper
    run: |
      printf '%s' "\$SCAFFOLD_RUN_DIR" >$T/shared/rundir-kill
      echo started
      sleep 59.$M &
      sleep 58.$M
Y
"$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/long.yaml" >"$T/long.out" 2>&1 &
apid=$!
started() { id=$(run_of long sleeper) && [ -n "$id" ] && log_has "$id" started &&
	[ "$(remote_pids '5[89]' | wc -w)" -eq 2 ]; }
ok wait_for 20 started "the task sleeps on the host, in two processes"
start=$(date +%s)
run "$SCAFFOLD" kill -d "$D" "$id"
is "$RC:$OUT" "0:kill requested for run $id" "kill is accepted"
wait $apid
rc=$?
apid=
is "$rc:$(states "$(cat "$T/long.out")")" "1:sleeper:killed:1 " "the run ends killed"
ok test $(($(date +%s) - start)) -lt 10 "at once"
is "$(remote_pids '5[89]')" "" "no process of its group is left on the host"
rundir=$(cat "$T/shared/rundir-kill")
is "${rundir%/*/run}" "$RUNS" "the killed run had its dir in the user's ~/.scaffold/runs"
ok test ! -e "${rundir%/run}" "which is removed"
run "$SCAFFOLD" logs -d "$D" long sleeper
is "$(printf '%s\n' "$OUT" | sed -n '2,$p' | no_time)" "started
scaffold: killed
scaffold: run $id ended killed" "the log says it was killed"

# --- 4: sshd killed mid-run --------------------------------------------------
cat >"$T/crash.yaml" <<Y
version: v1
name: crash
runner: ssh
hosts: [crashy]
tasks:
  - name: sleeper
    run: |
      printf '%s' "\$SCAFFOLD_RUN_DIR" >$T/shared/rundir-crash
      echo started
      sleep 57.$M
Y
"$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/crash.yaml" >"$T/crash.out" 2>&1 &
apid=$!
started() { id=$(run_of crash sleeper) && [ -n "$id" ] && log_has "$id" started; }
ok wait_for 20 started "the task sleeps on the host"
sshd_tree() { # the sshd processes under $1: one per connection, and its child
	for c in $(pgrep -P "$1" -x sshd); do
		echo "$c"
		sshd_tree "$c"
	done
}
sessions=$(sshd_tree "$PID2")
ok test -n "$sessions" "sshd serves the run's connection"
kill -KILL "$PID2" $sessions
start=$(date +%s)
wait $apid
rc=$?
apid=
is "$rc:$(states "$(cat "$T/crash.out")")" "1:sleeper:error:1 " "the task ends in error"
ok test $(($(date +%s) - start)) -lt 10 "at once"
run "$SCAFFOLD" logs -d "$D" crash sleeper
is "$(printf '%s\n' "$OUT" | sed -n '2,$p' | no_time)" "started
scaffold: lost contact with host 'crashy': the connection was closed
scaffold: run $id ended lost: lost contact with host 'crashy': the connection was closed" \
	"the run is lost, with the reason"
pids=$(remote_pids 57)
ok test -n "$pids" "its script still runs on the host (an adopt could find it)"
kill $pids

# --- 5: an input full of shell syntax ----------------------------------------
NASTY="it's a \"quoted\" \$(touch $PWNED) and \`touch $PWNED-bt\`
'; touch $PWNED; echo '
\"; touch $PWNED; echo \"
	tab, backslash \\ \\n %s \$HOME * ; | & > <
"
printf '%s' "$NASTY" >"$T/want"
cat >"$T/nasty.yaml" <<Y
version: v1
name: nasty
runner: ssh
hosts: [web1]
inputs:
  - name: NASTY
tasks:
  - name: remote
    inputs: {V: NASTY}
    run: |
      printf '%s' "\$V" >$T/shared/got
      printf '%s' "\$SCAFFOLD_RUN_DIR" >$T/shared/rundir-input
      W=\$V
    store: {env: [W]}
  - name: local
    runner: local
    load: {env: [W]}
    run: printf '%s' "\$W" >got-local
    store: {file: [got-local]}
    depends_on: [remote]
Y
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" -i "NASTY=$NASTY" "$T/nasty.yaml"
is "$RC:$(states "$OUT")" "0:remote:success:1 local:success:1 " "the cascade succeeds"
ok cmp "$T/want" "$T/shared/got" "the value arrives byte-exact in the remote script"
# the local task's sandbox shares nothing but its run dir: its stored
# file is in blobs/, named by its SHA-256
h=$(sha256sum "$T/want" | cut -c1-64)
rest=${h#??}
ok cmp "$T/want" "$D/blobs/${h%"$rest"}/$rest" "and comes back byte-exact as a stored env value"
is "$(ls -d "$PWNED"* 2>/dev/null)" "" "nothing in it was executed"
rundir=$(cat "$T/shared/rundir-input")
is "${rundir%/*/run}" "$RUNS" "the run had its dir in the user's ~/.scaffold/runs"
ok test ! -e "${rundir%/run}" "which is removed after the run"
is "$(LC_ALL=C ls "$T/shared" | tr "\n" " ")" "got rundir-crash rundir-input rundir-kill " \
	"the refused tasks never ran (only later scripts wrote here)"

# --- 6: the daemon killed mid-run, then restarted ----------------------------
tgit init -q --bare -b main "$T/repo.git"
tgit clone -q "$T/repo.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/adopt.yaml" <<Y
version: v1
name: adopt
runner: ssh
hosts: [web1]
tasks:
  - name: slow
    run: |
      printf '%s' "\$SCAFFOLD_RUN_DIR" >$T/shared/rundir-adopt
      echo begin
      sleep 54.$M &
      wait
      echo end
      sleep 0.5
      echo kept-on-host
      echo kept-file >out.txt
      V=kept-env
    store: {env: [V], file: [out.txt]}
  - name: after
    load: {env: [V], file: [out.txt]}
    run: echo "after \$V \$(cat out.txt)"
    depends_on: [slow]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m adopt && tgit push -q origin main 2>/dev/null)
{
	cat <<Y
data_dir: $T/sdata
listen: 127.0.0.1:0
poll_interval: 1s
repos: [{name: r, url: $T/repo.git}]
hosts:
Y
	host web1 "$PORT1" "$SSHD_USERKEY" "$KNOWN1"
} >"$T/serve.yaml"
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve1.log" &
spid=$!
srunning() { grep -q '^begin' "$T/sdata/logs/1.log" 2>/dev/null && [ -n "$(remote_pids 54)" ]; }
if wait_for 20 srunning; then
	ok true "the daemon starts the run on the host"
else
	ok false "the daemon starts the run on the host"
	sed 's/^/# serve: /' "$T/serve1.log"
fi
kill -KILL $spid
wait $spid 2>/dev/null
ok test -n "$(remote_pids 54)" "the remote script outlives the daemon"
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve2.log" &
spid=$!
if wait_for 10 grep -q "^scaffold: re-adopted" "$T/sdata/logs/1.log"; then
	ok true "the restarted daemon adopts the run"
else
	ok false "the restarted daemon adopts the run"
	sed 's/^/# serve: /' "$T/serve2.log"
fi
pids=$(remote_pids 54)
ok test -n "$pids" "while it still runs"
kill $pids # its sleep ends
done_ok() { "$SCAFFOLD" status -d "$T/sdata" adopt 2>/dev/null | grep -q 'after  *success'; }
ok wait_for 20 done_ok "the adopted run ends and the cascade finishes"
run "$SCAFFOLD" status -d "$T/sdata" -o json adopt
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"success","runs":1,"last_run":1},{"name":"after","state":"success","runs":1,"last_run":2}]}]}' \
	"the adopted run counts once"
# an adopted run is watched through its exit file; its output is a file on
# the host, read on from where the first daemon left it: nothing is lost
run "$SCAFFOLD" logs -d "$T/sdata" adopt slow
is "$(printf '%s\n' "$OUT" | no_time)" "scaffold: run 1 of adopt/slow, attempt 1, runner ssh
begin
scaffold: restarted: adopting run 1
scaffold: re-adopted after a restart
end
kept-on-host
scaffold: run 1 ended success" "the log shows the adoption, what the run wrote meanwhile, and the end"
run "$SCAFFOLD" logs -d "$T/sdata" adopt after
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "after kept-env kept-file" "the stored env and file reach the next task"
ok grep -q "adopted 1 run" "$T/serve2.log" "the daemon says it adopted the run"
rundir=$(cat "$T/shared/rundir-adopt")
is "${rundir%/*/run}" "$RUNS" "the adopted run had its dir in ~/.scaffold/runs"
ok test ! -e "${rundir%/run}" "which is removed after it"
kill -TERM $spid
wait $spid
is "$?" 0 "the daemon stops cleanly"
spid=
done_testing
