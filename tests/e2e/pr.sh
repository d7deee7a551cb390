# pr.sh - the setup the pull request tests (t51xx) share.  Source it after
# lib.sh, then:
#   pr_init KIND        github, gitea or gitlab: the base repository
#                       $T/git/acme/infra.git ($BASE_GIT), a work tree
#                       $T/work on main (w runs git in it), the token and
#                       the secret; skips without curl, openssl or the stub
#   (write the cascade files under $T/work/.scaffold)
#   pr_first_push       commits them to main: BASE_SHA
#   pr_start_stub [ARG...]   the recording forge: $STUB_LOG, STUB_PORT
#   pr_start_serve [YAML]    git daemon, scaffold.yaml (YAML: more lines
#                       under forge:, indented 6; $PR_TOP_YAML: more
#                       top-level lines), scaffold serve: H, URL
#   pr_head N           commits the work tree as the head of pull request
#                       N, served as the forge serves it: the sha
#   pr_payload ACTION N HEAD [BASE_REF]   the forge's documented payload
#   pr_post FILE DELIVERY [EVENT]          signed; sets CODE and BODY
#   pr_status SHA STATE DESCRIPTION        the status request the stub
#                       must record (user-agent as scaffold/V)
#   pr_plans, pr_nplans the scaffold/plan requests recorded so far
#   runs                the runs that ended in success, as the log says
# Everything started is stopped on exit.
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
[ -x "$STUB" ] || skip_all "no forge stub at $STUB (make build/tests/forge-stub)"

FIX="$SRC/tests/cases/webhooks"
BASE_GIT="$T/git/acme/infra.git"
STUB_LOG="$T/forge.log"
SPID= GPID= STUBPID=
trap 'kill_ours $SPID $GPID $STUBPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

w() { tgit -C "$T/work" "$@"; }

pr_init() { # KIND
	PR_KIND=$1
	SECRET="$1 pr s3cret"
	TOKEN="$1-SECRET-token-$$"
	mkdir -p "$T/git/acme" "$T/work/.scaffold"
	tgit init -q --bare -b main "$BASE_GIT"
	tgit init -q -b main "$T/work"
}

pr_first_push() {
	w add -A && w commit -qm first && w push -q "$BASE_GIT" HEAD:main
	BASE_SHA=$(w rev-parse HEAD)
}

pr_start_stub() { # [STUB ARGS...]
	"$STUB" --log "$STUB_LOG" "$@" >"$T/stub.port" 2>"$T/stub.err" &
	STUBPID=$!
	wait_for 10 test -s "$T/stub.port" || { echo "Bail out! the stub did not start"; exit 1; }
	STUB_PORT=$(cat "$T/stub.port")
	touch "$STUB_LOG"
	printf '%s\n' "$TOKEN" >"$T/forge.token"
}

pr_start_serve() { # [MORE FORGE YAML]
	start_git_daemon "$T/git" acme/infra.git
	URL="git://127.0.0.1:$GPORT/acme/infra.git"
	printf '%s\n' "$SECRET" >"$T/secret"
	case $PR_KIND in
	github) _api="http://127.0.0.1:$STUB_PORT" ;;
	gitea) _api="http://127.0.0.1:$STUB_PORT/api/v1" ;;
	gitlab) _api="http://127.0.0.1:$STUB_PORT/api/v4" ;;
	esac
	cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
public_url: https://scaffold.example.com/
poll_interval: 1h
${PR_TOP_YAML:-}
local: {user: nobody}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local]
    forge:
      kind: $PR_KIND
      api_url: $_api
      token_file: forge.token
      project: acme/infra
${1:-}
Y
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
	SPID=$!
	serve_port "$T/serve.log"
	H="http://127.0.0.1:$PORT"
}

pr_head() { # N
	w add -A && w commit -qm "pr $1"
	if [ "$PR_KIND" = gitlab ]; then
		w push -q -f "$BASE_GIT" "HEAD:refs/merge-requests/$1/head"
	else
		w push -q -f "$BASE_GIT" "HEAD:refs/pull/$1/head"
	fi
	w rev-parse HEAD
}

pr_payload() { # ACTION NUMBER HEAD [BASE_REF]
	case $PR_KIND in
	github) _fix=github-pull-request.json ;;
	gitea) _fix=gitea-pull-request.json ;;
	gitlab) _fix=gitlab-merge-request.json ;;
	esac
	sed -e "s|@ACTION@|$1|g" -e "s|@NUMBER@|$2|g" -e "s|@HEAD@|$3|g" \
		-e "s|@HEAD_REF@|toolchain|g" -e "s|@BASE_REF@|${4:-main}|g" \
		-e "s|@BASE@|$BASE_SHA|g" -e "s|@CLONE_URL@|$URL|g" \
		-e "s|@PROJECT@|acme/infra|g" "$FIX/$_fix"
}

pr_sign() { openssl dgst -sha256 -hmac "$SECRET" -r "$1" | cut -d' ' -f1; }
pr_post() { # BODYFILE DELIVERY [EVENT]: sets CODE and BODY
	case $PR_KIND in
	github)
		CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
			--data-binary "@$1" -H 'Content-Type: application/json' \
			-H "X-GitHub-Event: ${3:-pull_request}" -H "X-GitHub-Delivery: $2" \
			-H "X-Hub-Signature-256: sha256=$(pr_sign "$1")" "$H/hooks/github") ;;
	gitea)
		CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
			--data-binary "@$1" -H 'Content-Type: application/json' \
			-H "X-Gitea-Event: ${3:-pull_request}" -H "X-Gitea-Delivery: $2" \
			-H "X-Gitea-Signature: $(pr_sign "$1")" "$H/hooks/gitea") ;;
	gitlab)
		CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST \
			--data-binary "@$1" -H 'Content-Type: application/json' \
			-H "X-Gitlab-Event: ${3:-Merge Request Hook}" -H "Idempotency-Key: $2" \
			-H "X-Gitlab-Token: $SECRET" "$H/hooks/gitlab") ;;
	esac
	BODY=$(cat "$T/.resp")
}

pr_status() { # SHA STATE DESCRIPTION
	case $PR_KIND in
	github)
		printf '{"body":{"context":"scaffold/plan","description":"%s","state":"%s","target_url":"https://scaffold.example.com/p/infra/%s"},"headers":{"accept":"application/vnd.github+json","authorization":"Bearer %s","content-type":"application/json","user-agent":"scaffold/V","x-github-api-version":"2022-11-28"},"method":"POST","path":"/repos/acme/infra/statuses/%s","status":201}\n' \
			"$3" "$2" "$1" "$TOKEN" "$1" ;;
	gitea)
		printf '{"body":{"context":"scaffold/plan","description":"%s","state":"%s","target_url":"https://scaffold.example.com/p/infra/%s"},"headers":{"accept":"application/json","authorization":"token %s","content-type":"application/json","user-agent":"scaffold/V"},"method":"POST","path":"/api/v1/repos/acme/infra/statuses/%s","status":201}\n' \
			"$3" "$2" "$1" "$TOKEN" "$1" ;;
	gitlab)
		printf '{"body":{"description":"%s","name":"scaffold/plan","state":"%s","target_url":"https://scaffold.example.com/p/infra/%s"},"headers":{"accept":"application/json","content-type":"application/json","private-token":"%s","user-agent":"scaffold/V"},"method":"POST","path":"/api/v4/projects/acme%%2Finfra/statuses/%s","status":201}\n' \
			"$3" "$2" "$1" "$TOKEN" "$1" ;;
	esac
}
pr_plans() { grep '"scaffold/plan"' "$STUB_LOG" | sed 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'; }
pr_nplans() { pr_plans | wc -l | tr -d ' '; }
runs() { grep -c ' info: run [0-9]* [a-z]*/[a-z]*: success' "$T/serve.log"; }

# pr_base_ran N: the base branch is applied and its N tasks succeeded
pr_base_ran() { [ "$(runs)" -eq "$1" ]; }
# pr_comment_log PATH_PART: the stub's requests whose path has PATH_PART,
# the comment's marker and scaffold's version made constant
pr_comment_log() {
	grep "\"$1" "$STUB_LOG" |
		sed -e 's/scaffold-plan [0-9a-f]\{32\}/scaffold-plan M/' \
			-e 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'
}
# pr_table_body SHA SUMMARY ROWS: a comment's body as the stub logs it
# (JSON-escaped newlines), the marker made constant
pr_table_body() {
	printf '<!-- scaffold-plan M -->\\n**scaffold plan** of repo infra at %.12s ([the plan](https://scaffold.example.com/p/infra/%s)): %s\\n\\n| cascade | change | tasks to re-run | first error |\\n| --- | --- | --- | --- |\\n%s' \
		"$1" "$1" "$2" "$3"
}
