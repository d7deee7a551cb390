#!/bin/sh
# The status pages (issue 8) of a real scaffold serve, read by headless
# Chromium: /, a cascade (at its revision and at an older one: the plan
# lines), runs (details, .display items, stored files and env names, the
# log), the badge; a running task's log followed live through server-sent
# events; every page well-formed (xmllint); a cascade whose commit subject,
# inputs, log, .display and stored file hold <script> and quotes shows them
# as text.  Screenshots are kept in tests/artifacts/t6000/ (or
# $SCAFFOLD_ARTIFACTS/t6000).
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null ||
	skip_all "chromium is not installed (scripts/install-deps.sh installs it)"
command -v xmllint >/dev/null ||
	skip_all "xmllint is not installed (package libxml2-utils; scripts/install-deps.sh installs it)"
command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"

ART=${SCAFFOLD_ARTIFACTS:-$SRC/tests/artifacts}/t6000
mkdir -p "$ART"
rm -f "$ART"/*.png
echo "# screenshots: $ART"
D="$T/data"

# --- the repository: deploy (one task fails), evil (hostile text)
tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
deploy() { # TEST_SCRIPT
	cat >"$T/work/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
inputs:
  - name: DB_PASSWORD
    type: password
    description: the database password
    default: hunter2-secret
  - name: REGION
    description: where it goes
    default: eu-west-1
tasks:
  - name: build
    run: |
      echo building
      printf '%s' '[{"kind": "value", "name": "version", "data": "1.2.3"}, {"kind": "pre", "name": "notes", "data": "first line\\nsecond line"}, {"kind": "table", "name": "hosts", "header": ["host", "ip"], "data": [["web1", "10.0.0.1"], ["web2", "10.0.0.2"]]}]' > .display
      echo artifact > app.tar
      VERSION=1.2.3
    store: {file: [app.tar], env: [VERSION]}
  - name: test
    run: $1
    depends_on: [build]
  - name: release
    run: echo "releasing \$VERSION"; exit 3
    load: {env: [VERSION]}
    depends_on: [test]
  - name: docs
    run: echo docs
    inputs: {PGPASSWORD: DB_PASSWORD}
Y
}
deploy "echo testing"
cat >"$T/work/.scaffold/evil.yaml" <<'Y'
version: v1
name: evil
runner: local
inputs:
  - name: NOTE
    description: <script>alert("description")</script>
    default: '"><script>alert(1)</script>'
tasks:
  - name: inject
    run: |
      echo '<script>alert("log")</script> "double" '"'"'single'"'"' & done'
      printf '%s' '[{"kind": "value", "name": "<script>alert(\"name\")</script>", "data": "\"><img src=x onerror=alert(1)>"}, {"kind": "pre", "name": "p", "data": "</pre><script>alert(2)</script>"}, {"kind": "table", "name": "t", "header": ["<th>h"], "data": [["<td>\"x\"</td>"]]}]' > .display
      echo hi > "$F"
    env: {F: 'a"<b>''q&.txt'}
    store: {file: ['a"<b>''q&.txt']}
Y
commit() { # SUBJECT
	(cd "$T/work" && tgit add -A && tgit commit -q -m "$1" &&
		tgit push -q origin main 2>/dev/null && tgit rev-parse HEAD)
}
SHA1=$(commit "first deploy")

# full: the anonymous browser sees every part of the pages, as this test
# means (t6020 tests what summary and none leave out)
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1s
public_status: full
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; touch "$T/gate1" "$T/gate2"; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"

task() { # CASCADE TASK -> "STATE RUNS LAST_RUN"
	"$SCAFFOLD" status -d "$D" "$1" 2>/dev/null |
		awk -v t="$2" '$1 == t { print $2, $3, $4 }'
}
settled() { # CASCADE TASK STATE RUNS
	[ "$(task "$1" "$2" | cut -d' ' -f1,2)" = "$3 $4" ]
}
run_of() { task "$1" "$2" | cut -d' ' -f3; }

# chrome ARGS...: headless Chromium, its profile in $T
chrome() {
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
		--hide-scrollbars --user-data-dir="$T/chrome" "$@" \
		2>>"$T/chrome.log"
}
# dom PATH FILE [MS]: the DOM after the page ran (MS: stop after so long)
dom() {
	if [ $# -gt 2 ]; then
		chrome --timeout="$3" --dump-dom "$H$1" >"$2"
	else
		chrome --dump-dom "$H$1" >"$2"
	fi
}
# shot PATH NAME [WxH]: a screenshot kept as an artifact
shot() {
	chrome --window-size="${3:-1280,1400}" --screenshot="$ART/$2.png" \
		"$H$1" >/dev/null
	[ "$(head -c 4 "$ART/$2.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ]
}
# xp FILE XPATH: the XPath's value in an HTML file
xp() { xmllint --html --xpath "$2" "$1" 2>/dev/null; }
# rows FILE TABLE_ID [COL...]: the table's body, a line per row, the text
# of those columns (all without any) joined by " | "
rows() {
	_f=$1
	_t=$2
	shift 2
	_n=$(xp "$_f" "count(//table[@id='$_t']/tbody/tr)")
	_i=1
	while [ "$_i" -le "${_n:-0}" ]; do
		_cols=$*
		[ -n "$_cols" ] || _cols=$(seq "$(xp "$_f" \
			"count((//table[@id='$_t']/tbody/tr)[$_i]/td)")")
		_line=
		for _j in $_cols; do
			_c=$(xp "$_f" "normalize-space((//table[@id='$_t']/tbody/tr)[$_i]/td[$_j])")
			_line="${_line:+$_line | }$_c"
		done
		printf '%s\n' "$_line"
		_i=$((_i + 1))
	done
}
# cells FILE XPATH: the text of each node it selects, a line each
cells() {
	_n=$(xp "$1" "count($2)")
	_i=1
	while [ "$_i" -le "${_n:-0}" ]; do
		xp "$1" "normalize-space(($2)[$_i])"
		_i=$((_i + 1))
	done
}
# page PATH FILE: fetch with curl (sets CODE and CTYPE)
page() {
	_w=$(curl -s -o "$2" -w '%{http_code} %{content_type}' "$H$1")
	CODE=${_w%% *}
	CTYPE=${_w#* }
}
# well-formed FILE: XML well-formedness, the strictest check at hand
wellformed() { xmllint --noout "$1" 2>"$T/.xmllint"; }

ok wait_for 30 settled deploy release error 1 "the first revision ran: release failed"
ok wait_for 10 settled evil inject success 1 "the evil cascade ran"

# --- / : every cascade with its state and counts
page / "$T/index.html"
is "$CODE $CTYPE" "200 text/html; charset=utf-8" "/ answers HTML"
ok wellformed "$T/index.html" "/ is well-formed"
dom / "$T/index.dom"
is "$(rows "$T/index.dom" cascades 1 2 3)" \
	"infra/deploy | error | 1 error 3 success
infra/evil | success | 1 success" "/ lists the cascades with their states and counts"
is "$(rows "$T/index.dom" repos 2 3 | sed 's/[0-9a-f]\{10\}/SHA/')" "main | SHA" \
	"/ lists the repository, its branch and applied commit"
is "$(xp "$T/index.dom" "string((//table[@id='repos']/tbody/tr)[1]/td[1]/span)")" \
	"$T/infra.git" "/ ...and its URL"
ok shot / index 1280,800 "screenshot of /"

# --- a second revision changes one task
deploy "echo testing again"
SUBJECT='test: run "again" <script>alert('"'"'subject'"'"')</script> & more'
SHA2=$(commit "$SUBJECT")
ok wait_for 30 settled deploy release error 2 "the second revision re-ran test and release"
is "$(task deploy build | cut -d' ' -f1,2) $(task deploy docs | cut -d' ' -f1,2)" \
	"success 1 success 1" "and nothing else"

page "/c/infra/deploy?rev=$SHA2" "$T/c2.html"
is "$CODE $CTYPE" "200 text/html; charset=utf-8" "the cascade page answers HTML"
ok wellformed "$T/c2.html" "the cascade page is well-formed"
if grep -q hunter2-secret "$T/c2.html"; then
	_result 1 "the page never shows a password value"
else
	_result 0 "the page never shows a password value"
fi
dom "/c/infra/deploy?rev=$SHA2" "$T/c2.dom"
is "$(xp "$T/c2.dom" "normalize-space(//h1)")" "deploy error" "cascade: the title and overall state"
is "$(xp "$T/c2.dom" "normalize-space(//p[@id='verdict'])")" \
	"1 of 4 tasks failed: release (exit code 3)." "cascade: the verdict names the failed task and why"
is "$(xp "$T/c2.dom" "normalize-space(//dd[@id='revision'])")" \
	"$(echo "$SHA2" | cut -c1-10) $SUBJECT applied" "cascade: the revision and its commit subject, as text"
is "$(xp "$T/c2.dom" "normalize-space(//*[@id='plan-summary'])")" \
	"1 changed, 0 added, 0 removed; 2 reset in all, 2 unchanged." "cascade: the plan's summary"
is "$(xp "$T/c2.dom" "count(//ul[@id='plan']/li)")" 2 "cascade: two plan lines"
is "$(xp "$T/c2.dom" "normalize-space(//ul[@id='plan']/li[1])")" \
	"changed test changed: run" "cascade: plan line: test changed, in its run script"
is "$(xp "$T/c2.dom" "normalize-space(//ul[@id='plan']/li[2])")" \
	"reset release downstream of 'test' (changed)" "cascade: plan line: release reset downstream"
is "$(rows "$T/c2.dom" tasks 1 2 6)" \
	"build | success | 1 of 1
test | success | 1 of 1
release | error | 1 of 1
docs | success | 1 of 1" "cascade: the tasks table (task, state, attempt)"
is "$(rows "$T/c2.dom" tasks 3 | sed 's/#[0-9]*/#N/')" \
	"#N success
#N success
#N error
#N success" "cascade: each task's last run and its outcome"
for t in build test release docs; do
	printf '%s=%s,%s ' "$t" \
		"$(xp "$T/c2.dom" "string(//*[@id='dag']//*[@data-task='$t']/@data-state)")" \
		"$(xp "$T/c2.dom" "string(//*[@id='dag']//*[@data-task='$t']/*[local-name()='rect']/@fill)")"
done >"$T/dag"
is "$(cat "$T/dag")" \
	"build=success,#1a7f37 test=success,#1a7f37 release=error,#cf222e docs=success,#1a7f37 " \
	"cascade: the DAG's tasks coloured by state"
is "$(xp "$T/c2.dom" "count(//*[@id='dag']//*[local-name()='path' and contains(@class, 'e-success')])")" 2 \
	"cascade: the DAG's two edges"
is "$(rows "$T/c2.dom" inputs)" "DB_PASSWORD | password | ******** (default) | the database password
REGION | text | eu-west-1 (default) | where it goes" "cascade: inputs, the password as ********"
ok shot "/c/infra/deploy?rev=$SHA2" cascade 1280,1400 "screenshot of the cascade page"
ok shot "/c/infra/deploy?rev=$SHA2" cascade-phone 390,1400 "screenshot of the cascade page on a phone"

dom "/c/infra/deploy?rev=$(echo "$SHA1" | cut -c1-12)" "$T/c1.dom"
is "$(xp "$T/c1.dom" "normalize-space(//*[@id='plan-summary'])")" \
	"0 changed, 4 added, 0 removed; 4 reset in all, 0 unchanged." "an older revision: its own plan"
is "$(xp "$T/c1.dom" "normalize-space(//ul[@id='plan'])")" \
	"added build new task added docs new task added release new task added test new task" \
	"an older revision: every task new"
is "$(xp "$T/c1.dom" "count(//*[@id='newer'])")" 1 "an older revision: says the cascade moved on"
page "/c/infra/deploy?rev=deadbeef" "$T/c404.html"
is "$CODE" 404 "an unknown revision is 404"
ok wellformed "$T/c404.html" "the 404 page is well-formed"
ok grep -q "scaffold has no record of revision 'deadbeef' in repo 'infra'" \
	"$T/c404.html" "...and says why"
page "/c/infra/nothing" "$T/n404.html"
is "$CODE" 404 "an unknown cascade is 404"

# --- runs
BUILD=$(run_of deploy build)
page "/r/$BUILD" "$T/r.html"
ok wellformed "$T/r.html" "the run page is well-formed"
dom "/r/$BUILD" "$T/r.dom"
is "$(xp "$T/r.dom" "normalize-space(//h1)")" "Run $BUILD: build success" "run: title"
is "$(xp "$T/r.dom" "normalize-space(//dd[@id='where'])") / $(xp "$T/r.dom" "normalize-space(//dd[@id='outcome'])") / $(xp "$T/r.dom" "normalize-space(//dd[@id='exit-code'])")" \
	"the scaffold machine (local) / success / 0" "run: where, outcome, exit code"
is "$(xp "$T/r.dom" "normalize-space(//*[contains(@class, 'display-value')])")" "version 1.2.3" \
	"run: .display value"
is "$(xp "$T/r.dom" "string(//*[contains(@class, 'display-pre')]/pre)")" "first line
second line" "run: .display pre"
is "$(xp "$T/r.dom" "normalize-space(//div[contains(@class, 'display-table')]/h3)")" hosts \
	"run: .display table: its name"
is "$(cells "$T/r.dom" "//table[contains(@class, 'display-table')]//th")" "host
ip" "run: .display table: its header"
is "$(cells "$T/r.dom" "//table[contains(@class, 'display-table')]//td")" "web1
10.0.0.1
web2
10.0.0.2" "run: .display table: its cells"
is "$(rows "$T/r.dom" files)" "app.tar | 9 B" "run: the stored file (not .display)"
HREF=$(xp "$T/r.dom" "string(//table[@id='files']//a/@href)")
is "$(curl -s "$H/r/$HREF")" "artifact" "run: the stored file downloads"
is "$(xp "$T/r.dom" "normalize-space(//p[@id='env'])")" "VERSION" "run: the stored env's names"
ok shot "/r/$BUILD" run 1280,1200 "screenshot of a run page"

REL=$(run_of deploy release)
dom "/r/$REL" "$T/rel.dom"
is "$(xp "$T/rel.dom" "normalize-space(//dd[@id='outcome'])") / $(xp "$T/rel.dom" "normalize-space(//dd[@id='exit-code'])")" \
	"error exit code 3 / 3" "a failed run: its outcome and exit code"
is "$(xp "$T/rel.dom" "string(//pre[@id='log'])" | grep -v '^scaffold:')" "releasing 1.2.3" \
	"a failed run: its log"
page "/r/999" "$T/r404.html"
is "$CODE" 404 "an unknown run is 404"

# --- hostile text stays text
page /c/infra/evil "$T/e.html"
ok wellformed "$T/e.html" "evil: the cascade page is well-formed"
dom /c/infra/evil "$T/e.dom"
is "$(xp "$T/e.dom" "count(//script) + count(//img) + count(//*[@onerror])")" 1 \
	"evil: cascade page: no injected element (the one script is ui.js)"
is "$(xp "$T/e.dom" "string(//script/@src)")" "../../ui.js" "evil: ...which is scaffold's own"
is "$(rows "$T/e.dom" inputs)" "NOTE | text | \"><script>alert(1)</script> (default) | <script>alert(\"description\")</script>" \
	"evil: inputs render as text"
is "$(xp "$T/e.dom" "normalize-space(//span[@id='subject'])")" "$SUBJECT" \
	"evil: the commit subject renders as text"
INJ=$(run_of evil inject)
page "/r/$INJ" "$T/ei.html"
ok wellformed "$T/ei.html" "evil: the run page is well-formed"
dom "/r/$INJ" "$T/ei.dom"
is "$(xp "$T/ei.dom" "count(//script) + count(//img) + count(//*[@onerror]) + count(//b) + count(//td//td)")" 1 \
	"evil: run page: no injected element"
is "$(xp "$T/ei.dom" "string(//pre[@id='log'])" | grep -v '^scaffold:')" \
	"<script>alert(\"log\")</script> \"double\" 'single' & done" "evil: the log renders as text"
is "$(xp "$T/ei.dom" "normalize-space(//*[contains(@class, 'display-value')])")" \
	"<script>alert(\"name\")</script> \"><img src=x onerror=alert(1)>" "evil: a .display value renders as text"
is "$(xp "$T/ei.dom" "string(//*[contains(@class, 'display-pre')]/pre)")" \
	"</pre><script>alert(2)</script>" "evil: a .display pre renders as text"
is "$(cells "$T/ei.dom" "//table[contains(@class, 'display-table')]//th | //table[contains(@class, 'display-table')]//td")" \
	"<th>h
<td>\"x\"</td>" "evil: a .display table renders as text"
is "$(rows "$T/ei.dom" files)" "a\"<b>'q&.txt | 3 B" "evil: the stored file's name renders as text"
HREF=$(xp "$T/ei.dom" "string(//table[@id='files']//a/@href)")
is "$HREF" "../r/$INJ/files/a%22%3Cb%3E%27q%26.txt" "evil: ...and its link is percent-encoded"
is "$(curl -s "$H/r/$HREF")" "hi" "evil: ...and downloads"
ok shot "/r/$INJ" evil-run 1280,1100 "screenshot of the evil run page"

# --- the badge
page /badge/infra/deploy.svg "$T/badge.svg"
is "$CODE $CTYPE" "200 image/svg+xml; charset=utf-8" "badge: an SVG"
ok wellformed "$T/badge.svg" "badge: well-formed"
is "$(xmllint --xpath "string(//*[local-name()='title'])" "$T/badge.svg")" "deploy: error" "badge: the cascade's state"
is "$(xmllint --xpath "string((//*[local-name()='rect'])[last()]/@fill)" "$T/badge.svg")" "#cf222e" \
	"badge: in the state's colour"
page /badge/infra/evil.svg "$T/badge2.svg"
is "$(xmllint --xpath "string(//*[local-name()='title'])" "$T/badge2.svg")" "evil: success" "badge: another state"

# --- a running task's log, followed live
cat >"$T/work/.scaffold/slow.yaml" <<Y
version: v1
name: slow
runner: local
tasks:
  - name: ticker
    run: |
      echo "tick 1"
      while [ ! -e gate1 ]; do sleep 0.05; done
      echo "tick 2 <b>live</b>"
      while [ ! -e gate2 ]; do sleep 0.05; done
      echo "tick 3"
Y
commit "a slow cascade" >/dev/null
ok wait_for 30 settled slow ticker running 1 "the slow task is running"
TICK=$(run_of slow ticker)
logged() { grep -q "$1" "$D/logs/$TICK.log"; }
ok wait_for 10 logged "tick 1" "it printed its first line"
page "/r/$TICK" "$T/t.html"
ok wellformed "$T/t.html" "live: the page of a running run is well-formed"
is "$(xp "$T/t.html" "string(//pre[@id='log'])" | grep -v '^scaffold:')" "tick 1" \
	"live: the page as served has the log so far (no JavaScript needed)"
is "$(xp "$T/t.html" "string(//pre[@id='log']/@data-follow)")" "../r/$TICK/log?follow=1" \
	"live: ...and where to follow it"

# Chromium stays on the page; the test looks at it through the DevTools
# protocol (tests/e2e/cdp.pl): --dump-dom would dump at the load event.
chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$T/chrome-live" \
	--remote-debugging-port=0 "$H/r/$TICK" 2>>"$T/chrome.log" >/dev/null &
CHPID=$!
# the gates are in the run dir: the task sees nothing else of ours
GATE="$D/runs/$TICK/run"
trap 'kill_ours $SPID $CHPID 2>/dev/null; touch "$GATE/gate1" "$GATE/gate2" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
wait_for 30 test -s "$T/chrome-live/DevToolsActivePort" ||
	{ echo "Bail out! Chromium's DevTools did not start: $(tail -3 "$T/chrome.log")"; exit 1; }
CDP=$(head -n 1 "$T/chrome-live/DevToolsActivePort")
js() { perl "$SRC/tests/e2e/cdp.pl" "$CDP" "$H/r/$TICK" "$1" 2>>"$T/cdp.err"; }
js_is() { [ "$(js "$1")" = "$2" ]; }
LOG="(document.getElementById('log') || {}).textContent"
ok wait_for 30 js_is "(document.getElementById('live') || {}).textContent" "following live" \
	"live: the page's script connects to the log's events"
touch "$GATE/gate1"
ok wait_for 10 js_is "/tick 2/.test($LOG)" true \
	"live: a line printed after the page loaded arrives" ||
	{ js "$LOG" | sed 's/^/# page: /'; tail -3 "$T/cdp.err" | sed 's/^/# /'; }
is "$(js "$LOG" | grep -v '^scaffold:')" "tick 1
tick 2 <b>live</b>" "live: the page's log, in order, without repeats"
is "$(js "document.querySelectorAll('#log *').length")" 0 "live: streamed lines are text too"
touch "$GATE/gate2"
ok wait_for 15 js_is "(document.getElementById('outcome') || {}).textContent.trim()" success \
	"live: when the run ends, the page shows its outcome"
is "$(js "$LOG" | grep -v '^scaffold:')" "tick 1
tick 2 <b>live</b>
tick 3" "live: with the whole log"
is "$(js "document.querySelectorAll('[data-follow]').length")" 0 "live: and follows no more"
kill $CHPID 2>/dev/null
ok settled slow ticker success 1 "the slow task succeeded"

ls "$ART"/*.png | sed 's/^/# artifact: /'
done_testing
