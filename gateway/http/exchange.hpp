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

/// Handles one complete request: identity, request features, the request
/// hook, the upstream exchange (or the hook's refusal), then the exchange
/// hook, capture and access log. `arrived` and `ts` are when its head came
/// in. Returns whether the client connection stays open.
template <class ClientStream>
net::awaitable<bool> handle_request(WorkerContext& ctx, ClientStream& client, const std::string& peer_ip,
                                    http::request<http::string_body>& req, std::chrono::steady_clock::time_point arrived,
                                    double ts) {
  using Clock = std::chrono::steady_clock;
  const auto& cfg = ctx.cfg;
  const unsigned version = req.version();
  const bool client_keep_alive = req.keep_alive() && !ctx.draining;
  const std::string target(req.target());
  const std::string path(detail::path_of(target));
  const std::string method(req.method_string());
  const std::string request_id = request_id_for(req["x-request-id"]);
  // (A named vector, not a braced temporary in the co_await: GCC 12 rejects that.)
  ctx.stats.requests.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.bytes_from_clients.fetch_add(req.body().size(), std::memory_order_relaxed);
  if (req.body().size() >= ProxyStats::kLargeBodyBytes) ctx.stats.large_bodies.fetch_add(1, std::memory_order_relaxed);

  detectors::Exchange ex;
  ex.ts = ts;
  ex.method = method;
  ex.path = path;
  ex.user_agent = std::string(req[http::field::user_agent]);
  if (!cfg.identity.tenant_header.empty()) ex.tenant = std::string(req[cfg.identity.tenant_header]);
  const auto fwd = resolve_forwarding(peer_ip, req["X-Forwarded-For"], req["X-Forwarded-Proto"], cfg.trusted_proxies);
  ex.client_ip = fwd.client_ip;

  const auto identity = resolve_identity(req, cfg.identity.key_headers, cfg.identity.tenant_header);
  const auto key = identity.key;
  if (!key.empty()) ex.key_fp = key_fingerprint(key, cfg.identity.fingerprint_salt);

  std::string body = std::move(req.body());
  const auto extracted = extract_request_features(path, body);
  ex.request = extracted.features;
  if (ctx.analyzer && (!extracted.text.system.empty() || !extracted.text.last_user.empty()))
    if (auto analyzer = ctx.analyzer()) ex.request.prompt = analyzer->analyze(extracted.text);
  if (!body.empty() && !extracted.features.body_is_json) ctx.stats.non_json_bodies.fetch_add(1, std::memory_order_relaxed);

  // This request's state from the request hook to the exchange hook (lives
  // in this coroutine's frame: no allocation).
  RequestState state;
  Clock::time_point upstream_start{}, upstream_done{};
  std::uint64_t bytes_out = 0;
  bool keep_open = client_keep_alive;

  auto finish = [&](int status) {
    const auto done = Clock::now();
    ex.response.status = status;
    ex.response.latency_ms = detail::elapsed_ms(arrived, done);
    const double upstream_ms = upstream_start == Clock::time_point{} ? 0 : detail::elapsed_ms(upstream_start, upstream_done == Clock::time_point{} ? done : upstream_done);
    ctx.stats.bytes_to_clients.fetch_add(bytes_out, std::memory_order_relaxed);
    try {
      ctx.hooks.on_exchange(ex, state);
    } catch (const std::exception& e) {
      ctx.stats.hook_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("on_exchange hook failed: {}", e.what());
    }
    if (ctx.capture && !ctx.capture->append(make_traffic_record(ex, body, ctx.capture->include_content(), request_id)))
      ctx.stats.capture_dropped.fetch_add(1, std::memory_order_relaxed);
    const AccessEntry entry{request_id, ex.key_fp, ex.client_ip, ex.method, ex.path, ex.request.model,
                            access_log_label(state.verdict.action, state.client_gone), status,
                            ex.response.prompt_tokens, ex.response.completion_tokens, ex.response.usage_estimated,
                            upstream_ms, ex.response.latency_ms - upstream_ms, ex.response.latency_ms, bytes_out};
    ctx.access.write(entry);
    record_access_latency(default_metrics(), entry);
  };

  if (const auto refusal = identity_refusal(identity, cfg.identity.allow_anonymous)) {
    // Refused on the head: the body was not read, so the connection closes.
    state.verdict.action = GateAction::Unauthenticated;
    // (A named result, not `(co_await ...).bytes`: GCC 12 cannot type that in a template.)
    const auto sent = co_await write_error(ctx, client, *refusal, version, false, kNoHeaders, request_id);
    bytes_out += sent.bytes;
    finish(static_cast<int>(refusal->status));
    co_return false;
  }

  RequestInfo info;
  info.now = ts;
  info.key_fp = ex.key_fp;
  info.client_ip = ex.client_ip;
  info.user_agent = ex.user_agent;
  info.method = ex.method;
  info.path = ex.path;
  info.tenant = ex.tenant;
  info.request = &extracted;
  info.body = body;  // degrade rewrites it (GateVerdict::rewritten_body)
  try {
    ctx.hooks.on_request(info, state);
  } catch (const std::exception& e) {
    // Fail open (DESIGN.md rule 6): keep serving, count it, say so.
    ctx.stats.hook_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("on_request hook failed, forwarding unchanged: {}", e.what());
    state = RequestState{};
  }
  const GateVerdict& verdict = state.verdict;
  if (verdict.kind == GateVerdict::Kind::Reject) {
    ctx.stats.rejected_by_policy.fetch_add(1, std::memory_order_relaxed);
    const int status = verdict.status >= 400 && verdict.status <= 599 ? verdict.status : 403;
    const ProxyError err{static_cast<http::status>(status),
                         verdict.error_type.empty() ? std::string_view("permission_denied") : std::string_view(verdict.error_type),
                         verdict.error_code, verdict.message.empty() ? "Request refused by policy." : verdict.message};
    const auto sent = co_await write_error(ctx, client, err, version, client_keep_alive, verdict.headers, request_id);
    bytes_out += sent.bytes;
    finish(status);
    co_return !sent.ec && keep_open;
  }

  // The upstream request: same method, target and end-to-end headers.
  http::request<http::string_body> up_req{req.method(), ctx.pool.target().base_path + target, 11};
  up_req.base() = req.base();
  up_req.version(11);
  up_req.target(ctx.pool.target().base_path + target);
  strip_hop_by_hop(up_req);
  strip_unlisted_credentials(up_req, cfg.identity.key_headers);
  up_req.erase(http::field::expect);  // answered here already
  apply_forwarding(up_req, fwd);
  up_req.set("x-request-id", request_id);  // a client's insane one is replaced, never forwarded
  up_req.set(http::field::host, ctx.pool.target().host_header);
  up_req.keep_alive(true);
  if (reads_response(detectors::endpoint_from_path(path))) up_req.set(http::field::accept_encoding, "identity");
  if (verdict.rewritten_body) up_req.body() = *verdict.rewritten_body;
  else if (ctx.capture) up_req.body() = body;
  else up_req.body() = std::move(body);
  up_req.prepare_payload();

  upstream_start = Clock::now();
  auto [aec, conn, reused] = co_await ctx.pool.acquire();
  if (aec) {
    ctx.stats.upstream_errors.fetch_add(1, std::memory_order_relaxed);
    const bool timeout = aec == beast::error::timeout;
    if (timeout) ctx.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("upstream connect to {}:{} failed: {}", ctx.pool.target().host, ctx.pool.target().port, aec.message());
    const ProxyError err{http::status::bad_gateway, "upstream_error", "upstream_unreachable",
                         "The upstream API could not be reached."};
    const auto sent = co_await write_error(ctx, client, err, version, client_keep_alive, kNoHeaders, request_id);
    bytes_out += sent.bytes;
    finish(502);
    co_return !sent.ec && keep_open;
  }

  const bool is_head = req.method() == http::verb::head;
  // (Not a ?: of two co_awaits: GCC 12 miscompiles temporaries in that form.)
  RelayResult r;
  if (conn->is_tls())
    r = co_await forward_and_relay(ctx, conn->tls(), conn->buffer(), up_req, client, version, client_keep_alive, is_head,
                                   verdict.output_token_budget, verdict.stream_budget.get(), request_id);
  else
    r = co_await forward_and_relay(ctx, conn->plain(), conn->buffer(), up_req, client, version, client_keep_alive, is_head,
                                   verdict.output_token_budget, verdict.stream_budget.get(), request_id);
  upstream_done = r.upstream_done;
  bytes_out = r.bytes_out;
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
    bytes_out += sent.bytes;
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

extern template net::awaitable<bool> handle_request<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&,
                                                                      const std::string&,
                                                                      http::request<http::string_body>&,
                                                                      std::chrono::steady_clock::time_point, double);

}  // namespace dg::gateway
