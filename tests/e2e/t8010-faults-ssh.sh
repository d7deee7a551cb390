#!/bin/sh
# sshd killed mid-task under scaffold serve, then started again: the run
# in flight ends lost with the reason, another repository keeps running,
# the daemon keeps serving, and once sshd is back the next run on that
# host succeeds in the same daemon (it connects again).  (t3010 has the
# same fault under scaffold apply.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
. "$(dirname "$0")/faults.sh"
test_user
mkdir "$T/shared"
chmod 777 "$T/shared"
M=$$
remote_pids() { pgrep -u "$TEST_USER" -f "^sleep 5[0-9]\.$M\$" | tr '\n' ' '; }
RUNS=$(getent passwd "$TEST_USER" | cut -d: -f6)/.scaffold/runs
trap 'kill_ours $SPID $_sshd_pids; kill $(remote_pids) 2>/dev/null; wait 2>/dev/null
for f in "$T"/shared/rundir-*; do [ -f "$f" ] || continue; d=$(cat "$f")
case $d in "$RUNS"/*/run) rm -rf "${d%/run}" ;; esac; done; rm -rf "$T"' EXIT

start_sshd crashy "$TEST_USER"
HOST_PORT=$SSHD_PORT
SPID_SSHD=$SSHD_PID

cascade_remote() { # WORD SCRIPT
	cat <<Y
version: v1
name: remote
runner: ssh
hosts: [crashy]
tasks:
  - name: hello
    run: echo hello
  - name: sleeper
    run: |
      printf '%s' "\$SCAFFOLD_RUN_DIR" >$T/shared/rundir-$1
      echo "started $1"
      $2
    depends_on: [hello]
Y
}
new_repo remote
put remote remote.yaml "$(cascade_remote one "sleep 57.$M")"
push remote first
new_other one
serve_config remote other
cat >>"$T/scaffold.yaml" <<Y
hosts:
  crashy:
    address: 127.0.0.1
    port: $HOST_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
Y
serve_start serve.log
ok wait_for 30 state_is remote hello success:1 "a task runs on the host"
hello1=$(last_run remote hello)
"$SCAFFOLD" logs -d "$D" remote hello >"$T/hello1.log"
sleeping() { s=$(last_run remote sleeper) && [ -n "$s" ] &&
	grep -q '^started one' "$D/logs/$s.log" 2>/dev/null; }
ok wait_for 30 sleeping "the next one sleeps there"

# sshd dies, with the connection it serves
sshd_tree() {
	for c in $(pgrep -P "$1" -x sshd); do
		echo "$c"
		sshd_tree "$c"
	done
}
kill -KILL $SPID_SSHD $(sshd_tree $SPID_SSHD)
ok wait_for 30 state_is remote sleeper error:1 "the run in flight ends"
why="lost contact with host 'crashy': the connection was closed"
is "$(log_of remote sleeper)" "started one
scaffold: $why
scaffold: run $s ended lost: $why" "its log says why"
api "/api/v1/runs/$s"
is "$(printf '%s\n' "$RES" | grep -o '"state":"[a-z]*","exit_code":[0-9a-z-]*,"message":"[^"]*"')" \
	"\"state\":\"lost\",\"exit_code\":null,\"message\":\"$why\"" "and so does the API"
serving "the daemon serves without the host"
push_other two second
ok wait_for 30 state_is other say success:2 "another repository keeps running"
kill $(remote_pids) 2>/dev/null # a lost run's script stays on the host

# sshd comes back, the same server on the same port
"$SSHD" -D -e -f "$T/sshd-crashy/sshd_config" 2>>"$T/sshd-crashy/log" &
_sshd_pids="$_sshd_pids $!"
ok wait_for 10 ssh-keyscan -p "$HOST_PORT" -T 1 127.0.0.1 "sshd is back"
put remote remote.yaml "$(cascade_remote two "echo done two")"
push remote second
ok wait_for 60 state_is remote sleeper success:2 "the next run on the host succeeds in the same daemon"
is "$(log_of remote sleeper)" "started two
done two
scaffold: run $(last_run remote sleeper) ended success" "to the end"
is "$(state_of remote hello)" "success:1" "what did not change did not run again"
run "$SCAFFOLD" logs -d "$D" -r "$hello1" remote hello
is "$OUT" "$(cat "$T/hello1.log")" "the log of a run before the fault is kept"
serving "the daemon serves after the fault"
serve_stop
is "$?" 0 "the daemon stops cleanly"
done_testing
