// The shared-counter script of gateway/fleet/counter_wire (issue #14) on a
// real redis-server, sent with redis-cli: Redis names it by the SHA1 the
// proxy computes locally, and a batch writes this instance's absolute count,
// returns the other instances' sum, and counts a retried write once.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/fleet/counter_wire.hpp"
#include "tests/integration/fleet/fleet_support.hpp"
#include "tests/test_files.hpp"

using namespace dg::test;
using namespace dg::test::fleet;
using namespace dg::gateway::fleet;

TEST_CASE("counter script on a real Redis: named by the local SHA1 and summing the other instances once",
          "[integration][fleet]") {
  RedisServer redis(fresh_temp_dir("fleet-counter-script") / "redis");
  const auto port = redis.port();
  const std::string t = counter_key("dg-test", CounterKind::Throttle, "fp:00000000000000a1", 60, 100);
  const std::string b = counter_key("dg-test", CounterKind::Budget, "fp:00000000000000a1", 3600, 2);

  // Before SCRIPT LOAD, EVALSHA is refused (the NOSCRIPT case EVAL covers).
  CHECK(redis_cli(port, counter_command("api-1", {{t, 4, 120000}})).find("NOSCRIPT") != std::string::npos);
  CHECK(redis_cli(port, counter_command("api-1", {{t, 4, 120000}, {b, 10, 7200000}}, /*by_sha=*/false)) == "0\n0\n");
  CHECK(redis_cli(port, {"SCRIPT", "LOAD", counter_script()}) == counter_script_sha() + "\n");

  CHECK(redis_cli(port, counter_command("api-2", {{t, 3, 120000}, {b, -1, 0}})) == "4\n10\n");
  // api-1 retries its write (the outcome of the first was unknown): it counts once.
  CHECK(redis_cli(port, counter_command("api-1", {{t, 4, 120000}})) == "3\n");
  CHECK(redis_cli(port, counter_command("api-1", {{t, 6, 120000}})) == "3\n");
  // A read-only instance sees everyone; its read changes nothing.
  CHECK(redis_cli(port, counter_command("api-3", {{t, -1, 0}, {b, -1, 0}})) == "9\n10\n");
  CHECK(redis_cli(port, {"HLEN", t}) == "2\n");
  const auto ttl = std::stoll(redis_cli(port, {"PTTL", t}));
  CHECK(ttl > 0);
  CHECK(ttl <= 120000);
  // api-2 wrote nothing to the budget window: its TTL is api-1's.
  CHECK(std::stoll(redis_cli(port, {"PTTL", b})) > 120000);
}
