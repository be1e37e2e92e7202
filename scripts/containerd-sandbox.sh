#!/usr/bin/env bash
# A throwaway private containerd (own root, state and sockets under DIR).
#   containerd-sandbox.sh start DIR   -> prints the gRPC socket path
#   containerd-sandbox.sh stop DIR    -> stops it and unmounts leftovers under DIR
# The config comes from containerd-config.toml.in (containerd-config-v3.toml.in for 2.x) next to this
# script, the same template the C# harness renders, so both get the same containerd.
# IMAGEIMPORTD_TEST_CONTAINERD_BIN=DIR runs the containerd, ctr and containerd-shim-runc-v2 in DIR
# (scripts/fetch-containerd.sh prints such a DIR) instead of the system's.
set -euo pipefail

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly TEMPLATE="$SCRIPT_DIR/containerd-config.toml.in"
readonly TEMPLATE_V3="$SCRIPT_DIR/containerd-config-v3.toml.in"
if [[ -n "${IMAGEIMPORTD_TEST_CONTAINERD_BIN:-}" ]]; then
    [[ -x "$IMAGEIMPORTD_TEST_CONTAINERD_BIN/containerd" ]] ||
        { echo "containerd-sandbox: no containerd in IMAGEIMPORTD_TEST_CONTAINERD_BIN=$IMAGEIMPORTD_TEST_CONTAINERD_BIN" >&2; exit 1; }
    # First on PATH: containerd finds that version's shim there, and ctr below is that version's.
    PATH="$(cd "$IMAGEIMPORTD_TEST_CONTAINERD_BIN" && pwd -P):$PATH"
    export PATH
fi
readonly START_TIMEOUT_S=20
readonly STOP_TIMEOUT_S=10

die() {
    echo "containerd-sandbox: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

log_tail() {
    local dir=$1
    if [[ -f "$dir/containerd.log" ]]; then
        echo "---- last lines of $dir/containerd.log ----" >&2
        tail -n 30 "$dir/containerd.log" >&2
    fi
}

# kill -0 succeeds on zombies (our own unreaped child), so look at the state.
alive() {
    local pid=$1
    [[ -r "/proc/$pid/status" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$pid/status" 2>/dev/null
}

# The PID file is only trusted if that PID is still a containerd using our config,
# so a recycled PID is never signalled.
running_pid() {
    local dir=$1 pid cmdline
    [[ -f "$dir/containerd.pid" ]] || return 1
    pid=$(<"$dir/containerd.pid")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    [[ "$cmdline" == *containerd*"$dir/config.toml"* ]] || return 1
    echo "$pid"
}

# containerd 2.x reads the version 3 layout; 1.6 and 1.7 the version 2 one.
template() {
    local version
    version=$(containerd --version | awk '{ print $3 }')
    if [[ "${version#v}" == [2-9].* ]]; then
        echo "$TEMPLATE_V3"
    else
        echo "$TEMPLATE"
    fi
}

render_config() {
    local dir=$1 escaped template
    template=$(template)
    [[ -f "$template" ]] || die "template not found: $template"
    # Escape sed replacement metacharacters in the path.
    escaped=$(printf '%s' "$dir" | sed -e 's/[\\&|]/\\&/g')
    sed -e "s|@DIR@|$escaped|g" "$template" >"$dir/config.toml"
}

cmd_start() {
    local dir=$1 sock pid deadline plugins
    command -v containerd >/dev/null || die "containerd not installed (run scripts/install-deps.sh)"
    command -v ctr >/dev/null || die "ctr not installed (run scripts/install-deps.sh)"
    [[ $EUID -eq 0 ]] || die "must run as root (overlayfs mounts)"

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd -P)
    sock="$dir/containerd.sock"
    # sun_path is 108 bytes including the NUL; the ttrpc socket is the longest path.
    if (( ${#sock} + 6 >= 108 )); then
        die "DIR too long for a unix socket path: $sock.ttrpc"
    fi
    if pid=$(running_pid "$dir"); then
        die "already running in $dir (pid $pid)"
    fi

    mkdir -p "$dir/root" "$dir/state" "$dir/certs.d" "$dir/cni/bin" "$dir/cni/net.d" "$dir/opt"
    render_config "$dir"

    # Detached from our stdio so the caller's pipes close when this script exits.
    containerd --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1 &
    pid=$!
    disown "$pid" 2>/dev/null || true
    echo "$pid" >"$dir/containerd.pid"

    deadline=$((SECONDS + START_TIMEOUT_S))
    until timeout 5 ctr --address "$sock" --connect-timeout 1s version >/dev/null 2>&1; do
        if ! alive "$pid"; then
            log_tail "$dir"
            rm -f "$dir/containerd.pid"
            die "containerd exited during startup"
        fi
        if (( SECONDS >= deadline )); then
            log_tail "$dir"
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$dir/containerd.pid"
            die "containerd not ready after ${START_TIMEOUT_S}s"
        fi
        sleep 0.2
    done

    # required_plugins already makes containerd exit if CRI fails; this catches a template edit.
    # Captured first: with pipefail, grep -q closing the pipe early could fail the check spuriously.
    plugins=$(timeout 5 ctr --address "$sock" plugins ls 2>&1 || true)
    if ! grep -Eq 'io\.containerd\.grpc\.v1[[:space:]]+cri[[:space:]].*[[:space:]]ok[[:space:]]*$' <<<"$plugins"; then
        log_tail "$dir"
        cmd_stop "$dir" >/dev/null || true
        die "CRI plugin (io.containerd.grpc.v1.cri) is not ok"
    fi
    echo "$sock"
}

unmount_under() {
    local dir=$1 mnt
    # /proc/mounts escapes spaces as \040; our DIRs have none. Deepest first.
    awk -v prefix="$dir/" 'index($2, prefix) == 1 { print $2 }' /proc/mounts | sort -r | while read -r mnt; do
        umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || echo "containerd-sandbox: cannot unmount $mnt" >&2
    done
}

cmd_stop() {
    local dir=$1 pid deadline
    [[ -d "$dir" ]] || return 0
    dir=$(cd "$dir" && pwd -P)
    if pid=$(running_pid "$dir"); then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + STOP_TIMEOUT_S))
        while alive "$pid" && (( SECONDS < deadline )); do
            sleep 0.2
        done
        if alive "$pid"; then
            echo "containerd-sandbox: pid $pid ignored TERM for ${STOP_TIMEOUT_S}s, sending KILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 5))
            while alive "$pid" && (( SECONDS < deadline )); do
                sleep 0.1
            done
        fi
    fi
    rm -f "$dir/containerd.pid"
    unmount_under "$dir"
}

[[ $# -eq 2 ]] || usage
case "$1" in
    start) cmd_start "$2" ;;
    stop) cmd_stop "$2" ;;
    *) usage ;;
esac
