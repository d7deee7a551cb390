#!/bin/sh
# /login limits failed sign-ins per source address: 5 failures pass (401
# each), then every POST /login from that address, a valid token too, is
# 429 with Retry-After (the seconds until one failure has been refilled,
# 12 s a failure) and its token is not looked at; the first refusal is
# logged, the next ones of the same wait are not; another address signs in
# as before.  (The refill itself, on a set clock: tests/unit/
# test_login_limit.c.)
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D="$T/data"
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
Y
VIEW=$("$SCAFFOLD" token create watcher --role viewer -d "$D" 2>/dev/null)
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
# login TOKEN [SOURCE ADDRESS]: POST the sign-in form as a browser would
login() {
	CODE=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
		--interface "${2:-127.0.0.1}" -H "Origin: $H" \
		--data-urlencode "token=$1" --data-urlencode "next=/" \
		"$H/login")
}
hdr() { # NAME: the header's value (first), CR dropped
	sed -n "s/^$1: //Ip" "$T/hdr" | tr -d '\r' | head -1
}
ms() { echo $(($(date +%s%N) / 1000000)); }
BAD=scf_0000000000000000000000000000000000000000000000000000

t0=$(ms)
codes=
for i in 1 2 3 4 5; do
	login $BAD
	codes="$codes$CODE "
done
is "$codes" "401 401 401 401 401 " "5 wrong tokens: 401 each"
login "$VIEW"
t1=$(ms)
is "$CODE" 429 "the 6th sign-in from that address, with a valid token: 429"
WAIT=$(hdr Retry-After)
# 12 s after the first failure, less the time the 6 requests took
lo=$(((12000 - (t1 - t0) + 999) / 1000))
ok test "$WAIT" -ge "$lo" -a "$WAIT" -le 12 \
	"...Retry-After $WAIT: the seconds left of 12 after the first failure ($((t1 - t0)) ms ago)"
ok grep -qF "Too many failed sign-ins from your address: try again in $WAIT s." "$T/body" \
	"...the page says so"
is "$(hdr Set-Cookie)" "" "...and no session is made"
login $BAD
is "$CODE:$(hdr Retry-After | sed 's/^[0-9][0-9]*$/N/')" "429:N" "a 7th: 429 again"
is "$(untimed "$T/serve.log" | grep 'sign-in' | sed 's/allowed in [0-9]* s$/allowed in N s/')" \
	"warn: http: sign-in from 127.0.0.1 refused: the token is not valid
warn: http: sign-in from 127.0.0.1 refused: the token is not valid
warn: http: sign-in from 127.0.0.1 refused: the token is not valid
warn: http: sign-in from 127.0.0.1 refused: the token is not valid
warn: http: sign-in from 127.0.0.1 refused: the token is not valid
warn: http: sign-in from 127.0.0.1 refused: 5 failed sign-ins in a minute; the next is allowed in N s" \
	"the log: each failure, then the limit once"

login "$VIEW" 127.0.0.2
is "$CODE $(hdr Location)" "303 ./" "another address signs in"
ok grep -q "http: sign-in from 127.0.0.2 with token 'watcher'" "$T/serve.log" \
	"...and is logged"
login $BAD 127.0.0.2
is "$CODE" 401 "...and its failures are its own"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$H/login")
is "$CODE" 200 "the sign-in page itself is not limited"
kill_ours $SPID
wait $SPID
is "$?" 0 "the daemon stops cleanly"
done_testing
