#!/bin/sh
# gitsync over ssh:// against a throwaway sshd: the host key is checked
# against known_hosts, and a mismatch is refused with the fingerprint.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
D="$T/data"
me=$(id -un)

start_sshd main "$me"
tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
printf 'version: v1\nname: viassh\nrunner: local\ntasks: [{name: hello, run: "echo over ssh"}]\n' >"$T/work/.scaffold/c.yaml"
(cd "$T/work" && tgit add -A && tgit commit -q -m "over ssh" && tgit push -q origin main 2>/dev/null)

# a known_hosts naming another key for the same host
ssh-keygen -q -t ed25519 -N '' -f "$T/other" </dev/null
echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$T/other.pub")" >"$T/wrong_known_hosts"
fp=$(ssh-keygen -lf "$SSHD_HOSTKEY" | cut -d' ' -f2)

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 1s
fetch_timeout: 10s
local: {user: nobody}
repos:
  - name: infra
    url: ssh://$me@127.0.0.1:$SSHD_PORT$T/infra.git
    runners: [local]
    credentials:
      ssh_key_file: $SSHD_USERKEY
      known_hosts_file: $SSHD_KNOWN
  - name: spoofed
    url: ssh://$me@127.0.0.1:$SSHD_PORT$T/infra.git
    credentials:
      ssh_key_file: $SSHD_USERKEY
      known_hosts_file: $T/wrong_known_hosts
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
_sshd_pids="$_sshd_pids $spid"

hello_ok() { "$SCAFFOLD" status -d "$D" viassh 2>/dev/null | grep -q 'hello  *success'; }
ok wait_for 30 hello_ok "a cascade fetched over ssh:// runs"
run "$SCAFFOLD" logs -d "$D" viassh hello
is "$(echo "$OUT" | sed -n 2p)" "over ssh" "with the pushed definition"

spoof_err() { "$SCAFFOLD" repos -d "$D" | grep -q "spoofed.*does not match"; }
ok wait_for 30 spoof_err "a host key mismatch is refused"
run "$SCAFFOLD" repos -d "$D" -o json
is "$(printf '%s\n' "$OUT" | tr -d '\n' | sed 's/.*"name": "spoofed"//' | grep -o '"last_error": "[^"]*"' | head -1)" "\"last_error\": \"repo 'spoofed': host key of '[127.0.0.1]:$SSHD_PORT' does not match known_hosts '$T/wrong_known_hosts' (it offered $fp)\"" "naming the host and the offered key's fingerprint"
is "$(printf '%s\n' "$OUT" | tr -d '\n' | sed 's/.*"name": "spoofed"//' | grep -o '"applied": [^,]*' | head -1)" '"applied": null' "and nothing from it is applied"

kill -TERM $spid
wait $spid
is "$?" 0 "the daemon stops cleanly"
done_testing
