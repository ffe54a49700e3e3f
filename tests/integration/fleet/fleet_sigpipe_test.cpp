// SIGPIPE (issue #14): hiredis writes to the Redis socket with write(2), so
// a write to a Redis that died raises SIGPIPE, whose default action ends the
// process. `distillguard` ignores it from startup (run_proxy), in fleet mode
// and in memory mode. Checked three ways: the disposition in
// /proc/<pid>/status, a SIGPIPE sent to the process, and Redis SIGKILLed
// while decisions are being written to it. Every wait has a deadline.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/fleet/fleet_support.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/test_files.hpp"

using namespace dg::test;
using namespace dg::test::fleet;

namespace {

/// Whether `pid` ignores `sig` (the SigIgn mask of /proc/<pid>/status).
bool ignores(pid_t pid, int sig) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("SigIgn:", 0) != 0) continue;
    const auto mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> (sig - 1)) & 1;
  }
  return false;
}

bool alive(const Instance& i) { return http_request(i.admin_port(), "GET", "/healthz", "", "", 2).status == 200; }

}  // namespace

TEST_CASE("fleet: SIGPIPE is ignored from startup, in fleet and in memory mode", "[integration][fleet]") {
  const auto dir = fresh_temp_dir("fleet-sigpipe");
  RedisServer redis(dir / "redis");
  FakeUpstream upstream;
  Instance fleet_mode(dir / "a", "a", upstream.url(),
                      "state: {backend: redis, url: '" + redis.url() + "', prefix: dgpipe, instance: a}\n");
  Instance memory_mode(dir / "m", "m", upstream.url(), "");
  for (const auto* i : {&fleet_mode, &memory_mode}) {
    CHECK(ignores(i->pid(), SIGPIPE));
    REQUIRE(::kill(i->pid(), SIGPIPE) == 0);
    // A request answered after the signal was queued: a thread of the
    // process returned to user space, so the signal was delivered.
    CHECK(alive(*i));
    CHECK(alive(*i));
  }
}

TEST_CASE("fleet: Redis killed while decisions are being written leaves the instance serving", "[integration][fleet]") {
  const auto dir = fresh_temp_dir("fleet-midwrite");
  RedisServer redis(dir / "redis");
  FakeUpstream upstream;
  Instance a(dir / "a", "a", upstream.url(),
             "state: {backend: redis, url: '" + redis.url() + "', prefix: dgpipe, instance: a}\n");
  REQUIRE(wait_until([&] { return a.connected(); }));

  // Each admin decision is one EVAL on the Redis connection: a steady stream
  // of writes, from two clients, while Redis dies under them.
  std::atomic<bool> stop{false};
  std::atomic<int> made{0};
  auto flood = [&](int base) {
    for (int n = 0; !stop.load(); ++n) {
      char fp[32];
      std::snprintf(fp, sizeof fp, "fp:%016x", static_cast<unsigned>(base + n));
      if (a.decide(fp, "block") == 201) made.fetch_add(1);
    }
  };
  std::thread f1(flood, 0x100000), f2(flood, 0x200000);
  REQUIRE(wait_until([&] { return made.load() >= 50; }));
  redis.kill_hard();
  // Keep writing through the loss and the reconnect attempts.
  const int at_kill = made.load();
  const bool kept_on = wait_until([&] { return made.load() >= at_kill + 100 && !a.connected(); });
  stop = true;
  f1.join();
  f2.join();
  CHECK(kept_on);
  CHECK(alive(a));
  CHECK(a.call("sk-fleet-midwrite") == 200);
  redis.start();
  CHECK(wait_until([&] { return a.connected(); }, std::chrono::seconds(15)));
  CHECK(wait_until([&] { return a.metric("dg_fleet_pending_decisions") == 0; }));
  // ~Instance: SIGTERM, and the exit status must be 0 (not killed by a signal).
}
