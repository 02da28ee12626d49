#!/usr/bin/env bash
# The main job: prepares the machine (packages, bpffs) and runs the lifecycle host's demo on a veth pair and
# network namespace it creates and removes. Extra arguments go to `bpflc demo` (e.g. --keep).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
exec dotnet run -c Release --project samples/BpfLifecycle.Host -- demo "$@"
