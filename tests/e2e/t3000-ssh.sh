#!/bin/sh
# The ssh runner against real OpenSSH servers: the Scaffold "simple"
# example over ssh (a file and an env value passed between hosts), and
# the host-maintenance example fanned out across three hosts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
test_user
D="$T/data"

{
	echo "hosts:"
	for h in web1 web2 web3; do
		start_sshd "$h" "$TEST_USER"
		cat <<Y
  $h:
    address: 127.0.0.1
    port: $SSHD_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
Y
	done
} >"$T/config.yaml"

# the simple example: write on web1, store env on web2, print on web3
sed -e '/image: ubuntu/d' -e 's,/tmp/run,"$SCAFFOLD_RUN_DIR",' \
	-e 's/^name: foobar/name: foobar-ssh\nrunner: ssh/' \
	-e 's/^  - name: write_file/  - name: write_file\n    hosts: [web1]/' \
	-e 's/^  - name: store_env_var/  - name: store_env_var\n    hosts: [web2]/' \
	-e 's/^  - name: print_file_and_env/  - name: print_file_and_env\n    hosts: [web3]/' \
	"$SRC/examples/simple.yaml" >"$T/simple.yaml"
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/simple.yaml"
is "$RC" 0 "the simple example runs over ssh"
run "$SCAFFOLD" logs -d "$D" foobar-ssh print_file_and_env
is "$(printf '%s\n' "$OUT" | sed -n '2,4p')" "myFile.txt
FOOBAR
Hello world" "a file and an env value pass between hosts"

# host maintenance across three hosts
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" -i MONITORING_TOKEN=tok "$SRC/examples/host-maintenance.yaml"
is "$RC" 0 "host maintenance succeeds on three hosts"
is "$(printf '%s\n' "$OUT" | awk 'NR > 2 && $1 != "check:" && $1 != "host" {print $1 ":" $2 ":" $3}' | tr '\n' ' ')" "disable_monitoring:success:3 pre_checks:success:3 drain:success:3 patch:success:3 reboot:success:3 post_checks:success:3 undrain:success:3 enable_monitoring:success:3 " "every task ran once on each host"
is "$(printf '%s\n' "$OUT" | awk '$1 == "host" {print $2, $5}' | sort | uniq -c | awk '{print $1, $2, $3}' | tr '\n' ' ')" \
	"8 web1: success 8 web2: success 8 web3: success " "status: each task's last run on each host succeeded"
done_testing
