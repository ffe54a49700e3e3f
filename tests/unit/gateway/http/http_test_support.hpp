#pragma once
// A worker for the session's unit tests (no sockets, no upstream connects)
// and a deadline-bounded runner for one coroutine on beast::test::stream.

#include <chrono>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "gateway/http/worker_context.hpp"
#include "tests/test_files.hpp"

namespace dg::gateway::testing {

/// A WorkerContext over default configuration; its pool never connects
/// (nothing in these tests reaches it).
struct TestWorker {
  explicit TestWorker(ProxyHooks* h = nullptr) : hooks(h ? *h : default_hooks) {}
  net::io_context io;
  config::ProxyConfig cfg;
  ProxyHooks default_hooks;
  ProxyHooks& hooks;
  ProxyStats stats;
  UpstreamPool pool{io, UpstreamTarget{false, "127.0.0.1", "9", "127.0.0.1:9", ""}, nullptr, cfg, stats};
  AccessLog access{"json"};
  WorkerContext ctx{io, cfg, hooks, stats, pool, nullptr, access};

  /// Runs the io_context until `done()` or `deadline` (real time) passes;
  /// returns whether `done()` became true.
  template <class Done>
  bool run_until(Done&& done, std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return false;
      io.restart();
      io.run_one_for(until - now);
    }
    return true;
  }
};

/// Spawns `aw` on `io`; its result lands in `out` (an exception fails the test run via rethrow).
template <class T>
void spawn_into(net::io_context& io, net::awaitable<T> aw, std::optional<T>& out, std::exception_ptr& error) {
  net::co_spawn(io, std::move(aw), [&out, &error](std::exception_ptr e, T v) {
    if (e) error = e;
    else out.emplace(std::move(v));
  });
}

inline void spawn_into(net::io_context& io, net::awaitable<void> aw, bool& finished, std::exception_ptr& error) {
  net::co_spawn(io, std::move(aw), [&finished, &error](std::exception_ptr e) {
    error = e;
    finished = true;
  });
}

using dg::test::count_of;

/// The responses in `bytes` (what a client received), in order.
inline std::vector<boost::beast::http::response<boost::beast::http::string_body>> responses_in(
    net::io_context& io, std::string_view bytes) {
  namespace http = boost::beast::http;
  boost::beast::test::stream in(io, bytes);
  in.close_remote();
  boost::beast::flat_buffer buf;
  std::vector<http::response<http::string_body>> out;
  for (;;) {
    http::response_parser<http::string_body> p;
    boost::system::error_code ec;
    http::read(in, buf, p, ec);
    if (ec) break;
    out.push_back(p.release());
  }
  return out;
}

}  // namespace dg::gateway::testing
