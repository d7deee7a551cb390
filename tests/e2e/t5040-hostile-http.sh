#!/bin/sh
# Hostile HTTP against a real scaffold serve (issue 15, items 1-4 and the
# first of 10), with raw requests (a small perl client) where curl
# cannot send them:
# - bodies before auth: a webhook without its proof header, or with a
#   wrong GitLab token, and an API call without a token are answered on
#   their headers, their bodies never sent; an API body over 1 MiB, a file
#   over limits.store_file: 413 on the Content-Length; a file upload
#   streamed to disk arrives intact; what all bodies hold in memory at once
#   is capped (503);
# - a chunked body over its limit: 413 and the connection closed, at once;
# - slowloris: /healthz answers while 130 half-sent requests from the
#   same address are open; a head or a body that does not come in time has
#   its connection closed;
# - strict framing: a header name with a space before the colon (or any
#   other non-token), an unknown Transfer-Encoding, %00 in a path or a
#   query: 400;
# - a Basic Authorization header on public pages is ignored, and still
#   401 on the API.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"

D="$T/data"
tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
printf 'version: v1\nname: app\nrunner: local\ntasks:\n  - {name: build, run: "echo build", auto_execute: false}\n' \
	>"$T/work/.scaffold/app.yaml"
(cd "$T/work" && tgit add -A && tgit commit -q -m first && tgit push -q origin main 2>/dev/null)
OPER=$("$SCAFFOLD" token create ops --role operator -d "$D" 2>/dev/null)
SECRET='gitlab s3cret'
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
local: {user: nobody}
limits: {store_file: 2M, header_timeout: 1s, body_min_rate: 1M}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    webhook_secret_file: secret
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
C=/api/v1/cascades/infra/app
applied() { curl -sf -H "Authorization: Bearer $OPER" "$U$C" >/dev/null; }
ok wait_for 10 applied "the cascade is applied"

cat >"$T/raw.pl" <<'P'
# raw.pl PORT MODE ...: a raw HTTP client (t5040); the request on stdin
#   send [SECS]: send it, shut our side, print the answer (status line
#     and body) got within SECS (default 3), or "no answer"
#   head [SECS]: the same without shutting our side (a body that never
#     comes)
#   flood CHUNK: send it (a head), then CHUNK-byte chunks until the server
#     answers; print the answer, and "closed" when the server closed the
#     connection within 1 s of answering
#   loris N: N connections each with the half-sent head, then GET
#     /healthz on a new one: its status, and "in time" within 1 s
#   deadline SECS [PAUSE]: connect, after PAUSE seconds send it, then
#     hold: "in time" when the server closed the connection without an
#     answer within SECS..SECS+0.6 s of connecting
#   reserve N: send it (a head with a Content-Length) on N connections
#     with Expect: 100-continue, each until the server says 100 (the head
#     taken, its body's memory reserved); then once more: its answer
use strict; use warnings;
use IO::Socket::INET; use IO::Select; use Time::HiRes qw(time);
my ($port, $mode, $arg) = @ARGV;
local $/; my $req = <STDIN>;
$SIG{PIPE} = 'IGNORE';
sub conn {
	IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $port)
		or die "connect: $!\n";
}
# the raw answer on s within secs: up to the end of its body (by its
# Content-Length) or of the connection; undef on a timeout with nothing
sub answer {
	my ($s, $secs) = @_;
	my ($data, $end) = ("", time + $secs);
	my $sel = IO::Select->new($s);
	while ((my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $n = sysread($s, my $b, 65536);
		last unless $n;
		$data .= $b;
		if ($data =~ /^(.*?)\r\n\r\n(.*)$/s) {
			my ($h, $body) = ($1, $2);
			last if $h =~ /^content-length:\s*(\d+)/mi &&
				length($body) >= $1;
		}
	}
	return $data;
}
sub show {
	my ($data) = @_;
	return "no answer" if $data eq "";
	my ($h, $body) = split /\r\n\r\n/, $data, 2;
	$body = "" unless defined $body;
	$body =~ s/\s+$//;
	return (split /\r\n/, $h)[0] . " $body";
}
if ($mode eq "send" || $mode eq "head") {
	my $s = conn(); syswrite($s, $req);
	shutdown($s, 1) if $mode eq "send";
	print show(answer($s, $arg || 3)), "\n";
} elsif ($mode eq "flood") {
	my $s = conn(); syswrite($s, $req);
	my $piece = sprintf("%x\r\n", $arg) . ("x" x $arg) . "\r\n";
	my $sel = IO::Select->new($s);
	my $end = time + 5;
	while (time < $end) {
		my ($r, $w) = IO::Select->select($sel, $sel, undef, 1);
		last if $r && @$r;
		last if $w && @$w && !defined syswrite($s, $piece);
	}
	my $t0 = time;
	my $data = answer($s, 1);
	# the end of the connection, within what is left of the second
	my $closed = 0;
	if (IO::Select->new($s)->can_read(1 - (time - $t0))) {
		my $n = sysread($s, my $b, 65536);
		$closed = !$n;
	}
	print show($data), $closed && time - $t0 < 1 ? " closed" :
		" still open after 1 s", "\n";
} elsif ($mode eq "loris") {
	my @held;
	for my $i (1 .. $arg) {
		my $c = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
					      PeerPort => $port)
			or do { print "connection $i: $!\n"; exit 0 };
		syswrite($c, $req);
		push @held, $c;
	}
	my $t0 = time;
	my $s = conn();
	syswrite($s, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	my $a = show(answer($s, 3));
	my $code = $a =~ m{^HTTP/1\.1 (\d+)} ? $1 : $a;
	print "$code ", time - $t0 < 1 ? "in time" : "late", "\n";
} elsif ($mode eq "deadline") {
	my $s = conn();
	my $t0 = time;
	select(undef, undef, undef, $ARGV[3]) if $ARGV[3];
	syswrite($s, $req);
	my $data = "";
	if (IO::Select->new($s)->can_read($arg + 5)) {
		sysread($s, $data, 65536);
	} else {
		print "still open after ", $arg + 5, " s\n"; exit 0;
	}
	my $t = time - $t0;
	if ($data ne "") { print show($data), "\n"; exit 0 }
	printf "closed, no answer, %s\n", $t >= $arg - 0.05 && $t <= $arg + 0.6 ?
		"in time" : sprintf("after %.2f s", $t);
} elsif ($mode eq "reserve") {
	(my $head = $req) =~ s/\r\n\r\n/\r\nExpect: 100-continue\r\n\r\n/;
	my @held;
	for my $i (0 .. $arg - 1) {
		my $c = conn(); syswrite($c, $head);
		my $b = "";
		sysread($c, $b, 4096) if IO::Select->new($c)->can_read(3);
		if ($b !~ m{^HTTP/1\.1 100}) {
			print "connection $i: ", ($b eq "" ? "no answer" :
				(split /\r\n/, $b)[0]), "\n";
			exit 0;
		}
		push @held, $c;
	}
	my $s = conn(); syswrite($s, $req);
	printf "%d held; %s\n", scalar @held, show(answer($s, 3));
}
P
raw() { perl "$T/raw.pl" "$PORT" "$@"; }
# rq METHOD PATH HEADER-LINES...: a request head, CRLF-terminated
rq() {
	_m=$1 _p=$2
	shift 2
	printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' "$_m" "$_p"
	for _h; do printf '%s\r\n' "$_h"; done
	printf '\r\n'
}
hook() {
	_f=$1
	shift
	rq POST "/hooks/$_f" 'Content-Type: application/json' "$@"
}
# a signature of the right form: only the body can prove it wrong
Z=$(printf '%064d' 0)
NOTOKEN='{"error":"this needs a token with role operator or more: send '"'"'Authorization: Bearer TOKEN'"'"'"}'

# --- 1. bodies before auth: answered on the headers, the bodies never sent
ANS=$(hook github 'X-GitHub-Event: push' 'Content-Length: 4000000' | raw head)
is "$ANS" 'HTTP/1.1 401 Unauthorized {"error":"missing X-Hub-Signature-256 header"}' \
	"a webhook without its signature header: 401 before its body"
ANS=$(hook github 'X-GitHub-Event: push' 'X-Hub-Signature-256: sha256=abc' 'Content-Length: 4000000' | raw head)
is "$ANS" 'HTTP/1.1 401 Unauthorized {"error":"the X-Hub-Signature-256 header does not match the webhook secret of any repository"}' \
	"a webhook with a signature of the wrong form: 401 before its body"
ANS=$(hook gitlab 'X-Gitlab-Event: Push Hook' 'X-Gitlab-Token: guess' 'Content-Length: 4000000' | raw head)
is "$ANS" 'HTTP/1.1 401 Unauthorized {"error":"the X-Gitlab-Token header does not match the webhook secret of any repository"}' \
	"a webhook with a wrong GitLab token: 401 before its body"
ANS=$(rq PUT "$C/files/big.bin" 'Content-Length: 2000000' | raw head)
is "$ANS" "HTTP/1.1 401 Unauthorized $NOTOKEN" "an upload without a token: 401 before its body"
ANS=$(rq PUT "$C/inputs/X" "Authorization: Bearer $OPER" 'Content-Type: application/json' \
	'Content-Length: 1048577' | raw head)
is "$ANS" "HTTP/1.1 413 Content Too Large {\"error\":\"the request body is larger than 1048576 bytes (the limit of PUT '$C/inputs/X')\"}" \
	"an API body over 1 MiB: 413 on its Content-Length"
ANS=$(rq PUT "$C/files/big.bin" "Authorization: Bearer $OPER" 'Content-Length: 2097153' | raw head)
is "$ANS" 'HTTP/1.1 413 Content Too Large {"error":"the request body is larger than 2097152 bytes (limits.store_file)"}' \
	"a file over limits.store_file: 413 on its Content-Length"
head -c 2097152 /dev/urandom >"$T/file.bin"
CODE=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $OPER" \
	--data-binary @"$T/file.bin" "$U$C/files/file.bin")
is "$CODE $(sed 's/"updated_at":[0-9]*/"updated_at":T/' "$T/put.json")" \
	"201 {\"name\":\"file.bin\",\"size\":2097152,\"sha256\":\"$(sha256sum <"$T/file.bin" | cut -d' ' -f1)\",\"updated_at\":T,\"report\":\"cascade 'app': no change\\n\"}" \
	"a file of exactly limits.store_file, streamed to disk: 201"
curl -s -H "Authorization: Bearer $OPER" -o "$T/got.bin" "$U$C/files/file.bin"
ok cmp "$T/file.bin" "$T/got.bin" "and it reads back intact"
CODE=$(curl -s -o "$T/put.json" -w '%{http_code}' -X PUT -H "Authorization: Bearer $OPER" \
	--data-binary @"$T/file.bin" "$U$C/files/again.bin")
is "$CODE $(grep -o '"sha256":"[0-9a-f]*"' "$T/put.json")" \
	"201 \"sha256\":\"$(sha256sum <"$T/file.bin" | cut -d' ' -f1)\"" "the same bytes again, under another name: 201, one blob"
is "$(find "$D/blobs" -type f | wc -l | tr -d ' ')" 1 "and the store holds them once"
ANS=$(rq PUT "$C/files/chunked.bin" "Authorization: Bearer $OPER" 'Transfer-Encoding: chunked' | raw flood 65536)
is "$ANS" 'HTTP/1.1 413 Content Too Large {"error":"the request body is larger than 2097152 bytes (limits.store_file)"} closed' \
	"a chunked upload over limits.store_file: 413, and closed at once"
ok sh -c "! ls -A '$D' | grep -q upload" "no upload file is left in the data dir"
# 12 webhook heads of 5 MiB each (their signatures unchecked until their
# bodies come) reserve 60 MiB of the 64 MiB all bodies share: a 13th gets
# 503 before its body
ANS=$(hook github 'X-GitHub-Event: push' "X-Hub-Signature-256: sha256=$Z" 'Content-Length: 5242880' |
	raw reserve 12)
is "$ANS" '12 held; HTTP/1.1 503 Service Unavailable {"error":"the server holds 64 MiB of request bodies already: try again later"}' \
	"a body that would take bodies in memory over 64 MiB: 503"

# --- 2. a chunked body over its limit: 413 and closed at once
ANS=$(hook github 'X-GitHub-Event: push' "X-Hub-Signature-256: sha256=$Z" 'Transfer-Encoding: chunked' |
	raw flood 65536)
is "$ANS" "HTTP/1.1 413 Content Too Large {\"error\":\"the request body is larger than 5242880 bytes (the limit of POST '/hooks/github')\"} closed" \
	"a chunked webhook body over 5 MiB: 413, and closed at once"

# --- 3. slowloris
ANS=$(rq GET / | head -c 20 | raw loris 130)
is "$ANS" "200 in time" "/healthz answers at once while 130 half-sent requests from its address are open"
ANS=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n' | raw deadline 1)
is "$ANS" "closed, no answer, in time" "a head not complete within limits.header_timeout (1s): closed"
ANS=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n' | raw deadline 1 0.8)
is "$ANS" "closed, no answer, in time" "a request line late does not restart the head's deadline"
ANS=$(printf '' | raw deadline 1)
is "$ANS" "closed, no answer, in time" "a connection that sends nothing: closed after limits.header_timeout"
# 7 bytes of 2 MB at 1M a second after a grace of limits.header_timeout
ANS=$({ hook github 'X-GitHub-Event: push' "X-Hub-Signature-256: sha256=$Z" 'Content-Length: 2000000'; printf '{"ref":'; } |
	raw deadline 1)
is "$ANS" "closed, no answer, in time" "a body slower than limits.body_min_rate after its grace: closed"

# --- 4. strict framing
ANS=$(hook github "X-Hub-Signature-256: sha256=$Z" 'Transfer-Encoding : chunked' 'Content-Length: 5' | raw send)
is "$ANS" "HTTP/1.1 400 Bad Request {\"error\":\"the header name 'Transfer-Encoding ' is not a token (RFC 9112: no space before the colon, no control or separator characters)\"}" \
	"Transfer-Encoding with a space before the colon: 400"
ANS=$(rq GET /healthz 'X(y): z' | raw send)
is "$ANS" "HTTP/1.1 400 Bad Request {\"error\":\"the header name 'X(y)' is not a token (RFC 9112: no space before the colon, no control or separator characters)\"}" \
	"a header name with separators: 400"
ANS=$(hook github "X-Hub-Signature-256: sha256=$Z" 'Transfer-Encoding: gzip' | raw send)
is "$ANS" "HTTP/1.1 400 Bad Request {\"error\":\"Transfer-Encoding 'gzip' is not supported: send 'chunked' or a Content-Length\"}" \
	"an unknown Transfer-Encoding: 400"
NUL='HTTP/1.1 400 Bad Request {"error":"the request target holds %00 (a NUL byte), which no path or query may contain"}'
is "$(rq GET '/r/1%00' | raw send)" "$NUL" "%00 in a path: 400"
is "$(rq GET '/healthz?x=a%00b' | raw send)" "$NUL" "%00 in a query: 400"
is "$({ rq PUT "$C/files/x%00.txt" "Authorization: Bearer $OPER" 'Content-Length: 1'; printf y; } | raw send)" "$NUL" \
	"%00 in a file name: 400"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPER" "$U$C/files/x")
is "$CODE" 404 "and no file 'x' was stored"

# --- 10. another Authorization scheme
ANS=$(rq GET /healthz 'Authorization: Basic dXNlcjpwYXNz' | raw send)
is "${ANS%% *} ${ANS#* }" "HTTP/1.1 200 OK {\"status\":\"ok\"}" "a Basic Authorization header on a public page is ignored"
ANS=$(rq GET / 'Authorization: Basic dXNlcjpwYXNz' | raw send)
is "$(printf "%s\n" "$ANS" | head -1 | cut -d" " -f1-3)" "HTTP/1.1 200 OK" "and on the public index page (public_status: summary)"
ANS=$(rq GET "$C" 'Authorization: Basic dXNlcjpwYXNz' | raw send)
is "$ANS" "HTTP/1.1 401 Unauthorized {\"error\":\"the Authorization header must be 'Bearer TOKEN'\"}" \
	"and still 401 on a route that needs a role"

ok kill -0 $SPID "the daemon is still up"
kill -TERM $SPID
wait $SPID
is "$?" 0 "and stops cleanly (under ASan: no leak, no error)"
done_testing
