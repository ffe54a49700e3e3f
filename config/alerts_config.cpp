#include "config/alerts_config.hpp"

#include <charconv>
#include <cstdlib>
#include <set>

namespace dg::config {

std::optional<SinkUrl> parse_sink_url(std::string_view url) {
  SinkUrl out;
  if (url.starts_with("https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  if (slash != std::string_view::npos) {
    out.target = std::string(url.substr(slash));
    if (out.target.front() == '?') out.target.insert(out.target.begin(), '/');
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {  // IPv6 literal
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  out.host = std::string(host);
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535) return std::nullopt;
    out.port = static_cast<std::uint16_t>(v);
  }
  return out;
}

std::string_view to_string(SinkType t) noexcept { return t == SinkType::Slack ? "slack" : "webhook"; }

namespace {

AlertSinkConfig parse_sink(YamlSection& s, std::size_t index) {
  AlertSinkConfig sink;
  sink.name = s.get<std::string>("name", "sink" + std::to_string(index));
  if (sink.name.empty()) s.error(s.node()["name"], "'" + s.qualified("name") + "' must not be empty");

  auto type = s.require<std::string>("type");
  if (type == "webhook") sink.type = SinkType::Webhook;
  else if (type == "slack") sink.type = SinkType::Slack;
  else s.error(s.node()["type"], "'" + s.qualified("type") + "' must be webhook or slack, got '" + type + "'");

  // The URL of a Slack incoming webhook is itself a credential: like the
  // signing secret it may come from `url_env` or `url_file` instead.
  auto url = s.secret("url");
  if (!url) s.fail_missing("url", "missing required key '" + s.qualified("url") + "' (or url_env, url_file)");
  sink.url = *url;
  const auto url_key = s.has("url") ? "url" : s.has("url_env") ? "url_env" : "url_file";
  auto endpoint = parse_sink_url(sink.url);
  // Never echo the URL: it may hold a token.
  if (!endpoint) s.fail(s.node()[url_key], "'" + s.qualified(url_key) + "' must be an http:// or https:// URL");
  sink.endpoint = *endpoint;

  sink.secret = s.secret("secret").value_or("");

  sink.timeout_seconds = s.get<double>("timeout_seconds", 5.0);
  if (!(sink.timeout_seconds > 0 && sink.timeout_seconds <= 300))
    s.error(s.node()["timeout_seconds"], "'" + s.qualified("timeout_seconds") + "' must be in (0, 300]");
  sink.verify_tls = s.get<bool>("verify_tls", true);
  sink.ca_file = s.get<std::string>("ca_file", "");

  if (auto r = s.child("retry")) {
    sink.retry.max_attempts = r->get<int>("max_attempts", sink.retry.max_attempts);
    if (sink.retry.max_attempts < 1 || sink.retry.max_attempts > 100)
      r->error(r->node()["max_attempts"], "'" + r->qualified("max_attempts") + "' must be in [1, 100]");
    auto base = r->get<long>("base_backoff_ms", sink.retry.base_backoff_ms);
    auto max = r->get<long>("max_backoff_ms", sink.retry.max_backoff_ms);
    if (base < 1 || base > 3'600'000)
      r->error(r->node()["base_backoff_ms"], "'" + r->qualified("base_backoff_ms") + "' must be in [1, 3600000]");
    if (max < base || max > 3'600'000)
      r->error(r->node()["max_backoff_ms"],
              "'" + r->qualified("max_backoff_ms") + "' must be >= base_backoff_ms and <= 3600000");
    sink.retry.base_backoff_ms = static_cast<std::uint32_t>(base);
    sink.retry.max_backoff_ms = static_cast<std::uint32_t>(max);
    r->finish();
  }
  s.finish();
  return sink;
}

}  // namespace

AlertsConfig parse_alerts_config(YamlSection& s) {
  AlertsConfig c;
  auto capacity = s.get<long>("queue_capacity", static_cast<long>(c.queue_capacity));
  if (capacity < 1 || capacity > 1'000'000)
    s.error(s.node()["queue_capacity"], "'" + s.qualified("queue_capacity") + "' must be in [1, 1000000]");
  c.queue_capacity = static_cast<std::size_t>(capacity);

  c.group_window_seconds = s.get<double>("group_window_seconds", c.group_window_seconds);
  if (!(c.group_window_seconds >= 0))
    s.error(s.node()["group_window_seconds"], "'" + s.qualified("group_window_seconds") + "' must be >= 0");
  c.dead_letter_file = s.get<std::string>("dead_letter_file", "");
  c.flush_timeout_seconds = s.get<double>("flush_timeout_seconds", c.flush_timeout_seconds);
  if (!(c.flush_timeout_seconds >= 0))
    s.error(s.node()["flush_timeout_seconds"], "'" + s.qualified("flush_timeout_seconds") + "' must be >= 0");
  c.include_content = s.get<bool>("include_content", false);
  if (c.include_content)
    s.error(s.node()["include_content"],
           "'" + s.qualified("include_content") + "': alerts never carry prompt text; only false is supported");

  std::set<std::string> names;
  std::vector<YamlSection> sinks;
  s.recover([&] { sinks = s.list_of_sections("sinks"); });
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    // One bad sink does not hide the errors of the next.
    s.recover([&] {
      auto sink = parse_sink(sinks[i], i);
      if (!names.insert(sink.name).second)
        sinks[i].fail(sinks[i].node()["name"], "duplicate sink name '" + sink.name + "'");
      c.sinks.push_back(std::move(sink));
    });
  }
  s.finish();
  return c;
}

AlertsConfig load_alerts_config(const YAML::Node& alerts, const std::string& file) {
  if (!alerts || alerts.IsNull()) return {};
  if (!alerts.IsMap()) throw ConfigError(located(file, alerts, "'alerts' must be a mapping"));
  YamlSection s(alerts, file, "alerts");
  return parse_alerts_config(s);
}

}  // namespace dg::config
