#include "gateway/app/instrumented_hooks.hpp"

#include <cstddef>

#include "gateway/alerts/decision_alerts.hpp"

namespace dg::gateway {

namespace {

// The enum's labels are the metric's: dg_requests_total{action} renders
// to_string(GateAction) as DgMetrics::kActionNames spells it.
constexpr bool labels_match() {
  for (auto a : {GateAction::Allow, GateAction::Shadow, GateAction::Throttle, GateAction::Degrade, GateAction::Block,
                 GateAction::Budget, GateAction::FailClosed, GateAction::Unauthenticated})
    if (DgMetrics::kActionNames[static_cast<std::size_t>(a)] != to_string(a)) return false;
  return true;
}
static_assert(labels_match(), "GateAction and DgMetrics::kActionNames disagree");

}  // namespace

void InstrumentedHooks::on_exchange(const detectors::Exchange& ex, const RequestState& state) {
  // The action the request got, as the access log names it: every refusal on
  // credentials (401 no key, 400 a Connection header naming the identity
  // header, 401 ambiguous keys) is "unauthenticated".
  metrics_.count_request(detectors::endpoint_from_path(ex.path), ex.response.status,
                         static_cast<std::size_t>(state.verdict.action));  // labels_match(): the index is the label
  if (alerter_) alerter_->remember_exchange(ex);
  inner_.on_exchange(ex, state);
}

detectors::KeyAssessment InstrumentedDetection::observe(const detectors::Exchange& exchange) {
  auto a = inner_.observe(exchange);
  if (a.new_finding)
    for (const auto& f : a.findings) metrics_.detector_findings.with({f.detector}).inc();
  return a;
}

}  // namespace dg::gateway
