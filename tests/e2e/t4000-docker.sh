#!/bin/sh
# The docker runner against a real Docker engine: the Scaffold "simple"
# example (a file and an env value passed between containers), a failing
# script, a timeout, a kill, a missing image, the engine stopped mid-run,
# and re-adoption after the daemon is restarted mid-run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
D="$T/data"
IMG=scaffold-test:busybox
start_dockerd
import_image "$IMG"

# scaffold talks to the test's engine through the daemon config, or for
# apply through SCAFFOLD_DOCKER_SOCKET
export SCAFFOLD_DOCKER_SOCKET="$DOCKER_SOCK"

sed "s/ubuntu:20.04/$IMG/" "$SRC/examples/simple.yaml" >"$T/simple.yaml"
run "$SCAFFOLD" apply -q -d "$D" "$T/simple.yaml"
is "$RC" 0 "the simple example succeeds in containers"
run "$SCAFFOLD" logs -d "$D" foobar print_file_and_env
is "$(printf '%s\n' "$OUT" | sed -n '2,4p')" "myFile.txt
FOOBAR
Hello world" "the file and the env value pass between containers"
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"

cat >"$T/bad.yaml" <<Y
version: v1
name: bad
tasks:
  - name: fails
    image: $IMG
    run: echo failing; exit 3
  - name: slow
    image: $IMG
    timeout: 1s
    run: echo start; sleep 30
  - name: noimage
    image: scaffold-test:does-not-exist
    run: "true"
Y
run "$SCAFFOLD" apply -q -d "$D" "$T/bad.yaml"
is "$RC" 1 "failures make apply exit 1"
run "$SCAFFOLD" logs -d "$D" bad fails
is "$(printf '%s\n' "$OUT" | sed -n '2,3p' | sed 's/ after [0-9a-z]*$//')" "failing
scaffold: run $(printf '%s\n' "$OUT" | sed -n 's/^scaffold: run \([0-9]*\) of.*/\1/p') ended error: exit code 3" "a failing script: its exit code"
run "$SCAFFOLD" logs -d "$D" bad slow
ok sh -c "printf '%s\n' \"\$0\" | grep -q 'ended error: timed out after 1s'" "$OUT" "a timeout ends the run in error"
run "$SCAFFOLD" logs -d "$D" bad noimage
ok sh -c "printf '%s\n' \"\$0\" | grep -q \"image 'scaffold-test:does-not-exist' is not on this engine and cannot be pulled\"" "$OUT" "a missing image is a clear error"
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"

# docker.keep_failed keeps a failed container, but never one whose env
# holds a password: docker inspect would show it to anyone with the socket
cat >"$T/keep.yaml" <<Y
version: v1
name: keep
inputs:
  - {name: PW, type: password}
tasks:
  - name: plain
    image: $IMG
    run: exit 4
  - name: secret
    image: $IMG
    inputs: {DB_PW: PW}
    run: exit 5
Y
cat >"$T/keep-config.yaml" <<Y
data_dir: $T/kdata
docker: {socket: $DOCKER_SOCK, keep_failed: true}
Y
run "$SCAFFOLD" apply -q -d "$T/kdata" -c "$T/keep-config.yaml" -i PW=keep-canary-4Wq "$T/keep.yaml"
is "$RC" 1 "both keep tasks fail"
run "$SCAFFOLD" logs -d "$T/kdata" keep plain
ok sh -c "printf '%s\n' \"\$0\" | grep -q '^scaffold: container [0-9a-f]\{12\} kept for inspection$'" "$OUT" "keep_failed keeps a failed container"
run "$SCAFFOLD" logs -d "$T/kdata" keep secret
ok sh -c "printf '%s\n' \"\$0\" | grep -q '^scaffold: container [0-9a-f]\{12\} not kept for inspection: its environment holds a password input$'" "$OUT" "but not one given a password, and the log says why"
is "$(dk ps -aq | wc -l)" 1 "exactly one container is kept"
is "$(dk ps -aq | xargs docker -H "unix://$DOCKER_SOCK" inspect | grep -c keep-canary-4Wq)" 0 "no kept container shows the password"
dk rm -f $(dk ps -aq) >/dev/null

# a kill from another terminal
cat >"$T/long.yaml" <<Y
version: v1
name: long
tasks:
  - name: sleeper
    image: $IMG
    run: echo started; sleep 60
Y
"$SCAFFOLD" apply -q -d "$D" "$T/long.yaml" >"$T/long.out" 2>&1 &
apid=$!
running() { "$SCAFFOLD" status -d "$D" long 2>/dev/null | grep -q 'sleeper  *running'; }
ok wait_for 30 running "the container runs"
id=$("$SCAFFOLD" status -d "$D" -o json long | sed -n 's/.*"last_run": \([0-9]*\).*/\1/p')
"$SCAFFOLD" kill -d "$D" "$id" >/dev/null
wait $apid
is "$(awk '$1 == "sleeper" {print $2}' "$T/long.out")" "killed" "a kill stops the container"
is "$(dk ps -aq | wc -l)" 0 "and removes it"

# the engine stops in the middle of a run
sed 's/name: long/name: long2/' "$T/long.yaml" >"$T/long2.yaml"
"$SCAFFOLD" apply -q -d "$D" "$T/long2.yaml" >"$T/long2.out" 2>&1 &
apid=$!
running2() { # the container started and printed its first line
	id2=$("$SCAFFOLD" status -d "$D" -o json long2 2>/dev/null | sed -n 's/.*"last_run": \([0-9]*\).*/\1/p')
	[ -n "$id2" ] && grep -q '^started' "$D/logs/$id2.log" 2>/dev/null
}
ok wait_for 30 running2 "a container runs"
stop_dockerd crash
wait $apid
is "$(awk '$1 == "sleeper" {print $2}' "$T/long2.out")" "error" "the engine going away fails the task"
run "$SCAFFOLD" logs -d "$D" long2 sleeper
ok sh -c "printf '%s\n' \"\$0\" | grep -q 'ended lost: lost contact with the Docker engine'" "$OUT" "the run is lost, with a clear message"
start_dockerd
import_image "$IMG"

# re-adoption: the daemon is killed mid-run and started again
tgit init -q --bare -b main "$T/repo.git"
tgit clone -q "$T/repo.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/adopt.yaml" <<Y
version: v1
name: adopt
tasks:
  - name: slow
    image: $IMG
    run: echo begin; sleep 4; echo end; V=kept
    store: {env: [V]}
  - name: after
    image: $IMG
    load: {env: [V]}
    run: echo "after \$V"
    depends_on: [slow]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m adopt && tgit push -q origin main 2>/dev/null)
cat >"$T/serve.yaml" <<Y
data_dir: $T/sdata
listen: 127.0.0.1:0
poll_interval: 1s
docker: {socket: $DOCKER_SOCK}
repos: [{name: r, url: $T/repo.git}]
Y
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve1.log" &
spid=$!
srunning() { grep -q '^begin' "$T/sdata/logs/1.log" 2>/dev/null; }
ok wait_for 30 srunning "the daemon starts the container"
kill -KILL $spid
wait $spid 2>/dev/null
is "$(dk ps -q | wc -l)" 1 "the container outlives the daemon"
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve2.log" &
spid=$!
done_ok() { "$SCAFFOLD" status -d "$T/sdata" adopt 2>/dev/null | grep -q 'after  *success'; }
ok wait_for 40 done_ok "after a restart the run is adopted and the cascade finishes"
run "$SCAFFOLD" status -d "$T/sdata" -o json adopt
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"success","runs":1,"last_run":1},{"name":"after","state":"success","runs":1,"last_run":2}]}]}' "the adopted run counts once, and its stored env reached the next task"
run "$SCAFFOLD" logs -d "$T/sdata" adopt after
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "after kept" "the value stored by the adopted run"
ok grep -q "adopted 1 run" "$T/serve2.log" "the daemon says it adopted the run"
kill -TERM $spid
wait $spid
done_testing
