#!/bin/sh
# The root cause comes first (issue 17, item 5): a misspelt depends_on
# ('depend_on') leaves a load that no ancestor stores, an error that
# follows from it.  validate, the recorded revision, the commit status (a
# recording GitHub stub) and the cascade page all name the unknown key
# first, with its file:line:col.  A revision whose files have warnings
# only shows no red "files have errors" banner.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
if [ ! -x "$STUB" ]; then
	STUB="$T/forge-stub"
	cc -std=c11 -D_GNU_SOURCE -o "$STUB" "$SRC/tests/stub/forge-stub.c" \
		$(pkg-config --cflags --libs libmicrohttpd jansson) ||
		{ echo "Bail out! cannot build the forge stub"; exit 1; }
fi

spid= gpid=
cleanup() {
	[ -n "$spid" ] && kill_ours "$spid"
	[ -n "$gpid" ] && kill_ours "$gpid"
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# deploy.yaml: build stores MESSAGE, test loads it; KEY is how test names
# its dependency (line 12), LOAD what it loads
cascade() { # KEY LOAD
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: MESSAGE=hi
    store:
      env: [MESSAGE]
  - name: test
    load:
      $2
    $1: [build]
    run: echo test
Y
}

# 1. validate: the unknown key first, then what follows from it
mkdir -p "$T/v"
cascade depend_on "env: [MESSAGE]" >"$T/v/typo.yaml"
run "$SCAFFOLD" validate "$T/v/typo.yaml"
is "$RC" 1 "validate: a misspelt depends_on is an error"
is "$ERR" "$T/v/typo.yaml:12:5: error: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?
$T/v/typo.yaml:11:13: error: task 'test': loads env 'MESSAGE' but no task it depends on stores it
2 errors, 0 warnings in 1 file" \
	"validate: the unknown key comes first though the load is above it"
cascade depends_on "file: [conf.txt]" >"$T/v/warn.yaml"
run "$SCAFFOLD" validate "$T/v/warn.yaml"
is "$RC:$ERR" "0:$T/v/warn.yaml:11:14: warning: task 'test': loads file 'conf.txt' but no task it depends on stores it; it must be in the cascade's file store" \
	"validate: a load the file store must satisfy is a warning only"

# 2. scaffold serve with a GitHub stub
"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
gpid=$!
wait_for 10 test -s "$T/gh.port" ||
	{ echo "Bail out! the stub did not start"; exit 1; }
touch "$T/gh.log"
printf 'ghp-token\n' >"$T/gh.token"
tgit init -q --bare -b main "$T/gh.git"
tgit clone -q "$T/gh.git" "$T/gh" 2>/dev/null
mkdir -p "$T/gh/.scaffold"
cascade depends_on "env: [MESSAGE]" >"$T/gh/.scaffold/deploy.yaml"
(cd "$T/gh" && tgit add -A && tgit commit -q -m good &&
	tgit push -q origin main 2>/dev/null)
push() { # MESSAGE: commit and push the work tree; sets $sha
	(cd "$T/gh" && tgit commit -q -am "$1" &&
		tgit push -q origin main 2>/dev/null)
	sha=$(cd "$T/gh" && tgit rev-parse HEAD)
}
sha=$(cd "$T/gh" && tgit rev-parse HEAD)
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
public_url: https://scaffold.example.com/
poll_interval: 200ms
local: {user: nobody}
repos:
  - name: gh
    url: $T/gh.git
    runners: [local, ssh]
    forge:
      kind: github
      api_url: http://127.0.0.1:$(cat "$T/gh.port")
      token_file: gh.token
      project: acme/gh
hosts:
  web1:
    address: 127.0.0.1
    port: 1
    user: nobody
    key_file: $T/key
    known_hosts_file: $T/known_hosts
Y
ssh-keygen -q -t ed25519 -N '' -f "$T/key" && : >"$T/known_hosts"
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
D="$T/data"

# the status the stub got for a commit, in STATE: its description
desc() { # SHA STATE
	grep "/statuses/$1\"" "$T/gh.log" | grep "\"state\":\"$2\"" |
		sed -n 's/.*"description":"\([^"]*\)".*/\1/p' | tail -1
}
has() { [ -n "$(desc "$1" "$2")" ]; }
ok wait_for 30 has "$sha" success "the good revision succeeds"

# 3. the typo: the status, the revision and the page name the root cause
cascade depend_on "env: [MESSAGE]" >"$T/gh/.scaffold/deploy.yaml"
push "typo"
ok wait_for 30 has "$sha" error "the misspelt depends_on: an error status"
is "$(desc "$sha" error)" "invalid: .scaffold/deploy.yaml:12:5: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?" \
	"the status description names the unknown key with file:line:col"
run "$SCAFFOLD" repos -d "$D" -o json
is "$(printf '%s\n' "$OUT" | sed -n 's/.*"errors": "\(.*\)"$/\1/p' | head -1)" \
	".scaffold/deploy.yaml:12:5: error: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?\\n.scaffold/deploy.yaml:11:13: error: task 'test': loads env 'MESSAGE' but no task it depends on stores it\\n" \
	"the recorded revision lists the unknown key first"
curl -s -o "$T/typo.html" "$H/c/gh/deploy?rev=$sha"
is "$(grep -c 'class="note bad">The cascade files of this revision have errors' "$T/typo.html")" 1 \
	"the page of the invalid revision has the red banner"
is "$(sed -n '/<pre id="revision-errors">/,/<\/pre>/p' "$T/typo.html" | head -2)" \
	"<pre id=\"revision-errors\">.scaffold/deploy.yaml:12:5: error: task 'test': unknown key 'depend_on'; did you mean 'depends_on'?
.scaffold/deploy.yaml:11:13: error: task 'test': loads env 'MESSAGE' but no task it depends on stores it" \
	"and lists the unknown key first"

# 4. warnings only: valid files, no error banner (a load only the file
# store can satisfy is no longer one of a revision's warnings: it depends
# on the store; 'image' on an ssh task is)
cat >"$T/gh/.scaffold/deploy.yaml" <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: MESSAGE=hi
    store:
      env: [MESSAGE]
  - name: test
    runner: ssh
    hosts: [web1]
    image: alpine
    depends_on: [build]
    run: echo test
Y
push "warnings only"
applied() {
	"$SCAFFOLD" repos -d "$D" -o json | tr -d ' \n' |
		grep -q "\"commit\":\"$sha\"[^}]*\"result\":\"applied\""
}
ok wait_for 30 applied "the revision with a warning is applied"
curl -s -o "$T/warn.html" "$H/c/gh/deploy?rev=$sha"
is "$(grep -c 'have errors' "$T/warn.html")" 0 \
	"a page with warnings only has no 'files have errors' banner"
is "$(grep -c 'class="note bad"' "$T/warn.html")" 0 "nothing on it is red for the warning"
is "$(grep -o '<p class="note">The cascade files of this revision are valid, with warnings:</p>' "$T/warn.html")" \
	'<p class="note">The cascade files of this revision are valid, with warnings:</p>' \
	"it says the files are valid, with warnings"
is "$(sed -n 's/^<pre id="revision-errors">//p' "$T/warn.html")" \
	".scaffold/deploy.yaml:12:12: warning: task 'test': 'image' is ignored by runner 'ssh'" \
	"and lists the warning"

kill -TERM "$spid"
wait "$spid"
is "$?" 0 "serve stops cleanly"
spid=
done_testing
