#!/bin/sh
# scaffold serve under systemd's Type=notify: READY=1 reaches the socket
# in NOTIFY_SOCKET (an abstract '@' name, or a path) once the store is
# open and the HTTP port answers, STOPPING=1 when it stops; a malformed
# NOTIFY_SOCKET is named in a warning and changes nothing else.
. "$(dirname "$0")/lib.sh"
LISTEN=${NOTIFY_LISTEN:-$SRC/build/tests/notify-listen}
[ -x "$LISTEN" ] || skip_all "no notify-listen at $LISTEN (make $SRC/build/tests/notify-listen)"

cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
local: {user: nobody}
repos: []
Y

# one daemon under NOTIFY_SOCKET=$1: READY=1 arrives with the port open,
# STOPPING=1 after SIGTERM
notified() { # SOCKET NAME
	rm -f "$T/notes" "$T/bound"
	"$LISTEN" "$1" "$T/notes" 30 >"$T/bound" &
	lpid=$!
	wait_for 5 grep -q bound "$T/bound" ||
		{ echo "Bail out! notify-listen did not bind $1"; exit 1; }
	NOTIFY_SOCKET=$1 "$SCAFFOLD" serve --config "$T/scaffold.yaml" \
		2>"$T/serve-$2.log" &
	spid=$!
	trap 'kill $spid $lpid 2>/dev/null; rm -rf "$T"' EXIT
	wait_for 10 grep -q '^READY=1' "$T/notes"
	_result $? "$2: READY=1 is sent"
	# no waiting from here: the port must already be known and open
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve-$2.log")
	ok test -n "$port" "$2: the log said the port before READY=1"
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz"
	is "$OUT" 200 "$2: /healthz answers at READY=1"
	kill -TERM $spid
	wait $spid
	is $? 0 "$2: serve stops cleanly"
	wait $lpid
	is $? 0 "$2: STOPPING=1 is sent"
	is "$(cat "$T/notes")" "READY=1
STATUS=listening on port $port
--
STOPPING=1
--" "$2: exactly READY=1 with a status, then STOPPING=1"
}

notified "@scaffold-test-$$-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" abstract
notified "$T/notify.sock" path

# a NOTIFY_SOCKET that is neither a path nor '@NAME': said, and serve runs
NOTIFY_SOCKET=relative/name "$SCAFFOLD" serve --config "$T/scaffold.yaml" \
	2>"$T/serve-bad.log" &
spid=$!
trap 'kill_ours $spid; rm -rf "$T"' EXIT
serve_port "$T/serve-bad.log"
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz"
is "$OUT" 200 "a bad NOTIFY_SOCKET: serve runs"
is "$(untimed "$T/serve-bad.log" | grep NOTIFY_SOCKET)" \
	"warn: serve: NOTIFY_SOCKET 'relative/name': not a socket path or an abstract socket name ('@NAME')" \
	"a bad NOTIFY_SOCKET: named in one warning"
kill -TERM $spid
wait $spid
is $? 0 "a bad NOTIFY_SOCKET: serve stops cleanly"

done_testing
