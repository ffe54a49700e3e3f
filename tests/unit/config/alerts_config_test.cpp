#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

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
        "dg.yaml:5:7: unknown key 'alerts.sinks[0].retyr' (did you mean 'retry'?)");
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

TEST_CASE("alerts config: sink URLs and secrets from the environment or a file", "[alerts-config][secrets]") {
  ::setenv("DG_TEST_SLACK_URL", "https://hooks.slack.example/services/T0/B0/xyz\n", 1);
  const auto file = std::filesystem::temp_directory_path() / ("dg-alert-secret-" + std::to_string(::getpid()));
  std::ofstream(file) << "file-secret\n";
  auto c = parse_text("alerts:\n  sinks:\n    - type: slack\n      url_env: DG_TEST_SLACK_URL\n      secret_file: " +
                      file.string() + "\n");
  REQUIRE(c.sinks.size() == 1);
  CHECK(c.sinks[0].url == "https://hooks.slack.example/services/T0/B0/xyz");
  CHECK(c.sinks[0].endpoint.host == "hooks.slack.example");
  CHECK(c.sinks[0].secret == "file-secret");
  std::ofstream(file) << "http://10.0.0.1:9000/hook\n";
  c = parse_text("alerts:\n  sinks:\n    - type: webhook\n      url_file: " + file.string() + "\n");
  CHECK(c.sinks[0].endpoint.port == 9000);
  std::filesystem::remove(file);
  ::unsetenv("DG_TEST_SLACK_URL");

  CHECK(error_of("alerts:\n  sinks:\n    - type: slack\n      url_env: DG_TEST_SLACK_URL\n") ==
        "dg.yaml:4:16: environment variable 'DG_TEST_SLACK_URL' (from 'alerts.sinks[0].url_env') is not set or empty");
  CHECK(error_of("alerts:\n  sinks:\n    - type: slack\n      url: http://a/\n      url_file: /x\n") ==
        "dg.yaml:5:7: give only one of 'alerts.sinks[0].url', 'alerts.sinks[0].url_env' and 'alerts.sinks[0].url_file'");
  CHECK(error_of("alerts:\n  sinks:\n    - type: slack\n") ==
        "dg.yaml:3:7: missing required key 'alerts.sinks[0].url' (or url_env, url_file)");
  CHECK(error_of("alerts:\n  sinks:\n    - type: webhook\n      url: http://x/\n      secret_file: /nonexistent/s\n") ==
        "dg.yaml:5:20: cannot read '/nonexistent/s' (from 'alerts.sinks[0].secret_file'): No such file or directory");
  // A URL that came from a secret is never echoed in an error.
  ::setenv("DG_TEST_BAD_URL", "ftp://token-123@x/", 1);
  const auto err = error_of("alerts:\n  sinks:\n    - type: webhook\n      url_env: DG_TEST_BAD_URL\n");
  CHECK(err == "dg.yaml:4:16: 'alerts.sinks[0].url_env' must be an http:// or https:// URL");
  CHECK(err.find("token-123") == std::string::npos);
  ::unsetenv("DG_TEST_BAD_URL");
}

TEST_CASE("alerts config: every bad sink is reported, not only the first", "[alerts-config]") {
  CHECK(error_of("alerts:\n  sinks:\n    - {type: pager, url: 'http://x/'}\n    - {type: webhook, url: 'ftp://y/'}\n") ==
        "dg.yaml:3:14: 'alerts.sinks[0].type' must be webhook or slack, got 'pager'\n"
        "dg.yaml:4:28: 'alerts.sinks[1].url' must be an http:// or https:// URL");
}
