#include "tests/integration/support/fake_upstream.hpp"

#include <chrono>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <zlib.h>

#include "gateway/net/net.hpp"

namespace dg::test {

using namespace dg::gateway;  // net, beast, http, tcp, kUse (test code only)

struct FakeUpstream::Impl {
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::unique_ptr<net::ssl::context> ssl;
  std::thread thread;
};

std::string support_file(const std::string& name) { return std::string(DG_SOURCE_DIR) + "/tests/integration/support/" + name; }

namespace {

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

std::string sse_head() { return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"; }

std::string delta_event(std::string_view text) {
  boost::json::object o{{"id", "chatcmpl-1"}, {"object", "chat.completion.chunk"}, {"model", "fake-model"}};
  o["choices"] = boost::json::array{boost::json::object{{"index", 0}, {"delta", boost::json::object{{"content", text}}}}};
  return "data: " + boost::json::serialize(o) + "\n\n";
}

std::string usage_event(int prompt, int completion) {
  boost::json::object o{{"id", "chatcmpl-1"}, {"object", "chat.completion.chunk"}, {"choices", boost::json::array{}}};
  o["usage"] = boost::json::object{{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  return "data: " + boost::json::serialize(o) + "\n\n";
}

std::string json_response(int status, const std::string& body, bool close = false) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Not Found") +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (close ? "Connection: close\r\n" : "") + "\r\n" + body;
}

/// `data` as a gzip member (zlib, windowBits 16 + MAX_WBITS).
std::string gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// Whether an Accept-Encoding value lets the response be gzipped.
bool accepts_gzip(const std::map<std::string, std::string>& headers) {
  const auto it = headers.find("accept-encoding");
  return it != headers.end() && it->second.find("gzip") != std::string::npos;
}

std::size_t query_n(std::string_view target, std::size_t fallback) {
  const auto pos = target.find("n=");
  if (pos == std::string_view::npos) return fallback;
  return std::stoul(std::string(target.substr(pos + 2)));
}

template <class Stream>
net::awaitable<bool> write_all(Stream& s, const std::string& data) {
  auto [ec, n] = co_await net::async_write(s, net::buffer(data), kUse);
  co_return !ec;
}

net::awaitable<void> pause(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(kUse);
}

/// Holds the connection silent until the peer closes it (or 20 s pass).
template <class Stream>
net::awaitable<void> stall_until_peer_closes(Stream& s, beast::tcp_stream& tcp) {
  char buf[512];
  tcp.expires_after(std::chrono::seconds(20));
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(net::buffer(buf), kUse);
    if (ec) co_return;
  }
}

template <class Stream>
net::awaitable<void> serve(FakeUpstream& up, Stream& stream, beast::tcp_stream& tcp) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    tcp.expires_after(std::chrono::seconds(30));
    auto [ec, read_bytes] = co_await http::async_read(stream, buffer, parser, kUse);
    if (ec) co_return;
    tcp.expires_never();
    auto req = parser.release();
    FakeUpstream::Seen seen;
    seen.method = std::string(req.method_string());
    seen.target = std::string(req.target());
    seen.body = req.body();
    for (const auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = std::string(f.value());
    }
    up.note_request(seen);
    const std::string_view target = seen.target;
    const std::string_view path = target.substr(0, target.find('?'));

    if (path == "/v1/chat/completions") {
      const bool stream_req = seen.body.find("\"stream\":true") != std::string::npos ||
                              seen.body.find("\"stream\": true") != std::string::npos;
      if (!stream_req) {
        boost::json::object o{{"id", "chatcmpl-1"}, {"object", "chat.completion"}, {"model", "fake-model"}};
        o["choices"] = boost::json::array{boost::json::object{
            {"index", 0}, {"message", boost::json::object{{"role", "assistant"}, {"content", "Hello world!"}}}, {"finish_reason", "stop"}}};
        o["usage"] = boost::json::object{{"prompt_tokens", 11}, {"completion_tokens", 3}, {"total_tokens", 14}};
        if (accepts_gzip(seen.headers)) {  // as real API front ends do when asked
          const auto body = gzip(boost::json::serialize(o));
          if (!co_await write_all(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body)) co_return;
          continue;
        }
        if (!co_await write_all(stream, json_response(200, boost::json::serialize(o)))) co_return;
        continue;
      }
      const bool gated = seen.headers.count("x-test-gate") > 0;
      // Counted before the write: the client may see the event before this
      // coroutine resumes.
      if (gated) up.gated_events_sent_.fetch_add(1);
      if (!co_await write_all(stream, sse_head() + chunk(delta_event("Hello")))) co_return;
      if (gated) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!up.gate_open() && std::chrono::steady_clock::now() < deadline) co_await pause(std::chrono::milliseconds(1));
      }
      if (gated) up.gated_events_sent_.fetch_add(1);
      std::string rest = chunk(delta_event(" world"));
      if (!co_await write_all(stream, rest)) co_return;
      rest = chunk(delta_event("!")) + chunk(usage_event(11, 3)) + chunk("data: [DONE]\n\n") + "0\r\n\r\n";
      if (!co_await write_all(stream, rest)) co_return;
      continue;
    }
    if (path == "/echo") {
      boost::json::object o{{"method", seen.method}, {"target", seen.target}, {"body", seen.body}};
      boost::json::object h;
      for (const auto& [k, v] : seen.headers) h[k] = v;
      o["headers"] = std::move(h);
      if (!co_await write_all(stream, json_response(200, boost::json::serialize(o)))) co_return;
      continue;
    }
    if (path == "/sse-no-usage") {
      // 4 deltas of 10 characters: 40 characters ~ 10 tokens estimated.
      std::string out = sse_head();
      for (int i = 0; i < 4; ++i) out += chunk(delta_event("abcdefghij"));
      out += chunk("data: [DONE]\n\n") + "0\r\n\r\n";
      if (!co_await write_all(stream, out)) co_return;
      continue;
    }
    if (path == "/sse-long") {
      const auto n = query_n(target, 50);
      if (!co_await write_all(stream, sse_head())) co_return;
      for (std::size_t i = 0; i < n; ++i)
        if (!co_await write_all(stream, chunk(delta_event(std::string(40, 'x'))))) co_return;
      if (!co_await write_all(stream, chunk(usage_event(5, static_cast<int>(n * 10))) + chunk("data: [DONE]\n\n") + "0\r\n\r\n")) co_return;
      continue;
    }
    if (path == "/stall-head") {
      co_await stall_until_peer_closes(stream, tcp);
      co_return;
    }
    if (path == "/stall-body") {
      if (!co_await write_all(stream, sse_head() + chunk(delta_event("Hello")))) co_return;
      co_await stall_until_peer_closes(stream, tcp);
      co_return;
    }
    if (path == "/endless") {
      if (!co_await write_all(stream, sse_head())) co_return;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (std::chrono::steady_clock::now() < deadline) {
        if (!co_await write_all(stream, chunk(delta_event("tick")))) {
          up.aborted_streams_.fetch_add(1);
          co_return;
        }
        co_await pause(std::chrono::milliseconds(2));
      }
      co_return;
    }
    if (path == "/big") {
      const auto n = query_n(target, 1 << 20);
      std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n";
      if (!co_await write_all(stream, head)) co_return;
      std::string piece(4096, 'b');
      for (std::size_t sent = 0; sent < n; sent += piece.size()) {
        const auto len = std::min(piece.size(), n - sent);
        auto [wec, wn] = co_await net::async_write(stream, net::buffer(piece.data(), len), kUse);
        if (wec) co_return;
      }
      continue;
    }
    if (path == "/slow-json") {
      // A non-streaming JSON body in two halves, the second only after release_gate().
      const std::string body = R"({"choices":[{"message":{"content":"first half, )" + std::string(1000, 'z') + R"("}}],"usage":{"prompt_tokens":1,"completion_tokens":2}})";
      const auto half = body.size() / 2;
      up.gated_events_sent_.fetch_add(1);
      if (!co_await write_all(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                          std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, half))) co_return;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (!up.gate_open() && std::chrono::steady_clock::now() < deadline) co_await pause(std::chrono::milliseconds(1));
      up.gated_events_sent_.fetch_add(1);
      if (!co_await write_all(stream, body.substr(half))) co_return;
      continue;
    }
    if (path == "/reset-head" || path == "/reset-stream" || path == "/reset-body") {
      // A connection reset (RST, SO_LINGER 0) before the response head, in
      // the middle of an SSE stream, or in the middle of a JSON body.
      if (path == "/reset-stream" &&
          !co_await write_all(stream, sse_head() + chunk(delta_event("Hello")) + chunk(delta_event(" wor")))) co_return;
      if (path == "/reset-body" &&
          !co_await write_all(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"choices\":")) co_return;
      boost::system::error_code ignored;
      tcp.socket().set_option(net::socket_base::linger(true, 0), ignored);
      tcp.socket().close(ignored);
      co_return;
    }
    if (path == "/interim") {
      // Interim heads before the final answer (RFC 9110 §15.2): 103 Early Hints
      // with a Link, and an unsolicited 100 Continue, the final 200 written
      // separately so that it may arrive after the proxy read the 1xx heads.
      if (!co_await write_all(stream, "HTTP/1.1 103 Early Hints\r\nLink: </hint.css>; rel=preload\r\n\r\n"
                                      "HTTP/1.1 100 Continue\r\n\r\n")) co_return;
      co_await pause(std::chrono::milliseconds(5));
      if (!co_await write_all(stream, json_response(200, R"({"answer":")" + seen.target + R"("})"))) co_return;
      continue;
    }
    if (path == "/switching") {
      // A 101 the proxy never asked for (it forwards no Upgrade).
      co_await write_all(stream, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
      co_await stall_until_peer_closes(stream, tcp);
      co_return;
    }
    if (path == "/close") {
      co_await write_all(stream, json_response(200, R"({"ok":true})", true));
      co_return;
    }
    if (!co_await write_all(stream, json_response(404, R"({"error":{"message":"no such path","type":"invalid_request_error","code":null}})"))) co_return;
  }
}

net::awaitable<void> connection(FakeUpstream& up, FakeUpstream::Impl& impl, tcp::socket socket) {
  up.open_connections_.fetch_add(1);
  struct Leave {
    FakeUpstream& u;
    ~Leave() { u.open_connections_.fetch_sub(1); }
  } leave{up};
  if (impl.ssl) {
    beast::ssl_stream<beast::tcp_stream> tls(std::move(socket), *impl.ssl);
    beast::get_lowest_layer(tls).expires_after(std::chrono::seconds(10));
    auto [ec] = co_await tls.async_handshake(net::ssl::stream_base::server, kUse);
    if (ec) co_return;
    co_await serve(up, tls, beast::get_lowest_layer(tls));
  } else {
    beast::tcp_stream plain(std::move(socket));
    co_await serve(up, plain, plain);
  }
}

net::awaitable<void> accept_loop(FakeUpstream& up, FakeUpstream::Impl& impl) {
  for (;;) {
    auto [ec, socket] = co_await impl.acceptor.async_accept(kUse);
    if (ec) co_return;
    up.connections_.fetch_add(1);
    net::co_spawn(impl.io, connection(up, impl, std::move(socket)), net::detached);
  }
}

}  // namespace

FakeUpstream::FakeUpstream(Options options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  if (options_.tls) {
    impl_->ssl = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    impl_->ssl->use_certificate_chain_file(options_.cert_file);
    impl_->ssl->use_private_key_file(options_.key_file, net::ssl::context::pem);
  }
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  net::co_spawn(impl_->io, accept_loop(*this, *impl_), net::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeUpstream::~FakeUpstream() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string FakeUpstream::url() const {
  return (options_.tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

void FakeUpstream::note_request(Seen seen) {
  requests_.fetch_add(1);
  std::lock_guard lock(mutex_);
  last_ = std::move(seen);
}

FakeUpstream::Seen FakeUpstream::last_request() const {
  std::lock_guard lock(mutex_);
  return last_;
}

}  // namespace dg::test
