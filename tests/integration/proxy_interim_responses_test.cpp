// Interim 1xx heads from the upstream (RFC 9110 §15.2, STYLE.md trap 10): the
// final response is the one relayed, 103 goes on to HTTP/1.1 clients, 100 and
// 101 do not, and the upstream connection is pooled only after the final
// response is complete, so no client ever receives another client's answer.
#include <catch2/catch.hpp>

#include <string>

#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/recording_hooks.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
using dg::gateway::ProxyServer;

namespace {

std::string raw_request(const std::string& target, const std::string& version = "HTTP/1.1") {
  const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}]})";
  return "POST " + target + " " + version + "\r\nHost: x\r\nAuthorization: Bearer sk-test-1\r\n"
         "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// Reads from `stream` until `needle` is in `got` (or the deadline passes).
net::awaitable<bool> read_until(beast::tcp_stream& stream, std::string& got, std::string_view needle) {
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    stream.expires_after(kDeadline);
    auto [ec, n] = co_await stream.async_read_some(net::buffer(buf), kUse);
    got.append(buf, n);
    if (ec) co_return got.find(needle) != std::string::npos;
  }
  co_return true;
}

struct TwoExchanges {
  std::string first, second;
  bool ok = false;
};

/// Two requests one after the other on one client connection (so on one
/// pooled upstream connection, the proxy having one worker).
TwoExchanges two_on_one_connection(std::uint16_t port, const std::string& first, const std::string& second) {
  return run_async<TwoExchanges>([&]() -> net::awaitable<TwoExchanges> {
    TwoExchanges out;
    auto s = co_await connect_to(port);
    if (!s) co_return out;
    auto [w1, n1] = co_await net::async_write(*s, net::buffer(first), kUse);
    if (w1 || !co_await read_until(*s, out.first, "\"}")) co_return out;
    auto [w2, n2] = co_await net::async_write(*s, net::buffer(second), kUse);
    if (w2 || !co_await read_until(*s, out.second, "\"}")) co_return out;
    out.ok = true;
    co_return out;
  });
}

}  // namespace

TEST_CASE("interim 1xx heads: the final response is relayed and the next request gets its own answer",
          "[integration][proxy][interim]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  REQUIRE(port != 0);

  const auto got = two_on_one_connection(port, raw_request("/interim?id=1"), raw_request("/echo?id=2"));
  REQUIRE(got.ok);
  // 103 Early Hints reaches an HTTP/1.1 client before the final head; the
  // upstream's unsolicited 100 Continue does not.
  const auto hints = got.first.find("HTTP/1.1 103");
  const auto final_head = got.first.find("HTTP/1.1 200");
  REQUIRE(hints != std::string::npos);
  REQUIRE(final_head != std::string::npos);
  CHECK(hints < final_head);
  CHECK(got.first.find("</hint.css>") != std::string::npos);
  CHECK(got.first.find("100 Continue") == std::string::npos);
  CHECK(got.first.find(R"({"answer":"/interim?id=1"})") != std::string::npos);
  // The second request is answered by its own response, not the first one's.
  CHECK(got.second.find("HTTP/1.1 200") != std::string::npos);
  CHECK(got.second.find(R"("target":"/echo?id=2")") != std::string::npos);
  CHECK(got.second.find("/interim") == std::string::npos);
  CHECK(up.connections() == 1);  // the connection was pooled, after the 200 was read
  const auto ex = hooks->wait_for(2);
  CHECK(ex.response.status == 200);
}

TEST_CASE("interim 1xx heads are not relayed to an HTTP/1.0 client", "[integration][proxy][interim]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()), std::make_shared<RecordingHooks>());
  const auto port = proxy.start();
  REQUIRE(port != 0);
  const auto got = raw_exchange(port, raw_request("/interim?id=3", "HTTP/1.0"));
  CHECK(got.received.find(" 103 ") == std::string::npos);
  CHECK(got.received.find("HTTP/1.0 200") == 0);
  CHECK(got.received.find(R"({"answer":"/interim?id=3"})") != std::string::npos);
}

TEST_CASE("an unrequested 101 from the upstream is a bad gateway", "[integration][proxy][interim]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()), std::make_shared<RecordingHooks>());
  const auto port = proxy.start();
  REQUIRE(port != 0);
  auto res = request(port, make_request("/switching", "{}"));
  CHECK(res.status == 502);
  CHECK(res.body.find("upstream_bad_response") != std::string::npos);
}
