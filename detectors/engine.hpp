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
  /// key's assessment. Never reads a clock.
  KeyAssessment observe(const Exchange& ex);

  /// The current assessment of a key without observing anything (admin API).
  /// Returns an assessment with request_index 0 when the key is unknown.
  KeyAssessment peek(const std::string& key_fp, double now) const;

  /// Evicts keys idle for longer than the configured idle TTL, as of `now`.
  void evict_idle(double now);

  /// Swaps detector parameters (hot reload); state of existing keys is kept.
  void reconfigure(EngineConfig config);

  EngineStats stats() const;

  /// Bytes of per-key state (fixed size), for the memory report.
  static std::size_t bytes_per_key() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dg::detectors
