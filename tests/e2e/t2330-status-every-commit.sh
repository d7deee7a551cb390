#!/bin/sh
# Every new head commit that touches a cascade file gets a commit status
# for that cascade, even when its definition did not change (issue 17,
# item 4): a comment, or the fix of a typo back to the last good
# definition, gets the cascade's current state, "no change to the
# definition; all succeeded", so a required check never waits for ever.
# A commit that touches only another cascade's file gets none for this
# one.  A forge stub records the exact requests.
. "$(dirname "$0")/lib.sh"

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
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
"$STUB" --log "$T/gh.log" >"$T/gh.port" 2>"$T/gh.err" &
gpid=$!
wait_for 10 test -s "$T/gh.port" || { echo "Bail out! the stub did not start"; exit 1; }
touch "$T/gh.log"
TOKEN=ghp-SECRET-token-2330
printf '%s\n' "$TOKEN" >"$T/gh.token"

tgit init -q --bare -b main "$T/gh.git"
tgit clone -q "$T/gh.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
deploy() { # COMMENT TEST_RUN [DEPENDS]
	cat >"$T/work/.scaffold/deploy.yaml" <<Y
# $1
version: v1
name: deploy
runner: local
tasks:
  - name: build
    run: echo building
  - name: test
    run: $2
    depends_on: [${3:-build}]
Y
}
other() { # COMMENT
	cat >"$T/work/.scaffold/other.yaml" <<Y
# $1
version: v1
name: other
runner: local
tasks:
  - name: hello
    run: echo hello
Y
}
SHA=
commit() { # SUBJECT
	(cd "$T/work" && tgit add -A && tgit commit -q -m "$1" &&
		tgit push -q origin main 2>/dev/null)
	SHA=$(cd "$T/work" && tgit rev-parse HEAD)
}
deploy "the first" "echo testing"
other "the first"
commit first

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
public_url: https://scaffold.example.com/
poll_interval: 300ms
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
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!

# req CASCADE SHA STATE DESCRIPTION: the request GitHub must get
req() {
	printf '{"body":{"context":"scaffold/%s","description":"%s","state":"%s","target_url":"https://scaffold.example.com/c/gh/%s?rev=%s"},"headers":{"accept":"application/vnd.github+json","authorization":"Bearer %s","content-type":"application/json","user-agent":"scaffold/V","x-github-api-version":"2022-11-28"},"method":"POST","path":"/repos/acme/gh/statuses/%s","status":201}\n' \
		"$1" "$4" "$3" "$1" "$2" "$TOKEN" "$2"
}
# got FROM: the requests since line FROM, the version normalized
got() {
	tail -n "+$(($1 + 1))" "$T/gh.log" |
		sed 's|"user-agent":"scaffold/[^"]*"|"user-agent":"scaffold/V"|'
}
nlines() { wc -l <"$T/gh.log" | tr -d ' '; }
# has FROM CASCADE STATE: a status of the head commit came
has() {
	got "$1" | grep "\"context\":\"scaffold/$2\"" |
		grep "\"state\":\"$3\"" | grep -q "/statuses/$SHA\""
}
# settled TASK STATE: deploy's task is in STATE
settled() {
	"$SCAFFOLD" status -d "$T/data" deploy 2>/dev/null |
		awk -v t="$1" '$1 == t { print $2 }' | grep -qx "$2"
}
# quiet: the daemon applied the head (its statuses are decided in the
# same transaction, and logged), and each went out
quiet() {
	_s=$(echo "$SHA" | cut -c1-12)
	grep -q "reconcile: repo 'gh' at $_s: " "$T/serve.log" &&
		[ "$(grep -c "info: status: repo 'gh' at $_s: " "$T/serve.log")" -eq \
			"$(grep -c "/statuses/$SHA\"" "$T/gh.log")" ]
}

ok wait_for 30 has 0 deploy success "the first commit: deploy succeeds"
ok wait_for 30 has 0 other success "the first commit: other succeeds"

# 1. a comment: no change to the definition, a status all the same
m=$(nlines)
deploy "a comment changed" "echo testing"
commit "comment"
ok wait_for 30 has "$m" deploy success "a comment-only commit gets a status"
ok wait_for 10 quiet "...and nothing more"
is "$(got "$m")" "$(req deploy "$SHA" success "no change to the definition; all succeeded")" \
	"a comment-only commit: success, 'no change to the definition; all succeeded'"

# 2. a commit that touches only other.yaml: a status for other, none for deploy
m=$(nlines)
other "another comment"
commit "other comment"
ok wait_for 30 has "$m" other success "a comment in other.yaml: other gets a status"
ok wait_for 10 quiet "...and nothing more"
is "$(got "$m")" "$(req other "$SHA" success "no change to the definition; all succeeded")" \
	"deploy gets none: its file was not touched"

# 3. a typo (invalid), then its fix back to the last good definition
m=$(nlines)
deploy "a comment changed" "echo testing" biuld
commit typo
ok wait_for 30 has "$m" deploy error "the typo: error"
m=$(nlines)
deploy "a comment changed" "echo testing"
commit "fix the typo"
ok wait_for 30 has "$m" deploy success "the fix of the typo gets a status"
ok wait_for 10 quiet "...and nothing more"
is "$(got "$m")" "$(req deploy "$SHA" success "no change to the definition; all succeeded")" \
	"the fix of the typo: success, though the definition did not change"

# 4. a failing task, then a comment: the status says what fails
m=$(nlines)
deploy "a comment changed" "exit 3"
commit "test fails"
ok wait_for 30 has "$m" deploy failure "a failing test: failure"
ok wait_for 10 settled test error "...test is error"
m=$(nlines)
deploy "one more comment" "exit 3"
commit "comment on a failing cascade"
ok wait_for 30 has "$m" deploy failure "a comment on a failing cascade: a status"
ok wait_for 10 quiet "...and nothing more"
is "$(got "$m")" "$(req deploy "$SHA" failure "no change to the definition; failing: test (exit 3)")" \
	"a comment on a failing cascade: failure, naming the failing task"

# 5. a commit that touches no cascade file: no status (nothing to say)
m=$(nlines)
echo readme >"$T/work/README"
commit readme
ok wait_for 30 grep -q "at $(echo "$SHA" | cut -c1-12): no cascade change" "$T/serve.log" \
	"a commit that touches no cascade file is seen"
is "$(got "$m")" "" "...and gets no status"

# 6. .scaffold replaced by a symbolic link to another folder: the commit
# is invalid for every cascade, and nothing is removed or run (the link
# would make the daemon read outside the folder the operator configured)
m=$(nlines)
runs0=$(sqlite3 "$T/data/scaffold.db" "SELECT COUNT(*) FROM runs")
mkdir -p "$T/work/elsewhere"
cat >"$T/work/elsewhere/evil.yaml" <<Y
version: v1
name: evil
runner: local
tasks:
  - name: pwn
    run: echo pwned
Y
(cd "$T/work" && tgit rm -q -r .scaffold && ln -s elsewhere .scaffold)
commit "cascades through a link"
ok wait_for 30 has "$m" deploy error "a linked .scaffold: deploy gets error"
ok wait_for 30 has "$m" other error "...and so does other"
ok wait_for 10 quiet "...and nothing more"
is "$(got "$m" | sort)" "$( (req deploy "$SHA" error "invalid: .scaffold/deploy.yaml: '.scaffold' is a symbolic link, not a folder: cascade files are read from a folder of the repository itself"
	req other "$SHA" error "invalid: .scaffold/other.yaml: '.scaffold' is a symbolic link, not a folder: cascade files are read from a folder of the repository itself") | sort)" \
	"the exact statuses, naming the link"
is "$(sqlite3 "$T/data/scaffold.db" "SELECT group_concat(name, ' ') FROM (SELECT name FROM cascades WHERE active = 1 ORDER BY name)")" \
	"deploy other" "both cascades stay active; evil is not read"
is "$(sqlite3 "$T/data/scaffold.db" "SELECT COUNT(*) FROM runs")" "$runs0" "nothing ran"

is "$(grep -c "$TOKEN" "$T/serve.log")" 0 "the token never reaches the log"
kill -TERM "$spid"
wait "$spid"
is "$?" 0 "the daemon stops cleanly"
spid=
done_testing
