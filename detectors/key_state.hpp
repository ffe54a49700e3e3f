#pragma once
/// The fixed-size state the engine keeps per key, and how one exchange
/// updates it. Sizes do not depend on traffic: windows are freq_ctr pairs,
/// distinct counts are 64-register HyperLogLogs, long history is a set of
/// decayed counters. Protected by the key store's shard lock.

#include <array>
#include <cstdint>

#include "detectors/engine_config.hpp"
#include "detectors/features.hpp"
#include "detectors/frame_streams.hpp"
#include "detectors/sketches.hpp"

namespace dg::detectors {

/// Per-request indicators, computed once per exchange.
struct RequestSignals {
  bool content = false;  ///< a generation endpoint (chat, completions, responses, messages)
  bool step = false;
  bool answer = false;
  bool states_answer = false;
  bool harvest = false;  ///< top_logprobs at max with 1..few output tokens
  bool temp0 = false;
  bool bias = false;
  bool single_shot = false;
  bool large_max = false;
  bool multi_sample = false;
  bool scoring = false;  ///< logprobs below the maximum at temperature 0: an evaluation's request
  /// The exchange yielded distillable text: a long answer (see
  /// CoverageConfig::long_output_tokens) or the rationale of an answer.
  /// Counted in coverage by the whole prompt (slots included).
  bool distillable_text = false;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;

  static RequestSignals of(const Exchange& ex, const EngineConfig& cfg) noexcept;
};

/// Indices into the long decayed history.
enum Hist : std::size_t {
  kHReq, kHStep, kHAnswer, kHStates, kHHarvest, kHTemp0, kHSingle, kHLarge, kHMulti, kHScoring, kHPromptTok, kHOutTok, kHistN
};

struct KeyState {
  double first_ts = 0;
  double last_ts = 0;
  std::uint64_t requests = 0;
  std::uint32_t config_generation = 0;
  std::uint16_t finding_mask = 0;  ///< detectors at/above threshold after the last exchange
  bool alerted = false;

  // 1. reasoning elicitation: requests, step asks, answer asks, stated-answer asks
  FreqWindow<4> reasoning;
  // 2. logprob harvesting: requests, harvest-shaped, temperature 0, with logit_bias
  FreqWindow<4> logprob;
  WindowedHll bias_sets;
  // 3. generation heavy: requests, single-shot, large max_tokens, n>1, prompt tokens, output tokens, scoring
  FreqWindow<7> generation;
  // 4. coverage: single-shot requests (short window and long window),
  // templates (evidence) and distillable prompts (content hashes; the score)
  FreqWindow<1> coverage;
  WindowedHll templates;
  WindowedHll contents;
  FreqWindow<1> coverage_long;
  WindowedHll templates_long;
  WindowedHll contents_long;
  float coverage_history = 0;  ///< EWMA of distinct distillable prompts/requests of finished windows
  std::uint16_t coverage_periods = 0;
  // 5. volume: requests, output tokens
  FreqWindow<2> volume;
  float volume_baseline = 0;  ///< EWMA of output tokens of finished active windows
  float tenant_baseline = 0;  ///< cached typical key-window of the tenant
  std::uint16_t volume_periods = 0;
  std::uint16_t tenant_slot = 0;  ///< index into the tenant table (0 = default)
  // 6. machine cadence
  float gap_mean = 0;
  float gap_var = 0;
  std::uint32_t gaps = 0;
  std::uint32_t hour_epoch = 0;  ///< halving epoch of the hour histogram
  std::array<std::uint16_t, 24> hours{};
  float flat_cache = 0;  ///< cached flatness score (recomputed every 16 requests)
  float hour_cv_cache = 0;  ///< noise-corrected CV of the hourly counts
  std::uint8_t active_hours_cache = 0;
  // long decayed history shared by the share detectors
  DecayedCounters<kHistN> history;
  // 7. frame sub-streams: heavy-hitter frames of single-shot requests
  FrameStreams frames;
};

}  // namespace dg::detectors

namespace dg::detectors {

/// Per-tenant baselines of output tokens per key-window (implemented by the
/// engine; a small table with its own lock, touched once per key-window).
class TenantBaselines {
 public:
  virtual ~TenantBaselines() = default;
  /// Records that a key of tenant `slot` finished a volume window with
  /// `output_tokens`, and returns the tenant's current baseline.
  virtual float record(std::uint16_t slot, double output_tokens) = 0;
};

/// Folds one exchange into the state, at event time `ex.ts`.
void update_key_state(KeyState& s, const Exchange& ex, const RequestSignals& sig, const EngineConfig& cfg,
                      TenantBaselines& tenants);

}  // namespace dg::detectors
