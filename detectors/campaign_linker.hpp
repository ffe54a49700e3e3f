#pragma once
/// Cross-key campaign detection ("hydra" clusters, shared infrastructure, key
/// rotation). Runs BESIDE the hot path:
///
///   hot path (every worker):  linker.record(exchange);            // O(1): one shard lock, fixed-size sketch update
///   beside it (one thread):   linker.cluster(now);                // live: timer every few s; replay: maybe_cluster(ts)
///   anywhere:                 linker.membership(key_fp);          // O(1) read of the last published result
///   after a policy action:    linker.note_actioned(key_fp, "block", ts);
///   hot reload (any thread):  auto ignored = linker.reconfigure(next);
///
/// Keys are linked only by corroborated evidence: shared content (a template
/// family, a system prompt, or a rare distillation-shaped parameter vector)
/// AND shared infrastructure (a client network) or synchronized timing, or -
/// for keys with neither (one network per key, staggered starts) - a
/// harvesting shape the whole family shares (single-shot prompts only,
/// answers several times their length; CampaignConfig::harvest_*), which
/// scores at most harvest_max_score.
/// Parameter vectors and user agents alone never link keys; they only add
/// evidence. Event time only: nothing here reads a clock. Memory is bounded
/// by CampaignConfig caps; every eviction is counted in CampaignStats.
///
/// Thread-safety: every member function may be called from any thread. The
/// configuration is an immutable snapshot swapped atomically by reconfigure();
/// each call reads it once and works on that one snapshot throughout.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/campaign_config.hpp"
#include "detectors/features.hpp"
#include "detectors/finding.hpp"

namespace dg::detectors {

/// A key's link to a campaign (or to an earlier actioned key, for rotation).
struct CampaignMembership {
  std::string campaign_id;            ///< "c-17", or "r-<old key fp>" for a rotation link
  double score = 0;                   ///< in [0, 1]
  std::vector<std::string> evidence;  ///< words and numbers; fingerprints only, never keys or prompt text
  std::size_t members = 0;            ///< keys in the campaign (2 for a rotation link: old and new key)
};

/// One published campaign (admin API, replay summary).
struct CampaignSummary {
  std::string campaign_id;
  double score = 0;
  std::vector<std::string> evidence;
  std::vector<std::string> member_fps;  ///< sorted
};

struct CampaignStats {
  std::uint64_t exchanges_recorded = 0;
  std::uint64_t keys_tracked = 0;
  std::uint64_t keys_evicted_cap = 0;    ///< evicted by a new key at max_keys
  std::uint64_t keys_evicted_idle = 0;   ///< idle longer than key_idle_ttl_s
  std::uint64_t campaigns = 0;           ///< campaigns in the last published result
  std::uint64_t campaigns_dropped_cap = 0;  ///< components beyond max_campaigns (cumulative)
  std::uint64_t generic_families = 0;    ///< template families treated as generic in the last run
  std::uint64_t actioned_tracked = 0;
  std::uint64_t actioned_evicted = 0;    ///< actioned prints dropped at max_actioned or after rotation_window_s
  std::uint64_t rotation_links = 0;      ///< new keys linked to an actioned key (cumulative)
  std::uint64_t cluster_runs = 0;
};

class CampaignLinker {
 public:
  explicit CampaignLinker(CampaignConfig config = {});
  ~CampaignLinker();
  CampaignLinker(const CampaignLinker&) = delete;
  CampaignLinker& operator=(const CampaignLinker&) = delete;

  /// Hot path: folds one exchange into its key's fixed-size sketch (one shard
  /// lock). For a young key it also checks the actioned-key prints (rotation).
  void record(const Exchange& ex);

  /// Groups keys and publishes campaigns as of event time `now`. Also evicts
  /// idle keys and expired actioned prints. Call from one thread at a time
  /// (concurrent calls are serialized).
  void cluster(double now);

  /// Replay helper: runs cluster(now) when cluster_interval_s of event time
  /// passed since the last run. Returns true when it ran (never when disabled).
  bool maybe_cluster(double now);

  /// O(1): the key's campaign in the last published result, or its rotation
  /// link to an actioned key; nullopt when neither.
  std::optional<CampaignMembership> membership(std::string_view key_fp) const;

  /// Records that a key was throttled/blocked (any action but allow/shadow/lift
  /// counts), with the key's current fingerprint features, for rotation matching.
  void note_actioned(std::string_view key_fp, std::string_view action, double ts);

  /// The campaigns of the last published result, highest score first.
  std::vector<CampaignSummary> campaigns() const;

  /// Every key with a membership (campaign members and rotation links), for
  /// forwarding findings to the engine.
  void for_each_membership(const std::function<void(const std::string& key_fp, const CampaignMembership&)>& fn) const;

  CampaignStats stats() const;
  /// The current configuration snapshot (never null; immutable).
  std::shared_ptr<const CampaignConfig> config() const;
  /// Whether the current configuration is enabled (lock-free; per exchange).
  bool enabled() const noexcept;

  /// Hot reload: swaps in `next` for the following record()/cluster()/
  /// note_actioned() calls (calls already running finish on their snapshot).
  /// Fields that size or key the state built at construction keep their
  /// running values (see kRestartOnlyFields); the names of those that differ
  /// in `next` are returned so the caller can warn. Turning `enabled` off drops
  /// the tracked keys, actioned prints and published campaigns (an exchange
  /// already inside record() may still add its key); turning it on again
  /// starts from empty state.
  std::vector<std::string> reconfigure(CampaignConfig next);

  /// Fields reconfigure() cannot change: max_keys and shards size the key
  /// store; bucket_seconds and the IPv4/IPv6 prefixes define the activity
  /// bitmaps and network ids already stored in every key's sketch.
  static constexpr std::string_view kRestartOnlyFields[] = {"max_keys", "shards", "bucket_seconds", "ipv4_prefix",
                                                            "ipv6_prefix"};

  /// Approximate bytes held per tracked key (sketch + map node), for the memory report.
  static std::size_t approx_bytes_per_key() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::detectors
