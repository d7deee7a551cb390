#!/bin/sh
# Plan previews on GitLab merge requests: a Merge Request Hook with the
# right token, shaped like GitLab's (tests/cases/webhooks/), gets the
# status scaffold/plan on its head through GitLab's status API, with the
# exact description and link; a new head ("update") gets its own; close
# is ignored; nothing runs.  The head comes from the base repository's
# refs/merge-requests/N/head, as GitLab serves it.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub at $STUB (make build/tests/forge-stub)"

FIX="$SRC/tests/cases/webhooks"
SECRET='gitlab mr s3cret'
GL_TOKEN=glpat-SECRET-token-5120
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

"$STUB" --log "$T/gl.log" >"$T/gl.port" 2>"$T/gl.err" &
STUBPID=$!
wait_for 10 test -s "$T/gl.port" || { echo "Bail out! the stub did not start"; exit 1; }
touch "$T/gl.log"
printf '%s' "$GL_TOKEN" >"$T/gl.token"
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
      kind: gitlab
      api_url: http://127.0.0.1:$(cat "$T/gl.port")/api/v4
      token_file: gl.token
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
	w push -q -f "$BASE_GIT" "HEAD:refs/merge-requests/$1/head"
	w rev-parse HEAD
}
payload() { # ACTION NUMBER HEAD
	sed -e "s|@ACTION@|$1|g" -e "s|@NUMBER@|$2|g" -e "s|@HEAD@|$3|g" \
		-e "s|@HEAD_REF@|toolchain|g" -e "s|@BASE_REF@|main|g" \
		-e "s|@BASE@|$BASE_SHA|g" -e "s|@CLONE_URL@|$URL|g" \
		-e "s|@PROJECT@|acme/infra|g" "$FIX/gitlab-merge-request.json"
}
post() { # BODYFILE DELIVERY: sets CODE and BODY
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
		--data-binary "@$1" -H 'Content-Type: application/json' \
		-H 'X-Gitlab-Event: Merge Request Hook' -H "Idempotency-Key: $2" \
		-H "X-Gitlab-Token: $SECRET" "$H/hooks/gitlab")
	BODY=$(cat "$T/.resp")
}
req() { # SHA STATE DESCRIPTION
	printf '{"body":{"description":"%s","name":"scaffold/plan","state":"%s","target_url":"https://scaffold.example.com/p/infra/%s"},"headers":{"accept":"application/json","content-type":"application/json","private-token":"%s","user-agent":"scaffold/V"},"method":"POST","path":"/api/v4/projects/acme%%2Finfra/statuses/%s","status":201}\n' \
		"$3" "$2" "$1" "$GL_TOKEN" "$1"
}
plans() { grep '"scaffold/plan"' "$T/gl.log" | sed 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'; }
nplans() { plans | wc -l | tr -d ' '; }

deploy "echo v2" >"$T/work/.scaffold/deploy.yaml"
HEAD1=$(pr_head 4)
payload open 4 "$HEAD1" >"$T/pr1.json"
post "$T/pr1.json" 0a3b5c7d-mr-0001
is "$CODE $BODY" '202 {"accepted":true,"delivery":"0a3b5c7d-mr-0001","pull_request":4,"repos":["infra"]}' \
	"gitlab: a Merge Request Hook (open) with the right token is accepted"
ok wait_for 30 sh -c "grep -q '\"scaffold/plan\"' '$T/gl.log'" "its plan status is posted"
is "$(plans)" "$(req "$HEAD1" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"gitlab: scaffold/plan on the head, PRIVATE-TOKEN, the link to /p/infra/SHA"
is "$(curl -s "$H/p/infra/$HEAD1" | grep -c '<li class="changed"><span class="act act-changed">changed</span> build <span class="muted">changed: run</span></li>')" 1 \
	"the plan page names the changed task"

post "$T/pr1.json" 0a3b5c7d-mr-0001
is "$CODE $BODY" '200 {"duplicate":true,"delivery":"0a3b5c7d-mr-0001"}' "gitlab: the same delivery again is a duplicate"

n=$(nplans)
deploy "echo v3" >"$T/work/.scaffold/deploy.yaml"
HEAD2=$(pr_head 4)
payload update 4 "$HEAD2" >"$T/pr2.json"
post "$T/pr2.json" 0a3b5c7d-mr-0002
is "$CODE" 202 "gitlab: update (a new head) is accepted"
ok wait_for 30 sh -c "[ \$(grep -c '\"scaffold/plan\"' '$T/gl.log') -ge $((n + 1)) ]" "a status for the new head is posted"
is "$(plans | tail -n +$((n + 1)))" "$(req "$HEAD2" success "1 cascade: 1 changed, 2 tasks to re-run, 0 unchanged")" \
	"on the new head"

payload close 4 "$HEAD2" >"$T/pr3.json"
post "$T/pr3.json" 0a3b5c7d-mr-0003
is "$CODE $BODY" "202 {\"ignored\":\"pull request action 'close' brings no new head\"}" "gitlab: close is ignored"
is "$(runs)" "$RUNS0" "nothing of the pull request ran"
done_testing
