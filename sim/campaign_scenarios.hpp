#pragma once
/// Campaign scenarios of the simulator (issue 4): traffic no per-key detector
/// sees, only what keys share.
///
///   hydra             >= 200 keys at <= 30 requests per key per day, sharing 1-3
///                     prompt templates filled with real GSM8K / Alpaca items, spread
///                     over a few /24 networks, launched together, round the clock
///   mixed-extraction  legitimate customers (ShareGPT chat, office hours) with
///                     extraction mixed into 5-25% of their key's traffic
///   key-rotation      a high-volume extractor that switches to a new key when
///                     the old one is stopped, with the same template, /24 and
///                     parameters
///   campaigns         the standard population plus all three
///
/// Options (`dg-simulate --set NAME=VALUE`): hydra_keys (240), hydra_per_day (26),
/// hydra_templates (2), hydra_networks (3), hydras (1), mixed (6), rotation_keys (6),
/// rotation_per_day (1200), rotation_lifetime_h (10).
///
/// Registration: scenario_registry.cpp (owned by the simulator) appends
/// campaign_scenario_entries() to its table — one line:
///   for (auto& e : campaign_scenario_entries()) table.push_back(e);

#include <optional>
#include <string>
#include <vector>

#include "sim/api_format.hpp"

#include "sim/persona.hpp"
#include "sim/scenario.hpp"

namespace dg::sim {

/// Where a campaign's keys send from.
enum class NetworkMode {
  SharedSlash24,  ///< `networks` /24s shared by all keys (the classic hydra)
  OnePerKey,      ///< each key its own /24, used by no other key of the campaign
  Residential,    ///< each key a few residential exits in distinct /24s, one per request
};

struct HydraOptions {
  int keys = 240;
  double per_day = 26;       ///< mean requests per key per day (each key draws 0.7x..1.15x, at most 30)
  double per_day_min = 0;    ///< with per_day_max > 0: each key draws its rate uniformly in [min, max]
  double per_day_max = 0;
  int templates = 2;         ///< 1..3 fixed templates (when frames == 0)
  int networks = 3;          ///< /24 networks the keys come from (SharedSlash24)
  NetworkMode network_mode = NetworkMode::SharedSlash24;
  int frames = 0;            ///< > 0: this many paraphrases of the wrapper instead of fixed templates
  std::string content = "gsm8k_answer+alpaca";  ///< frame families (with frames > 0)
  double launch_spread_s = 1800;  ///< keys start within this long of the launch (days: staggered starts)
  bool per_key_agents = false;    ///< each key a common SDK user agent of its own (else one shared agent)
  bool human_cycle = false;       ///< each key a daily cycle with its own peak hour (else round the clock)
  std::vector<double> format_weights;  ///< per kApiFormats; each key draws one format (empty: chat)
  std::string persona = "campaign/hydra";
  std::string campaign = "hydra-1";
};

/// One persona sending with all the keys of a hydra campaign.
PersonaPtr make_hydra_persona(const DataSet& data, Rng rng, const HydraOptions& options, double start);

/// A legitimate customer's key with extraction mixed in at `extraction_share`
/// (0.05..0.25) of its traffic.
PersonaPtr make_mixed_extraction_persona(const DataSet& data, Rng rng, double extraction_share, double volume_scale);

struct MixedOptions {
  double share = 0.15;           ///< share of the key's requests that extract
  double volume_scale = 1;
  std::optional<ApiFormat> format;  ///< the customer's integration (extraction uses the same); default chat
  int frames = 0;                ///< > 0: the extraction rewords its wrapper (paraphrases)
  std::string content = "gsm8k_answer+alpaca";
  std::string persona = "campaign/mixed_extraction";
};
PersonaPtr make_mixed_extraction_persona(const DataSet& data, Rng rng, const MixedOptions& options);

struct RotationOptions {
  int keys = 6;                 ///< keys used one after the other
  double per_day = 1200;        ///< volume of the active key (a per-key detector blocks it)
  double lifetime_h = 10;       ///< mean hours a key lives before it is stopped (0.5x..1.5x)
  double gap_min_s = 300;       ///< a new key appears this long ...
  double gap_max_s = 3600;      ///< ... to this long after the old one stopped
  std::optional<ApiFormat> format;  ///< default chat
  std::string campaign = "rotation-1";
};

/// One persona that rotates through `options.keys` keys.
PersonaPtr make_rotation_persona(const DataSet& data, Rng rng, const RotationOptions& options, double start);

/// Scenario builders (each adds the standard population first).
void build_hydra_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop);
void build_mixed_extraction_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop);
void build_key_rotation_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop);
void build_campaigns_scenario(const ScenarioOptions& opts, const DataSet& data, Population& pop);

/// The entries for the scenario table (hydra, mixed-extraction, key-rotation, campaigns).
std::vector<ScenarioEntry> campaign_scenario_entries();

/// The `eval` scenario of sim/eval_scenario.cpp (bench/detection_sets.sh).
std::vector<ScenarioEntry> eval_scenario_entries();

}  // namespace dg::sim
