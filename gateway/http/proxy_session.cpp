#include "gateway/http/proxy_session.hpp"

#include "gateway/observability/dg_metrics.hpp"
#include "gateway/observability/access_metrics.hpp"

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "gateway/http/header_rules.hpp"
#include "gateway/http/request_head_check.hpp"
#include "gateway/http/request_id.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/net/openai_error.hpp"
#include "gateway/traffic/request_features.hpp"
#include "gateway/http/usage_scanner.hpp"

namespace dg::gateway {

namespace {

using Clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
using error_code = boost::system::error_code;

/// Interim (1xx) heads accepted before a final response; more is a broken upstream.
constexpr int kMaxInterimHeads = 16;

/// A connection's read buffer above this after an exchange is given back, so
/// an idle keep-alive connection that once carried an 8 MB body does not keep
/// 8 MB (issue #12.12).
constexpr std::size_t kKeepBufferBytes = 64 * 1024;

double elapsed_ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

/// A proxy-made error response (OpenAI shape).
struct ProxyError {
  http::status status;
  std::string_view type;
  std::string_view code;
  std::string message;
};

/// What a reply written by the proxy itself cost: the write's error and the
/// bytes that reached the socket (head and body, as the access log counts).
struct Sent {
  error_code ec;
  std::uint64_t bytes = 0;
};

/// An error answered by the proxy itself; `request_id` (when the exchange has
/// one) goes out as x-request-id beside the `extra` headers.
net::awaitable<Sent> write_error(WorkerContext& ctx, beast::tcp_stream& client, const ProxyError& err,
                                       unsigned version, bool keep_alive,
                                       const std::vector<std::pair<std::string, std::string>>& extra = {},
                                       std::string_view request_id = {}) {
  http::response<http::string_body> res{err.status, version};
  res.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : extra) res.set(name, value);
  if (!request_id.empty()) res.set("x-request-id", request_id);
  res.body() = openai_error_body(err.message, err.type, err.code);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  ctx.stats.count_status(static_cast<int>(err.status));
  client.expires_after(ms(ctx.cfg.timeouts.upstream_idle_ms));
  auto [ec, n] = co_await http::async_write(client, res, kUse);
  co_return Sent{ec, n};
}

/// The proxy's own health endpoint, answered locally and never forwarded:
/// 200 while serving, 503 once draining. Unauthenticated (probes carry no
/// key) and without detection, enforcement, access log or capture.
constexpr std::string_view kHealthPath = "/healthz";

bool is_health_probe(const http::request<http::string_body>& req) {
  const auto target = std::string_view(req.target());
  const auto path = target.substr(0, target.find('?'));
  return path == kHealthPath && (req.method() == http::verb::get || req.method() == http::verb::head);
}

net::awaitable<error_code> write_health(WorkerContext& ctx, beast::tcp_stream& client, unsigned version,
                                        bool head_only, bool keep_alive) {
  const bool serving = !ctx.draining;
  const auto status = serving ? http::status::ok : http::status::service_unavailable;
  const std::string_view body = serving ? R"({"status":"ok"})" : R"({"status":"draining"})";
  client.expires_after(ms(ctx.cfg.timeouts.client_header_ms));
  const auto head = [&](auto& res) {
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive && serving);
    res.content_length(body.size());  // HEAD: the length of the GET body, no body
  };
  if (head_only) {
    http::response<http::empty_body> res{status, version};
    head(res);
    auto [ec, n] = co_await http::async_write(client, res, kUse);
    co_return ec;
  }
  http::response<http::string_body> res{status, version};
  head(res);
  res.body() = body;
  auto [ec, n] = co_await http::async_write(client, res, kUse);
  co_return ec;
}

/// Close after an error reply without making the client miss it: half-close,
/// then read and discard what the client still sends (bounded in time and
/// bytes), so the kernel does not answer the unread data with a reset.
net::awaitable<void> lingering_close(beast::tcp_stream& client) {
  error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 16 * 1024> sink;
  std::size_t drained = 0;
  client.expires_after(ms(2000));
  while (drained < 64 * 1024 * 1024) {
    auto [rec, n] = co_await client.async_read_some(net::buffer(sink), kUse);
    if (rec) break;
    drained += n;
  }
  client.socket().close(ec);
}

/// The error for a request whose credentials are missing or cannot name one
/// key; nullopt when it may go on.
std::optional<ProxyError> identity_refusal(const Identity& id, bool allow_anonymous) {
  switch (id.error) {
    case IdentityError::Ambiguous:
      return ProxyError{http::status::unauthorized, "invalid_request_error", "ambiguous_api_key",
                        "The request carries more than one API key (in '" + std::string(id.header) +
                            "'). Send exactly one, in Authorization (Bearer KEY), api-key or x-api-key."};
    case IdentityError::ConnectionNamesIdentity:
      return ProxyError{http::status::bad_request, "invalid_request_error", "invalid_connection_header",
                        "The Connection header may not name the identity header '" + std::string(id.header) + "'."};
    case IdentityError::None:
      break;
  }
  if (id.key.empty() && !allow_anonymous)
    return ProxyError{http::status::unauthorized, "invalid_request_error", "missing_api_key",
                      "You didn't provide an API key. Provide it in the Authorization header (Bearer KEY), "
                      "or in an api-key or x-api-key header."};
  return std::nullopt;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

/// The endpoints whose response the usage scanner reads (token accounting,
/// output budgets, detection). Their upstream request asks for an
/// uncompressed body whatever the client accepts: a gzip answer would hide
/// its usage (issue #12.4), and the client gets it uncompressed too.
bool reads_response(detectors::Endpoint e) {
  using detectors::Endpoint;
  return e == Endpoint::ChatCompletions || e == Endpoint::Completions || e == Endpoint::Responses ||
         e == Endpoint::Embeddings || e == Endpoint::Messages;
}

/// The relay of one response from upstream to client, generic over plain and
/// TLS upstream streams.
struct RelayResult {
  int status = 0;                 ///< status the client got (or that was recorded)
  bool upstream_reusable = false; ///< response read completely and upstream keeps the connection
  bool client_ok = true;          ///< the client connection is still usable (complete response written)
  bool response_started = false;  ///< response head already sent to the client
  bool client_gone = false;       ///< a write to the client failed mid-response
  std::optional<ProxyError> error;  ///< when nothing was sent yet: the error to answer with
  std::uint64_t bytes_out = 0;
  Clock::time_point upstream_done{};
  TokenUsage usage;
};

template <class Stream>
net::awaitable<RelayResult> forward_and_relay(WorkerContext& ctx, Stream& upstream, UpstreamConnection& conn,
                                              http::request<http::string_body>& up_req, beast::tcp_stream& client,
                                              unsigned client_version, bool client_keep_alive, bool is_head,
                                              std::optional<std::uint64_t> budget, StreamBudget* shared_budget,
                                              std::string_view request_id) {
  const auto& t = ctx.cfg.timeouts;
  RelayResult r;
  auto& up_tcp = conn.tcp();

  up_tcp.expires_after(ms(t.upstream_idle_ms));
  auto [wec, wn] = co_await http::async_write(upstream, up_req, kUse);
  if (wec) {
    // Trap 8: bytes may have reached the upstream, so a POST is never retried.
    r.error = ProxyError{http::status::bad_gateway, "upstream_error", "upstream_unreachable",
                         "The upstream API could not be reached."};
    if (wec == beast::error::timeout) ctx.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
    co_return r;
  }

  // Trap 10: interim 1xx heads come before the final response, each as a
  // complete message of its own parser (a parser reads one message). Read
  // heads until a final status; the first-byte deadline covers them all.
  std::optional<http::response_parser<http::buffer_body>> parser;
  up_tcp.expires_after(ms(t.upstream_first_byte_ms));
  for (int interim_heads = 0;; ++interim_heads) {
    if (interim_heads > kMaxInterimHeads) {
      r.error = ProxyError{http::status::bad_gateway, "upstream_error", "upstream_bad_response",
                           "The upstream API sent too many interim responses."};
      co_return r;
    }
    parser.emplace();
    parser->body_limit(boost::none);  // trap 4: long streams; our own caps apply
    parser->header_limit(64 * 1024);
    if (is_head) parser->skip(true);
    // Trap 3: pass the parser itself, not parser.get().
    auto [hec, hn] = co_await http::async_read_header(upstream, conn.buffer(), *parser, kUse);
    if (hec) {
      if (hec == beast::error::timeout) {
        ctx.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
        r.error = ProxyError{http::status::gateway_timeout, "upstream_error", "upstream_timeout",
                             "The upstream API did not answer in time."};
      } else {
        r.error = ProxyError{http::status::bad_gateway, "upstream_error", "upstream_bad_response",
                             "The upstream API closed the connection or sent an invalid response."};
      }
      co_return r;
    }
    const unsigned code = parser->get().result_int();
    if (code >= 200) break;
    if (code == 101) {
      // No Upgrade is ever forwarded (hop-by-hop), so a 101 answers nothing we
      // asked: the connection now speaks another protocol and is dropped.
      r.error = ProxyError{http::status::bad_gateway, "upstream_error", "upstream_bad_response",
                           "The upstream API switched protocols without being asked to."};
      co_return r;
    }
    // RFC 9110 §15.2: 1xx is not forwarded to an HTTP/1.0 client; 100 Continue
    // belongs to this hop (the client's Expect was answered here). Other
    // interim heads (103 Early Hints) go on, before the final head.
    if (code == 100 || client_version < 11) continue;
    http::response<http::empty_body> interim;
    interim.base() = parser->get().base();
    strip_hop_by_hop(interim);
    interim.version(11);
    client.expires_after(ms(t.upstream_idle_ms));
    http::response_serializer<http::empty_body> isr{interim};
    auto [iec, in] = co_await http::async_write_header(client, isr, kUse);
    r.bytes_out += in;
    if (iec) {
      r.client_ok = false;
      r.client_gone = true;
      co_return r;
    }
  }
  auto& rp = *parser;

  const auto& head = rp.get();
  r.status = static_cast<int>(head.result_int());
  http::response<http::buffer_body> out;
  out.base() = head.base();
  strip_hop_by_hop(out);
  out.version(client_version);
  // The client gets the exchange's id (the one in the access log); an
  // upstream's own id (OpenAI's req_...) stays available beside it.
  if (const auto upstream_id = out["x-request-id"]; !upstream_id.empty() && upstream_id != request_id)
    out.set("x-upstream-request-id", std::string(upstream_id));
  out.set("x-request-id", request_id);
  const bool has_body = !rp.is_done();
  bool keep_alive = client_keep_alive && !ctx.draining;
  if (auto len = rp.content_length()) {
    out.content_length(*len);
  } else if (has_body) {
    if (client_version >= 11) out.chunked(true);
    else keep_alive = false;  // HTTP/1.0: the end of the body is the close
  }
  out.keep_alive(keep_alive);

  UsageScanner scanner(UsageScanner::mode_for(head[http::field::content_type]));
  if (scanner.mode() != UsageScanner::Mode::Sse) budget.reset();
  const bool sse = scanner.mode() == UsageScanner::Mode::Sse;

  http::response_serializer<http::buffer_body> sr{out};
  // The head goes out at once when no body bytes are at hand (an SSE head
  // before the first token); otherwise it leaves with the first body piece in
  // one write (one syscall less per response).
  bool head_written = false;
  if (is_head || !has_body || conn.buffer().size() == 0) {
    head_written = true;
    r.response_started = true;
    client.expires_after(ms(t.upstream_idle_ms));
    auto [chec, chn] = co_await http::async_write_header(client, sr, kUse);
    r.bytes_out += chn;
    if (chec) {
      r.client_ok = false;
      r.client_gone = true;
      co_return r;
    }
  }

  std::array<char, 16 * 1024> chunk;
  std::string tail;  // an SSE error event that ends the stream early
  bool upstream_failed = false;
  while (!rp.is_done()) {
    rp.get().body().data = chunk.data();
    rp.get().body().size = chunk.size();
    up_tcp.expires_after(ms(t.upstream_idle_ms));
    // Trap 1: async_read_some with buffer_body hands over what arrived.
    auto [rec, rn] = co_await http::async_read_some(upstream, conn.buffer(), rp, kUse);
    if (rec == http::error::need_buffer) rec = {};
    if (rec) {
      upstream_failed = true;
      if (rec == beast::error::timeout) {
        ctx.stats.upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
        r.status = 504;
        if (sse) tail = openai_error_sse("The upstream API stopped sending in time.", "upstream_error", "upstream_timeout");
      } else {
        r.status = 502;
      }
      ctx.stats.upstream_errors.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    const std::size_t got = chunk.size() - rp.get().body().size;
    if (got == 0) continue;  // trap 2: never hand the serializer an empty piece
    // A budget shared with the key's other streams: what is left of it now.
    if (budget && shared_budget) budget = shared_budget->allowance(scanner.output_tokens_so_far());
    const std::size_t forward = scanner.feed(std::string_view(chunk.data(), got), budget);
    if (forward > 0) {
      out.body().data = chunk.data();
      out.body().size = forward;
      out.body().more = true;
      client.expires_after(ms(t.upstream_idle_ms));
      auto [cwec, cwn] = co_await http::async_write(client, sr, kUse);
      if (cwec == http::error::need_buffer) cwec = {};
      r.bytes_out += cwn;
      head_written = true;
      r.response_started = true;
      if (cwec) {
        r.client_ok = false;
        r.client_gone = true;
        r.upstream_done = Clock::now();
        scanner.finish();
        r.usage = scanner.usage();
        co_return r;  // upstream connection is dropped by the caller (not pooled)
      }
    }
    if (scanner.budget_reached()) {
      ctx.stats.budget_cutoffs.fetch_add(1, std::memory_order_relaxed);
      upstream_failed = true;  // stop reading; the connection is mid-response
      tail = openai_error_sse("The output token budget for this API key was reached; the response was cut short.",
                              "rate_limit_exceeded", "output_token_budget");
      break;
    }
  }
  r.upstream_done = Clock::now();
  scanner.finish();
  r.usage = scanner.usage();

  if (upstream_failed && !head_written && !scanner.budget_reached()) {
    // Nothing reached the client yet: it can still get a proper error.
    const bool timeout = r.status == 504;
    r.error = ProxyError{timeout ? http::status::gateway_timeout : http::status::bad_gateway, "upstream_error",
                         timeout ? "upstream_timeout" : "upstream_bad_response",
                         timeout ? "The upstream API stopped sending in time." : "The upstream API response broke off."};
    ctx.stats.upstream_errors.fetch_sub(1, std::memory_order_relaxed);  // counted again by the caller
    co_return r;
  }
  r.response_started = true;
  if (upstream_failed && (tail.empty() || !out.chunked())) {
    // The body cannot be completed honestly: close so the client sees it cut.
    r.client_ok = false;
    co_return r;
  }
  out.body().data = tail.empty() ? nullptr : tail.data();
  out.body().size = tail.size();
  out.body().more = false;
  if (!is_head && has_body) {
    client.expires_after(ms(t.upstream_idle_ms));
    auto [fec, fn] = co_await http::async_write(client, sr, kUse);
    if (fec == http::error::need_buffer) fec = {};
    r.bytes_out += fn;
    if (fec) {
      r.client_ok = false;
      r.client_gone = true;
      co_return r;
    }
  }
  r.client_ok = keep_alive;
  r.upstream_reusable = !upstream_failed && rp.is_done() && rp.keep_alive();
  co_return r;
}

/// Handles one complete request; returns whether the client connection stays open.
net::awaitable<bool> handle_request(WorkerContext& ctx, beast::tcp_stream& client, const std::string& peer_ip,
                                    http::request<http::string_body>& req, Clock::time_point arrived, double ts) {
  const auto& cfg = ctx.cfg;
  const unsigned version = req.version();
  const bool client_keep_alive = req.keep_alive() && !ctx.draining;
  const std::string target(req.target());
  const std::string path(path_of(target));
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
    ex.response.latency_ms = elapsed_ms(arrived, done);
    const double upstream_ms = upstream_start == Clock::time_point{} ? 0 : elapsed_ms(upstream_start, upstream_done == Clock::time_point{} ? done : upstream_done);
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
    bytes_out += (co_await write_error(ctx, client, *refusal, version, false, {}, request_id)).bytes;
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
    const auto sent = co_await write_error(ctx, client, err, version, client_keep_alive, {}, request_id);
    bytes_out += sent.bytes;
    finish(502);
    co_return !sent.ec && keep_open;
  }

  const bool is_head = req.method() == http::verb::head;
  // (Not a ?: of two co_awaits: GCC 12 miscompiles temporaries in that form.)
  RelayResult r;
  if (conn->is_tls())
    r = co_await forward_and_relay(ctx, conn->tls(), *conn, up_req, client, version, client_keep_alive, is_head,
                                   verdict.output_token_budget, verdict.stream_budget.get(), request_id);
  else
    r = co_await forward_and_relay(ctx, conn->plain(), *conn, up_req, client, version, client_keep_alive, is_head,
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
    const auto sent = co_await write_error(ctx, client, *r.error, version, client_keep_alive, {}, request_id);
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

}  // namespace

net::awaitable<void> run_session(WorkerContext& ctx, tcp::socket socket) {
  const auto& cfg = ctx.cfg;
  ctx.active_sessions.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  ctx.stats.connections_active.fetch_add(1, std::memory_order_relaxed);
  struct Leave {
    WorkerContext& c;
    ~Leave() {
      c.active_sessions.fetch_sub(1, std::memory_order_relaxed);
      c.stats.connections_active.fetch_sub(1, std::memory_order_relaxed);
    }
  } leave{ctx};

  error_code ec;
  std::string peer_ip;
  if (const auto ep = socket.remote_endpoint(ec); !ec) {
    const auto addr = ep.address();
    peer_ip = addr.is_v6() && addr.to_v6().is_v4_mapped() ? net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6()).to_string() : addr.to_string();
  }
  socket.set_option(tcp::no_delay(true), ec);
  beast::tcp_stream client(std::move(socket));
  beast::flat_buffer buffer;

  while (!ctx.draining) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.limits.max_header_bytes);
    parser.body_limit(cfg.limits.max_body_bytes);

    // The head must arrive within client_header_ms (also the keep-alive idle limit).
    client.expires_after(ms(cfg.timeouts.client_header_ms));
    ctx.idle_clients.insert(&client);
    auto [hec, hn] = co_await http::async_read_header(client, buffer, parser, kUse);
    ctx.idle_clients.erase(&client);
    const auto arrived = Clock::now();
    const double ts = unix_now();
    if (hec) {
      if (hec == http::error::header_limit) {
        const ProxyError err{http::status::request_header_fields_too_large, "invalid_request_error",
                             "request_header_fields_too_large", "The request headers are too large."};
        co_await write_error(ctx, client, err, 11, false);
        co_await lingering_close(client);
        co_return;
      }
      if (hec == http::error::body_limit) {
        const ProxyError err{http::status::payload_too_large, "invalid_request_error", "request_too_large",
                             "The request body is larger than this gateway accepts."};
        co_await write_error(ctx, client, err, 11, false);
        co_await lingering_close(client);
        co_return;
      }
      const bool quiet_end = hec == http::error::end_of_stream || hec == net::error::eof ||
                             hec == net::error::operation_aborted || hec == beast::error::timeout ||
                             hec == net::error::connection_reset || hec == net::error::bad_descriptor;
      if (!quiet_end || hn > 0) {
        if (hec != beast::error::timeout && hec != net::error::operation_aborted && hec != net::error::connection_reset) {
          const ProxyError err{http::status::bad_request, "invalid_request_error", "malformed_request",
                               "The request is not valid HTTP/1.1."};
          co_await write_error(ctx, client, err, 11, false);
          co_await lingering_close(client);
          co_return;
        }
      }
      break;
    }

    // RFC 9112: methods, target forms, Host and transfer codings the proxy
    // refuses (or normalises: an absolute-form target) before anything reads the head.
    if (auto refused = check_request_head(parser.get())) {
      const ProxyError err{static_cast<http::status>(refused->status), "invalid_request_error", refused->code,
                           std::move(refused->message)};
      std::vector<std::pair<std::string, std::string>> extra;
      if (!refused->allow.empty()) extra.emplace_back("Allow", std::string(refused->allow));
      ctx.stats.head_refused.fetch_add(1, std::memory_order_relaxed);
      co_await write_error(ctx, client, err, parser.get().version(), false, extra);
      co_await lingering_close(client);
      co_return;
    }
    if (is_health_probe(parser.get())) {
      // A probe with a body is answered, then the connection closes (the
      // body is not read).
      const bool body_pending = !parser.is_done();
      const auto version = parser.get().version();
      const auto wec = co_await write_health(ctx, client, version, parser.get().method() == http::verb::head,
                                             parser.get().keep_alive() && !body_pending);
      if (wec || body_pending || !parser.get().keep_alive() || ctx.draining) {
        if (body_pending) co_await lingering_close(client);
        break;
      }
      continue;
    }
    // Only a chunked body can bring trailer fields.
    const auto fields_of_head = parser.chunked() ? head_fields(parser.get()) : HeadFields{};

    // A request whose credentials are refused is answered on its head: its
    // body (up to max_body_bytes) is never read or parsed, and the
    // connection closes after the reply.
    if (identity_refusal(resolve_identity(parser.get(), cfg.identity.key_headers, cfg.identity.tenant_header),
                         cfg.identity.allow_anonymous)) {
      auto req = parser.release();
      co_await handle_request(ctx, client, peer_ip, req, arrived, ts);
      co_await lingering_close(client);
      co_return;
    }

    // RFC 9110 §10.1.1: a client waiting for 100-continue gets it only once we
    // know the body will be read.
    if (iequals(parser.get()[http::field::expect], "100-continue") && !parser.is_done()) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      client.expires_after(ms(cfg.timeouts.client_body_ms));
      auto [cec, cn] = co_await http::async_write(client, cont, kUse);
      if (cec) break;
    }
    if (!parser.is_done()) {
      client.expires_after(ms(cfg.timeouts.client_body_ms));
      auto [bec, bn] = co_await http::async_read(client, buffer, parser, kUse);
      if (bec) {
        if (bec == http::error::body_limit) {
          const ProxyError err{http::status::payload_too_large, "invalid_request_error", "request_too_large",
                               "The request body is larger than this gateway accepts."};
          co_await write_error(ctx, client, err, parser.get().version(), false);
          co_await lingering_close(client);
        } else if (bec != beast::error::timeout && bec != http::error::end_of_stream &&
                   bec != net::error::connection_reset && bec != net::error::operation_aborted) {
          const ProxyError err{http::status::bad_request, "invalid_request_error", "malformed_request",
                               "The request body is not valid HTTP/1.1 framing."};
          co_await write_error(ctx, client, err, parser.get().version(), false);
          co_await lingering_close(client);
        }
        co_return;
      }
    }
    auto req = parser.release();
    if (!fields_of_head.empty()) drop_trailer_fields(req, fields_of_head);
    const bool keep = co_await handle_request(ctx, client, peer_ip, req, arrived, ts);
    if (!keep) break;
    if (buffer.capacity() > kKeepBufferBytes) buffer.shrink_to_fit();
  }
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
  client.socket().close(ec);
}

}  // namespace dg::gateway
