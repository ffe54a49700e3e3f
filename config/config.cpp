#include "config/config.hpp"

namespace dg::config {

Config read_config(const YAML::Node& root, const std::string& file, std::vector<Diagnostic>& errors) {
  Config c;
  c.path = file;
  try {
    YamlSection s(root, file);
    // Owned by other modules: kept raw, validated by their owners.
    auto keep = [&](const char* key, YAML::Node& into) {
      if (auto n = s.raw(key)) into = *n;
    };
    keep("detection", c.detection);
    keep("policy", c.policy);
    keep("admin", c.admin);
    keep("alerts", c.alerts);
    keep("campaigns", c.campaigns);
    keep("state", c.state);
    try {
      c.proxy = read_proxy_config(s);
    } catch (const ConfigError& e) {
      // A structural error stopped the proxy's sections midway: the keys it
      // did not reach would read as unknown, so report what it found.
      errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
      return c;
    }
    s.finish();
  } catch (const ConfigError& e) {
    errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
  }
  return c;
}

namespace {

Config from_root(const YAML::Node& root, const std::string& file) {
  std::vector<Diagnostic> errors;
  auto c = read_config(root, file, errors);
  if (!errors.empty()) throw ConfigError(sorted_diagnostics(errors));
  return c;
}

}  // namespace

Config load_config(const std::string& path) { return from_root(load_yaml_file(path), path); }

Config load_config_text(const std::string& text, const std::string& file) {
  auto root = load_yaml_text(text, file);
  if (!root.IsDefined() || root.IsNull()) throw ConfigError(file + ":1:1: the file is empty (no settings)");
  if (!root.IsMap()) throw ConfigError(located(file, root, "the top level must be a mapping"));
  return from_root(root, file);
}

}  // namespace dg::config
