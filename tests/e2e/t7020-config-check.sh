#!/bin/sh
# scaffold config check: the daemon's config loaded as serve loads it (the
# same messages), then the files it names (readable, secrets private, ssh
# keys that parse, known_hosts present); --connect fetches each repo and
# logs in to each host.  And validate, given a daemon config, says so.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
(cd "$T/work" && echo hi >README && tgit add -A && tgit commit -q -m one &&
	tgit push -q origin main 2>/dev/null)
head=$(cd "$T/work" && tgit rev-parse HEAD | cut -c1-12)
printf 'hook-secret\n' >"$T/hook" && chmod 600 "$T/hook"
printf 'forge-token\n' >"$T/token" && chmod 600 "$T/token"
ssh-keygen -q -t ed25519 -N '' -f "$T/key" </dev/null
ssh-keygen -q -t ed25519 -N 'pass phrase' -f "$T/locked" </dev/null
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$T/pem" </dev/null
echo "[127.0.0.1]:1 $(cut -d' ' -f1,2 "$T/key.pub")" >"$T/known"

# config FILE KEY TOKEN HOOK PORT: a config naming them
config() {
	cat >"$1" <<Y
data_dir: data
listen: 127.0.0.1:0
repos:
  - name: infra
    url: $T/infra.git
    webhook_secret_file: $4
    forge: {kind: gitea, api_url: 'http://127.0.0.1:1/api/v1', token_file: $3}
hosts:
  web1:
    address: 127.0.0.1
    port: $5
    user: ${USER_NAME:-deploy}
    key_file: $2
    known_hosts_file: $T/known
Y
}

config "$T/good.yaml" "$T/key" "$T/token" "$T/hook" 1
run "$SCAFFOLD" config check --config "$T/good.yaml"
is "$RC:$OUT:$ERR" "0:$T/good.yaml: ok (1 repo, 1 host):" "a good config: ok, exit 0"
config "$T/pem.yaml" "$T/pem" "$T/token" "$T/hook" 1
run "$SCAFFOLD" config check -c "$T/pem.yaml"
is "$RC:$OUT" "0:$T/pem.yaml: ok (1 repo, 1 host)" "a PEM key parses too"

# a bad key: the very messages serve gives
sed 's/^listen:/lisen:/' "$T/good.yaml" >"$T/badkey.yaml"
run "$SCAFFOLD" config check --config "$T/badkey.yaml"
is "$RC:$OUT:$ERR" "1::$T/badkey.yaml:2:1: error: unknown key 'lisen'; did you mean 'listen'?
$T/badkey.yaml: 1 error, 0 warnings" "a bad key: file:line:col, exit 1"
check_err=$(printf '%s\n' "$ERR" | sed '$d')
run "$SCAFFOLD" serve --config "$T/badkey.yaml"
is "$(printf '%s\n' "$ERR" | sed '$d')" "$check_err" "the same message serve gives"

# files: missing, a secret others can read, a key with a passphrase, a
# directory, a key that is not one, an empty secret
config "$T/missing.yaml" "$T/key" "$T/token" "$T/missing" 1
run "$SCAFFOLD" config check --config "$T/missing.yaml"
is "$RC:$OUT:$ERR" "1::$T/missing.yaml:6:26: error: repo 'infra': 'webhook_secret_file' names '$T/missing', which cannot be read: No such file or directory
$T/missing.yaml: 1 error, 0 warnings" "an unreadable file: named, with where (as serve says it)"
chmod 644 "$T/token"
config "$T/files.yaml" "$T/locked" "$T/token" "$T/hook" 1
run "$SCAFFOLD" config check --config "$T/files.yaml"
is "$RC:$OUT:$ERR" "1::$T/files.yaml:4:5: error: repo 'infra': forge.token_file '$T/token' is a secret that other users can read (mode 0644): chmod 600 '$T/token'
$T/files.yaml:9:3: error: host 'web1': key_file '$T/locked' is protected by a passphrase: scaffold cannot use it (ssh-keygen -p -N '' -f '$T/locked' removes it)
$T/files.yaml: 2 errors, 0 warnings" \
	"a world-readable secret, a locked key: each named, with where"
chmod 600 "$T/token"
mkdir "$T/adir"
cp "$T/known" "$T/notakey" && chmod 600 "$T/notakey"
config "$T/files2.yaml" "$T/notakey" "$T/token" "$T/adir" 1
run "$SCAFFOLD" config check --config "$T/files2.yaml"
is "$RC:$ERR" "1:$T/files2.yaml:4:5: error: repo 'infra': webhook_secret_file '$T/adir' is not a regular file
$T/files2.yaml:9:3: error: host 'web1': key_file '$T/notakey' is not an SSH private key (neither OpenSSH's format nor PEM)
$T/files2.yaml: 2 errors, 0 warnings" "a directory, a file that is no key"
: >"$T/empty" && chmod 600 "$T/empty"
config "$T/empty.yaml" "$T/key" "$T/token" "$T/empty" 1
run "$SCAFFOLD" config check --config "$T/empty.yaml"
is "$RC:$ERR" "1:$T/empty.yaml:4:5: error: repo 'infra': webhook_secret_file '$T/empty' is empty
$T/empty.yaml: 1 error, 0 warnings" "an empty secret (serve would refuse it at start)"
mkdir -m 755 "$T/data"
run "$SCAFFOLD" config check --config "$T/good.yaml"
is "$RC:$ERR" "1:$T/good.yaml: error: data dir '$T/data' is readable by other users (mode 0755): chmod 700 '$T/data'
$T/good.yaml: 1 error, 0 warnings" "a data dir others can read"
rmdir "$T/data"

# --connect: the repo fetched, the host logged in to; or why not
run "$SCAFFOLD" config check --config "$T/good.yaml" --connect
is "$RC:$OUT" "1:repo 'infra': fetched, branch 'main' at $head" "--connect to a host that is not there: exit 1"
is "$ERR" "$T/good.yaml:9:3: error: host 'web1' (127.0.0.1:1): cannot connect: Connection refused
$T/good.yaml: 1 error, 0 warnings" "the host's error names it"

test_user
start_sshd web1 "$TEST_USER"
cp "$SSHD_KNOWN" "$T/known"
USER_NAME=$TEST_USER config "$T/live.yaml" "$SSHD_USERKEY" "$T/token" "$T/hook" "$SSHD_PORT"
run "$SCAFFOLD" config check --config "$T/live.yaml" --connect
is "$RC:$OUT:$ERR" "0:repo 'infra': fetched, branch 'main' at $head
host 'web1': logged in as '$TEST_USER' (home $(getent passwd "$TEST_USER" | cut -d: -f6))
$T/live.yaml: ok (1 repo, 1 host, all reached):" "--connect: one line for each repo and host reached"
sed "s|url: $T/infra.git|url: $T/nothere.git|" "$T/live.yaml" >"$T/gone.yaml"
run "$SCAFFOLD" config check --config "$T/gone.yaml" --connect
is "$RC:$(printf '%s\n' "$OUT" | sed 's/(home .*)/(home H)/')" "1:host 'web1': logged in as '$TEST_USER' (home H)" \
	"a repo that cannot be fetched: exit 1; the host still reached"
ok sh -c "printf '%s\n' \"\$0\" | grep -q \"^$T/gone.yaml:4:5: error: .*nothere.git\"" "$ERR" \
	"and the repo's error names it, where it is"

# validate, given a daemon config
run "$SCAFFOLD" validate "$T/good.yaml"
is "$RC:$ERR" "1:$T/good.yaml:1:1: error: this looks like a daemon config (top-level 'data_dir'), not a cascade: check it with 'scaffold config check --config $T/good.yaml'
1 error, 0 warnings in 1 file" "validate points a daemon config to config check"

run "$SCAFFOLD" config chek
is "$RC:$ERR" "2:scaffold config: unknown subcommand 'chek' (expected 'check')
usage: scaffold config check [--config FILE] [--connect] [-q]" "a usage error"
done_testing
