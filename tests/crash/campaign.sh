#!/bin/sh
# campaign.sh - the crash campaign (issue 9, item 1; docs/RELIABILITY.md):
# scaffold serve is killed with SIGKILL at random moments while a cascade
# of 50 tasks with no retries, a third each local, docker and ssh
# (tests/crash/gen-cascade.awk), reconciles a push, and restarted, until
# the push settles.  Then, for every trial:
#   - the cascade's final states, stored values and stored files are those
#     of an undisturbed run of the same commits (`scaffold apply` of each
#     version in a reference data dir, one after the other);
#   - each task ran as often as it did undisturbed: as many runs that
#     ended, as many starts and ends of its script in their logs;
#   - no task ever had two runs at once: not in the runs the database
#     records (every run ended, none started before the previous one of its
#     task ended), not for the tasks' own witness (local and ssh tasks hold
#     a lock), not among the processes of this machine (every runner's),
#     not among the engine's running containers (docker tasks);
#   - no run that had started was lost, on any runner (they are adopted);
#     a run scaffold had claimed but not yet started when it died is
#     recorded lost, saying so, and its task runs again;
#   - every webhook answered 202 is marked processed;
#   - every commit reached the forge with its final status, and no older
#     state after it; no status is left unsent;
#   - PRAGMA integrity_check is ok after every kill.
# A TAP script.  Environment:
#   CRASH_TRIALS   pushes, each with 1 to 3 kills (default 30)
#   CRASH_SEED     the random plan (default: from the clock; printed)
#   CRASH_LOG      also append the summary to this file
#   CRASH_KEEP     set: keep the temp dir (data dirs, the daemons' logs)
# Run it through `make crash`, or tests/e2e/t9000-crash.sh (a few trials).
. "$(dirname "$0")/../e2e/lib.sh"
. "$SRC/tests/e2e/sshd.sh"
. "$SRC/tests/e2e/docker.sh"
for c in curl openssl sqlite3 jq; do
	command -v $c >/dev/null ||
		skip_all "$c is not installed (scripts/install-deps.sh installs it)"
done
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || { echo "Bail out! no forge stub at $STUB (make build/tests/forge-stub)"; exit 1; }

TRIALS=${CRASH_TRIALS:-30}
SEED=${CRASH_SEED:-$(($(date +%s) % 100000))}
IMG=scaffold-crash:busybox
SECRET='crash-campaign secret'
SPID=
GPID=
STUBPID=
WPID=
XPID=
LOCKS=
cleanup() {
	# git daemon serves from a child of its own
	[ -n "$GPID" ] && pkill -P "$GPID" 2>/dev/null
	for p in $SPID $WPID $XPID $GPID $STUBPID; do
		kill -9 "$p" 2>/dev/null
	done
	# only these: sshd and dockerd are children too, stopped below
	for p in $SPID $WPID $XPID $GPID $STUBPID; do
		wait "$p" 2>/dev/null
	done
	stop_dockerd
	docker_leftovers
	for p in $_sshd_pids; do kill $p 2>/dev/null; done
	[ -n "$LOCKS" ] && rm -rf "$LOCKS"
	if [ -n "${CRASH_KEEP:-}" ]; then
		echo "# kept $T (data, ref, logs of the daemons)"
		return
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

note() { echo "# $*"; }
bail() {
	echo "Bail out! $*"
	exit 1
}
t0=$(date +%s)

# --- the ssh host, the engine, the forge, the repository
test_user
start_sshd h1 "$TEST_USER"
start_dockerd
import_image "$IMG"
# the witness's locks: not in $T nor in the source tree, either of which
# may be under /tmp (a clone in /tmp is), where a local task has a tmpfs
# of its own; readable by the local and the ssh user
LOCKS=$(mktemp -d /run/scaffold-crash-witness.XXXXXX) ||
	bail "cannot make the witness's directory in /run"
chmod 1777 "$LOCKS"
for i in $(seq 0 49); do
	: >"$LOCKS/$(printf 't%02d' "$i")"
done
chmod 0644 "$LOCKS"/t*

"$STUB" --log "$T/forge.log" --fail-while "$T/forge-down" >"$T/forge.port" 2>"$T/forge.err" &
STUBPID=$!
wait_for 10 test -s "$T/forge.port" || bail "the forge stub did not start"
touch "$T/forge.log"

mkdir -p "$T/git/acme" "$T/work/.scaffold"
git init -q --bare -b main "$T/git/acme/infra.git"
wgit() { git -C "$T/work" -c user.name=Ops -c user.email=ops@acme.example "$@"; }
git init -q -b main "$T/work"
start_git_daemon "$T/git" acme/infra.git
URL="git://127.0.0.1:$GPORT/acme/infra.git"

printf '%s\n' "$SECRET" >"$T/secret"
printf 'ghp-crash-token\n' >"$T/gh.token"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com/
poll_interval: 1h
max_parallel: 6
docker:
  socket: $DOCKER_SOCK
hosts:
  h1:
    address: 127.0.0.1
    port: $SSHD_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
    max_sessions: 6
local: {user: nobody}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local, docker, ssh]
    forge:
      kind: github
      api_url: http://127.0.0.1:$(cat "$T/forge.port")
      token_file: gh.token
      project: acme/infra
Y
DB="$T/data/scaffold.db"
REF="$T/ref"
q() { sqlite3 -readonly "$DB" "$@"; }

# --- the plan: for each trial, the tasks its commit changes and the kills
awk -v seed="$SEED" -v trials="$TRIALS" 'BEGIN {
	srand(seed)
	for (k = 1; k <= trials; k++) {
		# one task of the first two layers (a third to half of the
		# cascade resets), and up to two anywhere
		nc = 1 + int(rand() * 3)
		ch = int(rand() * 18)
		for (c = 1; c < nc; c++)
			ch = ch "," int(rand() * 50)
		nk = 1 + int(rand() * 3)
		kl = ""
		for (j = 0; j < nk; j++) {
			r = rand()
			# some at once (the webhook, the reconcile), some
			# while tasks run, some when the push settles (the
			# commit status)
			if (r < 0.2)
				d = int(rand() * 150)
			else if (r < 0.85)
				d = int(rand() * 4000)
			else
				d = "settle"
			kl = kl (j ? "," : "") d
		}
		print k, ch, kl
	}
}' >"$T/plan"
note "seed $SEED, $TRIALS trials: CRASH_SEED=$SEED reproduces the plan"

GENS=$(awk 'BEGIN { for (i = 0; i < 50; i++) printf "0 " }')
write_cascade() {
	awk -v gens="$GENS" -v locks="$LOCKS" -v image="$IMG" -v host=h1 \
		-f "$SRC/tests/crash/gen-cascade.awk" >"$T/work/.scaffold/crash.yaml" ||
		bail "cannot generate the cascade"
}
commit() { # MESSAGE: commit and push; prints the commit id
	wgit add -A
	wgit commit -qm "$1"
	wgit push -q "$T/git/acme/infra.git" HEAD:main
	wgit rev-parse HEAD
}

# The reference: the same version applied undisturbed, in its own data
# dir, to what the earlier versions left there.
reference() {
	SCAFFOLD_DOCKER_SOCKET=$DOCKER_SOCK "$SCAFFOLD" apply -q \
		-c "$T/scaffold.yaml" -d "$REF" "$T/work/.scaffold/crash.yaml" \
		>"$T/ref.out" 2>&1
	case $? in 0 | 1) ;; *) bail "the reference apply failed: $(cat "$T/ref.out")" ;; esac
}
# What a data dir holds for the cascade: each task's state, and the stored
# values and files of its last successful run.
final() { # DB
	sqlite3 -readonly "$1" "
		SELECT t.name, t.state FROM tasks t JOIN cascades c
		ON c.id = t.cascade_id WHERE c.name = 'crash' AND t.present
		ORDER BY t.name;
		SELECT t.name, e.name, CAST(e.value AS TEXT), e.sealed
		FROM tasks t JOIN cascades c ON c.id = t.cascade_id
		JOIN run_env e ON e.run_id = (SELECT MAX(id) FROM runs
			WHERE task_id = t.id AND state = 'success')
		WHERE c.name = 'crash' ORDER BY t.name, e.name;
		SELECT t.name, f.path, f.blob, f.size
		FROM tasks t JOIN cascades c ON c.id = t.cascade_id
		JOIN run_files f ON f.run_id = (SELECT MAX(id) FROM runs
			WHERE task_id = t.id AND state = 'success')
		WHERE c.name = 'crash' ORDER BY t.name, f.path;"
}
# How often each task ran in a trial, by the database and by the logs:
# its runs that ended (not lost), and for local and ssh tasks the starts
# and the ends of its script in their logs (every run prints "start tNN
# run ID" first, "end tNN run ID" last; an adopted local or ssh run's log
# goes on where it stopped, while an adopted container's has only what
# it wrote from then on).
runs_of() { # DATADIR FIRST_RUN_ID
	sqlite3 -readonly "$1/scaffold.db" "SELECT r.id, t.name, r.state,
		r.runner FROM runs r JOIN tasks t ON t.id = r.task_id JOIN
		cascades c ON c.id = t.cascade_id WHERE c.name = 'crash' AND
		r.id >= $2 ORDER BY r.id" |
		while IFS='|' read -r _id _t _st _rn; do
			echo "$_t $_st $_rn $(grep -c "^start $_t run $_id\$" "$1/logs/$_id.log" 2>/dev/null) $(grep -c "^end $_t run $_id\$" "$1/logs/$_id.log" 2>/dev/null)"
		done | awk '{ x[$1] += ($2 != "lost"); rn[$1] = $3; s[$1] += $4; e[$1] += $5 }
			END { for (t in x) if (rn[t] == "docker") printf "%s: %d ended\n", t, x[t]
				else printf "%s: %d ended, %d starts, %d ends\n", t, x[t], s[t], e[t] }' |
		sort
}

# --- the daemon
nstart=0
start_serve() {
	nstart=$((nstart + 1))
	LOG="$T/serve.$nstart.log"
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$LOG" &
	SPID=$!
	serve_port "$LOG" 30
}
kills=0
badcheck=0
# kill_serve: SIGKILL, then what the database must be at once; notes what
# was in flight
kill_serve() {
	_fl=$(q "SELECT COUNT(*) FILTER (WHERE runner = 'local'),
			COUNT(*) FILTER (WHERE runner = 'docker'),
			COUNT(*) FILTER (WHERE runner = 'ssh')
		FROM runs WHERE state = 'running';
		SELECT COUNT(*) FROM statuses WHERE sent_at IS NULL AND outcome IS NULL;
		SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL;" 2>/dev/null |
		tr '\n|' '  ')
	kill -9 "$SPID"
	wait "$SPID" 2>/dev/null
	SPID=
	kills=$((kills + 1))
	set -- $_fl
	# what the kill interrupted: runs (local docker ssh), statuses not
	# yet sent, deliveries not yet processed
	echo "$trial ${1:-?} ${2:-?} ${3:-?} ${4:-?} ${5:-?}" >>"$T/killpoints"
	_ic=$(q 'PRAGMA integrity_check' 2>&1)
	if [ "$_ic" != ok ]; then
		badcheck=$((badcheck + 1))
		echo "not integrity_check after kill $kills: $_ic" >>"$T/problems"
	fi
}

# --- the docker witness: two running containers of one task at once
(
	while :; do
		dk ps --filter label=scaffold.cascade=crash \
			--format '{{.Label "scaffold.task"}}' 2>/dev/null |
			sort | uniq -d | sed "s/^/$(date +%s.%N) two containers of /"
		sleep 0.2
	done >"$T/docker-double"
) &
WPID=$!

# --- the process witness: two runs of one task alive at once on this
# machine, whatever their runner (a container's processes are ours too),
# sampled every 0.2 s: every process's SCAFFOLD_TASK and SCAFFOLD_RUN_ID
# where CRASH_CAMPAIGN (the tasks' env) is this campaign's ($LOCKS: other
# tests may run a cascade named crash beside it)
(
	while :; do
		grep -sazH '^\(CRASH_CAMPAIGN\|SCAFFOLD_TASK\|SCAFFOLD_RUN_ID\)=' \
			/proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' |
			awk -v now="$(date +%s.%N)" -v me="$LOCKS" '
			{
				i = index($0, ":"); f = substr($0, 1, i - 1)
				v = substr($0, i + 1); j = index(v, "=")
				k = substr(v, 1, j - 1); val[f, k] = substr(v, j + 1)
				pid[f] = 1
			}
			END {
				for (f in pid) {
					if (val[f, "CRASH_CAMPAIGN"] != me)
						continue
					t = val[f, "SCAFFOLD_TASK"]
					r = val[f, "SCAFFOLD_RUN_ID"]
					if (t == "" || r == "" || (t, r) in seen)
						continue
					seen[t, r] = 1
					runs[t] = runs[t] " " r
					if (n[t]++)
						two[t] = 1
				}
				for (t in two)
					print now " two runs of " t " alive:" runs[t]
			}'
		sleep 0.2
	done >"$T/proc-double"
) &
XPID=$!

# --- settled: the commit applied, nothing waiting or running, every
# status sent or decided, every delivery processed
settled() { # SHA
	[ "$(q "SELECT applied FROM repos WHERE name = 'infra'")" = "$1" ] &&
		[ "$(q "SELECT (SELECT COUNT(*) FROM tasks t JOIN cascades c ON
			c.id = t.cascade_id WHERE c.name = 'crash' AND
			t.state IN ('waiting', 'running')) +
			(SELECT COUNT(*) FROM runs WHERE state = 'running') +
			(SELECT COUNT(*) FROM statuses WHERE sent_at IS NULL
				AND outcome IS NULL) +
			(SELECT COUNT(*) FROM deliveries WHERE
				processed_at IS NULL)")" = 0 ]
}
settled_tasks() { # SHA: the tasks only (the statuses may still be going)
	[ "$(q "SELECT applied FROM repos WHERE name = 'infra'")" = "$1" ] &&
		[ "$(q "SELECT COUNT(*) FROM tasks t JOIN cascades c ON
			c.id = t.cascade_id WHERE c.name = 'crash' AND
			t.state IN ('waiting', 'running')")" = 0 ]
}

sign() { openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1; }
deliver() { # BEFORE AFTER ID: the signed push webhook; the answer's code in $T/hook.ID.code
	sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$1|g" -e "s|@AFTER@|$2|g" \
		-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
		"$SRC/tests/cases/webhooks/github-push.json" >"$T/hook.$3.json"
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
		--data-binary "@$T/hook.$3.json" -H 'Content-Type: application/json' \
		-H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: crash-$3" \
		-H "X-Hub-Signature-256: sha256=$(sign "$T/hook.$3.json")" \
		"http://127.0.0.1:$PORT/hooks/github" >"$T/hook.$3.code"
}

# forge_states SHA: the last state the forge took for the commit, and
# any pending that came after a final state
forge_states() {
	jq -r --arg p "/repos/acme/infra/statuses/$1" \
		'select(.path == $p and .status == 201) | .body.state' "$T/forge.log" |
		awk 'p && $0 == "pending" { print "pending after " p }
			{ if ($0 != "pending") p = $0; l = $0 }
			END { print "last: " l }'
}
forge_has() { [ "$(forge_states "$1")" = "last: $2" ]; }

# --- the checks after a trial settled
check_trial() { # TRIAL SHA
	_k=$1
	_sha=$2
	# the undisturbed run itself: what fails is what fails on purpose
	# (a witness that cannot work fails every run, in both data dirs)
	is "$(sqlite3 -readonly "$REF/scaffold.db" "SELECT DISTINCT t.name
		FROM runs r JOIN tasks t ON t.id = r.task_id WHERE r.id > $reflast
		AND r.state != 'success' AND t.name NOT IN ('t07', 't20', 't33')")" "" \
		"trial $_k: in the undisturbed run, only t07, t20 and t33 failed, on purpose"
	final "$REF/scaffold.db" >"$T/want"
	final "$DB" >"$T/got"
	is "$(cat "$T/got")" "$(cat "$T/want")" \
		"trial $_k: the final states, stored values and files are those of an undisturbed run"
	is "$(runs_of "$T/data" $((lastrun + 1)))" "$(runs_of "$REF" $((reflast + 1)))" \
		"trial $_k: each task ran as often as undisturbed (runs ended; local and ssh: its script's starts and ends in their logs)"
	# the runs of each task, one after the other, every one ended
	is "$(q "SELECT t.name || ': run ' || r.id || ' ' || r.state ||
			CASE WHEN r.ended_at IS NULL THEN ' never ended'
			ELSE ' started before run ' || p.id || ' ended' END
		FROM runs r JOIN tasks t ON t.id = r.task_id
		LEFT JOIN runs p ON p.task_id = r.task_id AND p.id < r.id AND
			(p.ended_at IS NULL OR p.ended_at > r.started_at)
		WHERE r.ended_at IS NULL OR p.id IS NOT NULL")" "" \
		"trial $_k: the database shows no task with two runs at once, every run ended"
	_double=$(for _r in $(q "SELECT id FROM runs WHERE id > $lastrun"); do
		grep -h '^DOUBLE ' "$T/data/logs/$_r.log" 2>/dev/null
	done)
	is "$(cat "$LOCKS"/DOUBLE.* "$T/docker-double" "$T/proc-double" 2>/dev/null)$_double" "" \
		"trial $_k: no task saw another run of itself (its lock, the machine's processes, the engine)"
	# a run that had started is adopted, never lost, whatever its runner
	_lost=""
	for _r in $(q "SELECT r.id || '/' || t.name || '/' || r.runner FROM runs r
			JOIN tasks t ON t.id = r.task_id WHERE r.state = 'lost' AND
			r.id > $lastrun"); do
		grep -q '^start t' "$T/data/logs/${_r%%/*}.log" 2>/dev/null || continue
		_lost="$_lost run $_r: $(tail -n 1 "$T/data/logs/${_r%%/*}.log")"
		note "the log of run $_r:"
		sed 's/^/#   /' "$T/data/logs/${_r%%/*}.log"
	done
	is "$_lost" "" "trial $_k: no run that had started was lost (local, docker, ssh)"
	# every webhook answered 202 was processed
	_unproc=""
	for _f in "$T"/hook.*.code; do
		[ "$(cat "$_f")" = 202 ] || continue
		_id=${_f##*/hook.}
		_id=${_id%.code}
		[ "$(q "SELECT COUNT(*) FROM deliveries WHERE delivery = 'crash-$_id'
			AND processed_at IS NOT NULL")" = 1 ] ||
			_unproc="$_unproc crash-$_id"
	done
	is "$_unproc" "" "trial $_k: every accepted webhook was processed"
	# the commit's statuses: its last one the final state, nothing older
	# after a final one; none left unsent
	if grep -q '^t[0-9]*|error$\|^t[0-9]*|killed$' "$T/want"; then
		_want=failure
	else
		_want=success
	fi
	wait_for 60 forge_has "$_sha" "$_want"
	is "$(forge_states "$_sha")" "last: $_want" \
		"trial $_k: the commit's final status ($_want) reached the forge, and nothing older after it"
}

# --- the first push: the whole cascade runs, undisturbed, as a baseline
trial=0
write_cascade
SHA=$(commit "version 0")
reflast=0
reference
lastrun=0
start_serve
wait_for 300 settled "$SHA" || bail "the first push did not settle: $(tail -5 "$LOG")"
is "$(final "$DB")" "$(final "$REF/scaffold.db")" \
	"the first push, undisturbed: the same final states as the reference"
is "$(runs_of "$T/data" 1)" "$(runs_of "$REF" 1)" \
	"the first push, undisturbed: each task ran as often as in the reference"
is "$(sqlite3 -readonly "$REF/scaffold.db" "SELECT state, COUNT(*) FROM runs
	GROUP BY state")" "success|$(sqlite3 -readonly "$REF/scaffold.db" "SELECT COUNT(*) FROM runs")" \
	"the first push: every run succeeded (a witness that cannot work fails them all)"
note "baseline: $(q "SELECT COUNT(*) FROM runs") runs in $(($(date +%s) - t0)) s (with the setup)"

# --- the trials
settle_total=0
maxsettle=0
while read -r trial changes killplan; do
	lastrun=$(q "SELECT COALESCE(MAX(id), 0) FROM runs")
	GENS=$(echo "$GENS" | awk -v ch="$changes" -v k="$trial" '{
		n = split(ch, c, ",")
		for (i = 1; i <= n; i++) $(c[i] + 1) = k
		print }')
	write_cascade
	prev=$SHA
	SHA=$(commit "version $trial")
	reflast=$(sqlite3 -readonly "$REF/scaffold.db" "SELECT COALESCE(MAX(id), 0) FROM runs")
	reference
	# a kill when the push settles finds its statuses unsent: the forge
	# answers 500 until after that kill
	case $killplan in *settle*) touch "$T/forge-down" ;; esac
	ts=$(date +%s.%N)
	deliver "$prev" "$SHA" "$trial" &
	hookpid=$!
	for d in $(echo "$killplan" | tr ',' ' '); do
		if [ "$d" = settle ]; then
			wait_for 120 settled_tasks "$SHA"
		else
			sleep "$(awk -v d="$d" 'BEGIN { printf "%.3f", d / 1000 }')"
		fi
		kill_serve
		[ "$d" = settle ] && rm -f "$T/forge-down"
		[ -n "$hookpid" ] && { wait $hookpid; hookpid=; }
		start_serve
	done
	[ -n "$hookpid" ] && wait $hookpid
	if ! wait_for 300 settled "$SHA"; then
		echo "not ok - trial $trial did not settle in 300 s"
		q "SELECT * FROM repos; SELECT t.name, t.state FROM tasks t WHERE state
			IN ('waiting', 'running'); SELECT * FROM runs WHERE state = 'running';
			SELECT * FROM statuses WHERE sent_at IS NULL AND outcome IS NULL;
			SELECT * FROM deliveries WHERE processed_at IS NULL" | sed 's/^/# /'
		tail -20 "$LOG" | sed 's/^/# /'
		bail "trial $trial is stuck"
	fi
	el=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	settle_total=$(awk -v a="$settle_total" -v b="$el" 'BEGIN { print a + b }')
	maxsettle=$(awk -v a="$maxsettle" -v b="$el" 'BEGIN { print (b > a) ? b : a }')
	note "trial $trial: changed t$changes, kills at $killplan ms, hook $(cat "$T/hook.$trial.code"), settled in $el s"
	check_trial "$trial" "$SHA"
done <"$T/plan"

kill -9 "$SPID"
wait "$SPID" 2>/dev/null
SPID=
is "$(q 'PRAGMA integrity_check')" ok "the database is intact at the end"
is "$(cat "$T/problems" 2>/dev/null)" "" "PRAGMA integrity_check was ok after each of the $kills kills"

# --- the figures
{
	echo "crash campaign: seed $SEED, $TRIALS trials, $kills kills, $(($(date +%s) - t0)) s in all"
	echo "  settling after the push: $(awk -v a="$settle_total" -v n="$TRIALS" 'BEGIN { printf "%.1f", a / n }') s on average, $maxsettle s at most"
	awk '{ l += ($2 > 0); d += ($3 > 0); s += ($4 > 0); st += ($5 > 0); dl += ($6 > 0);
		idle += ($2 + $3 + $4 == 0) ; rl += $2; rd += $3; rs += $4 }
		END { printf "  kills with runs in flight: %d with local (%d runs), %d with docker (%d), %d with ssh (%d); %d with none\n", l, rl, d, rd, s, rs, idle
		      printf "  kills with a commit status unsent: %d; with a webhook delivery unprocessed: %d\n", st, dl }' "$T/killpoints"
	q "SELECT id, runner, state FROM runs" | while IFS='|' read -r _id _rn _st; do
		echo "$_rn $_st $(grep -c '^scaffold: restarted: adopting run' "$T/data/logs/$_id.log" 2>/dev/null) $(grep -c '^start t' "$T/data/logs/$_id.log" 2>/dev/null)"
	done | awk '{ a[$1] += $3; ar[$1] += ($3 > 0)
		if ($2 == "lost" && !$4) ns[$1]++
		if ($1 == "docker" && $3 > 0 && $2 != "lost" && !$4) gap++ }
		END { printf "  adoptions: local %d (%d runs), docker %d (%d), ssh %d (%d)\n", a["local"], ar["local"], a["docker"], ar["docker"], a["ssh"], ar["ssh"]
		      printf "  runs claimed but not started when scaffold died (lost, their task ran again): local %d, docker %d, ssh %d\n", ns["local"], ns["docker"], ns["ssh"]
		      printf "  adopted containers whose log misses their first line (written while no scaffold was attached): %d\n", gap }'
	echo "  runs: $(q "SELECT SUM(c) || ' in all: ' || group_concat(n, ', ') FROM (SELECT COUNT(*) AS c, runner || ' ' || state || ' ' || COUNT(*) AS n FROM runs GROUP BY runner, state)")"
	echo "  webhooks answered: $(for f in "$T"/hook.*.code; do cat "$f"; echo; done | sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""), $2, $1 }') (000: the daemon died during the request)"
	echo "  commit statuses sent: $(jq -r 'select(.status == 201) | .body.state' "$T/forge.log" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
} >"$T/summary"
sed 's/^/# /' "$T/summary"
[ -n "${CRASH_LOG:-}" ] && { date -u '+%Y-%m-%d %H:%M UTC'; cat "$T/summary"; echo; } >>"$CRASH_LOG"
done_testing
