#!/usr/bin/env bash
# Makes sure the load benchmark's tools are installed: wrk (the load generator) and pgbench (the
# PostgreSQL floor, from Debian's postgresql-15 package). Quiet when both are there;
# otherwise installs them with apt-get (needs root, as on CI). Fails loudly, never skips.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v pgbench >/dev/null 2>&1 || need+=(postgresql-15)
[[ ${#need[@]} -eq 0 ]] && exit 0

echo "Installing ${need[*]} with apt-get"
if [[ "$(id -u)" -ne 0 ]]; then
  echo "FAIL: ${need[*]} missing and installing needs root (run as root, or: apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "FAIL: apt-get could not install ${need[*]}" >&2; exit 1; }
fi
command -v wrk >/dev/null 2>&1 || { echo "FAIL: wrk is still missing after apt-get" >&2; exit 1; }
command -v pgbench >/dev/null 2>&1 || { echo "FAIL: pgbench is still missing after apt-get" >&2; exit 1; }
