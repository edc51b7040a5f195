#!/usr/bin/env bash
# Task packs: EnvrunTasks links the system zlib to read `.jsonl.gz` task files (Debian: zlib1g-dev).
set -euo pipefail
if ! dpkg-query -W -f='${Status}' zlib1g-dev 2>/dev/null | grep -q "install ok installed"; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "setup: installing Debian package zlib1g-dev"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zlib1g-dev >/dev/null
fi
