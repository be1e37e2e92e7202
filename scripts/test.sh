#!/usr/bin/env bash
# Runs the test suite against every containerd version line a node is likely to run, each with its own TRX:
#   1.6  the system's (Debian bookworm): every test
#   1.7  Debian trixie's, 2  Debian sid's (scripts/fetch-containerd.sh): every test that needs containerd
#        (unit, compression and daemon-unit tests, and those in category NoContainerd, do not depend on it
#        and run once, with 1.6)
# Prints "containerd <version>: N passed, N failed" per version, then the plain line "N passed, N failed"
# (the sum), counted from the TRX results, so a run that executed no test is visible. A version that cannot
# be fetched or started counts as a failure, never a skip.
#
# Extra arguments go to every `dotnet test` (e.g. --filter "FullyQualifiedName~Something"; for 1.7 and 2 it
# is combined with theirs). TEST_CONTAINERD="1.6" (or "1.7 2", ...) chooses the versions; default all three.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
readonly RESULTS=out/test-results
readonly LINES=${TEST_CONTAINERD:-"1.6 1.7 2"}
# The tests that need no containerd (the same set as `make unit`).
readonly NO_CONTAINERD='FullyQualifiedName~.Unit.|FullyQualifiedName~.Compression.|FullyQualifiedName~.Daemon.'
# Category NoContainerd: tests outside those folders that need no containerd either (the .deb, the DaemonSet schema).
readonly NEEDS_CONTAINERD='FullyQualifiedName!~.Unit.&FullyQualifiedName!~.Compression.&FullyQualifiedName!~.Daemon.&TestCategory!=NoContainerd'
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# Split a --filter out of the arguments, so it can be combined with the per-version one.
user_filter=""
args=()
while (($#)); do
    case "$1" in
        --filter) user_filter=${2-}; shift 2 || shift ;;
        --filter=*) user_filter=${1#--filter=}; shift ;;
        *) args+=("$1"); shift ;;
    esac
done

# Counts from one TRX: prints "passed failed executed", or nothing when the file is missing.
count_trx() {
    local trx=$1 counters
    [[ -f "$trx" ]] || return 1
    counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
    get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
    echo "$(( $(get passed) + 0 )) $(( $(get failed) + $(get error) + $(get timeout) + 0 )) $(( $(get executed) + 0 ))"
}

# Built once; every version's run uses the same test binaries.
if ! dotnet build test/Imageimportd.Tests.csproj -c Release --nologo -v quiet; then
    echo "test.sh: the tests do not build" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

total_passed=0
total_failed=0
status=0
summary=()
for line in $LINES; do
    if [[ "$line" == 1.6 ]]; then
        filter=$user_filter
    elif [[ -n "$user_filter" ]]; then
        filter="($user_filter)&$NEEDS_CONTAINERD"
    else
        filter=$NEEDS_CONTAINERD
    fi

    echo "==== containerd $line ===="
    if ! bin=$(bash scripts/fetch-containerd.sh "$line"); then
        echo "test.sh: containerd $line could not be fetched" >&2
        summary+=("containerd $line: 0 passed, 1 failed")
        total_failed=$((total_failed + 1))
        status=1
        continue
    fi
    if ! version=$("$bin/containerd" --version 2>&1 | awk '{ sub(/^v/, "", $3); print $3 }') || [[ -z "$version" ]]; then
        echo "test.sh: containerd $line in $bin does not run" >&2
        summary+=("containerd $line: 0 passed, 1 failed")
        total_failed=$((total_failed + 1))
        status=1
        continue
    fi

    dir="$RESULTS/$line"
    IMAGEIMPORTD_TEST_CONTAINERD_BIN=$bin dotnet test test/Imageimportd.Tests.csproj -c Release --nologo --no-build \
        --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
        --results-directory "$dir" ${filter:+--filter "$filter"} "${args[@]}" 2>&1 | grep --line-buffered -vE '^\s*(Passed|Skipped) '
    run_status=${PIPESTATUS[0]}

    if ! counts=$(count_trx "$dir/results.trx"); then
        echo "test.sh: no results file for containerd $version: the test run did not happen" >&2
        passed=0 failed=1
    else
        read -r passed failed executed <<<"$counts"
        if ((executed == 0)); then
            echo "test.sh: no test executed on containerd $version" >&2
            run_status=1
        fi
    fi
    if ((run_status != 0 && failed == 0)); then
        # dotnet test failed outside any test (build, host crash, nothing executed): still a failure.
        echo "test.sh: dotnet test exited $run_status on containerd $version with no failed test" >&2
        failed=1
    fi
    if ((failed > 0)); then
        status=1
    fi
    summary+=("containerd $version: $passed passed, $failed failed")
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

printf '%s\n' "${summary[@]}"
echo "${total_passed} passed, ${total_failed} failed"
exit "$status"
