#include "detectors/detector_scores.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace dg::detectors {

std::string_view detector_name(DetectorId id) noexcept {
  switch (id) {
    case kReasoningElicitation: return "reasoning_elicitation";
    case kLogprobHarvesting: return "logprob_harvesting";
    case kGenerationHeavy: return "generation_heavy";
    case kCoverage: return "coverage";
    case kVolume: return "volume";
    case kMachineCadence: return "machine_cadence";
    case kFrameSubstream: return "frame_substream";
    case kDetectorCount: break;
  }
  return "unknown";
}

const DetectorCommon& detector_common(const EngineConfig& cfg, DetectorId id) noexcept {
  switch (id) {
    case kReasoningElicitation: return cfg.reasoning_elicitation.common;
    case kLogprobHarvesting: return cfg.logprob_harvesting.common;
    case kGenerationHeavy: return cfg.generation_heavy.common;
    case kCoverage: return cfg.coverage.common;
    case kVolume: return cfg.volume.common;
    case kFrameSubstream: return cfg.frame_substream.common;
    case kMachineCadence:
    case kDetectorCount: break;
  }
  return cfg.machine_cadence.common;
}

std::string format_count(double v) {
  const auto n = static_cast<long long>(std::llround(std::max(0.0, v)));
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t len = digits.size();
  for (std::size_t i = 0; i < len; ++i) {
    out.push_back(digits[i]);
    if ((len - i - 1) % 3 == 0 && i + 1 < len) out.push_back(',');
  }
  return out;
}

std::string format_percent(double share) {
  return std::to_string(static_cast<int>(std::lround(std::clamp(share, 0.0, 1.0) * 100))) + "%";
}

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 86400 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s >= 3600 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s >= 60 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

namespace {

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

/// Counts for a share detector: the window when it has enough requests,
/// otherwise the long decayed history (slow-and-low keys).
struct Basis {
  bool ok = false;
  bool history = false;
  double requests = 0;
  std::string where;  ///< "in the last 6h" / "over the last ~3d (decayed)"
};

template <std::size_t N>
Basis basis(const FreqWindow<N>& w, double window_s, const KeyState& s, const EngineConfig& cfg, double now,
            std::uint32_t min_requests, bool want_text) {
  Basis b;
  b.requests = w.value(0, now, window_s);
  if (b.requests >= min_requests) {
    b.ok = true;
    if (want_text) b.where = "in the last " + format_duration(window_s);
    return b;
  }
  const double hr = s.history.value(kHReq, now, cfg.history_half_life_s);
  if (hr >= min_requests) {
    b.ok = true;
    b.history = true;
    b.requests = hr;
    if (want_text) b.where = "over the last ~" + format_duration(cfg.history_half_life_s * 2) + " (decayed)";
  }
  return b;
}

double share_of(const Basis& b, double window_count, const KeyState& s, Hist h, const EngineConfig& cfg,
                double now) {
  if (!b.ok || b.requests <= 0) return 0;
  const double c = b.history ? s.history.value(h, now, cfg.history_half_life_s) : window_count;
  return std::clamp(c / b.requests, 0.0, 1.0);
}

double reasoning(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.reasoning_elicitation;
  const double W = c.common.window_s;
  const auto w = s.reasoning.weights(now, W);
  const auto b = basis(s.reasoning, W, s, cfg, now, c.common.min_requests, ev != nullptr);
  if (!b.ok) return 0;
  const double stated = share_of(b, s.reasoning.value(3, w), s, kHStates, cfg, now);
  const double answer = share_of(b, s.reasoning.value(2, w), s, kHAnswer, cfg, now);
  const double step = share_of(b, s.reasoning.value(1, w), s, kHStep, cfg, now);
  const double score = std::max({ramp(stated, c.answer_share_low, c.answer_share_high),
                                 c.cot_max_score * ramp(answer, c.answer_share_low, c.answer_share_high),
                                 c.step_max_score * ramp(step, c.step_share_low, c.step_share_high)});
  if (ev && score > 0) {
    std::string e = format_percent(stated) + " of " + format_count(b.requests) + " requests " + b.where +
                    " ask for the reasoning behind a given answer";
    if (answer > stated) e += "; " + format_percent(answer) + " harvest a chain of thought with a checkable answer";
    e += "; " + format_percent(step) + " ask for step-by-step reasoning";
    ev->push_back(std::move(e));
  }
  return score;
}

double logprob(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.logprob_harvesting;
  const double W = c.common.window_s;
  const auto w = s.logprob.weights(now, W);
  const auto b = basis(s.logprob, W, s, cfg, now, c.common.min_requests, ev != nullptr);
  if (!b.ok) return 0;
  const double harvest = share_of(b, s.logprob.value(1, w), s, kHHarvest, cfg, now);
  const double temp0 = share_of(b, s.logprob.value(2, w), s, kHTemp0, cfg, now);
  const double bias_sets = b.history ? 0.0 : s.bias_sets.estimate(w);
  const double bias_requests = b.history ? 0.0 : s.logprob.value(3, w);
  // Breadth of the material (coverage's counts: logprob vectors by template).
  double breadth = 0;
  {
    const auto& cc = cfg.coverage;
    const auto cw = s.coverage.weights(now, cc.common.window_s);
    const double single = s.coverage.value(0, cw);
    const double distinct = std::min(s.contents.estimate(cw), single);
    if (single >= cc.common.min_requests && distinct >= cc.min_distinct)
      breadth = ramp(distinct / single, cc.distinct_ratio_low, cc.distinct_ratio_high);
  }
  const double harvest_score = (c.harvest_max_score + (c.breadth_max_score - c.harvest_max_score) * breadth) *
                               ramp(harvest, c.harvest_share_low, c.harvest_share_high) *
                               (1 - c.temp0_discount * (1 - temp0));
  // Rotation needs the sets to be distinct per request, not one fixed bias
  // re-sent: the distinct count must also be a real share of biased requests.
  const double rotation = bias_requests > 0 && bias_sets / bias_requests >= 0.2
                              ? ramp(bias_sets, c.bias_sets_low, c.bias_sets_high)
                              : 0.0;
  const double score = 1 - (1 - harvest_score) * (1 - rotation);
  if (ev && score > 0) {
    std::string e = format_percent(harvest) + " of " + format_count(b.requests) + " requests " + b.where +
                    " ask for top_logprobs=" + std::to_string(c.top_logprobs_max) + " with max_tokens<=" +
                    std::to_string(c.short_max_tokens) + "; " + format_percent(temp0) + " at temperature 0";
    if (breadth > 0 && harvest > 0) e += "; over broad, unrelated text (breadth " + fixed(breadth, 2) + ")";
    if (bias_requests > 0)
      e += "; ~" + format_count(bias_sets) + " distinct logit_bias token sets in " + format_count(bias_requests) +
           " biased requests";
    ev->push_back(std::move(e));
  }
  return score;
}

double generation(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.generation_heavy;
  const double W = c.common.window_s;
  const auto w = s.generation.weights(now, W);
  const auto b = basis(s.generation, W, s, cfg, now, c.common.min_requests, ev != nullptr);
  if (!b.ok) return 0;
  const double single = share_of(b, s.generation.value(1, w), s, kHSingle, cfg, now);
  const double large = share_of(b, s.generation.value(2, w), s, kHLarge, cfg, now);
  const double multi = share_of(b, s.generation.value(3, w), s, kHMulti, cfg, now);
  const double in = b.history ? s.history.value(kHPromptTok, now, cfg.history_half_life_s) : s.generation.value(4, w);
  const double out = b.history ? s.history.value(kHOutTok, now, cfg.history_half_life_s) : s.generation.value(5, w);
  const double ratio = out / std::max(in, 1.0);
  const double heavy = 1 - (1 - ramp(ratio, c.ratio_low, c.ratio_high)) * (1 - c.large_max_weight * large) *
                               (1 - c.multi_sample_weight * multi);
  const double scoring = share_of(b, s.generation.value(6, w), s, kHScoring, cfg, now);
  const double score =
      ramp(single, c.single_shot_low, c.single_shot_high) * heavy * (1 - c.scoring_discount * scoring);
  if (ev && score > 0) {
    std::string e = "output/input token ratio " + fixed(ratio, 1) + " over " + format_count(b.requests) +
                    " requests " + b.where + "; " + format_percent(single) + " single-shot";
    if (large > 0) e += "; " + format_percent(large) + " with max_tokens>=" + format_count(double(c.large_max_tokens));
    if (multi > 0) e += "; " + format_percent(multi) + " with n>1";
    if (scoring > 0) e += "; " + format_percent(scoring) + " evaluation-shaped (logprobs at temperature 0)";
    ev->push_back(std::move(e));
  }
  return score;
}

double coverage(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.coverage;
  double W = c.common.window_s;
  auto w = s.coverage.weights(now, W);
  double requests = s.coverage.value(0, w);
  double distinct = s.contents.estimate(w);
  double templates = ev ? s.templates.estimate(w) : 0.0;
  std::string where;
  if (requests < c.common.min_requests) {  // slow key: the long window, both periods in full
    W = cfg.history_half_life_s;
    w = s.coverage_long.weights(now, W);
    if (w.prev > 0) w.prev = 1;
    if (w.curr > 0) w.curr = 1;
    requests = s.coverage_long.value(0, w);
    distinct = s.contents_long.estimate(w);
    templates = ev ? s.templates_long.estimate(w) : 0.0;
    if (requests < c.common.min_requests) return 0;
  }
  if (ev) where = W == c.common.window_s ? "in the last " + format_duration(W) : "in the last ~" + format_duration(2 * W);
  distinct = std::min(distinct, requests);
  const double ratio = distinct / std::max(requests, 1.0);
  double score = distinct >= c.min_distinct ? ramp(ratio, c.distinct_ratio_low, c.distinct_ratio_high) : 0.0;
  const bool history = s.coverage_periods >= c.min_history_periods;
  if (history && score > 0) {
    // Two-sided: breadth the key always had counts less than new breadth.
    const double usual = ramp(s.coverage_history, c.distinct_ratio_low, c.distinct_ratio_high);
    score *= std::max(c.history_floor, 1.0 - usual);
  }
  // Evidence only when breadth counts: a narrow key is the normal case and
  // a sentence for it is noise in the findings.
  if (ev && score > 0) {
    templates = std::min(templates, requests);
    std::string e = "~" + format_count(distinct) + " distinct prompts with distillable answers (long answers or "
                    "rationales; logprob vectors by template) in " + format_count(requests) + " single-shot requests " +
                    where + " (" + format_percent(ratio) + "), in ~" + format_count(std::max(1.0, templates)) +
                    (templates < 1.5 ? " template" : " templates");
    if (templates < 0.2 * distinct) e += " (one wrapper walked over varied content)";
    if (history) e += "; usual breadth of this key " + format_percent(s.coverage_history);
    ev->push_back(std::move(e));
  }
  return score;
}

double volume(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.volume;
  const double W = c.common.window_s;
  const auto w = s.volume.weights(now, W);
  const double requests = s.volume.value(0, w);
  const double out = s.volume.value(1, w);
  if (requests < c.common.min_requests || out < c.min_output_tokens) return 0;
  const bool own = s.volume_periods >= c.min_history_periods;
  const double floor = c.min_output_tokens / 4;
  const double base = std::max(own ? double(s.volume_baseline) : double(s.tenant_baseline), floor);
  const double ratio = out / base;
  const double score = ramp(ratio, c.ratio_low, c.ratio_high);
  if (ev && score > 0) {
    ev->push_back(format_count(out) + " output tokens in " + format_count(requests) + " requests in the last " +
                  format_duration(W) + ", " + fixed(ratio, 1) + "x " +
                  (own ? "this key's usual " : "the tenant's typical key (") + format_count(base) +
                  (own ? "" : ")"));
  }
  return score;
}

double cadence(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.machine_cadence;
  if (s.requests < c.common.min_requests) return 0;
  // Regularity only counts while the key is active: a gap far longer than
  // usual means the rhythm is not observed now.
  const double cv = s.gap_mean > 0 ? std::sqrt(std::max(0.0f, s.gap_var)) / s.gap_mean : 1.0;
  const bool active = now - s.last_ts <= std::max(60.0, 10.0 * s.gap_mean);
  const double regular = active && s.gap_mean > 0 ? 1.0 - ramp(cv, c.cv_regular, c.cv_irregular) : 0.0;
  const bool span = s.last_ts - s.first_ts >= c.min_span_s;
  const double flat = span ? s.flat_cache : 0.0;
  const double score = std::max(regular, flat);
  if (ev && score > 0) {
    std::string e;
    if (regular > 0)
      e = "inter-arrival times regular (coefficient of variation " + fixed(cv, 2) + ", mean gap " +
          fixed(s.gap_mean, 1) + " s)";
    if (flat > 0) {
      if (!e.empty()) e += "; ";
      e += "active in " + std::to_string(s.active_hours_cache) + " of 24 hours of the day; hourly volume varies by " +
           format_percent(s.hour_cv_cache) + " (no daily cycle)";
    }
    ev->push_back(std::move(e));
  }
  return score;
}

double frame_substream(const KeyState& s, const EngineConfig& cfg, double now, std::vector<std::string>* ev) {
  const auto& c = cfg.frame_substream;
  // A frame that stopped fades: its decayed weight (requests, halving every
  // window_s) must still hold half the minimum evidence for a full score.
  const double fade = std::exp2(-std::max(0.0, now - s.frames.last_ts) / std::max(1.0, c.common.window_s));
  const double active = std::max(1.0, 0.5 * c.common.min_requests);
  auto score_of = [&](const FrameStreams::Slot& f) {
    if (f.requests < c.common.min_requests) return 0.0;
    const double n = f.requests;
    const double distinct = std::min(f.contents.estimate(), n);
    return ramp(f.stated / n, c.stated_share_low, c.stated_share_high) *
           ramp(distinct / n, c.distinct_ratio_low, c.distinct_ratio_high) * std::min(1.0, f.weight * fade / active);
  };
  const auto* best = s.frames.best(score_of);
  if (!best) return 0;
  const double score = score_of(*best);
  if (ev && score > 0) {
    const double n = best->requests;
    const double recent = s.history.value(kHReq, s.frames.last_ts, cfg.history_half_life_s);
    std::string e = format_percent(best->stated / n) + " of " + format_count(n) +
                    " single-shot requests under one recurring prompt frame state an answer and ask for its "
                    "reasoning; ~" + format_count(std::min(best->contents.estimate(), n)) +
                    " distinct filled-in prompts; " + format_percent(best->distillable / n) +
                    " got a long answer or a rationale";
    if (recent > 0)
      e += "; the frame is ~" + format_percent(best->weight / recent) + " of the key's recent requests";
    ev->push_back(std::move(e));
  }
  return score;
}

}  // namespace

double score_detector(DetectorId id, const KeyState& s, const EngineConfig& cfg, double now,
                      std::vector<std::string>* evidence) {
  if (!detector_common(cfg, id).enabled) return 0;
  switch (id) {
    case kReasoningElicitation: return reasoning(s, cfg, now, evidence);
    case kLogprobHarvesting: return logprob(s, cfg, now, evidence);
    case kGenerationHeavy: return generation(s, cfg, now, evidence);
    case kCoverage: return coverage(s, cfg, now, evidence);
    case kVolume: return volume(s, cfg, now, evidence);
    case kMachineCadence: return cadence(s, cfg, now, evidence);
    case kFrameSubstream: return frame_substream(s, cfg, now, evidence);
    case kDetectorCount: break;
  }
  return 0;
}

}  // namespace dg::detectors
