// dg-bench-sse-client: N concurrent SSE chat streams against one port; prints
// time to first token and inter-event delay. Used by bench/race.sh.
//
//   dg-bench-sse-client PORT STREAMS SECONDS KEY BODY [HEADER]...
//
// Each of the STREAMS connections is kept alive and sends one streaming POST
// /v1/chat/completions after another until the deadline; the first requests'
// starts are spread over one second. Time to first token: request written ->
// first `data:` event read. Inter-event delay: time between consecutive events
// of one stream (events completed by the same read count 0 between them).
// One thread, one io_context. Output, one line:
//   RESULT streams_done errors ttft_p50_ms ttft_p99_ms gap_p50_ms gap_p99_ms
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "gateway/net/net.hpp"

using namespace dg::gateway;
using Clock = std::chrono::steady_clock;

namespace {

struct Totals {
  std::vector<double> ttft_ms;
  std::vector<double> gap_ms;
  long done = 0;
  long errors = 0;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::size_t count_events(std::string_view body) {
  std::size_t n = 0;
  for (auto at = body.find("data: "); at != std::string_view::npos; at = body.find("data: ", at + 6)) ++n;
  return n;
}

// One connection's loop of streaming requests; false on any error.
net::awaitable<bool> run_streams(tcp::socket& sock, const std::string& request, Clock::time_point deadline,
                                 Totals& t) {
  std::string buf;
  char chunk[16384];
  while (Clock::now() < deadline) {
    const auto t0 = Clock::now();
    auto [wec, wn] = co_await net::async_write(sock, net::buffer(request), kUse);
    if (wec) co_return false;
    buf.clear();
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      auto [ec, n] = co_await sock.async_read_some(net::buffer(chunk), kUse);
      if (ec) co_return false;
      buf.append(chunk, n);
      head_end = buf.find("\r\n\r\n");
    }
    if (buf.compare(0, 12, "HTTP/1.1 200") != 0) co_return false;
    buf.erase(0, head_end + 4);
    std::size_t seen = 0;
    Clock::time_point last{};
    bool first = true;
    for (;;) {
      // A whole stream is a few kB: counting from the start each read is cheap.
      const std::size_t n = count_events(buf);
      if (n > seen) {
        const auto now = Clock::now();
        if (first) {
          t.ttft_ms.push_back(ms_between(t0, now));
          first = false;
        } else {
          t.gap_ms.push_back(ms_between(last, now));
        }
        for (std::size_t i = seen + 1; i < n; ++i) t.gap_ms.push_back(0.0);
        last = now;
        seen = n;
      }
      if (buf.find("[DONE]") != std::string::npos && buf.size() >= 5 &&
          std::string_view(buf).substr(buf.size() - 5) == "0\r\n\r\n")
        break;
      auto [ec, rn] = co_await sock.async_read_some(net::buffer(chunk), kUse);
      if (ec) co_return false;
      buf.append(chunk, rn);
    }
    ++t.done;
  }
  co_return true;
}

net::awaitable<void> connection(std::string request, unsigned short port, Clock::time_point start,
                                Clock::time_point deadline, Totals& t) {
  auto ex = co_await net::this_coro::executor;
  net::steady_timer timer(ex);
  timer.expires_at(start);
  co_await timer.async_wait(kUse);
  tcp::socket sock(ex);
  auto [cec] = co_await sock.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), kUse);
  if (cec) {
    ++t.errors;
    co_return;
  }
  sock.set_option(tcp::no_delay(true), cec);
  if (!co_await run_streams(sock, request, deadline, t)) ++t.errors;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.5);
  return v[std::min(v.size() - 1, rank > 0 ? rank - 1 : 0)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: dg-bench-sse-client PORT STREAMS SECONDS KEY BODY [HEADER]...\n";
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const int streams = std::max(1, std::atoi(argv[2]));
  const double seconds = std::atof(argv[3]);
  const std::string key = argv[4];
  const std::string body = argv[5];
  std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Accept: text/event-stream\r\nAuthorization: Bearer " +
      key + "\r\n";
  for (int i = 6; i < argc; ++i) request += std::string(argv[i]) + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;

  net::io_context io(1);
  Totals t;
  const auto now = Clock::now();
  const auto ramp = std::chrono::seconds(1);
  const auto deadline = now + ramp + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < streams; ++i) {
    const auto start = now + ramp * i / streams;
    net::co_spawn(io, connection(request, port, start, deadline, t), net::detached);
  }
  io.run();
  std::printf("RESULT %ld %ld %.3f %.3f %.3f %.3f\n", t.done, t.errors, percentile(t.ttft_ms, 50),
              percentile(t.ttft_ms, 99), percentile(t.gap_ms, 50), percentile(t.gap_ms, 99));
  return 0;
}
