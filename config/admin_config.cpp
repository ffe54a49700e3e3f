#include "config/admin_config.hpp"

#include "config/policy_config.hpp"

namespace dg::config {

AdminConfig parse_admin_config(YamlSection& s) {
  AdminConfig c;
  c.enabled = s.get<bool>("enabled", true);
  c.address = s.get<std::string>("listen", c.address);
  const int port = s.get<int>("port", c.port);
  if (port < 0 || port > 65535) s.error(s.value_or_self("port"), "'" + s.qualified("port") + "' must be 0..65535");
  c.port = static_cast<std::uint16_t>(port);

  // One of token, token_env, token_file (never logged).
  c.token = s.secret("token").value_or("");
  if (c.enabled && c.token.size() < 16)
    s.error(s.node(), "the admin API needs a bearer token of at least 16 characters (token_file, token_env or token)");

  c.audit_log = s.get<std::string>("audit_log", "");
  if (auto d = s.child("decisions")) {
    c.journal = d->get<std::string>("journal", "");
    c.fsync = d->get<std::string>("fsync", c.fsync);
    if (c.fsync != "always" && c.fsync != "interval" && c.fsync != "never")
      d->error(d->value_or_self("fsync"), "'" + d->qualified("fsync") + "' must be always, interval or never");
    if (auto n = d->raw("fsync_interval")) d->recover([&] { c.fsync_interval_s = parse_duration(*d, *n, "fsync_interval"); });
    c.compact_threshold_bytes = d->get<std::uint64_t>("compact_threshold_bytes", c.compact_threshold_bytes);
    d->finish();
  }
  s.close();
  return c;
}

}  // namespace dg::config
