#!/usr/bin/env bash
# Soak: the proxy with every detector, the campaign linker, a policy and the
# access log on, in front of the demo upstream, for DURATION seconds at about
# half its measured capacity, with mixed streaming and non-streaming chat
# requests from 100,000 rotating keys (each key comes back every ~100k
# requests, so per-key state is created, aged and evicted all along).
# Samples the proxy's RSS and open fds every SAMPLE seconds; at the end checks
# RSS is flat after warm-up (the last third's maximum within 10% + 8 MiB of
# the first sample after warm-up), the fd count is flat, and the proxy answered
# no 5xx of its own. Writes bench/results/soak.md (OUT=- for stdout only).
#
#   bench/soak.sh                 (DURATION=600 SAMPLE=30 KEYS=100000 CONNS=32; needs wrk)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
duration=${DURATION:-600}
sample=${SAMPLE:-30}
keys=${KEYS:-100000}
conns=${CONNS:-32}
out=${OUT:-$root/bench/results/soak.md}

command -v wrk >/dev/null || { echo "soak.sh: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "soak.sh: curl is not installed" >&2; exit 2; }
cmake --build "$build" -j2 --target distillguard dg-demo-upstream >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Ports picked by the OS: each server binds port 0 and the script reads it back.
"$build/dg-demo-upstream" --address 127.0.0.1 --port 0 --latency-ms 1 --token-interval-ms 0 \
  --completion-tokens 48 >"$work/upstream.out" 2>&1 &
pids+=($!)
wait_for() {  # FILE REGEX: the first capture group of the first matching line, within 10 s
  for _ in $(seq 1 200); do
    if v=$(grep -m1 -oE "$2" "$1" 2>/dev/null | head -1) && [ -n "$v" ]; then echo "$v" | grep -oE '[0-9]+$'; return 0; fi
    sleep 0.05
  done
  echo "soak.sh: no match for '$2' in $1" >&2; cat "$1" >&2; return 1
}
up_port=$(wait_for "$work/upstream.out" 'listening [^ ]*:[0-9]+')

cat >"$work/distillguard.yaml" <<YAML
listen: {address: 127.0.0.1, port: 0}
upstream: {url: "http://127.0.0.1:$up_port"}
workers: 1
log: {format: text, level: info}
detection: {store: {max_keys: 20000}}
campaigns: {enabled: true, max_keys: 20000}
admin: {listen: 127.0.0.1, port: 0, token_env: DG_SOAK_TOKEN}
policy:
  rules:
    - {name: watch, when: {risk: 0.6}, action: shadow}
    - {name: throttle, when: {risk: 0.9}, action: throttle}
YAML
export DG_SOAK_TOKEN=soak-admin-token-0123456789
"$build/distillguard" --config "$work/distillguard.yaml" >"$work/access.log" 2>"$work/proxy.err" &
px_pid=$!
pids+=($px_pid)
px_port=$(wait_for "$work/access.log" 'distillguard listening on [^ ]*:[0-9]+')
admin_port=$(wait_for "$work/access.log" 'admin API listening on [^ ]*:[0-9]+')

cat >"$work/soak.lua" <<LUA
-- Rotating keys; every fourth request streams.
local n = 0
local keys = $keys
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local key = string.format("sk-soak-%06d", (n * 7919) % keys)
  local stream = (n % 4 == 0) and "true" or "false"
  local body = '{"model":"soak","stream":' .. stream .. ',"max_tokens":64,"messages":[{"role":"user","content":"Question '
    .. n .. ': explain step by step how a bicycle gear works."}]}'
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. key}, body)
end
LUA
cat >"$work/paced.lua" <<LUA
$(cat "$work/soak.lua")
delay = function() return $conns * 1000 / (tonumber(os.getenv("DG_SOAK_RATE")) or 1000) end
LUA

# Capacity: 10 s flat out; the soak runs at half of it.
cap=$(wrk -t1 -c"$conns" -d10s -s "$work/soak.lua" "http://127.0.0.1:$px_port/v1/chat/completions" |
  awk '/Requests\/sec/ {print int($2)}')
rate=$(( cap / 2 ))
echo "soak: capacity ${cap} req/s, soaking at ${rate} req/s for ${duration} s with ${keys} keys"

rss() { awk '/VmRSS/ {print $2}' "/proc/$px_pid/status"; }
fds() { ls "/proc/$px_pid/fd" | wc -l; }
samples=()
DG_SOAK_RATE=$rate wrk -t1 -c"$conns" -d"${duration}s" --timeout 10s -s "$work/paced.lua" \
  "http://127.0.0.1:$px_port/v1/chat/completions" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
start=$(date +%s)
while kill -0 "$wrk_pid" 2>/dev/null; do
  samples+=("$(( $(date +%s) - start )) $(rss) $(fds)")
  for _ in $(seq 1 "$sample"); do kill -0 "$wrk_pid" 2>/dev/null || break; sleep 1; done
done
wait "$wrk_pid" || true
samples+=("$(( $(date +%s) - start )) $(rss) $(fds)")
metrics=$(curl -s -H "Authorization: Bearer $DG_SOAK_TOKEN" "http://127.0.0.1:$admin_port/metrics")
own_5xx=$(printf '%s\n' "$metrics" | awk '/^dg_requests_total\{/ && /status="5[0-9][0-9]"/ {s += $NF} END {print s + 0}')
done_reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out"); non2xx=${non2xx:-0}
sock_errors=$(grep -m1 'Socket errors' "$work/wrk.out" || echo "Socket errors: none")

# Verdicts: warm-up is the first third.
n=${#samples[@]}
read -r _ rss_warm fd_warm <<<"${samples[$(( n / 3 ))]}"
rss_max_late=0 fd_max_late=0
for ((i = 2 * n / 3; i < n; ++i)); do
  read -r _ r f <<<"${samples[$i]}"
  (( r > rss_max_late )) && rss_max_late=$r
  (( f > fd_max_late )) && fd_max_late=$f
done
rss_flat=$(( rss_max_late <= rss_warm * 110 / 100 + 8192 ))
fd_flat=$(( fd_max_late <= fd_warm + 4 ))
status=0
(( rss_flat && fd_flat && own_5xx == 0 )) || status=1

report() {
  echo "# Soak"
  echo
  echo "Command: \`bench/soak.sh\` (DURATION=$duration SAMPLE=$sample KEYS=$keys CONNS=$conns), $(date -u '+%Y-%m-%d %H:%M UTC'),"
  echo "$(nproc) shared cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Proxy: 1 worker, every detector,"
  echo "the campaign linker, a shadow+throttle policy, the text access log; demo upstream; one in four requests streams."
  echo
  echo "Capacity (10 s flat out, same run): $cap req/s; soak rate $rate req/s; $done_reqs requests; non-2xx: $non2xx"
  echo "(throttled keys get 429); $sock_errors; 5xx answered by the proxy itself: $own_5xx."
  echo
  echo "| t (s) | RSS (KiB) | open fds |"
  echo "|---|---|---|"
  for s in "${samples[@]}"; do read -r t r f <<<"$s"; echo "| $t | $r | $f |"; done
  echo
  echo "RSS after warm-up $rss_warm KiB, maximum in the last third $rss_max_late KiB: $( ((rss_flat)) && echo flat || echo GROWING)."
  echo "fds after warm-up $fd_warm, maximum in the last third $fd_max_late: $( ((fd_flat)) && echo flat || echo GROWING)."
}
if [ "$out" = "-" ]; then report; else report | tee "$out"; fi
exit $status
