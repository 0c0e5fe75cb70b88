#!/usr/bin/env bash
# Runs every test of the workspace on SQLite, and on PostgreSQL when VOUCHERS_TEST_POSTGRES_URL
# names a server (each PostgreSQL test creates its own database there and drops it after).
# Without the variable the PostgreSQL tests are skipped by name, and this script says so. Then the
# HTTP API is fuzzed against its OpenAPI document (scripts/fuzz-api.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser test (vouchers-cli's tests/browser) drives headless Chromium through chromedriver;
# this installs them when missing and fails, never skips, when it cannot.
bash scripts/browser-deps.sh

if [[ -n "${VOUCHERS_TEST_POSTGRES_URL:-}" ]]; then
  cargo test --workspace --locked
else
  cargo test --workspace --locked -- --skip postgres::
fi

# The HTTP API fuzzed from its own OpenAPI document (schemathesis, installed by the script into
# target/; it fails, never skips, when it cannot be installed).
bash scripts/fuzz-api.sh

if [[ -n "${VOUCHERS_TEST_POSTGRES_URL:-}" ]]; then
  echo "All tests ran, on SQLite and on PostgreSQL, and the API fuzz run passed."
else
  echo
  echo "NOTE: the PostgreSQL half was NOT run (VOUCHERS_TEST_POSTGRES_URL is not set)."
  echo "      Run it with: VOUCHERS_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres scripts/test.sh"
fi
