#!/usr/bin/env bash
# Fleet mode's cost on the request path, in one run: wrk POST
# /v1/chat/completions through two DistillGuard instances that differ only in
# `state:` — `backend: memory` and `backend: redis` (a redis-server of its own
# on a free loopback port) — rounds interleaved, medians, the fleet/memory
# ratio measured within each round. Every benchmark key carries an operator
# throttle decision far above the load (KEYS keys, 900,000 requests/minute
# each), so each request goes through the throttle path a fleet shares.
# Redis commands and bytes per request come from INFO commandstats and INFO
# stats around the fleet instance's cells. Writes bench/results/fleet.md.
#
#   bench/fleet_wrk.sh
#   needs: wrk, redis-server, redis-cli, curl, python3
#   DURATION (10s per cell)   ROUNDS (3, at least 3)   CONNS (32)   WRK_THREADS (1)   KEYS (4)   BUILD_DIR (build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
KEYS=${KEYS:-4}
OUT=$ROOT/bench/results/fleet.md
CMD="DURATION=$DURATION ROUNDS=$ROUNDS CONNS=$CONNS WRK_THREADS=$WRK_THREADS KEYS=$KEYS bench/fleet_wrk.sh"

source "$ROOT/bench/lib/peers.sh"
need_peer wrk wrk
need_peer redis-server redis-server
need_peer redis-cli redis-server
need_peer curl curl
need_peer python3 python3
if [ "$ROUNDS" -lt 3 ]; then echo "ROUNDS must be at least 3 (medians of interleaved rounds)" >&2; exit 1; fi
cmake --build "$BUILD" -j2 --target distillguard dg-bench-upstream >/dev/null

DG_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
export DG_ADMIN_TOKEN=dg-bench-admin-token-0001

UP=$(free_port)
REDIS_PORT=$(free_port)
declare -A PORT ADMIN
for n in memory fleet; do PORT[$n]=$(free_port); ADMIN[$n]=$(free_port); done

start_bg "$TMP/upstream.log" "$BUILD/dg-bench-upstream" "$UP" 1
start_bg "$TMP/redis.log" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
for _ in $(seq 1 100); do rcli ping >/dev/null 2>&1 && break; sleep 0.05; done
rcli ping >/dev/null || { echo "redis-server did not answer on 127.0.0.1:$REDIS_PORT" >&2; tail -5 "$TMP/redis.log" >&2; exit 1; }
REDIS_VERSION=$(rcli info server | awk -F: '/^redis_version:/ {print $2}' | tr -d '\r')

start_instance() {  # NAME BACKEND(memory|redis)
  local dir=$TMP/$1
  mkdir -p "$dir"
  cat >"$dir/distillguard.yaml" <<YAML
listen: {address: 127.0.0.1, port: ${PORT[$1]}}
upstream: {url: "http://127.0.0.1:$UP"}
workers: 1
log: {format: text, level: info}
admin:
  listen: 127.0.0.1
  port: ${ADMIN[$1]}
  token_env: DG_ADMIN_TOKEN
  audit_log: $dir/audit.jsonl
  decisions: {journal: $dir/decisions.jsonl}
policy: {allow_empty: true, throttle: {requests_per_minute: 900000, burst: 100000}}
YAML
  if [ "$2" = redis ]; then
    printf 'state: {backend: redis, url: "redis://127.0.0.1:%s/0", prefix: dg-bench, instance: bench-fleet}\n' \
      "$REDIS_PORT" >>"$dir/distillguard.yaml"
  fi
  "$BUILD/distillguard" check-config "$dir/distillguard.yaml" >"$dir/check.log" 2>&1 ||
    { echo "check-config rejected $dir/distillguard.yaml:" >&2; cat "$dir/check.log" >&2; exit 1; }
  "$BUILD/distillguard" --config "$dir/distillguard.yaml" >"$dir/access.log" 2>"$dir/service.log" &
  PIDS+=($!)
  wait_http "${PORT[$1]}" "distillguard ($1)" "$dir/service.log"
  wait_http "${ADMIN[$1]}" "distillguard admin ($1)" "$dir/service.log"
}
start_instance memory memory
start_instance fleet redis
wait_http "$UP" dg-bench-upstream "$TMP/upstream.log"

# The benchmark keys, each with a throttle far above what one key receives.
KEY_LIST=()
for i in $(seq 1 "$KEYS"); do KEY_LIST+=("sk-fleet-bench-$(printf %04d "$i")"); done
for n in memory fleet; do
  for k in "${KEY_LIST[@]}"; do
    echo "$k" | "$BUILD/distillguard" decisions add - --action throttle --rpm 900000 --ttl 1h --reason bench \
      --url "http://127.0.0.1:${ADMIN[$n]}" --config "$TMP/$n/distillguard.yaml" >/dev/null
  done
done

# wrk: the keys in turn, one per request; the done hook prints
#   RESULT requests/s p50_us p99_us non2xx socket_errors requests
{
  echo 'wrk.method = "POST"'
  echo 'wrk.headers["Content-Type"] = "application/json"'
  echo "wrk.body = '$BENCH_BODY'"
  printf 'local keys = {'
  for k in "${KEY_LIST[@]}"; do printf '"%s",' "$k"; done
  echo '}'
  cat <<'LUA'
local n = 0
request = function()
  n = n + 1
  wrk.headers["Authorization"] = "Bearer " .. keys[(n % #keys) + 1]
  return wrk.format()
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end
LUA
} >"$TMP/keys.lua"

cell() {  # NAME -> RESULT fields
  wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$TMP/keys.lua" \
    "http://127.0.0.1:${PORT[$1]}/v1/chat/completions" | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6, $7}'
}
redis_totals() {  # -> "commands bytes_in bytes_out" (two INFO calls)
  local calls
  calls=$(rcli info commandstats | tr -d '\r' | sed -n 's/^cmdstat_[a-z|]*:calls=\([0-9]*\),.*/\1/p' | awk '{s += $1} END {print s + 0}')
  echo "$calls $(rcli info stats | tr -d '\r' | awk -F: '/^total_net_input_bytes:/ {i = $2} /^total_net_output_bytes:/ {o = $2} END {print i, o}')"
}

for n in memory fleet; do cell "$n" >/dev/null; done  # warm-up: connections, pools, first-seen keys
: >"$TMP/rows"
fleet_cell() {  # -> RESULT fields | Redis totals before | after
  local before f after
  before=$(redis_totals)
  f=$(cell fleet)
  after=$(redis_totals)
  echo "$f | $before | $after"
}
for r in $(seq 1 "$ROUNDS"); do
  # The order alternates between rounds, so neither backend always runs second.
  if ((r % 2)); then m=$(cell memory); f=$(fleet_cell); else f=$(fleet_cell); m=$(cell memory); fi
  echo "$r $m | $f" >>"$TMP/rows"
done
SUB_COMMANDS=$(rcli info commandstats | tr -d '\r' | grep -E '^cmdstat_' | cut -d, -f1 | tr '\n' ' ')

python3 - "$TMP/rows" >"$TMP/table" <<'PY'
import statistics, sys
rows = []
for line in open(sys.argv[1]):
    head, f, before, after = line.split("|")
    r, *m = head.split()
    m = [float(x) for x in m]; f = [float(x) for x in f.split()]
    b = [int(x) for x in before.split()]; a = [int(x) for x in after.split()]
    reqs = f[5]
    rows.append(dict(round=int(r), m=m, f=f, ratio=f[0] / m[0], p99_ratio=f[2] / m[2],
                     cmds=(a[0] - b[0] - 2) / reqs, bytes=((a[1] - b[1]) + (a[2] - b[2])) / reqs))
print("| round | memory req/s | memory p50 / p99 (µs) | redis req/s | redis p50 / p99 (µs) | redis/memory req/s | redis/memory p99 | non-2xx (m, r) | Redis commands per request | Redis bytes per request |")
print("|---|---|---|---|---|---|---|---|---|---|")
for x in rows:
    m, f = x["m"], x["f"]
    print(f"| {x['round']} | {m[0]:.0f} | {m[1]:.0f} / {m[2]:.0f} | {f[0]:.0f} | {f[1]:.0f} / {f[2]:.0f} | {x['ratio']:.3f} | {x['p99_ratio']:.3f} | {int(m[3]+m[4])}, {int(f[3]+f[4])} | {x['cmds']:.4f} | {x['bytes']:.2f} |")
med = lambda k: statistics.median(x[k] for x in rows)
print()
print(f"Medians: redis/memory requests/s **{med('ratio'):.3f}**, p99 {med('p99_ratio'):.3f}; "
      f"Redis commands per request {med('cmds'):.4f}, bytes per request {med('bytes'):.2f} "
      "(the two INFO calls that measure them are subtracted from the commands; their few KB of output stay in the bytes).")
PY

{
  echo "# Fleet mode on the request path: state.backend memory against redis"
  echo
  echo "Generated by \`$CMD\` at $DG_REV, started $STARTED on $(nproc) cores ($(uname -m)), load before: $LOAD_BEFORE."
  echo "Redis $REDIS_VERSION on loopback (no persistence). Both instances: 1 worker, access log on, detection on,"
  echo "admin API on; each of the $KEYS keys (one per request in turn) has an operator throttle of 900,000 requests/minute (burst 100,000),"
  echo "far above the load, so no request is refused and each passes the throttle path. wrk -t$WRK_THREADS -c$CONNS"
  echo "-d$DURATION per cell, rounds interleaved (memory first in odd rounds, redis first in even ones), ratios within a round. wrk, the upstream,"
  echo "Redis and the proxies share the cores: absolute numbers are machine-bound, the ratios are the result."
  echo
  cat "$TMP/table"
  echo
  echo "Redis commands seen over the run (the subscriber's, the PINGs and the set-up included): $SUB_COMMANDS"
} >"$OUT"
cat "$OUT"
