#!/usr/bin/env bash
# DistillGuard live demo: the README's main command on a fresh Debian 12 machine.
#
#   scripts/demo.sh                 install packages (apt), build, run the demo (~65 s after the build)
#   scripts/demo.sh --no-build      use the binaries already in ./build (or --bin-dir DIR)
#   scripts/demo.sh --quick         a shorter scenario (~30 s), as the ctest demo_pipeline runs it
#   scripts/demo.sh --check         exit 1 unless a distiller was throttled/blocked, no benign key
#                                   was blocked and at least one alert arrived with a valid signature
#   scripts/demo.sh --keep          keep the scratch directory (configs, traffic, logs, alerts)
#
# What it does: starts the demo upstream (dg-demo-upstream), a webhook receiver
# that verifies alert signatures (dg-webhook-receiver), and distillguard with
# config/demo.yaml in front of the upstream; generates a labelled mixed
# scenario with dg-simulate (benign clients, look-alikes, distillers and a
# small hydra campaign); plays it through the proxy with dg-play; then prints
# per key what it got, the decisions with their evidence (admin API), the
# alerts received and a few metrics. Every process it starts is stopped on
# exit; every wait has a deadline; every port is picked by the OS (port 0).
#
# Needs: bash, curl, jq, sha256sum (scripts/install-deps.sh installs them).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${DG_BIN_DIR:-$repo/build}
build=1 quick=0 check=0 keep=0
speed="" duration="" seed=${DG_DEMO_SEED:-7}
data_dir=${DG_SHARED_DATA_DIR:-}

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while (($#)); do
  case $1 in
    --no-build) build=0 ;;
    --quick) quick=1 ;;
    --check) check=1 ;;
    --keep) keep=1 ;;
    --bin-dir) bin_dir=$2; shift ;;
    --data-dir) data_dir=$2; shift ;;
    --speed) speed=$2; shift ;;
    --duration) duration=$2; shift ;;
    --seed) seed=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "demo.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
# Simulated seconds and playback speed: 300 s in ~60 s, or 150 s in ~25 s.
if ((quick)); then duration=${duration:-150} speed=${speed:-6}
else duration=${duration:-300} speed=${speed:-5}; fi

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

if ((build)); then
  say "Installing packages and building (first build takes a few minutes)"
  "$repo/scripts/install-deps.sh"
  cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDG_WERROR=ON >/dev/null
  cmake --build "$repo/build" -j"${JOBS:-$(nproc)}" \
    --target distillguard dg-demo-upstream dg-simulate dg-play dg-webhook-receiver
  bin_dir=$repo/build
fi
for tool in curl jq sha256sum; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
for exe in distillguard dg-demo-upstream dg-simulate dg-play dg-webhook-receiver; do
  [ -x "$bin_dir/$exe" ] || die "$bin_dir/$exe not found (build first, or pass --bin-dir)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/distillguard-demo.XXXXXX")
pids=()
cleanup() {
  local status=$?
  # Stop what this script started (by pid, newest first), then wait at most 5 s.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  local deadline=$((SECONDS + 5))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if ((keep)); then echo "demo.sh: files kept in $work"; else rm -rf "$work"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for_port FILE REGEX NAME: prints the port from the first line of FILE
# matching REGEX (which captures "HOST:PORT"), within 20 s.
wait_for_port() {
  local file=$1 regex=$2 name=$3 deadline=$((SECONDS + 20)) line
  while ((SECONDS < deadline)); do
    line=$(grep -Eo "$regex" "$file" 2>/dev/null | head -n1 || true)
    if [ -n "$line" ]; then echo "${line##*:}"; return 0; fi
    sleep 0.1
  done
  echo "demo.sh: $name did not start within 20 s; its log:" >&2
  tail -n 20 "$file" >&2 || true
  return 1
}

export DG_ADMIN_TOKEN="dg-demo-admin-token-$RANDOM$RANDOM"
export DG_ALERT_SECRET="dg-demo-alert-secret-$RANDOM$RANDOM"

say "Starting the demo upstream, the webhook receiver and DistillGuard"
"$bin_dir/dg-demo-upstream" --address 127.0.0.1 --port 0 --latency-ms 2 --token-interval-ms 0 \
  >"$work/upstream.log" 2>&1 &
pids+=($!)
"$bin_dir/dg-webhook-receiver" --host 127.0.0.1 --port 0 --secret-env DG_ALERT_SECRET \
  --out "$work/alerts.jsonl" --quiet >"$work/receiver.log" 2>&1 &
pids+=($!)
upstream_port=$(wait_for_port "$work/upstream.log" 'listening [0-9.]+:[0-9]+' "dg-demo-upstream")
receiver_port=$(wait_for_port "$work/receiver.log" 'listening [0-9.]+:[0-9]+' "dg-webhook-receiver")

sed -e "s#http://127.0.0.1:18000#http://127.0.0.1:$upstream_port#" \
    -e "s#http://127.0.0.1:19000/alerts#http://127.0.0.1:$receiver_port/alerts#" \
    "$repo/config/demo.yaml" >"$work/demo.yaml"
"$bin_dir/distillguard" check-config "$work/demo.yaml" >/dev/null || die "config/demo.yaml is invalid"
(cd "$work" && exec "$bin_dir/distillguard" --config "$work/demo.yaml") >"$work/distillguard.log" 2>&1 &
pids+=($!)
proxy_port=$(wait_for_port "$work/distillguard.log" 'distillguard listening on [0-9.]+:[0-9]+' "distillguard")
admin_port=$(wait_for_port "$work/distillguard.log" 'admin API listening on [0-9.]+:[0-9]+' "the admin API") ||
  echo "demo.sh: continuing without the admin API (no decisions or metrics to show)" >&2
proxy=http://127.0.0.1:$proxy_port admin=http://127.0.0.1:${admin_port:-0}
echo "upstream 127.0.0.1:$upstream_port   proxy $proxy   admin $admin   receiver 127.0.0.1:$receiver_port"

say "Generating ${duration} s of labelled traffic (dg-simulate --scenario demo-campaign)"
sim_args=(--scenario demo-campaign --seed "$seed" --duration "$duration"
          --out "$work/traffic.jsonl" --labels "$work/labels.json")
[ -n "$data_dir" ] && sim_args+=(--data-dir "$data_dir")
((quick)) && sim_args+=(--benign 6 --set hydra_keys=10 --set hydra_compress=576)
"$bin_dir/dg-simulate" "${sim_args[@]}" >"$work/simulate.log" 2>&1 || { cat "$work/simulate.log" >&2; die "dg-simulate failed"; }
jq -r 'to_entries | group_by(.value.class)[] | "\(length) \(.[0].value.class) keys"' "$work/labels.json" | paste -sd, - |
  sed 's/,/, /g; s/^/keys: /'
echo "records: $(wc -l <"$work/traffic.jsonl")"

# Fingerprints of the labelled keys (traffic-format.md: fp: + 16 hex of SHA-256(key)).
jq -r 'to_entries[] | [.key, .value.class, .value.persona, (.value.campaign // "")] | @tsv' "$work/labels.json" |
  while IFS=$'\t' read -r key cls persona campaign; do
    printf 'fp:%s\t%s\t%s\t%s\n' "$(printf '%s' "$key" | sha256sum | cut -c1-16)" "$cls" "$persona" "$campaign"
  done | jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {key: .[0], value: {class: .[1], persona: .[2], campaign: .[3]}}) | from_entries' \
  >"$work/classes.json"

say "Playing it through DistillGuard at ${speed}x (about $((duration / speed)) s)"
"$bin_dir/dg-play" --target "$proxy" --speed "$speed" --concurrency 16 --timeout-ms 30000 --demo-usage \
  --json "$work/play.json" "$work/traffic.jsonl" >"$work/play.log" 2>&1 || { cat "$work/play.log" >&2; die "dg-play failed"; }
tail -n 1 "$work/play.log"

# Alerts are sent asynchronously: wait until the receiver's file stops growing
# (3 s without a new alert), at most 20 s.
touch "$work/alerts.jsonl"
deadline=$((SECONDS + 20)) last=-1 stable_since=$SECONDS
while ((SECONDS < deadline)); do
  n=$(wc -l <"$work/alerts.jsonl")
  if [ "$n" != "$last" ]; then last=$n stable_since=$SECONDS; elif ((n > 0 && SECONDS - stable_since >= 3)); then break; fi
  sleep 0.5
done

admin_get() { curl -fsS --max-time 10 -H "Authorization: Bearer $DG_ADMIN_TOKEN" "$admin$1"; }
admin_get '/v1/decisions?all=1' >"$work/decisions.json" || echo '{"data":[]}' >"$work/decisions.json"
admin_get /metrics >"$work/metrics.txt" || : >"$work/metrics.txt"
touch "$work/alerts.jsonl"

# One row per key: class from the labels, status counts from dg-play, the
# latest decision from the admin API.
jq -n --slurpfile play "$work/play.json" --slurpfile cls "$work/classes.json" --slurpfile dec "$work/decisions.json" '
  ($dec[0].data // [] | map({key: .key_fp, value: .}) | from_entries) as $d
  | [$play[0].keys[] | . as $k | ($cls[0][$k.key] // {class: "unknown", persona: "", campaign: ""}) as $c
     | {key: $k.key, class: $c.class, persona: $c.persona, campaign: $c.campaign,
        requests: $k.requests, ok: $k["200"], throttled: $k["429"], blocked: $k["403"],
        action: ($d[$k.key].action // "-"), rule: ($d[$k.key].rule // "")}]' >"$work/keys.json"

say "Per key: what each client got (class from the simulator's labels)"
jq -r '
  def order: {distiller: 0, campaign: 1, lookalike: 2, benign: 3}[.class] // 4;
  (["class", "persona", "key", "requests", "200", "429", "403", "decision"] | @tsv),
  (sort_by(order, -.requests)[] | [.class, (.persona | sub("^(distiller|benign|lookalike|campaign)/"; "")),
     .key, .requests, .ok, .throttled, .blocked,
     (if .action == "-" then "-" else "\(.action) (\(.rule))" end)] | @tsv)' "$work/keys.json" |
  column -t -s $'\t'

say "Per class"
jq -r '(["class", "keys", "requests", "200", "429", "403", "keys throttled", "keys blocked"] | @tsv),
  (group_by(.class)[] | [.[0].class, length, (map(.requests) | add), (map(.ok) | add), (map(.throttled) | add),
     (map(.blocked) | add), (map(select(.throttled > 0 or .action == "throttle")) | length),
     (map(select(.blocked > 0 or .action == "block")) | length)] | @tsv)' "$work/keys.json" | column -t -s $'\t'

say "Why: decisions taken (GET /v1/decisions, with the detectors' evidence)"
# Members of one campaign share their evidence: one entry per campaign.
jq -r --slurpfile cls "$work/classes.json" '
  def cls: $cls[0][.] .class // "?";
  .data // [] | if length == 0 then "(no decisions)" else
  group_by(.campaign // .key_fp) | sort_by(.[0].action != "block", .[0].action != "throttle", .[0].created)[] |
  .[0] as $d |
  if length > 1 then
    "\($d.action | ascii_upcase) \(length) keys of campaign \($d.campaign) [\(map(.key_fp | cls) | unique | join(","))] rule=\($d.rule // "-") risk=\(map(.risk) | max * 100 | round / 100)"
    + "\n    keys: \(map(.key_fp) | join(" "))"
  else
    "\($d.action | ascii_upcase) \($d.key_fp) [\($d.key_fp | cls)] rule=\($d.rule // "-") risk=\($d.risk * 100 | round / 100)"
    + (if $d.campaign then " campaign=\($d.campaign)" else "" end)
  end
  + "\n    reason: \($d.reason)"
  + ([$d.evidence[:3][] | "\n    - \(.[:220])"] | join(""))
  end' "$work/decisions.json" | head -n 60

say "Alerts received by the webhook receiver (HMAC-SHA256 signatures checked)"
if [ -s "$work/alerts.jsonl" ]; then
  jq -r '"\(if .signature_ok then "signature OK " else "SIGNATURE BAD" end)  \(.event)  \((.alert.summary // .body // "")[:160])"' \
    "$work/alerts.jsonl" | head -n 25
  jq -s -r '"\(length) alert(s), \(map(select(.signature_ok)) | length) with a valid signature; events: \(group_by(.event) | map("\(.[0].event)=\(length)") | join(" "))"' \
    "$work/alerts.jsonl"
else
  echo "(no alerts received)"
fi

say "Metrics (GET /metrics, a few lines)"
grep -E '^(dg_requests_total|dg_active_decisions|dg_detector_findings_total|dg_campaigns_tracked|dg_keys_tracked|dg_alert_deliveries_total|dg_alerts_enqueued_total)' \
  "$work/metrics.txt" | awk '$NF != 0' | head -n 25 || true
awk '/^dg_added_latency_seconds_sum /{s=$2} /^dg_added_latency_seconds_count /{c=$2}
     END{if (c > 0) printf "added latency: mean %.2f ms over %d requests\n", 1000 * s / c, c}' "$work/metrics.txt"

if ((check)); then
  say "Checks"
  fail=0
  n=$(jq '[.[] | select((.class == "distiller" or .class == "campaign") and (.throttled > 0 or .blocked > 0))] | length' "$work/keys.json")
  echo "distiller/campaign keys throttled or blocked: $n"; ((n > 0)) || fail=1
  n=$(jq '[.[] | select(.class == "benign" and (.blocked > 0 or .action == "block"))] | length' "$work/keys.json")
  echo "benign keys blocked: $n"; ((n == 0)) || fail=1
  n=$(jq -s '[.[] | select(.signature_ok)] | length' "$work/alerts.jsonl")
  echo "alerts with a valid signature: $n"; ((n > 0)) || fail=1
  ((fail == 0)) && echo "demo check: PASS" || { echo "demo check: FAIL"; exit 1; }
fi
