#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, seeded from spec/vectors.
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). cargo fuzz
# builds with --cfg fuzzing, under which signature checks are skipped
# (credential::signature::SIGNATURE_CHECKS_SKIPPED), so signed payloads are fuzzed
# directly. Prints each target's executions.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}
# Our crates forbid unsafe code, so AddressSanitizer mostly watches dependencies; it
# costs 2–3× the executions. SANITIZER=address turns it back on.
sanitizer=${SANITIZER:-none}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(qr_text presentation cbor_roundtrip signed_claims trust_bundle status_list refresh scan_image portrait_frame frame_source)

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
for d in ("qr_text", "presentation", "cbor_roundtrip", "signed_claims", "trust_bundle", "status_list", "refresh", "scan_image", "portrait_frame", "frame_source"):
    os.makedirs(f"corpus/{d}", exist_ok=True)
def head(b, i):
    """(major type, argument, next index) of the CBOR item at i."""
    major, info = b[i] >> 5, b[i] & 31
    if info < 24:
        return major, info, i + 1
    width = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return major, int.from_bytes(b[i + 1:i + 1 + width], "big"), i + 1 + width
def sign1_payload(b, i=0):
    """The payload of a tagged COSE_Sign1 starting at i (None if not one)."""
    try:
        major, tag, i = head(b, i)
        if major != 6 or tag != 18:
            return None
        major, n, i = head(b, i)
        if major != 4 or n != 4:
            return None
        _, n, i = head(b, i)
        i += n                      # protected
        _, n, i = head(b, i)        # unprotected: empty map
        _, n, i = head(b, i)
        return b[i:i + n]
    except (IndexError, KeyError):
        return None
ctx = json.load(open("../spec/vectors/context.json"))
for kind, key in (("trust_bundle", "trust_bundle"), ("status_list", "status_list")):
    raw = bytes.fromhex(ctx[key])
    open(f"corpus/{kind}/seed", "wb").write(raw)
    open(f"corpus/{kind}/seed-payload", "wb").write(sign1_payload(raw))
for path in sorted(glob.glob("../spec/vectors/trust-material/*.json")):
    v = json.load(open(path))
    raw = bytes.fromhex(v["input"])
    if len(raw) > 8_000:  # the 2^27-entry lists inflate 32 MiB per run: too slow as seeds
        continue
    name = os.path.basename(path)[:-5]
    open(f"corpus/{v['kind']}/{name}", "wb").write(raw)
    payload = sign1_payload(raw)
    if payload:
        open(f"corpus/{v['kind']}/{name}-payload", "wb").write(payload)
for path in sorted(glob.glob("../spec/vectors/presentations/*.json")):
    v = json.load(open(path))
    name = os.path.basename(path)[:-5]
    text = v.get("input")
    if text is None:
        continue
    if len(text) < 5000:
        open(f"corpus/qr_text/{name}", "w").write(text)
    if text.startswith("DL1:"):
        raw = b45(text[4:].rstrip("\r\n"))
        if raw:
            open(f"corpus/presentation/{name}", "wb").write(raw)
            open(f"corpus/cbor_roundtrip/{name}", "wb").write(raw)
            # The presentation is array(3) whose first item is the credential.
            payload = sign1_payload(raw, 1) if raw[:1] == b"\x83" else None
            if payload:
                open(f"corpus/signed_claims/{name}", "wb").write(payload)
                open(f"corpus/cbor_roundtrip/{name}-claims", "wb").write(payload)
# A portrait frame (spec §17.2: [tag, 300, 64, 3, symbol]) and a run of two.
frame = bytes([0x85, 0x48]) + bytes(range(8)) + bytes([0x19, 0x01, 0x2c, 0x18, 0x40, 0x03, 0x58, 0x40]) + bytes(range(64))
open("corpus/portrait_frame/frame", "wb").write(frame)
open("corpus/portrait_frame/two-frames", "wb").write(frame + b"\xff" + frame.replace(b"\x03\x58", b"\x07\x58"))
# Frame sources: a 4:2:0 and a mono Y4M of two 4×2 frames, a 1×1 GIF.
open("corpus/frame_source/c420.y4m", "wb").write(b"YUV4MPEG2 W4 H2 F8:1 Ip A1:1 C420jpeg XYSCSS=420JPEG\n" + (b"FRAME\n" + bytes(8) + bytes([128] * 4)) * 2)
open("corpus/frame_source/mono.y4m", "wb").write(b"YUV4MPEG2 W4 H2 F25:1 Cmono\n" + (b"FRAME\n" + bytes(range(8))) * 2)
open("corpus/frame_source/pixel.gif", "wb").write(bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b"))
PY
for target in "${targets[@]}"; do
  echo "== $target (${seconds}s)"
  cargo +nightly fuzz run -O -s "$sanitizer" "$target" "corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 -print_final_stats=1 2>&1 | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|ERROR|SUMMARY|crash-|timeout-|oom-" || true
done
