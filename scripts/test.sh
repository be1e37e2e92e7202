#!/usr/bin/env bash
# Runs the test suite and ends with the plain line "N passed, N failed", counted from the TRX results,
# so a run that executed no test is visible. Extra arguments go to `dotnet test` (e.g. --filter).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
results=out/test-results
rm -rf "$results"
mkdir -p "$results"

dotnet test test/Imageimportd.Tests.csproj -c Release --nologo \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" "$@" 2>&1 | grep -vE '^\s*(Passed|Skipped) ' 
status=${PIPESTATUS[0]}

trx="$results/results.trx"
if [[ ! -f "$trx" ]]; then
    echo "test.sh: no results file: the test run did not happen" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
passed=$(get passed); failed=$(get failed); errors=$(get error); timeouts=$(get timeout); executed=$(get executed)
failed=$(( ${failed:-0} + ${errors:-0} + ${timeouts:-0} ))
passed=${passed:-0}
if (( ${executed:-0} == 0 )); then
    echo "test.sh: no test executed" >&2
    status=1
fi
echo "${passed} passed, ${failed} failed"
if (( failed > 0 )); then
    status=1
fi
exit "$status"
