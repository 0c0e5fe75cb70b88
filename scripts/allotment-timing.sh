#!/bin/bash
# Usage: scripts/allotment-timing.sh DATABASE_URL (a fresh database; VOUCHERS_BIN names the binary,
# default target/release/vouchers). One allotment of 500 passes: the time of one "Add attendee" (median of 20) and of one 480-row paste, through `serve`.
set -euo pipefail
BIN="${VOUCHERS_BIN:-target/release/vouchers}"; BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
DB="$1"; W=$(mktemp -d); cd "$W"
export VOUCHERS_DATABASE_URL="$DB"
$BIN conference create --slug m --name M --start-date 2027-05-14 --end-date 2027-05-22 --timezone UTC >/dev/null
LINK=$($BIN allotment create --conference m --sponsor S --contact s@example.org --seats 500 --deadline 2030-01-01T00:00 --type comp --format json | jq -r .link)
$BIN serve --listen 127.0.0.1:18777 2>serve.log & PID=$!
trap 'kill $PID; rm -rf "$W"' EXIT
curl -s --retry 10 --retry-connrefused -o /dev/null http://127.0.0.1:18777/healthz
curl -s -c jar -o /dev/null http://127.0.0.1:18777$LINK
CSRF=$(curl -s -b jar http://127.0.0.1:18777/sponsor | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
for i in $(seq 1 20); do
  curl -s -b jar -o /dev/null -w '%{time_total}\n' http://127.0.0.1:18777/sponsor/attendees --data-urlencode "csrf=$CSRF" --data-urlencode "name=P $i" --data-urlencode "email=p$i@example.org"
done | sort -n | awk '{a[NR]=$1} END {printf "single add: median %.1f ms (min %.1f, max %.1f) of %d\n", a[int((NR+1)/2)]*1000, a[1]*1000, a[NR]*1000, NR}'
python3 -c 'print("\n".join(f"Q {i},q{i}@example.org" for i in range(480)))' > paste.csv
curl -s -b jar -o /dev/null -w 'paste of 480: %{time_total} s, status %{http_code}\n' http://127.0.0.1:18777/sponsor/attendees/paste --data-urlencode "csrf=$CSRF" --data-urlencode "attendees@paste.csv"
$BIN allotment show 1 --format json | jq -c '{assigned, left}'
curl -s -b jar -o /dev/null -w 'sponsor page with 500 attendees: %{time_total} s\n' http://127.0.0.1:18777/sponsor
