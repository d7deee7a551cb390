#!/bin/sh
# The hardening of dist/scaffold.service.in against the local runner's
# sandbox, as far as it can be tried without systemd: scaffold run by an
# unprivileged user (User=scaffold) with no_new_privs (NoNewPrivileges),
# an empty capability bounding set (CapabilityBoundingSet=), / read-only
# but its data dir (ProtectSystem=strict, ReadWritePaths) and /root
# covered (ProtectHome) still runs a local task in its sandbox; with a
# part of /proc mounted over, as ProtectKernelTunables does, the sandbox
# cannot mount its /proc, which is why the unit leaves that option out.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root: to make mount namespaces and become nobody"
id nobody >/dev/null 2>&1 || skip_all "no user 'nobody' on this machine"
for t in unshare setpriv; do
	command -v $t >/dev/null || skip_all "no $t (util-linux)"
done
unshare -m true 2>/dev/null || skip_all "cannot make a mount namespace here"
W=$(mktemp -d /var/lib/scaffold-t2085.XXXXXX) || skip_all "cannot make a dir in /var/lib"
trap 'rm -rf "$T" "$W"' EXIT
chmod 755 "$W"
cp "$SCAFFOLD" "$W/scaffold"
cat >"$W/c.yaml" <<'Y'
version: v1
name: sb
runner: local
tasks:
  - name: t
    run: echo "as $(id -un), pid $$"
Y
mkdir -m 700 "$W/data"
chown nobody "$W/data"

# as the unit would run it: sh -c SETUP, then the hardened scaffold
hardened() { # SETUP: mounts made in a private mount namespace first
	unshare -m sh -c "mount --make-rprivate / && $1 &&
		setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups \
			--no-new-privs --bounding-set=-all \
			'$W/scaffold' apply -q -d '$W/data' '$W/c.yaml'"
}
ro_root="mount --bind '$W/data' '$W/data' && mount -o remount,bind,ro / &&
	mount -t tmpfs -o ro tmpfs /root"

run hardened "$ro_root"
is "$RC" 0 "hardened as the unit: the local task succeeds"
run "$SCAFFOLD" logs -d "$W/data" sb t
is "$(printf '%s\n' "$OUT" | sed -n 2p)" "as nobody, pid 2" \
	"it ran as the service's user, in a PID namespace of its own (its init is 1)"
run unshare -m sh -c "mount --make-rprivate / && $ro_root &&
	touch /usr/t2085 2>&1; touch '$W/data/t2085'"
is "$RC:$OUT" "0:touch: cannot touch '/usr/t2085': Read-only file system" \
	"(the emulation holds: / is read-only, the data dir writable)"

rm -rf "$W/data/t2085" "$W/data"
mkdir -m 700 "$W/data"
chown nobody "$W/data"
run hardened "$ro_root && mount --bind /proc/sys /proc/sys &&
	mount -o remount,bind,ro /proc/sys"
is "$RC" 1 "with /proc/sys mounted over (ProtectKernelTunables): the task fails"
run "$SCAFFOLD" logs -d "$W/data" sb t
is "$(printf '%s\n' "$OUT" | sed -n 2p)" \
	"scaffold: cannot start: sandbox: cannot mount /proc: Operation not permitted" \
	"because the sandbox cannot mount its /proc"

done_testing
