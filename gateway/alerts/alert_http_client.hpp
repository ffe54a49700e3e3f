#pragma once
/// One-shot HTTP/1.1 POST for alert delivery, over http:// or https:// (TLS
/// with peer and host-name verification unless the sink disables it). Runs on
/// the alert dispatcher's io_context only; one connection per attempt (alerts
/// are rare, and a fresh connection makes every retry independent).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/alerts_config.hpp"

namespace dg::gateway {

struct HttpPostResult {
  int status = 0;                    ///< 0 when no response was read
  boost::system::error_code ec;      ///< transport error (connect, TLS, read, timeout)
  bool timed_out = false;
  double retry_after_seconds = -1;   ///< from a Retry-After header (seconds form), -1 when absent
  std::string body_excerpt;          ///< first bytes of the response body, for the dead-letter record

  bool ok() const noexcept { return !ec && status >= 200 && status < 300; }
  /// 5xx, 408, 429, timeouts and transport errors are worth another attempt;
  /// other 4xx are the receiver's final word.
  bool retryable() const noexcept { return ec || status >= 500 || status == 429 || status == 408 || status == 0; }
  std::string describe() const;
};

class AlertHttpClient {
 public:
  /// Throws boost::system::system_error when the sink's ca_file cannot be loaded (start-up).
  AlertHttpClient(boost::asio::any_io_executor ex, config::AlertSinkConfig sink);
  ~AlertHttpClient();

  /// POSTs `body` with `headers` (Host, Content-Type, Content-Length and
  /// User-Agent are added). The whole attempt is bounded by the sink timeout.
  boost::asio::awaitable<HttpPostResult> post(const std::string& body,
                                              const std::vector<std::pair<std::string, std::string>>& headers);

  /// Aborts every attempt in flight (their results carry operation_aborted).
  /// Call on the client's executor.
  void cancel_all();

  const config::AlertSinkConfig& sink() const noexcept { return sink_; }

 private:
  boost::asio::any_io_executor ex_;
  config::AlertSinkConfig sink_;
  std::unique_ptr<boost::asio::ssl::context> ssl_;
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, std::function<void()>> cancellers_;
};

}  // namespace dg::gateway
