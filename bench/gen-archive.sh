#!/usr/bin/env bash
# Builds a docker-save-like archive of about SIZE_MB MiB (uncompressed) from copies of host
# files under /usr/lib, /usr/share, /usr/bin, plus .tar.zst and .tar.gz versions.
#   gen-archive.sh SIZE_MB OUTDIR     -> OUTDIR/bench-<SIZE>m.tar{,.zst,.gz} and OUTDIR/bench-<SIZE>m.done
# Image built with umoci (init, new, unpack, then per layer: copy files, fix mtimes, repack),
# packaged with `skopeo copy oci:... docker-archive:...` (no docker). Deterministic on one host:
# sorted file lists, fixed mtimes, fixed created dates. Skips everything when the .done stamp exists.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 SIZE_MB OUTDIR" >&2; exit 2; }
readonly SIZE_MB=$1
readonly OUT=$(mkdir -p "$2" && cd "$2" && pwd -P)
readonly NAME="bench-${SIZE_MB}m"
readonly STAMP="$OUT/$NAME.done"
readonly CREATED="2020-01-01T00:00:00Z"
readonly TOUCH="@0"
export LC_ALL=C

if [[ -f "$STAMP" ]]; then
    echo "gen: $NAME cached" >&2
    exit 0
fi

# Layers of tens of MB: 4 for 100 MB, 16 for 1 GB.
target=$((SIZE_MB * 1024 * 1024))
layer_bytes=$((SIZE_MB / 16))
(( layer_bytes < 25 )) && layer_bytes=25
layer_bytes=$((layer_bytes * 1024 * 1024))

work="$OUT/$NAME.work"
rm -rf "$work"
mkdir -p "$work"
layout="$work/layout"
bundle="$work/bundle"

# Regular files only, readable, not huge (keeps layers even), sorted by path; cut at the target size
# and split into lists of about layer_bytes each.
echo "gen: $NAME: selecting files (~$SIZE_MB MiB, layers ~$((layer_bytes / 1048576)) MiB)" >&2
find /usr/lib /usr/share /usr/bin -xdev -type f -readable -size -8M -printf '%s\t%p\n' 2>/dev/null \
    | sort -t $'\t' -k2,2 \
    | awk -F '\t' -v target="$target" -v lb="$layer_bytes" -v dir="$work" '
        total >= target { next }   # read everything: an early exit would SIGPIPE sort under pipefail
        {
            if (cur >= lb) { n++; cur = 0 }
            f = sprintf("%s/layer-%02d.list", dir, n)
            print substr($2, 2) > f   # path relative to /
            cur += $1; total += $1
        }
        END { printf "gen: selected %d MiB in %d layers\n", total / 1048576, n + 1 > "/dev/stderr" }'

umoci init --layout "$layout"
umoci new --image "$layout:bench"
umoci unpack --image "$layout:bench" "$bundle" >/dev/null
rootfs="$bundle/rootfs"
for list in "$work"/layer-*.list; do
    n=$(basename "$list" .list)
    tar -C / --no-recursion --files-from="$list" -cf - 2>/dev/null | tar -C "$rootfs" -xf -
    find "$rootfs" -print0 | xargs -0 touch -h -d "$TOUCH"
    umoci repack --refresh-bundle --history.created "$CREATED" --history.created_by "COPY $n" \
        --image "$layout:bench" "$bundle" >/dev/null
    echo "gen: $NAME: $n packed" >&2
done
umoci config --image "$layout:bench" --created "$CREATED" --history.created "$CREATED" \
    --history.created_by "umoci config" --architecture amd64 --os linux \
    --config.env "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --config.workingdir / --config.cmd /bin/sh >/dev/null
umoci gc --layout "$layout"

rm -f "$OUT/$NAME.tar" "$OUT/$NAME.tar.zst" "$OUT/$NAME.tar.gz"
skopeo copy -q --insecure-policy "oci:$layout:bench" "docker-archive:$OUT/$NAME.tar:docker.io/library/bench:${SIZE_MB}m"
echo "gen: $NAME.tar $(( $(stat -c %s "$OUT/$NAME.tar") / 1048576 )) MiB; compressing" >&2
zstd -q -T2 -3 -o "$OUT/$NAME.tar.zst" "$OUT/$NAME.tar"
gzip -1 -n -c "$OUT/$NAME.tar" >"$OUT/$NAME.tar.gz"
rm -rf "$work"
touch "$STAMP"
ls -l "$OUT/$NAME".tar* >&2
