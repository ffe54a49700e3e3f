// The `campaigns:` section of the main config reloads with the inline policy
// (POST /v1/policy/reload and the SIGHUP path), through gateway::App as
// `distillguard --config` assembles it: the linker is switched on live, its
// live clustering interval follows the file, restart-only fields keep their
// values, and an invalid section is rejected with file:line:column while the
// running configuration stays.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "gateway/app/app.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg;
using namespace dg::gateway;
namespace json = boost::json;

namespace {

constexpr const char* kToken = "campaign-reload-admin-token";

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The main config with the given `campaigns:` block (full lines, indented).
std::string config_text(const std::string& upstream, const std::string& campaigns) {
  return "listen: {address: 127.0.0.1, port: 0}\n"
         "upstream: {url: \"" + upstream + "\"}\n"
         "workers: 1\n"
         "log: {level: warn}\n"
         "policy:\n"
         "  rules:\n"
         "    - {name: block-campaign-members, when: {campaign: true}, action: block}\n"
         "admin: {port: 0, token: " + std::string(kToken) + "}\n"
         "campaigns:\n" + campaigns;
}

}  // namespace

TEST_CASE("campaigns: section reloads live with the inline policy, invalid is rejected with its location",
          "[integration][campaign][reload]") {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-campaign-reload-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  test::FakeUpstream upstream;
  const auto path = (dir / "distillguard.yaml").string();
  // Off at start, with a clustering interval no test would wait for.
  std::ofstream(path) << config_text(upstream.url(), "  enabled: false\n  live_cluster_interval_s: 3600\n");
  auto app = App::create(config::load_config(path), wall_now());
  const auto port = app->start();
  const auto admin = app->admin_port();
  REQUIRE(admin != 0);
  auto& linker = app->campaigns().linker();
  REQUIRE_FALSE(linker.config()->enabled);
  CHECK(app->campaigns().interval() == std::chrono::hours(1));
  const auto version = app->enforcement().policy().policy()->version;

  auto send = [&](const std::string& key) {
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hello from )" + key + R"("}]})";
    return test::request(port, test::make_request("/v1/chat/completions", body, {}, key)).status;
  };
  // Disabled: the exchange reaches the engine, not the linker (the linker's
  // hook runs before the engine's).
  REQUIRE(send("sk-one") == 200);
  REQUIRE(test::wait_until([&] { return app->engine().stats().exchanges >= 1; }));
  CHECK(linker.stats().exchanges_recorded == 0);

  SECTION("POST /v1/policy/reload switches the linker on and applies live fields; restart-only fields stay") {
    std::ofstream(path) << config_text(upstream.url(),
                                       "  enabled: true\n"
                                       "  min_campaign_keys: 12\n"
                                       "  live_cluster_interval_s: 0.2\n"
                                       "  shards: 4\n");
    auto r = test::http_request(admin, "POST", "/v1/policy/reload", kToken);
    REQUIRE(r.status == 200);
    CHECK(app->enforcement().policy().policy()->version == version + 1);
    const auto c = linker.config();
    CHECK(c->enabled);
    CHECK(c->min_campaign_keys == 12);
    CHECK(c->live_cluster_interval_s == Approx(0.2));
    CHECK(c->shards == detectors::CampaignConfig{}.shards);  // restart only (logged as a warning)
    CHECK(app->campaigns().interval() == std::chrono::milliseconds(200));

    // The next exchange is recorded, and the re-armed timer clusters at the
    // new interval (the old one was an hour).
    REQUIRE(send("sk-two") == 200);
    CHECK(test::wait_until([&] { return linker.stats().exchanges_recorded >= 1; }));
    CHECK(test::wait_until([&] { return linker.stats().cluster_runs >= 1; }));

    // An invalid section (SIGHUP path: the reloader's forced reload) is
    // rejected with file:line:column; the running configuration stays.
    const std::string text = config_text(upstream.url(), "  enabled: true\n  min_campaign_keys: 1\n");
    std::ofstream(path) << text;
    const auto line = std::count(text.begin(), text.end(), '\n');  // min_campaign_keys is the last line
    auto bad = app->enforcement().reloader().reload(wall_now(), true);
    CHECK_FALSE(bad.ok);
    INFO(bad.error);
    CHECK(bad.error.find(path + ":" + std::to_string(line) + ":") != std::string::npos);
    CHECK(bad.error.find("campaigns.min_campaign_keys") != std::string::npos);
    CHECK(linker.config()->min_campaign_keys == 12);
    CHECK(app->enforcement().policy().policy()->version == version + 1);

    // The admin API reports the same location.
    auto bad_post = test::http_request(admin, "POST", "/v1/policy/reload", kToken);
    CHECK(bad_post.status == 422);
    CHECK(std::string(json::parse(bad_post.body).at("error").at("message").as_string())
              .find("distillguard.yaml:" + std::to_string(line) + ":") != std::string::npos);
    CHECK(linker.config()->min_campaign_keys == 12);
  }

  SECTION("removing the section reloads the defaults") {
    std::ofstream(path) << config_text(upstream.url(), "");
    auto r = app->enforcement().reloader().reload(wall_now(), true);
    REQUIRE(r.ok);
    CHECK(*linker.config() == detectors::CampaignConfig{});
    REQUIRE(send("sk-three") == 200);
    CHECK(test::wait_until([&] { return linker.stats().exchanges_recorded >= 1; }));
  }

  app->stop();
  std::filesystem::remove_all(dir);
}
