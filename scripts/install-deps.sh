#!/usr/bin/env bash
# Installs the Debian 12 packages DistillGuard builds and tests with.
# Idempotent: does nothing when everything is already present.
#   scripts/install-deps.sh [--fuzz]   (--fuzz: clang and libFuzzer for fuzz/ and bench/fuzz.sh)
set -euo pipefail
pkgs=(cmake g++ make libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev
      libspdlog-dev libyaml-cpp-dev libsimdjson-dev catch2 ca-certificates
      pkg-config libhiredis-dev redis-server   # fleet mode (gateway/fleet): the client library; the tests start their own Redis
      curl jq bsdextrautils)   # the demo (scripts/demo.sh) and its test: HTTP calls, JSON, `column`
for arg in "$@"; do
  case $arg in
    --fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
