#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine for the SDK's samples and tests: installs the kernel-side tools
# (iproute2, libbpf, clang for BPF C, bpftool, openssl) when missing and mounts bpffs.
# Idempotent; safe to run on every invocation. Needs root for installs and the mount.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
# python3 sends test traffic inside namespaces; gcc, libc6-dev and binutils build and inspect test and baseline C.
for pkg in iproute2 libbpf1 libbpf-dev clang-14 llvm-14 bpftool openssl python3 gcc libc6-dev binutils; do
  have_pkg "$pkg" || need+=("$pkg")
done

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: not root; missing packages (${need[*]}) cannot be installed; kernel tests will skip." >&2
  fi
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { found = 1 } END { exit !found }' /proc/mounts; then
  mkdir -p /sys/fs/bpf
  mount -t bpf bpf /sys/fs/bpf
fi

# Tracepoint ids are read from tracefs.
if [ -d /sys/kernel/tracing ] && ! awk '$2 == "/sys/kernel/tracing" { found = 1 } END { exit !found }' /proc/mounts; then
  mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
fi
