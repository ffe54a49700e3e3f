#include "config/campaign_config.hpp"

#include "config/config.hpp"

#include <sstream>

namespace dg::config {
namespace {

/// The value node of `key` (for error positions), or the section node.
YAML::Node value_node(const YamlSection& s, std::string_view key) {
  for (const auto& kv : s.node())
    if (kv.first.Scalar() == key) return kv.second;
  return s.node();
}

template <class T>
T ranged(YamlSection& s, std::string_view key, T fallback, T lo, T hi) {
  T v = s.get<T>(key, fallback);
  if (v < lo || v > hi) {
    std::ostringstream msg;
    msg << "'" << s.qualified(key) << "' must be between " << lo << " and " << hi << ", got " << v;
    s.error(value_node(s, key), msg.str());
    return fallback;
  }
  return v;
}

}  // namespace

detectors::CampaignConfig parse_campaign_config(YamlSection& s) {
  detectors::CampaignConfig c;
  constexpr double kDay = 86'400.0;
  c.enabled = s.get<bool>("enabled", c.enabled);
  c.max_keys = ranged<std::size_t>(s, "max_keys", c.max_keys, 1, 100'000'000);
  c.shards = ranged<std::size_t>(s, "shards", c.shards, 1, 1024);
  c.max_campaigns = ranged<std::size_t>(s, "max_campaigns", c.max_campaigns, 1, 1'000'000);
  c.max_actioned = ranged<std::size_t>(s, "max_actioned", c.max_actioned, 1, 10'000'000);
  c.key_idle_ttl_s = ranged(s, "key_idle_ttl_s", c.key_idle_ttl_s, 60.0, 365 * kDay);
  c.bucket_seconds = ranged(s, "bucket_seconds", c.bucket_seconds, 60.0, kDay);
  c.min_template_chars = ranged<std::uint32_t>(s, "min_template_chars", c.min_template_chars, 0, 100'000);
  c.template_max_hamming = ranged(s, "template_max_hamming", c.template_max_hamming, 0, 3);
  c.cluster_interval_s = ranged(s, "cluster_interval_s", c.cluster_interval_s, 1.0, kDay);
  c.live_cluster_interval_s = ranged(s, "live_cluster_interval_s", c.live_cluster_interval_s, 0.1, 3'600.0);
  c.window_s = ranged(s, "window_s", c.window_s, 60.0, 365 * kDay);
  c.min_key_requests = ranged<std::uint32_t>(s, "min_key_requests", c.min_key_requests, 1, 1'000'000);
  c.min_campaign_keys = ranged<std::size_t>(s, "min_campaign_keys", c.min_campaign_keys, 2, 1'000'000);
  c.ipv4_prefix = ranged(s, "ipv4_prefix", c.ipv4_prefix, 8, 32);
  c.ipv6_prefix = ranged(s, "ipv6_prefix", c.ipv6_prefix, 16, 64);
  c.timing_sync_window_s = ranged(s, "timing_sync_window_s", c.timing_sync_window_s, 0.0, kDay);
  c.timing_warmup_s = ranged(s, "timing_warmup_s", c.timing_warmup_s, 0.0, 30 * kDay);
  c.timing_start_interarrivals = ranged(s, "timing_start_interarrivals", c.timing_start_interarrivals, 0.0, 1000.0);
  c.timing_min_jaccard = ranged(s, "timing_min_jaccard", c.timing_min_jaccard, 0.0, 1.0);
  c.timing_min_buckets = ranged(s, "timing_min_buckets", c.timing_min_buckets, 1, 64);
  c.network_min_family_share = ranged(s, "network_min_family_share", c.network_min_family_share, 0.0, 1.0);
  c.generic_min_networks = ranged<std::size_t>(s, "generic_min_networks", c.generic_min_networks, 2, 100'000'000);
  c.generic_network_spread = ranged(s, "generic_network_spread", c.generic_network_spread, 0.0, 1.0);
  c.params_max_population_share = ranged(s, "params_max_population_share", c.params_max_population_share, 0.0, 1.0);
  c.router_min_network_misses = ranged(s, "router_min_network_misses", c.router_min_network_misses, 0.0, 1.0);
  c.harvest_min_key_requests =
      ranged<std::uint32_t>(s, "harvest_min_key_requests", c.harvest_min_key_requests, 1, 1'000'000);
  c.harvest_min_keys = ranged<std::size_t>(s, "harvest_min_keys", c.harvest_min_keys, 2, 100'000'000);
  c.harvest_single_shot_share = ranged(s, "harvest_single_shot_share", c.harvest_single_shot_share, 0.0, 1.0);
  c.harvest_min_elaboration = ranged(s, "harvest_min_elaboration", c.harvest_min_elaboration, 0.0, 1'000.0);
  c.harvest_max_score = ranged(s, "harvest_max_score", c.harvest_max_score, 0.0, 1.0);
  c.base_score = ranged(s, "base_score", c.base_score, 0.0, 1.0);
  c.finding_ttl_s = ranged(s, "finding_ttl_s", c.finding_ttl_s, 1.0, 30 * kDay);
  c.rotation_window_s = ranged(s, "rotation_window_s", c.rotation_window_s, 0.0, 365 * kDay);
  c.rotation_slack_s = ranged(s, "rotation_slack_s", c.rotation_slack_s, 0.0, 30 * kDay);
  c.rotation_score = ranged(s, "rotation_score", c.rotation_score, 0.0, 1.0);
  c.rotation_min_requests = ranged<std::uint32_t>(s, "rotation_min_requests", c.rotation_min_requests, 1, 1'000'000);
  c.rotation_max_requests = ranged<std::uint32_t>(s, "rotation_max_requests", c.rotation_max_requests, 1, 1'000'000);
  c.rotation_chain_keys = ranged<std::uint32_t>(s, "rotation_chain_keys", c.rotation_chain_keys, 2, 1'000);
  c.rotation_chain_score = ranged(s, "rotation_chain_score", c.rotation_chain_score, 0.0, 1.0);
  if (c.rotation_max_requests < c.rotation_min_requests)
    s.error(value_node(s, "rotation_max_requests"), "'" + s.qualified("rotation_max_requests") +
                                                       "' must be at least rotation_min_requests");
  s.close();
  return c;
}

detectors::CampaignConfig load_campaign_config(const Config& cfg) {
  if (!cfg.campaigns || cfg.campaigns.IsNull()) return {};
  YamlSection section(cfg.campaigns, cfg.path, "campaigns");
  return parse_campaign_config(section);
}

}  // namespace dg::config
