#!/usr/bin/env bash
# Detection evaluation (issue 10): generates the TUNING and TEST sets of
# bench/detection_sets.sh (7-day populations), replays each through
# `distillguard replay --config CONFIG` and scores the decisions the policy
# took against the simulator's labels, per set and per persona. Writes
# bench/results/detection_eval.md.
#
#   bench/eval_detection.sh [--sets tuning,test] [--config FILE] [--only RUN]... [--keep DIR] [--out FILE]
#   bench/eval_detection.sh SEED [CONFIG]     one run of the plain `population` scenario (the old usage)
#
#   --config  default bench/eval_detection.yaml: built-in detection defaults,
#             policy = config/policy.example.yaml (what operators start from)
#   --only    run only the named runs (e.g. --only test-mixed); the report says so and goes to
#             $TMPDIR/detection_eval.partial.md unless --out or OUT names a file (also for SEED)
#   --keep    keep labels, decisions and summaries (not the traffic) under DIR
#   BUILD=dir (default ./build) holds dg-simulate and distillguard; OUT=file is the same as --out.
#   DATA_DIR=dir (default ../shared/data; "builtin": the simulator's built-in data set).
#   The single-run form reads DAYS, BENIGN, DISTILLERS, LOOKALIKES (7, 300, 32, 4).
#
# Tune only on the tuning set; report the test set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
build="${BUILD:-$root/build}"
config="$here/eval_detection.yaml"
out="${OUT:-}"
sets="tuning,test"
keep=""
only=()
single_seed=""
orig_args="$*"

if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
  single_seed="$1"
  [[ $# -gt 1 ]] && config="$2"
else
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --sets) sets="$2"; shift 2 ;;
      --config) config="$2"; shift 2 ;;
      --only) only+=("$2"); shift 2 ;;
      --keep) keep="$2"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
      *) echo "eval_detection.sh: unknown argument $1" >&2; exit 2 ;;
    esac
  done
fi
# A partial (--only) or single run does not replace the report of both sets.
if [[ -z "$out" ]]; then
  if [[ ${#only[@]} -gt 0 || -n "$single_seed" ]]; then out="${TMPDIR:-/tmp}/detection_eval.partial.md"
  else out="$here/results/detection_eval.md"; fi
fi
config="$(cd "$(dirname "$config")" && pwd)/$(basename "$config")"
[[ -x "$build/dg-simulate" && -x "$build/distillguard" ]] || { echo "build dg-simulate and distillguard in $build first" >&2; exit 2; }

# shellcheck source=bench/detection_sets.sh
source "$here/detection_sets.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started="$(date -u '+%Y-%m-%d %H:%M UTC')"; load="$(cut -d' ' -f1-3 /proc/loadavg)"
# The code measured: the commit, marked when the work tree differs from it.
revision="$(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
t_all=$(date +%s.%N)

runs_file="$work/runs.tsv"   # set, name, seed, options, labels, decisions, summary, seconds
: > "$runs_file"
run_one() {  # SET NAME SEED OPTIONS...
  local set="$1" name="$2" seed="$3"; shift 3
  local dir="$work/$name"; mkdir -p "$dir"
  local t0; t0=$(date +%s.%N)
  echo "== $set/$name (seed $seed)" >&2
  # The traffic is piped, never written: a 7-day population is a few GB.
  "$build/dg-simulate" --data-dir "${DATA_DIR:-$root/../shared/data}" --seed "$seed" "$@" \
      --out /dev/stdout --labels "$dir/labels.json" 2> "$dir/simulate.log" |
    "$build/distillguard" replay --config "$config" --quiet --output /dev/stdout --summary-json "$dir/summary.json" - |
    grep '"event":"decision"' > "$dir/decisions.jsonl" || true
  cat "$dir/simulate.log" >&2
  local secs; secs=$(echo "$(date +%s.%N) - $t0" | bc)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$set" "$name" "$seed" "$*" "$dir/labels.json" \
    "$dir/decisions.jsonl" "$dir/summary.json" "$secs" >> "$runs_file"
}

if [[ -n "$single_seed" ]]; then
  days="${DAYS:-7}"; benign="${BENIGN:-300}"; distillers="${DISTILLERS:-32}"; lookalikes="${LOOKALIKES:-4}"
  run_one single "population-$single_seed" "$single_seed" --scenario population --days "$days" --benign "$benign" \
    --lookalikes "$lookalikes" --distillers "$distillers"
else
  IFS=',' read -ra wanted <<< "$sets"
  for set in "${wanted[@]}"; do
    case "$set" in
      tuning) entries=("${TUNING_RUNS[@]}") ;;
      test) entries=("${TEST_RUNS[@]}") ;;
      *) echo "eval_detection.sh: unknown set $set (tuning, test)" >&2; exit 2 ;;
    esac
    for entry in "${entries[@]}"; do
      # shellcheck disable=SC2206  # the options are words on purpose
      words=($entry)
      name="${words[0]}"; seed="${words[1]}"
      if [[ ${#only[@]} -gt 0 && ! " ${only[*]} " =~ " $name " ]]; then continue; fi
      run_one "$set" "$name" "$seed" --scenario eval --days "$DETECTION_DAYS" "${words[@]:2}"
    done
  done
fi

total=$(echo "$(date +%s.%N) - $t_all" | bc)
data_source="$(head -1 "$(ls "$work"/*/simulate.log | head -1)" | sed 's/^dg-simulate: //')"
mkdir -p "$(dirname "$out")"
# Paths in the report are relative to the repository: it is committed and read on other machines.
relative() { python3 -c 'import os, sys; print(os.path.relpath(os.path.realpath(sys.argv[1]), sys.argv[2]))' "$1" "$root"; }
data_source="$(echo "$data_source" | sed "s#$root/##g")"
python3 "$here/eval_detection.py" --runs "$runs_file" --markdown "$out" --config "$(relative "$config")" \
  --started "$started" --revision "$revision" --load "$load" --data "$data_source" --cores "$(nproc)" --total-seconds "$total" \
  --command "bench/eval_detection.sh $orig_args" ${only:+--partial}
echo "report: $out" >&2
if [[ -n "$keep" ]]; then
  mkdir -p "$keep"
  cp -r "$work"/* "$keep"/
  echo "kept labels, decisions and summaries under $keep" >&2
fi
