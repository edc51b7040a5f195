#!/usr/bin/env bash
# Set-up hook of the trainers' client libraries the protocol tests drive `envrun serve` with, run by
# scripts/setup.sh. Idempotent. A venv in the cache dir (outside the clone) with the PyPI clients that
# install without a GPU stack, pinned:
#  - openenv-core 0.3.0   (OpenEnv's EnvClient / GenericEnvClient: the WebSocket at /openenv/{env}/ws)
#  - openreward 0.1.167   (the Open Reward Standard client)
#  - sandbox-fusion 0.3.7 (SandboxFusion's run_code client, as verl uses it)
# In the clone (where the tests look): .cache/clients/python, a wrapper that execs the venv's python.
# A failed install warns and does not fail the set-up (the protocol client tests then skip, saying why).
# ENVRUN_SKIP_CLIENTS=1 skips this step; ENVRUN_CACHE moves the cache dir (default ~/.cache/envrun).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${ENVRUN_SKIP_CLIENTS:-0}" = "1" ]; then
    echo "setup(clients): skipped (ENVRUN_SKIP_CLIENTS=1)"
    exit 0
fi

PY=/usr/bin/python3
PINS=(openenv-core==0.3.0 openreward==0.1.167 sandbox-fusion==0.3.7)
CACHE="${ENVRUN_CACHE:-$HOME/.cache/envrun}"
TAG="$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -c1-12)"
VENV="$CACHE/clients-venv-$TAG"
LOG="$CACHE/clients-install.log"
LINKS=.cache/clients
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

warn() {
    echo "setup(clients): WARNING: $* — the protocol client tests will skip. Log: $LOG" >&2
    rm -f "$LINKS/python"
    exit 0
}

mkdir -p "$CACHE" "$LINKS"
venv_ok() {
    [ -f "$VENV/.envrun-ok" ] && "$VENV/bin/python" -c 'import openenv.core, openreward, sandbox_fusion, websockets' >/dev/null 2>&1
}
if ! venv_ok; then
    echo "setup(clients): making $VENV with ${PINS[*]} (~1 min)"
    rm -rf "$VENV"
    $PY -m venv "$VENV" >"$LOG" 2>&1 || warn "python3 -m venv failed"
    "$VENV/bin/python" -m pip install --quiet "${PINS[@]}" >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; warn "pip install failed"; }
    touch "$VENV/.envrun-ok"
    venv_ok || warn "the clients do not import in $VENV"
fi
printf '#!/bin/sh\nexec "%s/bin/python" "$@"\n' "$VENV" >"$LINKS/python.part"
chmod +x "$LINKS/python.part" && mv -f "$LINKS/python.part" "$LINKS/python"
echo "setup(clients): trainer clients ready: $LINKS/python -> $VENV"
