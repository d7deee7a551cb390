#!/bin/sh
# The daemon killed at an exact step of a swarm run (SCAFFOLD_TEST_KILL_AT
# makes it SIGKILL itself there, as a crash would): before the service is
# created, right after (a node's run of placement mode global too), and
# once a run's end is recorded but before its service is removed, and
# in that removal before its configs go.  Each restart finishes every run
# exactly once (the engine's own events count the task's container
# starts), and the services, containers and configs of runs the store
# records as ended are removed at the start, with exact counts, while a
# run still going is adopted.  (While the task runs, and after it ended
# unseen: t3100.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
command -v jq >/dev/null || skip_all "jq is not installed"
IMG=scaffold-test:busybox
start_dockerd
SWARM_PORT=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
	Listen => 1, LocalAddr => "127.0.0.1:0")->sockport')
if ! dk swarm init --advertise-addr "127.0.0.1:$SWARM_PORT" \
	--listen-addr "127.0.0.1:$SWARM_PORT" >"$T/swarm-init.log" 2>&1; then
	sed 's/^/# /' "$T/swarm-init.log" >&2
	skip_all "docker swarm init failed on the test's own engine"
fi
import_image "$IMG"
T0=$(date +%s)
D="$T/sdata"

leftovers() {
	printf '%s %s %s' "$(dk service ls -q | wc -l)" \
		"$(dk ps -aq --filter label=scaffold.run | wc -l)" \
		"$(dk config ls -q | wc -l)"
}
# how many times the engine started a container of CASCADE's TASK
starts() {
	dk events --since "$T0" --until "$(($(date +%s) + 1))" \
		--filter type=container --filter event=start \
		--filter "label=scaffold.cascade=$1" \
		--filter "label=scaffold.task=$2" --format '{{.ID}}' | wc -l
}
tasks_of() { # CASCADE: "name state runs" per task
	"$SCAFFOLD" status -d "$D" -o json "$1" |
		jq -r '.cascades[0].tasks[] | "\(.name) \(.state) \(.runs)"'
}
tgit init -q --bare -b main "$T/repo.git"
tgit clone -q "$T/repo.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
push() { # FILE TEXT
	printf '%s\n' "$2" >"$T/work/.scaffold/$1"
	(cd "$T/work" && tgit add -A && tgit commit -q -m "$1" &&
		tgit push -q origin main 2>/dev/null)
}
cat >"$T/serve.yaml" <<Y
data_dir: $D
listen: 127.0.0.1:0
poll_interval: 1s
swarm: {socket: $DOCKER_SOCK}
repos: [{name: r, url: $T/repo.git}]
Y
SPID=""
serve() { # LOG [POINT]: a daemon, killed at POINT when given
	if [ -n "${2:-}" ]; then
		SCAFFOLD_TEST_KILL_AT=$2 "$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/$1" &
	else
		"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/$1" &
	fi
	SPID=$!
}
died_at() { # LOG POINT: the daemon killed itself there
	wait "$SPID"
	is "$?:$(grep -c "^scaffold: testpoint '$2': killed here$" "$T/$1")" "137:1" \
		"the daemon dies at $2"
	SPID=""
}
stop() {
	kill_ours -TERM "$SPID"
	wait "$SPID"
	SPID=""
}
trap 'kill_ours -KILL $SPID; stop_dockerd; docker_leftovers; rm -rf "$T"' EXIT
settled() { # CASCADE TASK: the task succeeded
	"$SCAFFOLD" status -d "$D" -o json "$1" 2>/dev/null |
		jq -e ".cascades[0].tasks[] | select(.name == \"$2\" and .state == \"success\")" >/dev/null
}
once_task() { # CASCADE
	cat <<Y
version: v1
name: $1
runner: swarm
tasks:
  - name: once
    image: $IMG
    run: echo "side effect"; V=$1
    store: {env: [V]}
  - name: after
    image: $IMG
    depends_on: [once]
    load: {env: [V]}
    run: echo "after \$V"
Y
}

# 1. before the service is created: nothing ran, the run starts again
push pa.yaml "$(once_task pa)"
serve a1.log swarm-before-create
died_at a1.log swarm-before-create
is "$(leftovers)" "0 0 0" "no service was created"
serve a2.log
ok wait_for 60 settled pa after "after a restart the cascade finishes"
stop
is "$(tasks_of pa)" "once success 2
after success 1" "the run cut short before its service counts, and the task ran once more"
is "$(starts pa once) $(starts pa after)" "1 1" "the task's container started once"
ok grep -q "pa/once: scaffold stopped before the run started; it runs again" "$T/a2.log" \
	"the restarted daemon says the run never started, and runs it again"
is "$("$SCAFFOLD" logs -d "$D" pa after | sed -n 3p)" "after pa" "the stored env reached the next task"

# 2. right after the service is created: adopted, finished once
push pb.yaml "$(once_task pb)"
serve b1.log swarm-after-create
died_at b1.log swarm-after-create
is "$(dk service ls -q | wc -l)" 1 "the service was created, and outlives the daemon"
serve b2.log
ok wait_for 60 settled pb after "after a restart the cascade finishes"
stop
is "$(tasks_of pb)" "once success 1
after success 1" "the adopted run counts once"
is "$(starts pb once) $(starts pb after)" "1 1" "the task's container started once"
ok grep -q "adopted 1 run left by an earlier scaffold" "$T/b2.log" "the daemon says it adopted the run"
is "$("$SCAFFOLD" logs -d "$D" pb once | grep -c '^side effect$')" 1 "the output is in the log once"
is "$("$SCAFFOLD" logs -d "$D" pb after | sed -n 3p)" "after pb" "the stored env reached the next task"
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"

# 2b. the same for a node's run of placement mode global
push pd.yaml "version: v1
name: pd
runner: swarm
tasks:
  - name: each
    image: $IMG
    placement: {mode: global}
    run: echo \"on \$SCAFFOLD_HOST\""
serve d1.log swarm-after-create
died_at d1.log swarm-after-create
serve d2.log
ok wait_for 60 settled pd each "after a restart the node's run is adopted and succeeds"
stop
is "$(tasks_of pd) $("$SCAFFOLD" runs -d "$D" pd each | awk 'NR > 1 { print $2 }')" \
	"each success 1 $(dk info -f '{{.Name}}')" "it counts once, under the node's host name"
is "$(starts pd each)" 1 "its container started once"

# 3. a run's end recorded, its service not yet removed, another run going:
# the restart removes what the ended run left and adopts the other (quick's
# script is over 100 KiB: it travels as configs, two of them)
BIG=$(head -c 110000 /dev/zero | tr '\0' x)
push pc.yaml "version: v1
name: pc
runner: swarm
tasks:
  - name: quick
    image: $IMG
    run: |
      # $BIG
      echo quick
  - name: long
    image: $IMG
    run: echo begin; sleep 8; echo end"
serve c1.log exec-end-recorded
died_at c1.log exec-end-recorded
is "$(tasks_of pc)" "quick success 1
long running 1" "the store records quick as ended, long as running"
is "$(dk service ls -q | wc -l) $(dk ps -aq --filter label=scaffold.task=quick | wc -l) $(dk config ls -q | wc -l)" "2 1 2" \
	"both services are there, and quick's exited container and configs"
serve c2.log
ok wait_for 60 settled pc long "after a restart the long task finishes"
stop
is "$(untimed "$T/c2.log" | grep 'swarm: removed')" "info: swarm: removed 1 service, 1 container and 2 configs that ended runs left" \
	"the start removes the service, the container and the configs of the ended run, and says how many"
is "$(tasks_of pc)" "quick success 1
long success 1" "each run counts once"
is "$(starts pc quick) $(starts pc long)" "1 1" "each task's container started once"
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"

# 4. the removal of an ended run's things cut short before its configs
push pe.yaml "version: v1
name: pe
runner: swarm
tasks:
  - name: big
    image: $IMG
    run: |
      # $BIG
      echo big"
serve e1.log swarm-configs-left
died_at e1.log swarm-configs-left
is "$(tasks_of pe) $(leftovers)" "big success 1 0 0 2" \
	"the run is recorded, its service and container gone, its configs left"
serve e2.log
ok wait_for 10 sh -c "grep -q 'swarm: removed' '$T/e2.log'" "the restarted daemon sweeps"
stop
is "$(untimed "$T/e2.log" | grep 'swarm: removed')" "info: swarm: removed 0 services, 0 containers and 2 configs that ended runs left" \
	"the start removes the configs the ended run left, and says how many"
is "$(tasks_of pe) $(starts pe big) $(leftovers)" "big success 1 1 0 0 0" \
	"the run counts once, its container started once, nothing is left"
done_testing
