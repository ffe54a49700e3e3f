#include "tests/integration/support/test_client.hpp"

#include <thread>

#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

namespace dg::test {

http::request<http::string_body> make_request(std::string target, std::string body,
                                              std::vector<std::pair<std::string, std::string>> headers,
                                              std::string api_key) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "dg-test/1");
  if (!api_key.empty()) req.set(http::field::authorization, "Bearer " + api_key);
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

net::awaitable<std::optional<beast::tcp_stream>> connect_to(std::uint16_t port) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  stream.expires_after(kDeadline);
  auto [ec] = co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), kUse);
  if (ec) co_return std::nullopt;
  co_return std::optional<beast::tcp_stream>(std::move(stream));
}

net::awaitable<Response> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, http::request<http::string_body> req) {
  Response out;
  stream.expires_after(kDeadline);
  auto [wec, wn] = co_await http::async_write(stream, req, kUse);
  if (wec) {
    out.error = wec.message();
    co_return out;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  stream.expires_after(kDeadline);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUse);
  if (rec) {
    out.error = rec.message();
    co_return out;
  }
  auto res = parser.release();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = std::move(res.body());
  out.keep_alive = res.keep_alive();
  co_return out;
}

Response request(std::uint16_t port, http::request<http::string_body> req) {
  return run_async<Response>([&]() -> net::awaitable<Response> {
    auto stream = co_await connect_to(port);
    if (!stream) co_return Response{0, {}, {}, false, "connect failed"};
    beast::flat_buffer buffer;
    co_return co_await exchange(*stream, buffer, std::move(req));
  });
}

RawResult raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds deadline) {
  return run_async<RawResult>([&]() -> net::awaitable<RawResult> {
    RawResult out;
    auto stream = co_await connect_to(port);
    if (!stream) co_return out;
    stream->expires_after(deadline);
    // A write error is fine here: the server may close before reading it all.
    (void)co_await net::async_write(*stream, net::buffer(bytes), kUse);
    char buf[4096];
    for (;;) {
      auto [rec, rn] = co_await stream->async_read_some(net::buffer(buf), kUse);
      out.received.append(buf, rn);
      if (rec) {
        out.closed = rec != beast::error::timeout;
        break;
      }
    }
    co_return out;
  });
}

config::ProxyConfig test_proxy_config(const std::string& upstream_url) {
  config::ProxyConfig c;
  c.listen.address = "127.0.0.1";
  c.listen.port = 0;
  c.upstream.url = upstream_url;
  c.workers = 1;
  c.log.level = "warn";
  c.timeouts.shutdown_grace_ms = 5000;
  spdlog::set_level(spdlog::level::warn);
  return c;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= end) return cond();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace dg::test
