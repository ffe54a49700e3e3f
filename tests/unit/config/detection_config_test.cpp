#include <catch2/catch.hpp>

#include <functional>

#include "config/detection_config.hpp"

using dg::config::ConfigError;
using dg::config::load_yaml_file;
using dg::config::load_yaml_text;
using dg::config::parse_detection_config;
using dg::config::YamlSection;

namespace {

dg::detectors::EngineConfig parse(const std::string& text) {
  auto root = load_yaml_text(text, "d.yaml");
  YamlSection top(root, "d.yaml");
  auto d = top.child("detection");
  REQUIRE(d);
  return parse_detection_config(*d);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("detection config: defaults when empty", "[detectors][config]") {
  auto cfg = parse("detection: {}\n");
  CHECK(cfg.store.max_keys == 100000);
  CHECK(cfg.reasoning_elicitation.common.window_s == 6 * 3600);
  CHECK_FALSE(cfg.lexicon.step_by_step.empty());
}

TEST_CASE("detection config: values, durations and lexicon merge", "[detectors][config]") {
  auto cfg = parse(
      "detection:\n"
      "  store: {shards: 4, max_keys: 500, idle_ttl: 12h}\n"
      "  history_half_life: 2d\n"
      "  combine: {risk_threshold: 0.9, min_corroborating: 3}\n"
      "  detectors:\n"
      "    reasoning_elicitation: {window: 30m, min_requests: 50, answer_share_low: 0.2, answer_share_high: 0.4}\n"
      "    logprob_harvesting: {standalone: false, top_logprobs_max: 10, breadth_max_score: 0.7}\n"
      "    coverage: {long_output_tokens: 64}\n"
      "    machine_cadence: {hour_histogram_half_life: 7d, enabled: false}\n"
      "    volume: {window: 600}\n"
      "    frame_substream: {min_requests: 30, weight_half_life: 1d, stated_share_low: 0.4, stated_share_high: 0.9}\n"
      "  lexicon:\n"
      "    step_by_step: [\"denk stap voor stap\"]\n"
      "    answer_labels: [\"antwoord\"]\n");
  CHECK(cfg.store.shards == 4);
  CHECK(cfg.store.max_keys == 500);
  CHECK(cfg.store.idle_ttl_s == 12 * 3600);
  CHECK(cfg.history_half_life_s == 2 * 86400);
  CHECK(cfg.combine.risk_threshold == 0.9);
  CHECK(cfg.combine.min_corroborating == 3);
  CHECK(cfg.reasoning_elicitation.common.window_s == 1800);
  CHECK(cfg.reasoning_elicitation.common.min_requests == 50);
  CHECK(cfg.reasoning_elicitation.answer_share_high == 0.4);
  CHECK_FALSE(cfg.logprob_harvesting.common.standalone);
  CHECK(cfg.logprob_harvesting.top_logprobs_max == 10);
  CHECK(cfg.logprob_harvesting.breadth_max_score == 0.7);
  CHECK(cfg.coverage.long_output_tokens == 64);
  CHECK(cfg.machine_cadence.common.window_s == 7 * 86400);
  CHECK_FALSE(cfg.machine_cadence.common.enabled);
  CHECK(cfg.volume.common.window_s == 600);
  CHECK(cfg.frame_substream.common.min_requests == 30);
  CHECK(cfg.frame_substream.common.window_s == 86400);
  CHECK(cfg.frame_substream.stated_share_low == 0.4);
  CHECK(cfg.frame_substream.stated_share_high == 0.9);
  CHECK(cfg.lexicon.step_by_step.back() == "denk stap voor stap");
  CHECK(cfg.lexicon.step_by_step.size() > 10);  // merged with the defaults
  CHECK(cfg.lexicon.answer_labels.back() == "antwoord");
  CHECK(cfg.lexicon.answer_labels.size() > 10);

  auto replaced = parse("detection:\n  lexicon:\n    replace_defaults: true\n    explain: [why]\n");
  CHECK(replaced.lexicon.step_by_step.empty());
  CHECK(replaced.lexicon.explain == std::vector<std::string>{"why"});
}

TEST_CASE("detection config: errors name file:line:column", "[detectors][config]") {
  CHECK(error_of("detection:\n  detectors:\n    coverage:\n      windw: 1h\n") ==
        "d.yaml:4:7: unknown key 'detection.detectors.coverage.windw' (did you mean 'window'?)");
  CHECK(error_of("detection:\n  detectors:\n    nonsense: {}\n") ==
        "d.yaml:3:5: unknown key 'detection.detectors.nonsense'");
  CHECK(error_of("detection:\n  store:\n    idle_ttl: soon\n") ==
        "d.yaml:3:15: 'detection.store.idle_ttl' must be a duration like 30s, 5m, 1h or 3d, got 'soon'");
  CHECK(error_of("detection:\n  detectors:\n    volume: {threshold: 1.5}\n") ==
        "d.yaml:3:25: 'detection.detectors.volume.threshold' must be between 0.01 and 1");
  CHECK(error_of("detection:\n  detectors:\n    generation_heavy:\n      ratio_low: 8\n      ratio_high: 2\n") ==
        "d.yaml:5:19: 'detection.detectors.generation_heavy.ratio_low' must be less than "
        "'detection.detectors.generation_heavy.ratio_high'");
  CHECK(error_of("detection:\n  store: {max_keys: -3}\n") ==
        "d.yaml:2:21: 'detection.store.max_keys' must be between 1 and 100000000");
  CHECK(error_of("detection:\n  store: {shards: many}\n") ==
        "d.yaml:2:19: 'detection.store.shards' must be a whole number, got 'many'");
  CHECK(error_of("detection:\n  lexicon:\n    explain: why\n") ==
        "d.yaml:3:14: 'detection.lexicon.explain' must be a list of phrases");
  CHECK(error_of("detection:\n  lexicon:\n    explain: [\"\"]\n") ==
        "d.yaml:3:15: 'detection.lexicon.explain' entries must be non-empty strings");
  CHECK(error_of("detection:\n  detectors:\n    machine_cadence: {window: 1h}\n") ==
        "d.yaml:3:23: unknown key 'detection.detectors.machine_cadence.window'");
}

TEST_CASE("detection config: the example file parses", "[detectors][config]") {
  const std::string path = std::string(DG_SOURCE_DIR) + "/config/detection.example.yaml";
  auto root = load_yaml_file(path);
  YamlSection top(root, path);
  auto d = top.child("detection");
  REQUIRE(d);
  auto cfg = parse_detection_config(*d);
  top.finish();
  const dg::detectors::EngineConfig defaults;
  // The example documents the defaults: same numbers.
  CHECK(cfg.store.max_keys == defaults.store.max_keys);
  CHECK(cfg.coverage.common.weight == defaults.coverage.common.weight);
  CHECK(cfg.volume.min_output_tokens == defaults.volume.min_output_tokens);
  CHECK(cfg.machine_cadence.hour_cv_daily == defaults.machine_cadence.hour_cv_daily);
  CHECK(cfg.logprob_harvesting.harvest_max_score == defaults.logprob_harvesting.harvest_max_score);
  CHECK(cfg.lexicon.step_by_step.size() == defaults.lexicon.step_by_step.size() + 1);
}
