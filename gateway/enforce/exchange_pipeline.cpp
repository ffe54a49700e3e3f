#include "gateway/enforce/exchange_pipeline.hpp"

#include <exception>

#include "gateway/enforce/enforcer.hpp"

namespace dg::gateway {

PipelineResult ExchangePipeline::run(const detectors::Exchange& ex) {
  if (!policy_) return run(ex, nullptr);
  const auto snapshot = policy_->policy();
  return run(ex, snapshot.get());
}

PipelineResult ExchangePipeline::run(const detectors::Exchange& ex, const detectors::Policy* policy) {
  PipelineResult r;
  // Before the engine observes the exchange, so that a rotation link found
  // by record() already counts for this exchange's policy evaluation.
  if (campaigns_) campaigns_->record(ex);
  if (!detection_) {
    r.detection = PipelineResult::Detection::Unavailable;
    return r;
  }
  try {
    r.assessment = detection_->observe(ex);
  } catch (const std::exception& e) {
    r.detection = PipelineResult::Detection::Failed;
    r.error = e.what();
    return r;
  }
  if (r.assessment.key_fp.empty()) r.assessment.key_fp = ex.key_fp;
  if (!policy) return r;
  r.decision = detectors::PolicyEngine::evaluate(*policy, r.assessment, ex.tenant, ex.ts, store_.table());
  if (!r.decision) return r;
  // Queued: the table changes now, the journal write happens on the store's
  // writer thread (the caller is a worker serving clients).
  store_.post(*r.decision, "detector", ex.ts);  // a failed write: DecisionStore::last_journal_failure
  return r;
}

}  // namespace dg::gateway
