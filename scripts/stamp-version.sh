#!/usr/bin/env bash
# Stamps the project version into what names it outside the build: the DaemonSet's image tag. The one source of the
# version is <Version> in Directory.Build.props (the binary's --version, the .deb's and the image's tag come from it
# through the build). `make image` and `make deb` run this, and a test (DaemonSetTests) fails when the checked-in
# manifest's tag is not the version, so a version bump cannot leave the manifest behind.
# Usage: stamp-version.sh [MANIFEST] (default dist/kubernetes/daemonset.yaml); prints the version.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's:.*<Version>\([^<]*\)</Version>.*:\1:p' Directory.Build.props | sed -n 1p)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-.][0-9A-Za-z.-]+)?$ ]] || { echo "stamp-version: no usable <Version> in Directory.Build.props: '$version'" >&2; exit 1; }
manifest=${1:-dist/kubernetes/daemonset.yaml}
grep -q 'image: docker.io/library/imageimportd:' "$manifest" || { echo "stamp-version: $manifest names no imageimportd image" >&2; exit 1; }
# Rewritten only when it differs, so an unchanged manifest keeps its mtime.
if ! grep -q "image: docker.io/library/imageimportd:$version\$" "$manifest"; then
    sed -i -E "s|(image: docker\.io/library/imageimportd:)[^[:space:]]+\$|\1$version|" "$manifest"
fi
echo "$version"
