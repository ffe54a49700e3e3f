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

#include <string>
#include <vector>

#include "sim/persona.hpp"
#include "sim/scenario.hpp"

namespace dg::sim {

struct HydraOptions {
  int keys = 240;
  double per_day = 26;       ///< mean requests per key per day (each key draws 0.7x..1.15x, at most 30)
  int templates = 2;         ///< 1..3
  int networks = 3;          ///< /24 networks the keys come from
  double launch_spread_s = 1800;  ///< keys start within this long of the launch
  std::string campaign = "hydra-1";
};

/// One persona sending with all the keys of a hydra campaign.
PersonaPtr make_hydra_persona(const DataSet& data, Rng rng, const HydraOptions& options, double start);

/// A legitimate customer's key with extraction mixed in at `extraction_share`
/// (0.05..0.25) of its traffic.
PersonaPtr make_mixed_extraction_persona(const DataSet& data, Rng rng, double extraction_share, double volume_scale);

struct RotationOptions {
  int keys = 6;                 ///< keys used one after the other
  double per_day = 1200;        ///< volume of the active key (a per-key detector blocks it)
  double lifetime_h = 10;       ///< mean hours a key lives before it is stopped (0.5x..1.5x)
  double gap_min_s = 300;       ///< a new key appears this long ...
  double gap_max_s = 3600;      ///< ... to this long after the old one stopped
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

}  // namespace dg::sim
