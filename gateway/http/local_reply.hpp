#pragma once
/// Replies the proxy writes itself, never forwarded: OpenAI-shaped error
/// bodies, the health endpoint, and the lingering close after an error.
/// Templates over the client stream (beast::tcp_stream in the product,
/// beast::test::stream in the unit tests).

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/http/stream_ops.hpp"
#include "gateway/http/worker_context.hpp"
#include "gateway/net/net.hpp"
#include "gateway/net/openai_error.hpp"

namespace dg::gateway {

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
  boost::system::error_code ec;
  std::uint64_t bytes = 0;
};

/// Extra headers of a reply.
using ReplyHeaders = std::vector<std::pair<std::string, std::string>>;
/// No extra headers (a name: GCC 12 cannot deduce a braced `{}` argument of a
/// coroutine template call inside co_await).
inline const ReplyHeaders kNoHeaders{};

/// The 413 for a body above limits.max_body_bytes (announced by its
/// Content-Length or found while reading it).
ProxyError request_too_large();

/// An error answered by the proxy itself; `request_id` (when the exchange has
/// one) goes out as x-request-id beside the `extra` headers.
template <class ClientStream>
net::awaitable<Sent> write_error(WorkerContext& ctx, ClientStream& client, const ProxyError& err, unsigned version,
                                 bool keep_alive, const ReplyHeaders& extra = kNoHeaders,
                                 std::string_view request_id = {}) {
  http::response<http::string_body> res{err.status, version};
  res.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : extra) res.set(name, value);
  if (!request_id.empty()) res.set("x-request-id", request_id);
  res.body() = openai_error_body(err.message, err.type, err.code);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  ctx.stats.count_status(static_cast<int>(err.status));
  expire_after(client, std::chrono::milliseconds(ctx.cfg.timeouts.upstream_idle_ms));
  auto [ec, n] = co_await http::async_write(client, res, kUse);
  co_return Sent{ec, n};
}

/// The proxy's own health endpoint, answered locally and never forwarded:
/// 200 while serving, 503 once draining. Unauthenticated (probes carry no
/// key) and without detection, enforcement, access log or capture.
bool is_health_probe(const http::request_header<>& req);

template <class ClientStream>
net::awaitable<boost::system::error_code> write_health(WorkerContext& ctx, ClientStream& client, unsigned version,
                                                       bool head_only, bool keep_alive) {
  const bool serving = !ctx.draining;
  const auto status = serving ? http::status::ok : http::status::service_unavailable;
  const std::string_view body = serving ? R"({"status":"ok"})" : R"({"status":"draining"})";
  expire_after(client, std::chrono::milliseconds(ctx.cfg.timeouts.client_header_ms));
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
template <class ClientStream>
net::awaitable<void> lingering_close(ClientStream& client) {
  shutdown_send(client);
  std::array<char, 16 * 1024> sink;
  std::size_t drained = 0;
  expire_after(client, std::chrono::milliseconds(2000));
  while (drained < 64 * 1024 * 1024) {
    auto [rec, n] = co_await client.async_read_some(net::buffer(sink), kUse);
    if (rec) break;
    drained += n;
  }
  close_stream(client);
}

/// An error reply to a request that cannot go on, then the lingering close.
template <class ClientStream>
net::awaitable<void> refuse_and_close(WorkerContext& ctx, ClientStream& client, const ProxyError& err,
                                      unsigned version,
                                      const ReplyHeaders& extra = kNoHeaders) {
  co_await write_error(ctx, client, err, version, false, extra);
  co_await lingering_close(client);
}

}  // namespace dg::gateway
