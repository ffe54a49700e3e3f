// A request id per exchange: the client's x-request-id when sane (length at
// most 128, printable), else a generated one; sent upstream, returned to the
// client (also on the proxy's own errors) and written to the capture record.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "gateway/http/proxy_server.hpp"
#include "gateway/http/request_id.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
namespace json = boost::json;

TEST_CASE("request ids: passed through when sane, generated otherwise, everywhere the exchange shows",
          "[integration][proxy][request_id]") {
  FakeUpstream up;
  const auto capture = std::filesystem::temp_directory_path() / ("dg_reqid_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(capture);
  auto cfg = test_proxy_config(up.url());
  cfg.capture.enabled = true;
  cfg.capture.path = capture.string();
  std::vector<std::string> ids;
  {
    dg::gateway::ProxyServer proxy(cfg);
    const auto port = proxy.start();

    auto res = request(port, make_request("/echo", "{}", {{"x-request-id", "trace-0001"}}));
    REQUIRE(res.status == 200);
    CHECK(res.headers["x-request-id"] == "trace-0001");
    CHECK(up.last_request().headers["x-request-id"] == "trace-0001");
    ids.push_back("trace-0001");

    // Too long, or with a space or a control byte: replaced, never forwarded.
    for (const std::string& bad : {std::string(129, 'a'), std::string("two words"), std::string("tab\there")}) {
      INFO(bad);
      res = request(port, make_request("/echo", "{}", {{"x-request-id", bad}}));
      REQUIRE(res.status == 200);
      const auto id = res.headers["x-request-id"];
      CHECK(id != bad);
      CHECK(id.size() == 32);
      CHECK(up.last_request().headers["x-request-id"] == id);
      ids.push_back(id);
    }
    res = request(port, make_request("/echo", "{}", {{"x-request-id", std::string(128, 'b')}}));
    CHECK(res.headers["x-request-id"] == std::string(128, 'b'));  // the longest sane one
    ids.push_back(std::string(128, 'b'));

    // None given: a fresh one each time.
    std::set<std::string> fresh;
    for (int i = 0; i < 3; ++i) {
      res = request(port, make_request("/v1/chat/completions", R"({"model":"m"})"));
      REQUIRE(res.status == 200);
      fresh.insert(res.headers["x-request-id"]);
      ids.push_back(res.headers["x-request-id"]);
    }
    CHECK(fresh.size() == 3);

    // The proxy's own error answers carry it too.
    res = request(port, make_request("/v1/chat/completions", "{}", {{"x-request-id", "refused-1"}}, ""));
    CHECK(res.status == 401);
    CHECK(res.headers["x-request-id"] == "refused-1");
    ids.push_back("refused-1");
    proxy.stop();
  }
  std::ifstream in(capture);
  std::vector<std::string> captured;
  for (std::string line; std::getline(in, line);) captured.emplace_back(json::parse(line).at("request_id").as_string());
  CHECK(std::multiset<std::string>(captured.begin(), captured.end()) ==
        std::multiset<std::string>(ids.begin(), ids.end()));
  std::filesystem::remove(capture);
}

TEST_CASE("request ids: what counts as a sane client id", "[integration][proxy][request_id]") {
  CHECK(dg::gateway::sane_request_id("req_abc123"));
  CHECK_FALSE(dg::gateway::sane_request_id(""));
  CHECK_FALSE(dg::gateway::sane_request_id("\x7f"));
  CHECK(dg::gateway::new_request_id() != dg::gateway::new_request_id());
}
