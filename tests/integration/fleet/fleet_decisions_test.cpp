// Fleet mode, decisions (issue #14): two `distillguard` processes and a real
// redis-server. A block made through instance A's admin API is enforced by B
// within a second; a lift on B lifts on A; Redis killed mid-run fails no
// request, and a decision made while it is down reaches the other instance
// once it is back; `state.fail: closed` refuses keyed requests until Redis
// answers. Every wait polls with a deadline.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "gateway/traffic/key_fingerprint.hpp"
#include "tests/integration/fleet/fleet_support.hpp"
#include "tests/test_files.hpp"
#include "tests/integration/support/fake_upstream.hpp"

using namespace dg::test;
using namespace dg::test::fleet;
using Clock = std::chrono::steady_clock;

namespace {

std::filesystem::path test_dir(const std::string& name) { return fresh_temp_dir("fleet-" + name); }

std::string fleet_state(const RedisServer& redis, const std::string& instance, const std::string& extra = {}) {
  return "state: {backend: redis, url: '" + redis.url() + "', prefix: dgtest, instance: " + instance + extra + "}\n";
}

/// Polls `cond` until it holds or `deadline` passes; the time it took.
template <class F>
std::chrono::duration<double, std::milli> time_until(F cond, std::chrono::milliseconds deadline) {
  const auto t0 = Clock::now();
  REQUIRE(wait_until(cond, deadline));
  return Clock::now() - t0;
}

}  // namespace

TEST_CASE("fleet: a block on A is enforced by B within 1 s, a lift on B lifts on A, no echo", "[integration][fleet]") {
  const auto dir = test_dir("block");
  RedisServer redis(dir / "redis");
  FakeUpstream upstream;
  Instance a(dir / "a", "a", upstream.url(), fleet_state(redis, "a"));
  Instance b(dir / "b", "b", upstream.url(), fleet_state(redis, "b"));
  REQUIRE(wait_until([&] { return a.connected() && b.connected(); }));

  const std::string key = "sk-fleet-block";
  const auto fp = dg::gateway::key_fingerprint(key, "fleet-salt");
  REQUIRE(a.call(key) == 200);
  REQUIRE(b.call(key) == 200);

  const auto evals0 = redis.calls("eval");
  const auto publishes0 = redis.calls("publish");
  const auto a_cmds0 = a.metric("dg_fleet_commands_total");
  REQUIRE(a.decide(fp, "block") == 201);
  CHECK(a.call(key) == 403);  // local at once
  const auto to_b = time_until([&] { return b.call(key) == 403; }, std::chrono::milliseconds(1000));
  std::printf("fleet: block on A enforced by B after %.1f ms\n", to_b.count());

  // One EVAL (HGET + HSET + PUBLISH inside) for the decision, none from B
  // re-publishing what it received.
  CHECK(redis.calls("eval") - evals0 == 1);
  CHECK(redis.calls("publish") - publishes0 == 1);
  const auto hash = redis_cli(redis.port(), {"HGET", "dgtest:decisions", fp});
  CHECK(hash.find("\"instance\":\"a\"") != std::string::npos);
  CHECK(hash.find("\"action\":\"block\"") != std::string::npos);
  CHECK(hash.find(key) == std::string::npos);  // fingerprints only
  auto memory = redis_cli(redis.port(), {"MEMORY", "USAGE", "dgtest:decisions"});
  if (!memory.empty() && memory.back() == '\n') memory.pop_back();
  std::printf("fleet: Redis memory for one decision: %s bytes (MEMORY USAGE of the hash, one field)\n", memory.c_str());
  CHECK(wait_until([&] { return b.metric("dg_fleet_decisions_total{event=\"received\"}") == 1; }));
  CHECK(a.metric("dg_fleet_decisions_total{event=\"published\"}") == 1);
  std::printf("fleet: A's Redis commands for the decision (and pings meanwhile): %.0f\n",
              a.metric("dg_fleet_commands_total") - a_cmds0);
  // B's audit names the instance the decision came from.
  CHECK(b.audit().find("fleet/a/operator") != std::string::npos);

  // Lift on B (B has the block, so its admin API lifts it); A follows.
  REQUIRE(b.lift(fp) == 200);
  CHECK(b.call(key) == 200);
  const auto to_a = time_until([&] { return a.call(key) == 200; }, std::chrono::milliseconds(1000));
  std::printf("fleet: lift on B reached A after %.1f ms\n", to_a.count());
  CHECK(redis.calls("eval") - evals0 == 2);
  CHECK(a.audit().find("fleet/b/operator") != std::string::npos);

  // A third instance started now loads the current set (the lift) and a
  // block it did not see published.
  const auto fp2 = dg::gateway::key_fingerprint("sk-fleet-late", "fleet-salt");
  REQUIRE(a.decide(fp2, "block") == 201);
  REQUIRE(wait_until([&] { return b.call("sk-fleet-late") == 403; }));
  Instance c(dir / "c", "c", upstream.url(), fleet_state(redis, "c"));
  REQUIRE(wait_until([&] { return c.connected(); }));
  CHECK(c.call("sk-fleet-late") == 403);
  CHECK(c.call(key) == 200);
  CHECK(a.log().find(key) == std::string::npos);  // never a raw key in the logs
  CHECK(b.log().find(key) == std::string::npos);
}

TEST_CASE("fleet: Redis killed mid-run fails no request, and a decision made meanwhile reaches the other after restart",
          "[integration][fleet]") {
  const auto dir = test_dir("outage");
  RedisServer redis(dir / "redis");
  FakeUpstream upstream;
  Instance a(dir / "a", "a", upstream.url(), fleet_state(redis, "a"));
  Instance b(dir / "b", "b", upstream.url(), fleet_state(redis, "b"));
  REQUIRE(wait_until([&] { return a.connected() && b.connected(); }));

  int failed = 0, served = 0;
  auto traffic = [&] {
    for (const auto* inst : {&a, &b}) {
      ++served;
      if (inst->call("sk-fleet-ok") != 200) ++failed;
    }
  };
  traffic();
  redis.kill_hard();
  // Requests keep being served from local state while both notice the loss.
  REQUIRE(wait_until([&] {
    traffic();
    return !a.connected() && !b.connected();
  }));
  const auto fp = dg::gateway::key_fingerprint("sk-fleet-down", "fleet-salt");
  REQUIRE(a.decide(fp, "block") == 201);  // made while Redis is down
  CHECK(a.call("sk-fleet-down") == 403);
  CHECK(b.call("sk-fleet-down") == 200);  // B cannot know yet
  CHECK(a.metric("dg_fleet_pending_decisions") == 1);
  for (int i = 0; i < 20; ++i) traffic();

  redis.start();  // same port, empty (no persistence)
  const auto t0 = Clock::now();
  REQUIRE(wait_until(
      [&] {
        traffic();
        return b.call("sk-fleet-down") == 403;
      },
      std::chrono::seconds(15)));
  std::printf("fleet: decision made during the outage reached B %.0f ms after Redis restarted\n",
              std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  CHECK(failed == 0);
  std::printf("fleet: %d requests served through the outage, %d failed\n", served, failed);
  REQUIRE(wait_until([&] { return a.connected() && b.connected(); }));
  CHECK(a.metric("dg_fleet_pending_decisions") == 0);
  CHECK(a.metric("dg_fleet_reconnects_total") >= 1);
  CHECK(a.metric("dg_fleet_errors_total") >= 1);
  // Logged once per outage, however many reconnect attempts it took.
  CHECK(count_of(a.log(), "serving from local state") == 1);
  CHECK(count_of(b.log(), "serving from local state") == 1);
}

TEST_CASE("fleet: state.fail closed answers 503 to keyed requests until Redis is reachable", "[integration][fleet]") {
  const auto dir = test_dir("closed");
  RedisServer redis(dir / "redis");
  redis.stop();
  FakeUpstream upstream;
  Instance a(dir / "a", "a", upstream.url(), fleet_state(redis, "a", ", fail: closed"));
  CHECK(a.call("sk-fleet-closed") == 503);
  CHECK(a.metric("dg_fleet_connected") == 0);
  // Counted as the fleet's refusal (not detection's fail-closed).
  CHECK(a.metric("dg_fleet_rejected_total") == 1);
  redis.start();
  REQUIRE(wait_until([&] { return a.call("sk-fleet-closed") == 200; }, std::chrono::seconds(10)));
  CHECK(a.connected());
}
