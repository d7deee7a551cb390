#!/bin/sh
# make deb: a Debian package with the binary, the unit, the man pages,
# /etc/scaffold/scaffold.yaml as a conffile, a postinst that makes the
# system user scaffold and /var/lib/scaffold; lintian finds no error in it.
. "$(dirname "$0")/lib.sh"
[ -z "${SANITIZE:-}" ] ||
	skip_all "the package is checked in the plain build's pass of make check"
for t in dpkg-deb dpkg-shlibdeps lintian; do
	command -v $t >/dev/null ||
		skip_all "$t is not installed (scripts/install-deps.sh installs it)"
done

run env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$SRC" deb \
	INSTALL_BIN="$SCAFFOLD" BUILD="$T/build"
is "$RC" 0 "make deb"
DEB=$(ls "$T"/build/scaffold_*.deb)
is "$(dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ {print $6}' | sort)" "./etc/scaffold/scaffold.yaml
./lib/systemd/system/scaffold.service
./usr/bin/scaffold
./usr/share/bash-completion/completions/scaffold
./usr/share/doc/scaffold/changelog.Debian.gz
./usr/share/doc/scaffold/copyright
./usr/share/doc/scaffold/examples/scaffold.yaml
./usr/share/man/man1/scaffold.1.gz
./usr/share/man/man5/scaffold-cascade.5.gz
./usr/share/man/man5/scaffold.yaml.5.gz" "the package's files"
is "$(dpkg-deb -f "$DEB" Package Architecture | tr '\n' ' ')" \
	"Package: scaffold Architecture: $(dpkg --print-architecture) " "its control fields"
ok sh -c "dpkg-deb -f '$DEB' Depends | grep -q '^adduser, .*libc6 (>= '" \
	"it depends on adduser and on the libraries' packages"
is "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" \
	"/etc/scaffold/scaffold.yaml" "the config is a conffile"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./postinst >"$T/postinst"
ok grep -q 'adduser --system --group --quiet --home /var/lib/scaffold' "$T/postinst" \
	"postinst makes the system user scaffold, at home in /var/lib/scaffold"
ok grep -q 'install -d -o scaffold -g scaffold -m 0700 /var/lib/scaffold' "$T/postinst" \
	"postinst makes the data dir, 0700"
is "$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./lib/systemd/system/scaffold.service |
	grep '^ExecStart=')" \
	"ExecStart=/usr/bin/scaffold serve --config /etc/scaffold/scaffold.yaml" \
	"the unit runs /usr/bin/scaffold with /etc/scaffold/scaffold.yaml"

# lintian as root says so on stderr; its findings are on stdout
run lintian "$DEB"
is "$(printf '%s\n' "$OUT" | grep '^E:')" "" "lintian: no error"
is "$RC" 0 "lintian exits 0"

done_testing
