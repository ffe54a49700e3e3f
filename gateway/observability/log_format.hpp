#pragma once
/// The JSON form of DistillGuard's log lines (`log.format: json`): service
/// lines and access lines share one `ts` type, Unix seconds as a JSON number
/// with millisecond precision (as the audit log, the journal and the capture
/// log write it), so one pipeline parses every line of stdout and stderr.
///
///   {"ts":1764691234.567,"level":"info","msg":"admin API listening on 127.0.0.1:9090"}
///   {"ts":1764691234.612,"request_id":"...","key":"fp:...",...}          (access_log.hpp)

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace dg::gateway {

/// `ts` text: Unix seconds with three decimals ("1764691234.567"), never an exponent.
std::string log_ts_text(std::chrono::system_clock::time_point t);

/// Appends `s` as a JSON string literal (quotes included): quote, backslash
/// and control characters escaped, so no message can break its line.
void append_json_quoted(std::string_view s, std::string& out);

/// spdlog formatter of service lines: {"ts":N,"level":"info","msg":"..."}.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace dg::gateway
