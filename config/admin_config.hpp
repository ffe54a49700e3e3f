#pragma once
/// The `admin:` section of the main config: the admin API listener, its
/// bearer token, the audit log and the decision journal. Not hot-reloaded
/// (the policy is). Annotated example: config/admin.example.yaml.

#include <cstdint>
#include <string>

#include "config/yaml_reader.hpp"

namespace dg::config {

struct AdminConfig {
  bool enabled = false;               ///< false when the section is absent
  std::string address = "127.0.0.1";
  std::uint16_t port = 9090;
  std::string token;                  ///< resolved from token_file / token_env / token (never logged)
  std::string audit_log;              ///< JSON lines of every decision change ("" = off)
  std::string journal;                ///< decision journal ("" = decisions live in memory only)
  std::string fsync = "always";       ///< always | interval | never
  double fsync_interval_s = 1;
  std::uint64_t compact_threshold_bytes = 4 << 20;
};

/// Reads the section (calls finish()). Throws ConfigError. The token is one
/// of `token`, `token_env` or `token_file` (YamlSection::secret): a file that
/// cannot be read, or an unset variable, is an error located at its key.
AdminConfig parse_admin_config(YamlSection& section);

}  // namespace dg::config
