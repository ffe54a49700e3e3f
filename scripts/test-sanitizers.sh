#!/usr/bin/env bash
# The test suites under sanitizers, each in its own build directory, building
# only what its tests run:
#   asan  AddressSanitizer + UBSan (leaks included): every unit and integration test
#   tsan  ThreadSanitizer: the tests whose code runs on several threads
#         (workers, shared stores, hot reload, the campaign linker, alerts)
#
#   scripts/test-sanitizers.sh [asan|tsan|all]      (default all; JOBS=N)
# Not yet part of .ci/run: a full asan run has not completed on the 2-core
# machine within one session (about 30 core-minutes of build); run it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
which_jobs=${1:-all}
jobs=${JOBS:-$(nproc)}
launcher=()
if command -v ccache >/dev/null 2>&1 && [ -n "${CCACHE_DIR:-}" ]; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

# -O1: fast enough to run the suites, exact enough for the reports; asserts on.
configure() {  # DIR SANITIZER_FLAGS
  cmake -S . -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_WERROR=ON "${launcher[@]}" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -fno-omit-frame-pointer $2" \
    "-DCMAKE_EXE_LINKER_FLAGS=$2" >/dev/null
}

# The tests a ThreadSanitizer run covers (Catch tags and names, as ctest sees them:
# catch_discover_tests drops the space of TEST_PREFIX, so entries read `unit:name`).
tsan_tests='(snapshot|reconfigure|reload|concurrent|shard|worker|stream|enforcement|campaign|alert|budget|capture)'

if [[ $which_jobs == asan || $which_jobs == all ]]; then
  start=$(date +%s)
  configure build-asan "-fsanitize=address,undefined -fno-sanitize-recover=undefined"
  cmake --build build-asan -j"$jobs" --target dg_unit_tests dg_integration_tests distillguard dg-play
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600 --no-tests=error -R '^(unit|integration):'
  echo "sanitizers: asan+ubsan finished in $(( $(date +%s) - start )) s"
fi
if [[ $which_jobs == tsan || $which_jobs == all ]]; then
  start=$(date +%s)
  configure build-tsan "-fsanitize=thread"
  cmake --build build-tsan -j"$jobs" --target dg_unit_tests dg_integration_tests distillguard
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 600 --no-tests=error -R "^(unit|integration):.*$tsan_tests"
  echo "sanitizers: tsan finished in $(( $(date +%s) - start )) s"
fi
