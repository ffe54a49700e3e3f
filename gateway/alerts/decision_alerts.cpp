#include "gateway/alerts/decision_alerts.hpp"

#include <algorithm>

namespace dg::gateway {

using detectors::Action;

DecisionAlerter::DecisionAlerter(AlertDispatcher& dispatcher, DgMetrics& metrics, std::size_t requests_per_key,
                                 std::size_t max_keys, bool count_findings_on_decisions)
    : dispatcher_(dispatcher),
      metrics_(metrics),
      requests_per_key_(requests_per_key),
      max_keys_per_shard_(std::max<std::size_t>(1, max_keys / kShards)),
      count_findings_(count_findings_on_decisions) {}

void DecisionAlerter::remember_exchange(const detectors::Exchange& ex) {
  if (ex.key_fp.empty() || requests_per_key_ == 0) return;
  auto meta = alert_request_from(ex);
  auto& shard = shard_for(ex.key_fp);
  std::lock_guard lock(shard.mutex);
  if (shard.keys.size() >= max_keys_per_shard_ && !shard.keys.contains(ex.key_fp)) evict_locked(shard, ex.ts);
  auto& k = shard.keys[ex.key_fp];
  k.last_seen = ex.ts;
  k.recent.push_back(std::move(meta));
  while (k.recent.size() > requests_per_key_) k.recent.pop_front();
}

DecisionAlerter::Shard& DecisionAlerter::shard_for(std::string_view key_fp) {
  return shards_[std::hash<std::string_view>{}(key_fp) % kShards];
}

void DecisionAlerter::evict_locked(Shard& shard, double now) {
  auto& keys = shard.keys;
  // Forget the least recently seen half of the keys without a decision in
  // force: O(n log n) once per max_keys/2 new keys, so O(log n) amortised.
  std::vector<std::pair<double, std::string>> idle;
  for (const auto& [fp, k] : keys)
    if (k.action == Action::Allow || (k.expires != 0 && k.expires <= now)) idle.emplace_back(k.last_seen, fp);
  std::sort(idle.begin(), idle.end());
  const std::size_t drop = std::max<std::size_t>(1, std::min(idle.size(), keys.size() / 2));
  for (std::size_t i = 0; i < drop && i < idle.size(); ++i) keys.erase(idle[i].second);
  if (keys.size() >= max_keys_per_shard_) keys.erase(keys.begin());  // every key under a decision: still bounded
}

void DecisionAlerter::on_policy_decision(const detectors::Decision& d, const detectors::KeyAssessment& a) {
  if (count_findings_)
    for (const auto& f : a.findings) metrics_.detector_findings.with({f.detector}).inc();
  emit(d, &a);
}

void DecisionAlerter::on_store_change(const detectors::Decision& d, std::string_view actor) {
  if (actor == "detector") return;  // on_policy_decision has the evidence
  emit(d, nullptr);
}

void DecisionAlerter::emit(const detectors::Decision& d, const detectors::KeyAssessment* a) {
  Alert alert;
  alert.ts = d.created;
  alert.key_fp = d.key_fp;
  alert.campaign = d.campaign.empty() && a ? a->campaign : d.campaign;
  alert.risk = a ? a->risk : d.risk;
  if (a) alert.findings = a->findings;
  if (alert.findings.empty() && !d.evidence.empty())
    alert.findings.push_back({d.rule.empty() ? std::string("decision") : d.rule, d.risk, d.evidence});

  AlertDecision ad;
  ad.action = std::string(detectors::to_string(d.action));
  ad.shadow = d.action == Action::Shadow;
  // A shadow decision names what it would have done ("shadow:block"); a rule
  // whose own action is shadow has nothing more to say.
  if (ad.shadow && d.intended != Action::Allow && d.intended != Action::Shadow)
    ad.action = "shadow:" + std::string(detectors::to_string(d.intended));
  ad.reason = d.reason.empty() ? d.rule : d.reason;
  ad.origin = std::string(detectors::to_string(d.origin));
  ad.created = d.created;
  ad.expires = d.expires;

  bool new_campaign = false;
  {
    auto& shard = shard_for(d.key_fp);
    std::lock_guard lock(shard.mutex);
    auto& k = shard.keys[d.key_fp];
    const bool previous_active = k.action != Action::Allow && (k.expires == 0 || d.created < k.expires);
    const Action previous = previous_active ? k.action : Action::Allow;
    if (d.action == Action::Allow) {
      alert.event = AlertEvent::DecisionLifted;
      ad.previous_action = std::string(detectors::to_string(previous));
    } else if (previous_active && detectors::severity(d.action) > detectors::severity(previous)) {
      alert.event = AlertEvent::DecisionEscalated;
      ad.previous_action = std::string(detectors::to_string(previous));
    } else {
      alert.event = AlertEvent::DecisionCreated;
      if (previous_active) ad.previous_action = std::string(detectors::to_string(previous));
    }
    k.action = d.action;
    k.expires = d.expires;
    alert.requests.assign(k.recent.begin(), k.recent.end());
  }
  if (!alert.campaign.empty()) {
    std::lock_guard lock(campaigns_mutex_);
    if (campaigns_seen_.size() < 100000) new_campaign = campaigns_seen_.insert(alert.campaign).second;
  }
  alert.decision = std::move(ad);
  if (new_campaign) {
    Alert c;
    c.event = AlertEvent::CampaignDetected;
    c.ts = alert.ts;
    c.campaign = alert.campaign;
    c.key_fp = alert.key_fp;
    if (campaign_members_) c.campaign_keys = campaign_members_(c.campaign);
    // A rotation link "r-<old fp>" joins the new key to the actioned one.
    if (c.campaign_keys.empty() && c.campaign.starts_with("r-fp:")) c.campaign_keys = {c.campaign.substr(2)};
    if (std::find(c.campaign_keys.begin(), c.campaign_keys.end(), alert.key_fp) == c.campaign_keys.end())
      c.campaign_keys.push_back(alert.key_fp);
    c.risk = alert.risk;
    c.findings = alert.findings;
    c.requests = alert.requests;
    c.decision = alert.decision;
    dispatcher_.enqueue(std::move(c));
  }
  dispatcher_.enqueue(std::move(alert));
}

}  // namespace dg::gateway
