#pragma once
/// The phases at which the proxy hands control to detection and enforcement
/// (after Pingora's ProxyHttp phases): before forwarding, while output tokens
/// stream through, and once per finished exchange. Implementations are shared
/// by all workers, so every method must be thread-safe and must not block.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "detectors/features.hpp"
#include "gateway/traffic/request_features.hpp"

namespace dg::gateway {

/// Who is asking and for what; valid only during the call.
struct RequestInfo {
  double now = 0;                  ///< arrival time, Unix seconds
  std::string_view key_fp;         ///< "fp:..." (empty for anonymous traffic)
  std::string_view client_ip;
  std::string_view user_agent;
  std::string_view method;
  std::string_view path;
  std::string_view tenant;         ///< tenant header value, if configured
  const ExtractedRequest* request = nullptr;  ///< features of the body (body_is_json may be false)
  std::string_view body;           ///< the raw request body (degrade rewrites it into GateVerdict::rewritten_body)
};

/// A key's output-token budget shared by all of its streams in flight, so
/// that N concurrent streams cannot each spend the whole remainder. The
/// proxy asks it before relaying each piece of an SSE stream; dropping it
/// ends the stream's claim.
class StreamBudget {
 public:
  virtual ~StreamBudget() = default;
  /// This stream has relayed `tokens` output tokens so far (non-decreasing).
  /// Returns how many it may relay in all: `tokens` plus what is left of the
  /// key's budget after its finished exchanges and its other streams.
  virtual std::uint64_t allowance(std::uint64_t tokens) = 0;
};

/// What the enforcement phase decided for one request.
struct GateVerdict {
  enum class Kind : std::uint8_t { Forward, Reject };
  Kind kind = Kind::Forward;
  std::string action = "allow";    ///< allow | shadow | throttle | degrade | block (for logs and metrics)

  // Reject: the proxy answers with an OpenAI-style error body.
  int status = 0;                  ///< e.g. 429, 403
  std::string error_type;          ///< e.g. "rate_limit_exceeded", "permission_denied"
  std::string error_code;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;  ///< e.g. Retry-After, x-ratelimit-*

  // Forward: an optional rewritten body (degrade) and an output-token budget
  // after which a stream is ended cleanly with an SSE error event.
  std::optional<std::string> rewritten_body;
  std::optional<std::uint64_t> output_token_budget;
  /// When set (with output_token_budget), streams consult it as they go
  /// instead of keeping the remainder known at admission.
  std::shared_ptr<StreamBudget> stream_budget;
};

/// Hook points of the proxy. The default implementation allows everything.
class ProxyHooks {
 public:
  virtual ~ProxyHooks() = default;

  /// Before forwarding; decides forward (maybe rewritten) or reject.
  virtual GateVerdict on_request(const RequestInfo& info) {
    (void)info;
    return {};
  }

  /// After the exchange finished (response fully relayed, or the client left):
  /// feeds detection, capture and metrics.
  virtual void on_exchange(const detectors::Exchange& exchange) { (void)exchange; }
};

}  // namespace dg::gateway
