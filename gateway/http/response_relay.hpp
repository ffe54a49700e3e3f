#pragma once
/// The relay of one upstream response to the client, as it arrives (DESIGN.md
/// rule 4): interim heads, the final head, the body in pieces with usage
/// scanning and output-token budgets. Generic over the upstream stream (plain
/// or TLS) and the client stream (beast::tcp_stream in the product,
/// beast::test::stream in the unit tests); the product's instantiations are
/// compiled once, in response_relay.cpp.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/ssl/ssl_stream.hpp>

#include "gateway/enforce/proxy_hooks.hpp"
#include "gateway/http/header_rules.hpp"
#include "gateway/http/local_reply.hpp"
#include "gateway/http/stream_ops.hpp"
#include "gateway/http/usage_scanner.hpp"
#include "gateway/http/worker_context.hpp"
#include "gateway/net/net.hpp"
#include "gateway/net/openai_error.hpp"

namespace dg::gateway {

/// Interim (1xx) heads accepted before a final response; more is a broken upstream.
inline constexpr int kMaxInterimHeads = 16;

/// How the relay of one response ended.
struct RelayResult {
  int status = 0;                 ///< status the client got (or that was recorded)
  bool upstream_reusable = false; ///< response read completely and upstream keeps the connection
  bool client_ok = true;          ///< the client connection is still usable (complete response written)
  bool response_started = false;  ///< response head already sent to the client
  bool client_gone = false;       ///< a write to the client failed mid-response
  std::optional<ProxyError> error;  ///< when nothing was sent yet: the error to answer with
  std::uint64_t bytes_out = 0;
  std::chrono::steady_clock::time_point upstream_done{};
  TokenUsage usage;
};

/// Sends `up_req` on `upstream` and relays the response to `client` as it
/// arrives: interim 1xx heads (103 Early Hints; never 100 Continue, never to
/// an HTTP/1.0 client), the final head with this hop's headers, and the body
/// piece by piece (SSE scanned for usage and cut at the output-token
/// `budget`). `upstream_buffer` holds bytes read past a response (the pooled
/// connection's). Nothing is written to the client when `error` is set.
template <class UpstreamStream, class ClientStream>
net::awaitable<RelayResult> forward_and_relay(WorkerContext& ctx, UpstreamStream& upstream,
                                              beast::flat_buffer& upstream_buffer,
                                              http::request<http::string_body>& up_req, ClientStream& client,
                                              unsigned client_version, bool client_keep_alive, bool is_head,
                                              std::optional<std::uint64_t> budget, StreamBudget* shared_budget,
                                              std::string_view request_id) {
  using ms = std::chrono::milliseconds;
  using Clock = std::chrono::steady_clock;
  const auto& t = ctx.cfg.timeouts;
  RelayResult r;

  expire_after(upstream, ms(t.upstream_idle_ms));
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
  expire_after(upstream, ms(t.upstream_first_byte_ms));
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
    auto [hec, hn] = co_await http::async_read_header(upstream, upstream_buffer, *parser, kUse);
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
    strip_hop_framing(interim);
    interim.version(11);
    expire_after(client, ms(t.upstream_idle_ms));
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

  auto& head = rp.get();
  r.status = static_cast<int>(head.result_int());
  const auto scan_mode = UsageScanner::mode_for(head[http::field::content_type]);
  // The upstream head is moved, not copied: the parser reads the body on its
  // own state (length, chunking, keep-alive), never its message's fields.
  http::response<http::buffer_body> out;
  out.base() = std::move(head.base());
  strip_hop_framing(out);
  out.version(client_version);
  // The client gets the exchange's id (the one in the access log); an
  // upstream's own id (OpenAI's req_...) stays available beside it.
  if (const auto upstream_id = out["x-request-id"]; !upstream_id.empty() && upstream_id != request_id)
    out.set("x-upstream-request-id", std::string(upstream_id));
  out.set("x-request-id", request_id);
  const bool has_body = !rp.is_done();
  bool keep_alive = client_keep_alive && !ctx.draining;
  // A 204 has no body and so no length (a lenient client would wait for the
  // bytes, or read the next response as them); a 304 or a HEAD answer keeps
  // the length of the body it stands for.
  if (auto len = rp.content_length(); len && r.status != 204) {
    out.content_length(*len);
  } else if (has_body) {
    if (client_version >= 11) out.chunked(true);
    else keep_alive = false;  // HTTP/1.0: the end of the body is the close
  }
  out.keep_alive(keep_alive);

  UsageScanner scanner(scan_mode);
  if (scanner.mode() != UsageScanner::Mode::Sse) budget.reset();
  const bool sse = scanner.mode() == UsageScanner::Mode::Sse;

  http::response_serializer<http::buffer_body> sr{out};
  // The head goes out at once when no body bytes are at hand (an SSE head
  // before the first token); otherwise it leaves with the first body piece in
  // one write (one syscall less per response).
  bool head_written = false;
  if (is_head || !has_body || upstream_buffer.size() == 0) {
    head_written = true;
    r.response_started = true;
    expire_after(client, ms(t.upstream_idle_ms));
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
    expire_after(upstream, ms(t.upstream_idle_ms));
    // Trap 1: async_read_some with buffer_body hands over what arrived.
    auto [rec, rn] = co_await http::async_read_some(upstream, upstream_buffer, rp, kUse);
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
      expire_after(client, ms(t.upstream_idle_ms));
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
    expire_after(client, ms(t.upstream_idle_ms));
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

extern template net::awaitable<RelayResult> forward_and_relay<beast::tcp_stream, beast::tcp_stream>(
    WorkerContext&, beast::tcp_stream&, beast::flat_buffer&, http::request<http::string_body>&, beast::tcp_stream&, unsigned, bool, bool,
    std::optional<std::uint64_t>, StreamBudget*, std::string_view);
extern template net::awaitable<RelayResult> forward_and_relay<beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>(
    WorkerContext&, beast::ssl_stream<beast::tcp_stream>&, beast::flat_buffer&, http::request<http::string_body>&, beast::tcp_stream&, unsigned, bool, bool,
    std::optional<std::uint64_t>, StreamBudget*, std::string_view);

}  // namespace dg::gateway
