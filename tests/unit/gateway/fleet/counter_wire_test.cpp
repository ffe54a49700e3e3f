#include <catch2/catch.hpp>

#include "gateway/fleet/counter_wire.hpp"

using namespace dg::gateway::fleet;

TEST_CASE("counter keys name the same epoch-aligned window on every instance") {
  CHECK(counter_window_index(119.999, 60) == 1);
  CHECK(counter_window_index(120.0, 60) == 2);
  CHECK(counter_window_index(-0.5, 60) == -1);
  CHECK(counter_key("dg", CounterKind::Throttle, "fp:00000000000000a1", 60, 29000000) ==
        "dg:cnt:t:fp:00000000000000a1:60000:29000000");
  CHECK(counter_key("dg", CounterKind::Budget, "fp:1", 0.25, 7) == "dg:cnt:b:fp:1:250:7");
}

TEST_CASE("counter_command carries a batch in one EVALSHA: keys, instance, then own count and TTL per key") {
  const std::vector<CounterUpdate> batch{{"dg:cnt:t:a:60000:1", 4, 120000}, {"dg:cnt:b:a:3600000:1", -1, 0}};
  const auto args = counter_command("api-1", batch);
  const std::vector<std::string> want{"EVALSHA", counter_script_sha(), "2", "dg:cnt:t:a:60000:1",
                                      "dg:cnt:b:a:3600000:1", "api-1", "4", "120000", "", "0"};
  CHECK(args == want);
  CHECK(counter_command("api-1", batch, false)[0] == "EVAL");
  CHECK(counter_command("api-1", batch, false)[1] == counter_script());
}

TEST_CASE("counter_script_sha is 40 lowercase hex digits computed once") {
  // That Redis' SCRIPT LOAD returns the same: tests/integration/fleet/counter_script_test.cpp.
  const auto& sha = counter_script_sha();
  REQUIRE(sha.size() == 40);
  CHECK(sha.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(&sha == &counter_script_sha());
}
