#!/bin/sh
# error and always dependencies, retries, timeouts and auto_execute.
. "$(dirname "$0")/lib.sh"
D="$T/data"

cat >"$T/rollback.yaml" <<'Y'
version: v1
name: rb
runner: local
tasks:
  - name: deploy
    run: echo deploying
  - name: smoke
    run: echo checking; exit 3
    depends_on: [deploy]
  - name: announce
    run: echo live
    depends_on: [smoke]
  - name: rollback
    run: echo rolling back
    depends_on: {error: [smoke]}
  - name: cleanup
    run: echo cleaning
    depends_on: {always: [smoke]}
  - name: manual_gate
    auto_execute: false
    run: echo gate
    depends_on: [deploy]
Y
run "$SCAFFOLD" apply -q -d "$D" "$T/rollback.yaml"
is "$RC" 1 "a failed task makes apply exit 1"
is "$(echo "$OUT" | awk 'NR > 2 {print $1 ":" $2}' | tr '\n' ' ')" "deploy:success smoke:error announce:skipped rollback:success cleanup:success manual_gate:not_started " "error and always dependents ran; success dependent skipped, manual gate did not run"
run "$SCAFFOLD" logs -d "$D" rb smoke
is "$(echo "$OUT" | sed -n '2p;3p' | sed 's/ after [0-9a-z]*$//')" "checking
scaffold: run 2 ended error: exit code 3" "the log says why it failed"

run "$SCAFFOLD" run -q -d "$D" rb announce
is "$RC:$ERR" "1:scaffold run: task 'announce' is not ready: 'smoke' is error (needs success); use --force to run it anyway" "a manual run names the unmet parent"
run "$SCAFFOLD" run -q -d "$D" rb manual_gate
is "$(echo "$OUT" | awk '$1 == "manual_gate" {print $2 ":" $3}')" "success:1" "a manual run runs an auto_execute: false task"

# retries: fails twice, then succeeds
cat >"$T/retry.yaml" <<'Y'
version: v1
name: retry
runner: local
tasks:
  - name: flaky
    retries: 2
    run: |
      n=$(cat /tmp/scaffold-retry-$SCAFFOLD_CASCADE-COUNT 2>/dev/null || echo 0)
      echo $((n + 1)) > /tmp/scaffold-retry-$SCAFFOLD_CASCADE-COUNT
      echo "attempt $SCAFFOLD_ATTEMPT"
      [ "$SCAFFOLD_ATTEMPT" -ge 3 ]
Y
rm -f /tmp/scaffold-retry-retry-COUNT
run "$SCAFFOLD" apply -q -d "$D" "$T/retry.yaml"
rm -f /tmp/scaffold-retry-retry-COUNT
is "$RC:$(echo "$OUT" | awk '$1 == "flaky" {print $2 ":" $3}')" "0:success:3" "two retries, the third attempt succeeds"
run "$SCAFFOLD" logs -d "$D" retry flaky
is "$(echo "$OUT" | sed -n 2p)" "attempt 3" "SCAFFOLD_ATTEMPT counts attempts"

# timeout
cat >"$T/slow.yaml" <<'Y'
version: v1
name: slow
runner: local
tasks:
  - name: hang
    timeout: 500ms
    run: echo start; sleep 30
Y
start=$(date +%s)
run "$SCAFFOLD" apply -q -d "$D" "$T/slow.yaml"
took=$(($(date +%s) - start))
is "$RC:$(echo "$OUT" | awk '$1 == "hang" {print $2}')" "1:error" "a timed-out task ends in error"
ok test "$took" -lt 10 "and does not wait for the script"
run "$SCAFFOLD" logs -d "$D" slow hang
is "$(echo "$OUT" | grep -c 'ended error: timed out after 500ms after')" 1 "the log says it timed out"

done_testing
