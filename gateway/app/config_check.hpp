#pragma once
/// What `distillguard check-config FILE` reports: every error of a file, not
/// only the first, without starting anything.
///
/// FILE is either a main config (every section is read: the proxy's,
/// detection, campaigns, policy — inline or the file it names —, admin and
/// alerts) or a policy file on its own (its top level has `rules:` or
/// `allow_empty:`, and no `upstream:`), as config/policy.example.yaml is.
/// Syntax errors stop the reading of their file; everything else (unknown or
/// duplicate keys, wrong types, bad values, unset secrets) is collected.

#include <cstddef>
#include <string>
#include <vector>

#include "config/yaml_reader.hpp"

namespace dg::gateway {

struct ConfigCheck {
  bool policy_file = false;  ///< FILE was read as a policy file of its own
  std::size_t rules = 0;     ///< rules of the policy (when it was read without error)
  /// Sorted by file (FILE first), line and column; empty = valid.
  std::vector<config::Diagnostic> errors;
};

/// Reads and validates `path` as described above. Never throws ConfigError.
ConfigCheck check_config_file(const std::string& path);

}  // namespace dg::gateway
