# Shared helpers for the loopback benchmarks (bench/proxy_wrk.sh, bench/race.sh).
# Source it after `set -euo pipefail`; it sets TMP (a temp dir removed on exit)
# and PIDS (processes started with `start_bg`, ended on exit).
#
#   source "$ROOT/bench/lib/peers.sh"
#   need_peer wrk wrk                  # command, apt package: fails naming the package
#   P=$(free_port); start_bg "$TMP/x.log" some-server --port "$P"; wait_http "$P"
#   write_post_lua "$TMP/post.lua"; expect_200 "$P" "$TMP/post.lua"
#   wrk_cell "$P" "$TMP/post.lua" 5s 1 32    # -> "rps p50_us p99_us p999_us errors"

TMP=$(mktemp -d)
PIDS=()
peers_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap peers_cleanup EXIT

# need_peer COMMAND PACKAGE: the command must be on PATH (or an executable path).
need_peer() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "$1 is not installed: apt-get install $2" >&2
    exit 1
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_bg LOGFILE COMMAND...: starts COMMAND in the background (stdout+stderr to LOGFILE).
start_bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
}

# wait_http PORT [NAME [LOGFILE]]: until anything answers HTTP on 127.0.0.1:PORT
# (5 s deadline); on failure the LOGFILE's tail is shown.
wait_http() {
  local _
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
    sleep 0.05
  done
  echo "${2:-port $1} did not open 127.0.0.1:$1" >&2
  if [ -n "${3:-}" ] && [ -f "$3" ]; then tail -n 5 "$3" >&2; fi
  return 1
}

BENCH_KEY="sk-bench-0001"
BENCH_BODY='{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Explain step by step why the sky is blue."}],"max_tokens":64,"temperature":0.2}'
BENCH_STREAM_BODY='{"model":"gpt-4o","stream":true,"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Explain step by step why the sky is blue."}],"max_tokens":64,"temperature":0.2}'

# write_post_lua FILE [EXTRA_HEADER_NAME EXTRA_HEADER_VALUE]...: the wrk script,
# POST chat body with a Bearer key; its done hook prints one line
#   RESULT requests/s p50_us p99_us p99.9_us non2xx socket_errors
write_post_lua() {
  local file=$1
  shift
  {
    echo 'wrk.method = "POST"'
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "wrk.headers[\"Authorization\"] = \"Bearer $BENCH_KEY\""
    while [ $# -ge 2 ]; do
      echo "wrk.headers[\"$1\"] = \"$2\""
      shift 2
    done
    echo "wrk.body = '$BENCH_BODY'"
    cat <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
  } >"$file"
}

# expect_200 PORT LUAFILE NAME: one POST like the wrk script's must get 200.
expect_200() {
  local port=$1 lua=$2 name=$3 code
  local -a hdrs=()
  # The extra headers of the lua script, as curl -H arguments.
  while IFS= read -r h; do hdrs+=(-H "$h"); done < <(sed -n 's/^wrk.headers\["\([^"]*\)"\] = "\(.*\)"$/\1: \2/p' "$lua")
  code=$(curl -s -o "$TMP/check.body" -w '%{http_code}' -X POST "${hdrs[@]}" --data "$BENCH_BODY" \
    "http://127.0.0.1:$port/v1/chat/completions" || true)
  if [ "$code" != 200 ]; then
    echo "$name (127.0.0.1:$port) answered '$code' instead of 200 to the benchmark POST:" >&2
    head -c 400 "$TMP/check.body" >&2 || true
    echo >&2
    return 1
  fi
}

# wrk_cell PORT LUAFILE DURATION THREADS CONNS: prints the RESULT fields.
wrk_cell() {
  local out
  out=$(wrk -t"$4" -c"$5" -d"$3" --latency -s "$2" "http://127.0.0.1:$1/v1/chat/completions")
  echo "$out" | awk '$1 == "RESULT" {print $2, $3, $4, $5, $6, $7}'
}

# start_nginx NAME PORT UPSTREAM_PORT WORKERS [BUFFERING on|off]: nginx as an
# unprivileged foreground process, config and logs under $TMP/NAME, upstream
# keep-alive pool, no access log. NGINX (default: nginx on PATH or /usr/sbin/nginx).
start_nginx() {
  local dir=$TMP/$1
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<NGINX
daemon off;
worker_processes $4;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  upstream bench_upstream { server 127.0.0.1:$3; keepalive 64; }
  server {
    listen 127.0.0.1:$2;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering ${5:-on};
    }
  }
}
NGINX
  start_bg "$dir/stdout.log" "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# start_haproxy NAME PORT UPSTREAM_PORT THREADS: HAProxy in the foreground (-db),
# `http-reuse always`, no log.
start_haproxy() {
  local dir=$TMP/$1
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<HAPROXY
global
  nbthread $4
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend bench_in
  bind 127.0.0.1:$2
  default_backend bench_out
backend bench_out
  server up1 127.0.0.1:$3
HAPROXY
  start_bg "$dir/haproxy.log" "$HAPROXY" -db -f "$dir/haproxy.cfg"
}

# start_distillguard NAME PORT UPSTREAM_PORT WORKERS DETECTION(on|off): access
# log on (info, text, to $TMP/NAME/access.log). "off": every detector
# `enabled: false` and `campaigns: {enabled: false}` (the product has no single
# switch; feature extraction and the decision lookup still run).
start_distillguard() {
  local dir=$TMP/$1 d
  mkdir -p "$dir"
  {
    echo "listen: {address: 127.0.0.1, port: $2}"
    echo "upstream: {url: \"http://127.0.0.1:$3\"}"
    echo "workers: $4"
    echo "log: {format: text, level: info}"
    if [ "$5" = off ]; then
      echo "campaigns: {enabled: false}"
      echo "detection:"
      echo "  detectors:"
      for d in reasoning_elicitation logprob_harvesting generation_heavy coverage volume machine_cadence frame_substream; do
        echo "    $d: {enabled: false}"
      done
    fi
  } >"$dir/distillguard.yaml"
  "$BUILD/distillguard" check-config "$dir/distillguard.yaml" >"$dir/check.log" 2>&1 || {
    echo "distillguard check-config rejected $dir/distillguard.yaml:" >&2
    cat "$dir/check.log" >&2
    exit 1
  }
  "$BUILD/distillguard" --config "$dir/distillguard.yaml" >"$dir/access.log" 2>"$dir/service.log" &
  PIDS+=($!)
}
