#!/usr/bin/env bash
# Regenerates the sample artifacts v1, v2 and v3 from bpf/obj/lifecycle_xdp.o: copies the object, writes
# manifest.json pinning its SHA-256, and signs the manifest with the DEMO ONLY key (samples/keys/).
# v1 and v2 are healthy; v3 is built faulty on purpose (error_every = 4: every fourth packet is aborted and
# counted as an error), so a canary rollout of v3 is rolled back by its health rules.
# bpf/build.sh builds objects reproducibly, so the objects and manifests only change when the C source does.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
obj="$repo/bpf/obj/lifecycle_xdp.o"
key="$repo/samples/keys/DEMO-ONLY-signing-key.pem"
[ -f "$obj" ] || bash "$repo/bpf/build.sh"
commit="$(git -C "$repo" log -1 --format=%h -- bpf/src/lifecycle_xdp.c bpf/include/bpf_lifecycle.h 2>/dev/null || echo unknown)"
sha="$(sha256sum "$obj" | cut -d' ' -f1)"
# An Ethernet + IPv4 + UDP frame (65 bytes): the verdict for ordinary traffic must be XDP_PASS (2).
packet="02000000000102000000000208004500002e000040004011000000000a0000020a00000130393039001a0000627066632d6c6966656379636c652d746573740000"

make_one() { # dir version globals-json test-vectors-json
  local dir="$here/$1" version="$2" globals="$3" vectors="$4"
  mkdir -p "$dir"
  cp "$obj" "$dir/lifecycle_xdp.o"
  cat > "$dir/manifest.json" <<JSON
{
  "name": "lifecycle-xdp",
  "version": "$version",
  "commit": "$commit",
  "object": { "file": "lifecycle_xdp.o", "sha256": "$sha" },
  "programs": [ { "name": "lifecycle_xdp", "attach": [] } ],
  "stateMaps": [ "packets" ],
  "testVectors": $vectors,
  "globals": $globals,
  "limits": { "maxMapMemoryBytes": 4194304, "maxCpuShare": 0.25 }
}
JSON
  openssl dgst -sha256 -sign "$key" -out "$dir/manifest.json.sig" "$dir/manifest.json"
  openssl dgst -sha256 -verify "$repo/samples/keys/demo-signing.pub.pem" -signature "$dir/manifest.json.sig" "$dir/manifest.json" >/dev/null
  echo "$1: lifecycle-xdp $version, object $sha"
}

pass_vector='[ { "name": "udp-passes", "program": "lifecycle_xdp", "inputHex": "'"$packet"'", "expectedVerdict": 2 } ]'
make_one v1 1.0.0 '{ "verdict": 2, "error_every": 0 }' "$pass_vector"
make_one v2 1.1.0 '{ "verdict": 2, "error_every": 0 }' "$pass_vector"
# v3's fault only shows under traffic (one packet in four), so it carries no test vector that a single run could trip.
make_one v3 1.2.0 '{ "verdict": 2, "error_every": 4 }' '[]'
