#!/usr/bin/env bash
# Builds out/imageimportd-image.tar: an OCI image layout archive (oci-layout, index.json, blobs/sha256/…) holding
# out/imageimportd and the C library files it is linked against, and nothing else. No Docker and no build
# machine's root: the libraries come from the Debian packages that own them on this machine (their candidate
# versions in the apt sources), fetched with `apt-get download` and unpacked with `dpkg-deb -x`.
# Deterministic: every mtime is SOURCE_DATE_EPOCH (the last commit's time), tar entries are sorted, gzip has no
# name or time, so the same commit and the same libc package give the same digests.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=out/imageimportd
[[ -x $binary ]] || { echo "build-image: $binary is missing: run make build" >&2; exit 1; }
full_version=$("$binary" --version)
version=${full_version%%+*}
# The version's one source is Directory.Build.props; stamp it into the DaemonSet, and refuse a stale binary.
stamped=$(bash scripts/stamp-version.sh)
[[ $version == "$stamped" ]] || { echo "build-image: $binary says $version, Directory.Build.props $stamped: run make build" >&2; exit 1; }
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=${IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null || echo "https://example.invalid/imageimportd")}
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
arch=$(dpkg --print-architecture)
out=out/imageimportd-image.tar

work=$(mktemp -d out/image-work.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
debs=out/image-debs   # kept: a rebuild does not download again
mkdir -p "$rootfs" "$debs" "$work/extract"
umask 022

# What the dynamic linker loads: every absolute path ldd names (the interpreter included), plus what .NET's
# runtime dlopens and ldd cannot see: OpenSSL, which SHA-256 (every blob's digest) goes through. Without it the
# daemon dies at its first import with "No usable version of libssl was found".
readonly DLOPENED=(libssl.so.3)
dlopened=()
for name in "${DLOPENED[@]}"; do
    path=$(ldconfig -p | awk -v n="$name" '!found && $1 == n && /x86-64|AArch64/ { print $NF; found = 1 }')
    [[ -n $path ]] || { echo "build-image: $name is not installed here (apt-get install libssl3)" >&2; exit 1; }
    dlopened+=("$path")
done
mapfile -t libs < <({ ldd "$binary"; for path in "${dlopened[@]}"; do echo "$path"; ldd "$path"; done; } | grep -oE '/[^ ]+' | sort -u)
(( ${#libs[@]} > 0 )) || { echo "build-image: ldd names no libraries" >&2; exit 1; }

# The packages owning them (dpkg -S wants the path as the package lists it; usrmerge may add /usr).
declare -A packages=()
for lib in "${libs[@]}"; do
    owner=""
    for candidate in "$lib" "$(readlink -f "$lib")" "/usr$lib" "${lib#/usr}"; do
        owner=$(dpkg -S "$candidate" 2>/dev/null | sed -n 1p | cut -d: -f1) && [[ -n $owner ]] && break
    done
    [[ -n $owner ]] || { echo "build-image: no Debian package owns $lib" >&2; exit 1; }
    packages[$owner]=1
done

for pkg in "${!packages[@]}"; do
    # The archive's candidate, not necessarily the installed version: the newest security fix goes into the image
    # (never older than what the binary was linked against, as apt only moves forward).
    pkg_version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
    if [[ -z $pkg_version || $pkg_version == "(none)" ]]; then
        apt-get update -qq
        pkg_version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
    fi
    file=$(ls "$debs/${pkg}_${pkg_version//:/%3a}_"*.deb 2>/dev/null | sed -n 1p || true)
    if [[ -z $file ]]; then
        # Stale package lists name versions the mirror no longer has: refresh them once and ask again.
        (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$pkg_version") || {
            apt-get update -qq
            pkg_version=$(apt-cache policy "$pkg" | awk '/Candidate:/ { print $2 }')
            (cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$pkg_version")
        } || { echo "build-image: apt-get download $pkg=$pkg_version failed" >&2; exit 1; }
        file=$(ls "$debs/${pkg}_${pkg_version//:/%3a}_"*.deb | sed -n 1p)
    fi
    dpkg-deb -x "$file" "$work/extract"
done

# Copy one path from the unpacked packages into the rootfs, following symlinks inside the unpacked tree.
copy_from_packages() {
    local path=$1 depth=${2:-0}
    (( depth < 8 )) || { echo "build-image: symlink loop at $path" >&2; exit 1; }
    local src=$work/extract$path
    if [[ ! -e $src && ! -L $src ]]; then
        # usrmerge: the package may hold /usr/lib/… for /lib/… or the other way round.
        if [[ $path == /usr/* ]]; then path=${path#/usr}; else path=/usr$path; fi
        src=$work/extract$path
    fi
    [[ -e $src || -L $src ]] || { echo "build-image: $1 is not in the unpacked packages" >&2; exit 1; }
    mkdir -p "$rootfs$(dirname "$path")"
    cp -a "$src" "$rootfs$path"
    if [[ -L $src ]]; then
        local target
        target=$(readlink "$src")
        [[ $target == /* ]] || target=$(dirname "$path")/$target
        copy_from_packages "$(realpath -m -s "$target")" $((depth + 1))
    fi
    # The path as ldd names it must resolve too (e.g. /lib64/ld-linux-x86-64.so.2 when the package has /usr/lib64).
    if [[ $path != "$1" && ! -e $rootfs$1 ]]; then
        mkdir -p "$rootfs$(dirname "$1")"
        ln -s "$path" "$rootfs$1"
    fi
}
for lib in "${libs[@]}"; do
    copy_from_packages "$lib"
done

install -D -m 0755 "$binary" "$rootfs/usr/bin/imageimportd"
install -d -m 0755 "$rootfs/var/lib/imageimportd/images" "$rootfs/run/containerd" "$rootfs/run/imageimportd" "$rootfs/etc"
install -d -m 1777 "$rootfs/tmp"
# Debian's packages carry their copyright files; the image carries the ones for what it holds.
for pkg in "${!packages[@]}"; do
    install -D -m 0644 "$work/extract/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/copyright"
done
install -D -m 0644 dist/debian/copyright "$rootfs/usr/share/doc/imageimportd/copyright"

# --- the layout ---
blobs=$work/layout/blobs/sha256
mkdir -p "$blobs"
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# Stores a file as a blob; prints its digest.
put_blob() {
    local digest
    digest=$(sha "$1")
    mv "$1" "$blobs/$digest"
    echo "$digest"
}
det_tar() { # DIR OUT: a deterministic tar of DIR's contents
    tar --sort=name --mtime="@$epoch" --clamp-mtime --owner=0 --group=0 --numeric-owner \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --format=posix \
        -C "$1" -cf "$2" .
}

det_tar "$rootfs" "$work/layer.tar"
diff_id=$(sha "$work/layer.tar")
gzip -9n "$work/layer.tar"
layer_size=$(size "$work/layer.tar.gz")
layer_digest=$(put_blob "$work/layer.tar.gz")

cmd='["watch","--images","/var/lib/imageimportd/images","--address","/run/containerd/containerd.sock"]'
annotations=$(printf '{"org.opencontainers.image.created":"%s","org.opencontainers.image.revision":"%s","org.opencontainers.image.source":"%s","org.opencontainers.image.title":"imageimportd","org.opencontainers.image.version":"%s"}' \
    "$created" "$revision" "$source_url" "$version")
printf '{"architecture":"%s","created":"%s","history":[{"created":"%s","created_by":"scripts/build-image.sh"}],"os":"linux","config":{"Entrypoint":["/usr/bin/imageimportd"],"Cmd":%s,"Env":["PATH=/usr/bin:/bin"],"WorkingDir":"/","Labels":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$arch" "$created" "$created" "$cmd" "$annotations" "$diff_id" >"$work/config.json"
config_size=$(size "$work/config.json")
config_digest=$(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}],"annotations":%s}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" "$annotations" >"$work/manifest.json"
manifest_size=$(size "$work/manifest.json")
manifest_digest=$(put_blob "$work/manifest.json")

# ref.name is the OCI tag; io.containerd.image.name gives containerd (ctr import, imageimportd) the full name.
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"docker.io/library/imageimportd:%s","org.opencontainers.image.ref.name":"imageimportd:%s"}}]}' \
    "$manifest_digest" "$manifest_size" "$arch" "$version" "$version" >"$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"

find "$work/layout" -exec touch -h -d "@$epoch" {} +
det_tar "$work/layout" "$work/image.tar"
mv "$work/image.tar" "$out"
echo "$out"
