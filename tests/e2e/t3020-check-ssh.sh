#!/bin/sh
# Drift checks over ssh, against real OpenSSH servers: a task on two hosts
# is probed on each of them (SCAFFOLD_HOST set, SCAFFOLD_CHECK=1), each
# probe a check run with its own log; when the marker of one host goes,
# the task is error with the drift reason naming that host, and its
# error: handler runs once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (scripts/install-deps.sh installs it)"
test_user
spid=
trap '[ -n "$spid" ] && kill_ours "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
sshd_stop_all; rm -rf "$T"' EXIT
D="$T/data"
G="$T/markers"
mkdir -p "$G" && chmod 755 "$T" "$G"

{
	echo "data_dir: data"
	echo "listen: 127.0.0.1:0"
	echo "poll_interval: 250ms"
	echo "repos:"
	echo "  - name: r"
	echo "    url: $T/r.git"
	echo "    runners: [ssh]"
	echo "hosts:"
	sshd_hosts web1 web2
} >"$T/scaffold.yaml"

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
runner: ssh
hosts: [web1, web2]
tasks:
  - name: deploy
    env: {GREETING: hello}
    run: echo deployed
    check:
      interval: 1s
      run: |
        echo "probe \$SCAFFOLD_CHECK \$GREETING \$SCAFFOLD_HOST"
        test -e "$G/marker-\$SCAFFOLD_HOST"
  - name: remediate
    hosts: [web1]
    depends_on: {error: [deploy]}
    run: echo remediating
  - name: healer
    hosts: [web1]
    # a run ends once the marker is there: the test plays the fix
    run: while [ ! -e "$G/heal-marker" ]; do sleep 0.05; done
    check:
      interval: 1s
      run: test -e "$G/heal-marker"
      heal: true
      max_heals: 1
Y
touch "$G/marker-web1" "$G/marker-web2" "$G/heal-marker"
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"

status() { "$SCAFFOLD" status -d "$D" -o json web 2>&1; }
checks() { # probes of deploy
	sqlite3 "$D/scaffold.db" "SELECT COUNT(*) FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'deploy'"
}
wait_for 15 sh -c "[ \$(ls '$D/logs' 2>/dev/null | grep -c '^check-') -ge 4 ]"
is "$?" 0 "the probes run again and again, on each host"
is "$(cat "$D"/logs/check-*.log | grep '^probe' | sort -u)" "probe 1 hello web1
probe 1 hello web2" "with the task's env, SCAFFOLD_HOST and SCAFFOLD_CHECK=1"
wait_for 5 sh -c "[ \$(cat '$D'/logs/check-*.log | grep -c 'ended success') = \$(ls '$D/logs' | grep -c '^check-') ]"
is "$?" 0 "every probe passed"

rm "$G/marker-web2"
t0=$(($(date +%s%N) / 1000000))
wait_for 20 sh -c "'$SCAFFOLD' status -d '$D' -o json web | grep -q '\"state\": \"error\"'"
is "$?" 0 "the task turns error once a probe fails"
# no probe is ignored: one in flight when the marker went may pass, the
# next one is the drift (counted, not timed: the load of the machine
# decides how long a probe takes)
ended=$(sqlite3 "$D/scaffold.db" "SELECT k.drift FROM check_runs k JOIN tasks t ON t.id = k.task_id WHERE t.name = 'deploy' AND k.host = 'web2' AND k.ended_at >= $t0 ORDER BY k.id" | tr '\n' ' ')
echo "# drift flags of the probes that ended after the change: $ended"
ok sh -c "case '$ended' in '1 '|'0 1 ') exit 0;; esac; exit 1" "the first probe started after the change is the drift"
is "$(status | sed -n 's/.*"reason": "\(drift[^"]*\)".*/\1/p' | head -1)" \
	"drift: check failed on web2 (exit 1)" "the reason names the host"
wait_for 10 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"remediate\",\"state\":\"success\"'"
is "$?" 0 "its error: handler runs"
n=$(checks)
sleep 2.2
is "$(status | tr -d ' \n' | grep -o '"name":"deploy","state":"[a-z]*","runs":[0-9]*\|"name":"remediate","state":"[a-z]*","runs":[0-9]*')" \
	'"name":"deploy","state":"error","runs":2
"name":"remediate","state":"success","runs":1' \
	"the handler ran once; the task's runs did not change"
is "$(checks)" "$n" "no probe of a task in error"

# heal over ssh: the task runs again, the probe passes again; max_heals 1
hstate() { "$SCAFFOLD" status -d "$D" -o json web | tr -d ' \n' | sed 's/.*"name":"healer","state":"\([a-z_]*\)","runs":\([0-9]*\).*/\1 \2/'; }
is "$(hstate)" "success 1" "healer succeeded once"
rm "$G/heal-marker"
wait_for 5 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"healer\",\"state\":\"running\",\"runs\":2'"
is "$?" 0 "its drift heals: it runs again"
touch "$G/heal-marker"
wait_for 5 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"healer\",\"state\":\"success\",\"runs\":2'"
is "$?" 0 "and succeeds"
healer_last=$(sqlite3 "$D/scaffold.db" "SELECT MAX(id) FROM runs WHERE task_id = (SELECT id FROM tasks WHERE name = 'healer')")
wait_for 5 sh -c "[ \"\$(sqlite3 '$D/scaffold.db' \"SELECT COUNT(*) FROM check_runs WHERE run_id = $healer_last AND state = 'success'\")\" -ge 1 ]"
is "$?" 0 "and its probe passes again"
rm "$G/heal-marker"
wait_for 5 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"healer\",\"state\":\"error\"'"
is "$?" 0 "max_heals: the next drift is not healed"
sleep 1.5
is "$(hstate)" "error 2" "it stays error, run twice in all"
done_testing
