#!/bin/sh
# stage.sh STAGE VERSION ARCH - turn make install's tree under STAGE
# (PREFIX=/usr SYSCONFDIR=/etc) into a Debian binary package's tree:
# the binary stripped, man pages compressed, the doc files Debian wants,
# and DEBIAN/ (control, conffiles, maintainer scripts).  Called by make
# deb, which then runs dpkg-deb --build on STAGE.
set -eu
STAGE=$(cd "$1" && pwd)
VERSION=$2
ARCH=$3
HERE=$(cd "$(dirname "$0")" && pwd)

strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$STAGE/usr/bin/scaffold"
gzip -9n "$STAGE"/usr/share/man/man1/*.1 "$STAGE"/usr/share/man/man5/*.5
install -m 644 "$HERE/copyright" "$STAGE/usr/share/doc/scaffold/copyright"
gzip -9n <"$HERE/changelog" >"$STAGE/usr/share/doc/scaffold/changelog.Debian.gz"
chmod 644 "$STAGE/usr/share/doc/scaffold/changelog.Debian.gz"

# the libraries' packages, as dpkg-shlibdeps finds them (it wants a
# debian/control beside it)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/debian"
printf 'Source: scaffold\n\nPackage: scaffold\nArchitecture: any\n' \
	>"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O "$STAGE/usr/bin/scaffold" \
	2>"$work/err" | sed -n 's/^shlibs:Depends=//p')
# its warning that the binary is not under debian/PACKAGE is no news
grep -v 'should already be installed in their package' "$work/err" >&2 || true
[ -n "$depends" ] || { echo "stage.sh: dpkg-shlibdeps found no library" >&2; exit 1; }

mkdir -p "$STAGE/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" \
	-e "s/@DEPENDS@/$depends/" -e "s/@SIZE@/$size/" \
	"$HERE/control.in" >"$STAGE/DEBIAN/control"
echo /etc/scaffold/scaffold.yaml >"$STAGE/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 755 "$HERE/$s" "$STAGE/DEBIAN/$s"
done
chmod 644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles"
# shipped 0644 as Debian wants; postinst makes it root:scaffold 0640
chmod 644 "$STAGE/etc/scaffold/scaffold.yaml"
