#include "config/state_config.hpp"

#include <cctype>
#include <charconv>

namespace dg::config {

namespace {

bool valid_prefix(const std::string& p) {
  if (p.empty() || p.size() > 64) return false;
  for (char ch : p)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.' || ch == ':'))
      return false;
  return true;
}

}  // namespace

std::string parse_redis_url(const std::string& url, StateConfig& c) {
  constexpr std::string_view kScheme = "redis://";
  if (url.starts_with("rediss://")) return "TLS (rediss://) needs hiredis with SSL, which this build does not have";
  if (!url.starts_with(kScheme)) return "must start with redis://";
  std::string_view rest(url);
  rest.remove_prefix(kScheme.size());
  if (rest.find('@') != std::string_view::npos)
    return "must not hold credentials (give the password with password_env or password_file)";
  std::string_view hostport = rest, path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  std::string_view host = hostport, port;
  if (hostport.starts_with('[')) {  // [::1]:6379
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return "has an unterminated [IPv6] host";
    host = hostport.substr(1, close - 1);
    auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "has junk after the [IPv6] host";
      port = after.substr(1);
    }
  } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty()) return "has no host";
  c.host = std::string(host);
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
      return "has an invalid port '" + std::string(port) + "' (1..65535)";
    c.port = static_cast<std::uint16_t>(p);
  }
  if (!path.empty()) {
    int db = 0;
    auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
    if (ec != std::errc() || end != path.data() + path.size() || db < 0 || db > 15)
      return "has an invalid database '" + std::string(path) + "' (0..15)";
    c.db = db;
  }
  return "";
}

StateConfig parse_state_config(YamlSection& s) {
  StateConfig c;
  const auto backend = s.get<std::string>("backend", "memory");
  if (backend == "redis") c.backend = StateBackend::Redis;
  else if (backend != "memory")
    s.error(s.value_or_self("backend"), "'" + s.qualified("backend") + "' must be memory or redis, got '" + backend + "'");

  const bool redis = c.backend == StateBackend::Redis;
  if (s.has("url")) {
    const auto url = s.get<std::string>("url", "");
    if (auto why = parse_redis_url(url, c); !why.empty()) s.error(s.value_or_self("url"), "'" + s.qualified("url") + "' " + why);
  } else if (redis) {
    s.error(s.node(), "'" + s.qualified("url") + "' is required with backend: redis (redis://host:port/db)");
  }
  // Read to refuse it: the Debian hiredis (0.14) has no TLS.
  if (s.get<bool>("tls", false))
    s.error(s.value_or_self("tls"), "'" + s.qualified("tls") +
                                   "': TLS to Redis needs hiredis with SSL (>= 1.0), which this build does not have");
  c.password = s.secret("password").value_or("");
  const auto fail = s.get<std::string>("fail", "open");
  if (fail == "closed") c.fail = StateFailMode::Closed;
  else if (fail != "open")
    s.error(s.value_or_self("fail"), "'" + s.qualified("fail") + "' must be open or closed, got '" + fail + "'");
  c.prefix = s.get<std::string>("prefix", c.prefix);
  if (!valid_prefix(c.prefix))
    s.error(s.value_or_self("prefix"), "'" + s.qualified("prefix") + "' must be 1..64 characters of [A-Za-z0-9_.:-]");
  c.instance = s.get<std::string>("instance", "");
  if (c.instance.size() > 128 || c.instance.find_first_of(" \t\r\n/") != std::string::npos)
    s.error(s.value_or_self("instance"), "'" + s.qualified("instance") + "' must be at most 128 characters, no spaces or '/'");
  s.close();
  return c;
}

StateConfig load_state_config(const Config& cfg) {
  if (!cfg.state || cfg.state.IsNull()) return {};
  if (!cfg.state.IsMap()) throw ConfigError(located(cfg.path, cfg.state, "'state' must be a mapping"));
  YamlSection section(cfg.state, cfg.path, "state");
  return parse_state_config(section);
}

}  // namespace dg::config
