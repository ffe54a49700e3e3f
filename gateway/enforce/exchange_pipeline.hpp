#pragma once
/// One finished exchange through detection and policy, the one path that the
/// live proxy (Enforcer::on_exchange) and replay (ReplayRunner) both run:
///
///   campaign linker (record; a rotation link reaches the engine at once)
///     → detection (AssessmentSource::observe)
///     → policy (PolicyEngine::evaluate against the store's table: escalation)
///     → store (DecisionStore::post: the table at once, listeners; the journal
///       and audit writes queued to the store's writer thread)
///
/// What differs between live and replay is around it, not in it: where the
/// exchange comes from, the clock (event time in both), clustering (a timer
/// live, event time in replay: CampaignStage), the store's options (journal
/// and audit live, memory only in replay) and what is done with the result
/// (counters, logs and alerts live; findings, decisions and summaries in
/// replay). Thread-safe when its parts are (they are, live).

#include <functional>
#include <optional>
#include <string>

#include "detectors/decision.hpp"
#include "detectors/features.hpp"
#include "detectors/finding.hpp"
#include "detectors/policy_engine.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/campaign_forwarding.hpp"

namespace dg::gateway {

class AssessmentSource;

/// What one exchange did.
struct PipelineResult {
  enum class Detection : std::uint8_t {
    Observed,     ///< the assessment is valid
    Unavailable,  ///< no detection configured
    Failed,       ///< observe threw (`error`)
  };
  Detection detection = Detection::Observed;
  std::string error;
  detectors::KeyAssessment assessment;          ///< key_fp always set when observed
  std::optional<detectors::Decision> decision;  ///< a new decision, already in the store's table
};

class ExchangePipeline {
 public:
  /// `policy` null: no decisions (replay without rules). `detection` null:
  /// every exchange is Detection::Unavailable. All must outlive this object.
  ExchangePipeline(detectors::PolicyEngine* policy, DecisionStore& store, AssessmentSource* detection)
      : policy_(policy), store_(store), detection_(detection) {}

  /// The campaign step (null: none). Set before the first run().
  void set_campaigns(CampaignStage* campaigns) noexcept { campaigns_ = campaigns; }

  /// Called on the store's writer thread with the exchange's `ts` when a
  /// decision could not be journaled (the store counts it as well). What it
  /// refers to must outlive the store's queue (flush the store first). Set

  /// Runs one finished exchange of a key (`ex.key_fp` not empty) as of
  /// `ex.ts`. The decision's `actor` in the store is "detector".
  PipelineResult run(const detectors::Exchange& ex);
  /// The same against the snapshot the caller already holds (the enforcer
  /// reads the policy once per exchange); null: no decisions.
  PipelineResult run(const detectors::Exchange& ex, const detectors::Policy* policy);


 private:
  detectors::PolicyEngine* policy_;
  DecisionStore& store_;
  AssessmentSource* detection_;
  CampaignStage* campaigns_ = nullptr;
};

}  // namespace dg::gateway
