#!/usr/bin/env bash
# Runs every test of the workspace on SQLite, and on PostgreSQL when VOUCHERS_TEST_POSTGRES_URL
# names a server (each PostgreSQL test creates its own database there and drops it after).
# Without the variable the PostgreSQL tests are skipped by name, and this script says so. Then the
# HTTP API is fuzzed against its OpenAPI document (scripts/fuzz-api.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Prerequisites, each checked with a message that says what to install.
need_rust="1.89"
have_rust="$(rustc --version 2>/dev/null | awk '{print $2}')" \
  || { echo "FAIL: rustc not found; install Rust $need_rust or newer (https://rustup.rs)" >&2; exit 1; }
if [[ "$(printf '%s\n%s\n' "$need_rust" "$have_rust" | sort -V | head -1)" != "$need_rust" ]]; then
  echo "FAIL: Rust $have_rust is older than $need_rust; run: rustup update" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing python3 and python3-venv with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null \
      || { echo "FAIL: apt-get could not install python3-venv" >&2; exit 1; }
  else
    echo "FAIL: the API fuzz run needs Python 3 with venv (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
  fi
fi

# The browser test (vouchers-cli's tests/browser) drives headless Chromium through chromedriver;
# this installs them when missing and fails, never skips, when it cannot.
bash scripts/browser-deps.sh

# The mail tests (vouchers-cli's tests/cli/mail.rs) send to a real SMTP server, aiosmtpd from PyPI,
# installed into target/smtp-venv when missing; it fails, never skips, when it cannot be.
bash scripts/smtp-deps.sh

if [[ -n "${VOUCHERS_TEST_POSTGRES_URL:-}" ]]; then
  cargo test --workspace --locked
else
  cargo test --workspace --locked -- --skip postgres::
fi

# Every block marked `<!-- walkthrough: NAME -->` in README.md and the docs pages (in the order
# of scripts/readme-walkthrough.py's PAGES, the README's table of contents), run in order as a
# newcomer pastes them, against the binary just built; fails when a command fails or an answer
# changes shape.
python3 scripts/readme-walkthrough.py --bin-dir target/debug

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
