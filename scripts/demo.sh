#!/bin/sh
# make demo: the daemon reconciling a push.  Creates a git repository from
# examples/ (under ./demo, once), starts scaffold serve on it, shows the
# cascades running with the local runner, pushes an edit to one task and
# shows exactly that task and its descendants running again.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
S="$top/scaffold"
demo="$top/demo"
D="$demo/data"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
g() { git -c user.name="scaffold demo" -c user.email=demo@localhost "$@"; }

if [ ! -d "$demo/repo.git" ]; then
	say "creating a git repository from examples/ in demo/"
	mkdir -p "$demo"
	g init -q --bare -b main "$demo/repo.git"
	g clone -q "$demo/repo.git" "$demo/work" 2>/dev/null
	mkdir -p "$demo/work/.scaffold"
	# the cascades that run on this machine (local runner)
	cp examples/simple-local.yaml examples/deploy-rollback.yaml \
		"$demo/work/.scaffold/"
	(cd "$demo/work" && g add -A && g commit -q -m "Add cascades" &&
		g push -q origin main 2>/dev/null)
fi
# written every time: a demo/ made by an older scaffold gets the keys it
# needs now (its repo allows the local runner, which runs as nobody when
# the demo runs as root)
cat >"$demo/scaffold.yaml" <<C
# scaffold serve --config demo/scaffold.yaml
listen: 127.0.0.1:0  # any free port; serve logs the one it took
data_dir: data
poll_interval: 2s
max_parallel: 4
local: {user: nobody}
repos:
  - name: demo
    url: repo.git
    branch: main
    path: .scaffold
    runners: [local]
C

say "scaffold validate (what a pre-commit hook runs)"
$S validate -q "$demo/work/.scaffold" && echo "all cascades valid"

say "starting: scaffold serve --config demo/scaffold.yaml (log: demo/serve.log)"
$S serve --config "$demo/scaffold.yaml" 2>"$demo/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT

settled() { # no task waiting or running, and the repo at its head
	$S status -d "$D" >"$demo/.status" 2>/dev/null || return 1
	! grep -qE ' (waiting|running) ' "$demo/.status" || return 1
	head=$(g -C "$demo/work" rev-parse HEAD)
	$S repos -d "$D" -o json | grep -q "\"applied\": \"$head\""
}
wait_settled() {
	i=0
	while ! settled; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "timed out; see demo/serve.log"; exit 1; }
		sleep 0.2
	done
}
i=0
until port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$demo/serve.log") &&
	[ -n "$port" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$demo/serve.log"; exit 1; }
	sleep 0.1
done
wait_settled
say "scaffold status: the daemon fetched the repository and ran the tasks"
$S status -d "$D"

say "edit store_env_var in demo/work, commit and push"
(cd "$demo/work" &&
	sed -i 's/MESSAGE="Hello .*"/MESSAGE="Hello at '"$(date +%T)"'"/' \
		.scaffold/simple-local.yaml &&
	g commit -q -am "Change the message" && g push -q origin main 2>/dev/null &&
	g log --oneline -1)
wait_settled
say "scaffold status: only store_env_var and print_file_and_env ran again"
$S status -d "$D" demo/foobar-local
say "scaffold logs foobar-local print_file_and_env"
$S logs -d "$D" foobar-local print_file_and_env

say "the status page a commit status links to (while the demo runs)"
url="http://127.0.0.1:$port/c/demo/foobar-local"
code=$(curl -s -o "$demo/.page" -w '%{http_code}' "$url" 2>/dev/null || true)
echo "$url: HTTP $code, $(wc -c <"$demo/.page" 2>/dev/null || echo 0) bytes"
[ "$code" = 200 ] || { echo "the status page did not answer"; exit 1; }

say "what the daemon logged"
cat "$demo/serve.log"

cat <<T

Try it yourself:
  ./scaffold serve --config demo/scaffold.yaml &   # its log names the port
  # open http://127.0.0.1:PORT/ for the status pages
  cd demo/work && \$EDITOR .scaffold/simple-local.yaml && git commit -am edit && git push
  ./scaffold status -d demo/data        # watch only the affected tasks re-run
T
