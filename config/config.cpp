#include "config/config.hpp"

namespace dg::config {

namespace {

Config from_root(const YAML::Node& root, const std::string& file) {
  Config c;
  c.path = file;
  YamlSection s(root, file);
  c.proxy = read_proxy_config(s);
  // Owned by other modules: kept raw, validated by their owners.
  auto keep = [&](const char* key, YAML::Node& into) {
    if (auto n = s.raw(key)) into = *n;
  };
  keep("detection", c.detection);
  keep("policy", c.policy);
  keep("admin", c.admin);
  keep("alerts", c.alerts);
  keep("campaigns", c.campaigns);
  s.finish();
  return c;
}

}  // namespace

Config load_config(const std::string& path) { return from_root(load_yaml_file(path), path); }

Config load_config_text(const std::string& text, const std::string& file) {
  auto root = load_yaml_text(text, file);
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw ConfigError(located(file, root, "the top level must be a mapping"));
  return from_root(root, file);
}

}  // namespace dg::config
