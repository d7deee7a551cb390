# lib.sh - TAP helpers for the end-to-end tests.  Source it first:
#   . "$(dirname "$0")/lib.sh"
# It makes a temp dir ($T, removed on exit), finds the binary ($SCAFFOLD)
# and the source tree ($SRC), and provides:
#   ok COND-COMMAND... DESC     run a command, pass when it exits 0
#   is GOT WANT DESC            exact string comparison, diff on failure
#   run CMD...                  run, setting $OUT, $ERR and $RC
#   skip_all REASON             the whole script is skipped, with the reason
#   done_testing                print the plan; exit 1 if anything failed
#   untimed FILE                a daemon's log without the time of each line
#   $TIME                       a grep pattern (BRE) for that time
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SCAFFOLD=${SCAFFOLD:-$SRC/scaffold}
T=$(mktemp -d "${TMPDIR:-/tmp}/scaffold-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
_n=0
_failed=0

_result() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

ok() {
	_desc=$(eval "echo \${$#}")
	_argc=$#
	_args=""
	_i=1
	while [ $_i -lt $_argc ]; do
		_args="$_args \"\${$_i}\""
		_i=$((_i + 1))
	done
	eval "$_args" >/dev/null 2>&1
	_result $? "$_desc"
}

is() {
	if [ "$1" = "$2" ]; then
		_result 0 "$3"
	else
		_result 1 "$3"
		printf '%s\n' "$1" >"$T/.got"
		printf '%s\n' "$2" >"$T/.want"
		diff -u "$T/.want" "$T/.got" | sed 's/^/# /'
	fi
}

run() {
	"$@" >"$T/.out" 2>"$T/.err"
	RC=$?
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
}

skip_all() {
	echo "1..0 # SKIP $1"
	exit 0
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ] && return 0
	# a failure on a machine we cannot log into must explain itself: show
	# the tail of every log the test wrote
	for _log in "$T"/*.log; do
		[ -f "$_log" ] || continue
		echo "# --- last lines of $(basename "$_log") ---"
		tail -n 40 "$_log" | sed 's/^/# /'
	done
	return 1
}

# the daemon's log lines start with a time (2026-12-06T09:30:01.123Z)
TIME='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]*\.[0-9]\{3\}Z'
untimed() {
	sed "s/^$TIME //" "$1"
}

[ -x "$SCAFFOLD" ] || { echo "Bail out! no binary at $SCAFFOLD"; exit 1; }

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 if it
# never did.
wait_for() {
	_limit=$(($1 * 10))
	shift
	_i=0
	while [ $_i -lt $_limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# kill_ours [-SIG] PID...: signal each PID only while it is still a process
# this test started: a child of this shell, or one whose command line
# names $T.  A cleanup that kills a remembered pid after that process was
# reaped may hit whatever took the pid since (pid_max is 32768 here and
# the suite starts thousands of processes a minute): another test's
# daemon, which then stops in the middle of that test.
kill_ours() {
	_sig=-TERM
	case "${1:-}" in -*) _sig=$1; shift ;; esac
	for _p in "$@"; do
		[ -r "/proc/$_p/stat" ] || continue
		if [ "$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "/proc/$_p/stat" 2>/dev/null)" = "$$" ] ||
			tr '\0' ' ' <"/proc/$_p/cmdline" 2>/dev/null | grep -qF "$T"; then
			kill "$_sig" "$_p" 2>/dev/null
		fi
	done
	return 0
}

# page_shot URL NAME [WxH] [CURL ARGS...]: a screenshot of a status page,
# kept as an artifact in tests/artifacts/TEST/NAME.png (or under
# $SCAFFOLD_ARTIFACTS): the page is fetched with curl (so a token can
# come along; the pages carry their CSS inline) and rendered by headless
# Chromium.  1 when chromium is missing or nothing was drawn.
page_shot() {
	_url=$1 _name=$2 _size=${3:-1280,1400}
	shift 2
	[ $# -gt 0 ] && shift
	command -v chromium >/dev/null || return 1
	_art=${SCAFFOLD_ARTIFACTS:-$SRC/tests/artifacts}/$(basename "$0" .sh)
	mkdir -p "$_art" || return 1
	curl -s "$@" -o "$_art/$_name.html" "$_url" || return 1
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
		--hide-scrollbars --user-data-dir="$T/chrome-shot" \
		--window-size="$_size" --screenshot="$_art/$_name.png" \
		"file://$_art/$_name.html" >/dev/null 2>>"$T/chrome-shot.log"
	[ "$(head -c 4 "$_art/$_name.png" 2>/dev/null | od -An -c | tr -d ' ')" = "211PNG" ]
}

# git with a fixed identity and no system or user config
tgit() {
	GIT_CONFIG_NOSYSTEM=1 HOME="$T" GIT_AUTHOR_NAME="Test Author" \
		GIT_AUTHOR_EMAIL=author@example.com \
		GIT_COMMITTER_NAME="Test Author" \
		GIT_COMMITTER_EMAIL=author@example.com git "$@"
}

# serve_port LOG [SECONDS]: wait (10 s) until the daemon writing LOG says
# its port; sets PORT.  Bails out with the log when it never does.
serve_port() {
	wait_for "${2:-10}" grep -q "port [0-9]" "$1" ||
		{ echo "Bail out! serve did not start: $(cat "$1")"; exit 1; }
	PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$1" | head -1)
}

# start_git_daemon DIR REPO: git daemon serving DIR on a free port of
# 127.0.0.1, once git://.../REPO answers; sets GPORT and GPID.  Bails out
# with its log after 10 tries.
start_git_daemon() {
	_try=0
	while :; do
		GPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		git daemon --reuseaddr --listen=127.0.0.1 --port=$GPORT \
			--base-path="$1" --export-all "$1" 2>"$T/gitd.log" &
		GPID=$!
		wait_for 5 git ls-remote "git://127.0.0.1:$GPORT/$2" && return 0
		kill $GPID 2>/dev/null
		_try=$((_try + 1))
		[ $_try -lt 10 ] ||
			{ echo "Bail out! git daemon: $(cat "$T/gitd.log")"; exit 1; }
	done
}
