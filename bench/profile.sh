#!/usr/bin/env bash
# Where the time goes in one import: CPU of the client (imageimportd or ctr) vs the containerd server,
# sampled from /proc every 0.5 s, plus `perf record` of both if perf is usable.
#   profile.sh FILE [imageimportd|ctr] [unpack|no-unpack]    (not part of `make bench`)
# Output: a timeline on stdout, perf reports under bench/work/profile/.
set -euo pipefail
readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
readonly ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
readonly FILE=$(realpath "$1") WHO=${2:-imageimportd} MODE=${3:-unpack}
readonly OUT="$BENCH_DIR/work/profile"
readonly HZ=$(getconf CLK_TCK)
mkdir -p "$OUT"
dir=$(mktemp -d "$BENCH_DIR/work/sbx.XXXXXX")
trap 'bash "$ROOT/scripts/containerd-sandbox.sh" stop "$dir" || true; rm -rf "$dir"' EXIT
sock=$(bash "$ROOT/scripts/containerd-sandbox.sh" start "$dir")
cdpid=$(<"$dir/containerd.pid")
flags=()
[[ $MODE == no-unpack ]] && flags+=(--no-unpack)

sync
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
iow() { awk '/^cpu / { print $6 }' /proc/stat; }

perf_ok=0
if command -v perf >/dev/null && perf record -q -o /dev/null -- true >/dev/null 2>&1; then perf_ok=1; fi
if (( perf_ok )); then
    perf record -q -F 499 -g -p "$cdpid" -o "$OUT/containerd.perf.data" >/dev/null 2>&1 &
    perf_cd=$!
fi

c0=$(ticks "$cdpid"); w0=$(iow); t0=$EPOCHREALTIME
case $WHO in
    imageimportd)
        if (( perf_ok )); then
            perf record -q -F 499 -g -o "$OUT/client.perf.data" -- \
                "$ROOT/out/imageimportd" import-once --address "$sock" --namespace bench "${flags[@]}" "$FILE" 2>"$OUT/client.log" &
        else
            "$ROOT/out/imageimportd" import-once --address "$sock" --namespace bench "${flags[@]}" "$FILE" 2>"$OUT/client.log" &
        fi ;;
    ctr)
        ctr --address "$sock" -n bench images import --all-platforms "${flags[@]}" "$FILE" >"$OUT/client.log" 2>&1 & ;;
esac
job=$!
sleep 0.2
client=$(pgrep -n -P "$job" 2>/dev/null || echo "$job")
echo "t_s   client_cpu_s  containerd_cpu_s  iowait_ticks"
while kill -0 "$job" 2>/dev/null; do
    printf '%5.1f %12.2f %16.2f %12d\n' "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" \
        "$(awk -v t="$(ticks "$client")" -v hz="$HZ" 'BEGIN { print t / hz }')" \
        "$(awk -v t="$(ticks "$cdpid")" -v c="$c0" -v hz="$HZ" 'BEGIN { print (t - c) / hz }')" $(( $(iow) - w0 ))
    sleep 0.5
done
wait "$job" || echo "client exited with $?"
t1=$EPOCHREALTIME; c1=$(ticks "$cdpid"); w1=$(iow)
echo "wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s; containerd cpu $(awk -v a="$c0" -v b="$c1" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }') s; system iowait $(( (w1 - w0) / HZ )) s (summed over CPUs)"
if (( perf_ok )); then
    kill -INT "$perf_cd" 2>/dev/null || true
    wait "$perf_cd" 2>/dev/null || true
    perf report -q -i "$OUT/containerd.perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | grep -v '^ *|' | grep -v -- '---' | head -n 25 >"$OUT/containerd.top.txt" || true
    [[ -f "$OUT/client.perf.data" ]] && perf report -q -i "$OUT/client.perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^$' | grep -v '^ *|' | grep -v -- '---' | head -n 25 >"$OUT/client.top.txt" || true
    echo "perf top symbols: $OUT/containerd.top.txt $OUT/client.top.txt"
fi
tail -n 3 "$OUT/client.log"
