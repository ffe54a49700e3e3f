// dg-bench-upstream: a minimal keep-alive HTTP/1.1 server answering every
// request with the same small OpenAI-style chat completion. Used by
// bench/proxy_wrk.sh so that the measured difference is the proxy's cost, not
// the upstream's. Usage: dg-bench-upstream PORT [THREADS]
// (built and started by bench/proxy_wrk.sh; by hand:
//   cmake --build build -j2 --target dg-bench-upstream && build/dg-bench-upstream 8000)
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "gateway/net/net.hpp"

using namespace dg::gateway;

namespace {

const std::string kBody =
    R"({"id":"chatcmpl-bench","object":"chat.completion","model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";

net::awaitable<void> serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(stream, buffer, req, kUse);
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = kBody;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, kUse);
    if (wec || !req.keep_alive()) co_return;
  }
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUse);
    if (ec) co_return;
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(acceptor.get_executor(), serve(std::move(socket)), net::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: dg-bench-upstream PORT [THREADS]\n";
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
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
    net::co_spawn(*ios.back(), accept_loop(*a), net::detached);
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
