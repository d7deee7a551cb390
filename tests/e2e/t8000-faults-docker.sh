#!/bin/sh
# The Docker engine killed mid-task under scaffold serve, then started
# again on the same data root: the run in flight ends lost with a clear
# error, a task started while the engine is away cannot start and says
# why, another repository keeps running, the daemon keeps serving, and
# once the engine is back a new push runs containers again, without
# restarting scaffold.  (t4000 has the same fault under scaffold apply.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
. "$(dirname "$0")/faults.sh"
trap '[ -n "$SPID" ] && { kill_ours $SPID; wait $SPID; } 2>/dev/null; stop_dockerd; docker_leftovers; rm -rf "$T"' EXIT
IMG=scaffold-test:busybox
start_dockerd
import_image "$IMG"

cascade_box() { # WORD SLEEP
	cat <<Y
version: v1
name: box
tasks:
  - name: sleeper
    image: $IMG
    run: echo "started $1"; sleep $2; echo "slept $1"
Y
}
new_repo box
put box box.yaml "$(cascade_box one 60)"
push box first
new_other one
serve_config box other
echo "docker: {socket: $DOCKER_SOCK}" >>"$T/scaffold.yaml"
serve_start serve.log
sleeping() { s=$(last_run box sleeper) && [ -n "$s" ] &&
	grep -q '^started one' "$D/logs/$s.log" 2>/dev/null; }
ok wait_for 60 sleeping "a container runs"

# the engine dies
stop_dockerd crash
ok wait_for 30 state_is box sleeper error:1 "the run in flight ends"
is "$(log_of box sleeper)" "started one
scaffold: lost contact with the Docker engine: the connection was closed
scaffold: run $s ended lost: lost contact with the Docker engine: the connection was closed" \
	"its log says why"
"$SCAFFOLD" logs -d "$D" box sleeper >"$T/lost.log"
api "/api/v1/runs/$s"
is "$(printf '%s\n' "$RES" | grep -o '"state":"[a-z]*","exit_code":[0-9a-z-]*,"message":"[^"]*"')" \
	'"state":"lost","exit_code":null,"message":"lost contact with the Docker engine: the connection was closed"' \
	"and so does the API"
serving "the daemon serves without the engine"

# a task that starts while the engine is away
put box box.yaml "$(cascade_box two 1)"
push box second
ok wait_for 30 state_is box sleeper error:2 "a task cannot start without the engine"
is "$(log_of box sleeper)" "scaffold: cannot start: cannot reach the Docker engine at '$DOCKER_SOCK': No such file or directory" \
	"and says why"
push_other two second
ok wait_for 30 state_is other say success:2 "another repository keeps running"

# the engine comes back, on the same data root; no restart of scaffold
start_dockerd
dk image inspect "$IMG" >/dev/null 2>&1 || import_image "$IMG"
put box box.yaml "$(cascade_box three 1)"
push box third
ok wait_for 60 state_is box sleeper success:3 "with the engine back, a new push runs containers"
is "$(log_of box sleeper)" "started three
slept three
scaffold: run $(last_run box sleeper) ended success" "to the end"
run "$SCAFFOLD" logs -d "$D" -r "$s" box sleeper
is "$OUT" "$(cat "$T/lost.log")" "the log of the lost run is kept"
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"
ok grep -q "^$TIME info: runner: removed container [0-9a-f]\{12\} of a run lost when the engine went away$" "$T/serve.log" \
	"not even the lost run's, which could only be removed once the engine was back"
serving "the daemon serves after the fault"
serve_stop
is "$?" 0 "the daemon stops cleanly"
done_testing
