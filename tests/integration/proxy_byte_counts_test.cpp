// Byte counts of an exchange (access log `bytes`, dg_client_bytes_total{direction="out"}):
// every byte written to the client for it — heads, interim heads, body and
// chunk framing, or the proxy's own error reply — as a raw client counts them.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
using dg::gateway::ProxyServer;

namespace {

std::string post(const std::string& target, const std::string& body, const std::string& extra_headers) {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

TEST_CASE("the bytes counted for an exchange are the bytes the client received", "[integration][proxy][bytes]") {
  FakeUpstream up;
  auto cfg = test_proxy_config(up.url());
  cfg.identity.allow_anonymous = false;
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  const std::string key = "Authorization: Bearer sk-bytes-0123456789\r\n";

  struct Case {
    const char* what;
    std::string request;
  };
  const Case cases[] = {
      {"JSON with Content-Length", post("/v1/chat/completions", R"({"model":"m","messages":[]})", key)},
      {"SSE, chunked", post("/v1/chat/completions", R"({"model":"m","stream":true,"messages":[]})", key)},
      {"interim 103 before the final head", post("/interim", "{}", key)},
      {"the proxy's own 401", post("/v1/chat/completions", "{}", "")},
      {"upstream 404 passed through", post("/nowhere", "{}", key)},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    const auto before = proxy.stats().bytes_to_clients.load();
    const auto got = raw_exchange(port, c.request);
    REQUIRE(got.closed);
    REQUIRE(got.received.size() > 100);
    // Counted when the exchange is finished, just before the close.
    CHECK(wait_until([&] { return proxy.stats().bytes_to_clients.load() - before == got.received.size(); }));
    CHECK(proxy.stats().bytes_to_clients.load() - before == got.received.size());
  }
  proxy.stop();
}
