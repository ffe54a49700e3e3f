#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/alerts_config.hpp"

using namespace dg::config;

namespace {
AlertsConfig parse_text(const std::string& text) {
  YamlSection root(load_yaml_text(text, "dg.yaml"), "dg.yaml");
  auto s = root.child("alerts");
  REQUIRE(s);
  auto c = parse_alerts_config(*s);
  root.finish();
  return c;
}
std::string error_of(const std::string& text) {
  try {
    parse_text(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("alerts config: a full section parses", "[alerts-config]") {
  ::setenv("DG_TEST_ALERT_SECRET", "from-env", 1);
  auto c = parse_text(R"(alerts:
  queue_capacity: 50
  group_window_seconds: 120
  dead_letter_file: /tmp/dl.jsonl
  flush_timeout_seconds: 2.5
  include_content: false
  sinks:
    - name: sec
      type: webhook
      url: https://hooks.example.com:8443/dg?x=1
      secret_env: DG_TEST_ALERT_SECRET
      timeout_seconds: 3
      retry: {max_attempts: 7, base_backoff_ms: 100, max_backoff_ms: 5000}
    - type: slack
      url: http://127.0.0.1/services/T/B/X
      secret: literal
)");
  CHECK(c.queue_capacity == 50);
  CHECK(c.group_window_seconds == 120);
  CHECK(c.dead_letter_file == "/tmp/dl.jsonl");
  CHECK(c.flush_timeout_seconds == 2.5);
  REQUIRE(c.sinks.size() == 2);
  CHECK(c.sinks[0].name == "sec");
  CHECK(c.sinks[0].type == SinkType::Webhook);
  CHECK(c.sinks[0].endpoint.tls);
  CHECK(c.sinks[0].endpoint.host == "hooks.example.com");
  CHECK(c.sinks[0].endpoint.port == 8443);
  CHECK(c.sinks[0].endpoint.target == "/dg?x=1");
  CHECK(c.sinks[0].secret == "from-env");
  CHECK(c.sinks[0].timeout_seconds == 3);
  CHECK(c.sinks[0].retry.max_attempts == 7);
  CHECK(c.sinks[0].retry.base_backoff_ms == 100);
  CHECK(c.sinks[0].retry.max_backoff_ms == 5000);
  CHECK(c.sinks[1].name == "sink1");
  CHECK(c.sinks[1].type == SinkType::Slack);
  CHECK(c.sinks[1].endpoint.port == 80);
  CHECK(c.sinks[1].secret == "literal");
}

TEST_CASE("alerts config: errors carry file:line:column", "[alerts-config]") {
  CHECK(error_of("alerts:\n  sinks:\n    - type: pager\n      url: http://x/\n") ==
        "dg.yaml:3:13: 'alerts.sinks[0].type' must be webhook or slack, got 'pager'");
  CHECK(error_of("alerts:\n  sinks:\n    - type: webhook\n      url: ftp://x/\n") ==
        "dg.yaml:4:12: 'alerts.sinks[0].url' must be an http:// or https:// URL");
  CHECK(error_of("alerts:\n  sinks:\n    - type: webhook\n      url: http://x/\n      retyr: {}\n") ==
        "dg.yaml:5:7: unknown key 'alerts.sinks[0].retyr'");
  CHECK(error_of("alerts:\n  queue_capacity: 0\n") == "dg.yaml:2:19: 'alerts.queue_capacity' must be in [1, 1000000]");
  CHECK(error_of("alerts:\n  include_content: true\n").find("only false is supported") != std::string::npos);
  CHECK(error_of("alerts:\n  sinks:\n    - type: webhook\n      url: http://x/\n      secret_env: DG_TEST_UNSET_VAR_X\n")
            .find("DG_TEST_UNSET_VAR_X") != std::string::npos);
  CHECK(error_of("alerts:\n  sinks:\n    - {name: a, type: webhook, url: 'http://x/'}\n    - {name: a, type: slack, url: 'http://y/'}\n")
            .find("duplicate sink name 'a'") != std::string::npos);
  CHECK(error_of("alerts:\n  sinks:\n    - type: webhook\n      url: http://x/\n      retry: {base_backoff_ms: 500, max_backoff_ms: 100}\n")
            .find("max_backoff_ms") != std::string::npos);
}

TEST_CASE("alerts config: sink URLs", "[alerts-config]") {
  auto u = parse_sink_url("http://[::1]:9000");
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 9000);
  CHECK(u->target == "/");
  CHECK_FALSE(parse_sink_url("http://host:99999/"));
  CHECK_FALSE(parse_sink_url("http://user@host/"));
  CHECK_FALSE(parse_sink_url("https://"));
  CHECK(parse_sink_url("https://h?q=1")->target == "/?q=1");
}
