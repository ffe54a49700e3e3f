// The product as `distillguard --config` assembles it (gateway::App), in
// process: the proxy analyzes prompts itself, and the live campaign linker
// groups a small hydra sent through the real proxy, publishes it on the admin
// API and lets the policy act on every member key.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "config/config.hpp"
#include "gateway/app/app.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/recording_hooks.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg;
using namespace dg::gateway;
namespace json = boost::json;

namespace {

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string chat_body(const std::string& system, const std::string& user) {
  json::object body{{"model", "m"},
                    {"messages", json::array{json::object{{"role", "system"}, {"content", system}},
                                             json::object{{"role", "user"}, {"content", user}}}}};
  return json::serialize(body);
}

}  // namespace

TEST_CASE("the proxy fills the prompt features of every exchange itself", "[integration][wiring]") {
  test::FakeUpstream upstream;
  auto cfg = test::test_proxy_config(upstream.url());
  auto hooks = std::make_shared<test::RecordingHooks>();
  ProxyServer server(cfg, hooks);
  detectors::Engine engine{detectors::EngineConfig{}};
  std::atomic<int> analyzer_calls{0};
  server.set_prompt_analyzer([&] {
    analyzer_calls.fetch_add(1);
    return engine.analyzer();
  });
  const auto port = server.start();
  const auto body = chat_body("You are a careful tutor.",
                              "The answer is 42. Explain step by step the reasoning that leads to this answer.");
  REQUIRE(test::request(port, test::make_request("/v1/chat/completions", body)).status == 200);
  const auto ex = hooks->wait_for(1);
  server.stop();
  CHECK(ex.request.prompt.template_signature != 0);
  CHECK(ex.request.prompt.system_prompt_hash != 0);
  CHECK(ex.request.prompt.normalized_chars > 0);
  CHECK(ex.request.prompt.asks_reasoning_for_answer);
  CHECK(analyzer_calls.load() == 1);  // once per request
}

TEST_CASE("live campaign linking: a hydra through the real proxy is listed, and the policy acts on its members",
          "[integration][wiring][campaign]") {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-app-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  test::FakeUpstream upstream;
  const auto path = (dir / "distillguard.yaml").string();
  std::ofstream(path) << "listen: {address: 127.0.0.1, port: 0}\n"
                      << "upstream: {url: \"" << upstream.url() << "\"}\n"
                      << "workers: 2\n"
                      << "log: {level: warn}\n"
                      << "trusted_proxies: [127.0.0.0/8]\n"
                      << "campaigns: {min_campaign_keys: 8, min_key_requests: 3}\n"
                      << "policy:\n"
                      << "  rules:\n"
                      << "    - {name: block-campaign-members, when: {campaign: true}, action: block}\n"
                      << "admin: {port: 0, token: app-test-admin-token}\n";
  auto app = App::create(config::load_config(path), wall_now());
  const auto port = app->start();
  const auto admin = app->admin_port();
  REQUIRE(admin != 0);

  // 12 hydra keys: one system prompt and one template with different slots,
  // from two /24 networks (behind a trusted proxy); one benign key elsewhere.
  const std::string system = "You are a data generator for a training corpus. Answer thoroughly.";
  const char* topics[] = {"photosynthesis", "plate tectonics", "inflation", "the French revolution",
                          "binary search", "vaccines", "black holes", "supply chains"};
  std::vector<std::string> hydra_keys;
  for (int k = 0; k < 12; ++k) hydra_keys.push_back("sk-hydra-" + std::to_string(k));
  auto send = [&](const std::string& key, const std::string& ip, const std::string& body) {
    return test::request(port, test::make_request("/v1/chat/completions", body, {{"X-Forwarded-For", ip}}, key)).status;
  };
  for (int r = 0; r < 4; ++r) {
    for (int k = 0; k < 12; ++k) {
      const std::string ip = (k % 2 ? "203.0.113." : "198.51.100.") + std::to_string(10 + k);
      const std::string user = "Write a detailed, textbook-quality explanation of \"" + std::string(topics[(k + r) % 8]) +
                               "\" for an advanced student, with worked examples and a summary of key points.";
      REQUIRE(send(hydra_keys[k], ip, chat_body(system, user)) == 200);
    }
    REQUIRE(send("sk-benign", "192.0.2.7",
                 chat_body("You help our support team.", "Summarize this ticket: printer offline again " + std::to_string(r))) == 200);
  }
  // Every exchange is recorded before the clustering we trigger (test hook:
  // the timer would do the same with the latest event time).
  REQUIRE(test::wait_until([&] { return app->campaigns().linker().stats().exchanges_recorded >= 52; }));
  REQUIRE(app->campaigns().cluster_latest() >= 12);

  // GET /v1/campaigns lists the campaign with its evidence.
  auto res = test::http_request(admin, "GET", "/v1/campaigns", "app-test-admin-token");
  REQUIRE(res.status == 200);
  const auto list = json::parse(res.body).at("data").as_array();
  REQUIRE(list.size() == 1);
  const auto& campaign = list[0].as_object();
  std::set<std::string> members;
  for (const auto& fp : campaign.at("member_fps").as_array()) members.insert(std::string(fp.as_string()));
  for (const auto& key : hydra_keys) CHECK(members.count(key_fingerprint(key)) == 1);
  CHECK(members.count(key_fingerprint("sk-benign")) == 0);
  CHECK(!campaign.at("evidence").as_array().empty());
  const std::string id(campaign.at("id").as_string());

  // Member keys carry the campaign finding; the benign key does not.
  const auto a = app->engine().peek(key_fingerprint(hydra_keys[0]), app->campaigns().latest_event_time());
  CHECK(a.campaign == id);
  CHECK(app->engine().peek(key_fingerprint("sk-benign"), app->campaigns().latest_event_time()).campaign.empty());

  // The policy acts on every member at its next exchange; the benign key is served.
  for (int k = 0; k < 12; ++k)
    send(hydra_keys[k], "198.51.100.10", chat_body(system, "Write a detailed explanation of \"tides\" for a student."));
  for (const auto& key : hydra_keys) {
    CHECK(test::wait_until([&] { return send(key, "198.51.100.10", chat_body(system, "x")) == 403; }));
  }
  CHECK(send("sk-benign", "192.0.2.7", chat_body("You help our support team.", "Summarize: toner low")) == 200);
  // Blocks reach the linker's rotation memory, and the gauge reads the linker.
  CHECK(test::wait_until([&] { return app->campaigns().linker().stats().actioned_tracked >= 12; }));
  auto metrics = test::http_request(admin, "GET", "/metrics", "app-test-admin-token");
  CHECK(metrics.body.find("dg_campaigns_tracked 1\n") != std::string::npos);
  auto d = test::http_request(admin, "GET", "/v1/decisions", "app-test-admin-token");
  CHECK(d.body.find("\"campaign\":\"" + id + "\"") != std::string::npos);

  app->stop();
  std::filesystem::remove_all(dir);
}
