#!/bin/sh
# Hostile input to a real scaffold serve (issue 9, item 3): a repo url of
# a scheme the config does not allow stops the daemon from starting;
# webhooks whose body is truncated, whose length two headers disagree on,
# or that t5000 already covers (bad signature, oversized, wrong content
# type, invalid JSON, unknown repository) are rejected with nothing
# processed: no delivery recorded, no sync, the pushed commit not applied.
# The requests are raw bytes (a small perl client) where curl cannot send
# them.  A correct delivery at the end, sent while a truncated request is
# still held open, is processed: the checks above can fail.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"

# --- repo_schemes: refused at start, naming repo, scheme and list
cat >"$T/http.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data-http
repos:
  - name: infra
    url: http://git.example.com/acme/infra.git
  - name: helper
    url: "ext::sh -c id"
Y
run "$SCAFFOLD" serve --config "$T/http.yaml"
is "$RC:$ERR" "1:$T/http.yaml:5:10: error: repo 'infra': url scheme 'http' is not allowed (repo_schemes: https, ssh, git, file)
$T/http.yaml:7:10: error: repo 'helper': url scheme 'ext::' is not allowed (repo_schemes: https, ssh, git, file)
scaffold serve: the config is invalid; not started" "serve refuses http:// and ext:: repo urls by default"
ok test ! -e "$T/data-http" "and creates no data dir"

# --- a daemon with one repo, its first commit applied
FIX="$SRC/tests/cases/webhooks"
SECRET='hostile s3cret'
REMOTE="$T/git/acme/infra.git"
URL="file://$REMOTE"
mkdir -p "$T/git/acme" "$T/work/.scaffold"
git init -q --bare -b main "$REMOTE"
git init -q -b main "$T/work"
tgit() { git -C "$T/work" -c user.name=Ops -c user.email=ops@acme.example "$@"; }
commit() {
	printf 'version: v1\nname: web\nrunner: local\ntasks:\n  - {name: build, run: "echo build %s"}\n' "$1" \
		>"$T/work/.scaffold/cascade.yaml"
	tgit add -A && tgit commit -qm "version $1" && tgit push -q "$REMOTE" HEAD:main
	tgit rev-parse HEAD
}
SHA1=$(commit 1)
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
repo_schemes: [file]
local: {user: nobody}
# the truncated request held below must outlive the script, which takes
# longer than the 10 s a body gets by default (t5040 tests the deadlines)
limits: {header_timeout: 5m}
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
HELD=
trap 'kill_ours $SPID $HELD 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
applied() {
	"$SCAFFOLD" repos -d "$T/data" -o json 2>/dev/null | grep -q "\"applied\": \"$1\""
}
ok wait_for 10 applied "$SHA1" "the first commit is applied at start"

# The second commit is pushed but not fetched (polling is hourly): any
# delivery that got processed would apply it.
SHA2=$(commit 2)
sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$SHA1|g" -e "s|@AFTER@|$SHA2|g" \
	-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
	"$FIX/github-push.json" >"$T/push.json"
LEN=$(wc -c <"$T/push.json" | tr -d ' ')
SIG=$(openssl dgst -sha256 -hmac "$SECRET" -r "$T/push.json" | cut -d' ' -f1)

# raw MODE [SECONDS] < request: send it; MODE half: then shut down our
# side and print the answer; close: close at once; keep: print what comes
# within SECONDS, or "no answer"
cat >"$T/raw.pl" <<'P'
use strict; use warnings; use IO::Socket::INET;
my ($port, $mode, $wait) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port)
	or die "connect: $!\n";
local $/; my $req = <STDIN>;
defined $s->syswrite($req) or die "write: $!\n";
if ($mode eq "close") { close $s; exit 0 }
shutdown($s, 1) if $mode eq "half";
my ($ans, $b) = ("", "");
my $ok = eval {
	local $SIG{ALRM} = sub { die "alarm\n" };
	alarm($wait || 20);
	$ans .= $b while sysread($s, $b, 65536);
	alarm 0; 1;
};
print $ok ? ($ans eq "" ? "closed without an answer\n" : $ans) : "no answer\n";
P
raw() { perl "$T/raw.pl" "$PORT" "$@"; }
# request DELIVERY HEADER-LINES...: a signed push of $T/push.json, with the
# given framing headers, head and body as sent
request() {
	_d=$1
	shift
	printf 'POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
	printf 'X-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: sha256=%s\r\n' "$_d" "$SIG"
	for _h; do printf '%s\r\n' "$_h"; done
	printf '\r\n'
	cat "$T/push.json"
}
# answer: the status line and the body of the answer in $T/ans
answer() { printf '%s %s' "$(head -1 "$T/ans" | tr -d '\r')" "$(sed '1,/^\r*$/d' "$T/ans")"; }
syncs() { grep -c "syncs now" "$T/serve.log"; }
N=$(syncs)
# nothing_processed DELIVERY DESC: no sync since the start, no delivery
# recorded (the id would be in the database or its WAL), SHA2 not applied
nothing_processed() {
	is "$(syncs)" "$N" "$2: no sync"
	ok sh -c "! cat '$T'/data/scaffold.db* | grep -aq -- '$1'" "$2: no delivery recorded"
	ok applied "$SHA1" "$2: the pushed commit is not applied"
}

# --- a truncated body: Content-Length promises more than is sent
request trunc-half "Content-Length: $((LEN + 100))" | raw half >"$T/ans"
is "$(cat "$T/ans")" "closed without an answer" "a body shorter than its Content-Length, then EOF: the connection is closed, no answer"
nothing_processed trunc-half "truncated, half-closed"
request trunc-close "Content-Length: $((LEN + 1))" | raw close
nothing_processed trunc-close "truncated, connection reset"
ok wait_for 10 grep -q "closed by remote side with incomplete request" "$T/serve.log" "the daemon logs the incomplete request"
# held open: the daemon waits for the rest on that connection's own thread
request trunc-held "Content-Length: $((LEN + 100))" | raw keep 120 >"$T/held" &
HELD=$!
sleep 1
CODE=$(curl -s -m 10 -o "$T/.resp" -w '%{http_code}' "$H/healthz")
is "$CODE $(cat "$T/.resp")" '200 {"status":"ok"}' "while a truncated request is held open, the daemon answers others"

# --- the length given twice, or with Transfer-Encoding (request smuggling)
request dup-same "Content-Length: $LEN" "Content-Length: $LEN" | raw half >"$T/ans"
is "$(answer)" 'HTTP/1.1 400 Bad Request {"error":"the request has 2 Content-Length headers: send one"}' \
	"two equal Content-Length headers: 400"
nothing_processed dup-same "two equal Content-Length headers"
request dup-diff "Content-Length: $LEN" "content-length: 5" | raw half >"$T/ans"
is "$(answer)" 'HTTP/1.1 400 Bad Request {"error":"the request has 2 Content-Length headers: send one"}' \
	"two different Content-Length headers: 400"
nothing_processed dup-diff "two different Content-Length headers"
{
	request dup-te "Content-Length: $LEN" "Transfer-Encoding: chunked" | sed '/^\r$/q'
	printf '%x\r\n' "$LEN"
	cat "$T/push.json"
	printf '\r\n0\r\n\r\n'
} | raw half >"$T/ans"
is "$(answer)" 'HTTP/1.1 400 Bad Request {"error":"the request has both Content-Length and Transfer-Encoding headers: send one"}' \
	"Content-Length with Transfer-Encoding: 400"
nothing_processed dup-te "Content-Length with Transfer-Encoding"
# a list in one header and a negative length: libmicrohttpd refuses them
# itself, before scaffold sees the request (its answer is an HTML page)
request dup-list "Content-Length: $LEN, $LEN" | raw half >"$T/ans"
is "$(head -1 "$T/ans" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "one Content-Length header with two values: 400"
nothing_processed dup-list "one Content-Length header with two values"
request negative "Content-Length: -1" | raw half >"$T/ans"
is "$(head -1 "$T/ans" | tr -d '\r')" "HTTP/1.1 400 Bad Request" "a negative Content-Length: 400"
nothing_processed negative "a negative Content-Length"

# --- the rejections t5000 covers, here with a push that would apply SHA2
post() { # DELIVERY SIGNATURE CONTENT-TYPE BODYFILE: sets CODE and BODY
	CODE=$(curl -s -o "$T/.resp" -w '%{http_code}' -X POST --data-binary "@$4" \
		-H "Content-Type: $3" -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: $1" \
		-H "X-Hub-Signature-256: sha256=$2" "$H/hooks/github")
	BODY=$(cat "$T/.resp")
}
post bad-sig "$(printf '%064d' 0)" application/json "$T/push.json"
is "$CODE $BODY" '401 {"error":"the X-Hub-Signature-256 header does not match the webhook secret of any repository"}' "a bad signature: 401"
nothing_processed bad-sig "a bad signature"
post bad-ctype "$SIG" text/plain "$T/push.json"
is "$CODE $BODY" "415 {\"error\":\"unsupported Content-Type 'text/plain': send application/json\"}" "a wrong content type: 415"
nothing_processed bad-ctype "a wrong content type"
head -c $((LEN - 10)) "$T/push.json" >"$T/cut.json"
post bad-json "$(openssl dgst -sha256 -hmac "$SECRET" -r "$T/cut.json" | cut -d' ' -f1)" application/json "$T/cut.json"
is "$CODE" 400 "a signed payload cut short (invalid JSON): 400"
nothing_processed bad-json "invalid JSON"
sed "s|$URL|file:///elsewhere/other.git|" "$T/push.json" >"$T/other.json"
post bad-repo "$(openssl dgst -sha256 -hmac "$SECRET" -r "$T/other.json" | cut -d' ' -f1)" application/json "$T/other.json"
is "$CODE $BODY" "404 {\"error\":\"no repository in the config with this webhook secret is 'acme/infra'\"}" "an unknown repository: 404"
nothing_processed bad-repo "an unknown repository"
{ cat "$T/push.json"; head -c $((5 * 1024 * 1024)) /dev/zero; } >"$T/big.json"
post bad-big "$SIG" application/json "$T/big.json"
is "$CODE $BODY" '413 {"error":"the request body is larger than 5242880 bytes (the limit of POST '"'/hooks/github'"')"}' "an oversized body: 413"
nothing_processed bad-big "an oversized body"

# --- the same push, correct, while the truncated request is still open
ok kill -0 "$HELD" "the truncated request is still held open"
request hostile-good-7f3a "Content-Length: $LEN" | raw half >"$T/ans"
is "$(answer)" 'HTTP/1.1 202 Accepted {"accepted":true,"delivery":"hostile-good-7f3a","repos":["infra"]}' "a correct delivery is accepted"
ok wait_for 10 applied "$SHA2" "and applied"
ok sh -c "cat '$T'/data/scaffold.db* | grep -aq -- hostile-good-7f3a" "its delivery is recorded (the check above can see one)"
is "$(syncs)" "$((N + 1))" "one sync, for it"
kill "$HELD" 2>/dev/null
wait "$HELD" 2>/dev/null
is "$(cat "$T/held")" "" "the held request never got an answer"
ok kill -0 $SPID "the daemon is still up"
kill -TERM $SPID
wait $SPID
is "$?" 0 "and stops cleanly"
done_testing
