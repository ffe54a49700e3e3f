#pragma once
/// Enforcement at the proxy's hook points. `on_request` looks the key up in
/// the decision table (O(1)) and applies its action: throttle (per-key token
/// bucket, 429 with Retry-After and x-ratelimit-* headers), degrade (body
/// rewrite), block (403 with the remaining TTL), plus the per-key output-token
/// budget. `on_exchange` counts the output tokens and runs the exchange
/// pipeline (campaign linker, detection, policy, store: exchange_pipeline.hpp,
/// the path replay runs too), then counts, logs and announces new decisions.
/// Thread-safe; nothing blocks except the short per-shard locks.

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "detectors/finding.hpp"
#include "detectors/policy_engine.hpp"
#include "detectors/token_bucket.hpp"
#include "gateway/decisions/decision_store.hpp"
#include "gateway/enforce/exchange_pipeline.hpp"
#include "gateway/enforce/proxy_hooks.hpp"
#include "gateway/enforce/shared_counters.hpp"

namespace dg::gateway {

/// Where assessments come from: detectors::Engine in the proxy (see
/// EngineAssessmentSource once the engine lands), a fake in tests.
class AssessmentSource {
 public:
  virtual ~AssessmentSource() = default;
  /// Observes one finished exchange; may throw (counted, fail mode applies).
  virtual detectors::KeyAssessment observe(const detectors::Exchange& exchange) = 0;
  /// The key's current assessment without observing (admin API).
  virtual detectors::KeyAssessment peek(const std::string& key_fp, double now) const = 0;
  /// Prompt features of a request's text (detectors::PromptAnalyzer), used
  /// when the proxy hands over exchanges without them. nullopt = unsupported.
  virtual std::optional<detectors::PromptFeatures> analyze(const detectors::PromptText& text) const {
    (void)text;
    return std::nullopt;
  }
};

/// Counters (relaxed atomics) for metrics and tests.
struct EnforcerStats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> blocked{0};           ///< 403 answers
  std::atomic<std::uint64_t> throttled{0};         ///< 429 answers from a throttle bucket
  std::atomic<std::uint64_t> degraded{0};          ///< bodies rewritten
  std::atomic<std::uint64_t> degrade_refused{0};   ///< 400 answers: a degraded key's body was not a JSON object
  std::atomic<std::uint64_t> shadowed{0};          ///< requests of keys under a shadow decision
  std::atomic<std::uint64_t> budget_rejected{0};   ///< 429 answers because the output budget is spent
  std::atomic<std::uint64_t> detection_failures{0};  ///< observe() threw or no detection configured
  std::atomic<std::uint64_t> fail_closed_rejected{0};  ///< 503 answers: detection failed and the policy fails closed
  /// 503 answers because fleet state (Redis) is unreachable under
  /// `state.fail: closed` (set_shared_state_gate): a shared-state outage,
  /// not a detection failure (dg_fleet_rejected_total).
  std::atomic<std::uint64_t> fleet_rejected{0};
  std::atomic<std::uint64_t> decisions{0};         ///< decisions created by the policy
  std::atomic<std::uint64_t> keys_evicted{0};      ///< per-key runtime state dropped at the key cap (LRU)
};

class Enforcer final : public ProxyHooks {
 public:
  /// `detection` may be null (enforcement of operator decisions only; in
  /// fail-closed mode every keyed request then gets 503). `max_keys` caps the
  /// per-key runtime state (throttle buckets, output-budget windows): the
  /// product passes `detection.store.max_keys`, so every per-key structure
  /// obeys one cap. At the cap the least recently seen key of its shard is
  /// dropped (O(1)); the cap is spread over the shards, at least one each.
  Enforcer(detectors::PolicyEngine& policy, DecisionStore& store, AssessmentSource* detection,
           std::size_t max_keys = kDefaultMaxKeys);

  /// When the proxy does not fill Exchange::request.prompt, the enforcer
  /// analyzes the prompt text in on_request (where the text is available)
  /// into RequestState::prompt, and on_exchange attaches it to that request's
  /// exchange. On by default; turn off once the proxy analyzes prompts itself.
  void set_analyze_prompts(bool on) { analyze_prompts_ = on; }

  /// The campaign step of the exchange pipeline (null: none). Set before serving.
  void set_campaigns(CampaignStage* campaigns) noexcept { pipeline_.set_campaigns(campaigns); }

  /// Refuses, before a costly body is read, what admit would refuse for any
  /// body: a block, fail-closed, a spent throttle bucket (peeked, not
  /// taken), a spent output budget. Takes nothing and counts only what it
  /// refuses.
  void on_head(const RequestInfo& info, RequestState& state) override;
  void on_request(const RequestInfo& info, RequestState& state) override;
  void on_exchange(const detectors::Exchange& exchange, const RequestState& state) override;

  /// Called with each decision the policy creates and the assessment behind
  /// it (alerts). Set before serving.
  void set_decision_listener(std::function<void(const detectors::Decision&, const detectors::KeyAssessment&)> f) {
    listener_ = std::move(f);
  }

  /// Fleet mode with `state.fail: closed`: while `*available` is false (Redis
  /// unreachable, gateway/fleet) every keyed request gets 503 fail_closed. One
  /// relaxed load per request; null (the default) = never. Set before serving.
  void set_shared_state_gate(const std::atomic<bool>* available) noexcept { shared_state_ = available; }

  /// Fleet mode's shared counters (null: this instance's counts only). With
  /// them a throttled key also passes only while the fleet's sliding count of
  /// its admitted requests in the last minute stays within its rate, and a
  /// budgeted key's used tokens include the other instances'. Set before serving.
  void set_shared_counters(SharedCounters* counters) noexcept { shared_counters_ = counters; }

  const EnforcerStats& stats() const { return stats_; }

  /// Output tokens counted against the key's budget at `now`: finished
  /// exchanges in the sliding window plus what its streams in flight relayed.
  double budget_used(std::string_view key_fp, double now) const;

  /// How long detection counts as failed after its last failure (fail-closed).
  static constexpr double kFailureHoldS = 10;
  static constexpr std::size_t kDefaultMaxKeys = 100000;

  /// Keys with runtime state now (all shards; takes every shard lock).
  std::size_t keys_tracked() const;
  /// The most keys the shards can hold together (<= max(max_keys, shards)).
  std::size_t key_capacity() const { return per_shard_cap_ * kShards; }

 private:
  /// Per-key runtime state: the throttle bucket and the output-token window
  /// (HAProxy freq_ctr: prev * (1 - elapsed/period) + curr).
  struct KeyRuntime {
    std::optional<detectors::TokenBucket> bucket;
    double bucket_rpm = 0, bucket_burst = 0, bucket_created = 0;
    double window_start = 0, window_len = 0, curr = 0, prev = 0;
    double last_seen = 0;
    double in_flight = 0;  ///< output tokens relayed by streams not finished yet (SharedBudget)
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  /// Keys in recency order (front: most recently touched) and an index into
  /// it; the index's keys view the list nodes' strings (stable addresses).
  struct Shard {
    mutable std::mutex mutex;
    std::list<std::pair<std::string, KeyRuntime>> lru;
    std::unordered_map<std::string_view, std::list<std::pair<std::string, KeyRuntime>>::iterator, Hash,
                       std::equal_to<>>
        index;
    KeyRuntime* find(std::string_view key_fp);
  };
  static constexpr std::size_t kShards = 64;

  Shard& shard_of(std::string_view key_fp) const { return shards_[Hash{}(key_fp) % kShards]; }
  /// The key's state, created if absent (dropping the shard's least recently
  /// touched key at the cap) and marked most recent. Call with s.mutex held.
  KeyRuntime& touch(Shard& s, std::string_view key_fp);
  static double window_value(const KeyRuntime& r, double now, double window);
  static void window_add(KeyRuntime& r, double now, double window, double amount);

  const std::atomic<bool>* shared_state_ = nullptr;
  SharedCounters* shared_counters_ = nullptr;
  /// The fleet-wide throttle's window (its limit: the decision's requests per minute).
  static constexpr double kFleetThrottleWindowS = 60;
  class SharedBudget;
  /// When admit runs: on the head (nothing taken or counted unless refused;
  /// no body, so no rewrite and no stream budget) or with the whole request.
  enum class Admission : std::uint8_t { Head, Request };
  /// The verdict for a request (on_request without the prompt analysis).
  GateVerdict admit(const RequestInfo& info, Admission at);
  /// Counts a refusal of `action` (once per request, wherever refused).
  void count_refusal(GateAction action);
  /// The throttle bucket's verdict; takes a token unless `at` is Head.
  GateVerdict throttle(const RequestInfo& info, const detectors::Decision& d, const detectors::Policy& policy,
                       Admission at);
  bool detection_failed_recently(double now) const;

  detectors::PolicyEngine& policy_;
  DecisionStore& store_;
  AssessmentSource* detection_;
  ExchangePipeline pipeline_;
  bool analyze_prompts_ = true;
  std::size_t per_shard_cap_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<double> last_failure_{-1e18};
  EnforcerStats stats_;
  std::function<void(const detectors::Decision&, const detectors::KeyAssessment&)> listener_;
};

/// OpenAI's reset format: "1s", "6m0s", "20ms".
std::string format_reset(double seconds);

}  // namespace dg::gateway
