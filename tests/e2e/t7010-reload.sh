#!/bin/sh
# SIGHUP reloads the daemon's config: a repo added syncs, a repo removed
# stops syncing, an invalid config is refused (its errors logged with
# file:line:col) and the running one stays, while a run in flight goes on
# and finishes.  Every log line starts with its time (journald's priority
# under JOURNAL_STREAM); a commit touching one cascade of three logs that
# one and a summary; a data dir held by another daemon is an error;
# SIGTERM says why the daemon stops.
. "$(dirname "$0")/lib.sh"
D="$T/data"
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
spid=
cleanup() {
	[ -n "$spid" ] && kill_ours "$spid"
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
trap cleanup EXIT

# repo NAME CASCADE-NAME RUN: a bare repo with one cascade of one task
repo() {
	tgit init -q --bare -b main "$T/$1.git"
	tgit clone -q "$T/$1.git" "$T/$1" 2>/dev/null
	mkdir -p "$T/$1/.scaffold"
	cat >"$T/$1/.scaffold/$2.yaml" <<Y
version: v1
name: $2
runner: local
tasks:
  - {name: one, run: '$3'}
Y
	(cd "$T/$1" && tgit add -A && tgit commit -q -m "$2" &&
		tgit push -q origin main 2>/dev/null)
}
repo infra slow "while [ ! -e $G/go ]; do sleep 0.05; done"
for c in a b; do
	printf 'version: v1\nname: %s\nrunner: local\ntasks:\n  - {name: t, run: "true"}\n' \
		"$c" >"$T/infra/.scaffold/$c.yaml"
done
(cd "$T/infra" && tgit add -A && tgit commit -q -m "a and b" && tgit push -q origin main 2>/dev/null)
repo old gone 'true'
repo added fresh 'echo fresh'

config() { # REPOS... -> the config
	{
		printf 'data_dir: data\nlisten: 127.0.0.1:0\npoll_interval: 1s\n'
		printf 'local: {user: nobody}\nrepos:\n'
		for r; do
			printf '  - {name: %s, url: %s, branch: main, runners: [local]}\n' \
				"$r" "$T/$r.git"
		done
	} >"$T/scaffold.yaml"
}
config infra old
cd "$T"
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"

state() { # CASCADE TASK -> its state
	"$SCAFFOLD" status -d "$D" "$1" 2>/dev/null | awk -v t="$2" '$1 == t {print $2}'
}
applied() { # REPO -> the commit it applied
	"$SCAFFOLD" repos -d "$D" -o json | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"name\":\"$1\"" | sed -n 's/.*"applied":"\([0-9a-f]*\)".*/\1/p'
}
ok wait_for 20 sh -c "[ \"\$(\"$SCAFFOLD\" status -d '$D' slow 2>/dev/null | awk '\$1 == \"one\" {print \$2}')\" = running ]" \
	"the slow task is running"
ok wait_for 20 sh -c "\"$SCAFFOLD\" status -d '$D' gone 2>/dev/null | grep -q success" \
	"the repo 'old' is synced"

# reload: 'added' comes, 'old' goes
config infra added
kill -HUP "$spid"
ok wait_for 20 sh -c "\"$SCAFFOLD\" status -d '$D' fresh 2>/dev/null | grep -q success" \
	"after SIGHUP, the repo added syncs and its task runs"
is "$(untimed "$T/serve.log" | grep 'serve: \(reload\|config reloaded\|SIGHUP\)')" \
"info: serve: SIGHUP received: reloading '$T/scaffold.yaml'
info: serve: reload: repo 'old' removed: no longer synced (its state stays)
info: serve: reload: repo 'added' added
info: serve: config reloaded: 2 repos (1 added, 1 removed, 0 changed), 0 hosts, at most 4 tasks at once" \
	"the reload says what changed"

# the repo removed is no longer fetched: two commits of infra, each seen
# by a fetch of its own (at least one poll apart), and old's stays
old_first=$(applied old)
(cd "$T/old" && echo more >>.scaffold/gone.yaml.txt && tgit add -A &&
	tgit commit -q -m more && tgit push -q origin main 2>/dev/null)
cd "$T/infra"
sed -i 's/run: "true"/run: "true; true"/' .scaffold/a.yaml
tgit commit -q -am "change a" && tgit push -q origin main 2>/dev/null
x=$(tgit rev-parse HEAD)
ok wait_for 20 sh -c "\"$SCAFFOLD\" repos -d '$D' -o json | tr -d ' \\n' | grep -q '\"applied\":\"$x\"'" \
	"infra applies a change of one cascade"
sed -i 's/run: "true"/run: "true; true"/' .scaffold/b.yaml
tgit commit -q -am "change b" && tgit push -q origin main 2>/dev/null
y=$(tgit rev-parse HEAD)
ok wait_for 20 sh -c "\"$SCAFFOLD\" repos -d '$D' -o json | tr -d ' \\n' | grep -q '\"applied\":\"$y\"'" \
	"and another"
is "$(applied old)" "$old_first" "the repo removed was not fetched again"
short=$(echo "$x" | cut -c1-12)
is "$(untimed "$T/serve.log" | grep "reconcile: repo 'infra' at $short")" \
"info: reconcile: repo 'infra' at $short: cascade 'a': 0 new, 1 changed, 0 removed; 0 downstream reset
info: reconcile: repo 'infra' at $short: 2 other cascades unchanged" \
	"a commit touching one cascade of three logs it and one line for the others"

# an invalid config is refused, its errors logged; the old one stays
sed -i 's/^poll_interval/pol_interval/' "$T/scaffold.yaml"
kill -HUP "$spid"
ok wait_for 10 grep -q "reload refused" "$T/serve.log" "a broken config is refused"
is "$(untimed "$T/serve.log" | grep 'serve: reload' | tail -2)" \
"error: serve: reload: $T/scaffold.yaml:3:1: error: unknown key 'pol_interval'; did you mean 'poll_interval'?
error: serve: reload refused: the running config stays" \
	"with its errors, file:line:col"
is "$(state slow one)" running "the run in flight goes on"
(cd "$T/added" && sed -i 's/echo fresh/echo fresher/' .scaffold/fresh.yaml &&
	tgit commit -q -am fresher && tgit push -q origin main 2>/dev/null)
z=$(cd "$T/added" && tgit rev-parse HEAD)
ok wait_for 20 sh -c "\"$SCAFFOLD\" repos -d '$D' -o json | tr -d ' \\n' | grep -q '\"applied\":\"$z\"'" \
	"the running config stays: 'added' still syncs"
touch "$G/go"
ok wait_for 20 sh -c "\"$SCAFFOLD\" status -d '$D' slow 2>/dev/null | grep -q 'one *success *1 '" \
	"the run that was in flight through both reloads finishes, once"

# a second daemon on the same data dir: a fatal error; under journald
# (JOURNAL_STREAM names its stderr) the level is a syslog priority
sed -i 's/^pol_interval/poll_interval/' "$T/scaffold.yaml"
: >"$T/second.log"
js=$(stat -c '%d:%i' "$T/second.log")
cd "$T"
JOURNAL_STREAM=$js "$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>>"$T/second.log"
is "$?:$(cat "$T/second.log")" \
"1:<3>serve: the data dir '$D' is in use by scaffold serve (pid $spid); not started" \
	"a data dir held by another daemon is an error (journald priority 3)"

kill -TERM "$spid"
wait "$spid"
spid=
is "$(untimed "$T/serve.log" | tail -2)" \
"info: serve: stopping: SIGTERM received; 0 runs in progress stopped, to run again at the next start
info: serve: stopped" "SIGTERM: the daemon says it stops and why"
is "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z (error|warn|info|debug): ' "$T/serve.log")" 0 \
	"every line of the daemon's log starts with its time"
ok grep -q "^$(date -u +%Y-%m-%d)T" "$T/serve.log" "a time of today, in UTC"

done_testing
