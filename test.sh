#!/usr/bin/env bash
# Runs the whole test suite against the real kernel. Results (xUnit XML) go to artifacts/test-results.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
rm -rf artifacts/test-results
dotnet test --solution BpfLifecycle.sln -c Release --results-directory "$PWD/artifacts/test-results" --report-xunit-xml "$@"
