// Fleet mode, shared enforcement counters (issue #14): three `distillguard`
// processes and a real redis-server. A throttle of 10 requests per minute
// (with a local bucket of 10, so each instance alone would admit 10) holds at
// 10 across the three; without shared counters it would admit 30. Every wait
// polls with a deadline.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "gateway/traffic/key_fingerprint.hpp"
#include "tests/integration/fleet/fleet_support.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/test_files.hpp"

using namespace dg::test;
using namespace dg::test::fleet;

namespace {

/// Fleet state plus a policy whose throttle is 10 per minute with a burst of
/// 10 (no rules: only operator decisions act).
std::string fleet_state_and_policy(const RedisServer& redis, const std::string& instance) {
  return "state: {backend: redis, url: '" + redis.url() + "', prefix: dgcnt, instance: " + instance + "}\n" +
         "policy: {shadow: false, allow_empty: true, throttle: {requests_per_minute: 10, burst: 10}, rules: []}\n";
}

double flushes(const Instance& i) { return i.metric("dg_fleet_counter_flushes_total"); }

/// Until every instance has answered two more flushes than in `before`: the
/// second began after the first ended, so it carried (or read) every count
/// made before the call.
bool synced(const std::vector<const Instance*>& all, const std::vector<double>& before) {
  return wait_until([&] {
    for (std::size_t i = 0; i < all.size(); ++i)
      if (flushes(*all[i]) < before[i] + 2) return false;
    return true;
  }, std::chrono::milliseconds(5000));
}

struct Run {
  int admitted = 0, throttled = 0, other = 0;
  bool crossed_minute = false;
};

/// 30 requests of `key` round robin over the instances, each after the
/// previous one's count reached every instance.
Run run_round_robin(const std::vector<const Instance*>& all, const std::string& key) {
  Run r;
  const auto minute = [] { return std::time(nullptr) / 60; };
  const auto m0 = minute();
  for (int n = 0; n < 30; ++n) {
    std::vector<double> before;
    for (const auto* i : all) before.push_back(flushes(*i));
    const int status = all[static_cast<std::size_t>(n) % all.size()]->call(key);
    (status == 200 ? r.admitted : status == 429 ? r.throttled : r.other)++;
    // Instances that have served the key flush it (an instance that has not
    // has nothing to send yet; its first request is among the first three).
    const auto served = std::min<std::size_t>(all.size(), static_cast<std::size_t>(n) + 1);
    REQUIRE(synced({all.begin(), all.begin() + static_cast<std::ptrdiff_t>(served)},
                   {before.begin(), before.begin() + static_cast<std::ptrdiff_t>(served)}));
  }
  r.crossed_minute = minute() != m0;
  return r;
}

}  // namespace

TEST_CASE("fleet: a throttle of 10 requests per minute holds at 10 across three instances",
          "[integration][fleet][counters]") {
  const auto dir = fresh_temp_dir("fleet-counters");
  RedisServer redis(dir / "redis");
  FakeUpstream upstream;
  Instance a(dir / "a", "a", upstream.url(), fleet_state_and_policy(redis, "a"));
  Instance b(dir / "b", "b", upstream.url(), fleet_state_and_policy(redis, "b"));
  Instance c(dir / "c", "c", upstream.url(), fleet_state_and_policy(redis, "c"));
  const std::vector<const Instance*> all{&a, &b, &c};
  REQUIRE(wait_until([&] { return a.connected() && b.connected() && c.connected(); }));

  // A minute boundary inside a run lets the sliding count admit one more (the
  // closed window weighs a little less than 1): a run that crossed one is done
  // again with a fresh key (a run takes seconds, so the second cannot cross).
  Run r;
  std::string fp;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const std::string key = "sk-fleet-throttle-" + std::to_string(attempt);
    fp = dg::gateway::key_fingerprint(key, "fleet-salt");
    REQUIRE(a.decide(fp, "throttle") == 201);
    REQUIRE(wait_until([&] { return b.metric("dg_fleet_decisions_total{event=\"received\"}") >= attempt + 1 &&
                                    c.metric("dg_fleet_decisions_total{event=\"received\"}") >= attempt + 1; }));
    r = run_round_robin(all, key);
    if (!r.crossed_minute) break;
  }
  REQUIRE_FALSE(r.crossed_minute);
  std::printf("fleet counters: 30 requests over 3 instances, throttle 10/min: %d admitted, %d throttled\n",
              r.admitted, r.throttled);
  CHECK(r.admitted == 10);
  CHECK(r.throttled == 20);
  CHECK(r.other == 0);
  // Each instance refused some: the limit is the fleet's, not A's alone.
  for (const auto* i : all) CHECK(i->metric("dg_fleet_counter_keys") >= 1);
  // Redis holds one hash per window with one field per instance that admitted.
  const auto window = std::to_string(std::time(nullptr) / 60);
  const auto fields = redis_cli(redis.port(), {"HGETALL", "dgcnt:cnt:t:" + fp + ":60000:" + window});
  std::printf("fleet counters: window hash %s\n", fields.c_str());
  CHECK(fields.find(fp) == std::string::npos);  // instances and counts, not the key
  const double windows = a.metric("dg_fleet_counter_windows_total") + b.metric("dg_fleet_counter_windows_total") +
                         c.metric("dg_fleet_counter_windows_total");
  std::printf("fleet counters: %.0f window updates sent by the three instances, %.0f EVALSHA calls in Redis\n",
              windows, static_cast<double>(redis.calls("evalsha")));
  CHECK(a.metric("dg_fleet_counter_errors_total") == 0);
}
