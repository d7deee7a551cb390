#!/bin/sh
# The plan of a pull request shown whole (issue 20, item 5): the page
# /p/REPO/SHA has, per cascade, each changed task's fields old beside new
# (a viewer's: anonymous readers under public_status summary get a note),
# the run script as a line diff, the reset set drawn on the DAG (changed,
# added, reset, untouched), each reset task's reason; everything from the
# repository escaped.  GET /api/v1/repos/REPO/plans/SHA answers the same
# plan with the fields docs/api.md lists, and `scaffold plan --server URL
# REPO REV` prints it (text, exact; -o json, the API's answer).  The page
# is screenshot and read back from headless Chromium's DOM.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
command -v xmllint >/dev/null || skip_all "xmllint is not installed (scripts/install-deps.sh installs it)"
perl -MJSON::PP -e 1 2>/dev/null || skip_all "perl's JSON::PP is missing"
command -v chromium >/dev/null ||
	skip_all "chromium is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub at $STUB (make build/tests/forge-stub)"

FIX="$SRC/tests/cases/webhooks"
SECRET='page s3cret'
BASE_GIT="$T/infra.git"
ESC=$(printf '\033')
SPID= STUBPID=
trap 'kill_ours $SPID $STUBPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

tgit init -q --bare -b main "$BASE_GIT"
tgit init -q -b main "$T/work"
mkdir -p "$T/work/.scaffold"
w() { tgit -C "$T/work" "$@"; }
cat >"$T/work/.scaffold/deploy.yaml" <<'Y'
version: v1
name: deploy
runner: local
inputs:
  - name: region
    default: eu-west-1
tasks:
  - name: build
    env: {MODE: slow}
    run: |
      echo building
      echo make all
      echo built
  - name: test
    depends_on: [build]
    run: echo test
  - name: deploy
    depends_on: [test]
    inputs: {REGION: region}
    run: echo deploy
  - name: lint
    run: echo lint
  - name: docs
    run: echo docs
Y
w add -A && w commit -qm base && w push -q "$BASE_GIT" HEAD:main
BASE_SHA=$(w rev-parse HEAD)

"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
STUBPID=$!
wait_for 10 test -s "$T/gh.port" || { echo "Bail out! the stub did not start"; exit 1; }
echo ghp-token-5160 >"$T/gh.token"
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com/
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $BASE_GIT
    webhook_secret_file: secret
    runners: [local]
    forge: {kind: github, api_url: "http://127.0.0.1:$(cat "$T/gh.port")", token_file: gh.token, project: acme/infra}
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* deploy/[a-z]*: success' '$T/serve.log') -eq 5 ]" \
	"the base branch is applied and its 5 tasks ran"
TOKEN=$("$SCAFFOLD" token create pages --role viewer -d "$T/data" 2>/dev/null | tail -1)
# an operator sets the input deploy maps: deploy runs again with it
run "$SCAFFOLD" input set -d "$T/data" deploy region us-east-1
is "$RC:$ERR" "0:cascade 'deploy': 0 new, 1 changed, 0 removed; 0 downstream reset" "an input is set"
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* deploy/[a-z]*: success' '$T/serve.log') -eq 6 ]" \
	"deploy ran again with it"

# the pull request: build's env and script change (its script prints
# markup and an escape byte, written as YAML's \e), lint goes, smoke comes
# after deploy; the default of the input changes, which changes nothing
# while the value set counts
w checkout -q -b topic
cat >"$T/work/.scaffold/deploy.yaml" <<'Y'
version: v1
name: deploy
runner: local
inputs:
  - name: region
    default: eu-central-1
tasks:
  - name: build
    env: {MODE: fast}
    run: "echo building\necho make -j4 all\necho built\necho \"<script>alert(1)</script> \e[31m\"\n"
  - name: test
    depends_on: [build]
    run: echo test
  - name: deploy
    depends_on: [test]
    inputs: {REGION: region}
    run: echo deploy
  - name: docs
    run: echo docs
  - name: smoke
    depends_on: [deploy]
    run: echo smoke
Y
w commit -qam "pr 5" && w push -q "$BASE_GIT" HEAD:refs/pull/5/head
HEAD=$(w rev-parse HEAD)
SHORT=$(echo "$HEAD" | cut -c1-12)

payload() { # ACTION NUMBER HEAD
	sed -e "s|@ACTION@|$1|g" -e "s|@NUMBER@|$2|g" -e "s|@HEAD@|$3|g" \
		-e "s|@HEAD_REF@|topic|g" -e "s|@BASE_REF@|main|g" \
		-e "s|@BASE@|$BASE_SHA|g" -e "s|@CLONE_URL@|$BASE_GIT|g" \
		-e "s|@PROJECT@|acme/infra|g" "$FIX/github-pull-request.json"
}
post() { # BODYFILE DELIVERY
	_sig=$(openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1)
	curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "@$1" \
		-H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
		-H "X-GitHub-Delivery: $2" -H "X-Hub-Signature-256: sha256=$_sig" "$H/hooks/github"
}
payload opened 5 "$HEAD" >"$T/pr5.json"
is "$(post "$T/pr5.json" d-5)" 202 "the pull request is accepted"
ok wait_for 30 grep -q "prplan: repo 'infra': pull request #5 at $SHORT: success" "$T/serve.log" \
	"and planned"

# --- the page, as a viewer sees it
curl -s -H "Authorization: Bearer $TOKEN" "$H/p/infra/$HEAD" >"$T/v.html"
ok xmllint --noout "$T/v.html" "the page is well-formed"
xp() { xmllint --html --xpath "$2" "$1" 2>/dev/null; }
field() { # FILE TASK FIELD SIDE: the text of that cell
	xp "$1" "string(//div[@class='task-change'][@data-task='$2']//tr[@data-field='$3']/td[@class='$4'])"
}
is "$(sed -n 's|.*<p id="plan-summary">\(.*\)</p>|\1|p' "$T/v.html")" \
	"1 cascade: 1 changed, 4 tasks to re-run, 1 unchanged" "the summary"
is "$(xp "$T/v.html" "//div[@class='task-change']/h4" | sed 's/<[^>]*>//g')" \
	"changed build
removed lint
added smoke" "the tasks added, changed and removed, each with its fields"
is "$(field "$T/v.html" build env old)|$(field "$T/v.html" build env new)" "MODE=slow|MODE=fast" \
	"build's env side by side: applied now | at the head"
is "$(xp "$T/v.html" "//div[@data-task='build']//tbody/tr/@data-field")" \
	' data-field="run"
 data-field="env"' "build: only the fields that changed (run, env)"
is "$(sed -n '/<pre class="diff">/,/<\/pre>/p' "$T/v.html" | sed -n '1,/<\/pre>/p')" \
	"<tr data-field=\"run\"><th>run</th><td colspan=\"2\"><pre class=\"diff\"><span class=\"d-hunk\">@@ -1,3 +1,4 @@
</span><span class=\"d-ctx\"> echo building
</span><span class=\"d-del\">-echo make all
</span><span class=\"d-add\">+echo make -j4 all
</span><span class=\"d-ctx\"> echo built
</span><span class=\"d-add\">+echo \"&lt;script&gt;alert(1)&lt;/script&gt; �[31m\"
</span></pre></td></tr>" \
	"build's run script as a line diff, the markup escaped, the escape byte replaced"
is "$(field "$T/v.html" smoke depends_on old)|$(field "$T/v.html" smoke depends_on new)" \
	"none|success: deploy" "an added task: its fields at the head, none applied"
is "$(xp "$T/v.html" "string(//div[@data-task='smoke']//tr[@data-field='run']//pre)")" \
	"@@ -0,0 +1 @@
+echo smoke" "and its script, all added"
is "$(field "$T/v.html" lint runner old)|$(field "$T/v.html" lint runner new)" "local|none" \
	"a removed task: its fields applied now, none at the head"
is "$(grep -c '<script>alert' "$T/v.html")" 0 "no markup from the repository reaches the page"
is "$(grep -c "$ESC" "$T/v.html")" 0 "nor an escape byte"

# the reset set on the DAG
nodes() { # FILE: "task:plan" of each node of the DAG
	for _t in build test deploy docs smoke; do
		printf '%s:%s ' "$_t" "$(xp "$1" "string(//svg//g[@data-task='$_t']/@data-plan)")"
	done
}
is "$(nodes "$T/v.html")" "build:changed test:reset deploy:reset docs:unchanged smoke:added " \
	"the DAG marks each node: changed, reset, untouched, added"
is "$(xp "$T/v.html" "count(//svg//g)")" 5 "the DAG draws the head's 5 tasks (the removed one is listed, not drawn)"
is "$(xp "$T/v.html" "string(//svg//g[@data-task='deploy']/title)")" \
	"deploy: downstream of 'build' (changed)" "a reset node says why in its title"
is "$(xp "$T/v.html" "count(//svg//path[@class='e e-success'])")" 3 "and the edges are drawn"
is "$(grep '<li class="reset">' "$T/v.html" | sed 's/<[^>]*>//g')" \
	"reset build changed: run, env
reset deploy downstream of 'build' (changed)
reset smoke new task
reset test downstream of 'build' (changed)" "the reset set, each task with its reason"

# --- anonymous readers (public_status summary): no field values
curl -s "$H/p/infra/$HEAD" >"$T/a.html"
is "$(xp "$T/a.html" "count(//table[@class='fields'])")|$(grep -c 'make -j4' "$T/a.html")" "0|0" \
	"an anonymous reader gets no field values"
is "$(xp "$T/a.html" "normalize-space(//p[@id='sign-in'])")" \
	"The old and new values of the fields are for viewers: sign in." \
	"but a note to sign in"
is "$(nodes "$T/a.html")" "build:changed test:reset deploy:reset docs:unchanged smoke:added " \
	"and the DAG, a state view"

# --- the API
get() { curl -s -H "Authorization: Bearer $TOKEN" "$H$1"; }
fields() { perl "$SRC/tests/e2e/api-fields.pl" "$SRC/docs/api.md" "$@"; }
get "/api/v1/repos/infra/plans/$HEAD" >"$T/plan.json"
is "$(fields "PR PLAN" <"$T/plan.json")" ok "PR PLAN: the documented fields"
is "$(fields "PR CASCADE" cascades.0 <"$T/plan.json")" ok "PR CASCADE"
is "$(fields PLAN cascades.0.plan <"$T/plan.json")" ok "its plan is a PLAN"
is "$(fields "TASK CHANGE" cascades.0.tasks.0 <"$T/plan.json")" ok "TASK CHANGE"
is "$(fields "FIELD CHANGE" cascades.0.tasks.0.fields.0 <"$T/plan.json")" ok "FIELD CHANGE"
is "$(fields "GRAPH NODE" cascades.0.graph.1 <"$T/plan.json")" ok "GRAPH NODE"
json() {
	perl -MJSON::PP -e 'local $/; my $v = JSON::PP->new->decode(<STDIN>);
		for (split /\./, $ARGV[0]) { $v = ref $v eq "ARRAY" ? $v->[$_] : $v->{$_} }
		print JSON::PP->new->allow_nonref->canonical->encode($v)' "$1"
}
is "$(json cascades.0.tasks.0.fields.1 <"$T/plan.json")" \
	'{"field":"env","new":"MODE=fast","old":"MODE=slow"}' "a changed field, old and new"
is "$(json cascades.0.graph.1 <"$T/plan.json")" \
	'{"action":"reset","deps":[{"kind":"success","task":0}],"task":"test"}' "a node of the graph"
is "$(get "/api/v1/repos/infra/plans/$(echo "$HEAD" | cut -c1-7)" | json head)" "\"$HEAD\"" \
	"a prefix of the head finds it"
is "$(get /api/v1/repos/infra/plans/xyz)" \
	"{\"error\":\"'xyz' is not a commit id (use 4 to 40 hex digits)\"}" "not a commit id: 400"
is "$(get "/api/v1/repos/infra/plans/$BASE_SHA")" \
	"{\"error\":\"no pull request of repo 'infra' has asked for a plan of '$BASE_SHA'\"}" \
	"a commit no pull request asked about: 404"
is "$(curl -s -o /dev/null -w '%{http_code}' "$H/api/v1/repos/infra/plans/$HEAD")" 401 \
	"the API needs a token"

# --- scaffold plan --server
export SCAFFOLD_TOKEN="$TOKEN"
run "$SCAFFOLD" plan --server "$H" infra "$HEAD"
is "$RC:$ERR" "0:" "plan --server: exit 0"
is "$OUT" "pull request #5 of repo 'infra': head $HEAD into 'main' (merge base $(echo "$BASE_SHA" | cut -c1-12))
success: 1 cascade: 1 changed, 4 tasks to re-run, 1 unchanged

.scaffold/deploy.yaml: changed
  cascade 'deploy': 1 changed, 1 added, 1 removed; 4 tasks to reset, 1 unchanged

  TASK    ACTION     REASON
  build   changed    changed: run, env
  deploy  reset      downstream of 'build' (changed)
  lint    removed    removed from the cascade
  smoke   added      new task
  test    reset      downstream of 'build' (changed)

  changed build
    run:
      @@ -1,3 +1,4 @@
       echo building
      -echo make all
      +echo make -j4 all
       echo built
      +echo \"<script>alert(1)</script> \\x1b[31m\"
    env:
      applied now:
        MODE=slow
      at the head:
        MODE=fast

  removed lint
    runner:
      applied now:
        local
      at the head: none
    run:
      @@ -1 +0,0 @@
      -echo lint

  added smoke
    runner:
      applied now: none
      at the head:
        local
    run:
      @@ -0,0 +1 @@
      +echo smoke
    depends_on:
      applied now: none
      at the head:
        success: deploy" "it prints the plan: the tasks, each field old and new, the script's diff (escapes shown as \\xNN)"
run "$SCAFFOLD" plan --server "$H" -o json infra "$HEAD"
is "$RC:$(printf '%s' "$OUT" | json cascades.0.tasks)" "0:$(json cascades.0.tasks <"$T/plan.json")" \
	"-o json: the API's answer"
is "$(printf '%s' "$OUT" | json planned_at)" "$(json planned_at <"$T/plan.json")" "all of it"
run "$SCAFFOLD" plan --server "$H" infra 0123456
is "$RC:$OUT:$ERR" "1::scaffold plan: no pull request of repo 'infra' has asked for a plan of '0123456'" \
	"a head never planned: the server's error, exit 1"
run "$SCAFFOLD" plan --server "$H" infra
is "$RC:$(echo "$ERR" | head -1)" "2:scaffold plan: expected REPO and REV with --server, got 1 operand" \
	"--server with one operand: a usage error"
export SCAFFOLD_SERVER="$H"
run "$SCAFFOLD" plan /dev/null "$T/work/.scaffold/deploy.yaml"
unset SCAFFOLD_SERVER
is "$RC:$(echo "$OUT" | head -1)" "0:cascade 'deploy': 0 changed, 5 added, 0 removed; 5 tasks to reset, 0 unchanged" \
	"\$SCAFFOLD_SERVER alone leaves plan of two files offline"

# --- an invalid file: the errors, exit 1
cat >"$T/work/.scaffold/web.yaml" <<'Y'
version: v1
name: web
tasks:
  - name: up
    run: echo up
    depend_on: [x]
Y
w add -A && w commit -qm "pr 6" && w push -q "$BASE_GIT" HEAD:refs/pull/6/head
HEAD6=$(w rev-parse HEAD)
payload opened 6 "$HEAD6" >"$T/pr6.json"
is "$(post "$T/pr6.json" d-6)" 202 "a second pull request, with an invalid file, is accepted"
ok wait_for 30 grep -q "prplan: repo 'infra': pull request #6 at $(echo "$HEAD6" | cut -c1-12): failure" "$T/serve.log" \
	"and planned: failure"
run "$SCAFFOLD" plan --server "$H" infra "$HEAD6"
is "$RC" 1 "plan --server of an invalid head: exit 1"
is "$(printf '%s\n' "$OUT" | sed -n '2p;/web.yaml: invalid/,$p')" \
	"failure: .scaffold/web.yaml:6:5: task 'up': unknown key 'depend_on'; did you mean 'depends_on'?
.scaffold/web.yaml: invalid
  .scaffold/web.yaml:6:5: task 'up': unknown key 'depend_on'; did you mean 'depends_on'?" \
	"it prints the root cause with file:line:col"

# --- a pull request that brings a cascade of 2,500 tasks: the page draws
# and lists a bounded part, the API has it all
w checkout -q main && w checkout -q -b big
awk 'BEGIN { print "version: v1\nname: big\nrunner: local\ntasks:";
	for (i = 0; i < 2500; i++) printf "  - {name: t%04d, run: echo %d}\n", i, i }' \
	>"$T/work/.scaffold/big.yaml"
w add -A && w commit -qm "pr 7" && w push -q "$BASE_GIT" HEAD:refs/pull/7/head
HEAD7=$(w rev-parse HEAD)
payload opened 7 "$HEAD7" >"$T/pr7.json"
is "$(post "$T/pr7.json" d-7)" 202 "a pull request with a cascade of 2,500 tasks is accepted"
ok wait_for 30 grep -q "prplan: repo 'infra': pull request #7 at $(echo "$HEAD7" | cut -c1-12): success" "$T/serve.log" \
	"and planned"
curl -s -H "Authorization: Bearer $TOKEN" "$H/p/infra/$HEAD7" >"$T/big.html"
is "$(grep -c '^<p class="muted">The graph of 2500 tasks is too big to draw here (at most 2000).</p>$' "$T/big.html"):$(xp "$T/big.html" "count(//svg)")" \
	"1:0" "the page does not draw a graph of 2,500 tasks"
is "$(xp "$T/big.html" "count(//div[@class='task-change'])"):$(grep -c '^<p class="muted">And 2300 more tasks: the API.s plan has them all.</p>$' "$T/big.html")" \
	"200:1" "it lists 200 of the tasks added, and says how many more"
is "$(get "/api/v1/repos/infra/plans/$HEAD7" | json cascades.0.tasks | grep -o '"task":' | wc -l | tr -d ' ')" 2500 \
	"the API's plan has them all"

# --- Chromium: the page renders without JavaScript; a screenshot
timeout 60 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
		--dump-dom "$H/p/infra/$HEAD" >"$T/dom.html" 2>>"$T/chrome.log"
is "$(nodes "$T/dom.html")" "build:changed test:reset deploy:reset docs:unchanged smoke:added " \
	"Chromium's DOM has the DAG, marked"
is "$(xp "$T/dom.html" "count(//script[not(@src='../../ui.js')])")" 0 "and no script but scaffold's own"
ok page_shot "$H/p/infra/$HEAD" plan-page 1280,1700 -H "Authorization: Bearer $TOKEN" \
	"a screenshot of the plan page, as a viewer sees it"
is "$(grep -c ' info: run ' "$T/serve.log")" 6 "nothing of the pull requests ran"
kill -TERM "$SPID"
wait "$SPID"
is "$?" 0 "serve stops cleanly (a sanitized build: nothing leaked)"
SPID=
done_testing
