#!/usr/bin/env bash
# Replay throughput on one core: generates simulated traffic (default 2 days of
# the standard population), then measures `distillguard replay --parse-only`
# (reader + JSON + validation) and the full replay (feature extraction, prompt
# analysis, detection, campaign linker) with the default prompt window and
# with a 4 kB one. Each row is the best of RUNS runs (default 3) by CPU time.
# Writes bench/results/replay.md.
#
#   bench/replay_throughput.sh [SEED] [DAYS]        (BUILD=build RUNS=3)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seed="${1:-7}"; days="${2:-2}"
build="${BUILD:-$root/build}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started="$(date -u '+%Y-%m-%d %H:%M UTC')"; load="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "detection: {}" > "$work/config.yaml"
"$build/dg-simulate" --data-dir "$root/../shared/data" --seed "$seed" --days "$days" \
  --out "$work/traffic.jsonl" --labels "$work/labels.json" 2> "$work/gen.txt"
cat "$work/gen.txt" >&2
# Warm the page cache so that the first run does not measure the disk.
cat "$work/traffic.jsonl" > /dev/null
run() {  # $1 = label, $2 = config, rest = extra args; best of $RUNS runs (the machine is shared)
  local label="$1" config="$2"; shift 2
  for i in $(seq "${RUNS:-3}"); do
    taskset -c 0 "$build/distillguard" replay "$@" --config "$config" --summary-json "$work/s$i.json" \
      "$work/traffic.jsonl" > /dev/null
  done
  python3 - "$label" "$work" "${RUNS:-3}" <<'PY'
import json, sys
runs = [json.load(open(f"{sys.argv[2]}/s{i}.json"))["stats"] for i in range(1, int(sys.argv[3]) + 1)]
s = min(runs, key=lambda r: r.get("cpu_seconds") or r["seconds"])
cpu = s.get("cpu_seconds") or s["seconds"]
spread = ", ".join(f"{r['records'] / (r.get('cpu_seconds') or r['seconds']):,.0f}" for r in runs)
print(f"| {sys.argv[1]} | {s['records']:,} | {s['bytes'] / 2**20:,.0f} | {cpu:.2f} | {s['seconds']:.2f} | "
      f"**{s['records'] / cpu:,.0f}** | {s['bytes'] / 2**20 / cpu:,.0f} | {s['findings']} | {spread} |")
PY
}
printf 'detection:\n  max_scan_bytes: 4096\n' > "$work/wide.yaml"
{
  echo "# Replay throughput"
  echo
  echo "Command: \`bench/replay_throughput.sh $seed $days\` on $(nproc) shared cores ($(uname -m)), pinned to one core;"
  echo "records/s are per second of the replay thread's CPU time, reading the file included (the machine is shared,"
  echo "so wall time is noisier); each row is the best of ${RUNS:-3} runs, all runs in the last column."
  echo "Run on $started; load average before the run: $load."
  echo "Traffic: $(cat "$work/gen.txt" | sed 's/^dg-simulate: //')"
  echo
  echo "| mode | records | MiB | CPU s | wall s | records/s | MiB/s | findings | records/s of each run |"
  echo "|---|---|---|---|---|---|---|---|---|"
  run "parse only (--parse-only)" "$work/config.yaml" --parse-only
  run "full replay (default detection, max_scan_bytes 2048)" "$work/config.yaml"
  run "full replay, max_scan_bytes 4096" "$work/wide.yaml"
  if command -v perf > /dev/null; then
    echo
    echo "Hottest functions of the full replay (perf, self time):"
    echo
    echo '```'
    perf record -q -o "$work/perf.data" "$build/distillguard" replay --config "$work/config.yaml" \
      --summary-json "$work/s.json" "$work/traffic.jsonl" > /dev/null 2>&1 || true
    perf report -i "$work/perf.data" --no-children --percent-limit 2 --stdio 2>/dev/null | grep -E '^ +[0-9]' | \
      sed -E 's/ +/ /g' | cut -c1-150 | head -15 || true
    echo '```'
  fi
} | tee "$here/results/replay.md"
