#!/usr/bin/env bash
# Fetches one containerd version line from Debian's own packages, without installing it:
#   fetch-containerd.sh 1.7   -> Debian trixie's containerd
#   fetch-containerd.sh 2     -> Debian sid's containerd
#   fetch-containerd.sh 1.6   -> the system's containerd (bookworm, installed by install-deps.sh)
# Prints the directory holding that version's containerd, ctr and containerd-shim-runc-v2.
#
# The .deb is downloaded through a private apt state under out/containerd-versions/apt (its own sources
# file, lists, cache and status file), so the machine's apt sources and dpkg database are untouched, and
# extracted with dpkg-deb -x to out/containerd-versions/<line>/. The archive mirror is the one this
# machine's apt already uses (read from its sources at run time). A second run downloads nothing.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly BASE="${CONTAINERD_VERSIONS_DIR:-$ROOT/out/containerd-versions}"
readonly APT_DIR="$BASE/apt"
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() {
    echo "fetch-containerd: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 1.6|1.7|2" >&2
    exit 2
}

# The URI of the main Debian archive in this machine's apt configuration: the first deb822 stanza (or
# one-line entry) whose suites include a plain release name (no -security, -updates or /updates suffix).
mirror_uri() {
    local file uri
    for file in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$file" ]] || continue
        uri=$(awk '
            function flush() {
                if (uris != "" && plain && types ~ /(^|[[:space:]])deb([[:space:]]|$)/ && !found) { split(uris, u, /[[:space:]]+/); print u[1]; found = 1 }
                uris = ""; plain = 0; types = ""
            }
            /^[[:space:]]*$/ { flush(); next }
            /^[[:space:]]*#/ { next }
            tolower($1) == "types:" { $1 = ""; types = $0 }
            tolower($1) == "uris:" { $1 = ""; sub(/^[[:space:]]+/, ""); uris = $0 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+$/) plain = 1 }
            END { flush() }' "$file")
        if [[ -n "$uri" ]]; then
            echo "$uri"
            return 0
        fi
    done
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$file" ]] || continue
        # deb [options] URI SUITE COMPONENTS...
        uri=$(sed -e 's/\[[^]]*\]//' "$file" | awk '$1 == "deb" && $3 ~ /^[a-z]+$/ { print $2; exit }')
        if [[ -n "$uri" ]]; then
            echo "$uri"
            return 0
        fi
    done
    return 1
}

apt_opts() {
    echo -o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" \
        -o "Dir::State::Status=$APT_DIR/status" -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
        -o Acquire::Languages=none -o APT::Architecture="$(dpkg --print-architecture)"
}

# The system's containerd: bookworm's package, installed by install-deps.sh.
system_dir() {
    local dir="$BASE/1.6"
    local containerd ctr shim
    containerd=$(command -v containerd) || die "containerd 1.6 not installed (run scripts/install-deps.sh)"
    ctr=$(command -v ctr) || die "ctr not installed (run scripts/install-deps.sh)"
    shim=$(command -v containerd-shim-runc-v2) || die "containerd-shim-runc-v2 not installed (run scripts/install-deps.sh)"
    # Links, so this line has a directory of its own like the others (the harness puts it first on PATH).
    mkdir -p "$dir"
    ln -sfn "$containerd" "$dir/containerd"
    ln -sfn "$ctr" "$dir/ctr"
    ln -sfn "$shim" "$dir/containerd-shim-runc-v2"
    echo "$dir"
}

fetch() {
    local line=$1 suite=$2
    local dir="$BASE/$line" bin="$BASE/$line/usr/bin" uri deb
    if [[ -x "$bin/containerd" && -x "$bin/ctr" && -x "$bin/containerd-shim-runc-v2" ]]; then
        echo "$bin"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get missing"
    [[ -f "$KEYRING" ]] || die "$KEYRING missing (package debian-archive-keyring)"
    uri=$(mirror_uri) || die "no Debian archive URI found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"

    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/debs/$line"
    touch "$APT_DIR/status"
    echo "deb [signed-by=$KEYRING] $uri $suite main" >"$APT_DIR/sources.list.$suite"
    cp "$APT_DIR/sources.list.$suite" "$APT_DIR/sources.list"
    # One suite at a time, so "containerd" resolves to that suite's package only.
    rm -rf "$APT_DIR/lists"
    mkdir -p "$APT_DIR/lists/partial"
    echo "fetch-containerd: containerd $line from Debian $suite ($uri)" >&2
    # shellcheck disable=SC2046 # apt_opts is a list of words without spaces inside.
    apt-get $(apt_opts) -qq update >&2 || die "apt-get update for $suite failed"
    # shellcheck disable=SC2046
    (cd "$APT_DIR/debs/$line" && rm -f ./*.deb && apt-get $(apt_opts) -qq download containerd >&2) ||
        die "apt-get download containerd ($suite) failed"
    deb=$(ls "$APT_DIR/debs/$line"/containerd_*.deb 2>/dev/null | head -1)
    [[ -n "$deb" ]] || die "no containerd .deb downloaded for $suite"
    # The lists are large and only needed for this download.
    rm -rf "$APT_DIR/lists"

    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    dpkg-deb -x "$deb" "$dir.tmp" || die "dpkg-deb -x $deb failed"
    for tool in containerd ctr containerd-shim-runc-v2; do
        [[ -x "$dir.tmp/usr/bin/$tool" ]] || die "$deb has no usr/bin/$tool"
    done
    "$dir.tmp/usr/bin/containerd" --version >/dev/null || die "$deb's containerd does not run on this machine"
    rm -rf "$dir"
    mv "$dir.tmp" "$dir"
    echo "$bin"
}

[[ $# -eq 1 ]] || usage
case "$1" in
    1.6) system_dir ;;
    1.7) fetch 1.7 trixie ;;
    2 | 2.x) fetch 2 sid ;;
    *) usage ;;
esac
