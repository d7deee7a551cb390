#!/bin/sh
# Who may see what (issue 15, item 11): public_status full | summary |
# none, browser sessions from /login.  A real scaffold serve; curl with
# cookie jars.  In summary mode (the default) an anonymous reader gets the
# states, the DAG and the revisions but no log, stored file, .display, env
# names or input values; a viewer token at /login gives a browser an
# HttpOnly, SameSite=Strict session that reads them, until /logout, the
# token's revocation or the session's (absolute) expiry.  next= never
# leads off the site.  none: every page needs a viewer (not /healthz);
# full: as before.  Booleans are refused, with the three values named.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D="$T/data"

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/deploy.yaml" <<'Y'
version: v1
name: deploy
runner: local
inputs:
  - name: REGION
    default: region-value-eu-7
tasks:
  - name: build
    run: |
      echo "log-line-marker-42"
      printf '%s' '[{"kind": "value", "name": "version", "data": "display-value-9"}]' > .display
      echo "stored-file-secret-77" > app.tar
      STORED_ENV_NAME_X=1.2.3
    store: {file: [app.tar], env: [STORED_ENV_NAME_X]}
  - name: ship
    run: echo shipping
    depends_on: [build]
Y
(cd "$T/work" && tgit add -A && tgit commit -q -m "first deploy" &&
	tgit push -q origin main 2>/dev/null)
SHA=$(cd "$T/work" && tgit rev-parse HEAD)

# conf EXTRA...: the config, with extra top-level lines
conf() {
	{
		cat <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
Y
		for l in "$@"; do echo "$l"; done
	} >"$T/scaffold.yaml"
}
SPID=
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
# stop: stop the daemon; it must exit 0, and (sanitizer builds) report
# nothing
stop() {
	kill -TERM $SPID
	wait $SPID
	is "$?" 0 "the daemon stops cleanly"
	ok sh -c "! grep -q 'runtime error\|Sanitizer' '$T/serve.log'" \
		"...with no sanitizer report" || sed 's/^/# /' "$T/serve.log"
	SPID=
}
# serve EXTRA...: (re)start the daemon with that config; sets H
serve() {
	[ -z "$SPID" ] || stop
	conf "$@"
	: >"$T/serve.log"
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
	SPID=$!
	serve_port "$T/serve.log"
	H="http://127.0.0.1:$PORT"
}
# get PATH [CURL ARGS...]: CODE, the body in $T/body, headers in $T/hdr
get() {
	_p=$1
	shift
	CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' "$@" "$H$_p")
}
hdr() { # NAME: the header's value (first), CR dropped
	sed -n "s/^$1: //Ip" "$T/hdr" | tr -d '\r' | head -1
}
has() { grep -qF -- "$1" "$T/body"; }
hasnt() { ! grep -qF -- "$1" "$T/body"; }
HTML='Accept: text/html,application/xhtml+xml'
# login TOKEN JAR [NEXT]: POST the sign-in form as a browser would
login() {
	CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
		-c "$2" -b "$2" -H "Origin: $H" \
		--data-urlencode "token=$1" --data-urlencode "next=${3:-/}" \
		"$H/login")
}

# ---- config: booleans are refused, the three values named
# (timeout: an old scaffold took the config and served on)
conf "public_status: true"
run timeout 10 "$SCAFFOLD" serve --config "$T/scaffold.yaml"
is "$RC $(echo "$ERR" | grep -c public_status)" "1 1" "public_status: true: serve refuses the config"
is "$(echo "$ERR" | grep public_status | sed 's/^[^:]*scaffold.yaml:/scaffold.yaml:/')" \
	"scaffold.yaml:10:16: error: 'public_status' is no longer true or false: use full, summary or none ('true' meant full: logs and stored files for anyone)" \
	"...with file:line:col and the three values"
conf "public_status: private"
run timeout 10 "$SCAFFOLD" serve --config "$T/scaffold.yaml"
is "$(echo "$ERR" | grep public_status | sed 's/^[^:]*scaffold.yaml:/scaffold.yaml:/')" \
	"scaffold.yaml:10:16: error: 'public_status' must be full, summary or none, not 'private'" \
	"an unknown value: the three named"
conf "session_lifetime: 0s"
run timeout 10 "$SCAFFOLD" serve --config "$T/scaffold.yaml"
is "$(echo "$ERR" | grep session_lifetime | sed 's/^[^:]*scaffold.yaml:/scaffold.yaml:/')" \
	"scaffold.yaml:10:19: error: 'session_lifetime' must be longer than 0" \
	"session_lifetime: 0s is refused"

# ---- summary, the default
serve
ok grep -q "status pages at http://127.0.0.1:$PORT\$" "$T/serve.log" \
	"listen on port 0: the public URL (status links) names the chosen port"
settled() {
	"$SCAFFOLD" status -d "$D" deploy 2>/dev/null | awk '$1 == "ship" { print $2 }' |
		grep -qx success
}
ok wait_for 30 settled "the cascade ran"
RUN=$("$SCAFFOLD" status -d "$D" deploy 2>/dev/null | awk '$1 == "build" { print $4 }')
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
OPS=$("$SCAFFOLD" token create ops --role operator -d "$D" 2>/dev/null)

get /
is "$CODE" 200 "summary: / is public"
ok has "deploy" "summary: / lists the cascade"
get "/c/infra/deploy?rev=$SHA"
is "$CODE" 200 "summary: the commit-status link is public"
ok has 'data-task="build" data-state="success"' "summary: the DAG with its states"
ok has "$(echo "$SHA" | cut -c1-10)" "summary: the revision"
ok hasnt "region-value-eu-7" "summary: no input values for anonymous users"
ok has 'The inputs of this cascade are for viewers: <a href="../../login?next=%2Fc%2Finfra%2Fdeploy%3Frev%3D'"$SHA"'">sign in</a>.' \
	"summary: ...but a link to sign in and come back"
get "/badge/infra/deploy.svg"
is "$CODE" 200 "summary: the badge is public"
get "/r/$RUN"
is "$CODE" 200 "summary: a run's page is public"
ok has '<dd id="outcome"><span class="st st-success">success</span>' "summary: ...with its outcome"
for s in log-line-marker-42 display-value-9 stored-file-secret-77 app.tar STORED_ENV_NAME_X 'id="log"' 'id="files"' 'id="display"'; do
	ok hasnt "$s" "summary: the anonymous run page leaves out '$s'"
done
ok has "The log, display items, stored files and env names of this run are for viewers" \
	"summary: ...and says who may see them"
get "/r/$RUN/log"
is "$CODE $(cat "$T/body")" \
	"401 {\"error\":\"this page needs a viewer: sign in at /login, or send 'Authorization: Bearer TOKEN'\"}" \
	"summary: an anonymous client gets 401 for the log"
get "/r/$RUN/log?follow=1"
is "$CODE" 401 "summary: ...and for the followed log"
get "/r/$RUN/files/app.tar"
is "$CODE" 401 "summary: ...and for a stored file"
ok hasnt stored-file-secret-77 "summary: ...without its bytes"
get "/r/$RUN/files/.display"
is "$CODE" 401 "summary: ...and for .display"
get "/r/$RUN/log" -H "$HTML"
is "$CODE $(hdr Location)" "303 ../../login?next=%2Fr%2F$RUN%2Flog" \
	"summary: an anonymous browser is sent to sign in, then back"
get "/r/$RUN/log" -H "Authorization: Bearer $VIEW"
is "$CODE" 200 "summary: a viewer token reads the log"
ok has log-line-marker-42 "summary: ...all of it"
get /healthz
is "$CODE $(cat "$T/body")" '200 {"status":"ok"}' "/healthz is public"
get /metrics
is "$CODE" 401 "/metrics needs a token (as before)"

# ---- /login
get /login
is "$CODE" 200 "the sign-in page"
ok has '<form method="post" action="login" id="login">' "...has the form"
is "$(hdr Content-Security-Policy | grep -o "form-action '[a-z]*'")" "form-action 'self'" \
	"...which the page's CSP lets post to scaffold only"
login scf_0000000000000000000000000000000000000000000000000000 "$T/bad.jar"
is "$CODE" 401 "a wrong token: 401"
ok has "That token is not valid (revoked, or not made by this scaffold)." "...the page says so"
is "$(hdr Set-Cookie)" "" "...and sets no cookie"
ok grep -q "http: sign-in from 127.0.0.1 refused: the token is not valid" "$T/serve.log" \
	"...and the daemon logs it with the source address"
login "$VIEW" "$T/v.jar" "/r/$RUN/log"
is "$CODE $(hdr Location)" "303 ./r/$RUN/log" "a viewer token: back to the page that asked"
COOKIE=$(hdr Set-Cookie)
is "$(echo "$COOKIE" | sed 's/=[0-9a-f]\{64\};/=ID;/')" \
	"scaffold_session=ID; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict" \
	"...with an HttpOnly, SameSite=Strict session cookie (12 h)"
ID=$(echo "$COOKIE" | sed -n 's/^scaffold_session=\([0-9a-f]*\);.*/\1/p')
ok grep -q "http: sign-in from 127.0.0.1 with token 'watcher'" "$T/serve.log" "the sign-in is logged"
ok sh -c "! grep -q '$ID' '$T/serve.log' && ! grep -q '$VIEW' '$T/serve.log'" \
	"neither the session id nor the token is logged"
ok sh -c "! grep -rqa '$ID' '$D'" "the session id is not in the data dir (only its hash)"
get "/r/$RUN" -b "$T/v.jar"
ok has log-line-marker-42 "signed in: the run page has the log"
ok has display-value-9 "...the .display"
ok has STORED_ENV_NAME_X "...the env names"
ok has "files/app.tar" "...the file links"
ok has '<span id="session">watcher</span> <button type="submit">Sign out</button>' \
	"...and a sign-out button"
get "/r/$RUN/files/app.tar" -b "$T/v.jar"
is "$CODE $(cat "$T/body")" "200 stored-file-secret-77" "signed in: a stored file downloads"
get "/c/infra/deploy?rev=$SHA" -b "$T/v.jar"
ok has "region-value-eu-7" "signed in: the commit-status link shows the inputs too"
get "/api/v1/runs/$RUN/log" -b "$T/v.jar"
is "$CODE" 401 "a cookie never authenticates the API"
get "/api/v1/repos/infra/sync" -X POST -b "$T/v.jar" -H "Origin: $H"
is "$CODE" 401 "...nor a change"
login "$OPS" "$T/o.jar"
get "/api/v1/cascades/infra/deploy/tasks/ship/run" -X POST -b "$T/o.jar" -H "Origin: $H"
is "$CODE" 401 "...not even an operator's"

# ---- next= stays on the site
for n in //evil.example '/\evil.example' 'https://evil.example/' '/\/evil.example' 'javascript:alert(1)' ' //evil.example'; do
	login "$VIEW" "$T/n.jar" "$n"
	is "$CODE $(hdr Location)" "303 ./" \
		"next='$(printf '%s' "$n" | sed 's/\\/(backslash)/g')': to scaffold's own / instead"
done
get "/login?next=//evil.example"
ok has '<input type="hidden" name="next" value="/"/>' "the form does not carry an off-site next"

# ---- CSRF: the forms post only from scaffold's pages
CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -c "$T/x.jar" \
	-H "Origin: https://evil.example" --data-urlencode "token=$VIEW" "$H/login")
is "$CODE $(hdr Set-Cookie)" "403 " "a sign-in posted from another site: 403, no cookie"
CODE=$(curl -s -o "$T/body" -w '%{http_code}' -b "$T/v.jar" \
	-H "Origin: https://evil.example" -d '' "$H/logout")
is "$CODE" 403 "a sign-out posted from another site: 403"
get "/r/$RUN/log" -b "$T/v.jar"
is "$CODE" 200 "...and the session still works"

# ---- logout
login "$VIEW" "$T/v2.jar"
CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -b "$T/v.jar" \
	-H "Origin: $H" -d '' "$H/logout")
is "$CODE $(hdr Location)" "303 ./" "sign-out: back to /"
is "$(hdr Set-Cookie)" "scaffold_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" \
	"...clearing the cookie"
get "/r/$RUN/log" -b "scaffold_session=$ID"
is "$CODE" 401 "the signed-out session id no longer works (even when a browser kept it)"
get "/r/$RUN/log" -b "$T/v2.jar"
is "$CODE" 200 "another session of the same token still works"

# ---- revoking the token ends its sessions
run "$SCAFFOLD" token revoke watcher -d "$D"
is "$RC" 0 "scaffold token revoke watcher"
get "/r/$RUN/log" -b "$T/v2.jar"
is "$CODE" 401 "...its sessions end with it"
get "/r/$RUN" -b "$T/v2.jar"
ok hasnt log-line-marker-42 "...and its run page is the anonymous one"

# ---- expiry (absolute)
VIEW=$("$SCAFFOLD" token create watcher2 --role viewer -d "$D" 2>/dev/null)
serve "session_lifetime: 1s"
login "$VIEW" "$T/e.jar"
is "$(hdr Set-Cookie | grep -o 'Max-Age=[0-9]*')" "Max-Age=1" "session_lifetime: the cookie's Max-Age"
EID=$(hdr Set-Cookie | sed -n 's/^scaffold_session=\([0-9a-f]*\);.*/\1/p')
get "/r/$RUN/log" -b "scaffold_session=$EID"
is "$CODE" 200 "a fresh session works"
sleep 1.1
get "/r/$RUN/log" -b "scaffold_session=$EID"
is "$CODE" 401 "after session_lifetime it does not (server-side, whatever the browser keeps)"

# ---- none: every page needs a viewer, /healthz stays public
serve "public_status: none" "public_url: https://scaffold.example.com/"
for p in / "/c/infra/deploy?rev=$SHA" "/r/$RUN" /badge/infra/deploy.svg; do
	get "$p"
	is "$CODE" 401 "none: $p needs a viewer"
done
get "/c/infra/deploy?rev=$SHA" -H "$HTML"
is "$CODE $(hdr Location)" "303 ../../login?next=%2Fc%2Finfra%2Fdeploy%3Frev%3D$SHA" \
	"none: the commit-status link sends a browser to sign in"
get /healthz
is "$CODE" 200 "none: /healthz stays public"
get /ui.js
is "$CODE" 200 "none: so does the pages' script"
login "$VIEW" "$T/n2.jar" "/c/infra/deploy?rev=$SHA"
is "$CODE $(hdr Location)" "303 ./c/infra/deploy?rev=$SHA" "none: after signing in, back to the commit-status link"
is "$(hdr Set-Cookie | grep -o 'SameSite=Strict; Secure$')" "SameSite=Strict; Secure" \
	"an https public_url: the cookie is Secure"
get "/c/infra/deploy?rev=$SHA" -H "Cookie: scaffold_session=$(hdr Set-Cookie | sed -n 's/^scaffold_session=\([0-9a-f]*\);.*/\1/p')"
is "$CODE" 200 "none: ...which the session reads"

# ---- full: as before
serve "public_status: full"
get "/r/$RUN"
ok has log-line-marker-42 "full: the anonymous run page has the log"
get "/r/$RUN/files/app.tar"
is "$CODE $(cat "$T/body")" "200 stored-file-secret-77" "full: stored files download without a token"
ok hasnt 'Sign in' "full: no sign-in link"

stop
done_testing
