#!/usr/bin/env bash
# Measures the PostgreSQL registry for spec/deployment.md ("PostgreSQL sizing"):
# bytes per holder, portrait, credential, audit entry and nonce
# (pg_total_relation_size: heap + indexes + TOAST, divided by rows), and the WAL one
# refresh through `issuer serve` writes (pg_current_wal_lsn before and after), both
# right after a CHECKPOINT (every page touched for the first time since: full-page
# images, the national steady state) and again with those pages already dirty.
#
#   cargo build -p issuer -p wallet-core --bins && cargo build -p issuer --example demo_portrait
#   scripts/pg-sizing.sh [HOLDERS] [WALLETS]        # defaults: 2000 holders, 100 refreshing wallets
#
# Uses a throwaway cluster (.ci/throwaway-postgres) in a temporary directory.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
bin=${CARGO_TARGET_DIR:-$R/target}/debug
holders=${1:-2000}
wallets=${2:-100}
work=$(mktemp -d /tmp/pg-sizing.XXXXXX)
chmod 755 "$work" # the cluster runs as user postgres when we are root
pg="$work/pg"
serve_pid=
cleanup() {
    [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
    "$R/.ci/throwaway-postgres" stop "$pg"
    rm -rf "$work"
}
trap cleanup EXIT
eval "$("$R/.ci/throwaway-postgres" start "$pg")"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "$ISSUER_TEST_POSTGRES" -c 'CREATE DATABASE registry'
export ISSUER_DATABASE="${ISSUER_TEST_POSTGRES%/postgres}/registry" ISSUER_KEYS="$work/keys"
export ISSUER_PASSPHRASE='sizing passphrase' ISSUER_INSECURE_FAST_KDF=1 ISSUER_OPERATOR=sizing
issuer() { "$bin/issuer" "$@"; }
sql() { psql -At "$ISSUER_DATABASE" -c "$1"; }

cd "$work"
"$bin/examples/demo_portrait" portrait.jpg
issuer root init >/dev/null
issuer authority add --code 川J --name 四川省遂宁市公安局交通警察支队 >/dev/null
# Holders with device keys (issued in one batch), then holders whose wallets refresh.
python3 - "$holders" "$wallets" >holders.csv <<'EOF'
import os, sys
holders, wallets = int(sys.argv[1]), int(sys.argv[2])
P, D = 2**255 - 19, (-121665 * pow(121666, -1, 2**255 - 19)) % (2**255 - 19)
def device_key():
    # 32 random bytes that decode to a curve point (about half of them do).
    while True:
        raw = bytearray(os.urandom(32))
        raw[31] &= 0x7F
        y = int.from_bytes(raw, "little")
        x2 = (y * y - 1) * pow(D * y * y + 1, -1, P) % P
        if y < P and x2 and pow(x2, (P - 1) // 2, P) == 1:
            return raw.hex()
print("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,points,channel,device_key,portrait")
for i in range(holders + wallets):
    key = device_key() if i < holders else ""
    print(f"P{i:08},持证人{i},{'男' if i % 2 else '女'},CHN,1985-0{1 + i % 9}-1{i % 10},四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,0,app,{key},portrait.jpg")
EOF
issuer holder import holders.csv >import.out || { cat import.out; exit 1; }
issuer issue --all >/dev/null
for i in $(seq 1 "$wallets"); do
    id=$((holders + i))
    "$bin/wallet" --dir "w$i" init >/dev/null
    issuer issue --holder "$id" --device-key "$("$bin/wallet" --dir "w$i" public-key)" --out "w$i.cbor" >/dev/null
    "$bin/wallet" --dir "w$i" enrol --package "w$i.cbor" >/dev/null
done
issuer serve --bind 127.0.0.1:0 >serve.out 2>serve.log &
serve_pid=$!
until grep -q 'listening on' serve.out; do sleep 0.1; done
url="http://$(sed -n 's/^listening on //p' serve.out)"

refresh_one() { "$bin/wallet" --dir "w$1" refresh --issuer "$url" >/dev/null; }
lsn() { sql 'SELECT pg_current_wal_lsn()'; }
wal_since() { sql "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$1')"; }
for i in $(seq 1 "$wallets"); do refresh_one "$i"; done # warm-up: the service's statements prepared
# Cold: a checkpoint before each refresh, so every page it changes is written
# whole once (as at national scale, where no two refreshes share a page).
cold_total=0
for i in $(seq 1 "$wallets"); do
    sql 'CHECKPOINT' >/dev/null
    start=$(lsn)
    refresh_one "$i"
    cold_total=$((cold_total + $(wal_since "$start")))
done
# Warm: the same refreshes again without a checkpoint (their pages already logged).
start=$(lsn)
for i in $(seq 1 "$wallets"); do refresh_one "$i"; done
warm=$(( $(wal_since "$start") / wallets ))
cold=$((cold_total / wallets))
sql 'VACUUM ANALYZE' >/dev/null

echo "PostgreSQL $(sql 'SHOW server_version'); $holders + $wallets holders, $wallets wallets refreshing"
echo "table            rows   bytes/row (heap+indexes+TOAST)"
for table in holders portraits credentials audit refresh_nonces; do
    sql "SELECT format('%-14s %7s %8s', '$table', count(*), round(pg_total_relation_size('$table') / greatest(count(*), 1)::numeric)) FROM $table"
done
echo "WAL per refresh: $cold bytes right after a checkpoint (full-page images), $warm bytes with its pages already written since"
# The nonce table at a national peak holds a few minutes of refreshes: plan the
# purge and size a row on 200,000 rows shaped like the real ones (rolled back).
nonce_len=$(sql 'SELECT length(nonce) FROM refresh_nonces LIMIT 1')
psql -At "$ISSUER_DATABASE" <<SQL
BEGIN;
INSERT INTO refresh_nonces (device_key, nonce, at)
    SELECT sha256(int8send(i)), substring(sha512(int8send(i)) FROM 1 FOR $nonce_len), 1700000000 + i / 100
    FROM generate_series(1, 200000) i;
ANALYZE refresh_nonces;
SELECT format('refresh_nonces %7s %8s   (200,000 synthetic rows)', count(*), round(pg_total_relation_size('refresh_nonces') / count(*)::numeric)) FROM refresh_nonces;
\echo nonce purge plan:
EXPLAIN DELETE FROM refresh_nonces WHERE at < 1700000100;
ROLLBACK;
SQL
echo "rate-limit count plan:"
sql "EXPLAIN SELECT at FROM audit WHERE action = 'credential.refresh' AND subject = '1' AND at >= 0 ORDER BY at" | sed 's/^/  /'
