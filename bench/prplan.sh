#!/bin/sh
# prplan.sh - a pull request's plan in a big repository (issue 20): 200
# cascade files of 50 tasks each (a chain of 10 under 5 roots, every task
# auto_execute: false, so applying the base runs nothing), a pull request
# that changes the run script of one task.  Measured: what serve's worker
# took from the pull request's fetch to its status enqueued (its log line
# "prplan: ... (the fetch N ms, the plan and its status M ms)"), and
# beside it `scaffold plan` on the two versions of the changed file.
# Rounds: ROUNDS (default 5) pull requests, each a new head.  Needs git,
# curl, openssl; the forge is the recording stub (build/tests/forge-stub).
# Run alone: sh bench/prplan.sh.  Exit 1 when a step fails.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SCAFFOLD=${SCAFFOLD:-$SRC/scaffold}
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
ROUNDS=${ROUNDS:-5}
T=$(mktemp -d)
SPID= STUBPID=
trap '[ -n "$SPID" ] && kill $SPID; [ -n "$STUBPID" ] && kill $STUBPID; wait 2>/dev/null; rm -rf "$T"' EXIT
g() { GIT_CONFIG_NOSYSTEM=1 HOME="$T" git -c user.name=B -c user.email=b@example.com "$@"; }

# cascade N RUN0: file N, task t000 runs RUN0
cascade() {
	printf 'version: v1\nname: c%03d\nrunner: local\ntasks:\n' "$1"
	i=0
	while [ $i -lt 50 ]; do
		printf '  - name: t%03d\n    auto_execute: false\n' $i
		if [ $i -eq 0 ]; then
			printf '    run: %s\n' "$2"
		else
			printf '    run: echo c%03d t%03d\n' "$1" $i
		fi
		[ $((i % 10)) -ne 0 ] &&
			printf '    depends_on: [t%03d]\n' $((i - 1))
		i=$((i + 1))
	done
}
g init -q --bare -b main "$T/base.git"
g init -q -b main "$T/w"
mkdir -p "$T/w/.scaffold"
n=0
while [ $n -lt 200 ]; do
	cascade $n "echo v0" >"$T/w/.scaffold/c$(printf %03d $n).yaml"
	n=$((n + 1))
done
g -C "$T/w" add -A && g -C "$T/w" commit -qm base && g -C "$T/w" push -q "$T/base.git" HEAD:main
BASE=$(g -C "$T/w" rev-parse HEAD)

"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>/dev/null &
STUBPID=$!
i=0; while [ ! -s "$T/gh.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo token >"$T/gh.token"
echo 'bench secret' >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com/
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $T/base.git
    webhook_secret_file: secret
    runners: [local]
    forge: {kind: github, api_url: "http://127.0.0.1:$(cat "$T/gh.port")", token_file: gh.token, project: acme/infra}
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
i=0
until grep -q "cascade 'c199'" "$T/serve.log"; do
	sleep 0.2; i=$((i + 1))
	[ $i -lt 600 ] || { echo "the base was not applied" >&2; tail "$T/serve.log" >&2; exit 1; }
done
PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve.log" | head -1)

r=1
while [ $r -le "$ROUNDS" ]; do
	cascade 117 "echo round $r" >"$T/w/.scaffold/c117.yaml"
	g -C "$T/w" commit -qam "round $r"
	g -C "$T/w" push -q "$T/base.git" "HEAD:refs/pull/$r/head"
	HEAD=$(g -C "$T/w" rev-parse HEAD)
	sed -e "s|@ACTION@|opened|g" -e "s|@NUMBER@|$r|g" -e "s|@HEAD@|$HEAD|g" \
		-e "s|@HEAD_REF@|topic|g" -e "s|@BASE_REF@|main|g" -e "s|@BASE@|$BASE|g" \
		-e "s|@CLONE_URL@|$T/base.git|g" -e "s|@PROJECT@|acme/infra|g" \
		"$SRC/tests/cases/webhooks/github-pull-request.json" >"$T/pr.json"
	sig=$(openssl dgst -sha256 -hmac 'bench secret' -r "$T/pr.json" | cut -d' ' -f1)
	curl -s -o /dev/null -X POST --data-binary "@$T/pr.json" \
		-H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
		-H "X-GitHub-Delivery: bench-$r" -H "X-Hub-Signature-256: sha256=$sig" \
		"http://127.0.0.1:$PORT/hooks/github"
	i=0
	until grep -q "prplan: repo 'infra': pull request #$r " "$T/serve.log"; do
		sleep 0.05; i=$((i + 1))
		[ $i -lt 1200 ] || { echo "round $r: no plan" >&2; exit 1; }
	done
	grep "prplan: repo 'infra': pull request #$r " "$T/serve.log"
	r=$((r + 1))
done
grep -c '"scaffold/plan"' "$T/gh.log" | sed 's/^/statuses posted: /'
grep '"scaffold/plan"' "$T/gh.log" | tail -1 | sed 's/.*"description":"\([^"]*\)".*/last description: \1/'
# the same plan by the CLI, on the two versions of the file
g -C "$T/w" show "$BASE:.scaffold/c117.yaml" >"$T/old.yaml"
s=$(date +%s%N)
"$SCAFFOLD" plan "$T/old.yaml" "$T/w/.scaffold/c117.yaml" >/dev/null
e=$(date +%s%N)
echo "scaffold plan OLD NEW (one file, 50 tasks): $(( (e - s) / 1000000 )) ms"
