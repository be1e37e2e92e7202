#!/usr/bin/env bash
# Builds out/imageimportd_<version>_<arch>.deb from out/imageimportd with dpkg-deb (no debhelper: the package is
# one binary, a unit, a conffile and a directory). Depends: comes from dpkg-shlibdeps on the binary itself.
# Deterministic: files carry SOURCE_DATE_EPOCH (the last commit's time) and dpkg-deb honours it.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=out/imageimportd
[[ -x $binary ]] || { echo "build-deb: $binary is missing: run make build" >&2; exit 1; }
version=$("$binary" --version)
version=${version%%+*}
# The version's one source is Directory.Build.props; stamp it into the DaemonSet, and refuse a stale binary.
stamped=$(bash scripts/stamp-version.sh)
[[ $version == "$stamped" ]] || { echo "build-deb: $binary says $version, Directory.Build.props $stamped: run make build" >&2; exit 1; }
arch=$(dpkg --print-architecture)
deb=out/imageimportd_${version}_${arch}.deb
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

root=$(mktemp -d out/deb-root.XXXXXX)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
umask 022

install -D -m 0755 "$binary" "$root/usr/bin/imageimportd"
# bookworm still ships units under /lib (the usrmerge moratorium); the unit reads its arguments from the conffile.
install -d "$root/lib/systemd/system"
sed -e 's|^ExecStart=.*|EnvironmentFile=-/etc/default/imageimportd\nExecStart=/usr/bin/imageimportd watch $IMAGEIMPORTD_ARGS|' \
    dist/imageimportd.service >"$root/lib/systemd/system/imageimportd.service"
grep -q '^ExecStart=/usr/bin/imageimportd watch \$IMAGEIMPORTD_ARGS$' "$root/lib/systemd/system/imageimportd.service"
install -D -m 0644 dist/debian/default "$root/etc/default/imageimportd"
install -d -m 0755 "$root/var/lib/imageimportd/images"
install -d "$root/usr/share/bash-completion/completions"
"$binary" completion bash >"$root/usr/share/bash-completion/completions/imageimportd"
install -D -m 0644 dist/debian/copyright "$root/usr/share/doc/imageimportd/copyright"
install -D -m 0644 dist/debian/lintian-overrides "$root/usr/share/lintian/overrides/imageimportd"
{
    printf 'imageimportd (%s) unstable; urgency=medium\n\n' "$version"
    printf '  * Built from commit %s.\n\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    printf ' -- imageimportd engineers <eng@imageimportd.dev>  %s\n' "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$root/usr/share/doc/imageimportd/changelog.gz"

install -d "$root/DEBIAN"
install -m 0755 dist/debian/postinst dist/debian/prerm dist/debian/postrm "$root/DEBIAN/"
echo /etc/default/imageimportd >"$root/DEBIAN/conffiles"

# dpkg-shlibdeps wants a debian/control to read; a minimal one in a scratch directory will do.
scratch=$(mktemp -d)
trap 'rm -rf "$root" "$scratch"' EXIT
mkdir "$scratch/debian"
printf 'Source: imageimportd\n\nPackage: imageimportd\nArchitecture: any\n' >"$scratch/debian/control"
depends=$(cd "$scratch" && dpkg-shlibdeps -O "$OLDPWD/$root/usr/bin/imageimportd" | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
    dist/debian/control.in >"$root/DEBIAN/control"

find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
