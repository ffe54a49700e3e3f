#pragma once
/// The audit log: one JSON line per decision change (created, escalated,
/// lifted by an operator, expired), with who did it and why. Keys appear only
/// as fingerprints. Thread-safe; each line is appended whole under a mutex
/// (a torn line is cut off again), so lines never interleave.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "detectors/decision.hpp"
#include "gateway/files/append_file.hpp"

namespace dg::gateway {

class AuditLog {
 public:
  /// An empty path disables the log (every call is a no-op).
  explicit AuditLog(std::string path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// `event`: "decision" | "lift" | "expire" | "remove". `actor`: "detector",
  /// "operator" or "system". `previous` is the action the key had before.
  /// Returns false on an I/O failure.
  bool record(std::string_view event, const detectors::Decision& d, std::string_view actor, double ts,
              std::optional<detectors::Action> previous = std::nullopt);

  const std::string& path() const { return file_.path(); }

  /// Closes and reopens the file by its path (after a rotation moved it:
  /// SIGUSR1). Returns false when it cannot be opened (records then fail
  /// until the next reopen).
  bool reopen();

 private:
  std::mutex mutex_;
  AppendFile file_;
};

}  // namespace dg::gateway
