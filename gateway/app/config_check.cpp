#include "gateway/app/config_check.hpp"

#include "config/admin_config.hpp"
#include "config/alerts_config.hpp"
#include "config/campaign_config.hpp"
#include "config/config.hpp"
#include "config/detection_config.hpp"
#include "config/policy_config.hpp"
#include "config/state_config.hpp"

namespace dg::gateway {

namespace {

bool has_key(const YAML::Node& map, const char* key) {
  for (const auto& kv : map)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
  return false;
}

/// A policy file's top level is the policy: `rules:` (or `allow_empty:`),
/// and none of the main config's required `upstream:`.
bool is_policy_document(const YAML::Node& root) {
  return (has_key(root, "rules") || has_key(root, "allow_empty")) && !has_key(root, "upstream");
}

}  // namespace

ConfigCheck check_config_file(const std::string& path) {
  ConfigCheck out;
  std::vector<config::Diagnostic> errors;
  // Runs one reader; its errors join the list and the next reader runs.
  const auto collect = [&](auto&& read) {
    try {
      read();
      return true;
    } catch (const config::ConfigError& e) {
      errors.insert(errors.end(), e.diagnostics().begin(), e.diagnostics().end());
      return false;
    }
  };
  const auto done = [&] {
    out.errors = config::sorted_diagnostics(errors);
    return out;
  };
  const auto read_policy = [&](const YAML::Node& root, const config::PolicySource& source) {
    collect([&] { out.rules = config::parse_policy_node(root, source).rules.size(); });
  };

  YAML::Node root;
  if (!collect([&] { root = config::load_yaml_file(path, &errors); })) return done();

  if (is_policy_document(root)) {
    out.policy_file = true;
    read_policy(root, {path, ""});
    return done();
  }

  const auto cfg = config::read_config(root, path, errors);
  collect([&] { (void)config::load_detection_config(cfg); });
  collect([&] { (void)config::load_campaign_config(cfg); });
  collect([&] {
    if (cfg.admin && !cfg.admin.IsNull()) {
      if (!cfg.admin.IsMap()) throw config::ConfigError(config::located(path, cfg.admin, "'admin' must be a mapping"));
      config::YamlSection section(cfg.admin, cfg.path, "admin");
      (void)config::parse_admin_config(section);
    }
  });
  collect([&] { (void)config::load_alerts_config(cfg.alerts, cfg.path); });
  collect([&] { (void)config::load_state_config(cfg); });
  collect([&] {
    const auto source = config::locate_policy(root, path);
    if (source.file == path) {
      read_policy(root, source);
      return;
    }
    YAML::Node policy_root;
    if (collect([&] { policy_root = config::load_yaml_file(source.file, &errors); })) read_policy(policy_root, source);
  });
  return done();
}

}  // namespace dg::gateway
