#!/bin/sh
# Plan previews on Gitea (and Forgejo) pull requests: a signed
# pull_request delivery shaped like Gitea's (tests/cases/webhooks/) gets
# the status scaffold/plan on its head through Gitea's status API, with
# the exact description and link; a new head ("synchronized", Gitea's
# word) gets its own; closed is ignored; nothing runs.  The head comes
# from the base repository's refs/pull/N/head, as Gitea serves it.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub at $STUB (make build/tests/forge-stub)"

FIX="$SRC/tests/cases/webhooks"
SECRET='gitea pr s3cret'
GT_TOKEN=gitea-SECRET-token-5110
BASE_GIT="$T/git/acme/infra.git"
SPID= GPID= STUBPID=
trap 'kill_ours $SPID $GPID $STUBPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

mkdir -p "$T/git/acme" "$T/work/.scaffold"
tgit init -q --bare -b main "$BASE_GIT"
tgit init -q -b main "$T/work"
w() { tgit -C "$T/work" "$@"; }
deploy() { # BUILD
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: $1
  - name: test
    depends_on: [build]
    run: echo test
Y
}
deploy "echo v1" >"$T/work/.scaffold/deploy.yaml"
w add -A && w commit -qm first && w push -q "$BASE_GIT" HEAD:main
BASE_SHA=$(w rev-parse HEAD)

"$STUB" --log "$T/gt.log" >"$T/gt.port" 2>"$T/gt.err" &
STUBPID=$!
wait_for 10 test -s "$T/gt.port" || { echo "Bail out! the stub did not start"; exit 1; }
touch "$T/gt.log"
printf '%s' "$GT_TOKEN" >"$T/gt.token"
start_git_daemon "$T/git" acme/infra.git
URL="git://127.0.0.1:$GPORT/acme/infra.git"
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local]
    forge:
      kind: gitea
      api_url: http://127.0.0.1:$(cat "$T/gt.port")/api/v1
      token_file: gt.token
      project: acme/infra
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
runs() { grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' "$T/serve.log"; }
ok wait_for 30 sh -c "[ \$(grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' '$T/serve.log') -eq 2 ]" \
	"the base branch is applied and its 2 tasks ran"
RUNS0=$(runs)

w checkout -q -b toolchain
pr_head() { # N
	w add -A && w commit -qm "pr $1"
	w push -q -f "$BASE_GIT" "HEAD:refs/pull/$1/head"
	w rev-parse HEAD
}
payload() { # ACTION NUMBER HEAD
	sed -e "s|@ACTION@|$1|g" -e "s|@NUMBER@|$2|g" -e "s|@HEAD@|$3|g" \
		-e "s|@HEAD_REF@|toolchain|g" -e "s|@BASE_REF@|main|g" \
		-e "s|@BASE@|$BASE_SHA|g" -e "s|@CLONE_URL@|$URL|g" \
		-e "s|@PROJECT@|acme/infra|g" "$FIX/gitea-pull-request.json"
}
sign() { openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1; }
post() { # BODYFILE DELIVERY: sets CODE and BODY
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
		--data-binary "@$1" -H 'Content-Type: application/json' \
		-H 'X-Gitea-Event: pull_request' -H "X-Gitea-Delivery: $2" \
		-H "X-Gitea-Signature: $(sign "$1")" "$H/hooks/gitea")
	BODY=$(cat "$T/.resp")
}
req() { # SHA STATE DESCRIPTION
	printf '{"body":{"context":"scaffold/plan","description":"%s","state":"%s","target_url":"https://scaffold.example.com/p/infra/%s"},"headers":{"accept":"application/json","authorization":"token %s","content-type":"application/json","user-agent":"scaffold/V"},"method":"POST","path":"/api/v1/repos/acme/infra/statuses/%s","status":201}\n' \
		"$3" "$2" "$1" "$GT_TOKEN" "$1"
}
plans() { grep '"scaffold/plan"' "$T/gt.log" | sed 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'; }
nplans() { plans | wc -l | tr -d ' '; }

deploy "echo v2" >"$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 4)
payload opened 4 "$HEAD1" >"$T/pr1.json"
post "$T/pr1.json" 6b1c2d3e-0001
is "$CODE $BODY" '202 {"accepted":true,"delivery":"6b1c2d3e-0001","pull_request":4,"repos":["infra"]}' \
	"gitea: a signed pull_request (opened) is accepted"
ok wait_for 30 sh -c "grep -q '\"scaffold/plan\"' '$T/gt.log'" "its plan status is posted"
is "$(plans)" "$(req "$HEAD1" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"gitea: scaffold/plan on the head, 'token' authorization, the link to /p/infra/SHA"
is "$(curl -s "$H/p/infra/$HEAD1" | grep -c '<li class="changed"><span class="act act-changed">changed</span> build <span class="muted">changed: run</span></li>')" 1 \
	"the plan page names the changed task"

post "$T/pr1.json" 6b1c2d3e-0001
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"6b1c2d3e-0001"}' "gitea: the same delivery again is a duplicate"

n=$(nplans)
deploy "echo v3" >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 4)
payload synchronized 4 "$HEAD2" >"$T/pr2.json"
post "$T/pr2.json" 6b1c2d3e-0002
is "$CODE" 202 "gitea: synchronized (a new head) is accepted"
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$T/gt.log') -ge $((n + 1)) ]" "a status for the new head is posted"
is "$(plans | tail -n +$((n + 1)))" "$(req "$HEAD2" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"on the new head"

payload closed 4 "$HEAD2" >"$T/pr3.json"
post "$T/pr3.json" 6b1c2d3e-0003
is "$CODE $BODY" "202 {\"ignored\":\"pull request action 'closed' brings no new head\"}" "gitea: closed is ignored"
is "$(runs)" "$RUNS0" "nothing of the pull request ran"
done_testing
