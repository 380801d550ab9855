#!/usr/bin/env bash
# Installs what the browser tests of liaison-web need (crates/liaison-web/tests/browser):
# Debian's Chromium and ChromeDriver with CJK fonts (so Chinese renders in screenshots), and
# axe-core from npm for the accessibility checks. Idempotent: installs only what is missing.
# Meant for CI and developer machines on Debian 12, run as root from anywhere in the repo.
set -euo pipefail

# Paths below are relative to the repository root, wherever the script is called from.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(chromium chromium-driver fonts-noto-cjk)
missing=()
for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ] && [ -x /usr/bin/chromedriver ]; then
    echo "install-browser-deps: ${PACKAGES[*]} already installed"
else
    echo "install-browser-deps: installing ${missing[*]:-${PACKAGES[*]}} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${PACKAGES[@]}"
fi
echo "install-browser-deps: $(/usr/bin/chromedriver --version)"

# Major version pinned: a new axe-core major may add rules that fail pages without warning.
AXE_JS=target/axe/node_modules/axe-core/axe.min.js
if [ -f "$AXE_JS" ]; then
    echo "install-browser-deps: axe-core already at $AXE_JS"
else
    echo "install-browser-deps: installing axe-core@4 into target/axe (npm)"
    mkdir -p target/axe
    npm install --prefix target/axe axe-core@4 --no-audit --no-fund --loglevel=error
fi
echo "install-browser-deps: axe-core $(node -p "require('./target/axe/node_modules/axe-core/package.json').version")"
