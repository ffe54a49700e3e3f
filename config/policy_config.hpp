#pragma once
/// Reading the enforcement policy from YAML (strict: unknown keys and wrong
/// types are ConfigError with `file:line:column: message`).
///
/// Where the policy lives: the `policy:` section of the main config file,
/// either inline (the section is the policy) or as a reference to a separate
/// file (`policy: {file: policy.yaml}`, relative to the main config), whose
/// top level is the policy. The reloader watches whichever file holds it.
/// Annotated example: config/policy.example.yaml.

#include <string>

#include "config/yaml_reader.hpp"
#include "detectors/policy.hpp"

namespace dg::config {

/// Builds a policy from its mapping; calls `section.finish()`. Throws ConfigError.
/// version, source and loaded_at are left for the caller.
detectors::Policy parse_policy(YamlSection& section);

/// The file that holds the policy and the key of its section ("" = top level).
struct PolicySource {
  std::string file;
  std::string section;
};

/// Finds the policy of a main config file (see above). Throws ConfigError.
/// A config without a `policy:` section yields {config_path, "policy"} and an
/// empty policy (no rules: nothing is actioned).
PolicySource locate_policy(const std::string& config_path);

/// The policy in an already loaded document (`root`), per `source.section`.
/// An absent or empty section is an empty policy. Throws ConfigError.
detectors::Policy parse_policy_node(const YAML::Node& root, const PolicySource& source);

/// Reads and validates the policy at `source`. Throws ConfigError.
detectors::Policy load_policy(const PolicySource& source);

/// Parses a duration: a number of seconds, or a string such as "500ms",
/// "30s", "5m", "2h", "7d". Throws ConfigError located at `node`.
double parse_duration(const YamlSection& section, const YAML::Node& node, std::string_view key);

}  // namespace dg::config
