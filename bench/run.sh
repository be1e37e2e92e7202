#!/usr/bin/env bash
# imageimportd benchmark: `import-once` vs `ctr images import` vs a read+hash floor, each import against a
# fresh private containerd (scripts/containerd-sandbox.sh). Writes bench/RESULTS.md (see bench/report.sh).
#
# Env:
#   BENCH_SIZES="100 1000"  archive sizes in MiB (uncompressed)
#   BENCH_RUNS=3            runs per contender (median reported)
#   BENCH_QUICK=1           only 100 MiB, 1 run (sanity check)
#   BENCH_COMPRESSIONS="none gz zst"
#   BENCH_REIMPORT="unpack"  modes (no-unpack, unpack) whose runs also time a re-import of the same file
#   BENCH_OUT=bench/RESULTS.md
#   BENCH_CONTAINERD=1.6    containerd version line: 1.6 (the system's, Debian bookworm), 1.7 (Debian trixie's) or
#                           2 (Debian sid's), fetched by scripts/fetch-containerd.sh; its ctr is the ctr contender
#   BENCH_ROOT_FS=fresh     where each run's containerd root lives: fresh (default) = a new ext4 with a journal, on a
#                           loop device over a sparse file in bench/work, made for the run and removed after it;
#                           dir = a plain directory under bench/work (the disk's own filesystem, as before 2026-12-01)
#   BENCH_APPEND=1          keep the samples of the previous run (bench/work/raw.tsv) and add these to them,
#                           e.g. a second invocation for another size; times in RESULTS.md are then summed
# Archives are cached under bench/work/archives/ (keyed by size); raw samples go to bench/work/raw.tsv,
# per-run logs to bench/work/logs/.
set -euo pipefail

readonly BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
readonly ROOT="$(cd "$BENCH_DIR/.." && pwd -P)"
cd "$ROOT"

SIZES=${BENCH_SIZES:-"100 1000"}
RUNS=${BENCH_RUNS:-3}
COMPRESSIONS=${BENCH_COMPRESSIONS:-"none gz zst"}
REIMPORT=${BENCH_REIMPORT:-"unpack"}
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
    SIZES=100
    RUNS=1
fi
readonly SIZES RUNS COMPRESSIONS REIMPORT
readonly OUT_MD=${BENCH_OUT:-$BENCH_DIR/RESULTS.md}
readonly WORK="$BENCH_DIR/work"
readonly ARCHIVES="$WORK/archives"
readonly LOGS="$WORK/logs"
readonly RAW="$WORK/raw.tsv"
readonly META="$WORK/meta.env"
readonly BUILT="$ROOT/out/imageimportd"
# A private copy: other builds in this repo may replace out/imageimportd during the run.
readonly BIN="$WORK/imageimportd"
readonly SANDBOX="$ROOT/scripts/containerd-sandbox.sh"
readonly NS=bench
readonly CLK_TCK=$(getconf CLK_TCK)
# A hung import must not hang the benchmark.
readonly IMPORT_TIMEOUT_S=900

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (private containerd with overlayfs)"

# ---- containerd version -----------------------------------------------------------------------------
readonly CONTAINERD_LINE=${BENCH_CONTAINERD:-1.6}
CONTAINERD_BIN=$(bash "$ROOT/scripts/fetch-containerd.sh" "$CONTAINERD_LINE") ||
    die "containerd $CONTAINERD_LINE could not be fetched (BENCH_CONTAINERD=1.6|1.7|2)"
# The sandbox script starts this version's containerd (and shim); its ctr is first on PATH for the ctr runs.
export IMAGEIMPORTD_TEST_CONTAINERD_BIN=$CONTAINERD_BIN
export PATH="$CONTAINERD_BIN:$PATH"
CONTAINERD_VERSION=$(containerd --version | awk '{ print $3 }')
readonly CONTAINERD_BIN CONTAINERD_VERSION
log "containerd $CONTAINERD_VERSION ($CONTAINERD_BIN)"

# ---- tools ----------------------------------------------------------------------------------------
if ! [[ -x /usr/bin/time ]]; then
    log "installing GNU time"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi
for tool in containerd ctr umoci skopeo zstd gzip sha256sum; do
    command -v "$tool" >/dev/null || die "$tool missing (run scripts/install-deps.sh)"
done
if [[ ! -x "$BUILT" ]]; then
    log "out/imageimportd missing; building"
    ./build.sh
fi

mkdir -p "$ARCHIVES" "$LOGS"
cp -f "$BUILT" "$BIN"
bench_start=$SECONDS

# ---- archives -------------------------------------------------------------------------------------
for size in $SIZES; do
    t0=$SECONDS
    bash "$BENCH_DIR/gen-archive.sh" "$size" "$ARCHIVES"
    log "archive ${size}m ready ($((SECONDS - t0)) s)"
done
gen_s=$((SECONDS - bench_start))

# ---- page cache -----------------------------------------------------------------------------------
DROP=0
if (sync && echo 3 >/proc/sys/vm/drop_caches) 2>/dev/null; then
    DROP=1
fi
drop_caches() {
    if (( DROP )); then
        sync
        echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
    fi
}

# ---- sandbox lifecycle ----------------------------------------------------------------------------
# Why a fresh filesystem per run: a run's root holds tens of thousands of files once unpacked, and removing it makes
# the next run pay for it on ext4 without a journal (this machine's disk): the inode allocator then reads the inode
# table around every recently deleted inode (ext4's recently_deleted(), 60 s), which perf showed as a quarter of the
# CPU of the unpack that followed, landing on whichever contender ran next. A node's /var/lib/containerd is usually
# ext4 with a journal (no such check) that has not just lost 60,000 files. Each run gets a new one here.
ROOT_FS=${BENCH_ROOT_FS:-fresh}
[[ $ROOT_FS == fresh || $ROOT_FS == dir ]] || die "BENCH_ROOT_FS must be fresh or dir, not $ROOT_FS"
readonly ROOT_FS
ROOT_FS_MIB=$(( $(printf '%s\n' $SIZES | sort -n | tail -n 1) * 6 + 4096 ))
readonly ROOT_FS_MIB
CUR_DIR=""
CUR_LOOP=""
sandbox_start() {
    CUR_DIR=$(mktemp -d "$WORK/sbx.XXXXXX")
    if [[ $ROOT_FS == fresh ]]; then
        truncate -s "${ROOT_FS_MIB}M" "$CUR_DIR.img"
        # Direct I/O: the loop device does not keep a second copy of every page in the cache of the file behind it.
        CUR_LOOP=$(losetup --find --show --direct-io=on "$CUR_DIR.img")
        mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$CUR_LOOP"
        mount "$CUR_LOOP" "$CUR_DIR"
    fi
    SOCK=$(bash "$SANDBOX" start "$CUR_DIR")
    CD_PID=$(<"$CUR_DIR/containerd.pid")
}
sandbox_stop() {
    if [[ -n "$CUR_DIR" ]]; then
        bash "$SANDBOX" stop "$CUR_DIR" || true
        if [[ -n "$CUR_LOOP" ]]; then
            umount "$CUR_DIR" || umount -l "$CUR_DIR" || true
            losetup -d "$CUR_LOOP" || true
            rm -f "$CUR_DIR.img"
            CUR_LOOP=""
        fi
        rm -rf "$CUR_DIR"
        CUR_DIR=""
    fi
}
trap sandbox_stop EXIT
trap 'exit 130' INT TERM

cd_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$CD_PID/stat"; }
host_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
cd_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$CD_PID/status"; }

# ---- one timed command ----------------------------------------------------------------------------
# measure LABEL CMD...: runs CMD (a shell function or program) with stdout/stderr to the run log.
# CMD writes GNU time's "%e %M %U %S" for the measured process to $TIMEF.
# Sets M_WALL M_RSS_KIB M_CPU M_CD_CPU M_RC.
measure() {
    local label=$1
    shift
    local c0 c1 t0 t1 h0
    TIMEF=$(mktemp "$WORK/time.XXXXXX")
    RUNLOG="$LOGS/$label.log"
    drop_caches
    c0=$( [[ -n "$CUR_DIR" ]] && cd_cpu_ticks || echo 0)
    h0=$(host_busy_ticks)
    t0=$EPOCHREALTIME
    M_RC=0
    "$@" >"$RUNLOG" 2>&1 || M_RC=$?
    t1=$EPOCHREALTIME
    c1=$( [[ -n "$CUR_DIR" ]] && cd_cpu_ticks || echo 0)
    M_HOST_CPU=$(awk -v a="$h0" -v b="$(host_busy_ticks)" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
    M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    M_CD_CPU=$(awk -v a="$c0" -v b="$c1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / hz }')
    # GNU time prefixes "Command exited with non-zero status N" on failure; the numbers are the last line.
    read -r _ M_RSS_KIB u s < <(tail -n 1 "$TIMEF" 2>/dev/null || echo "0 0 0 0")
    M_RSS_KIB=${M_RSS_KIB:-0}
    M_CPU=$(awk -v u="${u:-0}" -v s="${s:-0}" 'BEGIN { printf "%.2f", u + s }')
    rm -f "$TIMEF"
}

gtime() { /usr/bin/time -f '%e %M %U %S' -o "$TIMEF" "$@"; }

# decompressor for a compression name ("" for none)
decomp() {
    case $1 in
        zst) echo "zstd -dc" ;;
        gz) echo "gzip -dc" ;;
        *) echo "" ;;
    esac
}

run_floor() { # FILE COMP
    local dec
    dec=$(decomp "$2")
    if [[ -z "$dec" ]]; then
        gtime sha256sum "$1"
    else
        $dec "$1" | gtime sha256sum
    fi
}

run_imageimportd() { # FILE COMP MODE
    local flags=()
    [[ $3 == no-unpack ]] && flags+=(--no-unpack)
    gtime timeout "$IMPORT_TIMEOUT_S" "$BIN" import-once --address "$SOCK" --namespace "$NS" "${flags[@]}" "$1"
}

run_ctr() { # FILE COMP MODE
    local flags=() dec
    [[ $3 == no-unpack ]] && flags+=(--no-unpack)
    dec=$(decomp "$2")
    if [[ -z "$dec" ]]; then
        gtime timeout "$IMPORT_TIMEOUT_S" ctr --address "$SOCK" -n "$NS" images import --all-platforms "${flags[@]}" "$1"
    else
        $dec "$1" | gtime timeout "$IMPORT_TIMEOUT_S" ctr --address "$SOCK" -n "$NS" images import --all-platforms "${flags[@]}" -
    fi
}

# The image must exist and, when unpacking, have its snapshots (one per layer at least).
verify() { # SIZE MODE
    local images snaps
    images=$(ctr --address "$SOCK" -n "$NS" images ls -q 2>/dev/null || true)
    grep -qx "docker.io/library/bench:${1}m" <<<"$images" || { echo "image docker.io/library/bench:${1}m missing"; return 1; }
    if [[ $2 == unpack ]]; then
        snaps=$(ctr --address "$SOCK" -n "$NS" snapshots --snapshotter overlayfs ls 2>/dev/null | tail -n +2 | wc -l)
        (( snaps >= 2 )) || { echo "only $snaps snapshots after unpack"; return 1; }
    fi
    return 0
}

record() { # SIZE COMP MODE CONTENDER OP RUN CD_HWM STATUS
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$1" "$2" "$3" "$4" "$5" "$6" "$M_WALL" "$M_RSS_KIB" "$M_CPU" "$M_CD_CPU" "$7" "$8" "$(stat -c %s "$FILE")" "$M_HOST_CPU" >>"$RAW"
}

status_of() { # from M_RC and the run log
    if (( M_RC == 0 )); then
        echo ok
    else
        local why
        # First error line, without its timestamp and the archive path.
        why=$(grep -m1 -iE 'fail|error|exception|unsupported' "$RUNLOG" | tr '\t|' '  ' \
            | sed -E 's/^[0-9T:.+-]+ +//; s#[^ ]*/bench/work/archives/##' | cut -c1-140 || true)
        echo "failed rc=$M_RC: ${why:-see $(basename "$RUNLOG")}"
    fi
}

one_import() { # SIZE COMP MODE CONTENDER RUN
    local size=$1 comp=$2 mode=$3 who=$4 run=$5 st why
    local tag="${size}m-${comp}-${mode}-${who}-r${run}"
    sandbox_start
    measure "$tag-import" "run_$who" "$FILE" "$comp" "$mode"
    st=$(status_of)
    if [[ $st == ok ]] && ! why=$(verify "$size" "$mode"); then
        st="failed verify: $why"
    fi
    record "$size" "$comp" "$mode" "$who" import "$run" "$(cd_hwm_kib)" "$st"
    log "$tag import: ${M_WALL}s rss=$((M_RSS_KIB / 1024))MiB cpu=${M_CPU}s containerd=${M_CD_CPU}s $st"
    if [[ $st == ok && " $REIMPORT " == *" $mode "* ]]; then
        measure "$tag-reimport" "run_$who" "$FILE" "$comp" "$mode"
        st=$(status_of)
        record "$size" "$comp" "$mode" "$who" reimport "$run" "$(cd_hwm_kib)" "$st"
        log "$tag reimport: ${M_WALL}s rss=$((M_RSS_KIB / 1024))MiB cpu=${M_CPU}s containerd=${M_CD_CPU}s $st"
    fi
    sandbox_stop
}

# write_report PARTIAL: RESULTS.md from the samples so far; called after every archive, so an
# interrupted run still leaves what it measured.
write_report() {
    cat >"$META" <<EOF
DROP=$DROP
SIZES="$SIZES"
RUNS=$RUNS
COMPRESSIONS="$COMPRESSIONS"
REIMPORT="$REIMPORT"
GEN_S=$((PREV_GEN_S + gen_s))
RUNS_S=$((PREV_RUNS_S + SECONDS - runs_start))
TOTAL_S=$((PREV_TOTAL_S + SECONDS - bench_start))
QUICK=${BENCH_QUICK:-0}
PARTIAL=$1
CONTAINERD_LINE="$CONTAINERD_LINE"
CONTAINERD_VERSION="$CONTAINERD_VERSION"
ROOT_FS=$ROOT_FS
ROOT_FS_MIB=$ROOT_FS_MIB
LOAD_NOTE="load average (1/5/15 min) $load_before before the imports, $(cut -d' ' -f1-3 /proc/loadavg) when this was written (the benchmark itself keeps about 1-2 busy; more means other work shared the 2 CPUs)"
EOF
    bash "$BENCH_DIR/report.sh" "$RAW" "$META" "$ARCHIVES" >"$OUT_MD"
    log "wrote $OUT_MD ($( (($1)) && echo 'partial, ')$((SECONDS - bench_start)) s so far)"
}

# ---- runs -----------------------------------------------------------------------------------------
PREV_GEN_S=0 PREV_RUNS_S=0 PREV_TOTAL_S=0
if [[ "${BENCH_APPEND:-0}" == 1 && -f "$RAW" && -f "$META" ]]; then
    meta_val() { sed -n "s/^$1=//p" "$META"; }
    PREV_GEN_S=$(meta_val GEN_S) PREV_RUNS_S=$(meta_val RUNS_S) PREV_TOTAL_S=$(meta_val TOTAL_S)
    prev_line=$(meta_val CONTAINERD_LINE | tr -d '"')
    [[ "${prev_line:-1.6}" == "$CONTAINERD_LINE" ]] ||
        die "BENCH_APPEND=1: the previous samples are of containerd $prev_line, not $CONTAINERD_LINE"
else
printf 'size_mib\tcomp\tmode\tcontender\top\trun\twall_s\trss_kib\tcpu_s\tcontainerd_cpu_s\tcontainerd_hwm_kib\tstatus\tfile_bytes\thost_busy_cpu_s\n' >"$RAW"
rm -f "$LOGS"/*.log
fi
runs_start=$SECONDS
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for size in $SIZES; do
    for comp in $COMPRESSIONS; do
        FILE="$ARCHIVES/bench-${size}m.tar"
        [[ $comp != none ]] && FILE="$FILE.$comp"
        [[ -f "$FILE" ]] || die "missing $FILE"
        for ((run = 1; run <= RUNS; run++)); do
            measure "${size}m-${comp}-floor-r$run" run_floor "$FILE" "$comp"
            record "$size" "$comp" - floor read+sha256 "$run" 0 "$(status_of)"
            log "${size}m-${comp} floor r$run: ${M_WALL}s"
            # A B on odd runs, B A on even runs, so neither contender always goes first.
            if (( run % 2 )); then order="imageimportd ctr"; else order="ctr imageimportd"; fi
            for mode in no-unpack unpack; do
                for who in $order; do
                    one_import "$size" "$comp" "$mode" "$who" "$run"
                done
            done
        done
        write_report 1
    done
done
write_report 0
