#!/bin/sh
# The link of a commit status, /c/REPO/CASCADE?rev=SHA, shows what happened
# at that revision (issue 17, item 3): a failed commit's page shows its
# failure (the failed run, its exit code, a link to its log) after a later
# commit fixed it; the fixing commit's page shows success; each says what
# the revision reset, as recorded when it was applied; an invalid
# revision shows its errors with file:line:col; an unknown one is a clear
# 404; public_status none keeps the page for viewers.  The HTML is
# fetched with curl and read with xmllint: the page needs no JavaScript.
. "$(dirname "$0")/lib.sh"
command -v xmllint >/dev/null ||
	skip_all "xmllint is not installed (package libxml2-utils; scripts/install-deps.sh installs it)"
command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D="$T/data"

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
deploy() { # TEST_SCRIPT [DEPENDS]
	cat >"$T/work/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: echo building
  - name: test
    run: $1
    depends_on: [${2:-build}]
Y
}
commit() { # SUBJECT
	(cd "$T/work" && tgit add -A && tgit commit -q -m "$1" &&
		tgit push -q origin main 2>/dev/null && tgit rev-parse HEAD)
}
short() { echo "$1" | cut -c1-10; }
deploy "echo testing; exit 3"
SHA1=$(commit "test fails")

config() { # PUBLIC_STATUS
	cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 300ms
public_status: $1
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
Y
}
SPID=
serve() { # PUBLIC_STATUS LOG
	config "$1"
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/$2" &
	SPID=$!
	serve_port "$T/$2"
	H="http://127.0.0.1:$PORT"
}
stop() { kill -TERM "$SPID" && wait "$SPID"; SPID=; }
trap '[ -n "$SPID" ] && kill_ours $SPID; wait 2>/dev/null; rm -rf "$T"' EXIT
serve summary serve.log

task() { # TASK -> "STATE RUNS LAST_RUN"
	"$SCAFFOLD" status -d "$D" deploy 2>/dev/null |
		awk -v t="$1" '$1 == t { print $2, $3, $4 }'
}
settled() { [ "$(task "$1" | cut -d' ' -f1,2)" = "$2 $3" ]; }
applied() { # SHA: the repo's applied revision is SHA
	"$SCAFFOLD" repos -d "$D" 2>/dev/null | grep -q "$(echo "$1" | cut -c1-12)"
}
# page PATH FILE [CURL ARGS]: fetch (sets CODE)
page() {
	_p=$1 _f=$2
	shift 2
	CODE=$(curl -s -o "$_f" -w '%{http_code}' "$@" "$H$_p")
}
xp() { xmllint --html --xpath "$2" "$1" 2>/dev/null; }
txt() { xp "$1" "normalize-space($2)"; }
# rows FILE TABLE_ID: the table's body, a line per row, cells joined by |
rows() {
	_n=$(xp "$1" "count(//table[@id='$2']/tbody/tr)")
	_i=1
	while [ "$_i" -le "${_n:-0}" ]; do
		_m=$(xp "$1" "count((//table[@id='$2']/tbody/tr)[$_i]/td)")
		_j=1
		_line=
		while [ "$_j" -le "$_m" ]; do
			_c=$(txt "$1" "(//table[@id='$2']/tbody/tr)[$_i]/td[$_j]")
			_line="${_line:+$_line | }$_c"
			_j=$((_j + 1))
		done
		printf '%s\n' "$_line"
		_i=$((_i + 1))
	done
}

ok wait_for 30 settled test error 1 "the first commit ran: test failed"
BUILD1=$(task build | cut -d' ' -f3)
TEST1=$(task test | cut -d' ' -f3)

# --- the fix
deploy "echo testing"
SHA2=$(commit "fix the test")
ok wait_for 30 settled test success 2 "the second commit re-ran test: success"
TEST2=$(task test | cut -d' ' -f3)

# the failed commit's page, after the fix: its failure
page "/c/infra/deploy?rev=$SHA1" "$T/c1.html"
is "$CODE" 200 "the failed commit's page answers"
ok xmllint --noout "$T/c1.html" "...well-formed"
is "$(txt "$T/c1.html" "//h1")" "deploy error" "the failed commit: its own verdict in the title, not today's"
is "$(txt "$T/c1.html" "//p[@id='verdict']")" \
	"At this revision, 1 of 2 tasks that ran failed: test (exit code 3)." \
	"the failed commit: the verdict names the failed task and why"
is "$(xp "$T/c1.html" "string(//p[@id='verdict']/a/@href)")" "../../r/$TEST1" \
	"the failed commit: ...linking to its run"
is "$(rows "$T/c1.html" revision-runs | sed 's/ | [^|]* | [^|]*$//')" \
	"#$BUILD1 | build | local | 1 | success | 0
#$TEST1 | test | local | 1 | error | 3" \
	"the failed commit: its runs (run, task, host, attempt, outcome, exit code)"
is "$(xp "$T/c1.html" "string((//table[@id='revision-runs']/tbody/tr)[2]/td[1]/a/@href)")" \
	"../../r/$TEST1" "the failed commit: a link to the failed run's log"
is "$(txt "$T/c1.html" "//*[@id='plan-summary']")" \
	"0 changed, 2 added, 0 removed; 2 reset in all, 0 unchanged." \
	"the failed commit: what it reset, as recorded"
is "$(txt "$T/c1.html" "//ul[@id='plan']")" "added build new task added test new task" \
	"the failed commit: each task and why"
is "$(txt "$T/c1.html" "//p[@id='newer']")" \
	"This page shows revision $(short "$SHA1") as it happened: what it reset and what ran. The cascade is now at revision $(short "$SHA2"), success: its current state." \
	"the failed commit: says the cascade moved on, and where it is"
is "$(xp "$T/c1.html" "string(//a[@id='current']/@href)")" "../../c/infra/deploy" \
	"the failed commit: a link to the current state"
is "$(xp "$T/c1.html" "count(//table[@id='tasks'] | //*[@id='dag'])")" 0 \
	"the failed commit: today's graph and tasks are not passed off as its own"

# the fixing commit's page: success
page "/c/infra/deploy?rev=$SHA2" "$T/c2.html"
is "$CODE" 200 "the fixing commit's page answers"
ok xmllint --noout "$T/c2.html" "...well-formed"
is "$(txt "$T/c2.html" "//h1")" "deploy success" "the fixing commit: success"
is "$(txt "$T/c2.html" "//p[@id='verdict']")" "All 2 tasks succeeded." \
	"the fixing commit: its verdict"
is "$(rows "$T/c2.html" revision-runs | sed 's/ | [^|]* | [^|]*$//')" \
	"#$TEST2 | test | local | 1 | success | 0" "the fixing commit: its one run"
is "$(txt "$T/c2.html" "//*[@id='plan-summary']")" \
	"1 changed, 0 added, 0 removed; 1 reset in all, 1 unchanged." \
	"the fixing commit: what it reset"
is "$(txt "$T/c2.html" "//ul[@id='plan']")" "changed test changed: run" \
	"the fixing commit: test, changed in its run script"
is "$(xp "$T/c2.html" "count(//*[@id='newer'])")" 0 "the fixing commit is the current one"

# --- an invalid commit: its errors, file:line:col; nothing ran
deploy "echo testing" biuld
SHA3=$(commit "typo")
ok wait_for 30 applied "$SHA3" "the invalid commit was seen"
page "/c/infra/deploy?rev=$SHA3" "$T/c3.html"
is "$CODE" 200 "the invalid commit's page answers"
is "$(txt "$T/c3.html" "//h1")" "deploy invalid" "the invalid commit: invalid"
is "$(txt "$T/c3.html" "//p[@id='verdict']")" \
	"The cascade's file was invalid at this revision: nothing ran, and its last good definition stayed active." \
	"the invalid commit: why nothing ran"
is "$(xp "$T/c3.html" "string(//pre[@id='revision-errors'])")" \
	".scaffold/deploy.yaml:9:18: error: task 'test' depends on unknown task 'biuld'; did you mean 'build'?" \
	"the invalid commit: its error, with file:line:col"
is "$(txt "$T/c3.html" "//section[@id='runs-of-revision']/p")" "None: no task ran at this revision." \
	"the invalid commit: no runs"
# and the failed one still shows its failure
page "/c/infra/deploy?rev=$(short "$SHA1")" "$T/c1b.html"
is "$(txt "$T/c1b.html" "//h1") / $(txt "$T/c1b.html" "//p[@id='verdict']")" \
	"deploy error / At this revision, 1 of 2 tasks that ran failed: test (exit code 3)." \
	"a short id finds the failed commit, its failure still shown"

page "/c/infra/deploy?rev=0123456789abcdef" "$T/c404.html"
is "$CODE" 404 "an unknown revision is 404"
ok xmllint --noout "$T/c404.html" "...a well-formed page"
ok grep -q "scaffold has no record of revision '0123456789abcdef' in repo 'infra'" "$T/c404.html" \
	"...saying which revision of which repo"

# --- public_status none: the page is for viewers, as the cascade page
stop
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
serve none serve2.log
page "/c/infra/deploy?rev=$SHA1" "$T/n.html"
is "$CODE" 401 "none: an older revision's page needs a viewer"
page "/c/infra/deploy" "$T/n.html"
is "$CODE" 401 "none: ...as the cascade page does"
page "/c/infra/deploy?rev=$SHA1" "$T/n.html" -H "Authorization: Bearer $VIEW"
is "$CODE $(txt "$T/n.html" "//h1")" "200 deploy error" "none: a viewer sees it"
stop
done_testing
