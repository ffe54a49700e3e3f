#pragma once
/// Durable decisions: an append-only JSON Lines file, one record per change
///   {"op":"put","decision":{...}}   {"op":"remove","key_fp":"fp:...","ts":...}
/// loaded at start so that a restart or kill -9 loses no block or throttle.
/// A line torn by a crash (or any unreadable line) is skipped and reported as
/// `file:line: reason`. Compaction writes the live state to `path.tmp`,
/// fsyncs it and renames it over the journal (atomic on POSIX).
/// Thread-safe (one mutex; decisions change rarely, never per request). In
/// the live proxy only the decision store's writer thread writes it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/decision.hpp"
#include "gateway/files/append_file.hpp"

namespace dg::gateway {

enum class FsyncPolicy : std::uint8_t {
  Always,    ///< fsync after every record (a change is durable once applied)
  Interval,  ///< fsync at most every `fsync_interval_s` (on the next write after it)
  Never,     ///< leave it to the OS (tests, tmpfs)
};

struct JournalOptions {
  std::string path;
  FsyncPolicy fsync = FsyncPolicy::Always;
  double fsync_interval_s = 1;
  std::uint64_t compact_threshold_bytes = 4 << 20;  ///< compact when the file grows past this
};

/// What loading found: the folded state and the lines that were skipped.
struct JournalLoad {
  std::vector<detectors::Decision> decisions;
  std::vector<std::string> warnings;  ///< `file:line: reason`
  std::size_t lines = 0;
};

/// Where the decision store makes its changes durable: the journal file, or
/// a fake in tests. Called from the store's writer thread only (and from
/// DecisionStore::open before serving).
class JournalSink {
 public:
  virtual ~JournalSink() = default;
  /// Rewrites the journal with exactly `live`. False (and `error`) on failure.
  virtual bool compact(const std::vector<detectors::Decision>& live, std::string& error) = 0;
  /// Appends one change. False on an I/O failure (counted by the caller).
  virtual bool append_put(const detectors::Decision& d) = 0;
  virtual bool append_remove(std::string_view key_fp, double ts) = 0;
  /// True when the journal has grown past its compaction threshold.
  virtual bool needs_compaction() const = 0;
};

class DecisionJournal final : public JournalSink {
 public:
  explicit DecisionJournal(JournalOptions options);
  ~DecisionJournal() override;
  DecisionJournal(const DecisionJournal&) = delete;
  DecisionJournal& operator=(const DecisionJournal&) = delete;

  /// Reads the journal file (a missing file is an empty journal). Never throws
  /// for bad lines; an unreadable file yields a warning.
  static JournalLoad load(const std::string& path);

  /// Rewrites the file with exactly `live` and opens it for appending.
  /// Returns false (and sets `error`) on an I/O failure.
  bool compact(const std::vector<detectors::Decision>& live, std::string& error) override;

  /// Appends one change. False on an I/O failure (counted by the caller).
  bool append_put(const detectors::Decision& d) override;
  bool append_remove(std::string_view key_fp, double ts) override;

  /// True when the file has grown past the compaction threshold.
  bool needs_compaction() const override;
  std::uint64_t size_bytes() const;
  const std::string& path() const { return options_.path; }

 private:
  bool append_line(const std::string& line);
  bool open_append(std::string& error);

  JournalOptions options_;
  mutable std::mutex mutex_;
  AppendFile file_;
  double last_sync_ = 0;
};

}  // namespace dg::gateway
