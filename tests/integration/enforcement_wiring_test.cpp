// Enforcement::create from a real config file (inline policy, admin section,
// journal) with the real detection engine, serving through the real proxy.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "gateway/app/enforcement.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::gateway;

TEST_CASE("Enforcement assembles policy, journal, enforcer and admin API from the config", "[integration][enforcement]") {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-wiring-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  dg::test::FakeUpstream upstream;
  const auto config_path = (dir / "distillguard.yaml").string();
  std::ofstream(config_path) << "listen: {address: 127.0.0.1, port: 0}\n"
                             << "upstream: {url: \"" << upstream.url() << "\"}\n"
                             << "workers: 1\n"
                             << "policy:\n"
                             << "  rules:\n"
                             << "    - {name: block-high, when: {risk: 0.95}, action: block}\n"
                             << "admin:\n"
                             << "  port: 0\n"
                             << "  token: wiring-test-admin-token\n"
                             << "  audit_log: " << (dir / "audit.jsonl").string() << "\n"
                             << "  decisions: {journal: " << (dir / "decisions.jsonl").string() << ", fsync: never}\n";
  auto cfg = dg::config::load_config(config_path);
  dg::detectors::Engine engine{dg::detectors::EngineConfig{}};
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto enforcement = Enforcement::create(cfg, &engine, now);
  REQUIRE(enforcement->admin());
  enforcement->start();
  ProxyServer proxy(cfg, enforcement->hooks());
  const auto port = proxy.start();

  auto res = dg::test::request(port, dg::test::make_request(
      "/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"hello there"}]})", {}, "sk-wiring"));
  CHECK(res.status == 200);
  const auto fp = key_fingerprint("sk-wiring");
  // The real engine saw the exchange (the proxy reports it after the response).
  CHECK(dg::test::wait_until([&] { return engine.stats().exchanges >= 1; }));

  const auto admin_port = enforcement->admin()->port();
  auto p = dg::test::http_request(admin_port, "GET", "/v1/policy", "wiring-test-admin-token");
  REQUIRE(p.status == 200);
  CHECK(boost::json::parse(p.body).at("rules") == 1);
  auto k = dg::test::http_request(admin_port, "GET", "/v1/keys/" + fp, "wiring-test-admin-token");
  REQUIRE(k.status == 200);
  CHECK(boost::json::parse(k.body).at("assessment").at("request_index") == 1);

  // Operator block through the admin API, enforced by the proxy.
  auto b = dg::test::http_request(admin_port, "POST", "/v1/decisions", "wiring-test-admin-token",
                                  R"({"key_fp":")" + fp + R"(","action":"block","reason":"wiring test"})");
  CHECK(b.status == 201);
  CHECK(dg::test::request(port, dg::test::make_request("/v1/chat/completions", "{}", {}, "sk-wiring")).status == 403);

  // A reload validates the detection section of the same file too: an
  // invalid one rejects the whole reload with its location.
  {
    std::ifstream in(config_path);
    std::stringstream text;
    text << in.rdbuf();
    std::ofstream(config_path) << text.str() << "detection: {no_such_setting: 1}\n";
  }
  auto bad = dg::test::http_request(admin_port, "POST", "/v1/policy/reload", "wiring-test-admin-token");
  CHECK(bad.status == 422);
  CHECK(std::string(boost::json::parse(bad.body).at("error").at("message").as_string()).find("distillguard.yaml:") !=
        std::string::npos);
  CHECK(enforcement->policy().policy()->version == 1);
  CHECK_NOTHROW(Enforcement::validate(cfg));
  const auto bad_path = (dir / "bad.yaml").string();
  std::ofstream(bad_path) << "upstream: {url: \"http://127.0.0.1:1\"}\npolicy: {shadow: perhaps}\n";
  CHECK_THROWS_AS(Enforcement::validate(dg::config::load_config(bad_path)), dg::config::ConfigError);

  proxy.stop(std::chrono::milliseconds(2000));
  enforcement->stop();
  CHECK(std::filesystem::file_size(dir / "decisions.jsonl") > 0);
  std::filesystem::remove_all(dir);
}
