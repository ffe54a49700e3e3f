#pragma once
/// Parameters of the per-key detection engine. Parsed from the `detection`
/// section of the config (config/detection_config.hpp); every default below is
/// what the engine uses when the section leaves it out, with the reason.
///
/// Calibration principle: a default describes the *nature* of distillation
/// (what distils well: reasoning traces, full logprob vectors, long answers to
/// diverse single-shot prompts, breadth of coverage), not one test scenario,
/// and is set so that the honest heavy users - an eval harness (temperature 0,
/// logprobs, GSM8K once), a batch job (one template, short outputs), a RAG
/// pipeline (long inputs, short outputs), a coding agent (multi-turn tool
/// loops), a chat product (multi-turn, human daily cycle) - stay under the
/// alert threshold. No single "content" detector can raise a key's risk to the
/// alert threshold unless it is marked standalone (rotating logit_bias sets,
/// rationales for answers the prompt states); otherwise two must agree and
/// one of them must be an output detector - long generations or logprob
/// vectors, the material a student model is trained on (see CombineConfig).
/// Behaviour (volume, cadence) adds to risk but never corroborates: honest
/// automation is voluminous and regular too.
///
/// Checked against a randomized population of look-alikes and distillers in
/// tests/unit/detectors/population_test.cpp (rates, shares, token sizes and
/// template counts drawn per key).

#include <cstddef>
#include <cstdint>

#include "detectors/reasoning_lexicon.hpp"

namespace dg::detectors {

/// Fields every detector has.
struct DetectorCommon {
  bool enabled = true;
  /// Sliding window (freq_ctr style: current + previous period, the previous
  /// weighted by the part still inside the window), seconds. 6 h: long
  /// enough that a key at a few requests per minute has hundreds of
  /// requests in view, short enough that a finding fades within a working
  /// day after the behaviour stops.
  double window_s = 6 * 3600.0;
  /// Requests needed in the window (or, for share detectors, in the long
  /// decayed history) before the detector scores at all: early noise of a
  /// fresh key never fires. 20: a share of 50% is then ~+-11% (1 sigma),
  /// enough to tell "most requests" from "a few".
  std::uint32_t min_requests = 20;
  /// Score at or above which the detector reports a finding. 0.7 leaves the
  /// capped components (step-by-step 0.5, CoT harvest 0.65, harvest shape
  /// without rotation 0.65) below it by construction.
  double threshold = 0.7;
  /// Weight of the score in the key's combined risk (noisy-OR of weight*score).
  double weight = 1.0;
  /// True: this detector counts towards corroboration (content evidence).
  /// Behaviour detectors (volume, cadence) describe how much and when, which
  /// honest automation shares; they add to risk but never corroborate.
  bool corroborates = true;
  /// True: a finding of this detector alone may reach the alert threshold
  /// (only for signals with no honest look-alike).
  bool standalone = false;
};

/// 1. Share of requests that ask for step-by-step reasoning and, above all,
/// for the reasoning behind a given or completed answer.
struct ReasoningElicitationConfig {
  /// Standalone: asking, in most requests, for the rationale of an answer the
  /// prompt itself states is rationale harvesting; no eval harness or chat
  /// product does that (evals never hand the model the answer).
  DetectorCommon common{.window_s = 6 * 3600.0, .min_requests = 20, .threshold = 0.7, .weight = 1.0,
                        .corroborates = true, .standalone = true};
  /// Share of stated-answer asks (PromptFeatures::states_answer) mapped
  /// linearly to score 0..1. Honest traffic does this rarely (a tutor app:
  /// some requests); a harvester in most requests.
  double answer_share_low = 0.15;
  double answer_share_high = 0.5;
  /// CoT-harvest phrasing without a stated answer ("reason step by step,
  /// final answer in \\boxed{}") is also the standard eval prompt: the same
  /// share ramp, but at most this score (corroboration, not a finding).
  double cot_max_score = 0.65;
  /// Plain step-by-step asks are common in honest use (zero-shot CoT evals,
  /// students), so they score at most `step_max_score`, below the threshold
  /// and at the corroboration level.
  double step_share_low = 0.3;
  double step_share_high = 0.9;
  double step_max_score = 0.5;
};

/// 2. Logprob harvesting: top_logprobs at the maximum with 1..few output
/// tokens, temperature 0, rotating logit_bias sets.
struct LogprobHarvestingConfig {
  DetectorCommon common{.window_s = 3600.0, .min_requests = 20, .threshold = 0.7, .weight = 1.0,
                        .corroborates = true, .standalone = true};
  /// The API's maximum top_logprobs (OpenAI: 20). A request at or above it
  /// asks for the whole visible distribution.
  std::uint32_t top_logprobs_max = 20;
  /// max_tokens at or below this is "1 to a few tokens": one distribution per
  /// prompt position is what a harvester wants; an eval harness generates
  /// answers (hundreds of tokens) or uses top_logprobs 1-5.
  std::int64_t short_max_tokens = 5;
  /// The legacy completions endpoint caps `logprobs` lower (OpenAI: 5).
  std::uint32_t completions_logprobs_max = 5;
  /// Share of requests with (top_logprobs >= max and max_tokens <= short)
  /// mapped to 0..1.
  double harvest_share_low = 0.2;
  double harvest_share_high = 0.7;
  /// Distinct logit_bias token sets per window (HyperLogLog). Rotating biases
  /// exist to read tokens outside the top-k; honest clients use one fixed
  /// bias (ban a token) or none.
  double bias_sets_low = 8;
  double bias_sets_high = 40;
  /// The harvest shape without rotating biases is also what an eval
  /// harness' loglikelihood scoring looks like (max_tokens 1, logprobs, temp
  /// 0, one template): alone it scores at most this (corroboration, not a
  /// finding); with breadth (coverage) or rotation it alerts.
  double harvest_max_score = 0.65;
  /// The harvest shape over broad material - distinct templates per request
  /// as coverage counts them for logprob vectors, ramped like coverage's
  /// distinct_ratio_low..high over the coverage window - rises up to this
  /// score: reading full distributions over unrelated text is the attack
  /// itself, while a scoring run reads them over one benchmark template.
  /// Above the threshold so that a non-rotating harvester does not depend on
  /// the coverage detector (whose two-sided history discounts a key that was
  /// broad from its first day).
  double breadth_max_score = 0.9;
  /// Temperature 0 multiplies the harvest part by (1 - temp0_discount) when
  /// absent: harvesters want the deterministic distribution.
  double temp0_discount = 0.2;
};

/// 3. Generation-heavy single-shot: long outputs for short prompts, no
/// multi-turn continuity, max_tokens near the cap, n > 1.
struct GenerationHeavyConfig {
  DetectorCommon common{};
  /// Window output/input token ratio (sums) mapped to 0..1. Production chat,
  /// code and RAG traffic sits far under 1 (Azure LLM traces: ~0.2 for
  /// conversation, ~0.01 for code; Mooncake ~0.03): context grows with the
  /// conversation or the documents. Answering short instructions at length
  /// is >= 3 (the Alpaca data set itself: 3.4; reasoning traces for GSM8K
  /// questions: 3-10). A zero-shot CoT eval sits around 1.5-2.5.
  double ratio_low = 1.5;
  double ratio_high = 4.0;
  /// Share of single-shot requests (no earlier assistant or tool turns)
  /// mapped to a 0..1 factor: coding agents and chat products carry history.
  double single_shot_low = 0.5;
  double single_shot_high = 0.9;
  /// max_tokens at or above this counts as "near the cap".
  std::int64_t large_max_tokens = 4000;
  /// Shares of near-cap max_tokens and of n > 1 each add up to this much
  /// (noisy-OR with the ratio part).
  double large_max_weight = 0.3;
  double multi_sample_weight = 0.5;
  /// Look-alike guard: the score is multiplied by (1 - scoring_discount x
  /// share of evaluation-shaped requests: logprobs below the maximum at
  /// temperature 0). A benchmark run scores answers it generates; a text
  /// harvester has no use for logprobs (and one that wants them at the
  /// maximum is the logprob detector's).
  /// 0.6 (was 0.5): an all-evaluation key then scores at most 0.4, strictly
  /// below corroboration_score (0.5). At 0.5 a zero-shot CoT run over a
  /// benchmark with verbose answers (ratio >= 4) scored exactly 0.5 and,
  /// with the breadth every benchmark has, reached risk 0.8: evaluation-
  /// shaped traffic alone must never supply the output corroboration.
  double scoring_discount = 0.6;
};

/// 4. Coverage: breadth of the *distillable* material a key collects - many
/// distinct prompts that each got something a student model can train on
/// (a long answer, a reasoning trace, a full logprob vector) - judged
/// against the key's own history.
///
/// Breadth is counted over the whole prompt (content hash), not only over
/// its template signature: a distiller that walks a data set through one
/// fixed wrapper ("Below is an instruction... ### Input: ... ### Response:")
/// has one template but a different filled-in slot every time, which is
/// exactly dataset distillation. What separates it from an honest batch job
/// over one template is what comes back: a classification, extraction or
/// RAG job gets labels and short answers, nothing to distil, so its
/// requests are not counted as distillable; an eval harness sends each
/// benchmark item once, but few-shot prompts are long and the answers short.
/// Chat products are broad, but most of their answers are not long relative
/// to the conversation, so breadth of distillable prompts stays low.
struct CoverageConfig {
  DetectorCommon common{.window_s = 6 * 3600.0, .min_requests = 30, .threshold = 0.7, .weight = 0.6,
                        .corroborates = true, .standalone = false};
  /// Distinct distillable prompts (content hashes) / single-shot requests in
  /// the window, mapped to 0..1. A batch job gets no distillable answers
  /// (ratio ~0); a dataset walk is ~1 whatever wrapper it uses.
  double distinct_ratio_low = 0.4;
  double distinct_ratio_high = 0.85;
  /// At least this many distinct distillable prompts before breadth counts.
  double min_distinct = 20;
  /// A request yields distillable text when it asks for the rationale of an
  /// answer, or when its completion is at least as long as its prompt and
  /// has at least this many tokens: an answer that elaborates on
  /// its prompt is what instruction-tuning data looks like (the Alpaca data
  /// set: outputs ~3x the instruction). Labels, extracted fields, short RAG
  /// answers over long contexts, few-shot eval answers and code edits in a
  /// long context are not. The floor (two sentences) only keeps greetings
  /// and one-liners out; it is deliberately low, because a distiller may
  /// harvest short answers as well (the ratio, not the length, is the
  /// attack's nature). Such requests count by their whole prompt; a full
  /// logprob vector (top_logprobs at the maximum, 1..few tokens) counts by
  /// its template only: an evaluation scoring every item of a benchmark in
  /// one few-shot template reads one vector per item, a harvester reads
  /// vectors over unrelated text.
  double long_output_tokens = 32;
  /// Two-sided against history: with at least `min_history_periods`
  /// finished windows, breadth counts only by how far it exceeds the key's
  /// usual breadth (a chat product that was always broad is not "new
  /// breadth"; a one-template key that suddenly fans out is).
  std::uint32_t min_history_periods = 4;
  double history_alpha = 0.2;
  /// The history only discounts down to this factor (a harvester that was
  /// broad from day one stays suspicious).
  double history_floor = 0.5;
};

/// 5. Volume against baseline: output tokens and requests per window against
/// the key's own past and its tenant's typical key.
struct VolumeConfig {
  DetectorCommon common{.window_s = 3600.0, .min_requests = 20, .threshold = 0.8, .weight = 0.5,
                        .corroborates = false, .standalone = false};
  /// Window output tokens / baseline mapped to 0..1.
  double ratio_low = 3.0;
  double ratio_high = 20.0;
  /// Absolute floor: below this many output tokens per window nothing is
  /// "high volume" whatever the ratio (and baselines are floored to it / 4).
  double min_output_tokens = 50000;
  /// EWMA weight of one finished active window in the key's baseline.
  double key_alpha = 0.05;
  /// Windows of history before the key's own baseline is trusted; until
  /// then the tenant baseline is used.
  std::uint32_t min_history_periods = 24;
  /// EWMA weight of one finished key-window in its tenant's baseline.
  double tenant_alpha = 0.01;
};

/// 6. Machine cadence: regular inter-arrival times and flat round-the-clock
/// activity without a daily cycle.
struct MachineCadenceConfig {
  /// window_s here is the half-life of the hour-of-day histogram.
  DetectorCommon common{.window_s = 3 * 86400.0, .min_requests = 50, .threshold = 0.8, .weight = 0.5,
                        .corroborates = false, .standalone = false};
  /// EWMA weight of one gap in the running mean/variance (~1/alpha gaps).
  double gap_alpha = 0.02;
  /// Coefficient of variation of gaps: <= cv_regular scores 1, >= cv_irregular
  /// scores 0. Poisson (humans, many users) is ~1; a fixed-sleep script ~0.
  double cv_regular = 0.15;
  double cv_irregular = 0.5;
  /// Flat activity: hour-of-day histogram (decayed) after at least
  /// `min_span_s` of activity, with at least `min_active_hours` of 24 hours
  /// active. Flatness is the coefficient of variation of the hourly counts
  /// after removing the Poisson noise expected at that volume (entropy is
  /// too insensitive: a +-50% daily swing still has 98% of maximal entropy).
  /// <= hour_cv_flat scores 1, >= hour_cv_daily scores 0. A human daily
  /// cycle, even of a global user base, swings by 40% or more.
  double min_span_s = 86400;
  double hour_cv_flat = 0.15;
  double hour_cv_daily = 0.4;
  std::uint32_t min_active_hours = 22;
  double flat_weight = 0.8;  ///< flatness alone scores at most this
};

/// 7. Frame sub-stream: a key is a mixture, so the sub-stream of its
/// single-shot requests under one recurring prompt frame is judged on its
/// own (FrameStreams: a few heavy-hitter frames per key). A frame whose
/// prompts state an answer and ask for its reasoning, over varied filled-in
/// slots, is rationale harvesting even when it is a tenth of the key's
/// traffic; a customer's own traffic around it does not dilute it.
struct FrameSubstreamConfig {
  /// window_s here is the half-life of a frame's weight (which frame a new
  /// one replaces); min_requests is per frame, not per key.
  DetectorCommon common{.window_s = 3 * 86400.0, .min_requests = 15, .threshold = 0.7, .weight = 1.0,
                        .corroborates = true, .standalone = true};
  /// Share of the frame's requests that state the answer and ask for its
  /// reasoning, mapped to 0..1. A frame of a harvester does it in every
  /// request; a tutoring frame ("I got 42, where did I go wrong?") seldom
  /// and in conversations, which are not single-shot.
  double stated_share_low = 0.5;
  double stated_share_high = 0.8;
  /// Distinct prompts / requests under the frame, mapped to 0..1: the slots
  /// vary like a data set walked item by item (a re-sent prompt is not).
  double distinct_ratio_low = 0.5;
  double distinct_ratio_high = 0.8;
  /// Prompts shorter than this (normalized characters) carry no frame.
  std::uint32_t min_prompt_chars = 32;
};

/// How detector scores combine into a key's risk.
struct CombineConfig {
  /// Scores at or above this count as corroborating evidence.
  double corroboration_score = 0.5;
  /// Corroborating detectors needed before risk may exceed the cap.
  std::uint32_t min_corroborating = 2;
  /// Risk cap when uncorroborated and no standalone finding.
  double uncorroborated_cap = 0.6;
  /// Corroboration must include an *output* detector (generation_heavy or
  /// logprob_harvesting) at >= corroboration_score: distillation needs rich
  /// outputs (long generations, logprob vectors). Asking for step-by-step
  /// reasoning over many distinct questions is also exactly what a benchmark
  /// run does, so reasoning + coverage alone do not corroborate each other.
  bool require_output_signal = true;
  /// Risk at or above which KeyAssessment::alert is set. Policies may use
  /// their own thresholds on `risk`; this one is for replay summaries.
  double risk_threshold = 0.8;
  /// Weight of external findings (campaign linker) in the noisy-OR. They are
  /// always treated as standalone.
  double external_weight = 1.0;
  /// new_finding / new_alert fire once per crossing: a finding or an alert
  /// is released only when its score falls this fraction below its
  /// threshold, so a score hovering at the threshold does not flood the
  /// replay output and the alert queue.
  double hysteresis = 0.15;
};

/// The key store.
struct StoreConfig {
  std::size_t shards = 16;  ///< mutexes; a power of two is not required
  /// Keys tracked at most; at the cap the least recently seen key of the
  /// shard is evicted (counted in EngineStats::keys_evicted_cap).
  std::size_t max_keys = 100000;
  /// Keys idle longer than this are evicted (EngineStats::keys_evicted_idle).
  /// Three days keeps the state of a slow-and-low key (a few requests a day).
  double idle_ttl_s = 3 * 86400.0;
  /// Tenants with a baseline at most; further tenants share the default one.
  std::size_t max_tenants = 10000;
};

struct EngineConfig {
  StoreConfig store{};
  /// Half-life of the long decayed history the share detectors fall back to
  /// when their window holds fewer than min_requests: a key sending 20
  /// requests a day is still judged, on ~a week of its traffic.
  double history_half_life_s = 3 * 86400.0;
  ReasoningElicitationConfig reasoning_elicitation{};
  LogprobHarvestingConfig logprob_harvesting{};
  GenerationHeavyConfig generation_heavy{};
  CoverageConfig coverage{};
  VolumeConfig volume{};
  MachineCadenceConfig machine_cadence{};
  FrameSubstreamConfig frame_substream{};
  CombineConfig combine{};
  /// Phrase lists of the prompt analyzer (see PromptAnalyzer).
  ReasoningLexicon lexicon = ReasoningLexicon::defaults();
  /// Bytes of one prompt the analyzer reads at most (head 3/4, tail 1/4).
  /// Instruction frames and reasoning asks sit at the start or the end of a
  /// prompt. 2 kB (about 500 tokens: 1.5 kB of head, 0.5 kB of tail) gave
  /// the same detection as 4 kB on seeds 1-3 and 20261123 of the 7-day
  /// evaluation (one benign coverage finding fewer on seed 3) and keeps the
  /// analyzer at ~2 us for the longest prompts (bench/results/replay.md).
  std::size_t max_scan_bytes = 2048;
  /// false (default): Engine::observe writes evidence sentences only when a
  /// finding is new or the alert is new (formatting costs ~1 us per finding);
  /// later exchanges of a flagged key carry scores without sentences.
  /// Engine::peek always writes them. true: on every exchange.
  bool evidence_every_exchange = false;
};

}  // namespace dg::detectors
