#pragma once
/// Scenarios: named recipes that build a population of personas, and the
/// generator that merges their traffic into one event-time-ordered file plus
/// a labels file.
///
/// Adding a scenario (e.g. campaigns in sim/campaign_*.cpp): write a function
/// `void build_x(const ScenarioOptions&, const DataSet&, Population&)` that
/// adds personas (it may call add_standard_population first), and list it in
/// the table in sim/scenario_registry.cpp. Static self-registration is avoided
/// on purpose: objects of a static library that nobody references are dropped
/// by the linker.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "sim/persona.hpp"

namespace dg::sim {

struct ScenarioOptions {
  std::uint64_t seed = 1;
  double days = 7;
  std::optional<double> duration_s;    ///< overrides days when set
  int benign = 300;
  int lookalikes = 3;                  ///< per look-alike type
  int distillers = 32;                 ///< spread over the distiller types
  double start = 1763596800;           ///< 2025-11-20 00:00:00 UTC
  double volume_scale = 1;             ///< multiplies every persona's daily volume
  std::map<std::string, std::string> extra;  ///< scenario-specific --set NAME=VALUE options

  double end() const { return start + (duration_s ? *duration_s : days * 86400); }
};

/// The personas of one run. Each persona gets its own random stream derived
/// from the seed and its position, so adding personas at the end never
/// changes the traffic of earlier ones.
class Population {
 public:
  explicit Population(std::uint64_t seed) : root_(seed) {}

  /// The random stream for the next persona (call once per persona).
  Rng next_stream() { return root_.fork(next_index_++); }
  void add(PersonaPtr p) { personas_.push_back(std::move(p)); }

  /// Addresses shared by several benign keys (a corporate NAT).
  std::vector<std::string> shared_nat;

  std::vector<PersonaPtr>& personas() { return personas_; }

 private:
  Rng root_;
  std::uint64_t next_index_ = 0;
  std::vector<PersonaPtr> personas_;
};

/// Adds `opts.benign` benign keys, `opts.lookalikes` of each look-alike type and
/// `opts.distillers` distillers (round-robin over the distiller types).
void add_standard_population(const ScenarioOptions& opts, const DataSet& data, Population& pop);

using ScenarioBuilder = std::function<void(const ScenarioOptions&, const DataSet&, Population&)>;

struct ScenarioEntry {
  std::string name;
  std::string description;
  ScenarioBuilder build;
  /// Adjusts defaults before the command line is applied (e.g. demo: minutes, not days).
  std::function<void(ScenarioOptions&)> defaults;
};

/// Every scenario this build knows (sim/scenario_registry.cpp).
const std::vector<ScenarioEntry>& scenarios();
const ScenarioEntry* find_scenario(const std::string& name);

struct GenerateStats {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t keys = 0;
  std::map<std::string, std::uint64_t> records_by_class;
};

/// Runs the population from opts.start to opts.end(): writes the traffic
/// (JSON Lines, non-decreasing ts) to `traffic` and the labels (JSON object
/// keyed by API key) to `labels`.
GenerateStats generate(const ScenarioOptions& opts, const DataSet& data, Population& pop, std::ostream& traffic,
                       std::ostream& labels);

/// Builds the named scenario and generates it. Throws std::invalid_argument
/// for an unknown scenario.
GenerateStats generate_scenario(const std::string& name, const ScenarioOptions& opts, const DataSet& data,
                                std::ostream& traffic, std::ostream& labels);

}  // namespace dg::sim
