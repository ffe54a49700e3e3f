#include "gateway/alerts/alert_http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <chrono>

namespace dg::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

constexpr auto kToken = net::as_tuple(net::use_awaitable);
constexpr std::size_t kResponseBodyLimit = 64 * 1024;

http::request<http::string_body> build_request(const config::AlertSinkConfig& sink, const std::string& body,
                                               const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req{http::verb::post, sink.endpoint.target, 11};
  const bool default_port = sink.endpoint.port == (sink.endpoint.tls ? 443 : 80);
  req.set(http::field::host, default_port ? sink.endpoint.host : sink.endpoint.host + ":" + std::to_string(sink.endpoint.port));
  req.set(http::field::user_agent, "distillguard-alerts/1");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  return req;
}

template <class Stream>
net::awaitable<void> exchange(Stream& stream, beast::tcp_stream& lowest, std::chrono::steady_clock::time_point deadline,
                              http::request<http::string_body>& req, HttpPostResult& r) {
  lowest.expires_at(deadline);
  auto [wec, wn] = co_await http::async_write(stream, req, kToken);
  if (wec) {
    r.ec = wec;
    co_return;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBodyLimit);
  lowest.expires_at(deadline);
  // Pass the parser itself so that its body limit holds (Beast trap 3).
  auto [rec, rn] = co_await http::async_read(stream, buf, parser, kToken);
  if (rec && rec != http::error::body_limit) {
    r.ec = rec;
    co_return;
  }
  const auto& res = parser.get();
  r.status = static_cast<int>(res.result_int());
  r.body_excerpt = res.body().substr(0, 256);
  if (auto it = res.find(http::field::retry_after); it != res.end()) {
    double v = 0;
    auto sv = it->value();
    auto [p, ec] = std::from_chars(sv.data(), sv.data() + sv.size(), v);
    if (ec == std::errc{} && v >= 0) r.retry_after_seconds = v;
  }
}

}  // namespace

std::string HttpPostResult::describe() const {
  if (timed_out) return "timeout";
  if (ec) return ec.message();
  return "HTTP " + std::to_string(status);
}

AlertHttpClient::AlertHttpClient(net::any_io_executor ex, config::AlertSinkConfig sink)
    : ex_(std::move(ex)), sink_(std::move(sink)) {
  if (sink_.endpoint.tls) {
    ssl_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    ssl_->set_default_verify_paths();
    if (!sink_.ca_file.empty()) ssl_->load_verify_file(sink_.ca_file);  // throws at start-up when unreadable
    ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ssl_->set_verify_mode(sink_.verify_tls ? ssl::verify_peer : ssl::verify_none);
  }
}

AlertHttpClient::~AlertHttpClient() = default;

void AlertHttpClient::cancel_all() {
  auto cancellers = std::move(cancellers_);
  cancellers_.clear();
  for (auto& [id, cancel] : cancellers) cancel();
}

net::awaitable<HttpPostResult> AlertHttpClient::post(const std::string& body,
                                                     const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpPostResult r;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long long>(sink_.timeout_seconds * 1000));
  auto req = build_request(sink_, body, headers);

  // Resolution has no timeout of its own: a timer cancels it at the deadline.
  auto resolver = std::make_shared<tcp::resolver>(ex_);
  auto resolve_timer = std::make_shared<net::steady_timer>(ex_, deadline);
  auto resolve_timed_out = std::make_shared<bool>(false);
  resolve_timer->async_wait([resolver, resolve_timed_out](boost::system::error_code ec) {
    if (!ec) {
      *resolve_timed_out = true;
      resolver->cancel();
    }
  });
  const auto id = next_id_++;
  cancellers_[id] = [resolver] { resolver->cancel(); };
  auto [rec, results] =
      co_await resolver->async_resolve(sink_.endpoint.host, std::to_string(sink_.endpoint.port), kToken);
  resolve_timer->cancel();
  if (rec) {
    cancellers_.erase(id);
    r.ec = rec;
    r.timed_out = *resolve_timed_out;
    co_return r;
  }

  if (!ssl_) {
    beast::tcp_stream stream(ex_);
    cancellers_[id] = [&stream] { stream.cancel(); };
    stream.expires_at(deadline);
    auto [cec, ep] = co_await stream.async_connect(results, kToken);
    if (cec) {
      r.ec = cec;
    } else {
      co_await exchange(stream, stream, deadline, req, r);
    }
    cancellers_.erase(id);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  } else {
    beast::ssl_stream<beast::tcp_stream> stream(ex_, *ssl_);
    auto& lowest = beast::get_lowest_layer(stream);
    cancellers_[id] = [&lowest] { lowest.cancel(); };
    if (!SSL_set_tlsext_host_name(stream.native_handle(), sink_.endpoint.host.c_str())) {
      r.ec = beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
    } else {
      if (sink_.verify_tls) stream.set_verify_callback(ssl::host_name_verification(sink_.endpoint.host));
      lowest.expires_at(deadline);
      auto [cec, ep] = co_await lowest.async_connect(results, kToken);
      if (cec) {
        r.ec = cec;
      } else {
        lowest.expires_at(deadline);
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kToken);
        if (hec) r.ec = hec;
        else co_await exchange(stream, lowest, deadline, req, r);
      }
    }
    cancellers_.erase(id);
    // No TLS close_notify round trip: the request is done, Connection: close.
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  if (r.ec == beast::error::timeout) r.timed_out = true;
  co_return r;
}

}  // namespace dg::gateway
