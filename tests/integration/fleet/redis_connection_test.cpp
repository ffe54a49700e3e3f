// RedisConnection's connect (issue #14): the host is resolved off the
// control loop (Asio's resolver), so a name connects as an address does and
// the loop keeps running its timers while a connect is pending; the connect
// deadline covers resolution and connect. In-process, against a real
// redis-server and a listener whose accept queue is full (a SYN to it is
// dropped, so the connect hangs as to an unroutable address). Every wait has
// a deadline: the io_context runs with run_for.
#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "gateway/fleet/redis_connection.hpp"
#include "tests/integration/fleet/fleet_support.hpp"
#include "tests/test_files.hpp"

using namespace dg::test;
using namespace dg::test::fleet;
using dg::gateway::fleet::RedisConnection;
using namespace std::chrono_literals;

namespace {

/// A name only this binary's getaddrinfo knows: it answers 127.0.0.1 after
/// kSlowDns, like a slow DNS server.
constexpr const char* kSlowName = "slow-dns.dg-test";
constexpr auto kSlowDns = 800ms;
std::atomic<int> slow_lookups{0};

}  // namespace

// Interposes libc's getaddrinfo for this test binary (the executable's
// definition comes first for hiredis' calls and Asio's alike); every other
// name goes to the real one. The delay runs on whichever thread resolves:
// with the old blocking connect that was the loop's.
extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
  using Fn = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  static const auto real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getaddrinfo"));
  if (node && std::strcmp(node, kSlowName) == 0) {
    slow_lookups.fetch_add(1);
    std::this_thread::sleep_for(kSlowDns);  // the slow server's latency, not a test's wait
    node = "127.0.0.1";
  }
  return real(node, service, hints, res);
}

namespace {

/// A loopback listener with a backlog of 0 whose accept queue is filled by
/// connections of its own: further SYNs are dropped (Linux drops a SYN when
/// the accept queue is full), so a connect to it stays pending.
class BlackholeListener {
 public:
  BlackholeListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 0) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    for (int& f : fillers_) {
      f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      REQUIRE(f >= 0);
      (void)::connect(f, reinterpret_cast<sockaddr*>(&a), sizeof a);  // EINPROGRESS or queued
    }
  }
  ~BlackholeListener() {
    for (int f : fillers_) ::close(f);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  int fillers_[3] = {-1, -1, -1};
  std::uint16_t port_ = 0;
};

/// Runs `ioc` until `done` or `deadline`.
template <class F>
bool run_until(net::io_context& ioc, F done, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done() && std::chrono::steady_clock::now() < end) {
    ioc.restart();
    ioc.run_for(10ms);
  }
  return done();
}

}  // namespace

TEST_CASE("redis connection: a host name connects (resolved off the loop) and answers PING", "[integration][fleet]") {
  RedisServer redis(fresh_temp_dir("fleet-conn-name") / "redis");
  net::io_context ioc;
  RedisConnection c(ioc);
  std::optional<bool> up;
  c.connect("localhost", redis.port(), 2000ms, [&](bool ok) { up = ok; }, [] {});
  REQUIRE(run_until(ioc, [&] { return up.has_value(); }, 5000ms));
  REQUIRE(*up);
  std::string pong;
  REQUIRE(c.command({"PING"}, [&](const redisReply* r) { pong = r ? std::string(r->str, r->len) : "(gone)"; }));
  REQUIRE(run_until(ioc, [&] { return !pong.empty(); }, 5000ms));
  CHECK(pong == "PONG");
  c.close();
}

TEST_CASE("redis connection: a name that does not resolve fails the connect, once", "[integration][fleet]") {
  net::io_context ioc;
  RedisConnection c(ioc);
  int calls = 0;
  bool result = true;
  c.connect("no-such-host.invalid", 6379, 3000ms, [&](bool ok) { ++calls, result = ok; }, [] {});
  // The resolver's answer or the deadline, whichever comes first.
  REQUIRE(run_until(ioc, [&] { return calls > 0; }, 6000ms));
  CHECK_FALSE(result);
  run_until(ioc, [] { return false; }, 100ms);  // no second report
  CHECK(calls == 1);
}

TEST_CASE("redis connection: the loop's timers run while a connect hangs, and the deadline ends it",
          "[integration][fleet]") {
  BlackholeListener hole;
  net::io_context ioc;
  RedisConnection c(ioc);
  std::optional<bool> up;
  const auto t0 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point reported;
  c.connect("127.0.0.1", hole.port(), 400ms, [&](bool ok) {
    up = ok;
    reported = std::chrono::steady_clock::now();
  }, [] {});
  const auto connect_returned = std::chrono::steady_clock::now() - t0;
  // A 20 ms tick on the same loop (the control plane's signals, admin API
  // and reload timers stand for it).
  int ticks = 0;
  boost::asio::steady_timer tick(ioc);
  std::function<void()> arm = [&] {
    tick.expires_after(20ms);
    tick.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (!up) ++ticks;
      arm();
    });
  };
  arm();
  REQUIRE(run_until(ioc, [&] { return up.has_value(); }, 5000ms));
  CHECK_FALSE(*up);
  const auto took = reported - t0;
  CHECK(took >= 390ms);
  CHECK(took < 2000ms);
  CHECK(connect_returned < 100ms);  // connect() itself never waits
  CHECK(ticks >= 10);               // ~20 in 400 ms; a blocked loop would have none
  tick.cancel();
  c.close();
}

TEST_CASE("redis connection: close during a pending connect reports nothing", "[integration][fleet]") {
  BlackholeListener hole;
  net::io_context ioc;
  int calls = 0;
  {
    RedisConnection c(ioc);
    c.connect("localhost", hole.port(), 200ms, [&](bool) { ++calls; }, [] {});
    ioc.run_for(5ms);  // the resolution may be under way or done
    c.close();
    run_until(ioc, [] { return false; }, 400ms);  // past the deadline
    CHECK(calls == 0);
    c.connect("localhost", hole.port(), 200ms, [&](bool) { ++calls; }, [] {});
  }  // destroyed with the resolution pending: its handler must not touch it
  run_until(ioc, [] { return false; }, 300ms);
  CHECK(calls == 0);
}

TEST_CASE("redis connection: a slow DNS answer does not stall the loop and the deadline covers resolution",
          "[integration][fleet]") {
  RedisServer redis(fresh_temp_dir("fleet-conn-slowdns") / "redis");
  net::io_context ioc;
  int ticks = 0;
  bool counting = true;
  boost::asio::steady_timer tick(ioc);
  std::function<void()> arm = [&] {
    tick.expires_after(20ms);
    tick.async_wait([&](boost::system::error_code ec) {
      if (ec) return;
      if (counting) ++ticks;
      arm();
    });
  };
  arm();
  const int lookups0 = slow_lookups.load();
  {
    RedisConnection c(ioc);
    std::optional<bool> up;
    const auto t0 = std::chrono::steady_clock::now();
    c.connect(kSlowName, redis.port(), 3000ms, [&](bool ok) { up = ok; }, [] {});
    CHECK(std::chrono::steady_clock::now() - t0 < 100ms);  // connect() does not resolve inline
    REQUIRE(run_until(ioc, [&] { return up.has_value(); }, 5000ms));
    counting = false;
    CHECK(*up);
    CHECK(std::chrono::steady_clock::now() - t0 >= kSlowDns - 10ms);
    CHECK(slow_lookups.load() == lookups0 + 1);
    CHECK(ticks >= 20);  // ~40 in 800 ms; the blocking resolution allowed none
    c.close();
  }
  {
    // Shorter deadline than the DNS answer: the connect fails at the deadline.
    RedisConnection c(ioc);
    std::optional<bool> up;
    int calls = 0;
    const auto t0 = std::chrono::steady_clock::now();
    c.connect(kSlowName, redis.port(), 300ms, [&](bool ok) { up = ok, ++calls; }, [] {});
    REQUIRE(run_until(ioc, [&] { return up.has_value(); }, 5000ms));
    CHECK_FALSE(*up);
    CHECK(std::chrono::steady_clock::now() - t0 < kSlowDns - 100ms);
    // The late answer (the lookup ends on the resolver thread) reports nothing.
    run_until(ioc, [] { return false; }, kSlowDns);
    CHECK(calls == 1);
    CHECK_FALSE(c.connected());
  }
  tick.cancel();
}
