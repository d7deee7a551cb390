#!/bin/sh
# Retention: with keep_last_runs: 2, the daemon (at start, then hourly)
# and scaffold gc leave exactly the 2 newest runs of each task, with their
# logs, and no blob that nothing refers to; --dry-run removes nothing;
# /metrics shows the data dir's size and what gc freed.
. "$(dirname "$0")/lib.sh"
D="$T/data"
command -v sqlite3 >/dev/null || skip_all "no sqlite3 client"

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
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:would remove 3 runs (3 logs), 3 blobs, 0 deliveries" \
	"--dry-run says what would go"
is "$(q "SELECT COUNT(*) FROM runs"):$(blobs | wc -l):$(ls "$D/logs" | wc -l)" "6:5:$(wc -l <"$T/logs.before")" \
	"and removes nothing"

# the daemon applies it at start: runs and logs go, young blobs stay
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
trap 'kill_ours $spid; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
ok wait_for 10 grep -q "gc: removed 3 runs" "$T/serve.log" "the daemon's gc runs at start"
is "$(untimed "$T/serve.log" | grep 'gc:' | sed 's/: [0-9.]*[KMG]* freed, the data dir holds [0-9.]*[KMG]*$//')" \
	"info: gc: removed 3 runs, 0 blobs, 0 deliveries" "and says what it removed (blobs of the last hour stay)"
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
	"0:removed 0 runs (0 logs), 0 blobs, 0 deliveries (the daemon runs: blobs of the last hour kept)" \
	"scaffold gc while the daemon runs keeps young blobs"
kill "$spid"
wait "$spid"

# with the daemon stopped, gc holds the data dir: unreferenced blobs go
run "$SCAFFOLD" gc -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:removed 0 runs (0 logs), 3 blobs, 0 deliveries" "gc removes the 3 blobs nothing refers to"
is "$(blobs)" "$(refs)" "no unreferenced blob is left, and every referenced one is there"
is "$(q "SELECT t.name, COUNT(*) FROM runs r JOIN tasks t ON t.id = r.task_id GROUP BY t.name ORDER BY 1" | tr '\n' ' ')" \
	"mk|2 plain|1 " "still 2 runs per task (never fewer than the last)"
run "$SCAFFOLD" logs -d "$D" app mk
is "$RC:$OUT" "0:$(cat "$D/logs/6.log")" "the last run's log reads as before"

run "$SCAFFOLD" gc -d "$D" --config "$T/scaffold.yaml"
is "$RC:$(printf '%s\n' "$OUT" | sed 's/; .*//')" "0:removed 0 runs (0 logs), 0 blobs, 0 deliveries" "a second gc finds nothing"
done_testing
