#!/usr/bin/env bash
# The proxy race on loopback, in one run: wrk POST /v1/chat/completions (JSON
# chat body, Bearer key) straight at a fixed-response upstream, through nginx,
# HAProxy, DistillGuard with detection on and off, and the Portkey gateway (npm)
# where it installs; rounds interleaved, medians, ratios to nginx measured
# within each round. Then 2 workers: DistillGuard against nginx. Then SSE: time
# to first token and inter-event delay at STREAMS concurrent streams, direct /
# nginx / DistillGuard. Writes bench/results/race.md.
#
#   bench/race.sh
#   needs: wrk (apt-get install wrk), nginx (apt-get install nginx-light),
#          haproxy (apt-get install haproxy), curl, python3; node+npm for Portkey.
#   DURATION (10s per wrk cell)   ROUNDS (3, at least 3)   CONNS (32)   WRK_THREADS (1)
#   STREAMS (500)   SSE_SECONDS (10 per SSE cell)   SSE_EVENTS (10)   SSE_INTERVAL_MS (100)
#   PORTKEY (auto | off)   PORTKEY_DIR (BUILD_DIR/portkey: npm install target)
#   PARTS ("one two sse")   BUILD_DIR (build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
WRK_THREADS=${WRK_THREADS:-1}
STREAMS=${STREAMS:-500}
SSE_SECONDS=${SSE_SECONDS:-10}
SSE_EVENTS=${SSE_EVENTS:-10}
SSE_INTERVAL_MS=${SSE_INTERVAL_MS:-100}
PORTKEY=${PORTKEY:-auto}
PORTKEY_DIR=${PORTKEY_DIR:-$BUILD/portkey}
PARTS=${PARTS:-one two sse}
OUT=$ROOT/bench/results/race.md
CMD="DURATION=$DURATION ROUNDS=$ROUNDS CONNS=$CONNS WRK_THREADS=$WRK_THREADS STREAMS=$STREAMS SSE_SECONDS=$SSE_SECONDS SSE_EVENTS=$SSE_EVENTS SSE_INTERVAL_MS=$SSE_INTERVAL_MS PORTKEY=$PORTKEY PARTS=\"$PARTS\" bench/race.sh"

source "$ROOT/bench/lib/peers.sh"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
need_peer wrk wrk
need_peer "$NGINX" nginx-light
need_peer "$HAPROXY" haproxy
need_peer curl curl
need_peer python3 python3
if [ "$ROUNDS" -lt 3 ]; then echo "ROUNDS must be at least 3 (medians of interleaved rounds)" >&2; exit 1; fi
has_part() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

cmake --build "$BUILD" -j2 --target distillguard dg-bench-upstream dg-bench-sse-client >/dev/null

LOAD_BEFORE=$(uptime)
DG_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)  # before the results file is rewritten
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')

declare -A PORT
for p in upstream nginx haproxy dg_on dg_off portkey nginx2 dg2 nginx_sse; do PORT[$p]=$(free_port); done
UP=${PORT[upstream]}

start_bg "$TMP/upstream.log" "$BUILD/dg-bench-upstream" "$UP" 1 "$SSE_EVENTS" "$SSE_INTERVAL_MS"
start_nginx nginx "${PORT[nginx]}" "$UP" 1
start_haproxy haproxy "${PORT[haproxy]}" "$UP" 1
start_distillguard dg_on "${PORT[dg_on]}" "$UP" 1 on
start_distillguard dg_off "${PORT[dg_off]}" "$UP" 1 off
if has_part two; then
  start_nginx nginx2 "${PORT[nginx2]}" "$UP" 2
  start_distillguard dg2 "${PORT[dg2]}" "$UP" 2 on
fi
if has_part sse; then start_nginx nginx_sse "${PORT[nginx_sse]}" "$UP" 1 off; fi

write_post_lua "$TMP/post.lua"
write_post_lua "$TMP/portkey.lua" x-portkey-provider openai x-portkey-custom-host "http://127.0.0.1:$UP/v1"

wait_http "$UP" dg-bench-upstream "$TMP/upstream.log"
wait_http "${PORT[nginx]}" nginx "$TMP/nginx/error.log"
wait_http "${PORT[haproxy]}" haproxy "$TMP/haproxy/haproxy.log"
wait_http "${PORT[dg_on]}" "distillguard (detection on)" "$TMP/dg_on/service.log"
wait_http "${PORT[dg_off]}" "distillguard (detection off)" "$TMP/dg_off/service.log"
if has_part two; then
  wait_http "${PORT[nginx2]}" "nginx (2 workers)" "$TMP/nginx2/error.log"
  wait_http "${PORT[dg2]}" "distillguard (2 workers)" "$TMP/dg2/service.log"
fi
if has_part sse; then wait_http "${PORT[nginx_sse]}" "nginx (proxy_buffering off)" "$TMP/nginx_sse/error.log"; fi

# The Portkey gateway: installed from npm into PORTKEY_DIR when missing; any
# failure is recorded as the reason it was not run.
PORTKEY_NOTE=""
start_portkey() {
  local entry=$PORTKEY_DIR/node_modules/@portkey-ai/gateway/build/start-server.js
  if [ "$PORTKEY" = off ]; then PORTKEY_NOTE="not run: PORTKEY=off"; return 1; fi
  command -v node >/dev/null && command -v npm >/dev/null ||
    { PORTKEY_NOTE="not run: node/npm not installed (apt-get install nodejs npm)"; return 1; }
  if [ ! -f "$entry" ]; then
    mkdir -p "$PORTKEY_DIR"
    if ! timeout 300 npm install --prefix "$PORTKEY_DIR" --no-audit --no-fund @portkey-ai/gateway >"$TMP/npm.log" 2>&1; then
      PORTKEY_NOTE="not run: npm install @portkey-ai/gateway failed or took over 300 s ($(tail -n1 "$TMP/npm.log"))"
      return 1
    fi
  fi
  # Custom hosts on loopback must be trusted explicitly.
  start_bg "$TMP/portkey.log" env TRUSTED_CUSTOM_HOSTS=127.0.0.1,localhost NODE_ENV=production \
    node "$entry" --headless --port="${PORT[portkey]}"
  if ! wait_http "${PORT[portkey]}" portkey 2>/dev/null; then
    sleep 3  # node's start-up is slower than the 5 s deadline on a loaded machine: one more try
    wait_http "${PORT[portkey]}" portkey 2>/dev/null ||
      { PORTKEY_NOTE="not run: the gateway did not open its port ($(tail -n1 "$TMP/portkey.log"))"; return 1; }
  fi
  if ! expect_200 "${PORT[portkey]}" "$TMP/portkey.lua" portkey 2>"$TMP/portkey.check"; then
    PORTKEY_NOTE="not run: no 200 through the gateway ($(tr '\n' ' ' <"$TMP/portkey.check" | head -c 300))"
    return 1
  fi
  PORTKEY_VERSION=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
    "$PORTKEY_DIR/node_modules/@portkey-ai/gateway/package.json")
  return 0
}
PORTKEY_VERSION=""
CELLS=(direct nginx haproxy dg_on dg_off)
if has_part one && start_portkey; then CELLS+=(portkey); fi

port_of() { if [ "$1" = direct ]; then echo "$UP"; else echo "${PORT[$1]}"; fi; }
lua_of() { if [ "$1" = portkey ]; then echo "$TMP/portkey.lua"; else echo "$TMP/post.lua"; fi; }

# Every peer must answer the benchmark request with 200 before anything is measured.
for c in "${CELLS[@]}"; do expect_200 "$(port_of "$c")" "$(lua_of "$c")" "$c"; done
if has_part two; then expect_200 "${PORT[nginx2]}" "$TMP/post.lua" nginx2; expect_200 "${PORT[dg2]}" "$TMP/post.lua" dg2; fi
expect_stream() {  # PORT NAME: a streaming POST must get 200 and end with [DONE]
  local code
  code=$(curl -s -N -o "$TMP/stream.body" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -H "Authorization: Bearer $BENCH_KEY" --data "$BENCH_STREAM_BODY" "http://127.0.0.1:$1/v1/chat/completions" || true)
  if [ "$code" != 200 ] || ! grep -q '\[DONE\]' "$TMP/stream.body"; then
    echo "$2 (127.0.0.1:$1) did not stream (status '$code'):" >&2
    head -c 400 "$TMP/stream.body" >&2
    exit 1
  fi
}
if has_part sse; then
  expect_stream "$UP" direct; expect_stream "${PORT[nginx_sse]}" nginx_sse; expect_stream "${PORT[dg_on]}" dg_on
fi

RAW=$TMP/raw.txt
: >"$RAW"
# rounds PART CELL...: ROUNDS interleaved rounds, each starting one cell later
# than the one before (no cell is always first or last).
wrk_rounds() {
  local part=$1 r i n c res
  shift
  local -a cells=("$@")
  n=${#cells[@]}
  for c in "${cells[@]}"; do  # warm connections and pools (node's JIT: longer)
    wrk -t1 -c8 -d"$([ "$c" = portkey ] && echo 5s || echo 1s)" -s "$(lua_of "$c")" "http://127.0.0.1:$(port_of "$c")/v1/chat/completions" >/dev/null
  done
  for r in $(seq 1 "$ROUNDS"); do
    for i in $(seq 0 $((n - 1))); do
      c=${cells[$(((i + r - 1) % n))]}
      echo "  $part round $r: $c" >&2
      res=$(wrk_cell "$(port_of "$c")" "$(lua_of "$c")" "$DURATION" "$WRK_THREADS" "$CONNS")
      [ "$(echo "$res" | wc -w)" = 6 ] || { echo "wrk against $c printed no result" >&2; exit 1; }
      echo "$part $r $c $res" >>"$RAW"
    done
  done
}
sse_rounds() {
  local r i c res
  local -a cells=(direct nginx_sse dg_on)
  for r in $(seq 1 "$ROUNDS"); do
    for i in 0 1 2; do
      c=${cells[$(((i + r - 1) % 3))]}
      echo "  sse round $r: $c" >&2
      res=$("$BUILD/dg-bench-sse-client" "$(port_of "$c")" "$STREAMS" "$SSE_SECONDS" "$BENCH_KEY" \
        "$BENCH_STREAM_BODY" | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6, $7}')
      [ "$(echo "$res" | wc -w)" = 6 ] || { echo "dg-bench-sse-client against $c printed no result" >&2; exit 1; }
      echo "sse $r $c $res" >>"$RAW"
    done
  done
}

if has_part one; then wrk_rounds one "${CELLS[@]}"; fi
if has_part two; then wrk_rounds two nginx2 dg2; fi
if has_part sse; then sse_rounds; fi

LOAD_AFTER=$(uptime)
ACCESS_LINES=$(wc -l <"$TMP/dg_on/access.log")

{
  echo "# Proxy race: wrk and SSE on loopback"
  echo
  echo "Generated by \`bench/race.sh\` on $STARTED, $(nproc) cores ($(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
  echo
  echo "Command: \`$CMD\`"
  echo
  echo "- \`uptime\` before: \`$LOAD_BEFORE\`"
  echo "- \`uptime\` after:  \`$LOAD_AFTER\`"
  echo
  echo "wrk -t$WRK_THREADS -c$CONNS -d$DURATION --latency, POST /v1/chat/completions (JSON chat body, Bearer key,"
  echo "non-streaming) answered by \`dg-bench-upstream\` (1 thread, fixed 270-byte JSON). $ROUNDS interleaved rounds"
  echo "(each round starts one cell later), a 1-s warm-up per cell (5 s for Portkey, whose throughput climbs while node's JIT warms); each figure is the median over the rounds;"
  echo "a ratio is taken within each round (cell ÷ nginx of the same round) and its median reported."
  echo "Peers: $("$NGINX" -v 2>&1 | sed 's/.*: //') (1 worker, upstream keepalive 64, no access log),"
  echo "HAProxy $("$HAPROXY" -v | head -1 | awk '{print $3}') (nbthread 1, \`http-reuse always\`),"
  echo "DistillGuard $DG_REV (1 worker, access log on: text, info, to a file;"
  echo "$ACCESS_LINES lines written by the detection-on instance; \"detection off\" = every detector"
  echo "\`enabled: false\` and \`campaigns: {enabled: false}\`, feature extraction and decision lookup still run),"
  if [ -n "$PORTKEY_VERSION" ]; then
    echo "Portkey gateway $PORTKEY_VERSION (node $(node --version), \`x-portkey-provider: openai\`, custom host = the upstream)."
  else
    echo "Portkey gateway: ${PORTKEY_NOTE:-not run}."
  fi
  echo
  echo "**Noise.** wrk, the upstream and the proxy share the machine's $(nproc) cores, and other work"
  echo "(builds, tests) may run at the same time (see the load averages), so absolute numbers drift"
  echo "between rounds and runs; compare the ratios within a round, which see the same machine state."
  echo
  python3 - "$RAW" "$PORTKEY_NOTE" "$STREAMS" "$SSE_SECONDS" "$SSE_EVENTS" "$SSE_INTERVAL_MS" <<'PY'
import statistics, sys
raw, portkey_note, streams, sse_seconds, events, interval = sys.argv[1:7]
rows = {}
for line in open(raw):
    f = line.split()
    if len(f) < 4:
        continue
    rows.setdefault(f[0], {}).setdefault(f[2], {})[int(f[1])] = [float(x) for x in f[3:]]
med = statistics.median
def ms(us): return "%.2f ms" % (us / 1000.0)
names = {"direct": "direct to the upstream", "nginx": "nginx (1 worker)", "haproxy": "HAProxy (1 thread)",
         "dg_on": "DistillGuard, detection on, access log on", "dg_off": "DistillGuard, detection off, access log on",
         "portkey": "Portkey gateway", "nginx2": "nginx (2 workers)", "dg2": "DistillGuard (2 workers), detection on, access log on",
         "nginx_sse": "nginx (1 worker, proxy_buffering off)"}
def wrk_table(part, base, order, title):
    cells = rows.get(part)
    if not cells:
        return
    print("## " + title)
    print()
    ha = "haproxy" in cells
    print("| path | req/s | req/s over rounds | p50 | p99 | p99.9 | req/s ÷ nginx | p99 ÷ nginx |%s non-2xx / socket errors |"
          % (" req/s ÷ HAProxy |" if ha else ""))
    print("|---|---|---|---|---|---|---|---|%s---|" % ("---|" if ha else ""))
    for c in order:
        if c not in cells:
            continue
        rs = cells[c]
        col = lambda k: [rs[r][k] for r in sorted(rs)]
        rr = [rs[r][0] / cells[base][r][0] for r in rs if r in cells[base]]
        pr = [rs[r][2] / cells[base][r][2] for r in rs if r in cells[base]]
        hr = " %.2f× |" % med([rs[r][0] / cells["haproxy"][r][0] for r in rs if r in cells["haproxy"]]) if ha else ""
        print("| %s | %.0f | %.0f–%.0f | %s | %s | %s | %.2f× | %.2f× |%s %d / %d |" % (
            names[c], med(col(0)), min(col(0)), max(col(0)), ms(med(col(1))), ms(med(col(2))), ms(med(col(3))),
            med(rr), med(pr), hr, sum(col(4)), sum(col(5))))
    if part == "one" and "portkey" not in cells:
        print("| Portkey gateway | %s | | | | | | | | |" % (portkey_note or "not run"))
    print()
wrk_table("one", "nginx", ["direct", "nginx", "haproxy", "dg_on", "dg_off", "portkey"], "1 worker / 1 thread each")
wrk_table("two", "nginx2", ["nginx2", "dg2"], "2 workers: DistillGuard against nginx")
sse = rows.get("sse")
if sse:
    print("## SSE: %s concurrent streams, %s events %s ms apart per stream" % (streams, events, interval))
    print()
    print("Each stream is a keep-alive connection sending one streaming POST after another for %s s"
          " (starts spread over 1 s); client: `dg-bench-sse-client` (bench/sse_client.cpp: one thread, one"
          " io_context; its own scheduling delay is in every path alike). TTFT = request written → first `data:` event read;"
          " inter-event = time between consecutive events of a stream (nominal %s ms). \"added\" = path − direct"
          " within each round, median over rounds." % (sse_seconds, interval))
    print()
    print("| path | streams done | errors | TTFT p50 | TTFT p99 | added TTFT p50 | added TTFT p99 | inter-event p50 | inter-event p99 | added inter-event p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for c in ["direct", "nginx_sse", "dg_on"]:
        if c not in sse:
            continue
        rs = sse[c]
        col = lambda k: [rs[r][k] for r in sorted(rs)]
        d = sse["direct"]
        add = lambda k: med([rs[r][k] - d[r][k] for r in rs if r in d])
        print("| %s | %d | %d | %.2f ms | %.2f ms | %+.2f ms | %+.2f ms | %.2f ms | %.2f ms | %+.2f ms |" % (
            names[c], sum(col(0)), sum(col(1)), med(col(2)), med(col(3)), add(2), add(3),
            med(col(4)), med(col(5)), add(5)))
    print()
print("## Raw rounds")
print()
print("`part round cell` then wrk: `req/s p50_us p99_us p99.9_us non2xx socket_errors`;"
      " SSE: `streams_done errors ttft_p50_ms ttft_p99_ms gap_p50_ms gap_p99_ms`.")
print()
print("```")
for line in open(raw):
    print(line.rstrip())
print("```")
PY
} >"$OUT"
cat "$OUT"
