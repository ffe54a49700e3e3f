#pragma once
/// The one place decisions change: the table the proxy reads, the journal
/// that makes them durable and the audit log that records who changed what.
/// Readers use `table()` directly. Thread-safe.
///
/// The table changes at once, on the caller's thread, so the next request of
/// the key is enforced already; the journal and audit writes go to one writer
/// thread (a SerialWriter, the capture log's pattern), in the order of the
/// table changes, so no worker thread serving clients touches a file:
///  - `post` (the detection path) queues the writes and returns; nobody is
///    acknowledged, a failed write is counted and reported to `done`.
///  - `apply` (the admin API, which acknowledges to an operator) waits until
///    its journal write is done and returns whether it succeeded.
///  - `flush` (shutdown, tests) waits for everything queued; the destructor
///    flushes too, so a clean stop loses nothing.
/// Without a journal and an audit log (replay, tests) there is no writer and
/// both only change the table.

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
#include "gateway/files/serial_writer.hpp"

namespace dg::gateway {

struct DecisionStoreOptions {
  JournalOptions journal;         ///< journal.path empty = decisions live in memory only
  std::string audit_path;         ///< empty = no audit log
  double memory_s = 30 * 86400.0; ///< how long expired decisions are remembered (escalation)
};

class DecisionStore {
 public:
  explicit DecisionStore(DecisionStoreOptions options);
  /// With `journal` instead of the file at options.journal.path (tests).
  DecisionStore(DecisionStoreOptions options, std::unique_ptr<JournalSink> journal);
  /// Flushes the queued writes.
  ~DecisionStore();
  DecisionStore(const DecisionStore&) = delete;
  DecisionStore& operator=(const DecisionStore&) = delete;

  /// Loads the journal into the table, drops decisions past memory, and
  /// compacts. Returns the skipped-line warnings (`file:line: reason`).
  /// Returns false with `error` when the journal cannot be written.
  bool open(double now, std::vector<std::string>& warnings, std::string& error);

  /// Records a decision change acknowledged to someone: the table at once,
  /// then waits for the writer's journal and audit writes. `actor` is
  /// "detector" or "operator". Returns false when the journal write failed
  /// (the table is still updated; the failure is counted). Blocks on the disk:
  /// never call it from a worker thread.
  bool apply(const detectors::Decision& d, std::string_view actor, double now);

  /// Records a decision change acknowledged to no one (the detection path):
  /// the table at once, the journal and audit writes queued. `done`, if set,
  /// runs on the writer thread with the journal write's outcome (at once,
  /// with true, when there is no writer). Never waits on the disk.
  void post(const detectors::Decision& d, std::string_view actor, double now,
            std::function<void(bool persisted)> done = {});

  /// post(), only when `d` is newer (`created` greater) than the key's
  /// latest decision or the key has none: fleet mode's "newer wins" for a
  /// decision received from another instance. The comparison and the table
  /// change are one step under the lock that orders every change, so an
  /// older decision never replaces a newer one applied meanwhile by another
  /// thread. Returns whether it was applied (listeners run only then).
  bool post_if_newer(const detectors::Decision& d, std::string_view actor, double now);

  /// Forgets expired decisions past the memory; audited as "expire". The
  /// journal and audit writes are queued.
  std::size_t sweep(double now);

  /// Waits until every write queued so far is done.
  void flush();

  const DecisionTable& table() const { return table_; }

  std::uint64_t journal_failures() const { return journal_failures_.load(std::memory_order_relaxed); }
  /// The time (the change's own `now`) of the last change whose journal
  /// write failed; -1e18 when none did.
  double last_journal_failure() const { return last_journal_failure_.load(std::memory_order_relaxed); }
  std::uint64_t audit_failures() const { return audit_failures_.load(std::memory_order_relaxed); }
  /// Reopens the audit log by its path (SIGUSR1 after a rotation), on the
  /// writer thread, after the writes queued before it. Waits for it.
  bool reopen_audit();
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
  /// One queued change for the writer thread.
  struct Write {
    enum class Kind : std::uint8_t { Put, Remove, ReopenAudit };
    Kind kind = Kind::Put;
    detectors::Decision decision;  ///< Put: the decision; Remove: the one forgotten
    const char* event = "";        ///< audit event
    std::string actor;
    double ts = 0;
    std::optional<detectors::Action> previous;
    std::function<void(bool)> done;
  };

  /// Table change under the writer's queue mutex (one order for both), then
  /// the listeners on the caller's thread. With `only_if_newer`, nothing
  /// changes (and false is returned) unless `d` is newer than the key's
  /// latest decision, checked under that same mutex.
  bool change(const detectors::Decision& d, std::string_view actor, double now, std::function<void(bool)> done,
              bool only_if_newer = false);
  void drain(std::deque<Write>& batch);  // writer thread

  DecisionStoreOptions options_;
  DecisionTable table_;
  std::unique_ptr<JournalSink> journal_;
  AuditLog audit_;
  std::mutex write_mutex_;  // orders table changes when there is no writer
  std::atomic<std::uint64_t> journal_failures_{0};
  std::atomic<double> last_journal_failure_{-1e18};
  std::atomic<std::uint64_t> audit_failures_{0};
  std::atomic<std::uint64_t> changes_{0};
  std::function<void(const detectors::Decision&, std::string_view)> listener_;
  std::function<void(const detectors::Decision&, std::string_view)> extra_listener_;
  std::function<void(const detectors::Decision&, std::string_view)> fleet_listener_;
  std::unique_ptr<SerialWriter<Write>> writer_;  ///< last: drained before the files close
};

}  // namespace dg::gateway
