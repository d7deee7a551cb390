#!/bin/sh
# Install every build and test dependency of scaffold from the distribution's
# packages.  Idempotent: when everything is already present it does nothing
# and touches no network.  Runs as root, or through sudo when not root.
set -eu

PKGS="
	make gcc pkg-config perl git
	libyaml-dev libgit2-dev libsqlite3-dev libcurl4-openssl-dev
	libjansson-dev libssh2-1-dev libmicrohttpd-dev libarchive-dev
	libssl-dev libcmocka-dev openssh-server openssh-client
	docker.io busybox-static curl openssl sqlite3
	chromium libxml2-utils fonts-dejavu-core
	clang libclang-rt-14-dev valgrind
	mandoc lintian systemd dpkg-dev jq iproute2 python3 graphviz
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi

echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
