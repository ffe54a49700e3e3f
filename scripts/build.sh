#!/usr/bin/env bash
# Configures and builds DistillGuard into ./build (Release with debug info).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
