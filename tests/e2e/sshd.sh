# sshd.sh - a throwaway OpenSSH server on 127.0.0.1 for the tests, with
# freshly generated host and user keys.  Source it after lib.sh:
#   test_user               makes the test user (login shell /bin/sh)
#   start_sshd NAME USER    starts one; sets SSHD_PORT, SSHD_PID,
#                           SSHD_HOSTKEY (the .pub), SSHD_USERKEY (private),
#                           SSHD_KNOWN (a known_hosts line file)
#   sshd_hosts NAME...      starts one per NAME for the test user and
#                           prints their entries of a config's hosts:
#   sshd_stop_all           stops every server started (for a test's
#                           own EXIT trap)
# Every server started is stopped on exit.
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || skip_all "sshd is not installed (scripts/install-deps.sh installs openssh-server)"
mkdir -p /run/sshd 2>/dev/null
_sshd_pids=""
trap 'kill_ours $_sshd_pids; rm -rf "$T"' EXIT

TEST_USER=scaffoldtest
test_user() {
	id "$TEST_USER" >/dev/null 2>&1 ||
		useradd -m -s /bin/sh "$TEST_USER" 2>/dev/null && usermod -p '*' "$TEST_USER" ||
		skip_all "cannot create the test user '$TEST_USER' (not root?)"
}

start_sshd() {
	_d="$T/sshd-$1"
	_user=$2
	mkdir -p "$_d"
	ssh-keygen -q -t ed25519 -N '' -f "$_d/host_ed25519" </dev/null
	[ -f "$T/user_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$T/user_ed25519" </dev/null
	cp "$T/user_ed25519.pub" "$_d/authorized_keys"
	# sshd reads authorized_keys as the user logging in
	chmod 755 "$T" "$_d"
	chmod 644 "$_d/authorized_keys"
	_try=0
	while [ $_try -lt 20 ]; do
		SSHD_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
		cat >"$_d/sshd_config" <<C
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $_d/host_ed25519
AuthorizedKeysFile $_d/authorized_keys
AllowUsers $_user
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $_d/sshd.pid
Subsystem sftp internal-sftp
LogLevel ERROR
C
		"$SSHD" -D -e -f "$_d/sshd_config" 2>"$_d/log" &
		SSHD_PID=$!
		if wait_for 5 ssh-keyscan -p "$SSHD_PORT" -T 1 127.0.0.1; then
			_sshd_pids="$_sshd_pids $SSHD_PID"
			SSHD_HOSTKEY="$_d/host_ed25519.pub"
			SSHD_USERKEY="$T/user_ed25519"
			SSHD_KNOWN="$_d/known_hosts"
			echo "[127.0.0.1]:$SSHD_PORT $(cut -d' ' -f1,2 "$SSHD_HOSTKEY")" >"$SSHD_KNOWN"
			return 0
		fi
		kill_ours $SSHD_PID
		_try=$((_try + 1))
	done
	echo "Bail out! cannot start sshd: $(cat "$_d/log")"
	exit 1
}

sshd_hosts() {
	for _h in "$@"; do
		start_sshd "$_h" "$TEST_USER"
		cat <<Y
  $_h:
    address: 127.0.0.1
    port: $SSHD_PORT
    user: $TEST_USER
    key_file: $SSHD_USERKEY
    known_hosts_file: $SSHD_KNOWN
Y
	done
}

sshd_stop_all() {
	kill_ours $_sshd_pids
}
