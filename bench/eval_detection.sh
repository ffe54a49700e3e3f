#!/usr/bin/env bash
# Generates a simulated population (default: 7 days, 300 benign, 4 look-alikes
# of each type, 32 distillers), replays it with the given config, and scores
# detection per detector and combined. Writes bench/results/detection_eval.md.
#
#   bench/eval_detection.sh [SEED] [CONFIG]      (BUILD=build DAYS=7 BENIGN=300 DISTILLERS=32 LOOKALIKES=4
#                                                 OUT=bench/results/detection_eval.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seed="${1:-20261123}"
config="${2:-}"
build="${BUILD:-$root/build}"
days="${DAYS:-7}"; benign="${BENIGN:-300}"; distillers="${DISTILLERS:-32}"; lookalikes="${LOOKALIKES:-4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started="$(date -u '+%Y-%m-%d %H:%M UTC')"; load="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z "$config" ]]; then config="$work/config.yaml"; echo "detection: {}" > "$config"; fi
t0=$(date +%s.%N)
"$build/dg-simulate" --data-dir "$root/../shared/data" --seed "$seed" --days "$days" --benign "$benign" \
  --lookalikes "$lookalikes" --distillers "$distillers" --out "$work/traffic.jsonl" --labels "$work/labels.json"
t1=$(date +%s.%N)
"$build/distillguard" replay --config "$config" --output "$work/findings.jsonl" --summary-json "$work/summary.json" \
  "$work/traffic.jsonl"
cmd="bench/eval_detection.sh $seed  # dg-simulate --seed $seed --days $days --benign $benign --lookalikes $lookalikes --distillers $distillers; distillguard replay"
python3 "$here/eval_detection.py" "$work/labels.json" "$work/summary.json" "$work/findings.jsonl" \
  --markdown "${OUT:-$here/results/detection_eval.md}" --command "$cmd" --generate-seconds "$(echo "$t1 - $t0" | bc)"
# Date and machine load of this run, under the command line.
sed -i "/^Command: /a Run on $started, $(nproc) cores ($(uname -m)); load average before the run: $load." \
  "${OUT:-$here/results/detection_eval.md}"
