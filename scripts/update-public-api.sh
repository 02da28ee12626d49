#!/usr/bin/env bash
# Adds every public symbol the build reports as undeclared (RS0016) to its project's PublicAPI.Unshipped.txt, until
# the build has none left. Symbols that were removed (RS0017) are listed for you to delete by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
for _ in 1 2 3 4 5 6; do
  log=$(dotnet build -c Release BpfLifecycle.sln 2>&1 || true)
  added=$(printf '%s\n' "$log" | grep -oE "error RS0016: Symbol '.*' is not part of the declared public API.*\[[^]]*\.csproj\]" | sort -u || true)
  removed=$(printf '%s\n' "$log" | grep -oE "error RS0017: Symbol '[^']*'" | sort -u || true)
  [ -n "$removed" ] && { echo "Remove these lines from PublicAPI.*.txt:"; printf '%s\n' "$removed"; }
  [ -z "$added" ] && { printf '%s\n' "$log" | grep -E "Warning\(s\)|Error\(s\)"; exit 0; }
  printf '%s\n' "$added" | while IFS= read -r line; do
    symbol=$(printf '%s' "$line" | sed -E "s/^error RS0016: Symbol '(.*)' is not part of the declared public API.*$/\1/")
    project=$(printf '%s' "$line" | sed -E 's/.*\[([^]]*\.csproj)\]$/\1/')
    file="$(dirname "$project")/PublicAPI.Unshipped.txt"
    grep -qxF "$symbol" "$file" || printf '%s\n' "$symbol" >> "$file"
  done
  for file in src/*/PublicAPI.Unshipped.txt; do
    { head -n 1 "$file"; tail -n +2 "$file" | LC_ALL=C sort -u; } > "$file.tmp" && mv "$file.tmp" "$file"
  done
done
echo "RS0016 still reported after several rounds" >&2
exit 1
