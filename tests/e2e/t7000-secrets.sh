#!/bin/sh
# Secrets (issue 9, item 6; DESIGN §6): a password input with a distinctive
# value, set through the API of a real scaffold serve, and tasks that print
# it plainly, inside other text, split across two writes, in an env dump,
# in the error of a failing task, through a stored env a child loads and
# prints, into a stored file and into a .display value.  Then the value (and
# its base64 and hex forms) is searched for in every run log, the daemon's
# stderr, scaffold.db and its -wal/-shm (raw bytes), everything else in the
# data dir, every API answer (every GET route of docs/api.md, as an admin),
# every status page, the run pages' log streams, the badge, the commit
# statuses a forge received, and the CLI's status/logs/input ls with -d and
# with --server: it is nowhere, except in the stored file the task wrote
# (see below).  The .display items show it masked, as the log does.  The
# masked form must show in the logs, so the search is not vacuous.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"

STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
if [ ! -x "$STUB" ]; then
	# a build without `make test`: compile the stub here
	STUB="$T/forge-stub"
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -o "$STUB" "$SRC/tests/stub/forge-stub.c" \
		$(pkg-config --cflags --libs libmicrohttpd jansson) ||
		{ echo "Bail out! cannot build the forge stub"; exit 1; }
fi

D="$T/data"
export HOME="$T/home"
mkdir -p "$HOME" "$T/hay"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR
PW="Zq9-hunter2-$(date +%s)-secret"
B64=$(printf '%s' "$PW" | base64 -w0 | tr -d '=')
HEX=$(printf '%s' "$PW" | od -An -tx1 | tr -d ' \n')
HEXU=$(echo "$HEX" | tr a-f A-F)

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
# Every task but 'start' waits for it, so nothing runs before the password
# is set; all but 'loader' map the password.
cat >"$T/work/.scaffold/vault.yaml" <<'Y'
version: v1
name: vault
runner: local
inputs:
  - name: DB_PASSWORD
    type: password
    description: the database password
tasks:
  - name: start
    run: echo start
    auto_execute: false
  - name: plain
    inputs: {PW: DB_PASSWORD}
    run: echo "$PW"
    depends_on: [start]
  - name: inside
    inputs: {PW: DB_PASSWORD}
    run: |
      echo "user=admin,pass=${PW}!end"
      echo "xx${PW}yy"
      echo "[$PW$PW]"
    depends_on: [start]
  - name: split
    inputs: {PW: DB_PASSWORD}
    run: |
      half=$(printf '%s' "$PW" | head -c $((${#PW} / 2)))
      printf '%s' "before$half"
      sleep 0.5
      printf '%s\n' "${PW#"$half"}after"
      printf '%s' "$half" >&2
      sleep 0.5
      printf '%s\n' "${PW#"$half"}" >&2
    depends_on: [start]
  - name: envdump
    inputs: {PW: DB_PASSWORD, OTHER_NAME: DB_PASSWORD}
    env: {MARK: visible}
    run: |
      env | sort > env.txt
      cat env.txt
      echo ---
      set
    depends_on: [start]
  - name: fail
    inputs: {PW: DB_PASSWORD}
    run: |
      echo "bad: $PW" >&2
      exit 3
    depends_on: [start]
  - name: storer
    inputs: {PW: DB_PASSWORD}
    run: |
      SAVED="pre-${PW}-post"
      printf '%s' "$PW" > secret.txt
      printf '[{"kind": "value", "name": "pw", "data": "%s"}, {"kind": "pre", "name": "p", "data": "x%sy"}, {"kind": "table", "name": "t", "header": ["h"], "data": [["%s"]]}]' "$PW" "$PW" "$PW" > .display
      echo stored
    store: {env: [SAVED], file: [secret.txt]}
    depends_on: [start]
  - name: loader
    load: {env: [SAVED], file: [secret.txt]}
    run: |
      echo "loaded $SAVED"
      cat secret.txt; echo
      printf '[{"kind": "value", "name": "again", "data": "%s"}]' "$SAVED" > .display
    depends_on: [storer]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m "the vault" && tgit push -q origin main 2>/dev/null)
SHA=$(tgit -C "$T/work" rev-parse HEAD)

ADMIN=$("$SCAFFOLD" token create root --role admin -d "$D" 2>/dev/null)
ok test -n "$ADMIN" "an admin token"

"$STUB" --log "$T/forge.log" >"$T/forge.port" 2>"$T/forge.err" &
FPID=$!
wait_for 10 test -s "$T/forge.port" ||
	{ echo "Bail out! the forge stub did not start"; exit 1; }
touch "$T/forge.log"
printf '%s\n' ghp-forge-token-4711 >"$T/gh.token"

# full: every page anonymous, so that the search covers all of them
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com/
poll_interval: 1h
public_status: full
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
    forge:
      kind: github
      api_url: http://127.0.0.1:$(cat "$T/forge.port")
      token_file: gh.token
      project: acme/infra
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID $FPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
C=/api/v1/cascades/infra/vault

task() { # TASK -> "STATE RUNS LAST_RUN"
	"$SCAFFOLD" status -d "$D" vault 2>/dev/null |
		awk -v t="$1" '$1 == t { print $2, $3, $4 }'
}
state_of() { task "$1" | cut -d' ' -f1; }
# get PATH FILE [TOKEN]: an answer kept in the haystack, by its path
n_get=0
get() {
	n_get=$((n_get + 1))
	_f="$T/hay/$n_get-$(echo "$1" | tr -c 'A-Za-z0-9._-' '_')"
	if [ $# -gt 1 ]; then
		set -- "$1" -H "Authorization: Bearer $2"
	fi
	_p=$1
	shift
	echo "$(curl -s --max-time 20 -w '%{http_code}' -o "$_f" "$@" "$U$_p") $_p" >>"$T/codes"
	echo "$_p" >"$_f.path"
	GOT=$_f
}

ok wait_for 20 sh -c "[ \"\$('$SCAFFOLD' status -d '$D' vault 2>/dev/null | awk '\$1 == \"start\" {print \$2}')\" = not_started ]" \
	"the daemon applies the cascade"

# the password through the API, then the tasks run
code=$(curl -s -o "$T/put.out" -w '%{http_code}' -X PUT -H "Authorization: Bearer $ADMIN" \
	--data "{\"value\": \"$PW\"}" "$U$C/inputs/DB_PASSWORD")
is "$code:$(sed 's/"report".*//' "$T/put.out")" \
	'200:{"name":"DB_PASSWORD","type":"password","description":"the database password","source":"set","has_value":true,"value":null,' \
	"the password is set through the API; the answer has no value"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$U$C/tasks/start/run")
is "$code" 202 "the cascade is started"
settled() {
	[ "$(state_of loader)" = success ] && [ "$(state_of fail)" = error ] &&
		for t in plain inside split envdump storer; do
			[ "$(state_of $t)" = success ] || return 1
		done
}
ok wait_for 30 settled "every task ran: 'fail' failed, the rest succeeded"
has_status() { grep -q "\"state\":\"failure\"" "$T/forge.log"; }
ok wait_for 20 has_status "the forge got the cascade's failure status"

# ---- the masked form shows where the value would be ----
log_of() { "$SCAFFOLD" logs -d "$D" vault "$1" 2>&1 | grep -v '^scaffold:'; }
is "$(log_of plain)" "********" "plain: masked"
is "$(log_of inside)" "user=admin,pass=********!end
xx********yy
[****************]" "inside other text: masked (twice in a row: two masks)"
is "$(log_of split)" "before********after
********" "split across two writes, on stdout and on stderr: masked"
is "$(log_of envdump | sed '/^---$/q' | grep -E '^(PW|OTHER_NAME|MARK)=')" "MARK=visible
OTHER_NAME=********
PW=********" "env dump: masked"
is "$(log_of envdump | sed '1,/^---$/d' | grep -E '^(PW|OTHER_NAME)=')" "OTHER_NAME='********'
PW='********'" "'set' dump: masked"
is "$(log_of fail)" "bad: ********" "the error message of a failing task: masked"
is "$(log_of loader)" "loaded pre-********-post
********" "a child that loads the stored env and file: masked"
run "$SCAFFOLD" input ls -d "$D" vault
is "$OUT" "NAME                     TYPE      SOURCE   VALUE
DB_PASSWORD              password  set      ********" "input ls: masked"

# ---- collect every place the value could reach ----
# the data dir (logs, scaffold.db and its -wal/-shm, mirrors, ...); the
# database is copied while the daemon runs, so the WAL is still there
ok test -s "$D/scaffold.db" "the database exists"
ok test -s "$D/scaffold.db-wal" "and its write-ahead log"
cp -r "$D" "$T/hay/datadir"
cp "$T/serve.log" "$T/hay/serve.log"

# every GET route of docs/api.md, as an admin
RUNS=$(ls "$D/logs" | sed -n 's/^\([0-9]*\)\.log$/\1/p' | sort -n)
is "$(echo "$RUNS" | wc -l)" 8 "eight runs, one log each"
for p in /healthz /metrics /api/v1/repos /api/v1/cascades /api/v1/cascades/vault \
	$C "$C/plan?from=$SHA&to=$SHA" $C/inputs $C/inputs/DB_PASSWORD $C/files \
	/api/v1/tokens; do
	get "$p" "$ADMIN"
done
for r in $RUNS; do
	get "/api/v1/runs/$r" "$ADMIN"
	get "/api/v1/runs/$r/log" "$ADMIN"
	get "/api/v1/runs/$r/log?follow=1" "$ADMIN"
done
# every status page (no token), the run pages' log streams, the badge
for p in / /ui.js /c/infra/vault "/c/infra/vault?rev=$SHA" /badge/infra/vault.svg; do
	get "$p"
done
for r in $RUNS; do
	get "/r/$r"
	get "/r/$r/log"
	get "/r/$r/log?follow=1"
done
# the commit statuses the forge received; the answer to the PUT
cp "$T/forge.log" "$T/hay/forge.log"
cp "$T/put.out" "$T/hay/put.out"
# the CLI, from the data dir and through the server
export SCAFFOLD_TOKEN="$ADMIN"
for where in "-d $D" "--server $U"; do
	for cmd in "status" "status vault" "status -o json vault" "input ls vault" \
		"input ls -o json vault" "repos -o json"; do
		# shellcheck disable=SC2086
		"$SCAFFOLD" $cmd $where >>"$T/hay/cli.out" 2>&1
	done
	for t in start plain inside split envdump fail storer loader; do
		# shellcheck disable=SC2086
		"$SCAFFOLD" logs $where vault $t >>"$T/hay/cli.out" 2>&1
		# shellcheck disable=SC2086
		"$SCAFFOLD" logs -f $where vault $t >>"$T/hay/cli.out" 2>&1
	done
done
unset SCAFFOLD_TOKEN

# ---- the search ----
# The one deliberate exception: a file a task stores holds the bytes the
# task wrote (DESIGN §2: a child loads them as they are; masking them would
# corrupt the artifact).  Such a file is content-addressed in blobs/ and
# downloadable from the run page by whoever may read it, as an operator
# would download any artifact.  So the blob of secret.txt is left out of
# the search, and nothing else is: the .display file the page renders,
# every other blob, the logs and the database are all searched.
STORER=$(task storer | cut -d' ' -f3)
FILE_SHA=$(printf '%s' "$PW" | sha256sum | cut -c1-64)
FILE_BLOB="$T/hay/datadir/blobs/$(echo "$FILE_SHA" | cut -c1-2)/$(echo "$FILE_SHA" | cut -c3-)"
ok test -f "$FILE_BLOB" "the stored file is a blob (the exception is real)"
rm -f "$FILE_BLOB"
get "/r/$STORER/files/secret.txt"
is "$(cat "$GOT")" "$PW" "the stored file downloads with the bytes the task wrote (the exception)"
rm -f "$GOT"
# the .display items on the run pages (not a stored file: masked as the
# log is, when the run ends)
page_of() { sed -n '/<section id="display">/,/<\/section>/p' "$T/hay/"*"-_r_$1_"; }
is "$(page_of "$STORER" | grep -o '<strong>[^<]*</strong>\|<pre>x[^<]*</pre>\|<td>[^<]*</td>')" "<strong>********</strong>
<pre>x********y</pre>
<td>********</td>" "the run page shows the .display items masked"
is "$(page_of "$(task loader | cut -d' ' -f3)" | grep -o '<strong>[^<]*</strong>')" \
	"<strong>pre-********-post</strong>" "also a child's .display of the loaded env"
is "$(grep -v '^200 ' "$T/codes")" "" "every route answered 200 (the answers are real)"
ok test "$(wc -l <"$T/codes")" -gt 60 "the haystack holds every answer ($(wc -l <"$T/codes") of them)"
ok grep -rqa -F '********' "$T/hay/datadir/logs" "the logs hold the masked form (the search is not vacuous)"
ok grep -qa -F '********' "$T/hay/cli.out" "the CLI output too"
ok sh -c "grep -la -F '********' '$T'/hay/*-_r_* | grep -q ." "and the run pages"

for pair in "PW $PW" "B64 $B64" "HEX $HEX" "HEXU $HEXU"; do
	what=${pair%% *}
	needle=${pair#* }
	found=$(grep -rla -F -- "$needle" "$T/hay" | sed "s|^$T/hay/||")
	for f in $found; do
		[ -e "$T/hay/$f.path" ] && f="$f ($(cat "$T/hay/$f.path"))"
		echo "# $what found in: $f"
		grep -a -F -- "$needle" "$T/hay/${f%% *}" | head -3 | cut -c1-200 | sed 's/^/#   /'
	done
	is "$found" "" "the password ($what) is nowhere"
done

done_testing
