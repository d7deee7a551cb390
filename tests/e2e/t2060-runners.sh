#!/bin/sh
# Which runners a repository may use (config 'runners', default docker and
# ssh): a pushed cascade that needs another one is invalid at that
# revision, with file:line:col naming the repo and the key, its last good
# definition stays and nothing runs; a repo that lists local runs its
# local tasks.  Also: a task with an image never runs local, and the
# config's own errors (an unknown runner, local.user missing as root).
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D="$T/data"
export HOME="$T/home"
mkdir -p "$HOME"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR

new_repo() { # NAME: a bare $T/NAME.git and its work tree $T/NAME
	tgit init -q --bare -b main "$T/$1.git"
	tgit clone -q "$T/$1.git" "$T/$1" 2>/dev/null
	mkdir -p "$T/$1/.scaffold"
}
push() { # NAME MSG: commit everything and push; $SHA is the commit
	(cd "$T/$1" && tgit add -A && tgit commit -q -m "$2" &&
		tgit push -q origin main 2>/dev/null)
	SHA=$(tgit -C "$T/$1" rev-parse HEAD)
}

# infra (default runners): a valid cascade first, its one docker task
# started by hand only (no engine needed)
new_repo infra
cat >"$T/infra/.scaffold/deploy.yaml" <<'Y'
version: v1
name: deploy
tasks:
  - name: ship
    image: alpine:3.19
    run: echo shipping
    auto_execute: false
Y
push infra "a docker task"
infra1=$SHA

# tools (runners: [local]): a local task
new_repo tools
cat >"$T/tools/.scaffold/lint.yaml" <<Y
version: v1
name: lint
tasks:
  - name: check
    run: echo linting
Y
push tools "a local task"
tools1=$SHA

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
  - name: tools
    url: $T/tools.git
    runners: [local]
Y
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"

applied_is() { # REPO COMMIT
	"$SCAFFOLD" repos -d "$D" -o json 2>/dev/null | tr -d ' \n' |
		grep -q "\"name\":\"$1\"[^}]*\"applied\":\"$2\""
}
state_of() { # CASCADE TASK -> "STATE RUNS"
	"$SCAFFOLD" status -d "$D" "$1" 2>/dev/null |
		awk -v t="$2" '$1 == t { print $2, $3 }'
}
lint_ok() { [ "$(state_of lint check)" = "success 1" ]; }
# the result and errors of a revision, as scaffold repos -o json says
revision() { # COMMIT [ARGS...]
	_c=$1
	shift
	"$SCAFFOLD" repos "$@" -o json 2>/dev/null | grep -A7 "\"commit\": \"$_c\"" |
		grep -E '"result"|"errors"' | sed 's/^ *//'
}

ok wait_for 20 lint_ok "a repo whose runners list local runs its local task"
run "$SCAFFOLD" logs -d "$D" lint check
is "$(printf '%s\n' "$OUT" | grep -c '^linting$')" 1 "the task ran on this machine"
ok wait_for 20 applied_is infra "$infra1" "a cascade of docker tasks is applied under the default runners"
is "$(revision "$infra1" -d "$D")" '"result": "applied",
"errors": null' "its revision is applied"

# infra pushes local tasks three ways: a task's runner, the default of a
# task without an image, the cascade's runner
cat >>"$T/infra/.scaffold/deploy.yaml" <<Y
  - name: build
    runner: local
    run: echo building
Y
cat >"$T/infra/.scaffold/lint.yaml" <<Y
version: v1
name: infra-lint
tasks:
  - name: fmt
    run: echo fmt
  - name: pull
    image: alpine:3.19
    run: echo pulling
Y
cat >"$T/infra/.scaffold/ops.yaml" <<Y
version: v1
name: ops
runner: local
tasks:
  - {name: a, run: echo a}
  - {name: b, run: echo b}
Y
push infra "local tasks"
infra2=$SHA
ok wait_for 20 applied_is infra "$infra2" "the push is seen"
want='"result": "invalid",
"errors": ".scaffold/deploy.yaml:9:13: error: task '"'build'"': runner '"'local'"' is not allowed for repo '"'infra'"' (its '"'runners'"' in the daemon config: docker, ssh, swarm)\n.scaffold/lint.yaml:4:5: error: task '"'fmt'"': runner '"'local'"' (the default for a task without an image) is not allowed for repo '"'infra'"' (its '"'runners'"' in the daemon config: docker, ssh, swarm)\n.scaffold/ops.yaml:3:9: error: runner '"'local'"' is not allowed for repo '"'infra'"' (its '"'runners'"' in the daemon config: docker, ssh, swarm)\n"'
is "$(revision "$infra2" -d "$D")" "$want" "the revision is invalid: each refused runner at its file:line:col, naming the repo and its runners"
is "$(SCAFFOLD_TOKEN=$VIEW revision "$infra2" --server "$U")" "$want" "the API says the same"
ok grep -q "reconcile: repo 'infra' at .*: .scaffold/deploy.yaml:9:13: error: task 'build': runner 'local' is not allowed for repo 'infra'" "$T/serve.log" "the daemon logs it"
run "$SCAFFOLD" status -d "$D" -o json deploy
is "$(printf '%s\n' "$OUT" | grep '"revision"' | tr -d ' ,')" "\"revision\":\"$infra1\"" "the last good definition stays active"
is "$(state_of deploy ship):$(state_of deploy build)" "not_started 0:" "without the refused task, and nothing reset"
run "$SCAFFOLD" status -d "$D" infra-lint
is "$RC" 1 "a refused new cascade is not created"
run "$SCAFFOLD" status -d "$D" ops
is "$RC" 1 "nor is the one with the cascade's runner"
sleep 1
run "$SCAFFOLD" status -d "$D" -o json
is "$(printf '%s\n' "$OUT" | grep -o '"runs": [0-9]*' | sort | uniq -c | tr -s ' ')" " 1 \"runs\": 0
 1 \"runs\": 1" "no run is recorded but tools' one"

# the repo's runners allow what it lists: ssh is fine for infra (valid,
# applied), local is not even when another task uses docker
rm "$T/infra/.scaffold/lint.yaml" "$T/infra/.scaffold/ops.yaml"
sed -i 's/runner: local/runner: ssh\n    hosts: [web1]/' "$T/infra/.scaffold/deploy.yaml"
push infra "ssh instead"
infra3=$SHA
ok wait_for 20 applied_is infra "$infra3" "the fix is seen"
is "$(revision "$infra3" -d "$D")" '"result": "applied",
"errors": null' "a cascade with docker and ssh tasks is applied for infra"

# tools allows local only: a task with an image (docker) is refused there
cat >"$T/tools/.scaffold/build.yaml" <<'Y'
version: v1
name: build
tasks:
  - name: compile
    image: gcc:13
    run: make
Y
push tools "a docker task"
tools2=$SHA
ok wait_for 20 applied_is tools "$tools2" "the docker task's push is seen"
is "$(revision "$tools2" -d "$D")" '"result": "invalid",
"errors": ".scaffold/build.yaml:4:5: error: task '"'compile'"': runner '"'docker'"' (the default for a task with an image) is not allowed for repo '"'tools'"' (its '"'runners'"' in the daemon config: local)\n"' "a repo that lists only local refuses docker"
is "$(state_of lint check)" "success 1" "and its valid cascade keeps its state"

kill -TERM $SPID
wait $SPID
is "$?" 0 "SIGTERM stops the daemon cleanly"

# the operator takes local away from tools: its active cascade keeps its
# local task, which must not start any more, by hand neither
sed -i 's/    runners: \[local\]/    runners: [docker]/' "$T/scaffold.yaml"
OP=$("$SCAFFOLD" token create op --role operator -d "$D" 2>/dev/null)
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve2.log" &
SPID=$!
serve_port "$T/serve2.log"
SCAFFOLD_TOKEN=$OP run "$SCAFFOLD" run --server "http://127.0.0.1:$PORT" lint check
is "$RC" 1 "a run by hand of the local task does not succeed"
lint_refused() { [ "$(state_of lint check)" = "error 2" ]; }
ok wait_for 20 lint_refused "but the run does not start: the task is in error"
run "$SCAFFOLD" logs -d "$D" lint check
is "$(printf '%s\n' "$OUT" | tail -n 1)" "scaffold: runner 'local' is not allowed for repo 'tools' (its 'runners' in the daemon config: docker)" \
	"its log says why, naming the repo and the key"
kill -TERM $SPID
wait $SPID

# --- a task with an image never runs local: an error, not a warning
cat >"$T/image.yaml" <<'Y'
version: v1
name: image-local
runner: local
tasks:
  - name: prepare
    run: ./prepare.sh
  - name: build
    image: gcc:13
    run: make
Y
run "$SCAFFOLD" validate "$T/image.yaml"
is "$RC:$ERR" "1:$T/image.yaml:8:12: error: task 'build': a task with an 'image' cannot use runner 'local' (set at line 3): use runner 'docker', or remove 'image'
1 error, 0 warnings in 1 file" "validate: a task with an image under a local cascade runner is an error"
run "$SCAFFOLD" apply -q -d "$T/apply-data" "$T/image.yaml"
is "$RC" 1 "and apply refuses it"
ok test ! -e "$T/apply-data/scaffold.db" "without touching a data dir"

# scaffold apply on the operator's own files keeps every runner
printf 'version: v1\nname: mine\ntasks: [{name: t, run: "echo mine"}]\n' >"$T/mine.yaml"
run "$SCAFFOLD" apply -q -d "$T/apply-data" "$T/mine.yaml"
_rc=$RC
run "$SCAFFOLD" logs -d "$T/apply-data" mine t
is "$_rc:$(printf '%s\n' "$OUT" | grep '^mine$')" "0:mine" "apply runs a local task with no config"

# --- the config: runners are names scaffold knows
cat >"$T/bad.yaml" <<Y
data_dir: bad-data
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    runners: [docker, lokal, shell]
Y
run "$SCAFFOLD" serve --config "$T/bad.yaml"
is "$RC:$ERR" "1:$T/bad.yaml:6:23: error: repo 'infra': unknown runner 'lokal' in 'runners'; did you mean 'local'?
$T/bad.yaml:6:30: error: repo 'infra': unknown runner 'shell' in 'runners': use local, docker, ssh or swarm
scaffold serve: the config is invalid; not started" "serve refuses an unknown runner, with did you mean"

# as root, a repo that allows local needs local.user
cat >"$T/root.yaml" <<Y
data_dir: root-data
repos:
  - name: demo
    url: $T/tools.git
    runners: [local]
Y
if [ "$(id -u)" = 0 ]; then
	run "$SCAFFOLD" serve --config "$T/root.yaml"
	is "$RC:$ERR" "1:$T/root.yaml:5:15: error: 'local.user' is required: scaffold runs as root and repo 'demo' allows the local runner (add local: {user: NAME}, an unprivileged user for its tasks)
scaffold serve: the config is invalid; not started" "as root, serve refuses local without local.user"
	ok test ! -e "$T/root-data" "and creates no data dir"
else
	# (not root: that config is valid, and serve would start)
	_result 0 "as root, serve refuses local without local.user # SKIP not root"
	_result 0 "and creates no data dir # SKIP not root"
fi
done_testing
