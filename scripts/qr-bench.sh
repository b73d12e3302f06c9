#!/usr/bin/env bash
# QR reader benchmark: our `verifier scan` next to zbarimg (zbar-tools) and zxing-cpp
# on the same photo-like corpus (tools/qr-corpus), per category: images read (every
# expected code decoded to the exact text) and median time per image.
#
#   scripts/qr-bench.sh [N_PER_CATEGORY=20] [OUT_DIR=target/qr-bench] [SEED=2]
#
# The default seed 2 is held out: the decoder cascade was tuned on seed 1.
#
# Timing: each CLI (ours, zbarimg) runs once per image and its wall time minus the
# median wall time of the same CLI on a blank 64×64 PNG (process start, library
# init) is counted; zxing-cpp runs in-process from Python (image load with Pillow +
# read_barcodes). All three include decoding the image file. The three readers take
# turns image by image, so load from other processes hits them alike.
# Writes OUT_DIR/results.md (the table) and OUT_DIR/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-20}"
OUT="${2:-target/qr-bench}"
SEED="${3:-2}"

if ! command -v zbarimg >/dev/null; then
    echo "== installing zbar-tools" >&2
    apt-get update -qq && apt-get install -y -qq zbar-tools >/dev/null
fi
if ! python3 -c 'import zxingcpp, PIL' 2>/dev/null; then
    echo "== installing zxing-cpp, pillow" >&2
    python3 -m pip install -q zxing-cpp pillow
fi

echo "== building (release)" >&2
cargo build -q --release -p verifier -p qr-corpus
rm -rf "$OUT/corpus"
echo "== generating $N images per category" >&2
target/release/qr-corpus --out "$OUT/corpus" --per-category "$N" --seed "$SEED"

echo "== reading" >&2
python3 - "$OUT" target/release/verifier <<'EOF'
import json, os, statistics, subprocess, sys, time
from collections import defaultdict

import zxingcpp
from PIL import Image

out, verifier = sys.argv[1], os.path.abspath(sys.argv[2])
corpus = os.path.join(out, "corpus")
manifest = json.load(open(os.path.join(corpus, "manifest.json")))


def ours(path):
    p = subprocess.run([verifier, "scan", "--raw", "--json", path], capture_output=True, text=True)
    if "panicked" in p.stderr:
        print(f"PANIC in verifier on {path}: {p.stderr}", file=sys.stderr)
    return [line["text"] for line in map(json.loads, p.stdout.splitlines()) if line.get("text")]


def zbar(path):
    p = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", path],
                       capture_output=True, text=True, errors="replace")
    return [t for t in p.stdout.split("\n") if t]


def zxing(path):
    image = Image.open(path)
    image.load()
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


readers = {"ours": (ours, True), "zxing-cpp": (zxing, False), "zbarimg": (zbar, True)}

blank = os.path.join(out, "blank.png")
Image.new("L", (64, 64), 255).save(blank)
startup = {}
for name, (read, is_process) in readers.items():
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        read(blank)
        runs.append(time.perf_counter() - t)
    startup[name] = statistics.median(runs) if is_process else 0.0

results = defaultdict(lambda: defaultdict(list))
misreads = defaultdict(int)
for entry in manifest:
    path = os.path.join(corpus, entry["file"])
    expected = entry["texts"]
    for name, (read, _) in readers.items():
        t = time.perf_counter()
        found = read(path)
        ms = max(0.0, time.perf_counter() - t - startup[name]) * 1e3
        ok = all(text in found for text in expected)
        misreads[name] += sum(1 for text in found if text not in expected)
        results[entry["category"]][name].append((ok, ms))

names = list(readers)
lines = [
    "| category | images | " + " | ".join(f"{n} read | {n} ms" for n in names) + " |",
    "|---|---:|" + "---:|---:|" * len(names),
]
totals = defaultdict(lambda: [0, []])
categories = list(dict.fromkeys(e["category"] for e in manifest))
for category in categories:
    row = [category, str(len(results[category][names[0]]))]
    for n in names:
        runs = results[category][n]
        read = sum(ok for ok, _ in runs)
        totals[n][0] += read
        totals[n][1] += [ms for _, ms in runs]
        row += [str(read), f"{statistics.median(ms for _, ms in runs):.1f}"]
    lines.append("| " + " | ".join(row) + " |")
row = ["**all**", f"**{len(manifest)}**"]
for n in names:
    row += [f"**{totals[n][0]}**", f"**{statistics.median(totals[n][1]):.1f}**"]
lines.append("| " + " | ".join(row) + " |")
lines.append("")
lines.append("Process start-up subtracted: " + ", ".join(f"{n} {startup[n] * 1e3:.1f} ms" for n in names if startup[n]) +
             ". Misread codes (text not in the image): " + ", ".join(f"{n} {misreads[n]}" for n in names) + ".")
table = "\n".join(lines)
print(table)
open(os.path.join(out, "results.md"), "w").write(table + "\n")
json.dump({c: {n: results[c][n] for n in names} for c in categories}, open(os.path.join(out, "results.json"), "w"))
EOF
