#!/bin/sh
# When drift probes run (local runner, real daemon): a probe in flight when
# the daemon is SIGKILLed is no drift: the next daemon stops it, ends it
# lost, and probes again at once; max_checks_parallel bounds the probes at
# once apart from the tasks' slots; a probe longer than its interval skips
# the next instead of piling up.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
G=$(mktemp -d /run/scaffold-check.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap cleanup EXIT
D="$T/data"
q() { sqlite3 "$D/scaffold.db" "$1"; }

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
# hold: its first probe waits for the gate; slow1..4: probes of 1.5s
{
	cat <<Y
version: v1
name: web
runner: local
tasks:
  - name: hold
    run: echo deployed
    check:
      interval: 1s
      timeout: 60s
      run: |
        echo probing
        while [ ! -e "$G/go" ]; do sleep "0.0\$SCAFFOLD_RUN_ID"; done
Y
	for i in 1 2 3 4; do
		cat <<Y
  - name: slow$i
    run: echo deployed
    check: {interval: 1s, timeout: 10s, run: sleep 1.5}
Y
	done
} >"$T/r/.scaffold/web.yaml"
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
max_checks_parallel: 2
local: {user: nobody}
repos:
  - name: r
    url: $T/r.git
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve1.log" &
spid=$!
serve_port "$T/serve1.log"

hold_probe() { q "SELECT k.id FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'hold' ORDER BY k.id LIMIT 1"; }
wait_for 10 sh -c "[ -n \"\$(sqlite3 '$D/scaffold.db' \"SELECT k.id FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'hold'\")\" ]"
first=$(hold_probe)
wait_for 10 grep -q '^probing$' "$D/logs/check-$first.log"
is "$?" 0 "hold's probe is in flight"
alive() { # the probe's loop, seen at least once in 0.5s
	_k=0
	while [ $_k -lt 10 ]; do
		pgrep -f "^sleep 0\.0$first\$" >/dev/null && return 0
		sleep 0.05
		_k=$((_k + 1))
	done
	return 1
}
ok alive "its processes run"
kill -KILL $spid
wait $spid 2>/dev/null
spid=
is "$(q "SELECT state FROM check_runs WHERE id = $first")" running \
	"the store shows it running when the daemon dies"
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve2.log" &
spid=$!
serve_port "$T/serve2.log"
wait_for 5 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT state FROM check_runs WHERE id = $first\")\" = lost ]"
is "$?" 0 "the next daemon ends it lost"
gone() { ! alive; }
ok gone "its processes are gone"
is "$(q "SELECT message FROM check_runs WHERE id = $first")" \
	"scaffold stopped while the probe ran; it runs again" "saying why"
is "$(tail -n 1 "$D/logs/check-$first.log")" \
	"scaffold: scaffold stopped while the probe ran; it runs again" \
	"in its log too"
wait_for 5 sh -c "[ \$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'hold' AND k.state = 'running'\") = 1 ]"
is "$?" 0 "and probes again at once"
touch "$G/go"
wait_for 10 sh -c "[ \$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'hold' AND k.state = 'success'\") -ge 1 ]"
is "$?" 0 "that probe passes"
is "$(q "SELECT t.state FROM tasks t WHERE t.name = 'hold'")" success \
	"the task is still success: no false drift"
is "$(q "SELECT COUNT(*) FROM check_runs WHERE drift = 1")" 0 "no drift at all"
is "$(q "SELECT COUNT(*) FROM runs")" 5 "and no task ran again"

# probes at once, from their start and end times: never above 2
sleep 3
over=$(q "SELECT MAX(n) FROM (SELECT (SELECT COUNT(*) FROM check_runs b WHERE b.started_at <= a.started_at AND (b.ended_at IS NULL OR b.ended_at > a.started_at)) AS n FROM check_runs a)")
is "$over" 2 "max_checks_parallel: 2 probes at once, never more"
# slow1..4 probe for 1.5s every 1s: one at a time per task
is "$(q "SELECT COUNT(*) FROM check_runs a JOIN check_runs b ON a.task_id = b.task_id AND a.id < b.id AND b.started_at < a.ended_at")" 0 \
	"never two probes of one task at once"
done_testing
