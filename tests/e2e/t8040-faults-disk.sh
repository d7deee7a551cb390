#!/bin/sh
# The data dir's disk full under scaffold serve: the data dir is a small
# tmpfs, filled up while a run writes its log and stores a file.  The run
# ends in error naming what could not be written and why, the daemon keeps
# serving, the database stays intact, and once space is freed a new push is
# reconciled normally with nothing recorded before lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"

mkdir -p "$D"
mount -t tmpfs -o size=24m,mode=0700 tmpfs "$D" 2>"$T/mount.err" ||
	skip_all "cannot mount a tmpfs (needs root): $(cat "$T/mount.err")"
# the gates the tasks wait for: outside /tmp, which a local task has its
# own of, and readable by the task user
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; umount "$D"; rm -rf "$T" "$G"' EXIT

# app: writer prints a long log once $G/gate1 exists; keeper makes a
# file to store first, then waits for $G/gate2
cascade_app() { # WORD
	cat <<Y
version: v1
name: app
runner: local
tasks:
  - name: writer
    run: |
      echo "writer $1"
      while [ ! -e "$G/gate1" ]; do sleep 0.1; done
      i=0
      while [ \$i -lt 3000 ]; do echo "line \$i of the $1 log, padded to be long enough to need a few pages"; i=\$((i + 1)); done
      V=$1
    store: {env: [V]}
  - name: keeper
    run: |
      head -c 3000000 /dev/urandom >out.bin
      echo "keeper $1 ready"
      while [ ! -e "$G/gate2" ]; do sleep 0.1; done
      echo kept
    store: {file: [out.bin]}
  - name: reader
    load: {env: [V], file: [out.bin]}
    run: echo "reader \$V \$(wc -c <out.bin)"
    depends_on: [writer, keeper]
Y
}
new_repo app
put app app.yaml "$(cascade_app one)"
push app first
new_other one
serve_config app other
touch "$G/gate1" "$G/gate2"
serve_start serve.log
ok wait_for 30 state_is app reader success:1 "before the disk fills, the cascade runs"
ok wait_for 30 state_is other say success:1 "and the other one"
is "$(log_of app reader)" "reader one 3000000
scaffold: run $(last_run app reader) ended success" "the stored file and env reached the reader"
before=$("$SCAFFOLD" status -d "$D" -o json)
for t in writer keeper reader; do
	eval "${t}1=\$(last_run app $t)"
	"$SCAFFOLD" logs -d "$D" app $t >"$T/before-$t.log"
done

# a revision whose runs write while the disk is full
rm "$G/gate1" "$G/gate2"
put app app.yaml "$(cascade_app two)"
push app second
ready() { w=$(last_run app writer) && k=$(last_run app keeper) &&
	grep -q '^writer two' "$D/logs/$w.log" 2>/dev/null &&
	grep -q '^keeper two ready' "$D/logs/$k.log" 2>/dev/null; }
ok wait_for 30 ready "the runs start"
# fill it, but for 256 KB that are given back later
head -c 262144 /dev/zero >"$D/reserve"
dd if=/dev/zero of="$D/filler" bs=1M 2>/dev/null
dd if=/dev/zero of="$D/filler2" bs=4k 2>/dev/null
is "$(df -P "$D" | awk 'NR == 2 {print $4}')" 0 "the disk is full"

# 1. writer's log cannot be written, nor its end recorded, for now
touch "$G/gate1"
ok wait_for 30 grep -q "exec: run $w: cannot record its end (store: " "$T/serve.log" "the run ends, but the store cannot record it"
is "$(untimed "$T/serve.log" | grep "exec: run $w: cannot record its end")" \
	"warn: exec: run $w: cannot record its end (store: database or disk is full); trying again every 1s" \
	"the daemon log says so, and that it tries again"
serving "the daemon serves with the disk full"
is "$(state_of app writer)" "running:2" "meanwhile the run is still recorded running"
ok test "$(sqlite3 "$D/scaffold.db" 'PRAGMA integrity_check')" = ok "the database is intact"
push_other two second
sleep 2
is "$(state_of other say)" "success:1" "another repository's push waits (its fetch needs space)"
ok grep -q "^$TIME warn: gitsync: repo 'other': cannot fetch '$T/other.git': cannot extend packfile '$D/mirrors/other.git/objects/pack/pack_git2_[0-9a-f]*': No space left on device (the last good revision stays active; retrying with backoff)$" "$T/serve.log" \
	"the daemon log names the repo, the file it could not write and why"
is "$(grep -c "gitsync: repo 'app': store: save repo: database or disk is full" "$T/serve.log")" 1 \
	"a repository whose state cannot be saved says so once"

# 2. some space back: the end is recorded; keeper's file cannot be stored
rm "$D/reserve"
ok wait_for 30 state_is app writer error:2 "with some space back, the run's end is recorded: error"
ok grep -q "exec: run $w: its end is recorded now" "$T/serve.log" "the daemon log says so"
api "/api/v1/runs/$w"; echo "# RES $RES" | cut -c1-600
is "$(printf '%s\n' "$RES" | grep -o '"state":"[a-z]*","exit_code":[0-9-]*,"message":"[^"]*"')" \
	"\"state\":\"error\",\"exit_code\":1,\"message\":\"exit code 1; its log is incomplete: cannot write '$D/logs/$w.log': No space left on device\"" \
	"the run's error names the log it could not write, and why"
touch "$G/gate2"
ok wait_for 30 state_is app keeper error:2 "a run whose file cannot be stored ends in error"
api "/api/v1/runs/$k"
# (the runner copies a stored file out of the run dir, into the run's
# work dir in the data dir, before it goes to blobs/: that copy is what
# the full disk refuses)
is "$(printf '%s\n' "$RES" | grep -o '"state":"[a-z]*","exit_code":[0-9-]*,"message":"[^"]*"')" \
	"\"state\":\"error\",\"exit_code\":0,\"message\":\"store file 'out.bin': cannot write '$D/runs/$k/store/0': No space left on device\"" \
	"its error names the file it could not store, and why"
is "$(log_of app keeper)" "keeper two ready
kept
scaffold: store file 'out.bin': cannot write '$D/runs/$k/store/0': No space left on device
scaffold: run $k ended error: store file 'out.bin': cannot write '$D/runs/$k/store/0': No space left on device" \
	"its log says so"
is "$(state_of app reader)" "skipped:1" "the task that needs its file does not run: skipped, as its parent failed"

# 3. the disk has room again: everything goes on
rm "$D/filler" "$D/filler2"
ok wait_for 30 state_is other say success:2 "the other repository's push is reconciled"
put app app.yaml "$(cascade_app three)"
push app third
ok wait_for 30 state_is app reader success:2 "a new push to the app is reconciled and runs"
is "$(log_of app reader)" "reader three 3000000
scaffold: run $(last_run app reader) ended success" "with its stored file and env"
for t in writer keeper reader; do
	eval "_id=\$${t}1"
	"$SCAFFOLD" logs -d "$D" -r "$_id" app $t >"$T/after-$t.log" 2>&1
	ok cmp "$T/before-$t.log" "$T/after-$t.log" "$t: the log of its run before the fault is intact"
done
ok test "$(sqlite3 "$D/scaffold.db" 'PRAGMA integrity_check')" = ok "the database is intact"
is "$(find "$D/blobs" "$D/mirrors" -name '.tmp-*' -o -name 'pack_git2_*' | wc -l)" 0 "no half-written blob or pack is left"
serving "the daemon serves after the disk was full"
serve_stop
is "$?" 0 "the daemon stops cleanly"
done_testing
