#!/usr/bin/env bash
# Builds the container image and runs it: the proxy and the demo upstream
# from the image answer /healthz and a chat completion through the proxy, and
# `docker stop` drains the proxy to exit status 0. Run by .ci/run.
#
# Needs a Docker engine. When none answers and none can be started here (no
# daemon binary, no privileges), it prints a visible SKIPPED line and exits 0:
# the image is then not checked in this run, and the line says so.
#   scripts/test-docker.sh            (IMAGE=distillguard:ci, DOCKER_START_TIMEOUT=30)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-distillguard:ci}
skip() { echo "test-docker: SKIPPED — $* (the image was not built or run in this run)"; exit 0; }

command -v docker >/dev/null 2>&1 || skip "no docker client installed"
started_daemon=""
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null 2>&1 || skip "no Docker engine answers and there is no dockerd to start"
  [ "$(id -u)" = 0 ] || skip "no Docker engine answers and starting dockerd needs root"
  # The flags of ../shared/notes.md: no bridge or iptables on a host without them.
  dockerd --bridge=none --iptables=false >/tmp/test-docker-dockerd.log 2>&1 &
  started_daemon=$!
  deadline=$(( $(date +%s) + ${DOCKER_START_TIMEOUT:-30} ))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$started_daemon" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
      tail -5 /tmp/test-docker-dockerd.log >&2 || true
      skip "dockerd could not be started (log above)"
    fi
    sleep 0.5
  done
fi
containers=()
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  if [ -n "$started_daemon" ]; then kill "$started_daemon" 2>/dev/null || true; fi
}
trap cleanup EXIT

# The base image: pulled, or made with debootstrap where no registry answers.
if ! docker image inspect debian:bookworm >/dev/null 2>&1 && ! docker pull -q debian:bookworm >/dev/null 2>&1; then
  command -v debootstrap >/dev/null 2>&1 || skip "debian:bookworm cannot be pulled and debootstrap is not installed"
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
             awk '/^deb |^URIs:/ {for (i = 1; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' || true)
  rootfs=$(mktemp -d)
  echo "test-docker: no registry answers; making debian:bookworm with debootstrap from ${mirror:-http://deb.debian.org/debian}"
  debootstrap --variant=minbase bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >/tmp/test-docker-debootstrap.log 2>&1 ||
    { tail -5 /tmp/test-docker-debootstrap.log >&2; echo "test-docker: debootstrap failed" >&2; exit 1; }
  tar -C "$rootfs" -c . | docker import - debian:bookworm >/dev/null
  rm -rf "$rootfs"
fi

start=$(date +%s)
docker build --network host -f docker/Dockerfile -t "$image" .
echo "test-docker: image built in $(( $(date +%s) - start )) s, $(docker image inspect -f '{{.Size}}' "$image") bytes"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { local p; for _ in $(seq 50); do p=$(( 20000 + RANDOM % 20000 )); port_free "$p" && { echo "$p"; return; }; done; return 1; }
up_port=$(pick_port); proxy_port=$(pick_port)
cfg=$(mktemp -d)
cat >"$cfg/distillguard.yaml" <<YAML
listen: {address: 127.0.0.1, port: $proxy_port}
upstream: {url: 'http://127.0.0.1:$up_port'}
policy: {allow_empty: true, rules: []}
YAML
chmod 0755 "$cfg"; chmod 0644 "$cfg/distillguard.yaml"
containers+=(dg-ci-upstream dg-ci-proxy)
docker run -d --name dg-ci-upstream --network host --entrypoint dg-demo-upstream "$image" \
  --address 127.0.0.1 --port "$up_port" >/dev/null
docker run -d --name dg-ci-proxy --network host -v "$cfg/distillguard.yaml:/etc/distillguard/distillguard.yaml:ro" \
  "$image" >/dev/null
deadline=$(( $(date +%s) + 30 ))
until curl -fsS "http://127.0.0.1:$proxy_port/healthz" >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || { docker logs dg-ci-proxy >&2; echo "test-docker: /healthz never answered" >&2; exit 1; }
  sleep 0.2
done
reply=$(curl -fsS "http://127.0.0.1:$proxy_port/v1/chat/completions" -H 'Authorization: Bearer sk-docker-ci-0001' \
  -H 'Content-Type: application/json' -d '{"model":"demo","messages":[{"role":"user","content":"hello"}]}')
echo "$reply" | grep -q '"choices"' || { echo "test-docker: no completion through the proxy: $reply" >&2; exit 1; }
[ "$(docker inspect -f '{{.Config.User}}' dg-ci-proxy)" = "distillguard:distillguard" ] ||
  { echo "test-docker: the proxy does not run as the distillguard user" >&2; exit 1; }
docker stop -t 20 dg-ci-proxy >/dev/null
status=$(docker inspect -f '{{.State.ExitCode}}' dg-ci-proxy)
[ "$status" = 0 ] || { docker logs dg-ci-proxy >&2; echo "test-docker: the proxy exited $status on docker stop" >&2; exit 1; }
echo "test-docker: ok (image $image: /healthz, a completion through the proxy, drained on docker stop)"
