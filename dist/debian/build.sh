#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Build the toolwall Debian package with dpkg-deb (no debhelper needed):
#   TW_VERSION=0.1.0 bash dist/debian/build.sh OUT.deb
# `make install` into a staging root with PREFIX /usr fills it; Depends
# come from dpkg-shlibdeps on the binary (the libraries it links, at the
# versions this machine built against); the maintainer scripts next to
# this file create and remove the accounts and directories.
# libmicrohttpd12 is named by hand: `daemon --metrics` opens it at run time
# (dlopen), where dpkg-shlibdeps cannot see it.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
version=${TW_VERSION:?}
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
make -s -C "$top" install DESTDIR="$root" PREFIX=/usr UNITDIR=/lib/systemd/system
install -D -m 0644 "$here/copyright" "$root/usr/share/doc/toolwall/copyright"
gzip -9n "$root"/usr/share/man/man*/* # Debian ships man pages compressed

# dpkg-shlibdeps wants a debian/control to read; it only needs a source.
mkdir -p "$stage/debian"
printf 'Source: toolwall\n\nPackage: toolwall\nArchitecture: any\n' >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O -e"$root/usr/sbin/toolwall" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
	-e "s|@DEPENDS@|$depends, libmicrohttpd12, passwd|" -e "s|@SIZE@|$size|" \
	"$here/control.in" >"$root/DEBIAN/control"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
