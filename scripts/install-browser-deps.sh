#!/usr/bin/env bash
# Installs what the browser tests of liaison-web need (crates/liaison-web/tests/browser):
# Debian's Chromium and ChromeDriver with CJK fonts (so Chinese renders in screenshots), and
# axe-core from npm for the accessibility checks. Idempotent: installs only what is missing.
# Meant for CI and developer machines on Debian 12, run as root from anywhere in the repo.
set -euo pipefail

# Paths below are relative to the repository root, wherever the script is called from.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/chromium ] && [ -d /usr/share/fonts/opentype/noto ]; then
    echo "install-browser-deps: chromium, chromedriver and fonts-noto-cjk already installed"
else
    echo "install-browser-deps: installing chromium chromium-driver fonts-noto-cjk (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends chromium chromium-driver fonts-noto-cjk
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
