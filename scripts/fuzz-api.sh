#!/usr/bin/env bash
# Schema-based fuzzing of the HTTP API: schemathesis (pinned, from PyPI, installed into a venv
# under target/) generates requests from the OpenAPI document that `vouchers serve` serves, and
# fails on any 5xx and on any response that breaks the document's schema. Bounded for CI
# (a few examples per operation, a hard time limit). It fails loudly, never skips, when
# schemathesis cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
VENV="target/fuzz-venv"
MAX_EXAMPLES="${VOUCHERS_FUZZ_MAX_EXAMPLES:-20}"
TIME_LIMIT="${VOUCHERS_FUZZ_TIME_LIMIT:-240}"

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "Installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || { echo "FAIL: python3 -m venv failed; the API fuzz run needs Python 3 with venv" >&2; exit 1; }
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
    || { echo "FAIL: pip could not install schemathesis==$SCHEMATHESIS_VERSION (PyPI unreachable?)" >&2; exit 1; }
fi

cargo build --locked --quiet -p vouchers-cli
BIN="$PWD/target/debug/vouchers"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export VOUCHERS_DATABASE_URL="sqlite://$WORK/fuzz.db"
unset VOUCHERS_LISTEN VOUCHERS_MAX_BATCH
# A conference with a catalogue and a batch, so generated requests also reach existing resources.
"$BIN" conference create --slug pycon --name "PyCon" --start-date 2027-05-14 --end-date 2027-05-22 \
  --timezone America/New_York >/dev/null
"$BIN" ticket-type create --conference pycon --slug individual --name Individual --price 400 >/dev/null
"$BIN" addon create --conference pycon --slug tshirt --name T-shirt --price 25 >/dev/null
"$BIN" generate --conference pycon --prefix FUZZ- --count 5 --type comp >/dev/null 2>&1
# The OpenAPI document's examples name these (conference pycon, voucher PYCON-KEYNOTE, batch 1).
"$BIN" add --conference pycon --code PYCON-KEYNOTE --type comp >/dev/null
TOKEN="$("$BIN" token create --scope admin --format json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"

"$BIN" serve --listen 127.0.0.1:0 >"$WORK/address" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$WORK/address" 2>/dev/null && break
  sleep 0.1
done
BASE="$(sed -n 's/^listening on //p' "$WORK/address")"
[[ -n "$BASE" ]] || { echo "FAIL: vouchers serve did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

echo "Fuzzing $BASE/api/v1/openapi.json with schemathesis $SCHEMATHESIS_VERSION (max $MAX_EXAMPLES examples per operation)"
status=0
# Run from the scratch folder: schemathesis keeps its example database in ./.schemathesis.
# One worker: with two, hypothesis parses lambda sources from two threads at once and CPython
# 3.11's ast module sometimes fails with "AST constructor recursion depth mismatch" (seen here as
# a schemathesis "Runtime Error" on a run whose every request passed).
SCHEMATHESIS="$PWD/$VENV/bin/schemathesis"
(cd "$WORK" && exec timeout "$TIME_LIMIT" "$SCHEMATHESIS" run "$BASE/api/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --workers 1 \
  --seed 4 \
  --suppress-health-check all \
  --warnings off \
  --report junit --report-dir "$WORK/report") || status=$?

if grep -q "panicked" "$WORK/server.log"; then
  echo "FAIL: the server panicked during the fuzz run" >&2
  grep -B2 -A5 "panicked" "$WORK/server.log" >&2
  status=1
fi
# Guard against a run that never got past authentication (every answer a 401 would pass).
successes="$(grep -cE 'status=2[0-9]{2}' "$WORK/server.log" || true)"
if [[ "$successes" -lt 10 ]]; then
  echo "FAIL: only $successes successful responses during the fuzz run; is the token accepted?" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "FAIL: schemathesis found a server error or a response that breaks the schema (exit $status)" >&2
  echo "--- last lines of the server log:" >&2
  tail -n 30 "$WORK/server.log" >&2
  exit 1
fi
echo "API fuzz run: no server error, every response matched the schema."
