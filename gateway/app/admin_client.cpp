#include "gateway/app/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <charconv>

namespace dg::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

std::optional<AdminUrl> parse_admin_url(const std::string& url, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  std::string_view rest = url;
  if (!rest.starts_with(kScheme)) {
    error = "the admin URL must start with http:// (the admin listener speaks plain HTTP): '" + url + "'";
    return std::nullopt;
  }
  rest.remove_prefix(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  AdminUrl out;
  if (slash != std::string_view::npos) {
    out.prefix = std::string(rest.substr(slash));
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {  // [::1]:9090
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "invalid IPv6 address in the admin URL '" + url + "'";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) {
    error = "no host in the admin URL '" + url + "'";
    return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      error = "invalid port in the admin URL '" + url + "'";
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

namespace {

/// Runs one Beast operation to completion on the private io_context: the
/// call blocks like the synchronous API, but the stream's deadline applies
/// (Asio's synchronous socket calls ignore SO_RCVTIMEO and wait forever).
template <class Start>
boost::system::error_code run_blocking(net::io_context& io, Start&& start) {
  boost::system::error_code result = net::error::operation_aborted;
  start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

}  // namespace

AdminCall admin_call(const AdminUrl& url, const std::string& method, const std::string& target,
                     const std::string& token, const std::string& body, std::chrono::milliseconds timeout) {
  AdminCall out;
  net::io_context io;
  boost::system::error_code ec;
  tcp::resolver resolver(io);
  const auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    out.error = "cannot resolve " + url.host + ": " + ec.message();
    return out;
  }
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  ec = run_blocking(io, [&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
  if (ec) {
    out.error = "cannot connect to " + url.host + ":" + std::to_string(url.port) + ": " + ec.message();
    return out;
  }
  http::request<http::string_body> req{http::string_to_verb(method), url.prefix + target, 11};
  req.set(http::field::host, url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, "distillguard-decisions");
  req.set(http::field::accept, "application/json");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.keep_alive(false);
  req.prepare_payload();
  stream.expires_after(timeout);
  ec = run_blocking(io, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  if (ec) {
    out.error = "cannot send the request: " + ec.message();
    return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  stream.expires_after(timeout);
  // Trap 3: the parser itself, not parser.get(), so its limit holds.
  ec = run_blocking(io, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) {
    out.error = ec == beast::error::timeout ? "the admin API did not answer within " +
                                                  std::to_string(timeout.count()) + " ms"
                                            : "no response from the admin API: " + ec.message();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

}  // namespace dg::gateway
