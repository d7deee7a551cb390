#!/bin/sh
# The file store moves its cascade (issue 17, item 7), against a real
# scaffold serve running local tasks: a task that failed for want of a
# file runs when the file is uploaded (auto_execute), and the page's
# "must be in the file store" note goes; a new version of a stored file
# re-runs exactly the tasks that load it and their descendants (run
# counts asserted), the same bytes again re-run nothing; each reset says
# why; removing the file resets its consumers, which then fail, naming it.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed"
command -v jq >/dev/null || skip_all "jq is not installed"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed"

D="$T/data"
export HOME="$T/home"
mkdir -p "$HOME"
unset SCAFFOLD_SERVER SCAFFOLD_TOKEN SCAFFOLD_DATA_DIR
spid=
cleanup() {
	[ -n "$spid" ] && kill_ours "$spid"
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/fs.yaml" <<Y
version: v1
name: fs
runner: local
tasks:
  - {name: build, run: "echo ran build"}
  - name: deploy
    run: cat app.tar; echo ran deploy
    load: {file: [app.tar]}
    depends_on: [build]
  - {name: smoke, run: "echo ran smoke", depends_on: [deploy]}
  - {name: other, run: "echo ran other", depends_on: [build]}
  - name: conf
    run: cat conf.txt; echo ran conf
    load: {file: [conf.txt]}
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m first &&
	tgit push -q origin main 2>/dev/null)
OPER=$("$SCAFFOLD" token create ops --role operator -d "$D" 2>/dev/null)
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
public_status: full
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
C=/api/v1/cascades/infra/fs
get() { curl -s -H "Authorization: Bearer $OPER" "$U$1"; }
put() { # NAME FILE: upload, the answer's report
	curl -s -X PUT -H "Authorization: Bearer $OPER" \
		--data-binary @"$2" "$U$C/files/$1" | jq -r .report
}
state() { get "$C" | jq -r ".tasks[] | select(.name == \"$1\") | .state"; }
runs() { get "$C" | jq -r ".tasks[] | select(.name == \"$1\") | .runs"; }
sql() { sqlite3 "file:$D/scaffold.db?mode=ro" "$1"; }
count() { # TASK: how many times its script ran (a run that could not
	# start has no exit code)
	sql "SELECT count(*) FROM runs r JOIN tasks t ON t.id = r.task_id WHERE t.name = '$1' AND r.exit_code IS NOT NULL"
}
counts() { echo "build=$(count build) deploy=$(count deploy)" \
	"smoke=$(count smoke) other=$(count other) conf=$(count conf)"; }
settled() { # no task waits or runs
	[ "$(get "$C" | jq '[.tasks[].state | select(. == "waiting" or . == "running")] | length')" = 0 ]
}
reasons() { # TASK: its history's reasons, newest last
	sql "SELECT h.reason FROM task_history h JOIN tasks t ON t.id = h.task_id WHERE t.name = '$1' ORDER BY h.id"
}

# ---- nothing in the file store: the loads fail, the page says so ----
ok wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $OPER' '$U$C' | jq -r '.tasks[] | select(.name == \"conf\") | .state')\" = error ]" \
	"conf fails without its file"
ok wait_for 20 settled "the cascade settles"
is "$(state deploy):$(state smoke):$(state other)" "error:skipped:success" \
	"deploy fails for want of app.tar; smoke is skipped; other ran"
is "$(counts)" "build=1 deploy=0 smoke=0 other=1 conf=0" \
	"no script of a task without its file ran"
is "$(sql "SELECT message FROM runs r JOIN tasks t ON t.id = r.task_id WHERE t.name = 'deploy'")" \
	"load file 'app.tar': no task it depends on has stored it, and the cascade's file store does not have it" \
	"the failed run names the missing file"
curl -s "$U/c/infra/fs" >"$T/page1.html"
is "$(sed -n '/id="missing-files"/,/<\/ul>/p' "$T/page1.html" | grep -c '<li>')" 2 \
	"the page lists both missing files"
ok grep -qF "<li>task 'deploy' loads file 'app.tar' but no task it depends on stores it; it must be in the cascade's file store, which does not have it (upload it with <code>scaffold file put fs app.tar PATH</code>)</li>" "$T/page1.html" \
	"the note names the task, the file and how to upload it"
ok grep -qF "reconcile: repo 'infra': cascade 'fs': task 'conf' loads file 'conf.txt' from the file store, which does not have it" "$T/serve.log" \
	"the daemon's log says it at the apply"
is "$(get /api/v1/repos | jq -r '.repos[0].revisions[0].errors')" "null" \
	"the revision's record does not hold a store's state"

# ---- the missing file arrives: the waiting task runs ----
printf 'v1\n' >"$T/app.v1"
is "$(put app.tar "$T/app.v1")" "cascade 'fs': 0 new, 1 changed, 0 removed; 1 downstream reset" \
	"the upload resets deploy and smoke"
smoke_ok() { [ "$(state smoke)" = success ]; }
ok wait_for 20 smoke_ok "deploy and then smoke run, by themselves"
ok wait_for 20 settled "the cascade settles"
is "$(state deploy):$(state smoke)" "success:success" "both succeed"
is "$(counts)" "build=1 deploy=1 smoke=1 other=1 conf=0" \
	"exactly deploy and smoke ran; build, other and conf did not"
is "$(reasons deploy | grep -c "^file 'app.tar' changed in the file store$")" 1 \
	"deploy's reset says why"
is "$(reasons smoke | grep -c "^downstream of 'deploy' (changed)$")" 1 \
	"smoke's reset says it follows deploy"
is "$("$SCAFFOLD" logs -d "$D" fs deploy | grep -v '^scaffold:')" "v1
ran deploy" \
	"deploy read the uploaded file"
curl -s "$U/c/infra/fs" >"$T/page2.html"
is "$(sed -n '/id="missing-files"/,/<\/ul>/p' "$T/page2.html" | grep -c '<li>')" 1 \
	"the page lists only the file still missing"
ok grep -qF "<li>task 'conf' loads file 'conf.txt'" "$T/page2.html" \
	"which is conf.txt"

# ---- the same bytes again: nothing moves ----
is "$(put app.tar "$T/app.v1")" "cascade 'fs': no change" \
	"the same content again changes no fingerprint"
is "$(state deploy):$(runs deploy):$(state smoke):$(runs smoke)" "success:2:success:1" \
	"deploy and smoke stay as they were"

# ---- a new version: its consumers and their descendants, no others ----
printf 'v2\n' >"$T/app.v2"
is "$(put app.tar "$T/app.v2")" "cascade 'fs': 0 new, 1 changed, 0 removed; 1 downstream reset" \
	"the new version resets deploy and smoke"
smoke_twice() { [ "$(count smoke):$(state smoke)" = 2:success ]; }
ok wait_for 20 smoke_twice "smoke runs again"
ok wait_for 20 settled "the cascade settles"
is "$(counts)" "build=1 deploy=2 smoke=2 other=1 conf=0" \
	"deploy and smoke ran once more; build, other and conf did not"
is "$("$SCAFFOLD" logs -d "$D" fs deploy | grep -v '^scaffold:')" "v2
ran deploy" \
	"deploy read the new version"

# ---- the other file, through the CLI: conf runs, the note goes ----
printf 'c=1\n' >"$T/conf.txt"
SCAFFOLD_TOKEN="$OPER" "$SCAFFOLD" file put --server "$U" fs conf.txt "$T/conf.txt" 2>"$T/err"
is "$?:$(cat "$T/err")" "0:cascade 'fs': file 'conf.txt' stored (4 bytes)
cascade 'fs': 0 new, 1 changed, 0 removed; 0 downstream reset" \
	"scaffold file put says what it reset"
conf_ran() { [ "$(state conf)" = success ]; }
ok wait_for 20 conf_ran "conf runs"
ok wait_for 20 settled "the cascade settles"
is "$(state conf):$(counts)" "success:build=1 deploy=2 smoke=2 other=1 conf=1" \
	"only conf ran"
curl -s "$U/c/infra/fs" >"$T/page3.html"
ok sh -c "! grep -q 'missing-files\|must be in the' '$T/page3.html'" \
	"with every file there, the page has no note"
is "$(get "$C" | jq -r .state)" success "the cascade is success"

# ---- removed: its consumer resets, and fails naming the file ----
is "$(curl -s -X DELETE -H "Authorization: Bearer $OPER" "$U$C/files/conf.txt" | jq -c .)" \
	"{\"name\":\"conf.txt\",\"deleted\":true,\"report\":\"cascade 'fs': 0 new, 1 changed, 0 removed; 0 downstream reset\\n\"}" \
	"a DELETE says what it reset"
ok wait_for 20 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer $OPER' '$U$C' | jq -r '.tasks[] | select(.name == \"conf\") | .state')\" = error ]" \
	"conf fails again"
is "$(reasons conf | grep -c "^file 'conf.txt' removed from the file store$")" 1 \
	"its reset says the file was removed"
is "$(counts)" "build=1 deploy=2 smoke=2 other=1 conf=1" \
	"no script ran for it"

# ---- the data dir form does the same ----
printf 'c=2\n' >"$T/conf.txt"
"$SCAFFOLD" file put -d "$D" fs conf.txt "$T/conf.txt" 2>"$T/err"
is "$?:$(cat "$T/err")" "0:cascade 'fs': file 'conf.txt' stored (4 bytes)
cascade 'fs': 0 new, 1 changed, 0 removed; 0 downstream reset" \
	"file put -d resets conf too"
ok wait_for 20 conf_ran "and the daemon runs it"
is "$(counts)" "build=1 deploy=2 smoke=2 other=1 conf=2" \
	"conf alone ran once more"
is "$("$SCAFFOLD" logs -d "$D" fs conf | grep -v '^scaffold:')" "c=2
ran conf" "with the file put beside the daemon"

# ---- scaffold apply on a data dir of its own: the warning goes too ----
D2="$T/data2"
cat >"$T/off.yaml" <<Y
version: v1
name: off
runner: local
tasks:
  - name: use
    run: cat conf.txt
    load: {file: [conf.txt]}
Y
run "$SCAFFOLD" apply -d "$D2" "$T/off.yaml"
is "$RC:$(printf '%s\n' "$ERR" | head -n 2)" "1:$T/off.yaml:7:19: warning: task 'use': loads file 'conf.txt' but no task it depends on stores it; it must be in the cascade's file store
cascade 'off': 1 new, 0 changed, 0 removed; 0 downstream reset" \
	"apply warns while the file store does not have the file, and fails"
printf 'offline\n' >"$T/off.txt"
run "$SCAFFOLD" file put -d "$D2" off conf.txt "$T/off.txt"
is "$RC:$ERR" "0:cascade 'off': file 'conf.txt' stored (8 bytes)
cascade 'off': 0 new, 1 changed, 0 removed; 0 downstream reset" "the upload resets the task"
run "$SCAFFOLD" apply -d "$D2" "$T/off.yaml"
is "$RC:$(printf '%s\n' "$ERR" | head -n 1)" "0:cascade 'off': no change" \
	"the next apply has no warning, and runs the task"
is "$("$SCAFFOLD" logs -d "$D2" off use | grep -v '^scaffold:')" "offline" \
	"which read the file"
done_testing
