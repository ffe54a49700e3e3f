#pragma once
/// The six per-key detectors as pure functions of a key's state at a time:
/// each returns a score in [0, 1] and, when asked, evidence in words and
/// numbers. No prompt text or key material can appear in evidence: the state
/// holds none.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/engine_config.hpp"
#include "detectors/key_state.hpp"

namespace dg::detectors {

enum DetectorId : std::size_t {
  kReasoningElicitation,
  kLogprobHarvesting,
  kGenerationHeavy,
  kCoverage,
  kVolume,
  kMachineCadence,
  kFrameSubstream,
  kDetectorCount
};

std::string_view detector_name(DetectorId id) noexcept;
const DetectorCommon& detector_common(const EngineConfig& cfg, DetectorId id) noexcept;

/// Score of one detector for state `s` as of `now`. When `evidence` is not
/// null, sentences with numbers are appended to it.
double score_detector(DetectorId id, const KeyState& s, const EngineConfig& cfg, double now,
                      std::vector<std::string>* evidence);

/// Formatting helpers for evidence (exposed for tests).
std::string format_count(double v);     ///< 1340 -> "1,340"
std::string format_percent(double share);  ///< 0.714 -> "71%"
std::string format_duration(double seconds);  ///< 3600 -> "1h", 5400 -> "90m", 259200 -> "3d"

}  // namespace dg::detectors
