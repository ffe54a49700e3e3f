#include "gateway/decisions/audit_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include <cerrno>

#include "gateway/decisions/decision_json.hpp"
#include "gateway/decisions/json_text.hpp"

namespace dg::gateway {

AuditLog::AuditLog(std::string path) : path_(std::move(path)) {
  if (!path_.empty()) fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

bool AuditLog::reopen() {
  if (path_.empty()) return true;
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return fd_ >= 0;
}

bool AuditLog::record(std::string_view event, const detectors::Decision& d, std::string_view actor, double ts,
                      std::optional<detectors::Action> previous) {
  if (path_.empty()) return true;
  boost::json::object o;
  o["ts"] = ts;
  o["event"] = event;
  o["actor"] = actor;
  o["key_fp"] = d.key_fp;
  if (previous) o["previous_action"] = detectors::to_string(*previous);
  o["decision"] = decision_to_json(d);
  const auto line = to_json_text(o) + "\n";
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return false;
  std::string_view rest = line;
  while (!rest.empty()) {
    const auto n = ::write(fd_, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace dg::gateway
