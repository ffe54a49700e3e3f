// libFuzzer target: a configuration file through every section's loader, as
// check-config and a live reload read it. Hostile YAML must end in a located
// config::ConfigError (or a clean result), never a crash or a hang.
#include <exception>
#include <string>
#include <vector>

#include "config/admin_config.hpp"
#include "config/alerts_config.hpp"
#include "config/campaign_config.hpp"
#include "config/config.hpp"
#include "config/detection_config.hpp"
#include "config/policy_config.hpp"
#include "config/yaml_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // One YAML parse (the slow part) feeds both readings of the text.
  YAML::Node root;
  try {
    root = dg::config::load_yaml_text(text, "fuzz.yaml");
  } catch (const std::exception&) {
    return 0;
  }
  if (root.IsMap()) {
    try {
      std::vector<dg::config::Diagnostic> errors;
      const auto cfg = dg::config::read_config(root, "fuzz.yaml", errors);
      if (errors.empty()) {
        (void)dg::config::load_detection_config(cfg);
        (void)dg::config::load_campaign_config(cfg);
        (void)dg::config::load_alerts_config(cfg.alerts, cfg.path);
        if (cfg.admin && !cfg.admin.IsNull()) {
          dg::config::YamlSection admin(cfg.admin, cfg.path, "admin");
          (void)dg::config::parse_admin_config(admin);
        }
      }
    } catch (const std::exception&) {
    }
  }
  try {
    // The same text as a policy file of its own.
    (void)dg::config::parse_policy_node(root, dg::config::PolicySource{"fuzz.yaml", ""});
  } catch (const std::exception&) {
  }
  return 0;
}
