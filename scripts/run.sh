#!/usr/bin/env bash
# Build envrun (release) and start it. With no arguments: `envrun serve` on the packs in Tasks/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --product envrun 2>&1 | grep -Ev '^(\[[0-9]+/[0-9]+\]|Building|Compiling|Write|Fetching|Computing|Cloning|Working copy)' || true
bin="$(swift build -c release --show-bin-path)/envrun"
[ -x "$bin" ] || { echo "run: build failed" >&2; exit 1; }
if [ $# -eq 0 ]; then set -- serve; fi
exec "$bin" "$@"
