#!/bin/sh
# The output a run keeps (issue 15, item 7): a task that floods its
# output is cut at limits.run_log with a note, goes on, and ends with its
# real exit status; its log says how many bytes were dropped; a .display
# over 1 MiB is not kept, whatever the task.  With the local runner, and
# with the ssh runner against a throwaway sshd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
test_user
D="$T/data"
CAP=65536
MB=3000000 # bytes the flood prints

start_sshd web1 "$TEST_USER"
cat >"$T/config.yaml" <<Y
limits: {run_log: 64K}
hosts:
  web1:
    address: 127.0.0.1
    port: $SSHD_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
Y

cascade() { # NAME RUNNER-LINES
	cat <<Y
version: v1
name: $1
$2
tasks:
  - name: flood
    run: |
      echo start
      head -c $MB /dev/zero | tr '\\0' x
      echo "the run went on" >&2
      exit 3
  - name: quiet
    run: |
      head -c $MB /dev/zero | tr '\\0' y
      echo
  - name: display
    run: |
      head -c 1100000 /dev/zero | tr '\\0' ' ' > "\$SCAFFOLD_RUN_DIR/.display"
      echo shown
Y
}

check() { # CASCADE RUNNER
	run "$SCAFFOLD" status -d "$D" "$1"
	is "$(printf '%s\n' "$OUT" | awk 'NR > 2 { print $1, $2 }' | tr '\n' ' ')" \
		"flood error quiet success display success " \
		"$2: the floods end with their real exit status (3, 0)"

	"$SCAFFOLD" logs -d "$D" "$1" flood >"$T/flood.log"
	head=$(head -1 "$T/flood.log" | wc -c)
	is "$(head -c $CAP "$T/flood.log" | tail -c +$((head + 1)) | tr -d x)" "start" \
		"$2: the log keeps the output up to the cap, byte for byte"
	is "$(tail -c +$((CAP + 1)) "$T/flood.log" | sed 's/ after [0-9.]*m*s$/ after T/')" "
scaffold: output cut at 64 KiB (limits: {run_log}): the rest of the output is dropped
scaffold: output cut at 64 KiB: $((6 + MB + 16 - (CAP - head))) bytes dropped
scaffold: run $(head -1 "$T/flood.log" | cut -d' ' -f3) ended error: exit code 3 after T" \
		"$2: past the cap, the note of the cut, of the bytes dropped, and the real end"

	"$SCAFFOLD" logs -d "$D" "$1" quiet >"$T/quiet.log"
	head=$(head -1 "$T/quiet.log" | wc -c)
	is "$(tail -c +$((CAP + 1)) "$T/quiet.log" | sed 's/ after [0-9.]*m*s$/ after T/')" "
scaffold: output cut at 64 KiB (limits: {run_log}): the rest of the output is dropped
scaffold: output cut at 64 KiB: $((MB + 1 - (CAP - head))) bytes dropped
scaffold: run $(head -1 "$T/quiet.log" | cut -d' ' -f3) ended success after T" \
		"$2: a successful flood succeeds, cut the same way"

	run "$SCAFFOLD" logs -d "$D" "$1" display
	is "$(printf '%s\n' "$OUT" | sed -n '2,3p')" "shown
scaffold: .display not kept: it is larger than 1 MiB" \
		"$2: a .display over 1 MiB is not kept, for a task that maps no secret"
}

cascade cap-local "runner: local" >"$T/local.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/local.yaml"
is "$RC" 1 "local: apply reports the failed task"
check cap-local local

cascade cap-ssh "runner: ssh
hosts: [web1]" >"$T/ssh.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/ssh.yaml"
is "$RC" 1 "ssh: apply reports the failed task"
check cap-ssh ssh
done_testing
