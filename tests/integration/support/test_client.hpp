#pragma once
/// Client side of the proxy's integration tests: coroutine helpers run on a
/// private io_context, every operation with a deadline (no sleeps).

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/proxy_config.hpp"
#include "gateway/net/net.hpp"

namespace dg::test {

namespace net = dg::gateway::net;
namespace beast = dg::gateway::beast;
namespace http = dg::gateway::http;
using tcp = dg::gateway::tcp;
using dg::gateway::kUse;

inline constexpr auto kDeadline = std::chrono::seconds(15);

/// Runs `make()` to completion on a fresh io_context; rethrows its exception.
template <class T>
T run_async(std::function<net::awaitable<T>()> make) {
  net::io_context io;
  std::optional<T> out;
  std::exception_ptr error;
  net::co_spawn(io, make(), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) out = std::move(value);
  });
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

struct Response {
  int status = 0;  ///< 0: no response (connection failed / closed)
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;
  bool keep_alive = false;
  std::string error;  ///< read/write error, if any
};

/// A request to 127.0.0.1:port with sensible defaults (POST JSON, a Bearer key).
http::request<http::string_body> make_request(std::string target, std::string body,
                                              std::vector<std::pair<std::string, std::string>> headers = {},
                                              std::string api_key = "sk-test-1");

/// Connects (with deadline).
net::awaitable<std::optional<beast::tcp_stream>> connect_to(std::uint16_t port);

/// Writes `req` and reads one whole response on an open connection.
net::awaitable<Response> exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                  http::request<http::string_body> req);

/// One request on its own connection.
Response request(std::uint16_t port, http::request<http::string_body> req);

/// Sends raw bytes (optionally half-closing), returns everything received until
/// the server closes or the deadline passes; `closed` says whether it closed.
struct RawResult {
  std::string received;
  bool closed = false;
};
RawResult raw_exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds deadline = kDeadline);

/// A proxy config pointing at `upstream_url`, port 0, 1 worker, quiet logs.
config::ProxyConfig test_proxy_config(const std::string& upstream_url);

/// Polls `cond` every millisecond until true or `deadline`; returns its last value.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline = std::chrono::milliseconds(10000));

}  // namespace dg::test
