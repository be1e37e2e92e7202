#!/usr/bin/env bash
# make soak: the watch daemon under churn for SOAK_MINUTES (default 5) against a private containerd: archives
# added, replaced by rename and removed in a loop. Passes when RSS and open file descriptors stay flat after
# warm-up, no import lease leaks, nothing fails, and SIGTERM exits 0. Loopback/unix sockets only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null

bin=$PWD/out/imageimportd
[[ -x "$bin" ]] || ./build.sh
minutes=${SOAK_MINUTES:-5}
work=$(mktemp -d /tmp/imageimportd-soak.XXXXXX)
pid=
cleanup() {
    [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null || true
    bash scripts/containerd-sandbox.sh stop "$work/c" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

sock=$(bash scripts/containerd-sandbox.sh start "$work/c" | tail -1)
ctr() { command ctr --address "$sock" -n k8s.io "$@"; }

# Three distinct small images, built with real tools.
mkdir -p "$work/src/files" "$work/images"
umoci init --layout "$work/src/layout" >/dev/null
umoci new --image "$work/src/layout:base" >/dev/null
cp /etc/os-release "$work/src/files/"
umoci insert --image "$work/src/layout:base" "$work/src/files" /etc/soak >/dev/null
umoci config --image "$work/src/layout:base" --architecture amd64 --os linux >/dev/null
for v in 0 1 2; do
    umoci config --image "$work/src/layout:base" --tag "v$v" --config.cmd "/bin/soak-$v" >/dev/null
    skopeo copy -q --insecure-policy "oci:$work/src/layout:v$v" "docker-archive:$work/src/v$v.tar:docker.io/library/soak:v$v"
done

"$bin" watch --images "$work/images" --address "$sock" --settle 1 --scan-interval 5 >"$work/daemon.log" 2>&1 &
pid=$!
sample() { printf '%s %s %s\n' "$(date +%s)" "$(awk '/VmRSS/{print $2}' "/proc/$pid/status")" "$(ls "/proc/$pid/fd" | wc -l)"; }

echo "soak: ${minutes} min of churn in $work/images (daemon pid $pid)"
end=$(( $(date +%s) + minutes * 60 ))
warm=$(( $(date +%s) + 60 ))
i=0
baseline=
while (( $(date +%s) < end )); do
    cp "$work/src/v$(( i % 3 )).tar" "$work/images/.incoming"
    mv "$work/images/.incoming" "$work/images/f$(( i % 5 )).tar"
    if (( i % 4 == 3 )); then rm -f "$work/images/f$(( (i + 2) % 5 )).tar"; fi
    sleep 1
    if (( i % 10 == 0 )); then
        s=$(sample); echo "$s" >>"$work/samples"
        if [[ -z "$baseline" ]] && (( $(date +%s) >= warm )); then baseline=$s; fi
    fi
    i=$(( i + 1 ))
done
sleep 8
last=$(sample)
echo "$last" >>"$work/samples"
[[ -n "$baseline" ]] || baseline=$(head -1 "$work/samples")

kill -TERM "$pid"
code=0; wait "$pid" || code=$?
pid=

read -r _ rss0 fd0 <<<"$baseline"
read -r _ rss1 fd1 <<<"$last"
leases=$(ctr leases ls -q | grep -c '^imageimportd-' || true)
failed=$(grep -c ' EROR ' "$work/daemon.log" || true)
imported=$(grep -c ' imported /' "$work/daemon.log" || true)
echo "soak: $i changes, $imported imports, $failed failures"
echo "soak: RSS ${rss0} KiB -> ${rss1} KiB, fds ${fd0} -> ${fd1}, import leases left ${leases}, exit ${code}"
ok=1
(( rss1 <= rss0 * 3 / 2 + 8192 )) || { echo "soak: RSS grew"; ok=0; }
(( fd1 <= fd0 + 8 )) || { echo "soak: file descriptors grew"; ok=0; }
(( leases == 0 )) || { echo "soak: leases leaked"; ok=0; }
(( failed == 0 )) || { echo "soak: imports failed:"; grep ' EROR ' "$work/daemon.log" | head; ok=0; }
(( code == 0 )) || { echo "soak: SIGTERM exit status $code"; ok=0; }
(( ok == 1 )) && echo "soak: passed" || { echo "soak: FAILED"; exit 1; }
