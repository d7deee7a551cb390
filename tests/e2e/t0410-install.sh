#!/bin/sh
# make install and make uninstall into a DESTDIR: the files land where
# PREFIX, BINDIR, MANDIR and SYSCONFDIR say; the installed binary runs,
# and serves with the installed example config; the unit passes
# systemd-analyze verify (man pages included) and runs the installed
# paths; an operator's config survives a reinstall and an uninstall.
. "$(dirname "$0")/lib.sh"
[ -z "${SANITIZE:-}" ] ||
	skip_all "make install is checked in the plain build's pass of make check"
command -v make >/dev/null || skip_all "no make"

# the binary under test is installed as it is: nothing is built, and the
# files made on the way go to $T/build, not into the source tree
inst() { # DESTDIR TARGET [VAR=VALUE...]
	_d=$1
	_t=$2
	shift 2
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$SRC" "$_t" \
		DESTDIR="$_d" INSTALL_BIN="$SCAFFOLD" BUILD="$T/build" "$@"
}
files() { # DIR: its files, relative, sorted
	(cd "$1" && find . -type f | sort)
}

R="$T/root"
run inst "$R" install
is "$RC:$ERR" "0:" "make install DESTDIR: no error"
is "$(files "$R")" "./usr/local/bin/scaffold
./usr/local/etc/scaffold/scaffold.yaml
./usr/local/lib/systemd/system/scaffold.service
./usr/local/share/bash-completion/completions/scaffold
./usr/local/share/doc/scaffold/examples/scaffold.yaml
./usr/local/share/man/man1/scaffold.1
./usr/local/share/man/man5/scaffold-cascade.5
./usr/local/share/man/man5/scaffold.yaml.5" "the files of PREFIX=/usr/local"
ok cmp "$SCAFFOLD" "$R/usr/local/bin/scaffold" "the binary installed is the one tested"
is "$(stat -c %a "$R/usr/local/bin/scaffold" "$R/usr/local/etc/scaffold/scaffold.yaml" \
	"$R/usr/local/share/man/man1/scaffold.1" | tr '\n' ' ')" "755 640 644 " \
	"modes: binary 755, config 640, man page 644"

run "$R/usr/local/bin/scaffold" --version
is "$RC:$OUT" "0:scaffold $(sed -n 's/^#define SCAFFOLD_VERSION "\(.*\)"/\1/p' "$SRC/common/common.h")" \
	"the installed binary runs"
run mandoc -Tascii "$R/usr/local/share/man/man1/scaffold.1"
is "$(printf '%s\n' "$OUT" | sed 's/.\x08//g' | sed -n 3,4p | tr -s ' ')" "NAME
 scaffold - git-driven GitOps reconciler for infrastructure cascades" \
	"the installed man page renders"

# the installed example config serves, once pointed at a test data dir
sed -e "s|^data_dir: .*|data_dir: $T/data|" -e 's|^listen: .*|listen: 127.0.0.1:0|' \
	"$R/usr/local/etc/scaffold/scaffold.yaml" >"$T/scaffold.yaml"
"$R/usr/local/bin/scaffold" serve --config "$T/scaffold.yaml" 2>"$T/serve.log" &
spid=$!
trap 'kill_ours $spid; rm -rf "$T"' EXIT
serve_port "$T/serve.log"
run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz"
is "$OUT" 200 "the installed binary serves with the example config"
kill -TERM $spid
wait $spid
is $? 0 "and stops cleanly"

# the unit
U="$R/usr/local/lib/systemd/system/scaffold.service"
is "$(grep -E '^(ExecStart|ExecReload|User|Type|StateDirectory)=' "$U")" \
	"Type=notify
ExecStart=/usr/local/bin/scaffold serve --config /usr/local/etc/scaffold/scaffold.yaml
ExecReload=/bin/kill -HUP \$MAINPID
User=scaffold
StateDirectory=scaffold" "the unit runs the installed binary and config"
if command -v systemd-analyze >/dev/null; then
	# verify wants ExecStart to exist on this machine: the same unit with
	# the binary's DESTDIR path, its man pages found through MANPATH
	mkdir "$T/unit"
	sed "s|^ExecStart=/usr/local/bin/scaffold|ExecStart=$R/usr/local/bin/scaffold|" \
		"$U" >"$T/unit/scaffold.service"
	run env MANPATH="$R/usr/local/share/man" systemd-analyze verify \
		"$T/unit/scaffold.service"
	is "$RC:$OUT$ERR" "0:" "systemd-analyze verify: the unit is clean"
	# and it does notice a fault
	sed 's/^ProtectHome=yes/ProtectHome=yes\nProtectHom=yes/' \
		"$T/unit/scaffold.service" >"$T/unit/x.service" &&
		mv "$T/unit/x.service" "$T/unit/scaffold.service"
	run env MANPATH="$R/usr/local/share/man" systemd-analyze verify \
		"$T/unit/scaffold.service"
	is "$ERR" "$T/unit/scaffold.service:$(grep -n '^ProtectHom=' "$T/unit/scaffold.service" | cut -d: -f1): Unknown key 'ProtectHom' in section [Service], ignoring." \
		"systemd-analyze verify: a bad key is reported"
else
	echo "ok $((_n + 1)) # SKIP systemd-analyze is not installed (package systemd)"
	echo "ok $((_n + 2)) # SKIP systemd-analyze is not installed (package systemd)"
	_n=$((_n + 2))
fi

# an operator's config survives a reinstall, and an uninstall
echo "# mine" >>"$R/usr/local/etc/scaffold/scaffold.yaml"
run inst "$R" install
is "$RC:$(printf '%s\n' "$OUT" | grep kept)" \
	"0:install: $R/usr/local/etc/scaffold/scaffold.yaml exists: kept" \
	"reinstall: a changed config is kept"
run inst "$R" uninstall
is "$RC:$(printf '%s\n' "$OUT" | grep kept)" \
	"0:uninstall: $R/usr/local/etc/scaffold/scaffold.yaml was changed: kept" \
	"uninstall: says it keeps a changed config"
is "$(files "$R")" "./usr/local/etc/scaffold/scaffold.yaml" \
	"uninstall: everything else is gone"

# other paths: PREFIX=/usr SYSCONFDIR=/etc, MANDIR and BINDIR of one's own
R="$T/root2"
run inst "$R" install PREFIX=/usr SYSCONFDIR=/etc BINDIR=/opt/sc/bin \
	MANDIR=/opt/sc/man
is "$RC:$(files "$R" | tr '\n' ' ')" "0:./etc/scaffold/scaffold.yaml ./opt/sc/bin/scaffold ./opt/sc/man/man1/scaffold.1 ./opt/sc/man/man5/scaffold-cascade.5 ./opt/sc/man/man5/scaffold.yaml.5 ./usr/lib/systemd/system/scaffold.service ./usr/share/bash-completion/completions/scaffold ./usr/share/doc/scaffold/examples/scaffold.yaml " \
	"PREFIX, SYSCONFDIR, BINDIR and MANDIR are honoured"
is "$(grep '^ExecStart=' "$R/usr/lib/systemd/system/scaffold.service")" \
	"ExecStart=/opt/sc/bin/scaffold serve --config /etc/scaffold/scaffold.yaml" \
	"the unit names BINDIR and SYSCONFDIR"
run inst "$R" uninstall PREFIX=/usr SYSCONFDIR=/etc BINDIR=/opt/sc/bin \
	MANDIR=/opt/sc/man
is "$RC:$(files "$R")" "0:" "uninstall of an untouched install leaves no file"

done_testing
