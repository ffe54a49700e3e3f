#include "gateway/observability/access_log.hpp"

#include "gateway/observability/log_format.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dg::gateway {

namespace {

/// Client-supplied fields longer than this are cut (a 1 MB model name would
/// make a 1 MB access line).
constexpr std::size_t kMaxFieldBytes = 256;

std::string_view bounded(std::string_view v) { return v.substr(0, kMaxFieldBytes); }

/// A field of the space-separated text line: every byte outside printable
/// ASCII, and space, quote and backslash, is written \xHH, so no client input
/// (a model name with a newline or " status=200") can forge a line or a field.
std::string text_field(std::string_view v) {
  if (v.empty()) return "-";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(v.size());
  for (const char ch : bounded(v)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c > 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (v.size() > kMaxFieldBytes) out += "...";
  return out;
}

}  // namespace

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
    return fmt::format(
        "{} {} {} {} model={} status={} action={} tokens={}+{}{} upstream_ms={:.1f} added_ms={:.2f} bytes={} id={}",
        text_field(key), text_field(e.client_ip), text_field(e.method), text_field(e.path), text_field(e.model),
        e.status, text_field(e.action), e.prompt_tokens, e.completion_tokens, e.usage_estimated ? "(est)" : "",
        e.upstream_ms, e.added_ms, e.bytes_out, text_field(e.request_id));
  // Strings through Boost.JSON (escaping; a model name is client input),
  // numbers through fmt (fixed point rather than Boost.JSON's 1.02E2 form).
  auto q = [](std::string_view v) { return boost::json::serialize(boost::json::string(bounded(v))); };
  const auto ts = log_ts_text(std::chrono::system_clock::now());
  return fmt::format(
      R"({{"ts":{},"request_id":{},"key":{},"client_ip":{},"method":{},"path":{},"model":{},"status":{},"action":{},)"
      R"("prompt_tokens":{},"completion_tokens":{},"usage_estimated":{},"upstream_ms":{:.3f},"added_ms":{:.3f},)"
      R"("total_ms":{:.3f},"bytes":{}}})",
      ts, q(e.request_id), q(key), q(e.client_ip), q(e.method), q(e.path), q(e.model), e.status, q(e.action), e.prompt_tokens,
      e.completion_tokens, e.usage_estimated, e.upstream_ms, e.added_ms, e.total_ms, e.bytes_out);
}

void AccessLog::write(const AccessEntry& e) const {
  if (!logger_->should_log(spdlog::level::info)) return;
  logger_->info(format_line(e));
}

}  // namespace dg::gateway
