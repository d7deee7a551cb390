#!/bin/sh
# webhook.sh - forge webhook requests per second: `scaffold serve` beside
# the `webhook` tool (adnanh/webhook, Debian package `webhook`) on the
# same machine, driven by wrk (issue 7, item 8).  Run by run.sh (make
# bench), or alone: sh bench/webhook.sh.  See bench/README.md.
#
# Both servers get the same POST /hooks/github of a GitHub push delivery
# (8.5 KB, bench/webhook-payload.pl from tests/cases/webhooks/github-push.json)
# from `wrk -t2 -c16 -d10s --latency -s bench/webhook.lua`, in two cases:
#   bad  a wrong X-Hub-Signature-256: scaffold answers 401 (HMAC-SHA256
#        of the body, constant-time compare); webhook's trigger rule
#        payload-hmac-sha256 on the same header fails (webhook 2.8.0
#        answers that with 500; see bench/README.md);
#   dup  a valid signature: scaffold gets the same X-GitHub-Delivery that
#        it accepted once before the measurement, so every request is a
#        200 duplicate (HMAC, JSON parse, a write transaction that finds
#        the delivery recorded); webhook runs its execute-command,
#        /bin/true, and answers 200 once it has exited.  Not the same
#        work: webhook forks a process, scaffold looks the delivery up.
# Rounds alternate the servers (scaffold then webhook, for each case), so
# that a burst of other load spoils one round rather than one server;
# the ratio scaffold / webhook is taken within each round.  Beside the
# rates, the CPU time each server spent per request, and the daemons'
# VmRSS and VmHWM (/proc/PID/status) after start, idle, with one repo,
# and after the benchmark.  The measurements are bench/webhook.pl's.
#
# wrk and webhook come from the distribution: when one is missing and
# this runs as root with apt-get, it installs both (`apt-get install -y
# wrk webhook`); otherwise the benchmark is skipped (exit 0).  It needs
# git, curl and perl too.  Exit 1 when a step or a check fails (every
# answer of a case must have the expected status, and the duplicates
# must not start a sync).
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_WEBHOOK_RUNS (rounds, 3), BENCH_WEBHOOK_DURATION (wrk -d, 10s),
# BENCH_WEBHOOK_THREADS (wrk -t, 2), BENCH_WEBHOOK_CONNS (wrk -c, 16),
# BENCH_WEBHOOK_CASES ("bad dup"), BENCH_WEBHOOK_INSTALL=0 (never
# install; skip when a tool is missing).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
W=$PWD/bench/out/webhook

die() {
	echo "bench: webhook: $*" >&2
	exit 1
}
skip() {
	echo "bench: webhook: skipped: $*"
	exit 0
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
command -v git >/dev/null 2>&1 || skip "git is not installed"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"
for v in "${BENCH_WEBHOOK_RUNS:-3}" "${BENCH_WEBHOOK_THREADS:-2}" \
	"${BENCH_WEBHOOK_CONNS:-16}"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_WEBHOOK_RUNS, _THREADS, _CONNS must be positive numbers" ;;
	esac
done
case ${BENCH_WEBHOOK_DURATION:-10s} in
[1-9]*) ;;
*) die "BENCH_WEBHOOK_DURATION must be a wrk duration (10s, 1m)" ;;
esac

# the bench-only install step: wrk and webhook are not build or test
# dependencies, so scripts/install-deps.sh does not install them
if ! command -v wrk >/dev/null 2>&1 || ! command -v webhook >/dev/null 2>&1; then
	if [ "${BENCH_WEBHOOK_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] &&
		command -v apt-get >/dev/null 2>&1; then
		echo "bench: webhook: installing wrk and webhook (apt-get)" >&2
		# the Debian package's service starts only with /etc/webhook.conf
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk webhook \
			>"${TMPDIR:-/tmp}/bench-webhook-apt.log" 2>&1 || {
			DEBIAN_FRONTEND=noninteractive apt-get update -q \
				>>"${TMPDIR:-/tmp}/bench-webhook-apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
					wrk webhook \
					>>"${TMPDIR:-/tmp}/bench-webhook-apt.log" 2>&1
		} || :
	fi
	command -v wrk >/dev/null 2>&1 ||
		skip "wrk is not installed (apt-get install wrk)"
	command -v webhook >/dev/null 2>&1 ||
		skip "webhook is not installed (apt-get install webhook)"
fi

rm -rf "$W"
mkdir -p "$W"
# a copy of the binary: a rebuild during the run must not mix two builds
cp "$SCAFFOLD" "$W/scaffold"

# 1. the repository scaffold serve follows: one cascade of one task
git init -q --bare "$W/src.git"
git --git-dir="$W/src.git" symbolic-ref HEAD refs/heads/main
git init -q "$W/work"
mkdir -p "$W/work/.scaffold"
cat >"$W/work/.scaffold/web.yaml" <<'EOF'
version: v1
name: web
runner: local
tasks:
  - name: build
    run: echo build
EOF
git -C "$W/work" add -A
git -C "$W/work" -c user.name=bench -c user.email=bench@localhost \
	commit -qm "the web cascade"
git -C "$W/work" push -q "$W/src.git" HEAD:refs/heads/main

# 2. the secret, the payload, the configurations
SECRET='bench s3cret, with spaces'
printf '%s\n' "$SECRET" >"$W/secret"
perl bench/webhook-payload.pl tests/cases/webhooks/github-push.json \
	"$W/src.git" acme/infra >"$W/push.json" || die "cannot write the payload"
cat >"$W/serve.yaml" <<EOF
listen: 127.0.0.1:0
data_dir: $W/data
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $W/src.git
    branch: main
    webhook_secret_file: $W/secret
    runners: [local]
EOF
# webhook's equivalent: the same header, the same HMAC-SHA256 of the raw
# body; the answer waits for the command (include-command-output-in-
# response), as scaffold's waits for the store; a mismatch would be 401
# if webhook 2.8.0 did not answer a failed signature rule with 500
SECRET=$SECRET perl -MJSON::PP -e '
	print JSON::PP->new->canonical->pretty->encode([{
		id => "github",
		"execute-command" => "/bin/true",
		"include-command-output-in-response" => JSON::PP::true,
		"trigger-rule-mismatch-http-response-code" => 401,
		"trigger-rule" => { match => {
			type => "payload-hmac-sha256",
			secret => $ENV{SECRET},
			parameter => { source => "header",
				       name => "X-Hub-Signature-256" } } },
	}])' >"$W/hooks.json"

# 3. the measurements
exec perl bench/webhook.pl "$W" "$SECRET"
