#!/bin/sh
# The swarm runner against a real single-node Docker Swarm the test starts
# itself (its own dockerd, data and exec roots, --iptables=false
# --bridge=none, `docker swarm init` on 127.0.0.1, an image from `docker
# import`): the Scaffold "simple" example, exit codes, a missing image and
# an unsatisfiable constraint ending error with the swarm's reason, a
# timeout and a kill leaving no service, container or config, and the
# daemon SIGKILLed while a task runs, and after it has ended, adopting it
# once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docker.sh"
D="$T/data"
IMG=scaffold-test:busybox
start_dockerd
# a port of its own, free now: another swarm may hold the default 2377
free_port() {
	perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
		Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}
SWARM_PORT=$(free_port)
if ! dk swarm init --advertise-addr "127.0.0.1:$SWARM_PORT" \
	--listen-addr "127.0.0.1:$SWARM_PORT" >"$T/swarm-init.log" 2>&1; then
	sed 's/^/# /' "$T/swarm-init.log" >&2
	skip_all "docker swarm init failed on the test's own engine"
fi
import_image "$IMG"

# what the swarm holds of scaffold's: services, containers, configs
leftovers() {
	printf '%s %s %s' "$(dk service ls -q | wc -l)" \
		"$(dk ps -aq --filter label=scaffold.run | wc -l)" \
		"$(dk config ls -q | wc -l)"
}
run_of() { # CASCADE TASK: its last run
	"$SCAFFOLD" status -d "$D" -o json "$1" | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"name\":\"$2\"" |
		sed -n 's/.*"last_run":\([0-9]*\).*/\1/p'
}
logs_body() { # CASCADE TASK: the log without its header, durations cut
	"$SCAFFOLD" logs -d "$D" "$1" "$2" 2>/dev/null | sed -n '2,$p' |
		sed '/ ended /s/ after [0-9a-z.]*$//'
}

# pending_timeout covers the container's start too: 20s, as a start under
# the load of a parallel make check took more than 3s
cat >"$T/c.yaml" <<Y
data_dir: $D
swarm:
  socket: unix://$DOCKER_SOCK
  pending_timeout: 20s
Y

# 1. the simple example of the Scaffold README
sed -e "s/ubuntu:20.04/$IMG/" -e 's/^tasks:/runner: swarm\ntasks:/' \
	"$SRC/examples/simple.yaml" >"$T/simple.yaml"
run "$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/simple.yaml"
is "$RC" 0 "the simple example succeeds on the swarm"
is "$(logs_body foobar print_file_and_env)" "scaffold: swarm node $(dk info -f '{{.Name}}')
myFile.txt
FOOBAR
Hello world
scaffold: run 3 ended success" "the file and the env value pass between tasks, byte for byte"
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"

# 2. outcomes: exit codes, bytes through the frame, a missing image, a
# constraint no node meets, a timeout
cat >"$T/bad.yaml" <<Y
version: v1
name: bad
runner: swarm
tasks:
  - name: fails
    image: $IMG
    run: echo failing; exit 3
  - name: bytes
    image: $IMG
    run: |
      printf 'no newline at the end'
      printf 'x\000y\377z' >out.bin
      V="\$(printf 'a\\tb\\nc')"
    store: {file: [out.bin], env: [V]}
  - name: readback
    image: $IMG
    depends_on: [bytes]
    load: {file: [out.bin], env: [V]}
    run: |
      od -An -tx1 out.bin | tr -d ' '
      printf '%s' "\$V" | od -An -tx1 | tr -d ' '
  - name: makebig
    image: $IMG
    run: head -c 614400 /dev/zero >big.bin
    store: {file: [big.bin]}
  - name: usebig
    image: $IMG
    depends_on: [makebig]
    load: {file: [big.bin]}
    run: "true"
  - name: noimage
    image: scaffold-test:does-not-exist
    run: "true"
  - name: nowhere
    image: $IMG
    placement: [node.labels.pool==build]
    resources: {cpus: 0.5, memory: 64M}
    run: "true"
  - name: slow
    image: $IMG
    timeout: 2s
    run: echo start; sleep 30
Y
run "$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/bad.yaml"
is "$RC" 1 "failures make apply exit 1"
is "$(logs_body bad fails | sed 1d)" "failing
scaffold: run $(run_of bad fails) ended error: exit code 3" \
	"a failing script: its exit code"
# (the end line follows the output as it is, as with every runner)
is "$(logs_body bad bytes | sed 1d)" "no newline at the endscaffold: run $(run_of bad bytes) ended success" \
	"output without a final newline stays so, and the frame never shows"
is "$(logs_body bad readback | sed 1d | sed '$d')" "780079ff7a
6109620a63" "a binary store file and an env value with a tab and a newline go out and back in byte for byte"
is "$(logs_body bad usebig)" "scaffold: cannot start: file 'big.bin' is 600 KiB; the swarm runner carries at most 500 KiB a file (a Swarm config)" \
	"a loaded file bigger than a Swarm config: a clear error naming it and the limit"
is "$(logs_body bad noimage | sed 1d | sed 's/^scaffold: run [0-9]* /scaffold: run N /')" \
	"scaffold: the swarm rejected the task: No such image: scaffold-test:does-not-exist
scaffold: run N ended error: the swarm rejected the task: No such image: scaffold-test:does-not-exist" \
	"a missing image ends error with the swarm's reason"
is "$(logs_body bad nowhere | sed 's/^scaffold: run [0-9]* /scaffold: run N /')" \
	"scaffold: no swarm node took the task in 20s: no suitable node (scheduling constraints not satisfied on 1 node)
scaffold: run N ended error: no swarm node took the task in 20s: no suitable node (scheduling constraints not satisfied on 1 node)" \
	"a constraint no node meets ends error after pending_timeout, with the swarm's reason"
is "$(logs_body bad slow | sed 1d | sed 's/^scaffold: run [0-9]* /scaffold: run N /')" "start
scaffold: timed out after 2s
scaffold: run N ended error: timed out after 2s" "a timeout ends the run in error"
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"

# 3. a kill from another process
cat >"$T/long.yaml" <<Y
version: v1
name: long
runner: swarm
tasks:
  - name: forever
    image: $IMG
    run: echo started; sleep 60
Y
"$SCAFFOLD" apply -q -c "$T/c.yaml" -d "$D" "$T/long.yaml" >"$T/apply.out" 2>&1 &
apid=$!
started() { logs_body long forever | grep -q '^started$'; }
ok wait_for 60 started "the long task runs"
kid=$(run_of long forever)
run "$SCAFFOLD" kill -d "$D" "$kid"
is "$RC:$OUT" "0:kill requested for run $kid" "kill is accepted"
wait $apid
is "$?" 1 "apply exits 1 after a kill"
is "$(logs_body long forever | sed 1d)" "started
scaffold: killed
scaffold: run $kid ended killed" "the log says it was killed"
is "$(leftovers)" "0 0 0" "the killed task leaves no service, container or config"

# 4. the daemon SIGKILLed while the task runs: the next one adopts it once
tgit init -q --bare -b main "$T/repo.git"
tgit clone -q "$T/repo.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/adopt.yaml" <<Y
version: v1
name: adopt
runner: swarm
tasks:
  - name: slow
    image: $IMG
    run: echo begin; sleep 5; echo end; V=kept
    store: {env: [V]}
  - name: after
    image: $IMG
    load: {env: [V]}
    run: echo "after \$V"
    depends_on: [slow]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m adopt && tgit push -q origin main 2>/dev/null)
cat >"$T/serve.yaml" <<Y
data_dir: $T/sdata
listen: 127.0.0.1:0
poll_interval: 1s
swarm: {socket: $DOCKER_SOCK}
repos: [{name: r, url: $T/repo.git}]
Y
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve1.log" &
spid=$!
srunning() { grep -q '^begin' "$T/sdata/logs/1.log" 2>/dev/null; }
ok wait_for 60 srunning "the daemon starts the task on the swarm"
kill -KILL $spid
wait $spid 2>/dev/null
is "$(dk service ls -q | wc -l)" 1 "the service outlives the daemon"
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve2.log" &
spid=$!
done_ok() { "$SCAFFOLD" status -d "$T/sdata" adopt 2>/dev/null | grep -q 'after  *success'; }
ok wait_for 60 done_ok "after a restart the run is adopted and the cascade finishes"
run "$SCAFFOLD" status -d "$T/sdata" -o json adopt
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"success","runs":1,"last_run":1},{"name":"after","state":"success","runs":1,"last_run":2}]}]}' \
	"the adopted run counts once, and its stored env reached the next task"
run "$SCAFFOLD" logs -d "$T/sdata" adopt after
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "after kept" "the value stored by the adopted run"
ok grep -q "adopted 1 run" "$T/serve2.log" "the daemon says it adopted the run"
kill -TERM $spid
wait $spid
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"

# 5. the daemon frozen while the task runs, the task ending meanwhile,
# then the daemon SIGKILLed: the next one finds the task ended and takes
# its outcome and stored env from the service's log, once
cat >"$T/work/.scaffold/adopt.yaml" <<Y
version: v1
name: adopt
runner: swarm
tasks:
  - name: slow
    image: $IMG
    run: echo begin; sleep 2; echo end; V=after-the-end
    store: {env: [V]}
  - name: after
    image: $IMG
    load: {env: [V]}
    run: echo "after \$V"
    depends_on: [slow]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m ended && tgit push -q origin main 2>/dev/null)
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve3.log" &
spid=$!
srunning3() { r=$(ls "$T/sdata/logs" | sort -n | tail -1) &&
	grep -q '^begin' "$T/sdata/logs/$r" 2>/dev/null; }
ok wait_for 60 srunning3 "the daemon starts the changed task"
kill -STOP $spid
completed() { dk service ps --format '{{.CurrentState}}' \
	"$(dk service ls -q)" 2>/dev/null | grep -q '^Complete'; }
ok wait_for 60 completed "the task completes while the daemon is frozen"
kill -KILL $spid
kill -CONT $spid 2>/dev/null
wait $spid 2>/dev/null
"$SCAFFOLD" serve --config "$T/serve.yaml" 2>"$T/serve4.log" &
spid=$!
done3() { "$SCAFFOLD" status -d "$T/sdata" adopt 2>/dev/null |
	grep -q 'after  *success  *2'; }
ok wait_for 60 done3 "the restarted daemon adopts the ended run, and the cascade finishes"
run "$SCAFFOLD" logs -d "$T/sdata" adopt after
is "$(printf '%s\n' "$OUT" | sed -n 3p)" "after after-the-end" \
	"the stored env comes from the log of the task that had ended"
run "$SCAFFOLD" status -d "$T/sdata" -o json adopt
is "$(printf '%s\n' "$OUT" | tr -d ' \n' | sed 's/.*"tasks"://')" '[{"name":"slow","state":"success","runs":2,"last_run":3},{"name":"after","state":"success","runs":2,"last_run":4}]}]}' \
	"the ended run counts once"
kill -TERM $spid
wait $spid
is "$(leftovers)" "0 0 0" "no service, container or config is left behind"
done_testing
