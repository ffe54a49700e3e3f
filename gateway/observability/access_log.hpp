#pragma once
/// One access line per exchange through spdlog, as text or as a JSON object
/// per line (its `ts` of the same type as the service lines', log_format.hpp). Names keys only by fingerprint; never logs a key or prompt text.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace dg::gateway {

struct AccessEntry {
  std::string_view request_id;  ///< x-request-id of the exchange (request_id.hpp)
  std::string_view key_fp;
  std::string_view client_ip;
  std::string_view method;
  std::string_view path;
  std::string_view model;
  std::string_view action;  ///< verdict action (allow, throttle, ...)
  int status = 0;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  bool usage_estimated = false;
  double upstream_ms = 0;  ///< request sent upstream -> last upstream byte
  double added_ms = 0;     ///< total minus upstream: time the proxy itself added
  double total_ms = 0;
  /// Bytes written to the client for this exchange: heads (interim ones too),
  /// body and chunk framing, or the proxy's own reply (nginx's $bytes_sent).
  std::uint64_t bytes_out = 0;
};

class AccessLog {
 public:
  /// `format` is "text" or "json"; the logger is spdlog's "access" logger
  /// (created on stdout when it does not exist yet).
  explicit AccessLog(std::string format);
  void write(const AccessEntry& e) const;
  /// Formats a line without logging it (tests).
  std::string format_line(const AccessEntry& e) const;

 private:
  bool json_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace dg::gateway
