// The table of scenarios: the per-key population and demo here, the
// cross-key campaign scenarios from sim/campaign_scenarios.cpp.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>

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

/// Runs another persona on a compressed clock: what it would send over
/// `factor` times the scenario's span arrives within the span. A hydra sends
/// at most 30 requests per key per day, so a minutes-long demo shows one only
/// compressed (its keys, templates, networks and launch stay as they are).
class TimeCompressed final : public Persona {
 public:
  TimeCompressed(PersonaPtr inner, double factor) : inner_(std::move(inner)), factor_(std::max(1.0, factor)) {}

  std::vector<std::pair<std::string, KeyLabel>> labels() const override { return inner_->labels(); }

  std::vector<double> schedule(const SimContext& ctx) override {
    start_ = ctx.start;
    const SimContext wide{ctx.data, ctx.start, ctx.start + (ctx.end - ctx.start) * factor_};
    auto times = inner_->schedule(wide);
    for (double& t : times) t = ctx.start + (t - ctx.start) / factor_;
    return times;
  }

  SimRecord render(double ts, const SimContext& ctx) override {
    const SimContext wide{ctx.data, ctx.start, ctx.start + (ctx.end - ctx.start) * factor_};
    SimRecord r = inner_->render(start_ + (ts - start_) * factor_, wide);
    r.ts = ts;
    return r;
  }

 private:
  PersonaPtr inner_;
  double factor_;
  double start_ = 0;
};

/// The demo plus a small hydra campaign (scripts/demo.sh): `hydra_keys` keys
/// (default 12) sharing templates and a few /24 networks, launched together at
/// the start, their day of traffic compressed into the run
/// (`hydra_compress`, default 288: one day into 5 minutes).
void build_demo_campaign(const ScenarioOptions& opts, const DataSet& data, Population& pop) {
  add_standard_population(opts, data, pop);
  HydraOptions h;
  auto number = [&](const char* name, double fallback) {
    auto it = opts.extra.find(name);
    if (it == opts.extra.end()) return fallback;
    std::size_t used = 0;
    const double v = std::stod(it->second, &used);
    if (used != it->second.size()) throw std::invalid_argument(std::string("--set ") + name + ": not a number");
    return v;
  };
  h.keys = static_cast<int>(number("hydra_keys", 12));
  h.per_day = number("hydra_per_day", 26);
  h.networks = static_cast<int>(number("hydra_networks", 2));
  h.templates = static_cast<int>(number("hydra_templates", 1));
  const double compress = number("hydra_compress", 288);
  h.launch_spread_s = 600;  // compressed: the keys start within a few seconds of each other
  h.campaign = "hydra-demo";
  pop.add(std::make_unique<TimeCompressed>(make_hydra_persona(data, pop.next_stream(), h, opts.start), compress));
}

}  // namespace

const std::vector<ScenarioEntry>& scenarios() {
  static const std::vector<ScenarioEntry> kScenarios = [] {
    std::vector<ScenarioEntry> table = {
      {"population", "benign ServeGen-driven keys, look-alikes of each type and distillers over days",
       build_population, {}},
      {"demo", "a few minutes of mixed traffic (12 benign, 1 look-alike each, 4 distillers) for the live demo",
       build_demo, demo_defaults},
      {"demo-campaign", "the demo plus a small hydra campaign (12 keys, one day compressed into the run; "
                        "--set hydra_keys=N, hydra_compress=X)",
       build_demo_campaign, demo_defaults},
    };
    for (auto& e : campaign_scenario_entries()) table.push_back(e);
    for (auto& e : eval_scenario_entries()) table.push_back(e);
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
