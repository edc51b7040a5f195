#!/usr/bin/env bash
# Idempotent set-up of everything envrun needs on a fresh Debian machine (run as root, or with sudo).
# Called by scripts/run.sh and scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Debian packages: compilers the sandbox's languages use, and the native libraries we link.
# chromium-headless-shell: the test that renders `envrun plot` pages in a real browser.
APT_PKGS=(libseccomp-dev libopenblas-dev zlib1g-dev pkg-config gcc libc6-dev g++ nodejs python3 python3-venv iproute2 curl chromium-headless-shell)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python side: the encoder weights for the scalar RM (installed into .cache, never downloaded at run time).
for hook in scripts/setup.d/*.sh; do
    [ -e "$hook" ] || continue
    bash "$hook"
done

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: swift is not on PATH; install the Swift 6 toolchain (https://swift.org/install) first" >&2
    exit 1
fi
echo "setup: ok"
