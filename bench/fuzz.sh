#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UBSan,
# and runs each for a bounded time from its seed corpus (fuzz/corpus/<name>/),
# in parallel jobs of one process each. Writes bench/results/fuzz.md unless
# OUT= says otherwise (CI: OUT=-). Exit status 1 when any target crashed.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET]      (default 60; BUILD=build-fuzz TARGETS="request degrade ...")
# RUNS=N stops each target after N executions (the seconds stay a cap):
# `RUNS=10000000 bench/fuzz.sh 3600` is the run behind bench/results/fuzz.md.
# Allocation stacks are kept 4 frames deep (ASan's default of 30 costs the
# allocation-heavy config target about 15% of its rate); a crash input saved by a run
# replays with full stacks: `ASAN_OPTIONS= $BUILD/fuzz/fuzz_<t> crash-<sha>`.
# PREBUILT=1 runs the targets already in BUILD (scripts/test-sanitizers.sh
# builds them beside the sanitized tests).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-60}"
build="${BUILD:-$root/build-fuzz}"
targets="${TARGETS:-request usage_scanner degrade config traffic_reader}"
out="${OUT:-$here/results/fuzz.md}"
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (scripts/install-deps.sh --fuzz installs it)" >&2; exit 2; }
if [ "${PREBUILT:-0}" != 1 ]; then
  cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_FUZZ=ON \
    -DDG_BUILD_TESTS=OFF ${CMAKE_EXTRA:-} \
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined" >/dev/null
  cmake --build "$build" -j"${JOBS:-$(nproc)}" --target $(for t in $targets; do printf 'fuzz_%s ' "$t"; done)
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started="$(date -u '+%Y-%m-%d %H:%M UTC')"; load="$(cut -d' ' -f1-3 /proc/loadavg)"
status=0
rows=""
for t in $targets; do
  mkdir -p "$work/$t"
  log="$work/$t.log"
  # The seed corpus is read, never written: new inputs go to the work dir.
  if (cd "$work" && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=${ASAN_OPTIONS-malloc_context_size=4} \
      "$build/fuzz/fuzz_$t" -max_total_time="$seconds" ${RUNS:+-runs=$RUNS} -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
      "$work/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1); then
    result="0 crashes"
  else
    result="**crash**: $(grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$log" || echo "exit status $?")"
    status=1
    cp "$log" "$root/fuzz-$t-crash.log" 2>/dev/null || true
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do [ -e "$f" ] && cp "$f" "$root/"; done
  fi
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+.*cov:' "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*/\1/')
  echo "fuzz_$t: ${execs:-?} executions (${rate:-?}/s), coverage ${cov:-?} edges, $result"
  rows+="| fuzz_$t | ${execs:-?} | ${rate:-?} | ${cov:-?} | $result |"$'\n'
done
if [ "$out" != "-" ]; then
  {
    echo "# Fuzzing (libFuzzer, AddressSanitizer + UBSan)"
    echo
    echo "Command: \`${RUNS:+RUNS=$RUNS }bench/fuzz.sh $seconds\` (each target ${RUNS:+for $RUNS executions or }for $seconds s, whichever ends first, from \`fuzz/corpus/<target>/\`)."
    echo "Run on $started, $(nproc) cores ($(uname -m)); load average before the run: $load; $(clang++ --version | head -1)."
    echo
    echo "| target | executions | executions/s | edges covered | result |"
    echo "|---|---|---|---|---|"
    printf '%s' "$rows"
  } >"$out"
fi
exit $status
