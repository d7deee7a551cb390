#!/bin/sh
# Retention: with keep_last_runs: 2, the daemon (at start, then hourly)
# and scaffold gc leave exactly the 2 newest runs of each task, with their
# logs, and no blob that nothing refers to; --dry-run removes nothing;
# /metrics shows the data dir's size and what gc freed.  The drift
# probes' check runs go by the same policy, with their logs: beyond
# keep_last_runs newest of their task, or older than retention.runs, never
# a task's last one.
. "$(dirname "$0")/lib.sh"
D="$T/data"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 client"
# the probes' marker: outside /tmp (a local task has its own), readable by
# the task user
G=$(mktemp -d /run/scaffold-gc.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap 'rm -rf "$T" "$G"' EXIT

cat >"$T/app.yaml" <<'Y'
version: v1
name: app
runner: local
tasks:
  - name: mk
    run: echo "run $SCAFFOLD_RUN_ID" >out.txt
    store: {file: [out.txt]}
  - name: plain
    run: echo plain
Y
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
retention: {keep_last_runs: 2}
Y
run "$SCAFFOLD" apply -q -d "$D" "$T/app.yaml"
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
is "$RC" 0 "the cascade runs once"
for i in 1 2 3 4; do
	"$SCAFFOLD" run -q -d "$D" app mk >/dev/null 2>&1
done
q() { sqlite3 "$D/scaffold.db" "$1"; }
is "$(q "SELECT t.name, COUNT(*) FROM runs r JOIN tasks t ON t.id = r.task_id GROUP BY t.name ORDER BY 1" | tr '\n' ' ')" \
	"mk|5 plain|1 " "mk ran 5 times, plain once"
blobs() { find "$D/blobs" -type f ! -name '.*' | sed 's|.*/blobs/\(..\)/|\1|' | sort; }
refs() { q "SELECT blob FROM run_files UNION SELECT blob FROM cascade_files ORDER BY 1"; }
is "$(blobs | wc -l)" 5 "5 blobs, one a run"
ls "$D/logs" | sort >"$T/logs.before"

run "$SCAFFOLD" gc --dry-run -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:would remove 3 runs (3 logs), 0 check runs (0 logs), 3 blobs, 0 deliveries" \
	"--dry-run says what would go"
is "$(q "SELECT COUNT(*) FROM runs"):$(blobs | wc -l):$(ls "$D/logs" | wc -l)" "6:5:$(wc -l <"$T/logs.before")" \
	"and removes nothing"

# the daemon applies it at start: runs and logs go, young blobs stay
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
trap 'kill_ours $spid; rm -rf "$T" "$G"' EXIT
serve_port "$T/serve.log"
ok wait_for 10 grep -q "gc: removed 3 runs" "$T/serve.log" "the daemon's gc runs at start"
is "$(untimed "$T/serve.log" | grep 'gc:' | sed 's/: [0-9.]*[KMG]* freed, the data dir holds [0-9.]*[KMG]*$//')" \
	"info: gc: removed 3 runs, 0 check runs, 0 blobs, 0 deliveries" "and says what it removed (blobs of the last hour stay)"
is "$(q "SELECT t.name, COUNT(*) FROM runs r JOIN tasks t ON t.id = r.task_id GROUP BY t.name ORDER BY 1" | tr '\n' ' ')" \
	"mk|2 plain|1 " "exactly the 2 newest runs of mk are left, and plain's only one"
is "$(q "SELECT id FROM runs WHERE task_id = (SELECT id FROM tasks WHERE name = 'mk') ORDER BY id" | tr '\n' ' ')" \
	"5 6 " "the newest two"
is "$(ls "$D/logs" | sort | tr '\n' ' ')" "2.log 5.log 6.log " "their logs stay, the others' went"
METRICS=$(curl -s -H "Authorization: Bearer $VIEW" "http://127.0.0.1:$PORT/metrics")
bytes=$(printf '%s\n' "$METRICS" | sed -n 's/^scaffold_data_dir_bytes \([0-9]*\)$/\1/p')
ok test "${bytes:-0}" -gt 0 "/metrics: the data dir's size"
is "$(printf '%s\n' "$METRICS" | grep -E '^scaffold_gc_(runs|blobs)_removed_total')" \
	"scaffold_gc_runs_removed_total 3
scaffold_gc_blobs_removed_total 0" "/metrics: what gc removed"
freed=$(printf '%s\n' "$METRICS" | sed -n 's/^scaffold_gc_freed_bytes_total \([0-9]*\)$/\1/p')
ok test "${freed:-0}" -gt 0 "/metrics: what gc freed"
run "$SCAFFOLD" gc -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*(/ (/')" \
	"0:removed 0 runs (0 logs), 0 check runs (0 logs), 0 blobs, 0 deliveries (the daemon runs: blobs of the last hour kept)" \
	"scaffold gc while the daemon runs keeps young blobs"
kill "$spid"
wait "$spid"

# with the daemon stopped, gc holds the data dir: unreferenced blobs go
run "$SCAFFOLD" gc -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:removed 0 runs (0 logs), 0 check runs (0 logs), 3 blobs, 0 deliveries" "gc removes the 3 blobs nothing refers to"
is "$(blobs)" "$(refs)" "no unreferenced blob is left, and every referenced one is there"
is "$(q "SELECT t.name, COUNT(*) FROM runs r JOIN tasks t ON t.id = r.task_id GROUP BY t.name ORDER BY 1" | tr '\n' ' ')" \
	"mk|2 plain|1 " "still 2 runs per task (never fewer than the last)"
run "$SCAFFOLD" logs -d "$D" app mk
is "$RC:$OUT" "0:$(cat "$D/logs/6.log")" "the last run's log reads as before"

run "$SCAFFOLD" gc -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:removed 0 runs (0 logs), 0 check runs (0 logs), 0 blobs, 0 deliveries" "a second gc finds nothing"

# check runs: a task probed every second until its probe fails (the marker
# appears): then it is error and no probe follows, and the check runs are
# what they are
D2="$T/data2"
tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: local
tasks:
  - name: deploy
    run: echo deployed
    check: {interval: 1s, run: 'test ! -e $G/stop'}
Y
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
conf() { # RETENTION
	cat <<Y
data_dir: data2
listen: 127.0.0.1:0
poll_interval: 250ms
local: {user: nobody}
repos:
  - {name: r, url: $T/r.git, runners: [local]}
$1
Y
}
conf "" >"$T/probe.yaml"
conf "retention: {keep_last_runs: 3}" >"$T/keep3.yaml"
conf "retention: {runs: 1d}" >"$T/age.yaml"
q2() { sqlite3 "$D2/scaffold.db" "$1"; }
"$SCAFFOLD" serve --config "$T/probe.yaml" 2>"$T/serve2.log" &
spid=$!
serve_port "$T/serve2.log"
ok wait_for 30 sh -c "[ \$(sqlite3 '$D2/scaffold.db' \"SELECT COUNT(*) FROM check_runs WHERE state = 'success'\" 2>/dev/null) -ge 5 ]" \
	"5 probes succeeded"
touch "$G/stop"
ok wait_for 15 sh -c "[ \"\$(sqlite3 '$D2/scaffold.db' \"SELECT state FROM tasks; SELECT COUNT(*) FROM check_runs WHERE state = 'running'\")\" = 'error
0' ]" "the next probe fails: the task is error, no probe runs"
kill_ours "$spid"
wait "$spid"
N=$(q2 "SELECT COUNT(*) FROM check_runs")
checklogs() { ls "$D2/logs" | grep '^check-' | sort | tr '\n' ' '; }
is "$(checklogs)" "$(q2 "SELECT 'check-' || id || '.log' FROM check_runs ORDER BY 1" | tr '\n' ' ')" \
	"each of the $N check runs has its log"
run "$SCAFFOLD" gc --dry-run -d "$D2" --config "$T/keep3.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" \
	"0:would remove 0 runs (0 logs), $((N - 3)) check runs ($((N - 3)) logs), 0 blobs, 0 deliveries" \
	"--dry-run: the check runs beyond the 3 newest would go"
is "$(q2 "SELECT COUNT(*) FROM check_runs"):$(checklogs | wc -w)" "$N:$N" "and none went"
LAST3=$(q2 "SELECT id FROM check_runs ORDER BY id DESC LIMIT 3" | sort | tr '\n' ' ')
LAST=$(q2 "SELECT MAX(id) FROM check_runs")
run "$SCAFFOLD" gc -d "$D2" --config "$T/keep3.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" \
	"0:removed 0 runs (0 logs), $((N - 3)) check runs ($((N - 3)) logs), 0 blobs, 0 deliveries" \
	"gc removes them, with their logs"
is "$(q2 "SELECT id FROM check_runs ORDER BY id" | tr '\n' ' ')" "$LAST3" "the 3 newest check runs are left"
is "$(checklogs)" "$(for i in $LAST3; do printf 'check-%s.log ' "$i"; done)" "with their logs, and only theirs"
is "$(q2 "SELECT COUNT(*) FROM runs")" 1 "the task's run stays"

# by age: every check run that ended 2 days ago goes, but the task's last
q2 "UPDATE check_runs SET ended_at = ended_at - 2 * 86400000"
run "$SCAFFOLD" gc -d "$D2" --config "$T/age.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" \
	"0:removed 0 runs (0 logs), 2 check runs (2 logs), 0 blobs, 0 deliveries" \
	"retention.runs: check runs older than 1d go"
is "$(q2 "SELECT id, state, drift FROM check_runs")" "$LAST|error|1" \
	"the last one, which drifted, stays"
is "$(checklogs)" "check-$LAST.log " "with its log"
done_testing
