// /healthz on the proxy port: answered by the proxy itself for probes
// (Docker HEALTHCHECK, Kubernetes readiness/liveness), without a key, never
// forwarded, on a keep-alive connection like any other request.
#include <catch2/catch.hpp>

// GCC 12 reports a false -Wmismatched-new-delete on coroutine frames of some lambdas.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <cstdlib>
#include <string>
#include <sys/wait.h>

#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
using dg::gateway::ProxyServer;

TEST_CASE("GET /healthz is answered by the proxy without a key and never forwarded", "[integration][proxy][health]") {
  FakeUpstream up;
  auto cfg = test_proxy_config(up.url());
  cfg.identity.allow_anonymous = false;
  ProxyServer proxy(cfg);
  const auto port = proxy.start();

  // Two probes and a HEAD on one connection: keep-alive holds.
  const auto got = raw_exchange(port,
                                "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::size_t oks = 0, at = 0;
  while ((at = got.received.find("HTTP/1.1 200 OK", at)) != std::string::npos) ++oks, ++at;
  CHECK(oks == 3);
  CHECK(got.received.find(R"({"status":"ok"})") != std::string::npos);
  CHECK(got.received.find("Content-Length: 15") != std::string::npos);
  // The HEAD reply has no body: the stream ends right after its head.
  CHECK(got.received.substr(got.received.size() - 4) == "\r\n\r\n");
  CHECK(got.closed);
  CHECK(up.requests() == 0);

  // Other methods and paths are not the health endpoint: a keyless POST to
  // /healthz is refused like any unauthenticated request.
  const auto post = raw_exchange(port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  CHECK(post.received.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(up.requests() == 0);
}

TEST_CASE("a /healthz probe that carries a body is answered and its connection closed", "[integration][proxy][health]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  const auto got = raw_exchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(got.received.rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(got.closed);
  CHECK(up.requests() == 0);
}

TEST_CASE("distillguard health exits 0 on a serving proxy and 1 when nothing answers", "[integration][proxy][health]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  const auto health = [](const std::string& args) {
    const int rc = std::system((std::string(DG_BINARY_DIR) + "/distillguard health " + args + " 2>/dev/null").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  CHECK(health("--port " + std::to_string(port)) == 0);
  proxy.stop(std::chrono::milliseconds(500));
  CHECK(health("--port " + std::to_string(port) + " --timeout-ms 2000") == 1);
  CHECK(health("--port 0") == 2);
  CHECK(health("--bogus") == 2);
  CHECK(up.requests() == 0);
}
