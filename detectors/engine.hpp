#pragma once
/// The detection engine: turns exchanges into per-key assessments, in event
/// time, with bounded memory. Thread-safe: `observe` may be called from every
/// worker at once (the key store is sharded; no lock is held for long).
///
/// Implementation: see detectors/engine.cpp. Configuration: EngineConfig.

#include <cstdint>
#include <memory>
#include <string>

#include "detectors/engine_config.hpp"
#include "detectors/features.hpp"
#include "detectors/finding.hpp"
#include "detectors/prompt_analyzer.hpp"

namespace dg::detectors {

/// Counters the engine exposes (read with relaxed ordering).
struct EngineStats {
  std::uint64_t keys_tracked = 0;
  std::uint64_t keys_evicted_idle = 0;
  std::uint64_t keys_evicted_cap = 0;  ///< evicted because the key cap was reached
  std::uint64_t exchanges = 0;
  std::uint64_t findings = 0;
};

class Engine {
 public:
  explicit Engine(EngineConfig config);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Observes one finished exchange at its event time `ex.ts` and returns the
  /// key's assessment. Never reads a clock. Findings carry evidence sentences
  /// when new_finding or new_alert is set (or always, with
  /// EngineConfig::evidence_every_exchange); `peek` always has them.
  KeyAssessment observe(const Exchange& ex);

  /// The current assessment of a key without observing anything (admin API).
  /// Returns an assessment with request_index 0 when the key is unknown.
  KeyAssessment peek(const std::string& key_fp, double now) const;

  /// Evicts keys idle for longer than the configured idle TTL, as of `now`.
  void evict_idle(double now);

  /// Swaps detector parameters (hot reload); state of existing keys is kept.
  void reconfigure(EngineConfig config);

  EngineStats stats() const;

  /// Adds a finding made outside the per-key detectors (the campaign linker,
  /// an operator's tag) to a key until event time `until_ts`. It appears in
  /// the key's `scores` and `findings`, counts as standalone evidence, and
  /// enters the key's risk with weight `combine.external_weight`; `campaign`
  /// (if not empty) becomes KeyAssessment::campaign. One external finding per
  /// key and detector name; setting it again replaces it. Thread-safe and
  /// O(1); may be called from beside the hot path at any rate.
  void set_external_finding(const std::string& key_fp, Finding finding, double until_ts,
                            std::string campaign = {});
  /// Removes the external findings of a key (all names).
  void clear_external_findings(const std::string& key_fp);

  /// The prompt analyzer built from the current lexicon (replaced on
  /// reconfigure when the lexicon changes). Callers fill
  /// RequestFeatures::prompt with `analyzer()->analyze(text)` before observe.
  std::shared_ptr<const PromptAnalyzer> analyzer() const;

  /// The configuration in force.
  std::shared_ptr<const EngineConfig> config() const;

  /// Bytes of per-key state (fixed size), for the memory report.
  static std::size_t bytes_per_key() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::detectors
