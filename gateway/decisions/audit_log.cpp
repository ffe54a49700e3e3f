#include "gateway/decisions/audit_log.hpp"

#include <boost/json/serialize.hpp>

#include "gateway/decisions/decision_json.hpp"
#include "gateway/files/json_text.hpp"

namespace dg::gateway {

AuditLog::AuditLog(std::string path) : file_(std::move(path)) {
  if (!file_.path().empty()) file_.open();
}

AuditLog::~AuditLog() = default;

bool AuditLog::reopen() {
  if (file_.path().empty()) return true;
  std::lock_guard lock(mutex_);
  return file_.open();
}

bool AuditLog::record(std::string_view event, const detectors::Decision& d, std::string_view actor, double ts,
                      std::optional<detectors::Action> previous) {
  if (file_.path().empty()) return true;
  boost::json::object o;
  o["ts"] = ts;
  o["event"] = event;
  o["actor"] = actor;
  o["key_fp"] = d.key_fp;
  if (previous) o["previous_action"] = detectors::to_string(*previous);
  o["decision"] = decision_to_json(d);
  const auto line = to_json_text(o) + "\n";
  std::lock_guard lock(mutex_);
  return file_.is_open() && file_.append(line);
}

}  // namespace dg::gateway
