// The table of scenarios: the per-key population and demo here, the
// cross-key campaign scenarios from sim/campaign_scenarios.cpp.
#include "sim/campaign_scenarios.hpp"
#include "sim/personas.hpp"
#include "sim/scenario.hpp"

namespace dg::sim {
namespace {

void build_population(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
}

/// A few minutes of mixed traffic for the live demo: a handful of ordinary
/// keys, one of each look-alike, and one distiller of each type, all at rates
/// that show up within minutes.
void build_demo(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
}

void demo_defaults(ScenarioOptions& o) {
  o.duration_s = 300;
  o.benign = 12;
  o.lookalikes = 1;
  o.distillers = 4;
  o.volume_scale = 60;
}

}  // namespace

const std::vector<ScenarioEntry>& scenarios() {
  static const std::vector<ScenarioEntry> kScenarios = [] {
    std::vector<ScenarioEntry> table = {
      {"population", "benign ServeGen-driven keys, look-alikes of each type and distillers over days",
       build_population, {}},
      {"demo", "a few minutes of mixed traffic (12 benign, 1 look-alike each, 4 distillers) for the live demo",
       build_demo, demo_defaults},
    };
    for (auto& e : campaign_scenario_entries()) table.push_back(e);
    return table;
  }();
  return kScenarios;
}

const ScenarioEntry* find_scenario(const std::string& name) {
  for (const auto& s : scenarios())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace dg::sim
