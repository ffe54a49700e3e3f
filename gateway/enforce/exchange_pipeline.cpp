#include "gateway/enforce/exchange_pipeline.hpp"

#include <exception>

#include "gateway/enforce/enforcer.hpp"

namespace dg::gateway {

PipelineResult ExchangePipeline::run(const detectors::Exchange& ex) {
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
  if (!policy_) return r;
  r.decision = policy_->evaluate(r.assessment, ex.tenant, ex.ts, store_.table());
  if (r.decision) r.persisted = store_.apply(*r.decision, "detector", ex.ts);
  return r;
}

}  // namespace dg::gateway
