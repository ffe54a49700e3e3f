#pragma once
/// Adapts the detection engine to the enforcer's AssessmentSource: observe
/// and peek go to detectors::Engine, prompt analysis to its current analyzer.

#include "detectors/engine.hpp"
#include "gateway/enforce/enforcer.hpp"

namespace dg::gateway {

class EngineAssessmentSource final : public AssessmentSource {
 public:
  explicit EngineAssessmentSource(detectors::Engine& engine) : engine_(engine) {}

  detectors::KeyAssessment observe(const detectors::Exchange& exchange) override { return engine_.observe(exchange); }

  detectors::KeyAssessment peek(const std::string& key_fp, double now) const override {
    return engine_.peek(key_fp, now);
  }

  std::optional<detectors::PromptFeatures> analyze(const detectors::PromptText& text) const override {
    if (text.system.empty() && text.last_user.empty()) return std::nullopt;
    auto analyzer = engine_.analyzer();
    if (!analyzer) return std::nullopt;
    return analyzer->analyze(text);
  }

 private:
  detectors::Engine& engine_;
};

}  // namespace dg::gateway
