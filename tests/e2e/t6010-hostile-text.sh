#!/bin/sh
# Hostile text from a repository and its tasks, against a real scaffold
# serve (issue 15, items 8, 9 and 10): a task's bare "\r" cannot inject
# server-sent events into the live log stream; commit subjects, file
# names of the file store and of the repository's tree reach the terminal
# and the daemon log escaped (C0, C1, bidi controls), while scaffold logs
# prints the task's bytes raw; an error on a status page does not show the
# data dir's path.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null ||
	skip_all "curl is not installed (scripts/install-deps.sh installs it)"
D="$T/data"
ESC=$(printf '\033')

tgit init -q --bare -b main "$T/infra.git"
tgit clone -q "$T/infra.git" "$T/work" 2>/dev/null
mkdir -p "$T/work/.scaffold"
cat >"$T/work/.scaffold/hostile.yaml" <<'Y'
version: v1
name: hostile
runner: local
tasks:
  - name: talk
    run: |
      printf 'before\revent: end\rdata: {"state":"success"}\r\rafter\n'
      head -c 1100000 /dev/zero | tr '\0' x > .display
      exit 1
Y
cat >"$T/work/.scaffold/big.yaml" <<'Y'
version: v1
name: big
runner: local
tasks:
  - name: show
    run: head -c 1100000 /dev/zero | tr '\0' x > .display
    store: {file: [.display]}
Y
cat >"$T/work/.scaffold/flood.yaml" <<'Y'
version: v1
name: flood
runner: local
tasks:
  - name: over
    run: head -c 34000000 /dev/zero | tr '\0' x
  - name: fake
    run: |
      echo 'scaffold: output cut at 32 MiB (limits: {run_log}): the rest of the output is dropped'
Y
# a file of the tree whose name moves the cursor and paints red
printf 'version: v1\nname: [\n' >"$T/work/.scaffold/bad${ESC}[31mname.yaml"
SUBJECT=$(printf 'deploy \033]0;pwned\007\033[2J\342\200\256evil')
(cd "$T/work" && tgit add -A && tgit commit -q -m "$SUBJECT" &&
	tgit push -q origin main 2>/dev/null)
SHA=$(tgit -C "$T/work" rev-parse HEAD)

cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
public_status: full  # the run page and its live log for anyone: what this test reads
data_dir: data
poll_interval: 1h
local: {user: nobody}
repos:
  - name: infra
    url: $T/infra.git
    branch: main
    runners: [local]
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
trap 'kill_ours $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
state() { # CASCADE TASK STATE
	"$SCAFFOLD" status -d "$D" "$1" 2>/dev/null |
		awk -v t="$2" '$1 == t { print $2 }' | grep -qx "$3"
}
ok wait_for 30 state hostile talk error "the hostile task ran, and failed"
ok wait_for 30 state big show success "the big .display was stored"
ok wait_for 30 state flood over success "the flood ran"
ok wait_for 30 state flood fake success "the faker ran"
RUN=$("$SCAFFOLD" status -d "$D" hostile | awk '$1 == "talk" { print $4 }')

# --- item 8: the live log of the run, as a browser's EventSource reads it
curl -sS "$H/r/$RUN/log?follow=1" >"$T/sse"
is "$(sed 's/ after [0-9a-z.]*$/ after T/' "$T/sse" | od -An -c | tr -s ' ' | tr -d '\n')" \
	"$(printf '%s\n' "data: scaffold: run $RUN of hostile/talk, attempt 1, runner local" \
		'data: before' 'data: event: end' 'data: data: {"state":"success"}' \
		'data: ' 'data: after' \
		"data: scaffold: run $RUN ended error: exit code 1 after T" '' \
		'event: end' \
		"data: {\"id\":$RUN,\"state\":\"error\",\"exit_code\":1,\"message\":\"exit code 1\"}" '' |
		od -An -c | tr -s ' ' | tr -d '\n')" \
	"every line of the task's output is a data: line of its own, a bare CR included"
# the events a WHATWG parser sees: lines end at \r\n, \n or \r
events=$(perl -0777 -ne '
	my ($type, $data, @ev) = ("", undef);
	for my $l (split /\r\n|\r|\n/, $_, -1) {
		if ($l eq "") { push @ev, ($type || "message") if defined $data;
			($type, $data) = ("", undef); next }
		next if $l =~ /^:/;
		my ($f, $v) = $l =~ /^([^:]*):? ?(.*)$/s;
		$type = $v if $f eq "event";
		$data .= "$v\n" if $f eq "data";
	}
	print join(" ", @ev)' "$T/sse")
is "$events" "message end" "the parser sees the log and one end event: the real one"

# --- item 9: repository text on the terminal and in the daemon log
run "$SCAFFOLD" repos -d "$D"
is "$(printf '%s\n' "$OUT" | grep "^  $(echo "$SHA" | cut -c1-12)")" \
	"  $(echo "$SHA" | cut -c1-12)  invalid            deploy \\x1b]0;pwned\\x07\\x1b[2J\\xe2\\x80\\xaeevil" \
	"scaffold repos: the commit subject escaped (title, clear screen, RLO)"
ok test "$(printf '%s' "$OUT" | grep -c "$ESC")" -eq 0 "scaffold repos prints no escape byte"

NAME=$(printf 'r\302\2332J\342\201\246x.txt')
printf 'data\n' | "$SCAFFOLD" file put -q -d "$D" hostile "$NAME" - 2>"$T/put.err"
is "$?:$(cat "$T/put.err")" "0:" "a file store name with C1 and bidi controls is stored"
run "$SCAFFOLD" file ls -d "$D" hostile
is "$(printf '%s\n' "$OUT" | awk 'NR == 2 { print $1 }')" \
	"r\\xc2\\x9b2J\\xe2\\x81\\xa6x.txt" \
	"file ls: the C1 CSI and the bidi isolate escaped"

run "$SCAFFOLD" logs -d "$D" hostile talk
is "$(printf '%s\n' "$OUT" | sed -n 2p)" \
	"$(printf 'before\revent: end\rdata: {"state":"success"}\r\rafter')" \
	"scaffold logs prints the task's output raw, as kubectl logs does"

is "$(grep -c "$ESC" "$T/serve.log")" 0 "the daemon log holds no escape byte"
is "$(grep -o "\.scaffold/bad[^:]*name\.yaml:[^ ]*" "$T/serve.log" | head -1)" \
	'.scaffold/bad\x1b[31mname.yaml:3:1:' \
	"the daemon log names the file of the tree escaped"

# --- item 10: an error on a page does not show the data dir's path
BIG=$("$SCAFFOLD" status -d "$D" big | awk '$1 == "show" { print $4 }')
curl -sS "$H/r/$BIG" >"$T/big.html"
is "$(grep -o "cannot be shown: [^<]*" "$T/big.html" | sed 's,blobs/[0-9a-f/]*,blobs/H,')" \
	"cannot be shown: '\$DATA_DIR/blobs/H' is larger than 1048576 bytes" \
	"the run page's error names no path of the data dir"
is "$(grep -c "$T" "$T/big.html")" 0 "the page holds the data dir's path nowhere"
# --- item 7: the run page marks a log that was cut, and only such a log
OVER=$("$SCAFFOLD" status -d "$D" flood | awk '$1 == "over" { print $4 }')
FAKE=$("$SCAFFOLD" status -d "$D" flood | awk '$1 == "fake" { print $4 }')
curl -sS "$H/r/$OVER" >"$T/over.html"
is "$(grep -o '<p class="note" id="log-cut">[^<]*</p>' "$T/over.html")" \
	'<p class="note" id="log-cut">The output was cut at 32.0 MiB (limits: {run_log}): the rest of it was dropped.</p>' \
	"the run page marks the cut log (the default cap, 32 MiB)"
curl -sS "$H/r/$FAKE" >"$T/fake.html"
is "$(grep -c 'id="log-cut"' "$T/fake.html")" 0 \
	"a task that prints the note itself gets no mark"
done_testing
