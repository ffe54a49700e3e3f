// An https:// upstream: certificate and host-name verification against a
// custom CA file (the test-only CA under support/tls/).
#include <catch2/catch.hpp>

#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
using dg::gateway::ProxyServer;

namespace {
const std::string kChatStream = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]})";

FakeUpstream::Options tls_options() {
  return {true, support_file("tls/localhost.pem"), support_file("tls/localhost.key")};
}
}  // namespace

TEST_CASE("https upstream verified with a custom CA file, streamed and pooled", "[integration][proxy][tls]") {
  FakeUpstream up(tls_options());
  auto cfg = test_proxy_config(up.url());
  cfg.upstream.ca_file = support_file("tls/test_ca.pem");
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  for (int i = 0; i < 3; ++i) {
    auto res = request(port, make_request("/v1/chat/completions", kChatStream));
    CHECK(res.status == 200);
    CHECK(res.body.find("[DONE]") != std::string::npos);
  }
  CHECK(up.connections() == 1);  // one TLS connection, reused
  CHECK(up.last_request().headers.at("host") == "localhost:" + std::to_string(up.port()));
}

TEST_CASE("https upstream with an untrusted certificate gives 502", "[integration][proxy][tls]") {
  FakeUpstream up(tls_options());
  auto cfg = test_proxy_config(up.url());  // system CAs only: the test CA is unknown
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  auto res = request(port, make_request("/v1/chat/completions", kChatStream));
  CHECK(res.status == 502);
  CHECK(up.requests() == 0);
}

TEST_CASE("https upstream whose certificate names another host gives 502", "[integration][proxy][tls]") {
  FakeUpstream up(tls_options());
  // The certificate names only "localhost"; reaching the same server as
  // 127.0.0.1 must fail the host-name check even though the CA is trusted.
  auto cfg = test_proxy_config("https://127.0.0.1:" + std::to_string(up.port()));
  cfg.upstream.ca_file = support_file("tls/test_ca.pem");
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  auto res = request(port, make_request("/v1/chat/completions", kChatStream));
  CHECK(res.status == 502);
  CHECK(up.requests() == 0);
}

TEST_CASE("tls_verify false accepts the untrusted certificate", "[integration][proxy][tls]") {
  FakeUpstream up(tls_options());
  auto cfg = test_proxy_config(up.url());
  cfg.upstream.tls_verify = false;
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  CHECK(request(port, make_request("/v1/chat/completions", kChatStream)).status == 200);
}
