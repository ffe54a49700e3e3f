#pragma once
/// The phases at which the proxy hands control to detection and enforcement
/// (after Pingora's ProxyHttp phases): before forwarding, while output tokens
/// stream through, and once per finished exchange. Implementations are shared
/// by all workers, so every method must be thread-safe and must not block.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

/// What the enforcement phase did with a request, for logs, metrics and
/// alerts. to_string gives the label each renders (the same strings as the
/// access log's `action` field and dg_requests_total's `action` label).
enum class GateAction : std::uint8_t {
  Allow,
  Shadow,
  Throttle,
  Degrade,
  Block,
  Budget,           ///< 429: the key's output-token budget is spent
  FailClosed,       ///< 503: detection failed and the policy fails closed
  Unauthenticated,  ///< refused on its credentials before the request hook
};

/// Each action's label, and its access-log form when the client left
/// mid-response; indexed by GateAction. Literals: no allocation.
struct GateActionLabel {
  std::string_view name;
  std::string_view client_gone;
};
inline constexpr std::array<GateActionLabel, 8> kGateActionLabels{{
    {"allow", "allow+client_gone"},
    {"shadow", "shadow+client_gone"},
    {"throttle", "throttle+client_gone"},
    {"degrade", "degrade+client_gone"},
    {"block", "block+client_gone"},
    {"budget", "budget+client_gone"},
    {"fail_closed", "fail_closed+client_gone"},
    {"unauthenticated", "unauthenticated+client_gone"},
}};

constexpr std::string_view to_string(GateAction a) noexcept {
  return kGateActionLabels[static_cast<std::size_t>(a)].name;
}

/// The access log's action field: the action, qualified "+client_gone" when
/// the client left mid-response ("throttle+client_gone").
constexpr std::string_view access_log_label(GateAction a, bool client_gone) noexcept {
  const auto& l = kGateActionLabels[static_cast<std::size_t>(a)];
  return client_gone ? l.client_gone : l.name;
}

/// What the enforcement phase decided for one request.
struct GateVerdict {
  enum class Kind : std::uint8_t { Forward, Reject };
  Kind kind = Kind::Forward;
  GateAction action = GateAction::Allow;

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

/// One request's state from the request hook to the exchange hook (after
/// Envoy's per-stream filter state). The session owns it, in the frame of the
/// request's coroutine, for the life of the exchange: the request hook fills
/// it in, the session records how the exchange ended, and the exchange hook
/// reads the same object. Touched only on the session's worker thread.
struct RequestState {
  GateVerdict verdict;       ///< what the request hook decided (the session's default: forward, allow)
  bool client_gone = false;  ///< the client left mid-response (set by the session before on_exchange)
  /// The request was refused on its head (on_head): its body was never read,
  /// so the exchange the hooks see carries no request features.
  bool refused_on_head = false;
  /// Prompt features the enforcer analyzed at request time, for an exchange
  /// the proxy hands over without them (Enforcer::set_analyze_prompts).
  std::optional<detectors::PromptFeatures> prompt;
};

/// Hook points of the proxy. The default implementation allows everything.
class ProxyHooks {
 public:
  virtual ~ProxyHooks() = default;

  /// When a request's head has arrived and its costly body (large, chunked or
  /// awaited with 100-continue: the connection decides) has not been read;
  /// a small body is simply read and left to on_request, so that detection
  /// learns what a refused key still asks.
  /// `info` has the identity and route, no body (`request` is null). A
  /// Reject verdict put in `state.verdict` is answered at once: the body is
  /// not read, no 100 Continue is sent, the connection closes, and on_request
  /// is not called. Anything else is discarded and on_request decides as
  /// usual, so this may only refuse what on_request would refuse for any body
  /// (a blocked key, a spent rate limit), and must consume nothing.
  virtual void on_head(const RequestInfo& info, RequestState& state) {
    (void)info;
    (void)state;
  }

  /// Before forwarding: fills `state.verdict` (forward, maybe rewritten, or
  /// reject) and whatever else of `state` the exchange hook will need.
  virtual void on_request(const RequestInfo& info, RequestState& state) {
    (void)info;
    (void)state;
  }

  /// After the exchange finished (response fully relayed, or the client left):
  /// feeds detection, capture and metrics. `state` is the object on_request
  /// filled, for the same request.
  virtual void on_exchange(const detectors::Exchange& exchange, const RequestState& state) {
    (void)exchange;
    (void)state;
  }
};

}  // namespace dg::gateway
