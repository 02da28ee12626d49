#!/usr/bin/env bash
# Regenerates the sample artifacts v1, v2 and v3: copies each version's object from bpf/obj, writes manifest.json
# pinning its SHA-256 and the source commit, and signs the manifest with the DEMO ONLY key (samples/keys/).
#   v1 (1.0.0): bpf/src/lifecycle_xdp.c, counts packets in the state map 'packets'.
#   v2 (1.1.0): bpf/src/lifecycle_xdp_v2.c, also counts packets per IP protocol in a new state map 'protocols';
#               'packets' is declared as in v1, so it carries over from v1.
#   v3 (1.2.0): v2's object built faulty on purpose (error_every = 4: every fourth packet is aborted and counted
#               as an error), so a canary rollout of v3 is rolled back by its health rules.
# bpf/build.sh builds objects reproducibly, so the objects and manifests only change when the C sources do.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
key="$repo/samples/keys/DEMO-ONLY-signing-key.pem"
# An Ethernet + IPv4 + UDP frame (65 bytes): the verdict for ordinary traffic must be XDP_PASS (2).
packet="02000000000102000000000208004500002e000040004011000000000a0000020a00000130393039001a0000627066632d6c6966656379636c652d746573740000"

make_one() { # dir version source state-maps-json globals-json test-vectors-json
  local dir="$here/$1" version="$2" source="$3" state="$4" globals="$5" vectors="$6"
  local obj="$repo/bpf/obj/$source.o"
  [ -f "$obj" ] || bash "$repo/bpf/build.sh"
  local commit sha
  commit="$(git -C "$repo" log -1 --format=%h -- "bpf/src/$source.c" bpf/include/bpf_lifecycle.h 2>/dev/null || true)"
  sha="$(sha256sum "$obj" | cut -d' ' -f1)"
  mkdir -p "$dir"
  cp "$obj" "$dir/lifecycle_xdp.o"
  cat > "$dir/manifest.json" <<JSON
{
  "name": "lifecycle-xdp",
  "version": "$version",
  "commit": "${commit:-unknown}",
  "object": { "file": "lifecycle_xdp.o", "sha256": "$sha" },
  "programs": [ { "name": "lifecycle_xdp", "attach": [] } ],
  "stateMaps": $state,
  "testVectors": $vectors,
  "globals": $globals,
  "limits": { "maxMapMemoryBytes": 4194304, "maxCpuShare": 0.25 }
}
JSON
  # ECDSA signatures differ on every run: keep a signature that still verifies, so unchanged artifacts stay unchanged.
  if ! openssl dgst -sha256 -verify "$repo/samples/keys/demo-signing.pub.pem" -signature "$dir/manifest.json.sig" "$dir/manifest.json" >/dev/null 2>&1; then
    openssl dgst -sha256 -sign "$key" -out "$dir/manifest.json.sig" "$dir/manifest.json"
  fi
  openssl dgst -sha256 -verify "$repo/samples/keys/demo-signing.pub.pem" -signature "$dir/manifest.json.sig" "$dir/manifest.json" >/dev/null
  echo "$1: lifecycle-xdp $version from bpf/src/$source.c, object $sha"
}

pass_vector='[ { "name": "udp-passes", "program": "lifecycle_xdp", "inputHex": "'"$packet"'", "expectedVerdict": 2 } ]'
make_one v1 1.0.0 lifecycle_xdp '[ "packets" ]' '{ "verdict": 2, "error_every": 0 }' "$pass_vector"
make_one v2 1.1.0 lifecycle_xdp_v2 '[ "packets", "protocols" ]' '{ "verdict": 2, "error_every": 0 }' "$pass_vector"
# v3's fault only shows under traffic (one packet in four), so it carries no test vector that a single run could trip.
make_one v3 1.2.0 lifecycle_xdp_v2 '[ "packets", "protocols" ]' '{ "verdict": 2, "error_every": 4 }' '[]'
