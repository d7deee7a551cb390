#!/bin/sh
# Hostile HTTP against a real scaffold serve (issue 15, items 1-4 and the
# first of 10), with raw requests (a small python3 client) where curl
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
command -v python3 >/dev/null || skip_all "python3 is not installed"
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
trap 'kill $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
U="http://127.0.0.1:$PORT"
C=/api/v1/cascades/infra/app
applied() { curl -sf -H "Authorization: Bearer $OPER" "$U$C" >/dev/null; }
ok wait_for 10 applied "the cascade is applied"

cat >"$T/raw.py" <<'P'
import socket, sys, time, select
# raw.py PORT MODE ...: a raw HTTP client (t5040)
#   send [SECS]: send stdin, print the answer (status line and body) got
#     within SECS (default 3), or "no answer"
#   head [SECS]: the same, without closing our side (a head whose body
#     never comes)
#   flood CHUNK: send stdin (a head), then CHUNK-byte chunks until the
#     server answers; print the status line, and "closed" when the server
#     closed within 1 s of answering
port = int(sys.argv[1]); mode = sys.argv[2]
def conn():
    return socket.create_connection(("127.0.0.1", port))
def answer(s, secs):
    s.settimeout(secs); data = b""; t0 = time.time()
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            data += b
            if b"\r\n\r\n" in data:
                head, body = data.split(b"\r\n\r\n", 1)
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]): break
    except socket.timeout:
        pass
    except ConnectionResetError:
        pass
    if not data: return "no answer"
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " " + body.decode(errors="replace").strip()
req = sys.stdin.buffer.read()
if mode in ("send", "head"):
    s = conn(); s.sendall(req)
    if mode == "send": s.shutdown(socket.SHUT_WR)
    print(answer(s, float(sys.argv[3]) if len(sys.argv) > 3 else 3))
elif mode == "flood":
    chunk = int(sys.argv[3]); s = conn(); s.sendall(req)
    piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
    sent = 0; t_end = time.time() + 5
    while time.time() < t_end:
        r, w, _ = select.select([s], [s], [], 1)
        if r: break
        if w:
            try: s.send(piece); sent += len(piece)
            except (BrokenPipeError, ConnectionResetError): break
    t0 = time.time()
    s.settimeout(1)
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            data += b
    except socket.timeout:
        print((data.split(b"\r\n")[0].decode() if data else "no answer") + " still open after 1 s"); sys.exit(0)
    except ConnectionResetError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    print((head.split(b"\r\n")[0].decode() + " " + body.decode().strip()) if data else "no answer", "closed" if time.time() - t0 < 1 else "closed late")
elif mode == "loris":
    # loris N: N connections each with a half-sent head (stdin), then
    # GET /healthz on a new one: its status and whether it came within 1 s
    n = int(sys.argv[3]); held = []
    for i in range(n):
        try:
            c = conn(); c.sendall(req); held.append(c)
        except OSError as e:
            print("connection %d: %s" % (i, e)); break
    t0 = time.time()
    try:
        s = conn(); s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        a = answer(s, 3)
    except OSError as e:
        a = "healthz: %s" % e
    print(a.split(" ")[1] if a.startswith("HTTP/") else a, "in time" if time.time() - t0 < 1 else "late")
elif mode == "deadline":
    # deadline SECS: stdin sent, then held: "in time" when the server
    # closed the connection, without an answer, within SECS..SECS+0.6 s
    want = float(sys.argv[3])
    s = conn(); s.sendall(req); t0 = time.time(); s.settimeout(want + 5)
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        b = b""
    except socket.timeout:
        print("still open after %g s" % (want + 5)); sys.exit(0)
    t = time.time() - t0
    if b:
        print(b.split(b"\r\n")[0].decode())
    else:
        print("closed, no answer, " + ("in time" if want - 0.05 <= t <= want + 0.6 else "after %.2f s" % t))
elif mode == "reserve":
    # reserve N: stdin (a head with a Content-Length) sent on N connections
    # with Expect: 100-continue, each until the server says 100 (the head
    # taken, its body's memory reserved); then once more: its answer
    held = []; head = req.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n", 1)
    for i in range(int(sys.argv[3])):
        c = conn(); c.sendall(head); c.settimeout(3)
        try:
            b = c.recv(4096)
        except socket.timeout:
            b = b"no answer"
        if not b.startswith(b"HTTP/1.1 100"):
            print("connection %d: %s" % (i, b.split(b"\r\n")[0].decode())); sys.exit(0)
        held.append(c)
    s = conn(); s.sendall(req)
    print("%d held; %s" % (len(held), answer(s, 3)))
P
raw() { python3 "$T/raw.py" "$PORT" "$@"; }
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
NOTOKEN='{"error":"this needs a token with role operator or more: send '"'"'Authorization: Bearer TOKEN'"'"'"}'

# --- 1. bodies before auth: answered on the headers, the bodies never sent
ANS=$(hook github 'X-GitHub-Event: push' 'Content-Length: 4000000' | raw head)
is "$ANS" 'HTTP/1.1 401 Unauthorized {"error":"missing X-Hub-Signature-256 header"}' \
	"a webhook without its signature header: 401 before its body"
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
	"201 {\"name\":\"file.bin\",\"size\":2097152,\"sha256\":\"$(sha256sum <"$T/file.bin" | cut -d' ' -f1)\",\"updated_at\":T}" \
	"a file of exactly limits.store_file, streamed to disk: 201"
curl -s -H "Authorization: Bearer $OPER" -o "$T/got.bin" "$U$C/files/file.bin"
ok cmp "$T/file.bin" "$T/got.bin" "and it reads back intact"
ANS=$(rq PUT "$C/files/chunked.bin" "Authorization: Bearer $OPER" 'Transfer-Encoding: chunked' | raw flood 65536)
is "$ANS" 'HTTP/1.1 413 Content Too Large {"error":"the request body is larger than 2097152 bytes (limits.store_file)"} closed' \
	"a chunked upload over limits.store_file: 413, and closed at once"
ok sh -c "! ls -A '$D' | grep -q upload" "no upload file is left in the data dir"
# 12 webhook heads of 5 MiB each (their signatures unchecked until their
# bodies come) reserve 60 MiB of the 64 MiB all bodies share: a 13th gets
# 503 before its body
ANS=$(hook github 'X-GitHub-Event: push' 'X-Hub-Signature-256: sha256=00' 'Content-Length: 5242880' |
	raw reserve 12)
is "$ANS" '12 held; HTTP/1.1 503 Service Unavailable {"error":"the server holds 64 MiB of request bodies already: try again later"}' \
	"a body that would take bodies in memory over 64 MiB: 503"

# --- 2. a chunked body over its limit: 413 and closed at once
ANS=$(hook github 'X-GitHub-Event: push' 'X-Hub-Signature-256: sha256=00' 'Transfer-Encoding: chunked' |
	raw flood 65536)
is "$ANS" "HTTP/1.1 413 Content Too Large {\"error\":\"the request body is larger than 5242880 bytes (the limit of POST '/hooks/github')\"} closed" \
	"a chunked webhook body over 5 MiB: 413, and closed at once"

# --- 3. slowloris
ANS=$(rq GET / | head -c 20 | raw loris 130)
is "$ANS" "200 in time" "/healthz answers at once while 130 half-sent requests from its address are open"
ANS=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n' | raw deadline 1)
is "$ANS" "closed, no answer, in time" "a head not complete within limits.header_timeout (1s): closed"
ANS=$(printf '' | raw deadline 1)
is "$ANS" "closed, no answer, in time" "a connection that sends nothing: closed after limits.header_timeout"
# 7 bytes of 2 MB at 1M a second after a grace of limits.header_timeout
ANS=$({ hook github 'X-GitHub-Event: push' 'X-Hub-Signature-256: sha256=00' 'Content-Length: 2000000'; printf '{"ref":'; } |
	raw deadline 1)
is "$ANS" "closed, no answer, in time" "a body slower than limits.body_min_rate after its grace: closed"

# --- 4. strict framing
ANS=$(hook github 'X-Hub-Signature-256: sha256=00' 'Transfer-Encoding : chunked' 'Content-Length: 5' | raw send)
is "$ANS" "HTTP/1.1 400 Bad Request {\"error\":\"the header name 'Transfer-Encoding ' is not a token (RFC 9112: no space before the colon, no control or separator characters)\"}" \
	"Transfer-Encoding with a space before the colon: 400"
ANS=$(rq GET /healthz 'X(y): z' | raw send)
is "$ANS" "HTTP/1.1 400 Bad Request {\"error\":\"the header name 'X(y)' is not a token (RFC 9112: no space before the colon, no control or separator characters)\"}" \
	"a header name with separators: 400"
ANS=$(hook github 'X-Hub-Signature-256: sha256=00' 'Transfer-Encoding: gzip' | raw send)
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
ANS=$(rq GET "$C" 'Authorization: Basic dXNlcjpwYXNz' | raw send)
is "$ANS" "HTTP/1.1 401 Unauthorized {\"error\":\"the Authorization header must be 'Bearer TOKEN'\"}" \
	"and still 401 on a route that needs a role"

ok kill -0 $SPID "the daemon is still up"
kill -TERM $SPID
wait $SPID
is "$?" 0 "and stops cleanly (under ASan: no leak, no error)"
done_testing
