#!/usr/bin/env bash
# Makes sure the browser test's dependencies are installed: Debian's Chromium and its WebDriver
# (/usr/bin/chromium, /usr/bin/chromedriver), and axe-core from npm (into target/axe). Quiet when both are there; otherwise installs them
# with apt-get (needs root, as on CI). Fails loudly, never skips, when they cannot be installed.
set -euo pipefail

missing() {
  ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 \
    || [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]
}

if missing; then
  echo "Installing chromium and chromium-driver with apt-get"
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "FAIL: chromium/chromedriver are missing and installing them needs root (run as root, or: apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; }; then
    echo "FAIL: apt-get could not install chromium and chromium-driver (apt sources unreachable?)" >&2
    exit 1
  fi
  if missing; then
    echo "FAIL: after apt-get, /usr/bin/chromium or /usr/bin/chromedriver is still missing" >&2
    exit 1
  fi
fi

# Installed is not enough: prove both start (a broken install must fail here, not in the test).
# Chromium renders a page headless with the test's flags; its stderr is noisy (no D-Bus here), so
# it is shown only on failure.
chromedriver --version >/dev/null 2>&1 || { echo "FAIL: /usr/bin/chromedriver does not run" >&2; exit 1; }
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT
if ! timeout 60 chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --user-data-dir="$PROFILE" --dump-dom 'data:text/html,<p>browser-deps-ok</p>' \
    >"$PROFILE/out" 2>"$PROFILE/err" || ! grep -q browser-deps-ok "$PROFILE/out"; then
  echo "FAIL: /usr/bin/chromium cannot render a page headless:" >&2
  tail -n 20 "$PROFILE/err" >&2
  exit 1
fi

# axe-core (the npm package), which the browser test injects into every page it visits to check
# WCAG 2.1 A and AA: installed once into target/axe, where the test reads it.
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/target/axe"
if [[ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    if [[ "$(id -u)" -eq 0 ]]; then
      echo "Installing npm with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null \
        || { echo "FAIL: apt-get could not install npm (needed for axe-core)" >&2; exit 1; }
    else
      echo "FAIL: npm is missing (needed to install axe-core for the browser test's accessibility checks)" >&2
      exit 1
    fi
  fi
  echo "Installing axe-core 4 with npm into $AXE_DIR"
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-audit --no-fund --silent axe-core@4 >/dev/null \
    || { echo "FAIL: npm could not install axe-core (registry unreachable?)" >&2; exit 1; }
  [[ -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]] \
    || { echo "FAIL: axe-core installed, but axe.min.js is missing" >&2; exit 1; }
fi
