#!/usr/bin/env bash
# Build envrun (release) and start it. With no arguments: `envrun serve` on the packs in Tasks/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Progress lines are dropped, and so is SwiftPM's note about a CMakeLists.txt inside a dependency
# (swift-distributed-tracing), which is about their package, not a warning a user can act on.
swift build -c release --product envrun 2>&1 \
    | grep -Ev '^(\[[0-9]+/[0-9]+\]|Building|Compiling|Write|Fetching|Computing|Cloning|Working copy)' \
    | grep -Ev "swift-distributed-tracing': found 1 file\(s\) which are unhandled|/swift-distributed-tracing/Sources/.*/CMakeLists.txt" || true
bin="$(swift build -c release --show-bin-path)/envrun"
[ -x "$bin" ] || { echo "run: build failed" >&2; exit 1; }
if [ $# -eq 0 ]; then set -- serve; fi
exec "$bin" "$@"
