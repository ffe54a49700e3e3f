#pragma once
/// The client connection loop: read request heads (keep-alive, pipelined
/// requests in order), refuse what cannot be served on its head (RFC 9112
/// checks, credentials, limits), answer the health probe, send 100 Continue,
/// read the body, and hand each complete request to the exchange. Generic
/// over the client stream (beast::tcp_stream in the product, compiled once in
/// client_connection.cpp; beast::test::stream in the unit tests).

#include <cctype>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gateway/http/exchange.hpp"
#include "gateway/http/header_rules.hpp"
#include "gateway/http/local_reply.hpp"
#include "gateway/http/request_head_check.hpp"
#include "gateway/http/stream_ops.hpp"
#include "gateway/http/worker_context.hpp"
#include "gateway/net/net.hpp"

namespace dg::gateway {

/// A connection's read buffer above this after an exchange is given back, so
/// an idle keep-alive connection that once carried an 8 MB body does not keep
/// 8 MB (issue #12.12).
inline constexpr std::size_t kKeepBufferBytes = 64 * 1024;

/// A request body announced at this size or more (or chunked, or awaited with
/// 100-continue) is costly: a key refused whatever its body (blocked, rate-
/// or budget-limited) is refused on the head instead of having it read.
inline constexpr std::uint64_t kCostlyBodyBytes = 64 * 1024;

/// Where reading a request failed.
enum class ReadPhase : std::uint8_t { Head, Body };

/// The reply to a request that could not be read (`head_bytes`: bytes of the
/// head read before the error), after which the connection closes; nullopt
/// when it closes without one (the client left, went quiet or timed out).
/// The one place that answers 413, whether the Content-Length announced a
/// body above the limit (head) or the body grew past it (body).
std::optional<ProxyError> unreadable_request_reply(boost::system::error_code ec, ReadPhase phase,
                                                   std::size_t head_bytes);

namespace detail {
inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace detail

/// Serves requests on `client` until the connection closes or the worker
/// drains. `peer_ip` is the client's address (the forwarding rules start
/// from it). Returns with the connection closed, or (after an unreadable
/// body) for the caller to drop it.
template <class ClientStream>
net::awaitable<void> serve_connection(WorkerContext& ctx, ClientStream& client, const std::string& peer_ip) {
  using ms = std::chrono::milliseconds;
  using Clock = std::chrono::steady_clock;
  const auto& cfg = ctx.cfg;
  beast::flat_buffer buffer;

  while (!ctx.draining) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(cfg.limits.max_header_bytes);
    parser.body_limit(cfg.limits.max_body_bytes);

    // The head must arrive within client_header_ms (also the keep-alive idle limit).
    expire_after(client, ms(cfg.timeouts.client_header_ms));
    constexpr bool kTcp = std::is_same_v<ClientStream, beast::tcp_stream>;
    if constexpr (kTcp) ctx.idle_clients.insert(&client);
    auto [hec, hn] = co_await http::async_read_header(client, buffer, parser, kUse);
    if constexpr (kTcp) ctx.idle_clients.erase(&client);
    const auto arrived = Clock::now();
    const double ts = detail::unix_now();
    if (hec) {
      if (const auto err = unreadable_request_reply(hec, ReadPhase::Head, hn)) {
        co_await refuse_and_close(ctx, client, *err, 11);
        co_return;
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
      co_await refuse_and_close(ctx, client, err, parser.get().version(), extra);
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

    // A costly body of a key the hooks refuse whatever its body (blocked, a
    // spent rate limit or output budget, fail-closed) is not read: the key
    // is answered on its head, gets no 100 Continue, and the connection closes.
    const bool waits = !parser.is_done() && beast::iequals(parser.get()[http::field::expect], "100-continue");
    if (!parser.is_done()) {
      const auto announced = parser.content_length();
      // (A small body is read and left to on_request: detection learns from it
      // what a refused key still asks.)
      const bool costly = waits || !announced || *announced >= kCostlyBodyBytes;
      if (costly && co_await refuse_on_head(ctx, client, peer_ip, parser.get().base(), arrived, ts)) {
        co_await lingering_close(client);
        co_return;
      }
    }

    // RFC 9110 §10.1.1: a client waiting for 100-continue gets it only once we
    // know the body will be read.
    if (waits) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      expire_after(client, ms(cfg.timeouts.client_body_ms));
      auto [cec, cn] = co_await http::async_write(client, cont, kUse);
      if (cec) break;
    }
    if (!parser.is_done()) {
      expire_after(client, ms(cfg.timeouts.client_body_ms));
      auto [bec, bn] = co_await http::async_read(client, buffer, parser, kUse);
      if (bec) {
        if (const auto err = unreadable_request_reply(bec, ReadPhase::Body, 0))
          co_await refuse_and_close(ctx, client, *err, parser.get().version());
        co_return;
      }
    }
    auto req = parser.release();
    if (!fields_of_head.empty()) drop_trailer_fields(req, fields_of_head);
    const bool keep = co_await handle_request(ctx, client, peer_ip, req, arrived, ts);
    if (!keep) break;
    if (buffer.capacity() > kKeepBufferBytes) buffer.shrink_to_fit();
  }
  shutdown_send(client);
  close_stream(client);
}

extern template net::awaitable<void> serve_connection<beast::tcp_stream>(WorkerContext&, beast::tcp_stream&,
                                                                        const std::string&);

}  // namespace dg::gateway
