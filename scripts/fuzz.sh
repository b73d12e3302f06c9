#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, seeded from spec/vectors.
# Needs the nightly toolchain and cargo-fuzz (installed here if missing).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(qr_text presentation cbor_roundtrip signed_claims trust_bundle status_list refresh scan_image)

# Seed corpora from the spec's vectors.
python3 - <<'PY'
import json, glob, os, base64
def b45(s):
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    out = bytearray()
    for i in range(0, len(s), 3):
        chunk = s[i:i+3]
        if len(chunk) < 2 or any(ch not in alphabet for ch in chunk):
            return None
        n = sum(alphabet.index(ch) * 45**k for k, ch in enumerate(chunk))
        width = 2 if len(chunk) == 3 else 1
        if n >= 256**width:
            return None
        out += n.to_bytes(width, "big")
    return bytes(out)
for d in ("qr_text", "presentation", "cbor_roundtrip", "signed_claims", "trust_bundle", "status_list", "refresh", "scan_image"):
    os.makedirs(f"corpus/{d}", exist_ok=True)
ctx = json.load(open("../spec/vectors/context.json"))
open("corpus/trust_bundle/seed", "wb").write(bytes.fromhex(ctx["trust_bundle"]))
open("corpus/status_list/seed", "wb").write(bytes.fromhex(ctx["status_list"]))
for path in sorted(glob.glob("../spec/vectors/presentations/*.json")):
    v = json.load(open(path))
    name = os.path.basename(path)[:-5]
    text = v["input"]
    if len(text) < 5000:
        open(f"corpus/qr_text/{name}", "w").write(text)
    if text.startswith("DL1:"):
        raw = b45(text[4:].rstrip("\r\n"))
        if raw:
            open(f"corpus/presentation/{name}", "wb").write(raw)
            open(f"corpus/cbor_roundtrip/{name}", "wb").write(raw)
PY
for target in "${targets[@]}"; do
  echo "== $target (${seconds}s)"
  cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 2>&1 | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs|ERROR|SUMMARY|crash-|timeout-|oom-" || true
done
