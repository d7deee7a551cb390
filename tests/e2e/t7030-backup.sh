#!/bin/sh
# scaffold backup while the daemon is mid-reconcile (a task running), and
# scaffold restore into a new dir: the same status, the password inputs
# still decrypt (secret.key travelled with the database), modes 0600/0700;
# a non-empty target and an archive escaping it are refused.
. "$(dirname "$0")/lib.sh"
D="$T/data"
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
spid=
cleanup() {
	[ -n "$spid" ] && kill_ours "$spid"
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
trap cleanup EXIT

PW=s3cret-4711
HASH=$(printf %s "$PW" | sha256sum | cut -c1-64)
tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/app.yaml" <<Y
version: v1
name: app
runner: local
inputs:
  - {name: PW, type: password}
tasks:
  - name: build
    run: echo built >out.txt
    store: {file: [out.txt]}
  - name: gate
    run: while [ ! -e $G/go ]; do sleep 0.05; done
    depends_on: [build]
  - name: checkpw
    inputs: {PW: PW}
    run: '[ "\$(printf %s "\$PW" | sha256sum | cut -c1-64)" = $HASH ]'
    depends_on: [gate]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m app && tgit push -q origin main 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 1s
local: {user: nobody}
repos:
  - {name: infra, url: $T/infra.git, branch: main, runners: [local]}
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
state() { # DIR TASK
	"$SCAFFOLD" status -d "$1" app 2>/dev/null | awk -v t="$2" '$1 == t {print $2}'
}
ok wait_for 20 sh -c "\"$SCAFFOLD\" status -d '$D' app 2>/dev/null | grep -q '^  gate *running'" \
	"mid-reconcile: build stored its file, gate runs"
ADMIN=$("$SCAFFOLD" token create ops --role admin -d "$D" 2>/dev/null)
printf %s "$PW" | SCAFFOLD_TOKEN=$ADMIN "$SCAFFOLD" input set -q --server "http://127.0.0.1:$PORT" app PW -
is "$?" 0 "a password input set through the daemon"

before=$("$SCAFFOLD" status -d "$D" -o json)
run "$SCAFFOLD" backup -d "$D" "$T/b.tar"
after=$("$SCAFFOLD" status -d "$D" -o json)
is "$RC:$(printf '%s\n' "$OUT" | sed 's/([0-9]* bytes)/(N bytes)/'):$ERR" \
	"0:$T/b.tar: the data dir '$D': the database, 1 blob, 2 logs, secret.key (N bytes):" \
	"a backup while the daemon runs: the database, the stored file, the logs, the key"
is "$before" "$after" "(the status did not move during the backup)"
is "$(stat -c %a "$T/b.tar")" 600 "the archive is private (it holds secret.key)"
is "$(tar -tf "$T/b.tar" | sed 's|blobs/../.*|blobs/HASH|' | tr '\n' ' ')" \
	"scaffold.db blobs/ logs/ blobs/HASH logs/1.log logs/2.log secret.key " \
	"the database first, then what it refers to, the key last"
ls "$T" | grep -q 'b.tar.' && fail=1 || fail=0
is "$fail" 0 "no temp file is left beside it"

# the daemon goes on: the gate opens, the password checks out
touch "$G/go"
ok wait_for 20 sh -c "\"$SCAFFOLD\" status -d '$D' app 2>/dev/null | grep -q '^  checkpw *success'" \
	"the original finishes, the password matching"

run "$SCAFFOLD" restore -d "$T/new" "$T/b.tar"
is "$RC:$OUT:$ERR" "0:$T/new: restored from '$T/b.tar': the database, 1 blob, 2 logs, secret.key:" \
	"restore into a new dir"
is "$("$SCAFFOLD" status -d "$T/new" -o json)" "$before" "its status equals the original's at the backup"
is "$(stat -c '%a %n' "$T/new" "$T/new"/* "$T/new"/blobs/* "$T/new"/blobs/*/* "$T/new"/logs/* | sed "s|$T/new|N|; s|blobs/[0-9a-f/]*|blobs/X|")" \
"700 N
700 N/blobs
700 N/logs
700 N/runs
600 N/scaffold.db
600 N/secret.key
700 N/blobs/X
600 N/blobs/X
600 N/logs/1.log
600 N/logs/2.log" "modes: 0700 dirs, 0600 files"
run "$SCAFFOLD" run -q -d "$T/new" --force app checkpw
is "$RC" 0 "in the restored dir, the password input decrypts (checkpw succeeds)"
is "$(state "$T/new" checkpw)" success "(checkpw is success there)"

# without secret.key, it would not: the key is what travels
mkdir "$T/nokey" && tar -xf "$T/b.tar" -C "$T/nokey" && rm "$T/nokey/secret.key"
(cd "$T/nokey" && tar -cf "$T/nokey.tar" scaffold.db blobs logs)
run "$SCAFFOLD" restore -d "$T/new2" "$T/nokey.tar"
is "$RC:$ERR" "0:scaffold restore: warning: '$T/nokey.tar' has no secret.key: password inputs stored before cannot be read" \
	"a backup without the key restores, with a warning"
run "$SCAFFOLD" run -q -d "$T/new2" --force app checkpw
is "$RC" 1 "and there the password input does not decrypt"

# refusals: a dir in use, members escaping the dir or not plain files
run "$SCAFFOLD" restore -d "$T/new" "$T/b.tar"
is "$RC:$ERR" "2:scaffold restore: '$T/new' is not empty: restore into a new or empty directory
usage: scaffold restore [-d DIR] [-q] BACKUP.tar" "a non-empty dir is refused"
python3 - "$T" <<'P'
import io, sys, tarfile
t = sys.argv[1]
def add(tf, name, data=b"x", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = link
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
for name, members in (("up", [("scaffold.db", tarfile.REGTYPE, ""), ("../evil", tarfile.REGTYPE, "")]),
                      ("abs", [("/tmp/evil", tarfile.REGTYPE, "")]),
                      ("link", [("logs", tarfile.SYMTYPE, "/etc")])):
    with tarfile.open(f"{t}/{name}.tar", "w") as tf:
        for n, k, l in members:
            add(tf, n, kind=k, link=l)
P
run "$SCAFFOLD" restore -d "$T/x" "$T/up.tar"
is "$RC:$ERR" "1:scaffold restore: '$T/up.tar': member '../evil' would land outside the directory: refused" "a member with .. is refused"
run "$SCAFFOLD" restore -d "$T/x" "$T/abs.tar"
is "$RC:$ERR" "1:scaffold restore: '$T/abs.tar': member '/tmp/evil' would land outside the directory: refused" "an absolute member is refused"
run "$SCAFFOLD" restore -d "$T/x" "$T/link.tar"
is "$RC:$ERR" "1:scaffold restore: '$T/link.tar': member 'logs' is not a plain file or directory: refused" "a symlink member is refused"
ok test ! -e "$T/evil" -a ! -e /tmp/evil "nothing was written outside"
is "$(ls -a "$T" | grep -c '^x')" 0 "and a refused archive leaves nothing behind"

done_testing
