#!/bin/sh
# Replayed webhooks (issue 15, items 5 and 10): the delivery id is not
# covered by the signature, so a captured push sent again under fresh ids
# must be a duplicate (200), as a forge's own retry of the same id is,
# and start no sync; ids are kept to 128 bytes; processed deliveries are
# pruned (30 days, 10,000 a repo); refused deliveries (401) are logged
# with the client address, once per address in 10 s; the Content-Type is
# the exact media type (application/json-evil is 415).  Against a real
# scaffold serve following a file:// repository, polling hourly: only a
# webhook can make it fetch.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v sqlite3 >/dev/null || skip_all "sqlite3 is not installed (apt-get install sqlite3)"

FIX="$SRC/tests/cases/webhooks"
SECRET='replay s3cret'
REMOTE="$T/git/acme/infra.git"
URL="file://$REMOTE"
mkdir -p "$T/git/acme" "$T/work/.scaffold"
git init -q --bare -b main "$REMOTE"
git init -q -b main "$T/work"
commit() {
	printf 'version: v1\nname: web\nrunner: local\ntasks:\n  - {name: build, run: "echo build %s"}\n' "$1" \
		>"$T/work/.scaffold/cascade.yaml"
	tgit -C "$T/work" add -A && tgit -C "$T/work" commit -qm "version $1" &&
		tgit -C "$T/work" push -q "$REMOTE" HEAD:main
	tgit -C "$T/work" rev-parse HEAD
}
# pushbody BEFORE AFTER FILE: GitHub's push payload of the repo
pushbody() {
	sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$1|g" -e "s|@AFTER@|$2|g" \
		-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
		"$FIX/github-push.json" >"$3"
}
sig() { openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1; }
SHA1=$(commit 1)
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
repo_schemes: [file]
local: {user: nobody}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local]
Y
DB="$T/data/scaffold.db"

# --- old deliveries, before the daemon starts: one processed 31 days ago,
# 10,005 processed recently (5 over the 10,000 a repo kept), one pending
"$SCAFFOLD" token create setup --role viewer -d "$T/data" >/dev/null 2>&1
NOW=$(($(date +%s) * 1000))
run sqlite3 "$DB" "
INSERT INTO deliveries (forge, delivery, event, repo, ref, after, received_at, processed_at, digest)
  VALUES ('github', 'ancient', 'push', 'infra', 'refs/heads/main', 'x', $NOW - 31*86400000, $NOW - 31*86400000, 'd-ancient');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10005)
INSERT INTO deliveries (forge, delivery, event, repo, ref, after, received_at, processed_at, digest)
  SELECT 'github', 'old-' || i, 'push', 'infra', 'refs/heads/main', 'x', $NOW - 86400000 + i, $NOW - 86400000 + i, 'd-' || i FROM n;
"
is "$RC $ERR" "0 " "10,007 deliveries recorded before the start (digests kept: schema 8)"

"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
applied() {
	"$SCAFFOLD" repos -d "$T/data" -o json 2>/dev/null | grep -q "\"applied\": \"$1\""
}
ok wait_for 10 applied "$SHA1" "the first commit is applied at start"
ok wait_for 10 grep -q "webhook: repo 'infra': 6 old deliveries forgotten" "$T/serve.log" \
	"the first sync prunes the delivery of 31 days ago and the 5 oldest over 10,000"
is "$(sqlite3 "$DB" "SELECT COUNT(*), MIN(delivery) FROM deliveries WHERE delivery LIKE 'old-%' OR delivery = 'ancient'")" \
	"10000|old-10" "the 10,000 newest are kept"

# post DELIVERY FILE [CONTENT-TYPE [SIGNATURE]]: sets CODE and BODY
post() {
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST --data-binary "@$2" \
		-H "Content-Type: ${3:-application/json}" -H 'X-GitHub-Event: push' \
		-H "X-GitHub-Delivery: $1" -H "X-Hub-Signature-256: sha256=${4:-$(sig "$2")}" \
		"$H/hooks/github")
	BODY=$(cat "$T/.resp")
}
syncs() { grep -c "syncs now" "$T/serve.log"; }
metric() {
	curl -s -H "Authorization: Bearer $TOKEN" "$H/metrics" | grep "^$1" | sed 's/.* //'
}
TOKEN=$("$SCAFFOLD" token create metrics --role viewer -d "$T/data" 2>/dev/null)

# --- one push, accepted once
SHA2=$(commit 2)
pushbody "$SHA1" "$SHA2" "$T/push2.json"
post 2b1f0c9e-first "$T/push2.json"
is "$CODE $BODY" '202 {"accepted":true,"delivery":"2b1f0c9e-first","repos":["infra"]}' "a signed push is accepted"
ok wait_for 10 applied "$SHA2" "and applied"
ok wait_for 10 sh -c "[ \"\$(sqlite3 '$DB' \"SELECT COUNT(*) FROM deliveries WHERE delivery = '2b1f0c9e-first' AND processed_at IS NOT NULL\")\" = 1 ]" \
	"its sync marks it processed"
N=$(syncs)
is "$N" 1 "one sync for it"
SIZE0=$(cat "$DB" "$DB-wal" 2>/dev/null | wc -c)
LOG0=$(wc -c <"$T/serve.log")

# --- the forge retries the same delivery: a duplicate, as before
post 2b1f0c9e-first "$T/push2.json"
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"2b1f0c9e-first"}' "the forge's retry of the delivery is a duplicate"

# --- the same signed body under fresh ids: every one a duplicate
i=0
: >"$T/codes"
SIG2=$(sig "$T/push2.json")
while [ $i -lt 40 ]; do
	post "replay-$i" "$T/push2.json" application/json "$SIG2"
	echo "$CODE $BODY" >>"$T/codes"
	i=$((i + 1))
done
is "$(grep -c '^200 {"duplicate":true,"delivery":"replay-[0-9]*"}$' "$T/codes")" 40 \
	"40 replays of the push under fresh delivery ids: 40 duplicates (200)"
is "$(sqlite3 "$DB" "SELECT COUNT(*) FROM deliveries WHERE delivery LIKE 'replay-%'")" 0 "none of them is recorded"
is "$(syncs)" "$N" "none of them starts a sync"
is "$(metric 'scaffold_sync_duration_seconds_count{repo="infra"}')" 2 \
	"metrics: two syncs in all (the start, the push)"
is "$(metric 'scaffold_webhook_deliveries_total{forge="github",result="duplicate"}')" 41 \
	"metrics: 41 duplicates"
SIZE1=$(cat "$DB" "$DB-wal" 2>/dev/null | wc -c)
LOG1=$(wc -c <"$T/serve.log")
ok [ $((SIZE1 - SIZE0)) -le 65536 ] "the database grew by at most 64 KiB ($((SIZE1 - SIZE0)) bytes)"
is "$((LOG1 - LOG0))" 0 "the log did not grow"

# --- a new push with an overlong delivery id: kept to 128 bytes
SHA3=$(commit 3)
pushbody "$SHA2" "$SHA3" "$T/push3.json"
LONG=$(printf 'L%.0s' $(seq 300))
CUT=$(printf 'L%.0s' $(seq 128))
post "$LONG" "$T/push3.json"
is "$CODE $BODY" "202 {\"accepted\":true,\"delivery\":\"$CUT\",\"repos\":[\"infra\"]}" \
	"a push with a 300-byte delivery id is accepted, the id cut to 128 bytes"
is "$(sqlite3 "$DB" "SELECT length(delivery) FROM deliveries WHERE delivery LIKE 'LLL%'")" 128 "the id kept is 128 bytes"
ok wait_for 10 applied "$SHA3" "and applied"
post "$LONG-other-suffix" "$T/push3.json"
is "$CODE $BODY" "200 {\"duplicate\":true,\"delivery\":\"$CUT\"}" "the same push again: a duplicate"

# --- Content-Type: the exact media type, parameters allowed
SHA4=$(commit 4)
pushbody "$SHA3" "$SHA4" "$T/push4.json"
post ctype-evil "$T/push4.json" application/json-evil
is "$CODE $BODY" "415 {\"error\":\"unsupported Content-Type 'application/json-evil': send application/json\"}" \
	"application/json-evil: 415"
post ctype-evil-form "$T/push4.json" application/x-www-form-urlencoded-evil
is "$CODE $BODY" "415 {\"error\":\"unsupported Content-Type 'application/x-www-form-urlencoded-evil': send application/json\"}" \
	"application/x-www-form-urlencoded-evil: 415"
ok applied "$SHA3" "neither is applied"
post ctype-charset "$T/push4.json" 'application/json; charset=utf-8'
is "$CODE $BODY" '202 {"accepted":true,"delivery":"ctype-charset","repos":["infra"]}' \
	"application/json; charset=utf-8: accepted"
ok wait_for 10 applied "$SHA4" "and applied"

# --- GitLab: the token proves no body; its replays are duplicates too,
# whatever Idempotency-Key they carry
SHA5=$(commit 5)
sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$SHA4|g" -e "s|@AFTER@|$SHA5|g" \
	-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
	"$FIX/gitlab-push.json" >"$T/gl5.json"
glpost() {
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST --data-binary "@$T/gl5.json" \
		-H 'Content-Type: application/json' -H 'X-Gitlab-Event: Push Hook' \
		-H "X-Gitlab-Token: $SECRET" -H "Idempotency-Key: $1" "$H/hooks/gitlab")
	BODY=$(cat "$T/.resp")
}
glpost 5f1c2d3e-gl-first
is "$CODE $BODY" '202 {"accepted":true,"delivery":"5f1c2d3e-gl-first","repos":["infra"]}' "gitlab: a push is accepted"
ok wait_for 10 applied "$SHA5" "gitlab: and applied"
N=$(syncs)
glpost 5f1c2d3e-gl-replay
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"5f1c2d3e-gl-replay"}' "gitlab: the same body under a fresh Idempotency-Key: a duplicate"
is "$(syncs)" "$N" "gitlab: and no sync"

# --- refused deliveries: logged with the address, one line in 10 s
# (the window is per address, whatever the forge)
CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST --data-binary "@$T/push4.json" \
	-H 'Content-Type: application/json' -H 'X-Gitea-Event: push' "$H/hooks/gitea")
is "$CODE $(cat "$T/.resp")" '401 {"error":"missing X-Gitea-Signature header"}' \
	"a Gitea push without its signature header: 401"
i=0
while [ $i -lt 5 ]; do
	post "bad-$i" "$T/push4.json" application/json "$(printf '%064d' 0)"
	i=$((i + 1))
done
is "$CODE $BODY" '401 {"error":"the X-Hub-Signature-256 header does not match the webhook secret of any repository"}' \
	"a bad signature: 401"
is "$(untimed "$T/serve.log" | grep 'refused (401)')" \
	"warn: webhook: gitea delivery from 127.0.0.1 refused (401): missing X-Gitea-Signature header" \
	"6 refused deliveries from 127.0.0.1 within 10 s: one warning line, the first, with the address"

ok kill -0 "$SPID" "the daemon is still up"
kill "$SPID"
wait "$SPID"
is "$?" 0 "the daemon stops cleanly"
done_testing
