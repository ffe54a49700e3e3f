#pragma once
/// Configuration of the cross-key campaign linker (CampaignLinker).
/// Every field has a documented default that works for a single gateway;
/// YAML section `campaigns:` (see config/campaign_config.hpp) overrides them.
/// Hot reload: CampaignLinker::reconfigure applies every field live except
/// CampaignLinker::kRestartOnlyFields.

#include <cstddef>
#include <cstdint>

namespace dg::detectors {

struct CampaignConfig {
  bool enabled = true;

  // --- bounded state ---------------------------------------------------------
  /// Keys tracked at most (all shards together). At the cap a new key evicts
  /// the least recently seen of a small sample of keys (counted).
  std::size_t max_keys = 200'000;
  /// Lock shards of the key store (the hot path locks one shard briefly).
  std::size_t shards = 16;
  /// Campaigns published at most; the lowest-scored beyond it are dropped (counted).
  std::size_t max_campaigns = 1'000;
  /// Actioned (throttled/blocked) key fingerprints remembered for rotation matching.
  std::size_t max_actioned = 10'000;
  /// A key idle for longer than this is evicted by cluster() (counted).
  double key_idle_ttl_s = 3 * 86'400.0;

  // --- sketches --------------------------------------------------------------
  /// Width of one activity bucket; each key keeps a 64-bucket activity bitmap.
  double bucket_seconds = 3'600.0;
  /// Prompts whose normalized last user turn is shorter than this carry no
  /// template evidence ("hello" must not link thousands of keys).
  std::uint32_t min_template_chars = 32;
  /// Two template signatures (64-bit SimHash) at most this many bits apart are
  /// the same template with different filled-in slots. LSH uses 4 bands of 16
  /// bits, so every pair within 3 bits is guaranteed to be a candidate.
  int template_max_hamming = 3;

  // --- clustering ------------------------------------------------------------
  /// Replay drives cluster() from event time every this many simulated seconds
  /// (maybe_cluster); live runs it on a timer with the arrival time.
  double cluster_interval_s = 300.0;
  /// Live proxy: wall-clock seconds between cluster() runs of the timer
  /// (CampaignRuntime). Separate from cluster_interval_s so that live findings
  /// arrive within seconds while replay keeps its event-time cadence.
  double live_cluster_interval_s = 5.0;
  /// Only keys seen within this window and with at least min_key_requests
  /// requests take part in clustering.
  double window_s = 2 * 86'400.0;
  std::uint32_t min_key_requests = 3;
  /// A component of linked keys becomes a campaign at this size.
  std::size_t min_campaign_keys = 8;
  /// IPv4 prefix length that forms one client network.
  int ipv4_prefix = 24;
  /// IPv6 prefix length (48 or 64 are usual).
  int ipv6_prefix = 48;
  /// Timing corroboration: Jaccard of the activity bitmaps at least this, with
  /// at least timing_min_buckets active buckets on each key.
  /// Keys start together when their first requests are at most
  /// timing_sync_window_s apart (leader grouping, no chaining) and their
  /// activity bitmaps have Jaccard >= timing_min_jaccard with at least
  /// timing_min_buckets active buckets each. Keys first seen within
  /// timing_warmup_s of the linker's first event, or within
  /// timing_start_interarrivals of their own mean inter-arrival times of it,
  /// have an unknown start (they were probably running before the replay or
  /// the process started) and get no timing evidence.
  double timing_sync_window_s = 1'800.0;
  double timing_warmup_s = 3 * 3'600.0;
  double timing_start_interarrivals = 8.0;
  double timing_min_jaccard = 0.6;
  int timing_min_buckets = 8;
  /// A shared network corroborates a family only when the family's keys are
  /// at least this share of all keys seen from that network: a corporate NAT
  /// or cloud range hosting many unrelated keys is not shared infrastructure.
  double network_min_family_share = 0.5;
  /// A template family is generic when its keys come from at least this many
  /// networks and distinct networks / keys is at least generic_network_spread;
  /// a generic family links keys only through synchronized timing, never
  /// through a shared network (NAT, popular tool templates).
  std::size_t generic_min_networks = 20;
  double generic_network_spread = 0.15;
  /// Parameter vectors link keys only when they are distillation-shaped
  /// (logprobs, top_logprobs, n > 1, logit_bias) and held by at most this share
  /// of all keys; default SDK parameters never link.
  double params_max_population_share = 0.02;
  /// A key whose source networks keep changing (API router, mobile clients)
  /// gets no network evidence.
  double router_min_network_misses = 0.5;

  /// Harvesting shape, for families without shared infrastructure or
  /// timing (one network per key): an app's users converse, and a rewriting
  /// or translation app answers about as long as it is asked; a campaign
  /// sends single-shot prompts for answers several times their length. A
  /// family is corroborated by that shape when, of its keys with at least
  /// harvest_min_key_requests requests, at least harvest_min_keys are
  /// single-shot only (no earlier assistant or tool turn in any request),
  /// they are at least harvest_single_shot_share of them, and their median
  /// output/input token ratio is at least harvest_min_elaboration. Such a
  /// link is behaviour, not infrastructure: a campaign corroborated by it
  /// alone scores at most harvest_max_score (below a blocking rule's
  /// threshold; the example policy throttles it only with a high risk).
  std::uint32_t harvest_min_key_requests = 10;
  std::size_t harvest_min_keys = 8;
  double harvest_single_shot_share = 0.9;
  double harvest_min_elaboration = 3.0;
  double harvest_max_score = 0.7;

  // --- scoring and publication -------------------------------------------------
  /// Score of a campaign at min_campaign_keys with the minimum corroboration.
  double base_score = 0.6;
  /// Campaign findings stay valid this long after the cluster() that produced
  /// them (the engine adapter uses it as `until`).
  double finding_ttl_s = 1'800.0;

  // --- key rotation ------------------------------------------------------------
  /// A new key matching an actioned key's template, network and parameters
  /// inherits suspicion if it first appeared at most this long after the action.
  double rotation_window_s = 7 * 86'400.0;
  /// ... or at most this long before it (a key created just before the block).
  double rotation_slack_s = 3'600.0;
  /// Score given to a key linked to an actioned key.
  double rotation_score = 0.85;
  /// The rotation check runs on these request counts of a new key (hot path:
  /// a handful of cheap lookups in a key's first 50 requests).
  std::uint32_t rotation_min_requests = 3;
  std::uint32_t rotation_max_requests = 50;
  /// Succession of flagged keys: a key under only a shadow decision that goes
  /// silent, followed (after the linker's warm-up, so a real start) by a new
  /// key with its template, network and parameters, starts a chain; the key
  /// that makes a chain this long gets rotation_chain_score. A shadow
  /// decision is invisible to the client, so a succession is also what an
  /// honest customer rotating keys on a schedule produces (the simulator's
  /// lookalike/key_rotation): the score stays below the example policy's
  /// campaign thresholds (0.6 throttle, 0.75 block) — shadowed and alerted,
  /// not enforced; a rotation after an *enforcing* decision is rotation_score.
  /// A cluster whose keys were never min_campaign_keys live at once is a
  /// succession too and scores at most this.
  std::uint32_t rotation_chain_keys = 3;
  double rotation_chain_score = 0.5;

  friend bool operator==(const CampaignConfig&, const CampaignConfig&) = default;
};

}  // namespace dg::detectors
