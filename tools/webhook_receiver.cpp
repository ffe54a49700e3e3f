#include "tools/webhook_receiver.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <thread>

#include "gateway/alerts/alert_signature.hpp"

namespace dg::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {
constexpr auto kToken = net::as_tuple(net::use_awaitable);

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string header(const http::request<http::string_body>& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}
}  // namespace

std::string received_webhook_json_line(const ReceivedWebhook& r) {
  boost::json::object o{{"received_at", r.received_at},
                        {"target", r.target},
                        {"event", r.event},
                        {"alert_id", r.alert_id},
                        {"attempt", r.attempt},
                        {"timestamp", r.timestamp},
                        {"signature_ok", r.signature_ok},
                        {"status_sent", r.status_sent}};
  boost::system::error_code ec;
  auto parsed = boost::json::parse(r.body, ec);
  if (ec) o["body"] = r.body;
  else o["alert"] = std::move(parsed);
  return boost::json::serialize(o);
}

struct WebhookReceiver::Impl {
  WebhookReceiverOptions options;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<net::ssl::context> tls;
  std::thread thread;
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::vector<ReceivedWebhook> received;
  std::atomic<bool> stopped{false};

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kToken);
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
        continue;
      }
      if (tls) net::co_spawn(ioc, tls_session(std::move(socket)), net::detached);
      else net::co_spawn(ioc, session(beast::tcp_stream(std::move(socket))), net::detached);
    }
  }

  net::awaitable<void> tls_session(tcp::socket socket) {
    beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, kToken);
    if (ec) co_return;
    co_await serve(stream);
  }

  net::awaitable<void> session(beast::tcp_stream stream) { co_await serve(stream); }

  template <class Stream>
  net::awaitable<void> serve(Stream& stream) {
    auto& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buf;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(4 * 1024 * 1024);
      lowest.expires_after(std::chrono::seconds(30));
      auto [ec, n] = co_await http::async_read(stream, buf, parser, kToken);
      if (ec) co_return;
      auto req = parser.release();
      ReceivedWebhook r;
      r.received_at = unix_now();
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      r.timestamp = header(req, kTimestampHeader);
      r.signature = header(req, kSignatureHeader);
      r.event = header(req, "X-DistillGuard-Event");
      r.alert_id = header(req, "X-DistillGuard-Alert-Id");
      auto attempt = header(req, "X-DistillGuard-Attempt");
      std::from_chars(attempt.data(), attempt.data() + attempt.size(), r.attempt);
      r.content_type = header(req, "Content-Type");
      r.body = req.body();
      r.signature_ok = !options.secret.empty() && !r.timestamp.empty() &&
                       verify_alert_signature(options.secret, r.timestamp, r.body, r.signature);
      std::size_t index;
      {
        std::lock_guard lock(mutex);
        index = received.size();
      }
      int status = 200;
      if (static_cast<int>(index) < options.fail_first) status = 500;
      else if (options.status_for) {
        int s = options.status_for(index - static_cast<std::size_t>(options.fail_first), r);
        if (s) status = s;
      }
      r.status_sent = status;
      record(r);

      http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      res.body() = status < 300 ? R"({"ok":true})" : R"({"ok":false})";
      res.prepare_payload();
      lowest.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await http::async_write(stream, res, kToken);
      if (wec || !res.keep_alive()) {
        beast::error_code ignored;
        lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  void record(const ReceivedWebhook& r) {
    std::string line;
    if (!options.out_file.empty() || !options.quiet) line = received_webhook_json_line(r);
    {
      std::lock_guard lock(mutex);
      received.push_back(r);
      if (!options.out_file.empty()) {
        if (std::FILE* f = std::fopen(options.out_file.c_str(), "ab")) {
          std::fwrite(line.data(), 1, line.size(), f);
          std::fputc('\n', f);
          std::fclose(f);
        }
      }
    }
    cv.notify_all();
    if (!options.quiet) {
      std::printf("received %s alert=%s attempt=%d signature_ok=%s -> %d\n", r.event.c_str(), r.alert_id.c_str(),
                  r.attempt, r.signature_ok ? "true" : "false", r.status_sent);
      std::fflush(stdout);
    }
  }
};

WebhookReceiver::WebhookReceiver(WebhookReceiverOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (!impl_->options.tls_cert_pem.empty()) {
    impl_->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    const auto& o = impl_->options;
    impl_->tls->use_certificate_chain(net::buffer(o.tls_cert_pem));
    impl_->tls->use_private_key(net::buffer(o.tls_key_pem), net::ssl::context::pem);
  }
  tcp::endpoint ep(net::ip::make_address(impl_->options.host), impl_->options.port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

WebhookReceiver::~WebhookReceiver() { stop(); }

void WebhookReceiver::stop() {
  if (impl_->stopped.exchange(true)) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string WebhookReceiver::url(const std::string& path, const std::string& host) const {
  return std::string(impl_->tls ? "https://" : "http://") + (host.empty() ? impl_->options.host : host) + ":" +
         std::to_string(port_) + path;
}

std::vector<ReceivedWebhook> WebhookReceiver::received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received;
}

std::size_t WebhookReceiver::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->received.size();
}

std::size_t WebhookReceiver::wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->received.size() >= n; });
  return impl_->received.size();
}

}  // namespace dg::gateway
