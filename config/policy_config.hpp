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

/// Builds a policy from its mapping; calls `section.finish()`. Throws
/// ConfigError with every error found. version, source and loaded_at are left
/// for the caller. A rule-less mapping is accepted here (the building block of
/// tests); the file-level readers below refuse it unless it says
/// `allow_empty: true`.
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
/// Same for an already loaded main config document.
PolicySource locate_policy(const YAML::Node& root, const std::string& config_path);

/// The policy in an already loaded document (`root`), per `source.section`.
/// No `policy:` section at all is an empty policy (nothing is actioned). An
/// empty document, an empty `policy:` section and a policy without rules are
/// errors unless the policy says `allow_empty: true` (a file an editor
/// truncated must not silently lift every rule, at start-up or on reload).
/// Throws ConfigError with every error found.
detectors::Policy parse_policy_node(const YAML::Node& root, const PolicySource& source);

/// Reads and validates the policy at `source`. Throws ConfigError.
detectors::Policy load_policy(const PolicySource& source);

/// Parses a duration: a number of seconds, or a string such as "500ms",
/// "30s", "5m", "2h", "7d". Throws ConfigError located at `node`.
double parse_duration(const YamlSection& section, const YAML::Node& node, std::string_view key);

}  // namespace dg::config
