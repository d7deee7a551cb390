#!/bin/sh
# ssh.sh - the ssh runner beside OpenSSH (issue 6, item 7).  Run by run.sh
# (make bench) as step 8, or alone: sh bench/ssh.sh.  See bench/README.md.
#
# Throwaway sshd instances on 127.0.0.1 (as tests/e2e/sshd.sh starts them:
# fresh host keys, one fresh ed25519 user key, the test user scaffoldtest
# whose login shell is /bin/sh), then, in rounds, so that every
# measurement of a round sees the same machine:
#
# one host (h1), N trivial tasks (`run: "true"`, N = 200):
#   chain      scaffold apply -c CONF -d FRESH chain.yaml  (each task after
#              the previous one: serial, like the loops)
#   wide -jJ   scaffold apply ... -j J wide.yaml  (N independent tasks)
#   one        scaffold apply ... one.yaml  (a single task: scaffold's fixed
#              cost, connection included)
#   local      the same chain with runner local (the engine alone)
#   master     OpenSSH: ssh -fN with ControlMaster=auto, ControlPath,
#              ControlPersist: the master connection coming up
#   (a) mux    the N commands `ssh ... h1 true` one after the other over
#              that master (the master's setup is not in this time)
#   (a) -PJ    the same N commands J at once (xargs -P J) over the master
#   (b) new    the N commands, a new connection each (ControlPath=none)
# fan-out, H hosts (h1..h10):
#   fan 1      scaffold: one task with hosts: [h1..hH]
#   fan chain  scaffold: F tasks (F = 20) in a chain, each on the H hosts
#   masters    OpenSSH: H masters brought up at once
#   (a) fan 1 / (a) fan chain   H background ssh (one per host, over the
#              masters) and wait, once / F times in a row
#   (b) fan 1 / (b) fan chain   the same with a new connection each
#
# OpenSSH runs with -F /dev/null (no system or user config: Debian's turns
# on GSSAPIAuthentication, which scaffold does not do), the
# generated user key only, BatchMode, and the known_hosts file scaffold is
# given (StrictHostKeyChecking=yes), so that both check the host key.
#
# Figures: best and median wall time of the rounds; per task (or step) the
# median wall time, the client CPU (the command and its children, plus the
# ssh masters' own CPU meanwhile) and the server CPU (every sshd listener
# and all its descendants, their reaped children included, summed over
# the process tree from /proc before and after); the ratios of wall times
# per round, and their median.
#
# Checks: every scaffold apply exits 0 with all its tasks success after
# one run per host; the loops exit 0 (every ssh returned 0).  The ratio
# targets (scaffold chain <= 1.2x (a), well ahead of (b)) are reported, not
# enforced: they move with the load.  Exit 1 only when a step or a check
# fails; exit 0 with "skipped" without sshd, ssh or root (for the user).
#
# Settings (environment): SCAFFOLD (binary, default ./scaffold),
# BENCH_SSH_TASKS (N, 200), BENCH_SSH_RUNS (rounds, 3), BENCH_SSH_J (J, 8,
# the ssh runner's default max_sessions), BENCH_SSH_HOSTS (H, 10),
# BENCH_SSH_FAN_TASKS (F, 20), BENCH_SSH_FAN=0 (skip the fan-out),
# BENCH_SSH_KEEP=1 (leave the sshd instances running and print how to
# reach them, for profiling; their pids in bench/out/ssh/sshd.pids).
set -eu

case ${SCAFFOLD:-} in
"" | /*) ;;
*) SCAFFOLD=$PWD/$SCAFFOLD ;;
esac
cd "$(dirname "$0")/.."

SCAFFOLD=${SCAFFOLD:-$PWD/scaffold}
N=${BENCH_SSH_TASKS:-200}
RUNS=${BENCH_SSH_RUNS:-3}
J=${BENCH_SSH_J:-8}
H=${BENCH_SSH_HOSTS:-10}
F=${BENCH_SSH_FAN_TASKS:-20}
FAN=${BENCH_SSH_FAN:-1}
KEEP=${BENCH_SSH_KEEP:-0}
TUSER=scaffoldtest
W=$PWD/bench/out/ssh

die() {
	echo "bench: ssh: $*" >&2
	exit 1
}
skip() {
	echo "bench: ssh: skipped: $*"
	exit 0
}

[ -x "$SCAFFOLD" ] || die "no $SCAFFOLD; build it first (make)"
command -v perl >/dev/null 2>&1 || die "perl is required"
for v in "$N" "$RUNS" "$J" "$H" "$F"; do
	case $v in
	'' | *[!0-9]* | 0*) die "BENCH_SSH_* must be positive numbers" ;;
	esac
done
[ "$N" -ge 2 ] || die "BENCH_SSH_TASKS must be 2 or more"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] ||
	skip "sshd is not installed (scripts/install-deps.sh installs openssh-server)"
command -v ssh >/dev/null 2>&1 || skip "the OpenSSH client is not installed"
command -v ssh-keygen >/dev/null 2>&1 || skip "ssh-keygen is not installed"
command -v ssh-keyscan >/dev/null 2>&1 || skip "ssh-keyscan is not installed"
[ "$(id -u)" = 0 ] || skip "needs root (sshd logging in as $TUSER)"
build_note=""
if grep -q __asan_init "$SCAFFOLD" 2>/dev/null ||
	grep -q __ubsan_handle "$SCAFFOLD" 2>/dev/null; then
	build_note=" (SANITIZER BUILD: figures not representative)"
fi

# the data dirs of an earlier invocation go when this one is timed
if [ -e "$W" ]; then
	mv "$W" "$W.old-$$" || die "cannot move $W aside"
fi
mkdir -p "$W"
# a copy of the binary: a rebuild during the run must not mix two builds
cp "$SCAFFOLD" "$W/scaffold"
S=$W/scaffold

# 1. the user and the servers
id "$TUSER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$TUSER" ||
	die "cannot create the user $TUSER"
usermod -p '*' "$TUSER" 2>/dev/null || : # unlocked, no password
mkdir -p /run/sshd 2>/dev/null || :

T=$(mktemp -d /tmp/scaffold-bench-ssh.XXXXXX)
chmod 755 "$T"
PIDS=""
cleanup() {
	if [ "$KEEP" != 1 ]; then
		for p in $PIDS; do
			kill "$p" 2>/dev/null || :
		done
		rm -rf "$T"
	fi
	# the masters left by an interrupted round
	for s in "$W"/ctl-*; do
		[ -S "$s" ] || continue
		ssh -F /dev/null -o ControlPath="$s" -O exit x >/dev/null 2>&1 ||
			:
	done
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

KEY=$T/user_ed25519
ssh-keygen -q -t ed25519 -N '' -f "$KEY" </dev/null
KNOWN=$T/known_hosts
: >"$KNOWN"
chmod 644 "$KEY.pub" "$KNOWN"

# start_sshd NAME: sets PORT
start_sshd() {
	_d=$T/sshd-$1
	mkdir -p "$_d"
	chmod 755 "$_d"
	ssh-keygen -q -t ed25519 -N '' -f "$_d/host_ed25519" </dev/null
	cp "$KEY.pub" "$_d/authorized_keys"
	chmod 644 "$_d/authorized_keys"
	_try=0
	while [ "$_try" -lt 20 ]; do
		PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		cat >"$_d/sshd_config" <<C
Port $PORT
ListenAddress 127.0.0.1
HostKey $_d/host_ed25519
AuthorizedKeysFile $_d/authorized_keys
AllowUsers $TUSER
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $_d/sshd.pid
Subsystem sftp internal-sftp
LogLevel ERROR
C
		"$SSHD" -D -e -f "$_d/sshd_config" 2>>"$_d/log" &
		_pid=$!
		_i=0
		while [ "$_i" -lt 50 ]; do
			if ssh-keyscan -p "$PORT" -T 1 127.0.0.1 \
				>/dev/null 2>&1; then
				PIDS="$PIDS $_pid"
				echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 \
					"$_d/host_ed25519.pub")" >>"$KNOWN"
				return 0
			fi
			kill -0 "$_pid" 2>/dev/null || break
			sleep 0.1
			_i=$((_i + 1))
		done
		kill "$_pid" 2>/dev/null || :
		wait "$_pid" 2>/dev/null || :
		_try=$((_try + 1))
	done
	die "cannot start sshd: $(tail -n 5 "$_d/log")"
}

nhosts=1
[ "$FAN" = 0 ] || nhosts=$H
[ "$nhosts" -le 99 ] || die "BENCH_SSH_HOSTS must be 99 or fewer"
{
	echo "# Generated by bench/ssh.sh; do not edit."
	echo "hosts:"
	i=1
	while [ "$i" -le "$nhosts" ]; do
		start_sshd "h$i"
		eval "PORT_h$i=$PORT"
		cat <<Y
  h$i:
    address: 127.0.0.1
    port: $PORT
    user: $TUSER
    key_file: $KEY
    known_hosts_file: $KNOWN
Y
		i=$((i + 1))
	done
} >"$W/config.yaml"
echo "$PIDS" >"$W/sshd.pids"

# OpenSSH's options for host NAME (its port), as one word list
ssh_opts() { # NAME
	eval "p=\$PORT_$1"
	echo "-F /dev/null -n -p $p -l $TUSER -i $KEY -o IdentitiesOnly=yes" \
		"-o BatchMode=yes -o StrictHostKeyChecking=yes" \
		"-o UserKnownHostsFile=$KNOWN -o LogLevel=ERROR"
}
mux_opts() { # NAME
	echo "-o ControlMaster=auto -o ControlPath=$W/ctl-$1" \
		"-o ControlPersist=600"
}
new_opts="-o ControlMaster=no -o ControlPath=none"

# every host answers as scaffold will see it (and its key is the known one)
i=1
while [ "$i" -le "$nhosts" ]; do
	# shellcheck disable=SC2046,SC2086
	ssh $(ssh_opts "h$i") $new_opts 127.0.0.1 true ||
		die "cannot log in to h$i as $TUSER"
	i=$((i + 1))
done

# 2. the cascades
cascade() { # NAME COUNT chain|wide RUNNER HOSTS
	echo "# Generated by bench/ssh.sh; do not edit."
	echo "version: v1"
	echo "name: $1"
	echo "description: $2 no-op tasks ($3)"
	echo "runner: $4"
	[ -z "$5" ] || echo "hosts: [$5]"
	echo "tasks:"
	k=0
	while [ "$k" -lt "$2" ]; do
		printf '  - name: t%05d\n' "$k"
		printf '    run: "true"\n'
		[ "$3" = wide ] || [ "$k" = 0 ] ||
			printf '    depends_on: [t%05d]\n' $((k - 1))
		k=$((k + 1))
	done
}
all_hosts=h1
i=2
while [ "$i" -le "$H" ]; do
	all_hosts="$all_hosts, h$i"
	i=$((i + 1))
done
cascade chain "$N" chain ssh h1 >"$W/chain.yaml"
cascade wide "$N" wide ssh h1 >"$W/wide.yaml"
cascade one 1 chain ssh h1 >"$W/one.yaml"
cascade local "$N" chain local "" >"$W/local.yaml"
cascades="chain wide one local"
if [ "$FAN" != 0 ]; then
	cascade fan1 1 chain ssh "$all_hosts" >"$W/fan1.yaml"
	cascade fanchain "$F" chain ssh "$all_hosts" >"$W/fanchain.yaml"
	cascades="$cascades fan1 fanchain"
fi
for f in $cascades; do
	"$S" validate -q "$W/$f.yaml" 2>"$W/validate.err" ||
		die "$f.yaml is not valid: $(head -n 5 "$W/validate.err")"
	[ ! -s "$W/validate.err" ] ||
		die "$f.yaml: validate warned: $(head -n 5 "$W/validate.err")"
done

# 3. the OpenSSH loops, as scripts
h1o=$(ssh_opts h1)
{
	echo "set -e"
	echo "for i in \$(seq $N); do ssh $h1o $(mux_opts h1) 127.0.0.1 true; done"
} >"$W/loop-mux.sh"
{
	echo "set -e"
	echo "for i in \$(seq $N); do ssh $h1o $new_opts 127.0.0.1 true; done"
} >"$W/loop-new.sh"
echo "seq $N | xargs -P $J -I{} ssh $h1o $(mux_opts h1) 127.0.0.1 true" \
	>"$W/loop-muxP.sh"
# H at once, one per host; STEPS times in a row; every status checked
fan_script() { # mux|new STEPS
	echo "set -e"
	echo "step() {"
	echo "	pids="
	_i=1
	while [ "$_i" -le "$H" ]; do
		if [ "$1" = mux ]; then
			_o=$(mux_opts "h$_i")
		else
			_o=$new_opts
		fi
		echo "	ssh $(ssh_opts "h$_i") $_o 127.0.0.1 true &"
		echo "	pids=\"\$pids \$!\""
		_i=$((_i + 1))
	done
	echo "	for p in \$pids; do wait \$p; done"
	echo "}"
	echo "for i in \$(seq $2); do step; done"
}
if [ "$FAN" != 0 ]; then
	fan_script mux 1 >"$W/fan1-mux.sh"
	fan_script mux "$F" >"$W/fanchain-mux.sh"
	fan_script new 1 >"$W/fan1-new.sh"
	fan_script new "$F" >"$W/fanchain-new.sh"
	{
		i=1
		while [ "$i" -le "$H" ]; do
			echo "ssh $(ssh_opts "h$i") $(mux_opts "h$i") -f -N" \
				"127.0.0.1 &"
			i=$((i + 1))
		done
		echo "wait"
	} >"$W/masters.sh"
fi
echo "ssh $h1o $(mux_opts h1) -f -N 127.0.0.1" >"$W/master.sh"
masters_down() {
	for s in "$W"/ctl-*; do
		[ -S "$s" ] || continue
		ssh -F /dev/null -o ControlPath="$s" -O exit x >/dev/null 2>&1 ||
			:
	done
}
masters_check() { # NAME...
	for h in "$@"; do
		ssh -F /dev/null -o ControlPath="$W/ctl-$h" -O check x \
			>/dev/null 2>&1 || die "the master of $h is not up"
	done
}

# 4. the measurements
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# CPU (ms) the servers have used so far: every sshd listener and all its
# live descendants (connections, their sessions' shells and commands),
# each with the CPU of its reaped children
srv_cpu() {
	# shellcheck disable=SC2086
	perl -e '
		my (%kids, %cpu);
		opendir my $d, "/proc" or die "/proc: $!\n";
		for my $p (grep { /^\d+$/ } readdir $d) {
			open my $f, "<", "/proc/$p/stat" or next;
			my $l = <$f>;
			close $f;
			defined $l or next;
			my @f = split " ", substr($l, rindex($l, ")") + 2);
			push @{ $kids{$f[1]} }, $p;
			$cpu{$p} = $f[11] + $f[12] + $f[13] + $f[14];
		}
		my ($hz, @todo) = @ARGV;
		my $t = 0;
		while (defined(my $p = shift @todo)) {
			$t += $cpu{$p} // 0;
			push @todo, @{ $kids{$p} // [] };
		}
		print $t * 1000 / $hz, "\n";' "$TICK" $PIDS
}
# CPU (ms) of live processes (the ssh masters)
masters_cpu() { # PIDS...
	for p in "$@"; do
		cut -d')' -f2- "/proc/$p/stat" 2>/dev/null
	done | awk -v hz="$TICK" '{ t += $12 + $13 } END { print t * 1000 / hz }'
}
# wait until the listeners have no connection left (at most 5 s each)
settle() {
	for p in $PIDS; do
		f=/proc/$p/task/$p/children
		k=0
		while [ "$k" -lt 100 ] && [ -r "$f" ] && [ -n "$(cat "$f")" ]; do
			sleep 0.05
			k=$((k + 1))
		done
	done
}
# the pids of the masters up (ssh -O check says "Master running (pid=N)")
master_pids() {
	for s in "$W"/ctl-*; do
		[ -S "$s" ] || continue
		ssh -F /dev/null -o ControlPath="$s" -O check x 2>&1 |
			sed -n 's/.*pid=\([0-9]*\).*/\1/p'
	done
}

# The last run's output: TASKS tasks success, each with RUNS_EACH runs.
check_status() { # NAME STDOUT_FILE TASKS RUNS_EACH
	ok=$(awk -v n="$3" -v r="$4" '
		$1 ~ /^t[0-9]+$/ { tasks++; if ($2 == "success" && $3 == r) ok++ }
		END { print (tasks == n && ok == n) ? "yes" : "no" }' "$2")
	[ "$ok" = yes ] ||
		die "$1: not all $3 tasks ended success after $4 run(s) (see $2)"
}
# One timed run, appended to $W/NAME.times: "WALL_S RSS_KB CPU_S METHOD
# SERVER_MS" (timeit.pl's figures, CPU_S plus the masters' CPU (pids in
# MPIDS) meanwhile; then the servers' CPU meanwhile).  Unless NOSETTLE=1,
# first and last the servers' connections are left to end.
MPIDS=""
NOSETTLE=0
measure() { # NAME FRESH_DIR|- CMD...
	name=$1 fresh=$2
	shift 2
	[ "$NOSETTLE" = 1 ] || settle
	# shellcheck disable=SC2086
	x0=$(masters_cpu $MPIDS)
	c0=$(srv_cpu)
	if [ "$fresh" = - ]; then
		r=$(perl bench/timeit.pl 1 "$W/$name.out" "$W/$name.err" \
			"$@") || die "$name failed (see $W/$name.err)"
	else
		r=$(perl bench/timeit.pl --fresh "$fresh" 1 "$W/$name.out" \
			"$W/$name.err" "$@") ||
			die "$name failed (see $W/$name.err)"
	fi
	# ssh -f: the masters have just come up
	if [ -z "$MPIDS" ] && { [ "$name" = master ] ||
		[ "$name" = masters ]; }; then
		MPIDS=$(master_pids)
	fi
	[ "$NOSETTLE" = 1 ] || settle
	c1=$(srv_cpu)
	# shellcheck disable=SC2086
	x1=$(masters_cpu $MPIDS)
	echo "$r" | awk -v c0="$c0" -v c1="$c1" -v x0="$x0" -v x1="$x1" \
		'{ print $1, $3, $4 + (x1 - x0) / 1000, $5, c1 - c0 }' \
		>>"$W/$name.times"
}
apply() { # NAME CASCADE TASKS RUNS_EACH [APPLY OPTIONS]
	name=$1 cf=$2 nt=$3 re=$4
	shift 4
	measure "$name" "$W/$name.d" "$S" apply -q -c "$W/config.yaml" \
		-d "$W/$name.d" "$@" "$W/$cf.yaml"
	check_status "$name" "$W/$name.out" "$nt" "$re"
}
# The masters coming up (MASTERS_SCRIPT), timed; the loops over them
# (LOOP...), each timed, the masters' CPU meanwhile added to the loop's
# (their connections stay up: no settling); then the masters go.
measure_masters() { # NAME MASTERS_SCRIPT [LOOP_NAME LOOP_SCRIPT]...
	MPIDS=""
	NOSETTLE=1
	settle
	measure "$1" - sh "$2"
	shift 2
	[ -n "$MPIDS" ] || die "the masters did not come up"
	while [ $# -ge 2 ]; do
		measure "$1" - sh "$2"
		shift 2
	done
	NOSETTLE=0
	MPIDS=""
	masters_down
}

names="local one chain wide master mux muxP new"
[ "$FAN" = 0 ] || names="$names fan1 fanchain masters fan1mux fanchainmux
	fan1new fanchainnew"
for b in $names rounds; do
	: >"$W/$b.times"
done
: >"$W/rounds.txt"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
round=0
while [ "$round" -lt "$RUNS" ]; do
	round=$((round + 1))
	measure local "$W/local.d" "$S" apply -q -d "$W/local.d" \
		"$W/local.yaml"
	check_status local "$W/local.out" "$N" 1
	apply one one 1 1
	apply chain chain "$N" 1
	apply wide wide "$N" 1 -j "$J"
	measure_masters master "$W/master.sh" mux "$W/loop-mux.sh" \
		muxP "$W/loop-muxP.sh"
	measure new - sh "$W/loop-new.sh"
	if [ "$FAN" != 0 ]; then
		apply fan1 fan1 1 "$H" -j "$H"
		apply fanchain fanchain "$F" "$H" -j "$H"
		measure_masters masters "$W/masters.sh" fan1mux \
			"$W/fan1-mux.sh" fanchainmux "$W/fanchain-mux.sh"
		measure fan1new - sh "$W/fan1-new.sh"
		measure fanchainnew - sh "$W/fanchain-new.sh"
	fi
	last() { tail -n 1 "$W/$1.times" | cut -d' ' -f1; }
	awk -v r="$round" -v n="$RUNS" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
		-v c="$(last chain)" -v a="$(last mux)" -v b="$(last new)" \
		-v w="$(last wide)" -v p="$(last muxP)" -v j="$J" 'BEGIN {
		printf "round %d of %d (load %s at its end): chain %.2f s, " \
			"(a) %.2f s, (b) %.2f s: %.2fx (a), %.2fx (b); wide " \
			"-j%d %.2f s, (a) -P%d %.2f s: %.2fx\n", r, n, l, c, a, b,
			c / a, c / b, j, w, j, p, w / p
	}' | tee -a "$W/rounds.txt" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# the remote run dirs were removed (ours are named after our data dirs'
# instance ids; other scaffolds may share the user)
left=$(find ~"$TUSER"/.scaffold/runs -mindepth 1 -maxdepth 1 2>/dev/null |
	wc -l)

# 5. the report
# the timing is over: now the old data dirs can go
rm -rf "$W".old-* "$W"/*.old-*

# BEST MEDIAN CPU_S SERVER_MS of a benchmark's rounds (the CPU figures:
# medians)
summary() { # NAME
	sort -n "$W/$1.times" | awk '
		{ w[NR] = $1; c[NR] = $3; s[NR] = $5 }
		function med(a, n,   i, j, t) {
			for (i = 1; i <= n; i++)
				for (j = i + 1; j <= n; j++)
					if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		END { m = med(w, NR); print w[1], m, med(c, NR), med(s, NR) }'
}
median() { # NAME
	summary "$1" | cut -d' ' -f2
}
# the median over the rounds of A's wall time / B's (the same round)
ratio() { # A B
	paste -d' ' "$W/$1.times" "$W/$2.times" | awk '
		{ r[NR] = $1 / $6 }
		END {
			for (i = 1; i <= NR; i++)
				for (j = i + 1; j <= NR; j++)
					if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			print NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
		}'
}
# LABEL NAME PER (tasks or steps) [BASE NAMES...]: a row; the ratios are
# the medians of the rounds' ratios
row() {
	label=$1 name=$2 per=$3
	shift 3
	# shellcheck disable=SC2046
	set -- $(summary "$name") "$per" "$@"
	best=$1 med=$2 cpu=$3 srv=$4 per=$5
	shift 5
	printf '%-13s %8.3f %9.3f %9.2f %8.2f %8.2f' "$label" "$best" "$med" \
		"$(awk -v m="$med" -v n="$per" 'BEGIN { print m / n * 1000 }')" \
		"$(awk -v c="$cpu" -v n="$per" 'BEGIN { print c / n * 1000 }')" \
		"$(awk -v c="$srv" -v n="$per" 'BEGIN { print c / n }')"
	for b in "$@"; do
		printf ' %7.2fx' "$(ratio "$name" "$b")"
	done
	echo
}

cores=$(nproc 2>/dev/null || echo '?')
echo "scaffold ssh benchmark, $(date -u +%Y-%m-%d), $cores cores," \
	"$(uname -m), load $load0 at the start, $load1 at the end$build_note"
echo "servers:  $nhosts throwaway sshd ($("$SSHD" -V 2>&1 | head -n 1 ||
	:)) on 127.0.0.1, user $TUSER (/bin/sh); client $(ssh -V 2>&1)"
echo "tasks:    run: \"true\"; $N on h1 (chain: each after the previous," \
	"wide: independent); fan-out: hosts h1..h$H"
echo "runs:     $RUNS rounds of all; BEST and MEDIAN wall time; per task" \
	"(or step): the median wall time, CLIENT CPU (user+sys of the command," \
	"its children and the ssh masters) and SERVER CPU (the sshd" \
	"connections, their shells and commands), medians, in ms; x: the" \
	"median of the rounds' ratios of wall times"
sed 's/^/          /' "$W/rounds.txt"
echo
printf '%-13s %8s %9s %9s %8s %8s %8s %8s %8s\n' 'ONE HOST' 'BEST s' \
	'MEDIAN s' 'ms/TASK' 'CLIENT' 'SERVER' 'x (a)' 'x (b)' 'x local'
row "chain" chain "$N" mux new local
row "wide -j$J" wide "$N" mux new local
row "(a) mux" mux "$N"
row "(a) -P$J" muxP "$N"
row "(b) new" new "$N"
row "local chain" local "$N"
row "one task" one 1
row "master up" master 1
echo
# CLIENT + SERVER CPU per task (ms), medians
cpu_per() { # NAME PER
	summary "$1" | awk -v n="$2" '{ printf "%.1f", ($3 * 1000 + $4) / n }'
}
echo "chain / ((a) + master up) = $(awk -v a="$(median chain)" \
	-v m="$(median mux)" -v s="$(median master)" \
	'BEGIN { printf "%.2fx", a / (m + s) }');" \
	"wide -j$J / (a) -P$J = $(ratio wide muxP | awk '{ printf "%.2fx", $1 }');" \
	"chain - one task = $(awk -v a="$(median chain)" -v o="$(median one)" \
		-v n="$N" 'BEGIN { printf "%.2f ms", (a - o) / (n - 1) * 1000 }')" \
	"per task after the first;" \
	"chain - local chain = $(awk -v a="$(median chain)" \
		-v l="$(median local)" -v n="$N" \
		'BEGIN { printf "%.2f ms", (a - l) / n * 1000 }') per task" \
	"(the ssh runner)"
echo "CPU per task, client + server: chain $(cpu_per chain "$N") ms," \
	"wide -j$J $(cpu_per wide "$N") ms, (a) $(cpu_per mux "$N") ms," \
	"(a) -P$J $(cpu_per muxP "$N") ms, (b) $(cpu_per new "$N") ms;" \
	"the master's setup $(cpu_per master 1) ms"
if [ "$FAN" != 0 ]; then
	echo
	printf '%-13s %8s %9s %9s %8s %8s %8s %8s\n' "FAN-OUT x$H" \
		'BEST s' 'MEDIAN s' 'ms/STEP' 'CLIENT' 'SERVER' 'x (a)' 'x (b)'
	row "fan 1" fan1 1 fan1mux fan1new
	row "fan chain $F" fanchain "$F" fanchainmux fanchainnew
	row "(a) fan 1" fan1mux 1
	row "(a) chain $F" fanchainmux "$F"
	row "(b) fan 1" fan1new 1
	row "(b) chain $F" fanchainnew "$F"
	row "masters up" masters 1
fi
echo
verdict=$(awk -v a="$(ratio chain mux)" -v b="$(ratio chain new)" 'BEGIN {
	printf "chain %.2fx (a): %s; %.2fx (b): %s", a,
		a <= 1.2 ? "met" : "MISSED", b,
		b < 0.5 ? "well ahead" : (b < 1 ? "ahead" : "NOT AHEAD")
}')
echo "target:   scaffold <= 1.2x (a), well ahead of (b): $verdict"
echo "chain     scaffold apply -q -c CONF -d FRESH $W/chain.yaml"
echo "(a) mux   ssh $(mux_opts h1) ... 127.0.0.1 true, $N times in a row," \
	"after: ssh ... -f -N (master up)"
echo "(b) new   ssh $new_opts ... 127.0.0.1 true, $N times in a row"
echo "ssh ...   $h1o"
[ "$left" -eq 0 ] ||
	echo "note:     $left run dirs in ~$TUSER/.scaffold/runs (other" \
		"scaffolds may share the user)"
if [ "$KEEP" = 1 ]; then
	echo "kept:     sshd pids$PIDS ($W/sshd.pids), config $W/config.yaml," \
		"files in $T"
fi
