#!/bin/sh
# A local run outlives the scaffold that started it: killed with SIGKILL
# mid-run, the next scaffold adopts it (same run, its log continued without
# a gap or a repeat, its exit status and store env collected once), and
# when the run ends every process of it ends too, one that left its
# process group (setsid) included.  Only a run whose processes are gone
# too ends lost.
. "$(dirname "$0")/lib.sh"
D="$T/data"
M=$$
cat >"$T/orphan.yaml" <<Y
version: v1
name: orphan
runner: local
tasks:
  - name: slow
    run: |
      echo started
      setsid sleep 77.$M &
      while [ ! -e go ]; do sleep 0.05; done
      echo finished
      VERSION=7.\$((3 * 2))
    store: {env: [VERSION]}
  - name: after
    depends_on: [slow]
    load: {env: [VERSION]}
    run: echo "version \$VERSION"
Y
procs() { pgrep -f "^sleep 77\.$M\$" | wc -l | tr -d ' '; }
"$SCAFFOLD" apply -q -d "$D" "$T/orphan.yaml" >"$T/apply1.out" 2>&1 &
apid=$!
wait_for 10 grep -q '^started$' "$D/logs/1.log"
is "$?" 0 "the task runs"
wait_for 10 pgrep -f "^sleep 77\.$M\$"
kill -KILL $apid
wait $apid 2>/dev/null
is "$(procs)" 1 "its processes outlive the killed scaffold"
touch "$D/runs/1/run/go"
wait_for 10 grep -q '^finished$' "$D/runs/1/meta/out"
is "$?" 0 "and it goes on while no scaffold runs"

run "$SCAFFOLD" apply -q -d "$D" "$T/orphan.yaml"
is "$RC" 0 "the next scaffold adopts the run, and the cascade completes"
is "$(procs)" 0 "the run's processes are gone once it ended, the setsid one too"
is "$(sed 's/ after [0-9.]*m\{0,1\}s$//' "$D/logs/1.log")" "scaffold: run 1 of orphan/slow, attempt 1, runner local
started
scaffold: restarted: adopting run 1
finished
scaffold: run 1 ended success" "one log, nothing lost, nothing twice"
run "$SCAFFOLD" logs -d "$D" orphan after
is "$(printf '%s\n' "$OUT" | grep -c '^version 7.6$')" 1 \
	"the adopted run's store env reached its dependent"
run "$SCAFFOLD" status -d "$D" -o json orphan
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"success","runs":1,"last_run":1},{"name":"after","state":"success","runs":1,"last_run":2}]}]}' \
	"each task ran once and succeeded"

# the run and its processes gone (a reboot): lost
D2="$T/data2"
"$SCAFFOLD" apply -q -d "$D2" "$T/orphan.yaml" >"$T/apply2.out" 2>&1 &
apid=$!
wait_for 10 grep -q '^started$' "$D2/logs/1.log"
wait_for 10 pgrep -f "^sleep 77\.$M\$"
kill -KILL $apid
wait $apid 2>/dev/null
init=$(cut -d' ' -f1 "$D2/runs/1/meta/pid")
kill -KILL "$init"
wait_for 10 sh -c "[ \$(pgrep -f '^sleep 77\.$M\$' | wc -l) = 0 ]"
is "$(procs)" 0 "killing the run's init ends every process of the run"
run "$SCAFFOLD" apply -q -d "$D2" "$T/orphan.yaml"
is "$RC" 1 "the cascade is not a success"
is "$(tail -n 1 "$D2/logs/1.log")" "scaffold: scaffold stopped while the run was in progress, and the run is gone" \
	"the run ends lost"
run "$SCAFFOLD" status -d "$D2" -o json orphan
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"error","runs":1,"last_run":1},{"name":"after","state":"skipped","runs":0,"last_run":null}]}]}' \
	"its task is in error, with one run"
pkill -f "^sleep 77\.$M\$" 2>/dev/null
done_testing
