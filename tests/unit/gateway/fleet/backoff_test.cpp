#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

#include "gateway/fleet/backoff.hpp"

using dg::gateway::fleet::ReconnectBackoff;
using namespace std::chrono_literals;

TEST_CASE("reconnect backoff: every delay lies in [0, min(max, min * 2^n)]", "[unit][fleet]") {
  for (std::uint64_t seed : {1u, 2u, 42u, 1234567u}) {
    ReconnectBackoff b(100ms, 2000ms, seed);
    std::chrono::milliseconds bound = 100ms;
    for (int n = 0; n < 40; ++n) {
      CHECK(b.ceiling() == bound);
      const auto d = b.next();
      CHECK(d >= 0ms);
      CHECK(d <= bound);
      bound = std::min(2000ms, bound * 2);
    }
    CHECK(b.ceiling() == 2000ms);  // capped, never beyond
    b.reset();
    CHECK(b.ceiling() == 100ms);
    CHECK(b.next() <= 100ms);
  }
}

TEST_CASE("reconnect backoff: a seed repeats its delays and instances with their own seeds are not in lockstep",
          "[unit][fleet]") {
  auto delays = [](std::uint64_t seed) {
    ReconnectBackoff b(100ms, 2000ms, seed);
    std::vector<long> out;
    for (int n = 0; n < 8; ++n) out.push_back(static_cast<long>(b.next().count()));
    return out;
  };
  CHECK(delays(7) == delays(7));
  // 200 sidecars that lost Redis together, at their 6th retry (window 0..2000
  // ms): the retries spread over the window instead of one instant.
  std::set<long> at_sixth;
  long lo = 1 << 30, hi = -1;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const auto d = delays(seed)[5];
    at_sixth.insert(d);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  CHECK(at_sixth.size() > 150);
  CHECK(lo < 200);   // some come back early...
  CHECK(hi > 1800);  // ...some late: the whole window is used (full jitter)
}

TEST_CASE("reconnect backoff: a max below min is raised to min and min is at least 1 ms", "[unit][fleet]") {
  ReconnectBackoff b(500ms, 100ms, 3);
  for (int n = 0; n < 5; ++n) CHECK(b.next() <= 500ms);
  CHECK(b.ceiling() == 500ms);
  ReconnectBackoff z(0ms, 0ms, 3);
  CHECK(z.ceiling() == 1ms);
}
