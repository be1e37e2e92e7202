#!/usr/bin/env bash
# Validates dist/kubernetes/*.yaml offline against Kubernetes' published schemas, with kubernetes-models from the
# npm registry at the versions pinned in dist/kubernetes/validate/package-lock.json (installed once into
# out/k8s-validate; `npm ci` again only when the lock file changes). No cluster is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

src=dist/kubernetes/validate
dest=out/k8s-validate
mkdir -p "$dest"
if ! cmp -s "$src/package-lock.json" "$dest/package-lock.json" || [[ ! -d $dest/node_modules ]]; then
    cp "$src/package.json" "$src/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
cp "$src/validate.mjs" "$dest/"
files=("$@")
(( ${#files[@]} > 0 )) || files=(dist/kubernetes/*.yaml)
abs=()
for f in "${files[@]}"; do abs+=("$(realpath "$f")"); done
node "$dest/validate.mjs" "${abs[@]}"
