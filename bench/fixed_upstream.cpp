// dg-bench-upstream: a minimal keep-alive HTTP/1.1 server answering every
// request with the same small OpenAI-style chat completion. Used by
// bench/proxy_wrk.sh so that the measured difference is the proxy's cost, not
// the upstream's. Usage: dg-bench-upstream PORT [THREADS [EVENTS [INTERVAL_MS]]]
// A request whose body contains "stream":true gets a chunked SSE answer
// instead: the first chat.completion.chunk event right after the head (in the
// same write), then EVENTS-1 more every INTERVAL_MS, then `data: [DONE]`
// (defaults 20 events, 50 ms). bench/race.sh measures time to first token and
// inter-event delay with it.
// (built and started by bench/proxy_wrk.sh and bench/race.sh; by hand:
//   cmake --build build -j2 --target dg-bench-upstream && build/dg-bench-upstream 8000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "gateway/net/net.hpp"

using namespace dg::gateway;

namespace {

const std::string kBody =
    R"({"id":"chatcmpl-bench","object":"chat.completion","model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";

struct StreamShape {
  int events = 20;
  std::chrono::milliseconds interval{50};
};

bool wants_stream(std::string_view body) {
  return body.find("\"stream\":true") != std::string_view::npos ||
         body.find("\"stream\": true") != std::string_view::npos;
}

// One HTTP/1.1 chunk carrying one SSE event.
std::string chunk(std::string_view event) {
  char size[16];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", event.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(event);
  out.append("\r\n");
  return out;
}

std::string token_event(int i) {
  return std::string(R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"bench","choices":[{"index":0,"delta":{"content":"tok)") +
         std::to_string(i) + R"( "},"finish_reason":null}]})" + "\n\n";
}

// The SSE answer; false when the connection is gone.
net::awaitable<bool> send_stream(beast::tcp_stream& stream, bool keep_alive, StreamShape shape) {
  std::string out =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Transfer-Encoding: chunked\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  out += chunk(token_event(0));
  net::steady_timer timer(stream.get_executor());
  for (int i = 1;; ++i) {
    if (i >= shape.events) out += chunk("data: [DONE]\n\n") + "0\r\n\r\n";
    auto [ec, n] = co_await net::async_write(stream, net::buffer(out), kUse);
    if (ec) co_return false;
    if (i >= shape.events) co_return true;
    timer.expires_after(shape.interval);
    auto [tec] = co_await timer.async_wait(kUse);
    if (tec) co_return false;
    out = chunk(token_event(i));
  }
}

net::awaitable<void> serve(tcp::socket socket, StreamShape shape) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kUse);
    if (ec) co_return;
    if (wants_stream(req.body())) {
      if (!co_await send_stream(stream, req.keep_alive(), shape) || !req.keep_alive()) co_return;
      continue;
    }
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = kBody;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, kUse);
    if (wec || !req.keep_alive()) co_return;
  }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, StreamShape shape) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUse);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(acceptor.get_executor(), serve(std::move(socket), shape), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: dg-bench-upstream PORT [THREADS [EVENTS [INTERVAL_MS]]]\n";
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  StreamShape shape;
  if (argc > 3) shape.events = std::max(1, std::atoi(argv[3]));
  if (argc > 4) shape.interval = std::chrono::milliseconds(std::max(0, std::atoi(argv[4])));
  std::vector<std::unique_ptr<net::io_context>> ios;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  for (int i = 0; i < threads; ++i) {
    ios.push_back(std::make_unique<net::io_context>(1));
    auto a = std::make_unique<tcp::acceptor>(*ios.back());
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port);
    a->open(ep.protocol());
    a->set_option(net::socket_base::reuse_address(true));
    a->set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    a->bind(ep);
    a->listen();
    net::co_spawn(*ios.back(), accept_loop(*a, shape), net::detached);
    acceptors.push_back(std::move(a));
  }
  net::signal_set signals(*ios.front(), SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) {
    for (auto& io : ios) io->stop();
  });
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([io = ios[i].get()] { io->run(); });
  ios.front()->run();
  for (auto& w : workers) w.join();
  return 0;
}
