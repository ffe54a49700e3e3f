#include "gateway/access_log.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dg::gateway {

AccessLog::AccessLog(std::string format) : json_(format == "json") {
  logger_ = spdlog::get("access");
  if (!logger_) {
    try {
      logger_ = spdlog::stdout_logger_mt("access");
    } catch (const spdlog::spdlog_ex&) {  // created concurrently by another server
      logger_ = spdlog::get("access");
    }
  }
  // A JSON line is the whole message; the text form gets spdlog's usual prefix.
  if (json_) logger_->set_pattern("%v");
}

std::string AccessLog::format_line(const AccessEntry& e) const {
  const std::string_view key = e.key_fp.empty() ? std::string_view("anonymous") : e.key_fp;
  if (!json_)
    return fmt::format("{} {} {} {} model={} status={} action={} tokens={}+{}{} upstream_ms={:.1f} added_ms={:.2f} bytes={}",
                       key, e.client_ip, e.method, e.path, e.model.empty() ? "-" : e.model, e.status, e.action,
                       e.prompt_tokens, e.completion_tokens, e.usage_estimated ? "(est)" : "", e.upstream_ms,
                       e.added_ms, e.bytes_out);
  boost::json::object o;
  o["ts"] = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  o["key"] = key;
  o["client_ip"] = e.client_ip;
  o["method"] = e.method;
  o["path"] = e.path;
  o["model"] = e.model;
  o["status"] = e.status;
  o["action"] = e.action;
  o["prompt_tokens"] = e.prompt_tokens;
  o["completion_tokens"] = e.completion_tokens;
  o["usage_estimated"] = e.usage_estimated;
  o["upstream_ms"] = e.upstream_ms;
  o["added_ms"] = e.added_ms;
  o["total_ms"] = e.total_ms;
  o["bytes"] = e.bytes_out;
  return boost::json::serialize(o);
}

void AccessLog::write(const AccessEntry& e) const {
  if (!logger_->should_log(spdlog::level::info)) return;
  logger_->info(format_line(e));
}

}  // namespace dg::gateway
