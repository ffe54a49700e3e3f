#pragma once
/// One exchange: a complete request from the client, its checks and hooks,
/// the upstream request and the relay of its response, and the report of the
/// exchange (hooks, capture, access log). Generic over the client stream
/// (beast::tcp_stream in the product, compiled once in exchange.cpp;
/// beast::test::stream in the unit tests).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "gateway/enforce/proxy_hooks.hpp"
#include "gateway/http/header_rules.hpp"
#include "gateway/http/local_reply.hpp"
#include "gateway/http/request_id.hpp"
#include "gateway/http/response_relay.hpp"
#include "gateway/http/worker_context.hpp"
#include "gateway/net/net.hpp"
#include "gateway/observability/access_metrics.hpp"
#include "gateway/observability/dg_metrics.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/request_features.hpp"

namespace dg::gateway {

/// The error for a request whose credentials are missing or cannot name one
/// key; nullopt when it may go on.
std::optional<ProxyError> identity_refusal(const Identity& id, bool allow_anonymous);

/// The endpoints whose response the usage scanner reads (token accounting,
/// output budgets, detection). Their upstream request asks for an
/// uncompressed body whatever the client accepts: a gzip answer would hide
/// its usage (issue #12.4), and the client gets it uncompressed too.
bool reads_response(detectors::Endpoint e);

namespace detail {
inline std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
inline double elapsed_ms(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}
}  // namespace detail

/// What a request's head says, for the hooks and the exchange record: the
/// route, the client, the key (fingerprinted), the request id.
struct RequestHead {
  detectors::Exchange ex;  ///< ts, method, path, user agent, tenant, client ip, key fingerprint
  Forwarding fwd;
  Identity identity;
  std::string target;
  std::string request_id;
};
RequestHead read_request_head(const config::ProxyConfig& cfg, const http::request_header<>& head,
                              const std::string& peer_ip, double ts);

/// The hooks' view of a request (`request`, `body`: none, for the head hook).
RequestInfo request_info(const detectors::Exchange& ex, const ExtractedRequest* request, std::string_view body);

/// The error a Reject verdict is answered with (its type and code are views
/// of the verdict's).
ProxyError policy_refusal(const GateVerdict& verdict);

/// When the parts of an exchange happened, and what was sent to the client.
struct ExchangeTimes {
  std::chrono::steady_clock::time_point arrived, upstream_start{}, upstream_done{};
  std::uint64_t bytes_out = 0;
};

/// Reports a finished exchange: the exchange hook, the capture line (when
/// `body` is given and capture is on), the access log and its latency metrics.
void report_exchange(WorkerContext& ctx, detectors::Exchange& ex, const RequestState& state, int status,
                     const ExchangeTimes& times, const std::string& request_id, const std::string* body);

/// Asks the head hook about a request whose costly body (large, chunked or
/// awaited with 100-continue) has not been read. When it
/// refuses, answers (the body unread, no 100 Continue), reports the exchange
/// and returns true: the caller closes the connection.
template <class ClientStream>
net::awaitable<bool> refuse_on_head(WorkerContext& ctx, ClientStream& client, const std::string& peer_ip,
                                    const http::request_header<>& head,
                                    std::chrono::steady_clock::time_point arrived, double ts) {
  auto h = read_request_head(ctx.cfg, head, peer_ip, ts);
  if (h.ex.key_fp.empty()) co_return false;  // nothing is decided for anonymous traffic
  RequestState state;
  auto info = request_info(h.ex, nullptr, {});
  try {
    ctx.hooks.on_head(info, state);
  } catch (const std::exception& e) {
    // Fail open: on_request decides once the body is read.
    ctx.stats.hook_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("on_head hook failed, reading the body: {}", e.what());
    co_return false;
  }
  if (state.verdict.kind != GateVerdict::Kind::Reject) co_return false;
  state.refused_on_head = true;
  ctx.stats.requests.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.rejected_by_policy.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.key_refused_on_head.fetch_add(1, std::memory_order_relaxed);
  const auto err = policy_refusal(state.verdict);
  ExchangeTimes times{arrived};
  const auto sent = co_await write_error(ctx, client, err, head.version(), false, state.verdict.headers, h.request_id);
  times.bytes_out = sent.bytes;
  report_exchange(ctx, h.ex, state, static_cast<int>(err.status), times, h.request_id, nullptr);
  co_return true;
}

/// Handles one complete request: identity, request features, the request
/// hook, the upstream exchange (or the hook's refusal), then the exchange
/// hook, capture and access log. `arrived` and `ts` are when its head came
/// in. Returns whether the client connection stays open. `req` is consumed:
/// its body and head move into the upstream request.
template <class ClientStream>
net::awaitable<bool> handle_request(WorkerContext& ctx, ClientStream& client, const std::string& peer_ip,
                                    http::request<http::string_body>& req, std::chrono::steady_clock::time_point arrived,
                                    double ts) {
  using Clock = std::chrono::steady_clock;
  const auto& cfg = ctx.cfg;
  const unsigned version = req.version();
  const bool client_keep_alive = req.keep_alive() && !ctx.draining;
  auto h = read_request_head(cfg, req.base(), peer_ip, ts);
  const std::string& target = h.target;
  const std::string& request_id = h.request_id;
  const auto& fwd = h.fwd;
  const auto& identity = h.identity;
  detectors::Exchange& ex = h.ex;
  ctx.stats.requests.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.bytes_from_clients.fetch_add(req.body().size(), std::memory_order_relaxed);
  if (req.body().size() >= ProxyStats::kLargeBodyBytes) ctx.stats.large_bodies.fetch_add(1, std::memory_order_relaxed);

  std::string body = std::move(req.body());
  const auto extracted = extract_request_features(ex.path, body);
  ex.request = extracted.features;
  if (ctx.analyzer && (!extracted.text.system.empty() || !extracted.text.last_user.empty()))
    if (auto analyzer = ctx.analyzer()) ex.request.prompt = analyzer->analyze(extracted.text);
  if (!body.empty() && !extracted.features.body_is_json) ctx.stats.non_json_bodies.fetch_add(1, std::memory_order_relaxed);

  // This request's state from the request hook to the exchange hook (lives
  // in this coroutine's frame: no allocation).
  RequestState state;
  ExchangeTimes times{arrived};
  bool keep_open = client_keep_alive;

  auto finish = [&](int status) { report_exchange(ctx, ex, state, status, times, request_id, &body); };

  if (const auto refusal = identity_refusal(identity, cfg.identity.allow_anonymous)) {
    // Refused on the head: the body was not read, so the connection closes.
    state.verdict.action = GateAction::Unauthenticated;
    // (A named result, not `(co_await ...).bytes`: GCC 12 cannot type that in a template.)
    const auto sent = co_await write_error(ctx, client, *refusal, version, false, kNoHeaders, request_id);
    times.bytes_out += sent.bytes;
    finish(static_cast<int>(refusal->status));
    co_return false;
  }

  try {
    // (The body: degrade rewrites it into GateVerdict::rewritten_body.)
    ctx.hooks.on_request(request_info(ex, &extracted, body), state);
  } catch (const std::exception& e) {
    // Fail open (DESIGN.md rule 6): keep serving, count it, say so.
    ctx.stats.hook_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("on_request hook failed, forwarding unchanged: {}", e.what());
    state = RequestState{};
  }
  const GateVerdict& verdict = state.verdict;
  if (verdict.kind == GateVerdict::Kind::Reject) {
    ctx.stats.rejected_by_policy.fetch_add(1, std::memory_order_relaxed);
    const auto err = policy_refusal(verdict);
    const auto sent = co_await write_error(ctx, client, err, version, client_keep_alive, verdict.headers, request_id);
    times.bytes_out += sent.bytes;
    finish(static_cast<int>(err.status));
    co_return !sent.ec && keep_open;
  }

  // The upstream request: same method, target and end-to-end headers.
  // The client's head is moved, not copied (the caller drops `req` after this).
  const bool is_head = req.method() == http::verb::head;
  http::request<http::string_body> up_req;
  up_req.base() = std::move(req.base());
  up_req.version(11);
  up_req.target(ctx.pool.target().base_path + target);
  strip_hop_by_hop(up_req);
  strip_unlisted_credentials(up_req, cfg.identity.key_headers);
  up_req.erase(http::field::expect);  // answered here already
  apply_forwarding(up_req, fwd);
  up_req.set("x-request-id", request_id);  // a client's insane one is replaced, never forwarded
  up_req.set(http::field::host, ctx.pool.target().host_header);
  up_req.keep_alive(true);
  if (reads_response(detectors::endpoint_from_path(ex.path))) up_req.set(http::field::accept_encoding, "identity");
  if (verdict.rewritten_body) up_req.body() = *verdict.rewritten_body;
  else if (ctx.capture) up_req.body() = body;
  else up_req.body() = std::move(body);
  up_req.prepare_payload();

  times.upstream_start = Clock::now();
  auto [aec, conn, reused] = co_await ctx.pool.acquire();
  if (aec) {
    ctx.stats.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    const bool timeout = aec == beast::error::timeout;
    if (timeout) ctx.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("upstream connect to {}:{} failed: {}", ctx.pool.target().host, ctx.pool.target().port, aec.message());
    const ProxyError err{http::status::bad_gateway, "upstream_error", "upstream_unreachable",
                         "The upstream API could not be reached."};
    const auto sent = co_await write_error(ctx, client, err, version, client_keep_alive, kNoHeaders, request_id);
    times.bytes_out += sent.bytes;
    finish(502);
    co_return !sent.ec && keep_open;
  }

  // (Not a ?: of two co_awaits: GCC 12 miscompiles temporaries in that form.)
  RelayResult r;
  if (conn->is_tls())
    r = co_await forward_and_relay(ctx, conn->tls(), conn->buffer(), up_req, client, version, client_keep_alive, is_head,
                                   verdict.output_token_budget, verdict.stream_budget.get(), request_id);
  else
    r = co_await forward_and_relay(ctx, conn->plain(), conn->buffer(), up_req, client, version, client_keep_alive, is_head,
                                   verdict.output_token_budget, verdict.stream_budget.get(), request_id);
  times.upstream_done = r.upstream_done;
  times.bytes_out = r.bytes_out;
  ex.response.prompt_tokens = r.usage.prompt_tokens;
  ex.response.completion_tokens = r.usage.completion_tokens;
  ex.response.usage_estimated = r.usage.estimated && r.status >= 200 && r.status < 300;
  if (ex.response.usage_estimated && !r.usage.prompt_reported) ex.response.prompt_tokens = (ex.request.prompt_chars + 3) / 4;
  if (r.status < 200 || r.status >= 300) {
    if (!r.usage.completion_reported) ex.response.completion_tokens = 0;
  }

  if (r.upstream_reusable) ctx.pool.release(std::move(conn));
  else conn->close();

  if (r.error) {
    ctx.stats.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    const auto sent = co_await write_error(ctx, client, *r.error, version, client_keep_alive, kNoHeaders, request_id);
    times.bytes_out += sent.bytes;
    finish(static_cast<int>(r.error->status));
    co_return !sent.ec && keep_open;
  }
  if (r.response_started) ctx.stats.count_status(r.status);
  if (r.client_gone) {
    ctx.stats.client_aborts.fetch_add(1, std::memory_order_relaxed);
    state.client_gone = true;
  }
  finish(r.status);
  co_return r.client_ok && keep_open;
}

extern template net::awaitable<bool> refuse_on_head<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&,
                                                                      const std::string&, const http::request_header<>&,
                                                                      std::chrono::steady_clock::time_point, double);
extern template net::awaitable<bool> handle_request<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&,
                                                                      const std::string&,
                                                                      http::request<http::string_body>&,
                                                                      std::chrono::steady_clock::time_point, double);

}  // namespace dg::gateway
