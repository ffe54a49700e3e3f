#include "tests/integration/support/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cctype>

namespace dg::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& token, const std::string& body, double timeout_s,
                        const ExtraHeaders& extra) {
  HttpResult result;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  for (const auto& [name, value] : extra) req.insert(name, value);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  const auto timeout = std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  stream.expires_after(timeout);
  stream.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code ec) {
                         if (ec) {
                           result.error = "connect: " + ec.message();
                           return;
                         }
                         stream.expires_after(timeout);
                         http::async_write(stream, req, [&](beast::error_code wec, std::size_t) {
                           if (wec) {
                             result.error = "write: " + wec.message();
                             return;
                           }
                           stream.expires_after(timeout);
                           http::async_read(stream, buffer, res, [&](beast::error_code rec, std::size_t) {
                             if (rec) result.error = "read: " + rec.message();
                             else result.status = static_cast<int>(res.result_int());
                           });
                         });
                       });
  ioc.run_for(timeout + std::chrono::seconds(1));
  if (result.status == 0 && result.error.empty()) result.error = "deadline exceeded";
  result.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    result.headers[name] = std::string(f.value());
  }
  return result;
}

}  // namespace dg::test
