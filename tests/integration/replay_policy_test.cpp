// Replay applies the same policy and campaign linker as the live proxy and
// writes the decisions it would have taken (traffic-format.md "Replay
// output"): distillers get decisions, benign keys none, and the members of a
// simulated hydra campaign are decided with their campaign id.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/replay/replay_runner.hpp"
#include "sim/data_set.hpp"
#include "sim/scenario.hpp"
#include "tests/shared_data_dir.hpp"

namespace json = boost::json;

namespace {

struct Simulated {
  std::filesystem::path dir;
  std::string traffic;
  std::map<std::string, json::object> labels;  // fingerprint -> label
};

Simulated simulate(const std::string& scenario, dg::sim::ScenarioOptions o, const std::string& name) {
  static const auto data = dg::sim::DataSet::load_or_builtin(dg::test::shared_data_dir());
  Simulated s;
  s.dir = std::filesystem::temp_directory_path() / ("dg-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(s.dir);
  s.traffic = (s.dir / "traffic.jsonl").string();
  std::ofstream t(s.traffic, std::ios::binary);
  std::ostringstream l;
  dg::sim::generate_scenario(scenario, o, *data, t, l);
  const json::value labels = json::parse(l.str());
  for (const auto& [key, label] : labels.as_object())
    s.labels[dg::gateway::key_fingerprint(key)] = label.as_object();
  return s;
}

/// The decision lines of a replay output, by key (in order).
std::map<std::string, std::vector<json::object>> decisions_by_key(const std::string& output) {
  std::map<std::string, std::vector<json::object>> out;
  std::istringstream in(output);
  std::string line;
  double last = 0;
  while (std::getline(in, line)) {
    auto v = json::parse(line).as_object();
    CHECK(v.at("ts").to_number<double>() >= last);
    last = v.at("ts").to_number<double>();
    if (v.at("event") != "decision") continue;
    CHECK(v.at("request_index").to_number<std::uint64_t>() >= 1);
    CHECK(v.contains("risk"));
    CHECK(v.contains("origin"));
    CHECK(v.at("detectors").is_object());
    CHECK(v.at("evidence").is_array());
    out[std::string(v.at("key").as_string())].push_back(std::move(v));
  }
  return out;
}

}  // namespace

TEST_CASE("replay takes the policy's decisions: distillers are actioned, benign keys are not",
          "[integration][replay][policy]") {
  dg::sim::ScenarioOptions o;
  o.seed = 101;
  o.days = 2;
  o.benign = 30;
  o.lookalikes = 1;
  o.distillers = 8;
  auto sim = simulate("population", o, "replay-policy");
  const auto config = (sim.dir / "policy.yaml").string();
  std::ofstream(config) << "policy:\n"
                        << "  rules:\n"
                        << "    - {name: watch, when: {risk: 0.7}, action: throttle, shadow: true}\n"
                        << "    - {name: throttle-distillers, when: {risk: 0.8}, action: throttle}\n"
                        << "    - {name: block-distillers, when: {risk: 0.95}, action: block}\n";
  std::ostringstream output, errors;
  dg::gateway::ReplayRunner runner(config, &output);
  REQUIRE(runner.replay_files({sim.traffic}, errors));
  REQUIRE(errors.str().empty());
  const auto decided = decisions_by_key(output.str());
  CHECK(runner.stats().decisions > 0);

  std::size_t distillers = 0, distillers_actioned = 0;
  for (const auto& row : runner.summaries()) {
    const auto& label = sim.labels.at(row.key_fp);
    const std::string cls(label.at("class").as_string());
    INFO(label.at("persona").as_string() << " " << row.key_fp << " max risk " << row.max_risk << " final "
                                         << row.final_action);
    const auto it = decided.find(row.key_fp);
    if (cls == "distiller") {
      ++distillers;
      if (it == decided.end()) continue;
      bool acting = false;
      for (const auto& d : it->second) acting |= d.at("action") == "throttle" || d.at("action") == "block";
      distillers_actioned += acting;
      // The summary's final action is the last decision's.
      CHECK(row.final_action == std::string(it->second.back().at("action").as_string()));
    } else if (cls == "benign") {
      CHECK(it == decided.end());
      CHECK(row.final_action == "allow");
    }
  }
  CHECK(distillers == 8);
  CHECK(distillers_actioned >= 6);
  std::filesystem::remove_all(sim.dir);
}

TEST_CASE("replay links a simulated hydra and decides its members with the campaign id",
          "[integration][replay][policy][campaign]") {
  dg::sim::ScenarioOptions o;
  o.seed = 7;
  o.duration_s = 30 * 3600.0;
  o.benign = 30;
  o.lookalikes = 1;
  o.distillers = 0;
  o.extra["hydra_keys"] = "40";
  auto sim = simulate("hydra", o, "replay-hydra");
  const auto config = (sim.dir / "policy.yaml").string();
  std::ofstream(config) << "campaigns: {cluster_interval_s: 600}\n"
                        << "policy:\n"
                        << "  rules:\n"
                        << "    - {name: block-campaign-members, when: {campaign: true}, action: block}\n";
  std::ostringstream output, errors;
  dg::gateway::ReplayRunner runner(config, &output);
  REQUIRE(runner.replay_files({sim.traffic}, errors));
  REQUIRE(errors.str().empty());
  const auto decided = decisions_by_key(output.str());

  std::size_t hydra = 0, hydra_decided = 0;
  std::set<std::string> campaigns;
  for (const auto& [fp, label] : sim.labels) {
    const std::string persona(label.at("persona").as_string());
    const std::string cls(label.at("class").as_string());
    const auto it = decided.find(fp);
    INFO(persona << " " << fp);
    if (persona == "campaign/hydra") {
      ++hydra;
      if (it == decided.end()) continue;
      const auto& d = it->second.front();
      CHECK(d.at("action") == "block");
      REQUIRE(d.contains("campaign"));
      campaigns.insert(std::string(d.at("campaign").as_string()));
      ++hydra_decided;
    } else if (cls == "benign" || cls == "lookalike") {
      CHECK(it == decided.end());
    }
  }
  CHECK(hydra == 40);
  CHECK(hydra_decided * 100 >= hydra * 90);
  // Campaign ids are per clustering run, so members decided at different runs
  // may name different ids; young members may also be decided through a
  // rotation link ("r-<fp>") to a member blocked before them.
  std::size_t clusters = 0;
  for (const auto& id : campaigns) {
    INFO(id);
    CHECK((id.starts_with("c-") || id.starts_with("r-fp:")));
    clusters += id.starts_with("c-");
  }
  CHECK(clusters >= 1);
  std::filesystem::remove_all(sim.dir);
}

// Honest customers rotating keys on a schedule (each key shadowed in turn,
// which the client never sees) make the same succession as an extractor
// abandoning keys: under the example policy the chain is shadowed and
// alerted, never throttled or blocked (successions score at most
// campaigns.rotation_chain_score, below the policy's campaign thresholds).
TEST_CASE("replay with the example policy never actions honest customers rotating their keys",
          "[integration][replay][policy][rotation]") {
  dg::sim::ScenarioOptions o;
  o.seed = 4242;
  o.days = 5;
  o.benign = 20;
  o.lookalikes = 0;
  o.distillers = 0;
  o.extra["rotating"] = "16";
  o.extra["rotating_days"] = "0.5-1";
  auto sim = simulate("eval", o, "replay-rotating");
  const auto config = (sim.dir / "distillguard.yaml").string();
  std::ofstream(config) << "policy: {file: " << DG_SOURCE_DIR << "/config/policy.example.yaml}\n";
  std::ostringstream output, errors;
  dg::gateway::ReplayRunner runner(config, &output);
  REQUIRE(runner.replay_files({sim.traffic}, errors));
  REQUIRE(errors.str().empty());
  const auto decided = decisions_by_key(output.str());

  std::size_t rotating_keys = 0, shadowed = 0;
  for (const auto& [fp, label] : sim.labels) {
    if (label.at("persona") != "lookalike/key_rotation") continue;
    ++rotating_keys;
    const auto it = decided.find(fp);
    if (it == decided.end()) continue;
    ++shadowed;
    for (const auto& d : it->second) {
      INFO(label.at("group").as_string() << " " << fp << " " << json::serialize(d));
      CHECK(d.at("action") != "throttle");
      CHECK(d.at("action") != "block");
      CHECK(d.at("action") != "degrade");
    }
  }
  CHECK(rotating_keys >= 16 * 4);
  CHECK(shadowed > 0);  // the detectors do see them: the policy is what spares them
  std::filesystem::remove_all(sim.dir);
}
