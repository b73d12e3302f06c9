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
print("licence_number,name,sex,nationality,birth_date,address,file_number,first_issue_date,classes,valid_from,valid_to,authority,points,channel,device_key,portrait")
for i in range(holders + wallets):
    key = os.urandom(32).hex() if i < holders else ""
    print(f"P{i:08},持证人{i},{'男' if i % 2 else '女'},CHN,1985-0{1 + i % 9}-1{i % 10},四川省遂宁市船山区明月路{i}号,5109{i:08},2005-07-22,C1E,2020-07-22,2030-07-22,川J,0,app,{key},portrait.jpg")
EOF
issuer holder import holders.csv >/dev/null
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

refresh_all() {
    for i in $(seq 1 "$wallets"); do "$bin/wallet" --dir "w$i" refresh --issuer "$url" >/dev/null; done
}
wal_per_refresh() { # after a checkpoint or not: bytes of WAL per refresh
    [ "$1" = checkpoint ] && sql 'CHECKPOINT' >/dev/null
    local before after
    before=$(sql 'SELECT pg_current_wal_lsn()')
    refresh_all
    after=$(sql 'SELECT pg_current_wal_lsn()')
    sql "SELECT round(pg_wal_lsn_diff('$after', '$before') / $wallets)"
}
refresh_all # the first refresh of each wallet allocates nothing new; warm up
cold=$(wal_per_refresh checkpoint)
warm=$(wal_per_refresh no)
sql 'VACUUM ANALYZE' >/dev/null

echo "PostgreSQL $(sql 'SHOW server_version'); $holders + $wallets holders, $wallets wallets refreshing"
echo "table            rows   bytes/row (heap+indexes+TOAST)"
for table in holders portraits credentials audit refresh_nonces; do
    sql "SELECT format('%-14s %7s %8s', '$table', count(*), round(pg_total_relation_size('$table') / greatest(count(*), 1)::numeric)) FROM $table"
done
echo "WAL per refresh: $cold bytes right after a checkpoint (full-page images), $warm bytes with its pages already written since"
echo "nonce purge plan:"
sql "EXPLAIN DELETE FROM refresh_nonces WHERE at < 0" | sed 's/^/  /'
echo "rate-limit count plan:"
sql "EXPLAIN SELECT at FROM audit WHERE action = 'credential.refresh' AND subject = '1' AND at >= 0 ORDER BY at" | sed 's/^/  /'
