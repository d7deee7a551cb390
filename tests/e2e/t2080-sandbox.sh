#!/bin/sh
# A push cannot own scaffold (issue 14): a local task of one repository,
# run as the unprivileged local.user, cannot read the data dir (secret.key,
# scaffold.db, the logs and run dirs of other runs), the config or a
# webhook secret file, even when those are readable by everyone; cannot
# write anywhere but its run dir and a /tmp of its own; sees no process
# but its own (not the daemon's command line), inherits no descriptor of
# the daemon, cannot gain privileges; and its setsid child is gone when
# the run ends.  Everything lives outside /tmp here, as on a real host,
# since a task's /tmp is its own and would hide paths under it anyway.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root: the task runs as the real user nobody"
id nobody >/dev/null 2>&1 || skip_all "no user 'nobody' on this machine"
W=$(mktemp -d /var/lib/scaffold-t2080.XXXXXX) || skip_all "cannot make a dir in /var/lib"
trap 'rm -rf "$T" "$W"' EXIT
chmod 755 "$W"
D="$W/data"
M=$$
export HOME="$T/home"
mkdir -p "$HOME"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR

# the secrets, readable by anyone: only the sandbox keeps them from a task
printf 'hook-secret-%s\n' "$M" >"$W/b.secret"
chmod 644 "$W/b.secret"

new_repo() { # NAME
	tgit init -q --bare -b main "$W/$1.git"
	tgit clone -q "$W/$1.git" "$W/$1" 2>/dev/null
	mkdir -p "$W/$1/.scaffold"
}
push() { # NAME MSG
	(cd "$W/$1" && tgit add -A && tgit commit -q -m "$2" &&
		tgit push -q origin main 2>/dev/null)
}

# repo a: a password input, stored encrypted with secret.key
new_repo a
cat >"$W/a/.scaffold/vault.yaml" <<'Y'
version: v1
name: vault
inputs:
  - {name: PW, type: password, default: "s3cr3t-of-a"}
tasks:
  - name: keep
    image: alpine:3.19
    inputs: {P: PW}
    run: "true"
    auto_execute: false
Y
push a "a password"

# repo b: a local task that tries what a hostile push would
new_repo b
cat >"$W/b/.scaffold/probe.yaml" <<Y
version: v1
name: probe
runner: local
tasks:
  - name: first
    run: echo first >mine.txt
  - name: peek
    depends_on: [first]
    run: |
      set +e
      try() { if cat "\$1" >/dev/null 2>&1; then echo "read \$2"; else echo "cannot read \$2"; fi; }
      try "$D/secret.key" secret.key
      try "$D/scaffold.db" scaffold.db
      try "$D/logs/1.log" "the first run's log"
      try "$W/scaffold.yaml" "the config"
      try "$W/b.secret" "the webhook secret"
      echo "data dir: \$(ls -A "$D" | tr '\n' ' ')"
      echo "runs: \$(ls -A "$D/runs" | tr '\n' ' ')"
      if touch "$D/x" 2>/dev/null; then echo "wrote the data dir"; else echo "cannot write the data dir"; fi
      if touch "$W/x" 2>/dev/null; then echo "wrote $W"; else echo "cannot write elsewhere"; fi
      touch /tmp/own && echo "its own /tmp"
      touch here && echo "its run dir"
      echo "user: \$(id -un)"
      echo "processes: \$(ls /proc | grep -c '^[0-9]')"
      if [ -e /proc/1 ]; then echo "pid 1: \$(tr '\0' ' ' </proc/1/cmdline)"; else echo "pid 1 is not to be seen"; fi
      if grep -qF "$W" /proc/[0-9]*/cmdline 2>/dev/null; then echo "sees the config path"; else echo "no config path"; fi
      echo "fds: \$(ls /proc/self/fd | tr '\n' ' ')"
      grep '^NoNewPrivs' /proc/self/status
      setsid sleep 4711.$M &
      echo done
Y
push b "a probe"

cat >"$W/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
local: {user: nobody}
repos:
  - name: a
    url: $W/a.git
  - name: b
    url: $W/b.git
    runners: [local]
    webhook_secret_file: b.secret
Y
chmod 644 "$W/scaffold.yaml"
"$SCAFFOLD" serve --config "$W/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
serve_port "$T/serve.log"

peek_done() {
	[ "$("$SCAFFOLD" status -d "$D" probe 2>/dev/null |
		awk '$1 == "peek" { print $2 }')" = success ]
}
ok wait_for 30 peek_done "the probe ran"
run "$SCAFFOLD" logs -d "$D" probe peek
# run 1 is first, run 2 is peek; fds: ls's own directory is the one
# above 2
is "$(printf '%s\n' "$OUT" | sed '1d;$d')" "cannot read secret.key
cannot read scaffold.db
cannot read the first run's log
cannot read the config
cannot read the webhook secret
data dir: runs 
runs: 2 
cannot write the data dir
cannot write elsewhere
its own /tmp
its run dir
user: nobody
processes: 4
pid 1 is not to be seen
no config path
fds: 0 1 2 3 
NoNewPrivs:	1
done" "a local task sees none of the daemon, writes only its own places, as nobody"
sleep 0.3
is "$(pgrep -f "^sleep 4711\.$M\$" | wc -l | tr -d ' ')" 0 "its setsid child ended with the run"
is "$(stat -c '%a' "$D" "$D/scaffold.db" "$D/secret.key" | tr '\n' ' ')" "700 600 600 " \
	"the data dir is 0700, the database and the key 0600"
is "$(grep -c 's3cr3t-of-a' "$D/scaffold.db")" 0 "the password of repo a is not in the database in plaintext"

kill -TERM $SPID
wait $SPID
is "$?" 0 "SIGTERM stops the daemon cleanly"
done_testing
