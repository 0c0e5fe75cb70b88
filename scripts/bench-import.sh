#!/usr/bin/env bash
# The import benchmark: `vouchers import` of 10,000 and 100,000 rows (every export column, half
# of the rows with a recipient) on SQLite and, when VOUCHERS_TEST_POSTGRES_URL names a server, on
# PostgreSQL; prints the wall time and the peak memory (max RSS) of each run. Flat memory shows
# as the same peak for 10x the rows. Usage: scripts/bench-import.sh [ROWS...]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -q -p vouchers-cli
BIN="$PWD/target/release/vouchers"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
ROWS=("${@:-10000 100000}")
# shellcheck disable=SC2206
ROWS=(${ROWS[*]})

make_csv() { # ROWS FILE
  python3 - "$1" "$2" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
cols = "id,conference,code,voucher_type,discount_value,max_uses,times_used,valid_from,valid_until,unlocks_hidden_tickets,is_active,applicable_ticket_types,applicable_addons,batch_id,created_at,recipient_email,recipient_name,recipient_tags"
with open(path, "w") as f:
    f.write(cols + "\n")
    for i in range(rows):
        rec = (f"p{i}@example.org,Person {i},\"{{\"\"company\"\":\"\"Co {i % 97}\"\"}}\"" if i % 2 == 0 else ",,")
        f.write(f"{i},bench,IMP-{i:08d},percentage,25.00,1,0,,2027-05-22T22:00:00Z,false,true,,,1,2026-01-01T00:00:00Z,{rec}\n")
PY
}

run() { # LABEL DATABASE ROWS
  local label="$1" db="$2" rows="$3"
  VOUCHERS_DATABASE_URL="$db" "$BIN" conference create --slug bench --name Bench --start-date 2027-05-14 \
    --end-date 2027-05-22 --timezone UTC >/dev/null
  /usr/bin/time -f '%e %M' -o "$WORK/time" env VOUCHERS_DATABASE_URL="$db" \
    "$BIN" import --conference bench "$WORK/rows-$rows.csv" 2>/dev/null
  read -r secs kib <"$WORK/time"
  printf '%-10s %8d rows  %6.2f s  %8.0f rows/s  peak RSS %6.1f MiB\n' "$label" "$rows" "$secs" \
    "$(echo "$rows / $secs" | bc -l)" "$(echo "$kib / 1024" | bc -l)"
}

command -v bc >/dev/null || { echo "bench-import needs bc (apt-get install bc)" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench-import needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
echo "vouchers import, $(date -u +%Y-%m-%d), $(nproc) cores"
for rows in "${ROWS[@]}"; do
  make_csv "$rows" "$WORK/rows-$rows.csv"
  run sqlite "sqlite://$WORK/sqlite-$rows.db" "$rows"
  if [[ -n "${VOUCHERS_TEST_POSTGRES_URL:-}" ]]; then
    name="vouchers_bench_import_$$_$rows"
    psql -q "$VOUCHERS_TEST_POSTGRES_URL" -c "CREATE DATABASE $name" >/dev/null
    url="$(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p._replace(path="/"+sys.argv[2]).geturl())' "$VOUCHERS_TEST_POSTGRES_URL" "$name")"
    run postgres "$url" "$rows"
    psql -q "$VOUCHERS_TEST_POSTGRES_URL" -c "DROP DATABASE $name WITH (FORCE)" >/dev/null
  fi
done
