#!/usr/bin/env bash
# Makes sure the mail tests' SMTP sink (scripts/smtp-sink.py) can run: a Python venv at
# target/smtp-venv with aiosmtpd (pinned, from PyPI). Quiet when it is already there; otherwise
# creates it (installing python3-venv with apt-get first when root on Debian and venv is missing).
# Fails loudly, never skips, when it cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

AIOSMTPD_VERSION="1.4.6"
VENV="target/smtp-venv"

if "$VENV/bin/python" -c 'import aiosmtpd' >/dev/null 2>&1; then
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq python3 python3-venv >/dev/null 2>&1; then
      { apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null; } \
        || { echo "FAIL: apt-get could not install python3-venv" >&2; exit 1; }
    fi
  else
    echo "FAIL: the mail tests' SMTP sink needs Python 3 with venv (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
  fi
fi

echo "Installing aiosmtpd into $VENV"
rm -rf "$VENV"
python3 -m venv "$VENV" >&2 || { echo "FAIL: python3 -m venv $VENV failed" >&2; exit 1; }
"$VENV/bin/pip" install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" >&2 \
  || { echo "FAIL: pip could not install aiosmtpd==$AIOSMTPD_VERSION (PyPI unreachable?)" >&2; exit 1; }
"$VENV/bin/python" -c 'import aiosmtpd' \
  || { echo "FAIL: aiosmtpd was installed into $VENV but does not import" >&2; exit 1; }
