#!/bin/sh
# A local run must not live on beside its next attempt: when the scaffold
# that started it is killed (SIGKILL, no cleanup), the next one ends what
# is left of the run's process group before anything else runs.
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
      sleep 77.$M &
      sleep 78.$M
Y
"$SCAFFOLD" apply -q -d "$D" "$T/orphan.yaml" >"$T/apply1.out" 2>&1 &
apid=$!
running() { pgrep -f "^sleep 7[78]\.$M\$" >/dev/null; }
wait_for 10 running
is "$?" 0 "the task runs"
kill -KILL $apid
wait $apid 2>/dev/null
sleep 0.3
is "$(pgrep -f "^sleep 7[78]\.$M\$" | wc -l | tr -d ' ')" 2 "its processes outlive the killed scaffold"

run "$SCAFFOLD" apply -q -d "$D" "$T/orphan.yaml"
is "$(pgrep -f "^sleep 7[78]\.$M\$" | wc -l | tr -d ' ')" 0 "the next scaffold ends them, the background one too"
run "$SCAFFOLD" logs -d "$D" --run 1 orphan slow
is "$(printf '%s\n' "$OUT" | grep -c 'outlived the scaffold that started them; ending them')" 1 \
	"the run's log says so"
is "$(tail -n 1 "$D/logs/1.log")" "scaffold: scaffold stopped while the run was in progress, and the run is gone" \
	"and the run ends lost"
run "$SCAFFOLD" status -d "$D" -o json orphan
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"error","runs":1,"last_run":1}]}]}' \
	"its task is in error, with one run"
pkill -f "^sleep 7[78]\.$M\$" 2>/dev/null
done_testing
