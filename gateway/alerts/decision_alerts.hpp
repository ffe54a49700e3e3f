#pragma once
/// Turns decision changes into alerts: decision_created, decision_escalated
/// (a more severe action replaces one in force), decision_lifted (an operator
/// lift, or any change to allow) and campaign_detected (the first decision
/// of a key linked to a campaign not seen before). Attaches the detectors'
/// evidence and the key's most recent requests (metadata only).
///
/// Wiring (both listeners, so that detector decisions carry their assessment
/// and operator decisions are alerted too):
///   store.set_listener([&](auto& d, auto actor) { alerts.on_store_change(d, actor); });
///   enforcer.set_decision_listener([&](auto& d, auto& a) { alerts.on_policy_decision(d, a); });
///   InstrumentedHooks(enforcer, metrics, &alerts)   // feeds remember_exchange()
/// Thread-safe; never blocks on I/O (AlertDispatcher::enqueue).

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "detectors/decision.hpp"
#include "detectors/finding.hpp"
#include "gateway/alerts/alert.hpp"
#include "gateway/alerts/alert_dispatcher.hpp"
#include "gateway/observability/dg_metrics.hpp"

namespace dg::gateway {

class DecisionAlerter {
 public:
  /// `requests_per_key`: how many recent requests an alert carries.
  /// `count_findings_on_decisions`: count dg_detector_findings_total from the
  /// assessments behind decisions, for assemblies where the detection source
  /// cannot be wrapped in InstrumentedDetection (which counts every finding).
  DecisionAlerter(AlertDispatcher& dispatcher, DgMetrics& metrics, std::size_t requests_per_key = 5,
                  std::size_t max_keys = 10000, bool count_findings_on_decisions = false);

  /// Every finished exchange (before detection sees it): keeps the last
  /// `requests_per_key` request metadata of recently active keys (bounded).
  void remember_exchange(const detectors::Exchange& ex);

  /// Enforcer listener: a decision the policy took, with its assessment.
  void on_policy_decision(const detectors::Decision& d, const detectors::KeyAssessment& a);

  /// Names the member keys of a campaign (fingerprints) for campaign_detected
  /// alerts; without it the alert lists only the key whose decision revealed it.
  using CampaignMembers = std::function<std::vector<std::string>(std::string_view campaign)>;
  void set_campaign_members(CampaignMembers provider) { campaign_members_ = std::move(provider); }

  /// DecisionStore listener: every applied change. Detector changes are
  /// alerted by on_policy_decision (which has the evidence); this handles
  /// operator decisions and lifts.
  void on_store_change(const detectors::Decision& d, std::string_view actor);

 private:
  struct KeyState {
    detectors::Action action = detectors::Action::Allow;
    double expires = 0;
    std::deque<AlertRequest> recent;
    double last_seen = 0;
  };
  void emit(const detectors::Decision& d, const detectors::KeyAssessment* a);
  /// Keys are spread over shards so that workers recording exchanges of
  /// different keys do not contend on one lock (remember_exchange runs once
  /// per exchange on the worker thread).
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, KeyState> keys;
  };
  static constexpr std::size_t kShards = 16;
  Shard& shard_for(std::string_view key_fp);
  void evict_locked(Shard& shard, double now);

  AlertDispatcher& dispatcher_;
  DgMetrics& metrics_;
  std::size_t requests_per_key_;
  std::size_t max_keys_per_shard_;
  bool count_findings_;
  std::array<Shard, kShards> shards_;
  std::mutex campaigns_mutex_;
  std::unordered_set<std::string> campaigns_seen_;
  CampaignMembers campaign_members_;
};

}  // namespace dg::gateway
