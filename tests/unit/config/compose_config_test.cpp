#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/admin_config.hpp"
#include "config/alerts_config.hpp"
#include "config/config.hpp"
#include "config/policy_config.hpp"

// docker/distillguard.compose.yaml must stay a valid config for the sections
// whose parsers exist (proxy, alerts, policy).
TEST_CASE("compose config: docker/distillguard.compose.yaml parses", "[alerts-config]") {
  ::setenv("DG_ALERT_SECRET", "compose-test-secret", 1);
  ::setenv("DG_ADMIN_TOKEN", "compose-test-admin-token", 1);
  const std::string path = std::string(DG_SOURCE_DIR) + "/docker/distillguard.compose.yaml";
  auto cfg = dg::config::load_config(path);
  CHECK(cfg.proxy.listen.port == 8080);
  CHECK(cfg.proxy.upstream.url == "http://upstream:8000");
  auto alerts = dg::config::load_alerts_config(cfg.alerts, path);
  REQUIRE(alerts.sinks.size() == 1);
  CHECK(alerts.sinks[0].endpoint.host == "webhook-receiver");
  CHECK(alerts.sinks[0].endpoint.port == 9000);
  CHECK(alerts.sinks[0].secret == "compose-test-secret");
  dg::config::YamlSection ps(cfg.policy, path, "policy");
  auto policy = dg::config::parse_policy(ps);
  CHECK(policy.rules.size() == 5);
  dg::config::YamlSection as(cfg.admin, path, "admin");
  auto admin = dg::config::parse_admin_config(as);
  CHECK(admin.enabled);
  CHECK(admin.port == 9090);
  CHECK(admin.token == "compose-test-admin-token");
  CHECK(admin.journal == "/var/lib/distillguard/decisions.jsonl");
}

TEST_CASE("alerts config: an absent section means no sinks", "[alerts-config]") {
  auto c = dg::config::load_alerts_config(YAML::Node(), "x.yaml");
  CHECK(c.sinks.empty());
  CHECK(c.queue_capacity == 1000);
}
