#pragma once
/// YAML section `campaigns:` (top level of distillguard.yaml) -> detectors::CampaignConfig.
///
///   campaigns:
///     enabled: true
///     max_keys: 200000          # keys tracked at most (sampled-LRU eviction at the cap, counted)
///     min_campaign_keys: 8      # smallest campaign
///     ipv4_prefix: 24           # client network of an IPv4 address
///     ipv6_prefix: 48           # 48 or 64 are usual (at most 64)
///     cluster_interval_s: 300   # replay: cluster every N simulated seconds
///     live_cluster_interval_s: 5  # live proxy: cluster every N wall-clock seconds
///     ...                       # every field of detectors::CampaignConfig, same name
///
/// Absent keys keep the documented defaults; unknown keys and out-of-range
/// values are ConfigError with file:line:column. With the policy inline in the
/// main config, the section reloads with it (CampaignRuntime::reload_hook);
/// CampaignLinker::kRestartOnlyFields keep their start-up values.

#include "config/yaml_reader.hpp"
#include "detectors/campaign_config.hpp"

namespace dg::config {

/// Reads every field of the section (then calls section.close(): throws every error).
detectors::CampaignConfig parse_campaign_config(YamlSection& section);

struct Config;
/// The `campaigns:` section of a loaded config file (defaults when absent).
/// Throws ConfigError (`file:line:column: reason`).
detectors::CampaignConfig load_campaign_config(const Config& cfg);

}  // namespace dg::config
