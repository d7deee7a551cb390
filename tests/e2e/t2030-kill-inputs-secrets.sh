#!/bin/sh
# Kill a running task from another process; an input change resets exactly
# the tasks that map it; a password never reaches a log or the database.
. "$(dirname "$0")/lib.sh"
D="$T/data"

cat >"$T/long.yaml" <<Y
version: v1
name: long
runner: local
tasks:
  - name: forever
    run: |
      echo started
      setsid sleep 61.$$ &
      sleep 62.$$
  - name: after
    run: echo after
    depends_on: {always: [forever]}
Y
"$SCAFFOLD" apply -q -d "$D" "$T/long.yaml" >"$T/apply.out" 2>&1 &
apid=$!
i=0
while [ $i -lt 100 ]; do
	"$SCAFFOLD" status -d "$D" long 2>/dev/null | grep -q 'forever  *running' && break
	sleep 0.1
	i=$((i + 1))
done
run "$SCAFFOLD" status -d "$D" -o json long
id=$(echo "$OUT" | grep -A3 '"forever"' | sed -n 's/.*"last_run": \([0-9]*\).*/\1/p')
is "$id" 1 "the task runs as run 1"
start=$(date +%s)
run "$SCAFFOLD" kill -d "$D" "$id"
is "$RC:$OUT" "0:kill requested for run 1" "kill is accepted"
wait $apid
arc=$?
took=$(($(date +%s) - start))
is "$arc" 1 "apply exits 1 after a kill"
ok test "$took" -lt 10 "the kill takes effect at once"
is "$(awk '$1 == "forever" || $1 == "after" {print $1 ":" $2}' "$T/apply.out" | tr '\n' ' ')" "forever:killed after:success " "the task is killed; its 'always' dependent runs"
run "$SCAFFOLD" logs -d "$D" long forever
is "$(echo "$OUT" | sed -n '2,4p' | sed 's/ after [0-9a-z]*$//')" "started
scaffold: killed
scaffold: run 1 ended killed" "the log says it was killed"
run "$SCAFFOLD" kill -d "$D" 1
is "$RC:$ERR" "1:scaffold kill: run 1 is not running (it ended killed)" "a finished run cannot be killed"
# the run's pids are its namespace's own: find them by their arguments
is "$(pgrep -f "^sleep 6[12]\.$$\$" | wc -l | tr -d ' ')" 0 "no process of the run is left, the setsid one neither"

# --- inputs ---
cat >"$T/in.yaml" <<'Y'
version: v1
name: in
runner: local
inputs:
  - {name: REGION, default: eu-west-1}
  - {name: DB_PASSWORD, type: password}
tasks:
  - name: uses_region
    inputs: {AWS_REGION: REGION}
    run: echo "region $AWS_REGION"
  - name: downstream
    run: echo down
    depends_on: [uses_region]
  - name: unrelated
    run: echo unrelated
  - name: leak
    inputs: {PW: DB_PASSWORD}
    run: |
      echo "$PW"
      echo "the password is <$PW>, really"
      env | grep '^PW='
      SAVED="prefix-$PW-suffix"
      echo "failing with $PW" >&2
    store: {env: [SAVED]}
Y
SECRET='zebra-canary-7Q3x'
run "$SCAFFOLD" apply -q -d "$D" -i "DB_PASSWORD=$SECRET" "$T/in.yaml"
is "$RC" 0 "the input cascade succeeds"
is "$(echo "$OUT" | awk '$1 != "TASK" && NR > 1 {print $1 ":" $3}' | tr '\n' ' ')" "uses_region:1 downstream:1 unrelated:1 leak:1 " "each task ran once"

run "$SCAFFOLD" input set -d "$D" in REGION us-east-2
is "$RC:$ERR" "0:cascade 'in': 0 new, 1 changed, 0 removed; 1 downstream reset" "an input change resets the tasks that map it"
run "$SCAFFOLD" apply -q -d "$D" "$T/in.yaml"
is "$(echo "$OUT" | awk '$1 != "TASK" && NR > 1 {print $1 ":" $3}' | tr '\n' ' ')" "uses_region:2 downstream:2 unrelated:1 leak:1 " "exactly those re-ran"
run "$SCAFFOLD" logs -d "$D" in uses_region
is "$(echo "$OUT" | sed -n 2p)" "region us-east-2" "with the new value"

run "$SCAFFOLD" input ls -d "$D" in
is "$OUT" "NAME                     TYPE      SOURCE   VALUE
REGION                   text      set      us-east-2
DB_PASSWORD              password  set      ********" "input ls masks passwords"

run "$SCAFFOLD" logs -d "$D" in leak
is "$(echo "$OUT" | sed -n '2,5p')" "********
the password is <********>, really
PW=********
failing with ********" "the log shows the password masked everywhere"

echo "$SECRET" | "$SCAFFOLD" input set -q -d "$D" in DB_PASSWORD -
is "$?" 0 "a password can come from stdin"
run "$SCAFFOLD" input set -d "$D" in DB_PASSWORD argv-canary-5Rt
is "$RC:$ERR" "1:scaffold input: input 'DB_PASSWORD' is a password: give its value on stdin or at the prompt (VALUE '-' or none), not on the command line, where ps and the shell's history show it" \
	"a password on the command line is refused"
echo "$SECRET" | "$SCAFFOLD" input set -q -d "$D" in DB_PASSWORD
is "$?" 0 "a password can come from stdin without '-'"
run "$SCAFFOLD" input set -d "$D" in NOPE x
is "$RC:$ERR" "1:scaffold input: cascade 'in' has no input 'NOPE'" "an unknown input is refused"

# the secret appears nowhere in the data dir's logs or database
found=$(grep -rl -F "$SECRET" "$D/logs" "$D"/scaffold.db* 2>/dev/null)
is "$found" "" "the password is in no log and not in the database"
is "$(grep -rl -F argv-canary-5Rt "$D" 2>/dev/null)" "" "the refused value was stored nowhere"
ok test -s "$D/scaffold.db" "the database exists (the search above was real)"

done_testing
