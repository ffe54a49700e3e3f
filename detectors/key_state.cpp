#include "detectors/key_state.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include "detectors/hash.hpp"

namespace dg::detectors {

RequestSignals RequestSignals::of(const Exchange& ex, const EngineConfig& cfg) noexcept {
  RequestSignals s;
  const auto& r = ex.request;
  switch (r.endpoint) {
    case Endpoint::ChatCompletions:
    case Endpoint::Completions:
    case Endpoint::Responses:
    case Endpoint::Messages: s.content = true; break;
    default: break;
  }
  s.step = r.prompt.reasoning_markers > 0;
  s.answer = r.prompt.asks_reasoning_for_answer || r.prompt.states_answer;
  s.states_answer = r.prompt.states_answer;
  const auto& lp = cfg.logprob_harvesting;
  const std::uint32_t top_max = r.endpoint == Endpoint::Completions ? lp.completions_logprobs_max : lp.top_logprobs_max;
  const bool short_out = r.max_tokens && *r.max_tokens <= lp.short_max_tokens;
  s.harvest = r.top_logprobs >= top_max && short_out;
  s.temp0 = r.temperature && *r.temperature <= 0.01;
  s.bias = r.logit_bias_size > 0;
  s.single_shot = r.assistant_turns == 0 && r.tool_turns == 0;
  s.large_max = r.max_tokens && *r.max_tokens >= cfg.generation_heavy.large_max_tokens;
  s.multi_sample = r.n > 1;
  s.scoring = r.logprobs && s.temp0 && r.top_logprobs < top_max;
  s.prompt_tokens = prompt_tokens_of(ex);
  s.completion_tokens = ex.response.completion_tokens;
  const bool long_answer = static_cast<double>(s.completion_tokens) >= cfg.coverage.long_output_tokens &&
                           s.completion_tokens >= s.prompt_tokens;
  s.distillable_text = long_answer || s.answer;
  return s;
}

namespace {

void refresh_flatness(KeyState& s, const MachineCadenceConfig& mc) {
  double total = 0, sq = 0;
  unsigned active = 0;
  for (auto h : s.hours) {
    total += h;
    sq += double(h) * h;
    active += h > 0;
  }
  s.active_hours_cache = static_cast<std::uint8_t>(active);
  const double mean = total / 24;
  if (mean < 2 || active < mc.min_active_hours) {
    s.flat_cache = 0;
    s.hour_cv_cache = 0;
    return;
  }
  const double var = std::max(0.0, sq / 24 - mean * mean);
  // Poisson noise alone gives CV^2 = 1/mean; only the excess is a cycle.
  const double excess = std::max(0.0, var / (mean * mean) - 1.0 / mean);
  const double cv = std::sqrt(excess);
  s.hour_cv_cache = static_cast<float>(cv);
  s.flat_cache = static_cast<float>(mc.flat_weight * (1.0 - ramp(cv, mc.hour_cv_flat, mc.hour_cv_daily)));
}

}  // namespace

void update_key_state(KeyState& s, const Exchange& ex, const RequestSignals& sig, const EngineConfig& cfg,
                      TenantBaselines& tenants) {
  const double ts = ex.ts;
  if (s.requests == 0) s.first_ts = ts;

  // 6. cadence: gaps (EWMA mean/variance) and the hour-of-day histogram.
  const auto& mc = cfg.machine_cadence;
  if (s.requests > 0) {
    const double gap = std::max(0.0, ts - s.last_ts);
    if (s.gaps == 0) {
      s.gap_mean = static_cast<float>(gap);
      s.gap_var = 0;
    } else {
      const double a = mc.gap_alpha;
      const double diff = gap - s.gap_mean;
      const double incr = a * diff;
      s.gap_mean = static_cast<float>(s.gap_mean + incr);
      s.gap_var = static_cast<float>((1 - a) * (s.gap_var + diff * incr));
    }
    if (s.gaps < UINT32_MAX) ++s.gaps;
  }
  {
    const auto epoch = FreqWindow<1>::index(ts, std::max(mc.common.window_s, 3600.0));
    if (epoch > s.hour_epoch) {
      const auto shift = std::min<std::uint32_t>(epoch - s.hour_epoch, 16);
      if (s.hour_epoch != 0)
        for (auto& h : s.hours) h = static_cast<std::uint16_t>(h >> shift);
      s.hour_epoch = epoch;
    }
    const auto hour = static_cast<std::size_t>(std::fmod(std::max(ts, 0.0), 86400.0) / 3600.0) % 24;
    if (s.hours[hour] == UINT16_MAX)
      for (auto& h : s.hours) h = static_cast<std::uint16_t>(h >> 1);
    ++s.hours[hour];
    if ((s.requests & 15U) == 15U) refresh_flatness(s, mc);
  }
  s.last_ts = std::max(s.last_ts, ts);
  ++s.requests;

  // 5. volume, with baselines folded when a window finishes.
  const auto& vc = cfg.volume;
  s.volume.roll(ts, vc.common.window_s, [&](const auto& done, std::uint32_t) {
    if (done[0] == 0) return;
    const double out = done[1];
    s.volume_baseline = s.volume_periods == 0
                            ? static_cast<float>(out)
                            : static_cast<float>((1 - vc.key_alpha) * s.volume_baseline + vc.key_alpha * out);
    if (s.volume_periods < UINT16_MAX) ++s.volume_periods;
    s.tenant_baseline = tenants.record(s.tenant_slot, out);
  });
  s.volume.add(0, 1);
  s.volume.add(1, sig.completion_tokens);

  if (!sig.content) return;

  // Long history.
  s.history.decay_to(ts, cfg.history_half_life_s);
  auto& h = s.history.v;
  h[kHReq] += 1;
  h[kHStep] += sig.step;
  h[kHAnswer] += sig.answer;
  h[kHStates] += sig.states_answer;
  h[kHHarvest] += sig.harvest;
  h[kHTemp0] += sig.temp0;
  h[kHSingle] += sig.single_shot;
  h[kHLarge] += sig.large_max;
  h[kHMulti] += sig.multi_sample;
  h[kHScoring] += sig.scoring;
  h[kHPromptTok] += static_cast<float>(sig.prompt_tokens);
  h[kHOutTok] += static_cast<float>(sig.completion_tokens);

  // 1. reasoning
  s.reasoning.roll(ts, cfg.reasoning_elicitation.common.window_s);
  s.reasoning.add(0, 1);
  s.reasoning.add(1, sig.step);
  s.reasoning.add(2, sig.answer);
  s.reasoning.add(3, sig.states_answer);

  // 2. logprob
  s.logprob.roll(ts, cfg.logprob_harvesting.common.window_s,
                 [&](const auto&, std::uint32_t elapsed) { s.bias_sets.on_roll(elapsed); });
  s.logprob.add(0, 1);
  s.logprob.add(1, sig.harvest);
  s.logprob.add(2, sig.temp0);
  s.logprob.add(3, sig.bias);
  if (sig.bias) s.bias_sets.curr.add(mix64(ex.request.logit_bias_hash));

  // 3. generation
  s.generation.roll(ts, cfg.generation_heavy.common.window_s);
  s.generation.add(0, 1);
  s.generation.add(1, sig.single_shot);
  s.generation.add(2, sig.large_max);
  s.generation.add(3, sig.multi_sample);
  s.generation.add(4, sig.prompt_tokens);
  s.generation.add(5, sig.completion_tokens);
  s.generation.add(6, sig.scoring);

  // 4. coverage: templates per window; the breadth of each finished window
  // with enough requests feeds the key's usual breadth.
  const auto& cc = cfg.coverage;
  s.coverage.roll(ts, cc.common.window_s, [&](const auto& done, std::uint32_t elapsed) {
    if (done[0] >= cc.common.min_requests) {
      const double ratio = std::min(1.0, s.contents.curr.estimate() / done[0]);
      s.coverage_history = s.coverage_periods == 0
                               ? static_cast<float>(ratio)
                               : static_cast<float>((1 - cc.history_alpha) * s.coverage_history +
                                                    cc.history_alpha * ratio);
      if (s.coverage_periods < UINT16_MAX) ++s.coverage_periods;
    }
    s.templates.on_roll(elapsed);
    s.contents.on_roll(elapsed);
  });
  s.coverage_long.roll(ts, cfg.history_half_life_s, [&](const auto&, std::uint32_t elapsed) {
    s.templates_long.on_roll(elapsed);
    s.contents_long.on_roll(elapsed);
  });
  // Breadth is a property of single-shot prompts: the last user turn of a
  // conversation or an agent loop is not a new "template".
  if (!sig.single_shot) return;
  const auto& fc = cfg.frame_substream;
  if (fc.common.enabled && ex.request.prompt.normalized_chars >= fc.min_prompt_chars) {
    FrameRequest fr;
    // One frame = one system prompt and one user-turn template (XOR with a
    // constant keeps Hamming distances within a system prompt).
    const auto& pf = ex.request.prompt;
    fr.signature = pf.template_signature == 0 ? 0 : pf.template_signature ^ pf.system_prompt_hash;
    fr.content = pf.content_hash;
    fr.states_answer = sig.states_answer;
    fr.distillable = sig.distillable_text;
    s.frames.observe(fr, ts, fc.common.window_s);
  }
  s.coverage.add(0, 1);
  s.coverage_long.add(0, 1);
  const auto tpl = mix64(ex.request.prompt.template_signature ^ ex.request.prompt.system_prompt_hash);
  s.templates.curr.add(tpl);
  s.templates_long.curr.add(tpl);
  // Distillable breadth: a long answer or a rationale counts by its whole
  // prompt (a wrapper walked over a data set is breadth); a logprob vector
  // counts by its template only (one vector per item of a benchmark in one
  // few-shot template is an evaluation's loglikelihood scoring, not breadth;
  // a harvester reads vectors over unrelated text).
  if (sig.distillable_text) {
    const auto content = mix64(ex.request.prompt.content_hash ^ std::rotl(ex.request.prompt.system_prompt_hash, 17) ^
                               ex.request.prompt.template_signature);
    s.contents.curr.add(content);
    s.contents_long.curr.add(content);
  } else if (sig.harvest) {
    s.contents.curr.add(tpl);
    s.contents_long.curr.add(tpl);
  }
}

}  // namespace dg::detectors
