#!/bin/sh
# Faults of git remotes under scaffold serve: a git:// port where nothing
# listens, an ssh:// port where nothing listens, and a listener that
# accepts and never answers (git:// and ssh://).  Each is a clear error on
# its repository only (the API, `scaffold repos`, the status page, the
# daemon log), a hanging fetch is killed after fetch_timeout, another
# repository keeps syncing and running meanwhile, and when the remotes
# come back the repositories recover by themselves.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/faults.sh"
command -v perl >/dev/null || skip_all "perl is not installed"
GITD=$(git --exec-path)/git-daemon
[ -x "$GITD" ] || skip_all "git daemon is not installed (it comes with git)"

hpid= g1pid= g2pid=
trap 'for p in $SPID $hpid $g1pid $g2pid; do kill_ours $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

free_port() {
	perl -MIO::Socket::INET -e '$s = IO::Socket::INET->new(LocalAddr =>
		"127.0.0.1", LocalPort => 0, Listen => 1) or die "$!\n";
		print $s->sockport, "\n"'
}
# a TCP listener that accepts every connection and never says a word; it
# reports each connection closed by the other side in $T/hang.closed
perl -MIO::Socket::INET -MIO::Select -e '$| = 1;
	$s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		Listen => 16, ReuseAddr => 1) or die "$!\n";
	print $s->sockport, "\n";
	$sel = IO::Select->new($s);
	open my $log, ">>", $ARGV[0] or die; $log->autoflush(1);
	for (;;) { for my $h ($sel->can_read) {
		if ($h == $s) { $sel->add($s->accept) }
		elsif (!sysread($h, my $b, 4096)) { $sel->remove($h); close $h; print $log "closed\n" }
	} }' "$T/hang.closed" >"$T/hang.port" &
hpid=$!
wait_for 10 test -s "$T/hang.port" || { echo "Bail out! the listener did not start"; exit 1; }
HANG=$(cat "$T/hang.port")
DOWN=$(free_port)
SSHDOWN=$(free_port)
: >"$T/known_hosts"

cascade() { # NAME WORD
	printf 'version: v1\nname: %s\nrunner: local\ntasks:\n  - name: say\n    run: echo %s\n' "$1" "$2"
}
for r in other refused hang; do
	new_repo "$r"
	put "$r" "$r.yaml" "$(cascade "$r" one)"
	push "$r" first
done
cat >"$T/scaffold.yaml" <<Y
data_dir: data
listen: 127.0.0.1:0
poll_interval: 250ms
fetch_timeout: 2s
local: {user: nobody}
repos:
  - name: other
    url: $T/other.git
    runners: [local]
  - name: refused
    url: git://127.0.0.1:$DOWN/refused.git
    runners: [local]
  - name: sshdown
    url: ssh://git@127.0.0.1:$SSHDOWN/x.git
    credentials: {known_hosts_file: $T/known_hosts}
  - name: hang
    url: git://127.0.0.1:$HANG/hang.git
    runners: [local]
  - name: sshhang
    url: ssh://git@127.0.0.1:$HANG/x.git
    credentials: {known_hosts_file: $T/known_hosts}
Y
gitd() { # PORT: a git daemon serving the bare repositories in $T
	"$GITD" --reuseaddr --listen=127.0.0.1 --port="$1" --base-path="$T" \
		--export-all "$T" 2>>"$T/gitd.log" &
}
has_error() { [ -n "$(repo_field "$1" last_error)" ]; }
start=$(date +%s)
serve_start serve.log
ok wait_for 30 state_is other say success:1 "the healthy repository is reconciled"

# 1. nothing listens: refused at once.  A failing repository is fetched
# again with a backoff that doubles from the poll interval, so the remote
# comes back soon after, for the recovery to be seen within seconds.
ok wait_for 30 has_error refused "refused: the fetch fails"
ok wait_for 30 has_error sshdown "sshdown: the fetch fails"
is "$(repo_field refused last_error)" "repo 'refused': cannot fetch 'git://127.0.0.1:$DOWN/refused.git': failed to connect to 127.0.0.1: Connection refused" \
	"nothing listening on a git:// port: the repo, the URL and the cause"
is "$(repo_field sshdown last_error)" "repo 'sshdown': cannot fetch 'ssh://git@127.0.0.1:$SSHDOWN/x.git': failed to connect to 127.0.0.1: Connection refused" \
	"nothing listening on an ssh:// port: the same"
api /
ok sh -c "printf '%s\n' \"\$0\" | grep -q \"failed fetch.*: repo 'refused': cannot fetch 'git://127.0.0.1:$DOWN/refused.git': failed to connect\"" "$RES" \
	"the status page shows it"
gitd "$DOWN"
g1pid=$!
ok wait_for 30 state_is refused say success:1 "when the remote is back, the repository recovers by itself and runs"
is "$(repo_field refused last_error)" "" "its error is cleared"

# 2. a remote that accepts and never answers: killed after fetch_timeout
ok wait_for 30 has_error hang "hang: the fetch fails"
ok wait_for 30 has_error sshhang "sshhang: the fetch fails"
ok test $(($(date +%s) - start)) -lt 60 "within a bounded time"
is "$(repo_field hang last_error)" "repo 'hang': fetch timed out after 2s" "a git:// remote that never answers: timed out"
is "$(repo_field sshhang last_error)" "repo 'sshhang': fetch timed out after 2s" "an ssh:// remote that never answers: timed out"
ok wait_for 10 sh -c "[ \$(grep -c closed '$T/hang.closed') -ge 2 ]" "the hung fetches were killed (their connections closed)"
for r in refused sshdown hang sshhang; do
	ok grep -q "warn: gitsync: repo '$r': .* (the last good revision stays active; retrying with backoff)" "$T/serve.log" \
		"$r: the daemon log names the repo and the cause"
done
run "$SCAFFOLD" repos -d "$D"
ok sh -c "printf '%s\n' \"\$0\" | grep -q \"repo 'hang': fetch timed out after 2s\"" "$OUT" "scaffold repos shows the error"
serving "the daemon serves during the faults"

# the healthy repository keeps syncing and running meanwhile
put other other.yaml "$(cascade other two)"
push other second
ok wait_for 30 state_is other say success:2 "another repository is reconciled and runs during the faults"
is "$(log_of other say | head -1)" "two" "with the new definition"

# the listener goes, a git daemon comes on its port
kill $hpid
wait $hpid 2>/dev/null
hpid=
gitd "$HANG"
g2pid=$!
ok wait_for 30 state_is hang say success:1 "the hanging repository recovers by itself and runs"
is "$(repo_field hang last_error)" "" "its error is cleared"
ok grep -q "gitsync: repo 'hang': fetching works again" "$T/serve.log" "the log says it works again"
is "$(state_of other say):$(state_of refused say)" "success:2:success:1" "what was recorded before is kept"
serving "the daemon serves after the faults"
serve_stop
is "$?" 0 "the daemon stops cleanly"
done_testing
