// libFuzzer target: a configuration file through every section's loader, as
// check-config and a live reload read it. Hostile YAML must end in a located
// config::ConfigError (or a clean result), never a crash or a hang.
#include <exception>
#include <string>

#include "config/admin_config.hpp"
#include "config/alerts_config.hpp"
#include "config/campaign_config.hpp"
#include "config/config.hpp"
#include "config/detection_config.hpp"
#include "config/policy_config.hpp"
#include "config/yaml_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = dg::config::load_config_text(text, "fuzz.yaml");
    (void)dg::config::load_detection_config(cfg);
    (void)dg::config::load_campaign_config(cfg);
    (void)dg::config::load_alerts_config(cfg.alerts, cfg.path);
    if (cfg.admin && !cfg.admin.IsNull()) {
      dg::config::YamlSection admin(cfg.admin, cfg.path, "admin");
      (void)dg::config::parse_admin_config(admin);
    }
  } catch (const std::exception&) {
  }
  try {
    // The same text as a policy file of its own.
    const auto root = dg::config::load_yaml_text(text, "policy.yaml");
    (void)dg::config::parse_policy_node(root, dg::config::PolicySource{"policy.yaml", ""});
  } catch (const std::exception&) {
  }
  return 0;
}
