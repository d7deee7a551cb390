#!/bin/sh
# The output a run keeps (issue 15, item 7): a task that floods its
# output is cut at limits.run_log with a note, goes on, and ends with its
# real exit status; its log says how many bytes were dropped; a .display
# over 1 MiB is not kept, whatever the task.  With the local runner, and
# with the ssh runner against a throwaway sshd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
test_user
. "$(dirname "$0")/run-output.sh"
D="$T/data"

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

cascade cap-local "runner: local" >"$T/local.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/local.yaml"
is "$RC:$ERR" "1:" "local: apply reports the failed task"
check cap-local local

cascade cap-ssh "runner: ssh
hosts: [web1]" >"$T/ssh.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/ssh.yaml"
is "$RC:$ERR" "1:" "ssh: apply reports the failed task"
check cap-ssh ssh
done_testing
