#pragma once
/// `distillguard replay` without the command line: feeds traffic records
/// through the same feature extraction and detection engine as the proxy,
/// with each record's ts as the clock, and collects findings and a summary
/// per key.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gateway/traffic/traffic_record.hpp"

namespace dg::gateway {

/// Per-key totals of one replay.
struct ReplayKeySummary {
  std::string key_fp;
  std::uint64_t requests = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  double max_risk = 0;
  std::optional<double> first_finding_ts;
  std::uint64_t first_finding_index = 0;  ///< request_index of the first finding (0: none)
  std::string final_action = "allow";     ///< the last decision's action; without a policy "alert" when risk crossed the threshold
  std::vector<std::string> detectors;     ///< detectors that reported a finding at some point
  std::vector<std::string> top_evidence;  ///< evidence of the highest-risk assessment
  std::string campaign;
  double alert_ts = 0;                    ///< when risk first reached the alert threshold
  std::uint64_t alert_index = 0;          ///< request_index then (0: never)
  std::map<std::string, double> max_scores;  ///< highest score of every detector
};

struct ReplayStats {
  std::uint64_t records = 0;
  std::uint64_t bad_lines = 0;
  std::uint64_t anonymous = 0;  ///< records with "key": "" (no accepted credential): counted, not detected on
  std::uint64_t reordered = 0;  ///< records earlier than a previous one, within the disorder window
  std::uint64_t findings = 0;
  std::uint64_t decisions = 0;  ///< decisions the policy took (shadow ones included)
  std::uint64_t bytes = 0;
  /// Records whose text the capture redacted: replayed with the prompt
  /// features it kept, or (older captures) without them, blind to the text.
  std::uint64_t redacted_with_features = 0;
  std::uint64_t redacted_without_features = 0;
  double seconds = 0;      ///< wall time of the replay loop
  double cpu_seconds = 0;  ///< CPU time of this thread in the loop (robust on a shared machine)
};

class ReplayRunner {
 public:
  /// Loads the config file like the proxy (`config_path` empty: built-in
  /// defaults): `detection:` configures the engine, `campaigns:` the linker,
  /// `policy:` the decisions (evaluated as live, shadow ones included),
  /// `identity.fingerprint_salt` the fingerprints. Throws config::ConfigError
  /// (`file:line:column: reason`). `output`: where finding and decision lines
  /// go (nullptr: nowhere).
  ReplayRunner(const std::string& config_path, std::ostream* output);
  ~ReplayRunner();
  ReplayRunner(const ReplayRunner&) = delete;
  ReplayRunner& operator=(const ReplayRunner&) = delete;

  /// Off: records are read, validated and counted but not run through
  /// detection (measures the reader alone: `replay --parse-only`).
  void set_detection(bool enabled);

  /// How much earlier than the latest record a record may come, in seconds
  /// (TrafficReader::set_max_disorder).
  void set_max_disorder(double seconds);

  /// Observes one record (already validated and in time order).
  void observe(const TrafficRecord& record);

  /// Replays files in order. Bad lines go to `errors` as `FILE:LINE: reason`.
  /// `progress` (may be empty) is called now and then with bytes done and total.
  /// Returns false when a file cannot be opened (reported to `errors`).
  bool replay_files(const std::vector<std::string>& files, std::ostream& errors,
                    const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

  const ReplayStats& stats() const;
  /// Summaries sorted by highest risk, then fingerprint.
  std::vector<ReplayKeySummary> summaries() const;
  /// The risk at or above which a key counts as alerted.
  double alert_threshold() const;
  /// Each detector's finding threshold (for evaluation tools).
  std::map<std::string, double> detector_thresholds() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Writes the summary as a text table (top `limit` keys by risk, then a total line).
void write_summary_table(const std::vector<ReplayKeySummary>& rows, const ReplayStats& stats, std::ostream& out,
                         std::size_t limit = 50);
/// Writes the summary as JSON: {"stats": {...}, "keys": [...]}.
void write_summary_json(const std::vector<ReplayKeySummary>& rows, const ReplayStats& stats, double alert_threshold,
                        std::ostream& out, const std::map<std::string, double>& detector_thresholds = {});

}  // namespace dg::gateway
