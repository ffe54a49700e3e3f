#pragma once
/// The whole distillguard configuration file. The proxy's sections are parsed
/// here; the sections owned by detection, campaigns, policy, admin, alerts and state are kept as
/// raw YAML nodes for their owners to read (with YamlSection, so their errors
/// are located too). Any other top-level key is an error.

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/proxy_config.hpp"

namespace dg::config {

struct Config {
  std::string path;  ///< the file it was read from (for messages)
  ProxyConfig proxy;
  YAML::Node detection;  ///< raw; Null when absent
  YAML::Node policy;
  YAML::Node admin;
  YAML::Node alerts;
  YAML::Node campaigns;  ///< the cross-key campaign linker (config/campaign_config.hpp)
  YAML::Node state;      ///< shared state: memory or redis (config/state_config.hpp)
};

/// Loads and validates `path` (the proxy's sections; the others are read by
/// their owners). An empty file is an error. Throws ConfigError with every
/// error found ("file:line:column: message", one a line).
Config load_config(const std::string& path);

/// Same from text (tests); `file` names it in messages.
Config load_config_text(const std::string& text, const std::string& file);

/// The same reading from an already loaded document (a mapping), collecting
/// errors into `errors` instead of throwing: as much of the Config as could
/// be read (`distillguard check-config` goes on to the other sections).
Config read_config(const YAML::Node& root, const std::string& file, std::vector<Diagnostic>& errors);

}  // namespace dg::config
