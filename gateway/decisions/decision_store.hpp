#pragma once
/// The one place decisions change: the table the proxy reads, the journal
/// that makes them durable and the audit log that records who changed what.
/// Writers (enforcer on findings, admin API) go through `apply`; readers use
/// `table()` directly. Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/decisions/audit_log.hpp"
#include "gateway/decisions/decision_journal.hpp"
#include "gateway/decisions/decision_table.hpp"

namespace dg::gateway {

struct DecisionStoreOptions {
  JournalOptions journal;         ///< journal.path empty = decisions live in memory only
  std::string audit_path;         ///< empty = no audit log
  double memory_s = 30 * 86400.0; ///< how long expired decisions are remembered (escalation)
};

class DecisionStore {
 public:
  explicit DecisionStore(DecisionStoreOptions options);

  /// Loads the journal into the table, drops decisions past memory, and
  /// compacts. Returns the skipped-line warnings (`file:line: reason`).
  /// Returns false with `error` when the journal cannot be written.
  bool open(double now, std::vector<std::string>& warnings, std::string& error);

  /// Records a decision change: table, journal, audit. `actor` is "detector"
  /// or "operator". Returns false when the journal write failed (the table is
  /// still updated; the failure is counted).
  bool apply(const detectors::Decision& d, std::string_view actor, double now);

  /// Forgets expired decisions past the memory; audited as "expire".
  std::size_t sweep(double now);

  const DecisionTable& table() const { return table_; }

  std::uint64_t journal_failures() const { return journal_failures_.load(std::memory_order_relaxed); }
  std::uint64_t audit_failures() const { return audit_failures_.load(std::memory_order_relaxed); }
  /// Reopens the audit log by its path (SIGUSR1 after a rotation).
  bool reopen_audit() { return audit_.reopen(); }
  std::uint64_t changes() const { return changes_.load(std::memory_order_relaxed); }

  /// Called after every applied change (alerts, metrics). Set before serving.
  void set_listener(std::function<void(const detectors::Decision&, std::string_view actor)> listener) {
    listener_ = std::move(listener);
  }
  /// A second listener beside set_listener's (the campaign linker's rotation
  /// memory; alerts own the first). Set before serving.
  void set_extra_listener(std::function<void(const detectors::Decision&, std::string_view actor)> listener) {
    extra_listener_ = std::move(listener);
  }
  /// A third listener: fleet mode's publisher (gateway/fleet), called on the
  /// applying thread; it must only copy and post. Set before serving.
  void set_fleet_listener(std::function<void(const detectors::Decision&, std::string_view actor)> listener) {
    fleet_listener_ = std::move(listener);
  }

 private:
  DecisionStoreOptions options_;
  DecisionTable table_;
  std::unique_ptr<DecisionJournal> journal_;
  AuditLog audit_;
  std::mutex write_mutex_;  // orders table+journal updates against compaction
  std::atomic<std::uint64_t> journal_failures_{0};
  std::atomic<std::uint64_t> audit_failures_{0};
  std::atomic<std::uint64_t> changes_{0};
  std::function<void(const detectors::Decision&, std::string_view)> listener_;
  std::function<void(const detectors::Decision&, std::string_view)> extra_listener_;
  std::function<void(const detectors::Decision&, std::string_view)> fleet_listener_;
};

}  // namespace dg::gateway
