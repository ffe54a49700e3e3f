#include "config/detection_config.hpp"

#include "config/config.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

#include "detectors/prompt_analyzer.hpp"

namespace dg::config {

using detectors::DetectorCommon;
using detectors::EngineConfig;

double parse_duration_seconds(const std::string& text) {
  if (text.empty()) return -1;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v) || v < 0) return -1;
  const std::string unit(end);
  if (unit.empty() || unit == "s") return v;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  if (unit == "d") return v * 86400;
  return -1;
}

namespace {

/// Typed reads with range checks that point at the offending value.
class Reader {
 public:
  explicit Reader(YamlSection& s) : s_(s) {}

  double number(std::string_view key, double fallback, double min, double max) {
    if (!s_.has(key)) return fallback;
    const double v = s_.get<double>(key, fallback);
    if (!(v >= min && v <= max)) {
      out_of_range(key, min, max);
      return fallback;
    }
    return v;
  }

  template <class T>
  T whole(std::string_view key, T fallback, T min, T max) {
    if (!s_.has(key)) return fallback;
    const auto v = s_.get<long long>(key, static_cast<long long>(fallback));
    if (v < static_cast<long long>(min) || static_cast<unsigned long long>(v) > static_cast<unsigned long long>(max)) {
      out_of_range(key, double(min), double(max));
      return fallback;
    }
    return static_cast<T>(v);
  }

  bool flag(std::string_view key, bool fallback) { return s_.get<bool>(key, fallback); }

  double duration(std::string_view key, double fallback, double min_s) {
    auto n = s_.raw(key);
    if (!n) return fallback;
    const double v = n->IsScalar() ? parse_duration_seconds(n->Scalar()) : -1;
    if (v < 0) {
      s_.error(*n, "'" + s_.qualified(key) + "' must be a duration like 30s, 5m, 1h or 3d, got '" +
                       (n->IsScalar() ? n->Scalar() : std::string("a non-scalar")) + "'");
      return fallback;
    }
    if (v < min_s) {
      s_.error(*n, "'" + s_.qualified(key) + "' must be at least " + std::to_string(int(min_s)) + "s");
      return fallback;
    }
    return v;
  }

  /// A low/high pair: both in range and low < high.
  void pair(std::string_view low_key, std::string_view high_key, double& low, double& high, double min, double max) {
    low = number(low_key, low, min, max);
    high = number(high_key, high, min, max);
    if (!(low < high)) {
      const auto at = s_.node()[std::string(s_.has(high_key) ? high_key : low_key)];
      s_.error(at, "'" + s_.qualified(low_key) + "' must be less than '" + s_.qualified(high_key) + "'");
    }
  }

 private:
  /// Records the error; the caller goes on with its default.
  void out_of_range(std::string_view key, double min, double max) {
    std::string range = "between " + trim(min) + " and " + trim(max);
    if (max >= std::numeric_limits<double>::max() / 2 || max >= 1e15) range = "at least " + trim(min);
    s_.error(s_.node()[std::string(key)], "'" + s_.qualified(key) + "' must be " + range);
  }
  static std::string trim(double v) {
    std::string s = std::to_string(v);
    if (s.find('.') != std::string::npos) {
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
    }
    return s;
  }
  YamlSection& s_;
};

constexpr double kBig = 1e18;

void read_common(YamlSection& s, Reader& r, DetectorCommon& c, bool has_window = true) {
  c.enabled = r.flag("enabled", c.enabled);
  if (has_window) c.window_s = r.duration("window", c.window_s, 1);
  c.min_requests = r.whole<std::uint32_t>("min_requests", c.min_requests, 1, 1000000000U);
  c.threshold = r.number("threshold", c.threshold, 0.01, 1);
  c.weight = r.number("weight", c.weight, 0, 1);
  c.corroborates = r.flag("corroborates", c.corroborates);
  c.standalone = r.flag("standalone", c.standalone);
  (void)s;
}

void read_detectors(YamlSection& d, EngineConfig& cfg) {
  if (auto s = d.child("reasoning_elicitation")) {
    Reader r(*s);
    auto& c = cfg.reasoning_elicitation;
    read_common(*s, r, c.common);
    r.pair("answer_share_low", "answer_share_high", c.answer_share_low, c.answer_share_high, 0, 1);
    r.pair("step_share_low", "step_share_high", c.step_share_low, c.step_share_high, 0, 1);
    c.step_max_score = r.number("step_max_score", c.step_max_score, 0, 1);
    c.cot_max_score = r.number("cot_max_score", c.cot_max_score, 0, 1);
    s->finish();
  }
  if (auto s = d.child("logprob_harvesting")) {
    Reader r(*s);
    auto& c = cfg.logprob_harvesting;
    read_common(*s, r, c.common);
    c.top_logprobs_max = r.whole<std::uint32_t>("top_logprobs_max", c.top_logprobs_max, 1, 1000);
    c.completions_logprobs_max = r.whole<std::uint32_t>("completions_logprobs_max", c.completions_logprobs_max, 1, 1000);
    c.short_max_tokens = r.whole<std::int64_t>("short_max_tokens", c.short_max_tokens, 1, 1000000);
    r.pair("harvest_share_low", "harvest_share_high", c.harvest_share_low, c.harvest_share_high, 0, 1);
    c.harvest_max_score = r.number("harvest_max_score", c.harvest_max_score, 0, 1);
    r.pair("bias_sets_low", "bias_sets_high", c.bias_sets_low, c.bias_sets_high, 0, kBig);
    c.temp0_discount = r.number("temp0_discount", c.temp0_discount, 0, 1);
    c.breadth_max_score = r.number("breadth_max_score", c.breadth_max_score, 0, 1);
    s->finish();
  }
  if (auto s = d.child("generation_heavy")) {
    Reader r(*s);
    auto& c = cfg.generation_heavy;
    read_common(*s, r, c.common);
    r.pair("ratio_low", "ratio_high", c.ratio_low, c.ratio_high, 0, kBig);
    r.pair("single_shot_low", "single_shot_high", c.single_shot_low, c.single_shot_high, 0, 1);
    c.large_max_tokens = r.whole<std::int64_t>("large_max_tokens", c.large_max_tokens, 1, 100000000);
    c.large_max_weight = r.number("large_max_weight", c.large_max_weight, 0, 1);
    c.multi_sample_weight = r.number("multi_sample_weight", c.multi_sample_weight, 0, 1);
    c.scoring_discount = r.number("scoring_discount", c.scoring_discount, 0, 1);
    s->finish();
  }
  if (auto s = d.child("coverage")) {
    Reader r(*s);
    auto& c = cfg.coverage;
    read_common(*s, r, c.common);
    r.pair("distinct_ratio_low", "distinct_ratio_high", c.distinct_ratio_low, c.distinct_ratio_high, 0, 1);
    c.min_distinct = r.number("min_distinct", c.min_distinct, 0, kBig);
    c.min_history_periods = r.whole<std::uint32_t>("min_history_periods", c.min_history_periods, 1, 65535);
    c.history_alpha = r.number("history_alpha", c.history_alpha, 0.0001, 1);
    c.history_floor = r.number("history_floor", c.history_floor, 0, 1);
    c.long_output_tokens = r.number("long_output_tokens", c.long_output_tokens, 0, kBig);
    s->finish();
  }
  if (auto s = d.child("volume")) {
    Reader r(*s);
    auto& c = cfg.volume;
    read_common(*s, r, c.common);
    r.pair("ratio_low", "ratio_high", c.ratio_low, c.ratio_high, 0, kBig);
    c.min_output_tokens = r.number("min_output_tokens", c.min_output_tokens, 0, kBig);
    c.key_alpha = r.number("key_alpha", c.key_alpha, 0.0001, 1);
    c.min_history_periods = r.whole<std::uint32_t>("min_history_periods", c.min_history_periods, 1, 65535);
    c.tenant_alpha = r.number("tenant_alpha", c.tenant_alpha, 0.0001, 1);
    s->finish();
  }
  if (auto s = d.child("machine_cadence")) {
    Reader r(*s);
    auto& c = cfg.machine_cadence;
    read_common(*s, r, c.common, false);
    c.common.window_s = r.duration("hour_histogram_half_life", c.common.window_s, 3600);
    c.gap_alpha = r.number("gap_alpha", c.gap_alpha, 0.0001, 1);
    r.pair("cv_regular", "cv_irregular", c.cv_regular, c.cv_irregular, 0, kBig);
    c.min_span_s = r.duration("min_span", c.min_span_s, 0);
    r.pair("hour_cv_flat", "hour_cv_daily", c.hour_cv_flat, c.hour_cv_daily, 0, kBig);
    c.min_active_hours = r.whole<std::uint32_t>("min_active_hours", c.min_active_hours, 1, 24);
    c.flat_weight = r.number("flat_weight", c.flat_weight, 0, 1);
    s->finish();
  }
  if (auto s = d.child("frame_substream")) {
    Reader r(*s);
    auto& c = cfg.frame_substream;
    read_common(*s, r, c.common, false);
    c.common.window_s = r.duration("weight_half_life", c.common.window_s, 60);
    r.pair("stated_share_low", "stated_share_high", c.stated_share_low, c.stated_share_high, 0, 1);
    r.pair("distinct_ratio_low", "distinct_ratio_high", c.distinct_ratio_low, c.distinct_ratio_high, 0, 1);
    c.min_prompt_chars = r.whole<std::uint32_t>("min_prompt_chars", c.min_prompt_chars, 0, 1000000U);
    s->finish();
  }
  d.finish();
}

void read_lexicon(YamlSection& s, EngineConfig& cfg) {
  const bool replace = s.get<bool>("replace_defaults", false);
  auto merge = [&](std::string_view key, std::vector<std::string>& into) {
    auto n = s.raw(key);
    if (!n) {
      if (replace) into.clear();
      return;
    }
    if (!n->IsSequence()) s.fail(*n, "'" + s.qualified(key) + "' must be a list of phrases");
    if (replace) into.clear();
    for (const auto& item : *n) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        s.error(item, "'" + s.qualified(key) + "' entries must be non-empty strings");
        continue;
      }
      into.push_back(item.Scalar());
    }
  };
  merge("step_by_step", cfg.lexicon.step_by_step);
  merge("answer_reasoning", cfg.lexicon.answer_reasoning);
  merge("cot_harvest", cfg.lexicon.cot_harvest);
  merge("given_answer", cfg.lexicon.given_answer);
  merge("explain", cfg.lexicon.explain);
  merge("answer_labels", cfg.lexicon.answer_labels);
  s.finish();
}

}  // namespace

detectors::EngineConfig parse_detection_config(YamlSection& section) {
  EngineConfig cfg;
  Reader r(section);
  if (auto s = section.child("store")) {
    Reader sr(*s);
    cfg.store.shards = sr.whole<std::size_t>("shards", cfg.store.shards, 1, 4096);
    cfg.store.max_keys = sr.whole<std::size_t>("max_keys", cfg.store.max_keys, 1, 100000000);
    cfg.store.idle_ttl_s = sr.duration("idle_ttl", cfg.store.idle_ttl_s, 1);
    cfg.store.max_tenants = sr.whole<std::size_t>("max_tenants", cfg.store.max_tenants, 1, 65535);
    s->finish();
  }
  cfg.history_half_life_s = r.duration("history_half_life", cfg.history_half_life_s, 60);
  cfg.max_scan_bytes = r.whole<std::size_t>("max_scan_bytes", cfg.max_scan_bytes, 256, 16 * 1024 * 1024);
  cfg.evidence_every_exchange = r.flag("evidence_every_exchange", cfg.evidence_every_exchange);
  if (auto s = section.child("combine")) {
    Reader cr(*s);
    auto& c = cfg.combine;
    c.corroboration_score = cr.number("corroboration_score", c.corroboration_score, 0, 1);
    c.min_corroborating = cr.whole<std::uint32_t>("min_corroborating", c.min_corroborating, 0, 6);
    c.uncorroborated_cap = cr.number("uncorroborated_cap", c.uncorroborated_cap, 0, 1);
    c.require_output_signal = cr.flag("require_output_signal", c.require_output_signal);
    c.risk_threshold = cr.number("risk_threshold", c.risk_threshold, 0.01, 1);
    c.external_weight = cr.number("external_weight", c.external_weight, 0, 1);
    c.hysteresis = cr.number("hysteresis", c.hysteresis, 0, 0.9);
    s->finish();
  }
  if (auto d = section.child("detectors")) read_detectors(*d, cfg);
  auto lexicon = section.child("lexicon");
  if (lexicon) read_lexicon(*lexicon, cfg);
  section.close();
  // A configured lexicon must build (the automaton is bounded in states and
  // bytes); the built-in one always does, and building it costs milliseconds.
  if (lexicon && section.ok()) {
    try {
      detectors::PromptAnalyzer probe(cfg.lexicon, cfg.max_scan_bytes);
    } catch (const std::exception& e) {
      section.fail(section.node(), std::string("detection.lexicon: ") + e.what());
    }
  }
  return cfg;
}

detectors::EngineConfig load_detection_config(const Config& cfg) {
  if (!cfg.detection || cfg.detection.IsNull()) return {};
  YamlSection section(cfg.detection, cfg.path, "detection");
  return parse_detection_config(section);
}

}  // namespace dg::config
