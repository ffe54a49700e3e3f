#pragma once
/// What detection produces: scores with evidence in words and numbers.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dg::detectors {

/// The detector name of the campaign linker's external finding on member keys.
inline constexpr std::string_view kCampaignDetector = "campaign";

/// One detector's (or the campaign linker's) verdict on one key.
struct Finding {
  std::string detector;               ///< e.g. "reasoning_elicitation", "campaign"
  double score = 0;                   ///< in [0, 1]
  std::vector<std::string> evidence;  ///< human-readable, with numbers; never prompt text or raw keys
};

/// A key's state after one exchange was observed.
struct KeyAssessment {
  std::string key_fp;
  double risk = 0;                    ///< combined risk in [0, 1]
  std::vector<Finding> scores;        ///< every detector's current score (evidence may be empty when low)
  std::vector<Finding> findings;      ///< detectors at or above their finding threshold, with evidence
  bool new_finding = false;           ///< a detector crossed its threshold with this exchange
  std::string campaign;               ///< campaign id if the key is linked to one; empty otherwise
  std::uint64_t request_index = 0;    ///< requests of this key seen, this one included
  bool alert = false;                 ///< risk >= EngineConfig::combine.risk_threshold
  bool new_alert = false;             ///< risk crossed that threshold with this exchange
};

}  // namespace dg::detectors
