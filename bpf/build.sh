#!/usr/bin/env bash
# Rebuilds every BPF C source under bpf/src into bpf/obj/<name>.o with clang.
# --check builds into a temporary directory and fails if any committed object differs from its source.
# Objects are reproducible: the build directory is mapped to '.' so two clones produce identical bytes.
set -euo pipefail
cd "$(dirname "$0")"
CLANG=${CLANG:-$(command -v clang-14 || command -v clang)}
STRIP=${LLVM_STRIP:-$(command -v llvm-strip-14 || command -v llvm-strip)}
ARCH_INC="/usr/include/$(uname -m)-linux-gnu"

out=obj
check=0
if [ "${1:-}" = "--check" ]; then
  check=1
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

for src in src/*.c; do
  name=$(basename "$src" .c)
  "$CLANG" -target bpf -O2 -g -Wall -Werror \
    -ffile-prefix-map="$PWD"=. -fdebug-prefix-map="$PWD"=. \
    -I include -I "$ARCH_INC" \
    -c "$src" -o "$out/$name.o"
  # Drop DWARF (keeps .BTF and .BTF.ext, which the loader needs).
  "$STRIP" -g "$out/$name.o"
done

if [ $check -eq 1 ]; then
  bad=0
  for o in "$out"/*.o; do
    name=$(basename "$o")
    if ! cmp -s "$o" "obj/$name"; then
      echo "bpf/obj/$name does not match bpf/src/${name%.o}.c" >&2
      bad=1
    fi
  done
  for o in obj/*.o; do
    [ -e "$out/$(basename "$o")" ] || { echo "bpf/$o has no source" >&2; bad=1; }
  done
  exit $bad
fi
