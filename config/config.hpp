#pragma once
/// The whole distillguard configuration file. The proxy's sections are parsed
/// here; the sections owned by detection, campaigns, policy, admin and alerts are kept as
/// raw YAML nodes for their owners to read (with YamlSection, so their errors
/// are located too). Any other top-level key is an error.

#include <string>

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
};

/// Loads and validates `path`. Throws ConfigError ("file:line:column: message").
Config load_config(const std::string& path);

/// Same from text (tests); `file` names it in messages.
Config load_config_text(const std::string& text, const std::string& file);

}  // namespace dg::config
