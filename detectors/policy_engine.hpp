#pragma once
/// Maps a key's assessment to a decision under the current policy. Holds the
/// policy snapshot atomically so that a reload swaps it while workers
/// evaluate. Pure: no clock, no I/O; the caller passes event time and a view
/// of earlier decisions (for escalation), so replay uses the same code.
///
///   PolicyEngine pe(policy);
///   if (auto d = pe.evaluate(assessment, tenant, ts, table)) table.put(*d);

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "detectors/decision.hpp"
#include "detectors/finding.hpp"
#include "detectors/policy.hpp"
#include "detectors/snapshot.hpp"

namespace dg::detectors {

/// Every detector name a rule's `when.detectors` can test: each per-key
/// detector (detector_name) and the campaign linker's external finding
/// (kCampaignDetector). The policy reader checks rules against this list.
std::vector<std::string_view> rule_detector_names();

class PolicyEngine {
 public:
  explicit PolicyEngine(std::shared_ptr<const Policy> policy);

  /// The current snapshot (never null). Thread-safe.
  std::shared_ptr<const Policy> policy() const { return policy_.load(); }
  /// Swaps in a new snapshot (hot reload). Thread-safe.
  void set_policy(std::shared_ptr<const Policy> policy);

  /// The new decision for the key, or nullopt when nothing changes: no rule
  /// matches, the key is allowlisted, an operator decision is in force, or an
  /// active decision already is at least as severe. `view` supplies the key's
  /// latest earlier decision (escalation, no downgrades while active).
  std::optional<Decision> evaluate(const KeyAssessment& assessment, std::string_view tenant, double now,
                                   const DecisionView& view) const;

  /// Same against an explicit snapshot (replay with a fixed policy).
  static std::optional<Decision> evaluate(const Policy& policy, const KeyAssessment& assessment,
                                          std::string_view tenant, double now, const DecisionView& view);

  /// An operator's decision with the policy's defaults filled in. `ttl_s`
  /// nullopt = the policy default for the action; 0 = never expires. Action
  /// Allow is a lift: it lasts `operator_lift_grace_s` unless `ttl_s` is given.
  static Decision operator_decision(const Policy& policy, std::string key_fp, Action action, std::string reason,
                                    double now, std::optional<double> ttl_s = std::nullopt);

  /// True when `rule` applies to this key and tenant.
  static bool in_scope(const Policy& policy, const Rule& rule, std::string_view key_fp, std::string_view tenant);
  /// True when every condition of `rule` holds for the assessment.
  static bool matches(const Rule& rule, const KeyAssessment& assessment);

 private:
  Snapshot<Policy> policy_;
};

}  // namespace dg::detectors
