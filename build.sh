#!/usr/bin/env bash
# Publishes the NativeAOT executable to out/imageimportd.
# Installs the native toolchain NativeAOT links with (clang, lld, zlib) when missing.
set -euo pipefail
cd "$(dirname "$0")"

bash scripts/install-deps.sh

case "$(uname -m)" in
    x86_64) rid=linux-x64 ;;
    aarch64) rid=linux-arm64 ;;
    *) echo "build.sh: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# -v:quiet still shows warnings, so an AOT or trim warning is visible (and, as a warning, an error).
dotnet publish cli/Imageimportd.Cli.csproj -c Release -r "$rid" -o out -nologo -v:quiet
rm -f out/*.dbg out/*.pdb
ls -l out/imageimportd
