#!/bin/sh
# Drift checks on the docker runner, against an engine of the test's own:
# the task's probe runs in a container of the task's image every interval
# (SCAFFOLD_CHECK=1, the task's env); when the image behind the task's tag
# changes under it (the drift: /marker gone), the task is error with the
# exact drift reason and its error: handler runs once; no container is
# left behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
stop_dockerd; docker_leftovers; rm -rf "$T"' EXIT
D="$T/data"
start_dockerd
import_image scaffold-test:plain
# the same file system with /marker: the image the task is deployed with
touch "$T/rootfs/marker"
tar -C "$T/rootfs" -c . | dk import - scaffold-test:web >/dev/null

tgit init -q --bare -b main "$T/r.git"
tgit clone -q "$T/r.git" "$T/r" 2>/dev/null
mkdir -p "$T/r/.scaffold"
cat >"$T/r/.scaffold/web.yaml" <<Y
version: v1
name: web
tasks:
  - name: deploy
    image: scaffold-test:web
    env: {GREETING: hello}
    run: echo deployed
    check:
      interval: 1s
      timeout: 20s # a container's start may take longer than 1s
      run: |
        echo "probe \$SCAFFOLD_CHECK \$GREETING"
        test -e /marker
  - name: remediate
    image: scaffold-test:plain
    depends_on: {error: [deploy]}
    run: echo remediating
Y
(cd "$T/r" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
docker: {socket: $DOCKER_SOCK}
repos:
  - name: r
    url: $T/r.git
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"

status() { "$SCAFFOLD" status -d "$D" -o json web 2>&1; }
checks() { ls "$D/logs" 2>/dev/null | grep -c '^check-.*\.log$'; }
wait_for 20 sh -c "[ \$(ls '$D/logs' 2>/dev/null | grep -c '^check-') -ge 3 ]"
is "$?" 0 "the probe runs again and again after the task's success"
is "$(cat "$D"/logs/check-*.log | grep '^probe' | sort -u)" "probe 1 hello" \
	"in the task's image, with its env and SCAFFOLD_CHECK=1"
wait_for 5 sh -c "[ \$(cat '$D'/logs/check-*.log | grep -c 'ended success') = \$(ls '$D/logs' | grep -c '^check-') ]"
is "$?" 0 "every probe passed"

dk tag scaffold-test:plain scaffold-test:web
t0=$(date +%s%N)
wait_for 10 sh -c "'$SCAFFOLD' status -d '$D' -o json web | grep -q '\"state\": \"error\"'"
is "$?" 0 "the task turns error once its probe fails"
t1=$(date +%s%N)
echo "# drift seen after $(( (t1 - t0) / 1000000 )) ms"
# a probe is a container: its start's time on top of two intervals
ok [ $(( (t1 - t0) / 1000000 )) -le 8000 ] "within two intervals (and the containers' starts)"
is "$(status | sed -n 's/.*"reason": "\(drift[^"]*\)".*/\1/p' | head -1)" \
	"drift: check failed on docker (exit 1)" "the exact drift reason"
wait_for 20 sh -c "'$SCAFFOLD' status -d '$D' -o json web | tr -d ' \n' | grep -q '\"name\":\"remediate\",\"state\":\"success\"'"
is "$?" 0 "its error: handler runs"
n=$(checks)
sleep 2.2
is "$(status | tr -d ' \n' | sed 's/.*"tasks":\[{"name":"deploy","state":"error","runs":1,"last_run":1,[^]]*\]*},//')" \
	'{"name":"remediate","state":"success","runs":1,"last_run":2}]}]}' \
	"the handler ran once; the task's runs did not change"
is "$(checks)" "$n" "no probe of a task in error"
is "$(dk ps -aq | wc -l)" 0 "no container is left behind"
done_testing
