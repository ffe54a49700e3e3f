#pragma once
/// A ProxyHooks decorator that counts every request into DgMetrics
/// (dg_requests_total{route,status,action}) and feeds the alerter's
/// per-key request bundle, then delegates to the real hooks (the Enforcer).
///
/// The action of a request is decided in on_request and its status is known
/// in on_exchange: the session hands both hooks the same RequestState, whose
/// verdict carries the action. A request refused on its credentials (no or
/// ambiguous API key: 401; a Connection header naming the identity header:
/// 400) never reaches on_request and counts as "unauthenticated"; the client leaving mid-response does not change the label.

#include <memory>

#include "gateway/observability/dg_metrics.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/enforce/proxy_hooks.hpp"

namespace dg::gateway {

class DecisionAlerter;

class InstrumentedHooks final : public ProxyHooks {
 public:
  /// `inner` and `metrics` (and `alerter` when given) must outlive this object.
  InstrumentedHooks(ProxyHooks& inner, DgMetrics& metrics, DecisionAlerter* alerter = nullptr)
      : inner_(inner), metrics_(metrics), alerter_(alerter) {}
  /// Owning variant (keeps the inner hooks alive).
  InstrumentedHooks(std::shared_ptr<ProxyHooks> inner, DgMetrics& metrics, DecisionAlerter* alerter = nullptr)
      : owned_(std::move(inner)), inner_(*owned_), metrics_(metrics), alerter_(alerter) {}

  void on_head(const RequestInfo& info, RequestState& state) override { inner_.on_head(info, state); }
  void on_request(const RequestInfo& info, RequestState& state) override { inner_.on_request(info, state); }
  void on_exchange(const detectors::Exchange& exchange, const RequestState& state) override;

 private:
  std::shared_ptr<ProxyHooks> owned_;
  ProxyHooks& inner_;
  DgMetrics& metrics_;
  DecisionAlerter* alerter_;
};

/// An AssessmentSource decorator that counts dg_detector_findings_total: when
/// an observation raises a new finding (`new_finding`), each detector at or
/// above its threshold in that assessment is counted once.
class InstrumentedDetection final : public AssessmentSource {
 public:
  InstrumentedDetection(AssessmentSource& inner, DgMetrics& metrics) : inner_(inner), metrics_(metrics) {}
  detectors::KeyAssessment observe(const detectors::Exchange& exchange) override;
  detectors::KeyAssessment peek(const std::string& key_fp, double now) const override {
    return inner_.peek(key_fp, now);
  }
  std::optional<detectors::PromptFeatures> analyze(const detectors::PromptText& text) const override {
    return inner_.analyze(text);
  }

 private:
  AssessmentSource& inner_;
  DgMetrics& metrics_;
};

}  // namespace dg::gateway
