#!/usr/bin/env bash
# The test suites under sanitizers, each in its own build directory, building
# only what its tests run:
#   asan  clang, AddressSanitizer + UBSan (leaks included): every unit and
#         integration test; the same build holds the libFuzzer targets
#         (fuzz/), which then run FUZZ_SECONDS each (default 0: none; CI: 10)
#   tsan  gcc, ThreadSanitizer: the tests whose code runs on several threads
#         (workers, shared stores, hot reload, the campaign linker, alerts)
#
#   scripts/test-sanitizers.sh [asan|tsan|all]      (default all; JOBS=N FUZZ_SECONDS=N)
# Needs clang (scripts/install-deps.sh --fuzz). Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
which_jobs=${1:-all}
jobs=${JOBS:-$(nproc)}
fuzz_seconds=${FUZZ_SECONDS:-0}
launcher=()
if command -v ccache >/dev/null 2>&1 && [ -n "${CCACHE_DIR:-}" ]; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

# -O1: fast enough to run the suites, exact enough for the reports; asserts on.
configure() {  # DIR SANITIZER_FLAGS CMAKE_ARGS...
  local dir=$1 flags=$2
  shift 2
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -fno-omit-frame-pointer $flags" \
    "-DCMAKE_EXE_LINKER_FLAGS=$flags" >/dev/null
}

# The tests a ThreadSanitizer run covers (Catch tags and names, as ctest sees them:
# catch_discover_tests drops the space of TEST_PREFIX, so entries read `unit:name`).
tsan_tests='(snapshot|reconfigure|reload|concurrent|shard|worker|stream|enforcement|campaign|alert|budget|capture)'
fuzz_targets="request usage_scanner degrade config traffic_reader"

if [[ $which_jobs == asan || $which_jobs == all ]]; then
  command -v clang++ >/dev/null || { echo "test-sanitizers.sh: clang++ is missing (scripts/install-deps.sh --fuzz)" >&2; exit 2; }
  start=$(date +%s)
  # One clang build serves the tests and the fuzz targets: the libraries carry
  # libFuzzer's coverage hooks (fuzzer-no-link), which the sanitizer runtime
  # satisfies in the test binaries and libFuzzer drives in the fuzz targets.
  # -fno-sanitize=function: clang 14's function-type check cannot be emitted for
  # coroutine frames ("Cannot represent a difference across sections").
  configure build-asan "-fsanitize=address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined" \
    -DCMAKE_CXX_COMPILER=clang++ -DDG_FUZZ=ON \
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link"
  targets=(dg_unit_tests dg_integration_tests distillguard dg-play)
  if [ "$fuzz_seconds" -gt 0 ]; then for t in $fuzz_targets; do targets+=("fuzz_$t"); done; fi
  cmake --build build-asan -j"$jobs" --target "${targets[@]}"
  echo "sanitizers: asan+ubsan build finished in $(( $(date +%s) - start )) s"
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:strict_string_checks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600 --no-tests=error -R '^(unit|integration):'
  echo "sanitizers: asan+ubsan tests finished in $(( $(date +%s) - start )) s"
  if [ "$fuzz_seconds" -gt 0 ]; then
    PREBUILT=1 BUILD="$PWD/build-asan" TARGETS="$fuzz_targets" OUT=- bench/fuzz.sh "$fuzz_seconds"
    echo "sanitizers: fuzzing finished in $(( $(date +%s) - start )) s"
  fi
fi
if [[ $which_jobs == tsan || $which_jobs == all ]]; then
  start=$(date +%s)
  # -Wno-tsan: GCC warns on every Asio fenced block (atomic_thread_fence); the
  # scheduler synchronises with its mutex, which ThreadSanitizer does model.
  # Only the test files with a TEST_CASE the run selects are compiled (a file's
  # TEST_CASE lines are matched against the same words, tags included).
  configure build-tsan "-fsanitize=thread -Wno-tsan" -DDG_WERROR=ON "-DDG_TEST_CASES_MATCHING=$tsan_tests"
  cmake --build build-tsan -j"$jobs" --target dg_unit_tests dg_integration_tests distillguard
  echo "sanitizers: tsan build finished in $(( $(date +%s) - start )) s"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 600 --no-tests=error -R "^(unit|integration):.*$tsan_tests"
  echo "sanitizers: tsan finished in $(( $(date +%s) - start )) s"
fi
