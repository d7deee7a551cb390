#!/bin/sh
# Forge webhooks against a real scaffold serve: push payloads shaped like
# GitHub's, GitLab's and Gitea's documented examples
# (tests/cases/webhooks/), signed right and wrong; duplicates; GitHub's
# form encoding; events that are not pushes; bad requests that must change
# nothing.  The repository is served by git daemon so its URL has an
# owner/name like a forge's.  Polling is hourly: only webhooks sync.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"

FIX="$SRC/tests/cases/webhooks"
SECRET='It5 a s3cret, with spaces'

# the repository, served over git://
mkdir -p "$T/git/acme" "$T/work"
git init -q --bare -b main "$T/git/acme/infra.git"
tgit() { git -C "$T/work" -c user.name=Ops -c user.email=ops@acme.example "$@"; }
git init -q -b main "$T/work"
mkdir -p "$T/work/.scaffold"
cascade() {
	cat >"$T/work/.scaffold/cascade.yaml" <<Y
version: v1
name: web
runner: local
tasks:
  - name: build
    run: echo "build $1"
  - name: deploy
    depends_on: [build]
    run: echo "deploy $1"
Y
}
commit() {
	cascade "$1"
	tgit add -A
	tgit commit -qm "version $1"
	tgit push -q "$T/git/acme/infra.git" "HEAD:${2:-main}"
	tgit rev-parse HEAD
}
SHA1=$(commit 1)

start_git_daemon "$T/git" acme/infra.git
URL="git://127.0.0.1:$GPORT/acme/infra.git"

printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID $GPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"

applied() {
	"$SCAFFOLD" repos -d "$T/data" -o json 2>/dev/null | grep -q "\"applied\": \"$1\""
}
wait_for 10 applied "$SHA1"
is "$?" 0 "the first sync at start applies the first commit"

# payload FIXTURE REF BEFORE AFTER [CLONE_URL [PROJECT]] > file
payload() {
	sed -e "s|@REF@|$2|g" -e "s|@BEFORE@|$3|g" -e "s|@AFTER@|$4|g" \
		-e "s|@CLONE_URL@|${5:-$URL}|g" -e "s|@PROJECT@|${6:-acme/infra}|g" \
		"$FIX/$1"
}
sign() { openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1; }
# post PATH BODYFILE HEADER...: sets CODE and BODY
post() {
	_p=$1
	_f=$2
	shift 2
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
		--data-binary "@$_f" "$@" "$H$_p")
	BODY=$(cat "$T/.resp")
}
syncs() {
	"$SCAFFOLD" repos -d "$T/data" -o json >/dev/null 2>&1
	grep -c "syncs now" "$T/serve.log"
}

# --- GitHub, application/json
SHA2=$(commit 2)
payload github-push.json refs/heads/main "$SHA1" "$SHA2" >"$T/gh2.json"
post /hooks/github "$T/gh2.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh2.json")"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958","repos":["infra"]}' \
	"github: a signed push is accepted (202)"
wait_for 10 applied "$SHA2"
is "$?" 0 "github: the push is fetched and applied at once (polling is hourly)"
wait_for 10 grep -q "run 4 web/deploy: success" "$T/serve.log"
is "$?" 0 "github: the changed tasks ran" || grep 'run [0-9]' "$T/serve.log" | sed 's/^/# /'

post /hooks/github "$T/gh2.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh2.json")"
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"72d3162e-cc78-11e3-81ab-4c9367dc0958"}' \
	"github: the same delivery again is a duplicate"
is "$(grep -c 'syncs now' "$T/serve.log")" 1 "github: and it triggers no second sync"

post /hooks/github "$T/gh2.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: bad-1' \
	-H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)"
is "$CODE $BODY" '401 {"error":"the X-Hub-Signature-256 header does not match the webhook secret of any repository"}' \
	"github: a wrong signature gets 401"
post /hooks/github "$T/gh2.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: bad-2'
is "$CODE $BODY" '401 {"error":"missing X-Hub-Signature-256 header"}' \
	"github: a missing signature gets 401"
sed 's/octo-ops/octo-evil/' "$T/gh2.json" >"$T/gh2-tampered.json"
post /hooks/github "$T/gh2-tampered.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: bad-3' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh2.json")"
is "$CODE" 401 "github: a body changed after signing gets 401"

# --- GitHub, form-encoded payload=
SHA3=$(commit 3)
payload github-push.json refs/heads/main "$SHA2" "$SHA3" >"$T/gh3.json"
printf 'payload=' >"$T/gh3.form"
perl -pe 's/([^A-Za-z0-9_.~-])/sprintf("%%%02X", ord($1))/ge' "$T/gh3.json" >>"$T/gh3.form"
post /hooks/github "$T/gh3.form" -H 'Content-Type: application/x-www-form-urlencoded' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: form-3' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh3.form")"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"form-3","repos":["infra"]}' \
	"github: a form-encoded delivery is accepted"
wait_for 10 applied "$SHA3"
is "$?" 0 "github: and applied"

# --- GitHub: ping, other events, other branches
printf '{"zen":"Design for failure.","hook_id":1}' >"$T/ping.json"
post /hooks/github "$T/ping.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: ping' -H 'X-GitHub-Delivery: ping-1' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/ping.json")"
is "$CODE $BODY" '200 {"ok":"pong"}' "github: ping gets 200"
post /hooks/github "$T/ping.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: issues' -H 'X-GitHub-Delivery: issues-1' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/ping.json")"
is "$CODE $BODY" "202 {\"ignored\":\"event 'issues' is not a push\"}" \
	"github: another event gets 202 and is ignored"
payload github-push.json refs/heads/feature "$SHA3" "$SHA3" >"$T/ghf.json"
post /hooks/github "$T/ghf.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: feature-1' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/ghf.json")"
is "$CODE $BODY" "202 {\"ignored\":\"a push to 'refs/heads/feature', which no repo follows (repo 'infra' follows 'main')\"}" \
	"github: a push to another branch is ignored"

# --- GitLab
SHA4=$(commit 4)
payload gitlab-push.json refs/heads/main "$SHA3" "$SHA4" >"$T/gl4.json"
post /hooks/gitlab "$T/gl4.json" -H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Push Hook' -H 'Idempotency-Key: 0a3b5c7d-gl-4' \
	-H "X-Gitlab-Token: $SECRET"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"0a3b5c7d-gl-4","repos":["infra"]}' \
	"gitlab: a push with the right token is accepted"
wait_for 10 applied "$SHA4"
is "$?" 0 "gitlab: and applied"
post /hooks/gitlab "$T/gl4.json" -H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Push Hook' -H 'Idempotency-Key: 0a3b5c7d-gl-4' \
	-H "X-Gitlab-Token: $SECRET"
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"0a3b5c7d-gl-4"}' \
	"gitlab: a retried delivery (same Idempotency-Key) is a duplicate"
post /hooks/gitlab "$T/gl4.json" -H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Push Hook' -H 'Idempotency-Key: gl-bad' \
	-H "X-Gitlab-Token: ${SECRET}x"
is "$CODE $BODY" '401 {"error":"the X-Gitlab-Token header does not match the webhook secret of any repository"}' \
	"gitlab: a wrong token gets 401"
post /hooks/gitlab "$T/gl4.json" -H 'Content-Type: application/json' \
	-H 'X-Gitlab-Event: Tag Push Hook' -H 'Idempotency-Key: gl-tag' \
	-H "X-Gitlab-Token: $SECRET"
is "$CODE $BODY" "202 {\"ignored\":\"event 'Tag Push Hook' is not a push\"}" \
	"gitlab: a tag push is ignored"

# --- Gitea, and Forgejo's own header names
SHA5=$(commit 5)
payload gitea-push.json refs/heads/main "$SHA4" "$SHA5" >"$T/gt5.json"
post /hooks/gitea "$T/gt5.json" -H 'Content-Type: application/json' \
	-H 'X-Gitea-Event: push' -H 'X-Gitea-Delivery: 6c2b3a1e-gitea-5' \
	-H "X-Gitea-Signature: $(sign "$T/gt5.json")"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"6c2b3a1e-gitea-5","repos":["infra"]}' \
	"gitea: a signed push is accepted"
wait_for 10 applied "$SHA5"
is "$?" 0 "gitea: and applied"
SHA6=$(commit 6)
payload gitea-push.json refs/heads/main "$SHA5" "$SHA6" >"$T/fj6.json"
post /hooks/gitea "$T/fj6.json" -H 'Content-Type: application/json' \
	-H 'X-Forgejo-Event: push' -H 'X-Forgejo-Delivery: forgejo-6' \
	-H "X-Forgejo-Signature: $(sign "$T/fj6.json")"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"forgejo-6","repos":["infra"]}' \
	"forgejo: a push signed with Forgejo's headers is accepted"
wait_for 10 applied "$SHA6"
is "$?" 0 "forgejo: and applied"
post /hooks/gitea "$T/fj6.json" -H 'Content-Type: application/json' \
	-H 'X-Gitea-Event: push' -H 'X-Gitea-Delivery: gitea-bad' \
	-H "X-Gitea-Signature: sha256=$(sign "$T/fj6.json")"
is "$CODE" 401 "gitea: a signature with a prefix Gitea never sends gets 401"

# --- bad requests: each answered with a JSON error, nothing recorded
N=$(syncs)
printf '{"ref": "refs/heads/main", ' >"$T/trunc.json"
post /hooks/github "$T/trunc.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: trunc' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/trunc.json")"
is "$CODE $BODY" '400 {"error":"the payload is not valid JSON: line 1 column 27: string or '"'"'}'"'"' expected near end of file"}' \
	"a truncated payload gets 400 naming where"
post /hooks/github "$T/gh2.json" -H 'Content-Type: text/plain' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: ctype' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh2.json")"
is "$CODE $BODY" "415 {\"error\":\"unsupported Content-Type 'text/plain': send application/json\"}" \
	"a wrong content type gets 415"
printf '["refs/heads/main"]' >"$T/array.json"
post /hooks/github "$T/array.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: array' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/array.json")"
is "$CODE $BODY" '400 {"error":"the payload must be a JSON object"}' "a payload that is not an object gets 400"
printf '{"before":"x"}' >"$T/noref.json"
post /hooks/github "$T/noref.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: noref' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/noref.json")"
is "$CODE $BODY" "400 {\"error\":\"the push payload has no 'ref'\"}" "a push without a ref gets 400"
payload github-push.json refs/heads/main "$SHA6" "$SHA6" git://elsewhere/other.git acme/other >"$T/other.json"
post /hooks/github "$T/other.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: other' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/other.json")"
is "$CODE $BODY" "404 {\"error\":\"no repository in the config with this webhook secret is 'acme/other'\"}" \
	"a push of a repository not in the config gets 404"
head -c $((5 * 1024 * 1024 + 1)) /dev/zero >"$T/big"
post /hooks/github "$T/big" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: big' \
	-H "X-Hub-Signature-256: sha256=$(printf '%064d' 0)"
is "$CODE $BODY" '413 {"error":"the request body is larger than 5242880 bytes (the limit of POST '"'/hooks/github'"')"}' \
	"a body over 5 MiB gets 413"
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' "$H/hooks/github")
is "$CODE $(cat "$T/.resp")" "405 {\"error\":\"GET is not allowed on '/hooks/github'\"}" "GET on a hook gets 405"
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST "$H/hooks/bitbucket")
is "$CODE $(cat "$T/.resp")" "404 {\"error\":\"no such path '/hooks/bitbucket'\"}" "an unknown forge gets 404"
is "$(syncs)" "$N" "none of the bad requests triggered a sync"
ok kill -0 $SPID "the daemon is still up"

# --- the counters
TOKEN=$("$SCAFFOLD" token create metrics --role viewer -d "$T/data" 2>/dev/null)
curl -s -H "Authorization: Bearer $TOKEN" "$H/metrics" >"$T/metrics"
is "$(grep '^scaffold_webhook_deliveries_total{forge="github"' "$T/metrics" | sed 's/.*result="\([a-z]*\)"} /\1=/' | tr '\n' ' ')" \
	"accepted=2 duplicate=1 ignored=3 unauthorized=3 rejected=5 " "metrics count github deliveries by result"
is "$(grep 'scaffold_sync_duration_seconds_count' "$T/metrics")" \
	'scaffold_sync_duration_seconds_count{repo="infra"} 6' "metrics count the syncs: one at start, one per accepted push"
ok sh -c "! grep -q '$SECRET' '$T/serve.log'" "the webhook secret is never logged"

kill -TERM $SPID
wait $SPID
is "$?" 0 "the daemon stops cleanly"

# public_status: none: the status pages need a viewer; /healthz (a load
# balancer's probe) stays public
sed 's/^poll_interval: 1h$/poll_interval: 1h\npublic_status: none/' "$T/scaffold.yaml" >"$T/private.yaml"
"$SCAFFOLD" serve --config "$T/private.yaml" 2>"$T/serve2.log" &
SPID=$!
wait_for 10 grep -q "port [0-9]" "$T/serve2.log"
H="http://127.0.0.1:$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve2.log")"
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' "$H/")
is "$CODE $(cat "$T/.resp")" \
	"401 {\"error\":\"this page needs a viewer: sign in at /login, or send 'Authorization: Bearer TOKEN'\"}" \
	"public_status: none: / without a token gets 401"
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$H/")
is "$CODE" 200 "public_status: none: a viewer token reads it"
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' "$H/healthz")
is "$CODE $(cat "$T/.resp")" '200 {"status":"ok"}' "public_status: none: /healthz stays public"
payload github-push.json refs/heads/main "$SHA6" "$SHA6" >"$T/gh7.json"
post /hooks/github "$T/gh7.json" -H 'Content-Type: application/json' \
	-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: after-restart' \
	-H "X-Hub-Signature-256: sha256=$(sign "$T/gh7.json")"
is "$CODE" 202 "public_status: none: webhooks need no token (their signature is the proof)"
kill -TERM $SPID
wait $SPID
done_testing
