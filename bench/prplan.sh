#!/bin/sh
# prplan.sh - a pull request's plan in a big repository (issue 20): 200
# cascade files of 50 tasks each (chains of 10 under 5 roots, every task
# auto_execute: false, so applying the base runs nothing), and pull
# requests that each change the run script of one root task of one file.
#
# Measured per pull request, in the same run:
#   - the webhook to the status posted: from the signed pull_request
#     delivery sent to the "scaffold/plan" status recorded by the forge
#     stub (the time its log file last changed), the whole of it;
#   - of that, after the fetch (the target, < 200 ms): the worker's plan
#     and its status (serve's log line "prplan: ... (the fetch N ms, the
#     plan and its status M ms)"), then the outbox's post until the stub
#     has it (from the time of that log line);
#   - beside it, `scaffold plan -o json OLD NEW` on the two versions of
#     the changed file (a process: the same plan from the two files).
# Checks: each status says "1 cascade: 1 changed, 10 tasks to re-run, 40
# unchanged" (for 50 tasks), the CLI's plan resets the same 10 tasks,
# nothing ran.
#
# Settings: BENCH_PR_CASCADES (200), BENCH_PR_TASKS (50, a multiple of
# 10), BENCH_PR_ROUNDS (5), BENCH_PR_TARGET_MS (200; BENCH_PR_SMOKE=1: no
# target, as bench-smoke's figures mean nothing), BENCH_PR_LOG (a path to
# keep serve's log at).  Needs git, curl,
# openssl; the forge is the recording stub (make build/tests/forge-stub).
# Exit 1 when a step or a check fails, or the target is missed.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
SCAFFOLD=${SCAFFOLD:-$SRC/scaffold}
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
NC=${BENCH_PR_CASCADES:-200}
NT=${BENCH_PR_TASKS:-50}
ROUNDS=${BENCH_PR_ROUNDS:-5}
TARGET=${BENCH_PR_TARGET_MS:-200}
SMOKE=${BENCH_PR_SMOKE:-0}
for t in git curl openssl; do
	command -v $t >/dev/null || { echo "prplan: skipped: $t is not installed"; exit 0; }
done
if [ ! -x "$STUB" ]; then
	make -C "$SRC" -s build/tests/forge-stub >/dev/null ||
		{ echo "prplan: no forge stub at $STUB" >&2; exit 1; }
fi
T=$(mktemp -d)
SPID= STUBPID=
trap '[ -n "$SPID" ] && kill $SPID; [ -n "$STUBPID" ] && kill $STUBPID; wait 2>/dev/null
	[ -n "${BENCH_PR_LOG:-}" ] && cp "$T/serve.log" "$BENCH_PR_LOG"; rm -rf "$T"' EXIT
g() { GIT_CONFIG_NOSYSTEM=1 HOME="$T" git -c user.name=B -c user.email=b@example.com "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
die() { echo "prplan: $*" >&2; exit 1; }
# the file each pull request changes
m=117
[ $m -lt "$NC" ] || m=$((NC - 1))
M=$(printf %03d $m)

# cascade N RUN0: file N, task t000 runs RUN0
cascade() {
	printf 'version: v1\nname: c%03d\nrunner: local\ntasks:\n' "$1"
	i=0
	while [ $i -lt "$NT" ]; do
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
while [ $n -lt "$NC" ]; do
	cascade $n "echo v0" >"$T/w/.scaffold/c$(printf %03d $n).yaml"
	n=$((n + 1))
done
g -C "$T/w" add -A && g -C "$T/w" commit -qm base && g -C "$T/w" push -q "$T/base.git" HEAD:main
BASE=$(g -C "$T/w" rev-parse HEAD)

"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>/dev/null &
STUBPID=$!
i=0; while [ ! -s "$T/gh.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
touch "$T/gh.log"
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
last=$(printf 'c%03d' $((NC - 1)))
i=0
until grep -q "cascade '$last'" "$T/serve.log"; do
	sleep 0.2; i=$((i + 1))
	[ $i -lt 600 ] || { tail "$T/serve.log" >&2; die "the base was not applied"; }
done
PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve.log" | head -1)
WANT="1 cascade: 1 changed, 10 tasks to re-run, $((NT - 10)) unchanged"
echo "prplan: $NC cascades of $NT tasks; each pull request changes one task of c$M"
printf '%-6s %12s %8s %12s %12s %14s\n' round "hook to post" fetch "after fetch" "plan+status" "scaffold plan"

g -C "$T/w" show "$BASE:.scaffold/c$M.yaml" >"$T/old.yaml"
worst=0
r=1
while [ "$r" -le "$ROUNDS" ]; do
	cascade "$m" "echo round $r" >"$T/w/.scaffold/c$M.yaml"
	g -C "$T/w" commit -qam "round $r"
	g -C "$T/w" push -q "$T/base.git" "HEAD:refs/pull/$r/head"
	HEAD=$(g -C "$T/w" rev-parse HEAD)
	sed -e "s|@ACTION@|opened|g" -e "s|@NUMBER@|$r|g" -e "s|@HEAD@|$HEAD|g" \
		-e "s|@HEAD_REF@|topic|g" -e "s|@BASE_REF@|main|g" -e "s|@BASE@|$BASE|g" \
		-e "s|@CLONE_URL@|$T/base.git|g" -e "s|@PROJECT@|acme/infra|g" \
		"$SRC/tests/cases/webhooks/github-pull-request.json" >"$T/pr.json"
	sig=$(openssl dgst -sha256 -hmac 'bench secret' -r "$T/pr.json" | cut -d' ' -f1)
	t0=$(now_ms)
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "@$T/pr.json" \
		-H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
		-H "X-GitHub-Delivery: bench-$r" -H "X-Hub-Signature-256: sha256=$sig" \
		"http://127.0.0.1:$PORT/hooks/github")
	[ "$code" = 202 ] || die "round $r: the webhook got $code"
	i=0
	until grep -q "\"scaffold/plan\".*statuses/$HEAD\"" "$T/gh.log"; do
		sleep 0.005; i=$((i + 1))
		[ $i -lt 6000 ] || die "round $r: no status posted"
	done
	# when the stub wrote its record (the file's last change: nothing
	# else writes it meanwhile), not when the polling saw it
	t1=$(stat -c %.3Y "$T/gh.log" | tr -d .)
	line=$(grep "prplan: repo 'infra': pull request #$r " "$T/serve.log") ||
		die "round $r: no prplan line"
	fetch=$(echo "$line" | sed -n 's/.*(the fetch \([0-9]*\) ms.*/\1/p')
	plan=$(echo "$line" | sed -n 's/.*the plan and its status \([0-9]*\) ms).*/\1/p')
	# the log line's time (UTC, ms) to the stub's record
	at=$(date -u -d "$(echo "$line" | cut -d' ' -f1 | sed 's/T/ /; s/Z$//')" +%s%N)
	after=$((plan + t1 - at / 1000000))
	[ "$after" -ge "$plan" ] || after=$plan
	desc=$(grep "\"scaffold/plan\".*statuses/$HEAD\"" "$T/gh.log" |
		sed 's/.*"description":"\([^"]*\)".*/\1/')
	[ "$desc" = "$WANT" ] || die "round $r: the status says '$desc', not '$WANT'"
	# the same plan by the CLI, on the two versions of the file
	s=$(now_ms)
	"$SCAFFOLD" plan -o json "$T/old.yaml" "$T/w/.scaffold/c$M.yaml" >"$T/cli.json"
	cli=$(($(now_ms) - s))
	nreset=$(tr -d ' \n' <"$T/cli.json" | sed 's/.*"reset":\[\([^]]*\)\].*/\1/' | tr ',' '\n' | grep -c .)
	[ "$nreset" = 10 ] || die "round $r: scaffold plan resets $nreset tasks, not 10"
	printf '%-6s %9s ms %5s ms %9s ms %9s ms %11s ms\n' "$r" $((t1 - t0)) "$fetch" "$after" "$plan" "$cli"
	[ "$after" -gt "$worst" ] && worst=$after
	r=$((r + 1))
done
if grep -q ' info: run [0-9]' "$T/serve.log"; then
	die "a task ran: $(grep -m1 ' info: run [0-9]' "$T/serve.log")"
fi
echo "statuses posted: $(grep -c '"scaffold/plan"' "$T/gh.log"), each '$WANT'; nothing ran"
if [ "$SMOKE" = 1 ]; then
	echo "prplan: after the fetch, at most $worst ms (smoke: no target)"
elif [ "$worst" -lt "$TARGET" ]; then
	echo "prplan: after the fetch, at most $worst ms: target (< $TARGET ms) met"
else
	echo "prplan: after the fetch, at most $worst ms: target (< $TARGET ms) missed" >&2
	exit 1
fi
