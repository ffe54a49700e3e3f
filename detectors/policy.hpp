#pragma once
/// The enforcement policy: an immutable snapshot built by config::parse_policy
/// and shared by every worker (std::shared_ptr<const Policy>). A reload builds
/// a new snapshot; nothing here changes after construction.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "detectors/decision.hpp"

namespace dg::detectors {

/// What to do when detection or decision state is unavailable.
enum class FailMode : std::uint8_t { Open, Closed };

/// Throttle parameters: a per-key token bucket.
struct ThrottleParams {
  double requests_per_minute = 10;
  double burst = 5;  ///< bucket size in requests
};

/// Block TTL and its escalation for repeat offenders:
/// ttl = min(max_ttl, base_ttl * growth_factor^(previous blocks)).
struct BlockParams {
  double ttl_s = 3600;
  double growth_factor = 2;
  double max_ttl_s = 7 * 86400.0;
};

/// Escalation memory: past decisions count as offenses for this long after
/// they were created; `block_after_offenses` > 0 turns any actioned decision
/// into a block once the key has offended that many times before.
struct EscalationParams {
  double memory_s = 30 * 86400.0;
  std::uint32_t block_after_offenses = 0;
};

/// Per-key output-token budget over a sliding window (0 tokens = off).
struct OutputBudgetParams {
  std::uint64_t tokens = 0;
  double window_s = 3600;
};

/// When a rule fires. Every condition given must hold.
struct RuleMatch {
  std::optional<double> min_risk;                          ///< key risk >= value
  std::vector<std::pair<std::string, double>> detectors;   ///< detector score >= value, for each
  std::optional<bool> campaign;                            ///< true: key is in a campaign; false: it is not
  std::uint64_t min_requests = 0;                          ///< key has at least this many requests
};

/// Where a rule applies: empty lists mean everywhere.
struct RuleScope {
  std::vector<std::string> tenants;     ///< tenant header values
  std::vector<std::string> key_groups;  ///< names of Policy::key_groups
};

/// One rule: a match, a scope and an action with its parameters.
struct Rule {
  std::string name;
  RuleMatch when;
  RuleScope scope;
  Action action = Action::Shadow;
  bool shadow = false;   ///< log and alert only, even if the policy is not in shadow mode
  double ttl_s = 0;      ///< how long the decision lasts; 0 = the policy default for the action
  ThrottleParams throttle;
  DegradeParams degrade;
  std::uint64_t output_token_budget = 0;  ///< per-key budget while the decision holds (0 = policy default)
};

/// The whole enforcement policy (immutable snapshot).
struct Policy {
  std::uint64_t version = 0;   ///< incremented by each successful (re)load
  std::string source;          ///< file the policy was read from
  double loaded_at = 0;        ///< Unix seconds

  bool shadow = false;                 ///< global shadow mode: no rule takes a real action
  FailMode fail_mode = FailMode::Open;
  std::set<std::string, std::less<>> allowlist;                   ///< key fingerprints never actioned
  std::map<std::string, std::set<std::string, std::less<>>, std::less<>> key_groups;  ///< name -> fingerprints
  std::vector<Rule> rules;             ///< most severe acting match wins (ties: first); shadow rules only when none acts

  double default_ttl_s = 3600;         ///< shadow / throttle / degrade decisions
  double operator_lift_grace_s = 86400;  ///< after an operator lift, detection leaves the key alone this long
  ThrottleParams throttle;             ///< defaults for rules and operator throttles
  DegradeParams degrade;
  BlockParams block;
  EscalationParams escalation;
  OutputBudgetParams output_budget;    ///< applies to every key that is not allowlisted

  bool allowlisted(std::string_view key_fp) const { return allowlist.find(key_fp) != allowlist.end(); }
};

}  // namespace dg::detectors
