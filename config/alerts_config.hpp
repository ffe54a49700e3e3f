#pragma once
/// The `alerts:` section of distillguard.yaml: where alerts go and how hard
/// DistillGuard tries to deliver them.
///
///   alerts:
///     queue_capacity: 1000            # alerts waiting; beyond it they are dropped and counted
///     group_window_seconds: 300       # one key/campaign pages at most once per window
///     dead_letter_file: /var/lib/distillguard/alerts-dead-letter.jsonl
///     flush_timeout_seconds: 5        # shutdown: time to drain the queue
///     include_content: false          # alerts never carry prompt text (only false is accepted)
///     sinks:
///       - name: security
///         type: webhook               # generic JSON | slack (incoming webhook)
///         url: https://hooks.example.com/distillguard   # or url_env: VAR / url_file: /path
///         secret_env: DG_ALERT_SECRET # or `secret: ...` / `secret_file: /path`; HMAC-SHA256 key
///         timeout_seconds: 5
///         verify_tls: true
///         ca_file: /etc/ssl/private-ca.pem   # optional extra CA bundle
///         retry: {max_attempts: 5, base_backoff_ms: 200, max_backoff_ms: 30000}
///
/// Parsed strictly: unknown keys and bad values are ConfigError with
/// `file:line:column`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/yaml_reader.hpp"

namespace dg::config {

/// An http:// or https:// URL split into what a client needs.
struct SinkUrl {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target = "/";  ///< path and query
};

/// Parses `http(s)://host[:port][/path][?query]`; nullopt when malformed.
std::optional<SinkUrl> parse_sink_url(std::string_view url);

enum class SinkType { Webhook, Slack };
std::string_view to_string(SinkType t) noexcept;

struct RetryPolicy {
  int max_attempts = 5;              ///< total attempts, the first included (>= 1)
  std::uint32_t base_backoff_ms = 200;
  std::uint32_t max_backoff_ms = 30000;
};

struct AlertSinkConfig {
  std::string name;                  ///< label in metrics and the dead-letter file
  SinkType type = SinkType::Webhook;
  std::string url;                   ///< as written (url, url_env or url_file; never logged)
  SinkUrl endpoint;
  std::string secret;                ///< HMAC key (secret, secret_env or secret_file); empty: unsigned
  double timeout_seconds = 5;        ///< per attempt: connect + TLS + write + read
  bool verify_tls = true;
  std::string ca_file;               ///< extra trusted CA bundle (PEM) for https sinks; empty = system store
  RetryPolicy retry;
};

struct AlertsConfig {
  std::vector<AlertSinkConfig> sinks;
  std::size_t queue_capacity = 1000;
  double group_window_seconds = 300;
  std::string dead_letter_file;      ///< empty: dead letters are only counted and logged
  double flush_timeout_seconds = 5;
  bool include_content = false;
};

/// Reads the `alerts` section (`s` is that section; finish() is called on it).
/// Throws ConfigError on unknown keys, bad types, bad URLs, missing env secrets.
AlertsConfig parse_alerts_config(YamlSection& s);

/// The `alerts` node of a loaded config file (config::Config::alerts); a
/// missing (Null) section yields the defaults with no sinks.
AlertsConfig load_alerts_config(const YAML::Node& alerts, const std::string& file);

}  // namespace dg::config
