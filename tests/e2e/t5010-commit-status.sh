#!/bin/sh
# Commit statuses: scaffold serve posts each cascade's status to GitHub,
# GitLab and Gitea (three recording stubs stand in for their APIs), with
# the exact method, path, auth header and JSON body; pending then success,
# failure naming the failed task, error for an invalid file, a superseded
# revision closed; a forge outage across a restart delays statuses but
# loses none and keeps their order; the tokens never reach the log.
. "$(dirname "$0")/lib.sh"

STUB=${FORGE_STUB:-$SRC/build/tests/forge-stub}
if [ ! -x "$STUB" ]; then
	# a build without `make test`: compile the stub here
	STUB="$T/forge-stub"
	cc -std=c11 -D_GNU_SOURCE -o "$STUB" "$SRC/tests/stub/forge-stub.c" \
		$(pkg-config --cflags --libs libmicrohttpd jansson) ||
		{ echo "Bail out! cannot build the forge stub"; exit 1; }
fi

spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	for f in gh gl gt; do
		[ -s "$T/$f.pid" ] && kill "$(cat "$T/$f.pid")" 2>/dev/null
	done
	[ -n "$spid" ] && wait "$spid" 2>/dev/null
	rm -rf "$T" "$G"
}
# the gates the tasks wait for: outside /tmp, which a local task has its
# own of, and readable by the task user
G=$(mktemp -d /run/scaffold-gates.XXXXXX) && chmod 755 "$G" ||
	skip_all "cannot make a dir in /run"
trap cleanup EXIT

# One stub per forge, each down while $T/down exists.  The GitLab one
# loses its first answer: scaffold sends that status again and GitLab
# refuses the repeat ("Cannot transition status"), which is fine.
start_stub() { # NAME ARGS...
	_name=$1
	shift
	"$STUB" --log "$T/$_name.log" --fail-while "$T/down" "$@" \
		>"$T/$_name.port" 2>"$T/$_name.err" &
	echo $! >"$T/$_name.pid"
	wait_for 10 test -s "$T/$_name.port" ||
		{ echo "Bail out! the $_name stub did not start"; exit 1; }
	touch "$T/$_name.log"
}
start_stub gh
start_stub gl --lose-first 1
start_stub gt

GH_TOKEN=ghp-SECRET-token-4711
GL_TOKEN=glpat-SECRET-token-0815
GT_TOKEN=gitea-SECRET-token-1234
printf '%s\n' "$GH_TOKEN" >"$T/gh.token"
printf '%s\r\n' "$GL_TOKEN" >"$T/gl.token"
printf '%s' "$GT_TOKEN" >"$T/gt.token"

# deploy.yaml: build waits for GATE (so the pending status is surely out
# before anything settles), test runs TEST_RUN
cascade() { # GATE TEST_RUN [DEPENDS]
	cat <<Y
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: while [ ! -e "$G/$1" ]; do sleep 0.1; done
  - name: test
    run: $2
    depends_on: [${3:-build}]
Y
}
for r in gh gl gt; do
	tgit init -q --bare -b main "$T/$r.git"
	tgit clone -q "$T/$r.git" "$T/$r" 2>/dev/null
	mkdir -p "$T/$r/.scaffold"
	cascade gate1 "echo testing" >"$T/$r/.scaffold/deploy.yaml"
	(cd "$T/$r" && tgit add -A && tgit commit -q -m first &&
		tgit push -q origin main 2>/dev/null)
done
# push_all MESSAGE: commit the work trees' changes in every repo; sets
# $gh_sha, $gl_sha, $gt_sha
push_all() {
	for r in gh gl gt; do
		(cd "$T/$r" && tgit commit -q -am "$1" &&
			tgit push -q -f origin main 2>/dev/null)
		eval "${r}_sha=\$(cd \"\$T/\$r\" && tgit rev-parse HEAD)"
	done
}
set_cascade() { # ARGS of cascade, for every repo
	for r in gh gl gt; do
		cascade "$@" >"$T/$r/.scaffold/deploy.yaml"
	done
}
for r in gh gl gt; do
	eval "${r}_sha=\$(cd \"\$T/\$r\" && tgit rev-parse HEAD)"
done

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
public_url: https://scaffold.example.com/
poll_interval: 500ms
local: {user: nobody}
repos:
  - name: gh
    url: $T/gh.git
    runners: [local]
    forge:
      kind: github
      api_url: http://127.0.0.1:$(cat "$T/gh.port")
      token_file: gh.token
      project: acme/gh
  - name: gl
    url: $T/gl.git
    runners: [local]
    forge:
      kind: gitlab
      api_url: http://127.0.0.1:$(cat "$T/gl.port")/api/v4/
      token_file: gl.token
      project: acme/infra/gl
  - name: gt
    url: $T/gt.git
    runners: [local]
    forge:
      kind: gitea
      api_url: http://127.0.0.1:$(cat "$T/gt.port")/api/v1
      token_file: gt.token
      project: acme/gt
Y
start_serve() { # LOG
	"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/$1" &
	spid=$!
}
start_serve serve.log

# What each forge must receive.  ARGS: SHA STATE DESCRIPTION HTTP-STATUS
url() { echo "https://scaffold.example.com/c/$1/deploy?rev=$2"; }
gh_req() {
	printf '{"body":{"context":"scaffold/deploy","description":"%s","state":"%s","target_url":"%s"},"headers":{"accept":"application/vnd.github+json","authorization":"Bearer %s","content-type":"application/json","user-agent":"scaffold/V","x-github-api-version":"2022-11-28"},"method":"POST","path":"/repos/acme/gh/statuses/%s","status":%s}\n' \
		"$3" "$2" "$(url gh "$1")" "$GH_TOKEN" "$1" "$4"
}
gl_req() {
	printf '{"body":{"description":"%s","name":"scaffold/deploy","state":"%s","target_url":"%s"},"headers":{"accept":"application/json","content-type":"application/json","private-token":"%s","user-agent":"scaffold/V"},"method":"POST","path":"/api/v4/projects/acme%%2Finfra%%2Fgl/statuses/%s","status":%s}\n' \
		"$3" "$2" "$(url gl "$1")" "$GL_TOKEN" "$1" "$4"
}
gt_req() {
	printf '{"body":{"context":"scaffold/deploy","description":"%s","state":"%s","target_url":"%s"},"headers":{"accept":"application/json","authorization":"token %s","content-type":"application/json","user-agent":"scaffold/V"},"method":"POST","path":"/api/v1/repos/acme/gt/statuses/%s","status":%s}\n' \
		"$3" "$2" "$(url gt "$1")" "$GT_TOKEN" "$1" "$4"
}
# The requests a stub got since line FROM (0: all), version normalized.
got() { # NAME FROM
	tail -n "+$(($2 + 1))" "$T/$1.log" |
		sed 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'
}
nlines() { wc -l <"$T/$1.log" | tr -d ' '; }
# has NAME FROM STATE SHA: a request with that state for that commit came
has() {
	got "$1" "$2" | grep "\"state\":\"$3\"" | grep -q "/statuses/$4\""
}
has_all() { # FROM-gh FROM-gl FROM-gt STATE-github STATE-gitlab
	has gh "$1" "$4" "$gh_sha" && has gl "$2" "$5" "$gl_sha" &&
		has gt "$3" "$4" "$gt_sha"
}

# 1. the first push: pending, then success when the tasks are done
ok wait_for 60 has_all 0 0 0 pending pending "each forge gets a pending status"
ok wait_for 20 sh -c "[ \$(grep -c . '$T/gl.log') -ge 2 ]" "the status whose answer was lost is sent again"
touch "$G/gate1"
ok wait_for 30 has_all 0 0 0 success success "and success once the tasks ran"
is "$(got gh 0)" "$(gh_req "$gh_sha" pending "2 changed, 2 to run" 201
gh_req "$gh_sha" success "2 changed, 2 re-ran, all succeeded" 201)" \
	"github: POST /repos/OWNER/REPO/statuses/SHA, Bearer token, pending then success"
is "$(got gl 0)" "$(gl_req "$gl_sha" pending "2 changed, 2 to run" 502
gl_req "$gl_sha" pending "2 changed, 2 to run" 400
gl_req "$gl_sha" success "2 changed, 2 re-ran, all succeeded" 201)" \
	"gitlab: POST /projects/URL-ENCODED-PATH/statuses/SHA, PRIVATE-TOKEN, name; its 'Cannot transition' counts as done"
is "$(got gt 0)" "$(gt_req "$gt_sha" pending "2 changed, 2 to run" 201
gt_req "$gt_sha" success "2 changed, 2 re-ran, all succeeded" 201)" \
	"gitea: POST /repos/OWNER/REPO/statuses/SHA, 'token' authorization"
ok grep -q "warn: status: repo 'gl': gitlab answered 502 to the status of $(echo "$gl_sha" | cut -c1-12) (scaffold/deploy): the answer was lost (retrying in 1s)" "$T/serve.log" \
	"a failed attempt is logged with repo, commit, HTTP status and the forge's message"
is "$(grep -c 'Cannot transition' "$T/serve.log")" 0 "GitLab's refusal of a repeat is not an error"

# 2. a failing task: failure, naming it
m_gh=$(nlines gh) m_gl=$(nlines gl) m_gt=$(nlines gt)
set_cascade gate1 "while [ ! -e \"$G/gate2\" ]; do sleep 0.1; done; exit 3"
push_all "test fails"
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" pending pending "a push that changes a task: pending"
touch "$G/gate2"
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" failure failed "then failure"
is "$(got gh "$m_gh")" "$(gh_req "$gh_sha" pending "1 changed, 1 to run" 201
gh_req "$gh_sha" failure "1 of 1 failed: test (exit 3)" 201)" "github: failure names the task and its exit code"
is "$(got gl "$m_gl")" "$(gl_req "$gl_sha" pending "1 changed, 1 to run" 201
gl_req "$gl_sha" failed "1 of 1 failed: test (exit 3)" 201)" "gitlab: failed"
is "$(got gt "$m_gt")" "$(gt_req "$gt_sha" pending "1 changed, 1 to run" 201
gt_req "$gt_sha" failure "1 of 1 failed: test (exit 3)" 201)" "gitea: failure"

# 3. an invalid cascade file: error, with its first error
m_gh=$(nlines gh) m_gl=$(nlines gl) m_gt=$(nlines gt)
set_cascade gate1 "exit 3" biuld
push_all "typo"
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" error failed "an invalid file: error"
err="invalid: .scaffold/deploy.yaml:9:18: task 'test' depends on unknown task 'biuld'; did you mean 'build'?"
is "$(got gh "$m_gh")" "$(gh_req "$gh_sha" error "$err" 201)" "github: error with file:line:col and the message"
is "$(got gl "$m_gl")" "$(gl_req "$gl_sha" failed "$err" 201)" "gitlab: failed, the same description"
is "$(got gt "$m_gt")" "$(gt_req "$gt_sha" error "$err" 201)" "gitea: error"

# 4. a revision superseded before it settled
m_gh=$(nlines gh) m_gl=$(nlines gl) m_gt=$(nlines gt)
set_cascade gate1 "while [ ! -e \"$G/gate3\" ]; do sleep 0.1; done; echo v4"
push_all "slow"
s1_gh=$gh_sha s1_gl=$gl_sha s1_gt=$gt_sha
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" pending pending "a slow revision: pending"
set_cascade gate1 "echo v5"
push_all "fast"
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" pending pending "a newer one before it settles: pending"
touch "$G/gate3"
ok wait_for 30 has_all "$m_gh" "$m_gl" "$m_gt" success success "the newer one settles"
is "$(got gh "$m_gh")" "$(gh_req "$s1_gh" pending "1 changed, 1 to run" 201
gh_req "$s1_gh" error "superseded by $(echo "$gh_sha" | cut -c1-12)" 201
gh_req "$gh_sha" pending "1 changed, 1 to run" 201
gh_req "$gh_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "github: the superseded revision ends error, 'superseded by SHA'"
is "$(got gl "$m_gl")" "$(gl_req "$s1_gl" pending "1 changed, 1 to run" 201
gl_req "$s1_gl" canceled "superseded by $(echo "$gl_sha" | cut -c1-12)" 201
gl_req "$gl_sha" pending "1 changed, 1 to run" 201
gl_req "$gl_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "gitlab: canceled"
is "$(got gt "$m_gt")" "$(gt_req "$s1_gt" pending "1 changed, 1 to run" 201
gt_req "$s1_gt" error "superseded by $(echo "$gt_sha" | cut -c1-12)" 201
gt_req "$gt_sha" pending "1 changed, 1 to run" 201
gt_req "$gt_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "gitea: error, 'superseded by SHA'"

# 5. the forges go down; two revisions settle meanwhile; scaffold restarts;
# the forges come back: the statuses arrive, in order, none lost (a
# pending one that a later state replaced is not sent)
m_gh=$(nlines gh) m_gl=$(nlines gl) m_gt=$(nlines gt)
touch "$T/down"
enqueued() { # STATE: every repo's status of its head was decided
	for r in gh gl gt; do
		eval "_s=\$${r}_sha"
		grep -q "status: repo '$r' at $(echo "$_s" | cut -c1-12): scaffold/deploy $1" "$T/serve.log" || return 1
	done
}
set_cascade gate1 "echo o1"
push_all "outage 1"
o1_gh=$gh_sha o1_gl=$gl_sha o1_gt=$gt_sha
ok wait_for 30 enqueued success "while the forges are down, a revision settles"
ok wait_for 30 sh -c "grep -q '\"status\":500' '$T/gh.log' && grep -q '\"status\":500' '$T/gl.log' && grep -q '\"status\":500' '$T/gt.log'" "and its statuses fail to go out"
ok grep -q "warn: status: repo 'gh': github answered 500 to the status of $(echo "$o1_gh" | cut -c1-12) (scaffold/deploy): the stub forge is down (retrying in" "$T/serve.log" "the failure is logged, to be retried"
set_cascade gate1 "echo o2"
push_all "outage 2"
ok wait_for 30 enqueued success "a second revision settles"
kill -TERM "$spid"
wait "$spid"
is "$?" 0 "scaffold stops cleanly with statuses unsent"
rm "$T/down"
start_serve serve2.log
ok wait_for 60 has_all "$m_gh" "$m_gl" "$m_gt" success success "after the restart, with the forges back, the statuses arrive"
sent() { got "$1" "$2" | grep '"status":20[01]'; }
is "$(sent gh "$m_gh")" "$(gh_req "$o1_gh" success "1 changed, 1 re-ran, all succeeded" 201
gh_req "$gh_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "github: both revisions' final states, in order"
is "$(sent gl "$m_gl")" "$(gl_req "$o1_gl" success "1 changed, 1 re-ran, all succeeded" 201
gl_req "$gl_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "gitlab: the same"
is "$(sent gt "$m_gt")" "$(gt_req "$o1_gt" success "1 changed, 1 re-ran, all succeeded" 201
gt_req "$gt_sha" success "1 changed, 1 re-ran, all succeeded" 201)" "gitea: the same"

# 6. the tokens are sent, never logged
is "$(cat "$T/serve.log" "$T/serve2.log" | grep -c -e "$GH_TOKEN" -e "$GL_TOKEN" -e "$GT_TOKEN")" 0 "no token appears in the daemon's log"

kill -TERM "$spid"
wait "$spid"
is "$?" 0 "SIGTERM stops the daemon cleanly"
spid=
done_testing
