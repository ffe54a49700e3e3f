#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (apt packages, the npm `openai` client for
# the end-to-end test), builds DistillGuard with warnings as errors, and runs
# every test with ctest. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if command -v npm >/dev/null 2>&1; then
  scripts/setup-e2e.sh || echo "test.sh: npm install failed; the e2e test will be skipped" >&2
else
  echo "test.sh: node/npm not found; the e2e test will be skipped" >&2
fi
jobs=${JOBS:-$(nproc)}
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_WERROR=ON
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300
