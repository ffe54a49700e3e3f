#include "config/admin_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/policy_config.hpp"

namespace dg::config {

namespace {

YAML::Node node_of(const YamlSection& s, std::string_view key) {
  for (const auto& kv : s.node())
    if (kv.first.Scalar() == key) return kv.second;
  return s.node();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

}  // namespace

AdminConfig parse_admin_config(YamlSection& s) {
  AdminConfig c;
  c.enabled = s.get<bool>("enabled", true);
  c.address = s.get<std::string>("listen", c.address);
  const int port = s.get<int>("port", c.port);
  if (port < 0 || port > 65535) s.fail(node_of(s, "port"), "'" + s.qualified("port") + "' must be 0..65535");
  c.port = static_cast<std::uint16_t>(port);

  int sources = 0;
  if (s.has("token")) {
    ++sources;
    c.token = s.get<std::string>("token", "");
  }
  if (s.has("token_file")) {
    ++sources;
    const auto file = s.get<std::string>("token_file", "");
    std::ifstream in(file);
    if (!in) s.fail(node_of(s, "token_file"), "cannot read admin token file '" + file + "'");
    std::ostringstream text;
    text << in.rdbuf();
    c.token = trim(text.str());
  }
  if (s.has("token_env")) {
    ++sources;
    const auto name = s.get<std::string>("token_env", "");
    const char* value = std::getenv(name.c_str());
    if (!value || !*value) s.fail(node_of(s, "token_env"), "environment variable '" + name + "' is not set");
    c.token = trim(value);
  }
  if (sources > 1) s.fail(s.node(), "'" + s.qualified("token") + "': give only one of token, token_file, token_env");
  if (c.enabled && c.token.size() < 16)
    s.fail(s.node(), "the admin API needs a bearer token of at least 16 characters (token_file, token_env or token)");

  c.audit_log = s.get<std::string>("audit_log", "");
  if (auto d = s.child("decisions")) {
    c.journal = d->get<std::string>("journal", "");
    c.fsync = d->get<std::string>("fsync", c.fsync);
    if (c.fsync != "always" && c.fsync != "interval" && c.fsync != "never")
      d->fail(node_of(*d, "fsync"), "'" + d->qualified("fsync") + "' must be always, interval or never");
    if (auto n = d->raw("fsync_interval")) c.fsync_interval_s = parse_duration(*d, *n, "fsync_interval");
    c.compact_threshold_bytes = d->get<std::uint64_t>("compact_threshold_bytes", c.compact_threshold_bytes);
    d->finish();
  }
  s.finish();
  return c;
}

}  // namespace dg::config
