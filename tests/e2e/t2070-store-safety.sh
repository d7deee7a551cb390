#!/bin/sh
# Stored files are collected safely (issue 14, item 4), with scaffold apply
# and the local runner: a file from outside the run dir hard-linked in is
# refused; a task that keeps swapping its stored file between a regular
# file and a symlink to an outside file never gets the outside file
# stored; the data dir is 0700 and its database files 0600, and a data dir
# other users can read is refused, naming the fix.
#
# The size caps (limits.store_file, limits.store_run) are tested in the
# unit tests (test_collect.c, test_ssh.c, test_docker.c): scaffold apply has
# no way to set them small.
. "$(dirname "$0")/lib.sh"

# A file the task can read but must not be able to store.
SECRET="outside-secret-$$-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$SECRET" >"$T/outside.txt"
chmod 644 "$T/outside.txt"

# in_blobs DATA: how many blobs hold the outside file's content
in_blobs() {
	grep -rlF "$SECRET" "$1/blobs" 2>/dev/null | wc -l
}

# (a) a hard link to a file outside the run dir: the sandbox's mounts keep
# it from being made at all; and a file of the run with another name is
# refused, so that the check does not count on the sandbox
D="$T/data-a"
cat >"$T/hardlink.yaml" <<Y
version: v1
name: hardlink
runner: local
tasks:
  - name: steal
    run: ln /etc/passwd out.txt
    store: {file: [out.txt]}
  - name: twice
    run: echo mine >other; ln other out.txt
    store: {file: [out.txt]}
Y
run "$SCAFFOLD" apply -d "$D" "$T/hardlink.yaml"
is "$RC" 1 "a task storing a hard link: apply exits 1"
is "$(echo "$ERR" | grep '^info: run' | sed 's/ ([0-9.]*m*s)$//' | sort)" "info: run 1 hardlink/steal: error, exit code 1
info: run 2 hardlink/twice: error, store file 'out.txt' has other hard links" \
	"the runs end error, naming the file and why"
run "$SCAFFOLD" logs -d "$D" hardlink steal
is "$(echo "$OUT" | sed -n '2p')" "ln: failed to create hard link 'out.txt' => '/etc/passwd': Invalid cross-device link" \
	"a file from outside the run dir cannot be linked into it"
run "$SCAFFOLD" logs -d "$D" hardlink twice
is "$(echo "$OUT" | sed -n '2p;3s/ after .*//p')" "scaffold: store file 'out.txt' has other hard links
scaffold: run 2 ended error: store file 'out.txt' has other hard links" \
	"its log says why"
is "$(ls "$D/blobs")" "" "nothing was stored at all"

# (b) the symlink swap race: each task leaves a swapper behind, in a
# session of its own, that keeps replacing out.txt (atomically, by rename)
# with a regular file or with a symlink to the outside file while scaffold
# collects it.  24 tasks; each run stores the regular content or ends
# error saying out.txt is a symlink.
D="$T/data-b"
N=24
{
	printf 'version: v1\nname: race\nrunner: local\ntasks:\n'
	i=1
	while [ $i -le $N ]; do
		cat <<Y
  - name: t$i
    run: |
      echo regular-$i > good
      cp good out.txt
      setsid sh -c '
        n=0
        while [ ! -e "$T/stop" ] && [ \$n -lt 20000 ]; do
          cp good out.tmp && mv -f out.tmp out.txt
          ln -sf "$T/outside.txt" lnk.tmp && mv -Tf lnk.tmp out.txt
          n=\$((n + 1))
        done' </dev/null >/dev/null 2>&1 &
      sleep 0.2
    store: {file: [out.txt]}
Y
		i=$((i + 1))
	done
} >"$T/race.yaml"
"$SCAFFOLD" apply -d "$D" -j 4 "$T/race.yaml" >"$T/race.out" 2>&1 &
APID=$!
# the WAL and its index exist while scaffold has the database open
wait_for 20 test -e "$D/scaffold.db-shm"
WALMODES=$(stat -c %a "$D/scaffold.db" "$D/scaffold.db-wal" "$D/scaffold.db-shm" 2>&1)
wait $APID
RC=$?
touch "$T/stop"
ok test "$RC" -le 1 "the race cascade ran to its end"
stored=0
refused=0
bad=""
i=1
while [ $i -le $N ]; do
	last=$("$SCAFFOLD" logs -d "$D" race "t$i" | tail -1 | sed 's/ after [0-9.]*m*s$//')
	case $last in
	"scaffold: run "*" ended success")
		stored=$((stored + 1)) ;;
	"scaffold: run "*" ended error: store file 'out.txt' is a symlink")
		refused=$((refused + 1)) ;;
	*)
		bad="$bad t$i: $last;" ;;
	esac
	i=$((i + 1))
done
echo "# race: $stored runs stored the regular file, $refused refused a symlink"
is "$bad" "" "every run stored the regular file or ended error: out.txt is a symlink"
is "$((stored + refused))" "$N" "all $N runs ended"
is "$(in_blobs "$D")" 0 "no blob holds the outside file's content"
n=0
for f in $(find "$D/blobs" -type f); do
	case $(cat "$f") in regular-[0-9]*) n=$((n + 1)) ;; esac
done
is "$n" "$stored" "each stored blob is a task's regular content"
# the swappers stop on their own now
wait_for 10 sh -c "! pgrep -f '[l]nk[.]tmp' >/dev/null"

# (d) modes of the data dir and its files
D="$T/data-a"
is "$(stat -c %a "$D" "$D/blobs" "$D/logs" "$D/runs")" "700
700
700
700" "the data dir and blobs/, logs/, runs/ are 0700"
is "$(stat -c %a "$D/scaffold.db" "$D/secret.key" "$D/logs/1.log")" "600
600
600" "scaffold.db, secret.key and the logs are 0600"
is "$WALMODES" "600
600
600" "scaffold.db, its -wal and -shm are 0600 while apply runs"
D="$T/data-b"
is "$(find "$D/blobs" -type f ! -perm 600 | wc -l)" 0 "stored blobs are 0600"

# a data dir other users can read is refused, naming the fix
mkdir -m 755 "$T/open"
run "$SCAFFOLD" apply -d "$T/open" "$T/hardlink.yaml"
is "$RC:$ERR" "1:scaffold apply: data dir '$T/open' is readable by other users (mode 0755): chmod 700 '$T/open'" \
	"apply on a data dir of mode 0755 is refused, naming the fix"
# (only the lock file, taken before the store is opened)
is "$(ls "$T/open" | grep -v '^lock$')" "" "and nothing is created in it"
chmod 755 "$T/data-a"
run "$SCAFFOLD" status -d "$T/data-a"
is "$RC:$ERR" "1:scaffold status: data dir '$T/data-a' is readable by other users (mode 0755): chmod 700 '$T/data-a'" \
	"status on an existing data dir opened up is refused too"
chmod 700 "$T/data-a"
run "$SCAFFOLD" status -d "$T/data-a"
is "$RC" 0 "after chmod 700 it opens again"
is "$(echo "$OUT" | tail -2)" "  steal                    error            1  1
  twice                    error            1  2" "and shows the runs"

done_testing
