#!/usr/bin/env bash
# Runs every test of the workspace on SQLite, and on PostgreSQL when VOUCHERS_TEST_POSTGRES_URL
# names a server (each PostgreSQL test creates its own database there and drops it after).
# Without the variable the PostgreSQL tests are skipped by name, and this script says so.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${VOUCHERS_TEST_POSTGRES_URL:-}" ]]; then
  cargo test --workspace --locked
  echo "All tests ran, on SQLite and on PostgreSQL."
else
  cargo test --workspace --locked -- --skip postgres::
  echo
  echo "NOTE: the PostgreSQL half was NOT run (VOUCHERS_TEST_POSTGRES_URL is not set)."
  echo "      Run it with: VOUCHERS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh"
fi
