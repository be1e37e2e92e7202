#!/usr/bin/env bash
# make demo: a throwaway containerd under a temp dir, two sample archives built with real tools,
# `imageimportd import-once` on them, the result as containerd and CRI see it, then containerd stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

bin=$PWD/out/imageimportd
[[ -x "$bin" ]] || ./build.sh
work=$(mktemp -d /tmp/imageimportd-demo.XXXXXX)
trap 'bash scripts/containerd-sandbox.sh stop "$work/containerd" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a private containerd under $work/containerd"
sock=$(bash scripts/containerd-sandbox.sh start "$work/containerd" | tail -1)
ctr() { command ctr --address "$sock" -n k8s.io "$@"; }

say "building sample archives with umoci and skopeo"
mkdir -p "$work/images" "$work/src/files"
umoci init --layout "$work/src/layout" >/dev/null
umoci new --image "$work/src/layout:base" >/dev/null
cp /etc/os-release "$work/src/files/"
umoci insert --image "$work/src/layout:base" "$work/src/files" /etc/demo >/dev/null
umoci config --image "$work/src/layout:base" --config.cmd /bin/sh --architecture amd64 --os linux >/dev/null
skopeo copy -q "oci:$work/src/layout:base" "docker-archive:$work/images/00-demo.tar:docker.io/library/demo:1.0"
# app is an image of its own: a docker-archive and an OCI archive sharing a layer would show containerd's
# uncompressed-label substitution, which makes the docker image's digest depend on what was imported before
# (ctr does the same; see the README).
mkdir -p "$work/src/app"
cp /etc/hostname "$work/src/app/" 2>/dev/null || echo demo > "$work/src/app/hostname"
umoci new --image "$work/src/layout:app" >/dev/null
umoci insert --image "$work/src/layout:app" "$work/src/app" /etc/app >/dev/null
umoci config --image "$work/src/layout:app" --config.cmd /bin/true --architecture amd64 --os linux >/dev/null
skopeo copy -q "oci:$work/src/layout:app" "oci-archive:$work/images/10-app.tar:registry.local/team/app:2.0"
# The same OCI archive again, gzip-compressed as a whole and named .tgz: the decoder is chosen by magic bytes.
gzip -c "$work/images/10-app.tar" > "$work/images/20-app-copy.tgz"
ls -l "$work/images"

say "imageimportd import-once --images $work/images"
"$bin" import-once --address "$sock" --images "$work/images"

say "what containerd sees (ctr -n k8s.io images ls)"
ctr images ls

say "unpacked, ready for kubelet (ctr -n k8s.io images check)"
ctr images check

say "what CRI (kubelet's view) sees"
"$bin" cri-images --address "$sock"

say "a second run changes nothing"
"$bin" import-once --address "$sock" --images "$work/images"

say "stopping containerd"
