#!/bin/sh
# Syncs coalesce (issue 15, item 5): while a repo's fetch hangs, ten
# distinct signed pushes (each a new `after`, so none is a duplicate) are
# accepted, and queue one sync between them, not ten: a repo already due
# to sync queues nothing more.  The remote is a listener that accepts and
# never answers, so every fetch lasts fetch_timeout and each one is
# counted where it lands: an accepted connection.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || skip_all "openssl is not installed (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || skip_all "curl is not installed (scripts/install-deps.sh installs it)"
command -v perl >/dev/null || skip_all "perl is not installed"

# a git:// remote that takes connections and says nothing
cat >"$T/hold.pl" <<'P'
use IO::Socket::INET;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1:0', Listen => 64, ReuseAddr => 1) or die $!;
open(my $pf, '>', $ARGV[0] . '.port') or die; print $pf $l->sockport, "\n"; close $pf;
my @held;
$| = 1;
while (my $c = $l->accept) {
	push @held, $c;
	open(my $f, '>>', $ARGV[0]) or die; print $f "accept\n"; close $f;
}
P
perl "$T/hold.pl" "$T/accepts" &
HPID=$!
trap 'kill_ours $HPID $SPID 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
wait_for 10 test -s "$T/accepts.port" || { echo "Bail out! the listener did not start"; exit 1; }
URL="git://127.0.0.1:$(cat "$T/accepts.port")/acme/infra.git"
accepts() { if [ -f "$T/accepts" ]; then wc -l <"$T/accepts" | tr -d ' '; else echo 0; fi; }

SECRET='coalesce s3cret'
printf '%s\n' "$SECRET" >"$T/secret"
cat >"$T/scaffold.yaml" <<Y
listen: 127.0.0.1:0
data_dir: data
poll_interval: 1h
fetch_timeout: 5s
repos:
  - name: infra
    url: $URL
    webhook_secret_file: secret
Y
"$SCAFFOLD" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
SPID=$!
serve_port "$T/serve.log"
H="http://127.0.0.1:$PORT"
ok wait_for 5 sh -c "[ \"\$(wc -l <'$T/accepts' 2>/dev/null)\" -ge 1 ]" "the first sync's fetch reaches the remote, and hangs there"

i=0
: >"$T/codes"
while [ $i -lt 10 ]; do
	AFTER=$(printf '%040d' $((i + 1)))
	sed -e "s|@REF@|refs/heads/main|g" -e "s|@BEFORE@|$(printf '%040d' 0)|g" -e "s|@AFTER@|$AFTER|g" \
		-e "s|@CLONE_URL@|$URL|g" -e "s|@PROJECT@|acme/infra|g" \
		"$SRC/tests/cases/webhooks/github-push.json" >"$T/push.json"
	curl -s -o "$T/.resp" -w '%{http_code}\n' -X POST --data-binary "@$T/push.json" \
		-H 'Content-Type: application/json' -H 'X-GitHub-Event: push' \
		-H "X-GitHub-Delivery: push-$i" \
		-H "X-Hub-Signature-256: sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$T/push.json" | cut -d' ' -f1)" \
		"$H/hooks/github" >>"$T/codes"
	i=$((i + 1))
done
is "$(sort "$T/codes" | uniq -c | tr -s ' ')" " 10 202" "ten distinct pushes during the hanging fetch: all accepted"
is "$(accepts)" 1 "none of them starts a fetch while one runs"
ok wait_for 15 sh -c "[ \"\$(wc -l <'$T/accepts')\" -ge 2 ]" "when the fetch times out, the one sync they queued starts"
failures() { "$SCAFFOLD" repos -d "$T/data" -o json 2>/dev/null | grep -q '"failures": 2'; }
ok wait_for 15 failures "and times out in its turn: the repo counts two failed fetches"
sleep 1 # a third fetch, were one queued, would start at once: give it the time to
is "$(accepts)" 2 "two fetches in all: the one running and the one the ten pushes queued"
ok kill -0 $SPID "the daemon is still up"
kill -TERM $SPID
wait $SPID
is "$?" 0 "and stops cleanly"
done_testing
