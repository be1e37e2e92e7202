#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, only those missing.
# Idempotent: a second run installs nothing and does not touch apt.
set -euo pipefail

# "check package": a check starting with "dpkg:" tests the package itself
# (libraries have no command), anything else is a command looked up on PATH.
readonly REQUIREMENTS=(
    "containerd containerd"
    "ctr containerd"
    "runc runc"
    "dpkg:busybox-static busybox-static"
    "skopeo skopeo"
    "umoci umoci"
    "docker-registry docker-registry"
    "clang clang"
    "ld.lld lld"
    "dpkg:zlib1g-dev zlib1g-dev"
    "zstd zstd"
    "lz4 lz4"
    "xz xz-utils"
    "bzip2 bzip2"
    "/usr/bin/time time"
    "ip iproute2"
    "ps procps"
    "kill procps"
    "systemd-analyze systemd"
    "lintian lintian"
    "dpkg-shlibdeps dpkg-dev"
    "node nodejs"
    "npm npm"
)

is_present() {
    local check=$1
    if [[ "$check" == dpkg:* ]]; then
        dpkg -s "${check#dpkg:}" 2>/dev/null | grep -q '^Status: install ok installed'
    else
        command -v "$check" >/dev/null 2>&1
    fi
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-deps: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

missing=()
for entry in "${REQUIREMENTS[@]}"; do
    read -r check pkg <<<"$entry"
    if ! is_present "$check"; then
        # Several checks can map to one package; list it once.
        if [[ " ${missing[*]-} " != *" $pkg "* ]]; then
            missing+=("$pkg")
            echo "install-deps: installing $pkg (missing ${check#dpkg:})"
        fi
    fi
done

if (( ${#missing[@]} > 0 )); then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    for entry in "${REQUIREMENTS[@]}"; do
        read -r check pkg <<<"$entry"
        is_present "$check" || { echo "install-deps: $pkg installed but ${check#dpkg:} still missing" >&2; exit 1; }
    done
fi

# The SDK is not an apt package here; CI must provide it.
if ! command -v dotnet >/dev/null 2>&1; then
    echo "install-deps: the .NET SDK is missing ('dotnet' not on PATH); install .NET SDK 10 (see global.json)" >&2
    exit 1
fi
if ! dotnet --list-sdks 2>/dev/null | grep -q '^10\.'; then
    echo "install-deps: no .NET 10 SDK found; 'dotnet --list-sdks' shows:" >&2
    dotnet --list-sdks >&2 || true
    exit 1
fi
