#include "detectors/policy_engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "detectors/detector_scores.hpp"

namespace dg::detectors {

namespace {

constexpr std::size_t kMaxEvidence = 8;

std::optional<double> detector_score(const KeyAssessment& a, std::string_view name) {
  for (const auto& f : a.scores)
    if (f.detector == name) return f.score;
  for (const auto& f : a.findings)
    if (f.detector == name) return f.score;
  return std::nullopt;
}

std::string fmt2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string explain(const Rule& rule, const KeyAssessment& a) {
  std::string out = "rule '" + rule.name + "'";
  if (rule.when.min_risk) out += ": risk " + fmt2(a.risk) + " >= " + fmt2(*rule.when.min_risk);
  for (const auto& [name, min] : rule.when.detectors)
    out += "; " + name + " " + fmt2(detector_score(a, name).value_or(0)) + " >= " + fmt2(min);
  if (rule.when.campaign.value_or(false)) out += "; campaign " + a.campaign;
  if (rule.when.min_requests > 0) out += "; " + std::to_string(a.request_index) + " requests";
  return out;
}

}  // namespace

std::vector<std::string_view> rule_detector_names() {
  std::vector<std::string_view> out;
  for (std::size_t id = 0; id < kDetectorCount; ++id) out.push_back(detector_name(static_cast<DetectorId>(id)));
  out.push_back(kCampaignDetector);
  return out;
}

PolicyEngine::PolicyEngine(std::shared_ptr<const Policy> policy)
    : policy_(policy ? std::move(policy) : std::make_shared<const Policy>()) {}

void PolicyEngine::set_policy(std::shared_ptr<const Policy> policy) {
  if (!policy) policy = std::make_shared<const Policy>();
  policy_.store(std::move(policy));
}

std::optional<Decision> PolicyEngine::evaluate(const KeyAssessment& assessment, std::string_view tenant, double now,
                                               const DecisionView& view) const {
  const auto snapshot = policy();
  return evaluate(*snapshot, assessment, tenant, now, view);
}

bool PolicyEngine::in_scope(const Policy& policy, const Rule& rule, std::string_view key_fp, std::string_view tenant) {
  if (!rule.scope.tenants.empty() &&
      std::find(rule.scope.tenants.begin(), rule.scope.tenants.end(), tenant) == rule.scope.tenants.end())
    return false;
  if (rule.scope.key_groups.empty()) return true;
  for (const auto& group : rule.scope.key_groups) {
    auto it = policy.key_groups.find(group);
    if (it != policy.key_groups.end() && it->second.find(key_fp) != it->second.end()) return true;
  }
  return false;
}

bool PolicyEngine::matches(const Rule& rule, const KeyAssessment& a) {
  const auto& w = rule.when;
  if (w.min_risk && a.risk < *w.min_risk) return false;
  for (const auto& [name, min] : w.detectors) {
    auto s = detector_score(a, name);
    if (!s || *s < min) return false;
  }
  if (w.campaign && (*w.campaign != !a.campaign.empty())) return false;
  if (a.request_index < w.min_requests) return false;
  return true;
}

std::optional<Decision> PolicyEngine::evaluate(const Policy& policy, const KeyAssessment& a, std::string_view tenant,
                                               double now, const DecisionView& view) {
  if (policy.allowlisted(a.key_fp)) return std::nullopt;

  // A shadowed rule must never weaken enforcement: the most severe rule that
  // really acts wins; only when none acts does the most severe shadow one count.
  const Rule* best_real = nullptr;
  const Rule* best_any = nullptr;
  for (const auto& rule : policy.rules) {
    if (!in_scope(policy, rule, a.key_fp, tenant) || !matches(rule, a)) continue;
    if (!best_any || severity(rule.action) > severity(best_any->action)) best_any = &rule;
    const bool acts = !policy.shadow && !rule.shadow && rule.action != Action::Shadow;
    if (acts && (!best_real || severity(rule.action) > severity(best_real->action))) best_real = &rule;
  }
  const Rule* best = best_real ? best_real : best_any;
  if (!best || best->action == Action::Allow) return std::nullopt;

  const auto prev = view.latest(a.key_fp);
  const bool prev_active = prev && prev->active(now);
  // An operator's block, throttle or lift holds until it ends or is lifted.
  if (prev_active && prev->origin == Origin::Operator) return std::nullopt;

  const bool remembered = prev && now - prev->created <= policy.escalation.memory_s;
  const std::uint32_t offenses = remembered ? prev->offense_count + 1 : 1;
  const std::uint32_t prior_blocks = remembered ? prev->block_count : 0;

  Action intended = best->action;
  if (intended != Action::Shadow && policy.escalation.block_after_offenses > 0 &&
      offenses > policy.escalation.block_after_offenses)
    intended = Action::Block;
  const bool shadow = policy.shadow || best->shadow || intended == Action::Shadow;
  const Action effective = shadow ? Action::Shadow : intended;

  if (prev_active) {
    // Never downgrade an active decision, and do not repeat an equal one.
    if (severity(prev->action) > severity(effective)) return std::nullopt;
    if (prev->action == effective && severity(prev->intended) >= severity(intended)) return std::nullopt;
  }

  Decision d;
  d.key_fp = a.key_fp;
  d.action = effective;
  d.intended = intended;
  d.rule = best->name;
  d.reason = explain(*best, a);
  if (intended != best->action)
    d.reason += "; escalated to block after " + std::to_string(offenses - 1) + " earlier offenses";
  for (const auto& f : a.findings)
    for (const auto& e : f.evidence)
      if (d.evidence.size() < kMaxEvidence) d.evidence.push_back(f.detector + ": " + e);
  d.origin = Origin::Detector;
  d.created = now;
  d.offense_count = offenses;
  d.risk = a.risk;
  d.campaign = a.campaign;

  double ttl = best->ttl_s > 0 ? best->ttl_s : policy.default_ttl_s;
  d.block_count = prior_blocks;
  if (effective == Action::Block) {
    const double base = best->ttl_s > 0 && best->action == Action::Block ? best->ttl_s : policy.block.ttl_s;
    ttl = std::min(policy.block.max_ttl_s, base * std::pow(policy.block.growth_factor, prior_blocks));
    d.block_count = prior_blocks + 1;
  }
  d.expires = ttl > 0 ? now + ttl : 0;
  d.throttle_rpm = best->throttle.requests_per_minute;
  d.throttle_burst = best->throttle.burst;
  d.degrade = best->degrade;
  d.output_token_budget = best->output_token_budget;
  return d;
}

Decision PolicyEngine::operator_decision(const Policy& policy, std::string key_fp, Action action, std::string reason,
                                         double now, std::optional<double> ttl_s) {
  Decision d;
  d.key_fp = std::move(key_fp);
  d.action = action;
  d.intended = action;
  d.reason = std::move(reason);
  d.origin = Origin::Operator;
  d.created = now;
  double ttl = 0;
  switch (action) {
    case Action::Allow: ttl = policy.operator_lift_grace_s; break;
    case Action::Block: ttl = policy.block.ttl_s; break;
    default: ttl = policy.default_ttl_s; break;
  }
  if (ttl_s) ttl = *ttl_s;
  d.expires = ttl > 0 ? now + ttl : 0;
  // A lift forgives: escalation starts again from zero.
  d.offense_count = action == Action::Allow ? 0 : 1;
  d.block_count = action == Action::Block ? 1 : 0;
  d.throttle_rpm = policy.throttle.requests_per_minute;
  d.throttle_burst = policy.throttle.burst;
  d.degrade = policy.degrade;
  return d;
}

}  // namespace dg::detectors
