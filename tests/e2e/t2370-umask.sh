#!/bin/sh
# The umask of a run (issue 17, item 8): files a task creates come out
# 0644 (directories 0755) on every runner, local, docker and ssh, whatever
# the umask scaffold itself runs with; a task's 'umask' changes that, and
# on ssh a host's 'umask' (the task's wins).  Exact modes, read where the
# files are; bad values are refused at their file:line:col.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd.sh"
HAVE_DOCKER=
if command -v dockerd >/dev/null && [ -x /bin/busybox ]; then
	. "$(dirname "$0")/docker.sh"
	HAVE_DOCKER=1
fi
trap 'kill_ours $_sshd_pids;
	[ -n "$HAVE_DOCKER" ] && { stop_dockerd; docker_leftovers; }
	rm -rf "$HOMEDIR"/umask-"$TAG"-*; rm -rf "$T"' EXIT
test_user
HOMEDIR=$(getent passwd "$TEST_USER" | cut -d: -f6)
TAG=$(basename "$T")
D="$T/data"
# scaffold itself runs with the tightest umask: the runs must not inherit it
umask 077

# ---- bad values: refused where they are written ----
cat >"$T/bad.yaml" <<Y
version: v1
name: bad
tasks:
  - name: a
    run: "true"
    umask: "0999"
Y
run "$SCAFFOLD" validate "$T/bad.yaml"
is "$RC:$ERR" "1:$T/bad.yaml:6:12: error: task 'a': 'umask' must be an octal umask such as \"022\" or \"077\", not '0999'
1 error, 0 warnings in 1 file" "a task's bad umask: file:line:col"

# the modes a task's files get, as 'ls -ld' shows them
MODES='echo x >made.txt; mkdir made.d; ls -ld made.txt made.d'
modes() { # CASCADE TASK: "FILE-MODE DIR-MODE" from its log
	"$SCAFFOLD" logs -d "$D" "$1" "$2" | awk '/made/ {printf "%s ", $1}'
}

# ---- local ----
cat >"$T/local.yaml" <<Y
version: v1
name: lo
runner: local
tasks:
  - {name: def, run: "$MODES"}
  - {name: tight, run: "$MODES", umask: "077"}
Y
run "$SCAFFOLD" apply -q -d "$D" "$T/local.yaml"
is "$RC" 0 "local: the tasks succeed"
is "$(modes lo def)" "drwxr-xr-x -rw-r--r-- " "local: 0644 and 0755 by default"
is "$(modes lo tight)" "drwx------ -rw------- " "local: 0600 and 0700 with umask: \"077\""

# ---- docker ----
if [ -n "$HAVE_DOCKER" ]; then
	start_dockerd
	IMG=scaffold-test:busybox
	import_image "$IMG"
	cat >"$T/docker.yaml" <<Y
version: v1
name: dk
tasks:
  - {name: def, image: "$IMG", run: "$MODES"}
  - {name: tight, image: "$IMG", run: "$MODES", umask: "077"}
Y
	run env SCAFFOLD_DOCKER_SOCKET="$DOCKER_SOCK" "$SCAFFOLD" apply -q \
		-d "$D" "$T/docker.yaml"
	is "$RC" 0 "docker: the tasks succeed"
	is "$(modes dk def)" "drwxr-xr-x -rw-r--r-- " "docker: 0644 and 0755 by default"
	is "$(modes dk tight)" "drwx------ -rw------- " "docker: 0600 and 0700 with umask: \"077\""
	stop_dockerd
else
	for d in "docker: the tasks succeed" "docker: 0644 and 0755 by default" \
		"docker: 0600 and 0700 with umask: \"077\""; do
		_result 0 "$d # SKIP dockerd or busybox is not installed"
	done
fi

# ---- ssh: two inventory names for one server, one with a host umask ----
start_sshd web1 "$TEST_USER"
host() { # NAME [UMASK]
	cat <<Y
  $1:
    address: 127.0.0.1
    port: $SSHD_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
Y
	[ -n "${2:-}" ] && echo "    umask: \"$2\""
}
{ echo "hosts:"; host web1; host strict 027; } >"$T/config.yaml"
# deployed where a deploy puts things: the user's home, outside the run dir
DEPLOY='f=$HOME/umask-'$TAG'-$SCAFFOLD_TASK; echo x >$f.txt; mkdir $f.d; '$MODES
cat >"$T/ssh.yaml" <<Y
version: v1
name: sh
runner: ssh
hosts: [web1]
tasks:
  - {name: def, run: '$DEPLOY'}
  - {name: tight, run: '$DEPLOY', umask: "077"}
  - {name: byhost, run: '$DEPLOY', hosts: [strict]}
  - {name: taskwins, run: '$DEPLOY', hosts: [strict], umask: "0002"}
Y
run "$SCAFFOLD" apply -q -c "$T/config.yaml" -d "$D" "$T/ssh.yaml"
is "$RC" 0 "ssh: the tasks succeed"
mode() { stat -c %a "$HOMEDIR/umask-$TAG-$1"; }
is "$(mode def.txt) $(mode def.d)" "644 755" "ssh: a deployed file is 0644 by default, not 0600"
is "$(modes sh def)" "drwxr-xr-x -rw-r--r-- " "ssh: in the run dir too"
is "$(mode tight.txt) $(mode tight.d)" "600 700" "ssh: 0600 with umask: \"077\""
is "$(mode byhost.txt) $(mode byhost.d)" "640 750" "ssh: a host's umask: \"027\" applies"
is "$(mode taskwins.txt) $(mode taskwins.d)" "664 775" "ssh: the task's umask wins over the host's"

# a host's bad umask: the config's file:line:col
sed 's/umask: "027"/umask: "8"/' "$T/config.yaml" >"$T/badconfig.yaml"
LINE=$(grep -n 'umask' "$T/badconfig.yaml" | cut -d: -f1)
run "$SCAFFOLD" apply -q -c "$T/badconfig.yaml" -d "$D" "$T/ssh.yaml"
is "$RC:$ERR" "1:$T/badconfig.yaml:$LINE:12: error: host 'strict': 'umask' must be an octal umask such as \"022\" or \"077\", not '8'
scaffold apply: the config is invalid" "a host's bad umask: file:line:col"

# ---- the fingerprint: a new umask re-runs the task ----
sed 's/umask: "077"/umask: "007"/' "$T/local.yaml" >"$T/local2.yaml"
run "$SCAFFOLD" apply -d "$D" "$T/local2.yaml"
is "$RC:$(echo "$ERR" | head -n 1)" "0:cascade 'lo': 0 new, 1 changed, 0 removed; 0 downstream reset" \
	"a changed umask changes its task"
is "$(modes lo tight)" "drwxrwx--- -rw-rw---- " "which runs again with it"
done_testing
