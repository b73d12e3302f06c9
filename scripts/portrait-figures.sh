#!/usr/bin/env bash
# The README's figures of the portrait in the code (issue 12), made with the real
# binaries from a fresh office, wallet and verifier in a temporary directory:
#
#   scripts/portrait-figures.sh [OUT_DIR=docs]
#
#   OUT_DIR/portrait-loop.gif     the wallet's animated code (`wallet show --animated --gif`)
#   OUT_DIR/portrait-camera.jpg   one frame of the phone filmed by hand (`qr-corpus video`)
#   OUT_DIR/portrait-verdict.svg  `verifier scan video.y4m --portrait-out p.jpg`: its text
#                                 verdict beside the portrait it wrote (embedded as is)
#
# Keys are new on every run, so the codes differ from run to run; the layout does not.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="${1:-docs}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"

cargo build -q -p issuer -p wallet-core -p verifier -p qr-corpus --bins
cargo build -q -p issuer --example demo_portrait
export PATH="$BIN:$PATH" ISSUER_REGISTRY=office ISSUER_PASSPHRASE='demo passphrase' ISSUER_OPERATOR=readme
# Debug builds only: cheap key derivation, so the figures take seconds.
export ISSUER_INSECURE_FAST_KDF=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

issuer root init >/dev/null
issuer authority add --code 川J --name 四川省遂宁市公安局交通警察支队 >/dev/null
issuer holder add --licence-number 510903198803140029 --name 欧阳婷婷 --sex 女 --birth-date 1988-03-14 \
  --address 四川省遂宁市船山区明月路88号 --file-number 510900123456 --first-issue-date 2008-07-22 \
  --classes C1 --valid-from 2020-07-22 --authority 川J >/dev/null
"$BIN/examples/demo_portrait" photo.jpg
issuer portrait add --holder 1 --source retained photo.jpg >/dev/null
wallet init >/dev/null
issuer issue --holder 1 --device-key "$(wallet public-key)" --out package.cbor >/dev/null
wallet enrol --package package.cbor >/dev/null
wallet show --profile rental --animated --scale 2 --gif "$OUT/portrait-loop.gif" --frames-dir frames
issuer publish --out published >/dev/null
verifier --store store init --root published/root.pub >/dev/null
verifier --store store trust import published/trust-bundle.cbor >/dev/null
verifier --store store status import published/status-*.cbor >/dev/null

qr-corpus video --frames-dir frames --out video --count 1 --seed 3 --still 20 "$OUT/portrait-camera.jpg"
status=0
verifier --store store --lang en scan video/video-000.y4m --portrait-out portrait.jpg >verdict.txt || status=$?
cat verdict.txt
[ "$status" -eq 0 ] && [ -s portrait.jpg ] || { echo "portrait-figures: no verified portrait (exit $status)" >&2; exit 1; }

# The verdict as an image: the verifier's own lines (XML-escaped) in monospace, and
# the portrait file it wrote, shown at twice its 120 × 160 pixels.
sed -e 's/\x1b\[[0-9;]*m//g' verdict.txt | fold -s -w 72 >verdict-lines.txt
lines=$(wc -l <verdict-lines.txt)
height=$(( lines * 20 + 40 > 360 ? lines * 20 + 40 : 360 ))
{
  printf '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="%d" viewBox="0 0 900 %d">\n' "$height" "$height"
  printf '<rect width="100%%" height="100%%" fill="#fdfdfd" stroke="#ccc"/>\n'
  printf '<image x="640" y="20" width="240" height="320" href="data:image/jpeg;base64,%s"/>\n' "$(base64 -w0 portrait.jpg)"
  printf '<text x="760" y="%d" font-family="sans-serif" font-size="13" text-anchor="middle" fill="#555">portrait written by the verifier</text>\n' 356
  printf '<text font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" fill="#111">\n'
  y=30
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g')
    printf '<tspan x="20" y="%d" xml:space="preserve">%s</tspan>\n' "$y" "$line"
    y=$(( y + 20 ))
  done <verdict-lines.txt
  printf '</text>\n</svg>\n'
} >"$OUT/portrait-verdict.svg"
ls -l "$OUT/portrait-loop.gif" "$OUT/portrait-camera.jpg" "$OUT/portrait-verdict.svg"
