#include <catch2/catch.hpp>

#include <algorithm>

#include "gateway/enforce/shared_counters.hpp"

using dg::gateway::SharedCounterKind;
using dg::gateway::SharedCounters;

namespace {

constexpr auto T = SharedCounterKind::Throttle;
const std::string kKey = "fp:00000000000000c1";

/// The update of window `index` in a take, or null.
const SharedCounters::Update* find(const std::vector<SharedCounters::Update>& v, std::int64_t index) {
  auto it = std::find_if(v.begin(), v.end(), [&](const auto& u) { return u.index == index; });
  return it == v.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("shared counters: admit counts own and others against one limit in one step", "[unit][fleet][counters]") {
  SharedCounters c;
  // Window 0 of 60 s: [0, 60). Three admitted here, four elsewhere.
  for (int i = 0; i < 3; ++i) CHECK(c.admit(T, kKey, 60, 10, 10, 1, true).ok);
  auto sent = c.take(11);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].write);
  CHECK(sent[0].own == 3);
  CHECK(sent[0].index == 0);
  c.settle(sent[0], 4);
  CHECK(c.estimate(T, kKey, 60, 12).total() == Approx(7));
  for (int i = 0; i < 3; ++i) CHECK(c.admit(T, kKey, 60, 12, 10, 1, true).ok);
  const auto refused = c.admit(T, kKey, 60, 12, 10, 1, true);
  CHECK_FALSE(refused.ok);
  CHECK(refused.before.total() == Approx(10));
  // A peek (take = false) never counts.
  CHECK_FALSE(c.admit(T, kKey, 60, 12, 10, 1, false).ok);
  CHECK(c.estimate(T, kKey, 60, 12).own == Approx(6));
}

TEST_CASE("shared counters: the previous window weighs by the part still in view", "[unit][fleet][counters]") {
  SharedCounters c;
  c.add(T, kKey, 60, 30, 6);
  auto sent = c.take(31);
  REQUIRE(sent.size() == 1);
  c.settle(sent[0], 4);  // 10 in window 0
  // A quarter into window 1: 10 * 0.75.
  const auto e = c.estimate(T, kKey, 60, 75);
  CHECK(e.total() == Approx(7.5));
  CHECK(e.own == Approx(4.5));
  CHECK(e.prev_weight == Approx(0.75));
  // The first flush after the roll writes nothing new for window 0 (already
  // sent) but reads its final sum once, and refreshes window 1.
  sent = c.take(76);
  const auto* prev = find(sent, 0);
  const auto* curr = find(sent, 1);
  REQUIRE(prev);
  REQUIRE(curr);
  CHECK_FALSE(prev->write);
  CHECK_FALSE(curr->write);
  c.settle(*prev, 9);  // the others closed window 0 at 9
  CHECK(c.estimate(T, kKey, 60, 75).total() == Approx((6 + 9) * 0.75));
  // Two windows later nothing weighs.
  CHECK(c.estimate(T, kKey, 60, 200).total() == Approx(0));
}

TEST_CASE("shared counters: a count not yet written when its window closes still goes out", "[unit][fleet][counters]") {
  SharedCounters c;
  c.add(T, kKey, 60, 59, 2);
  const auto sent = c.take(61);  // window 1 began before the flush
  const auto* prev = find(sent, 0);
  REQUIRE(prev);
  CHECK(prev->write);
  CHECK(prev->own == 2);
}

TEST_CASE("shared counters: quiet keys stop being refreshed while failed writes and new sessions send again",
          "[unit][fleet][counters]") {
  SharedCounters c;
  c.add(T, kKey, 60, 100, 1);
  auto sent = c.take(100.05);
  REQUIRE(sent.size() == 1);
  // Touched within kRefreshS: read again by every flush (the others' share stays fresh).
  sent = c.take(105);
  REQUIRE(sent.size() == 1);
  CHECK_FALSE(sent[0].write);
  // Quiet for longer: no longer refreshed.
  CHECK(c.take(100 + SharedCounters::kRefreshS + 1).empty());
  CHECK(c.take(100 + SharedCounters::kRefreshS + 2).empty());
  // A write whose reply never came is written again.
  c.add(T, kKey, 60, 112, 1);
  sent = c.take(112.05);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].own == 2);
  c.retry(sent[0]);
  sent = c.take(112.1);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].write);
  CHECK(sent[0].own == 2);
  // A new session (Redis may have restarted empty) writes every live count again.
  c.take(112.15);
  c.rewrite_all();
  sent = c.take(112.2);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].write);
  // Keys quiet for two windows are dropped.
  CHECK(c.size() == 1);
  (void)c.take(112 + SharedCounters::kRefreshS + 1);
  (void)c.take(112 + 121 + SharedCounters::kRefreshS);
  CHECK(c.size() == 0);
}

TEST_CASE("shared counters: throttle and budget counts of one key are apart and keys over the cap count locally",
          "[unit][fleet][counters]") {
  SharedCounters c;
  c.add(T, kKey, 60, 1, 1);
  c.add(SharedCounterKind::Budget, kKey, 3600, 1, 500);
  CHECK(c.estimate(T, kKey, 60, 1).own == Approx(1));
  CHECK(c.estimate(SharedCounterKind::Budget, kKey, 3600, 1).own == Approx(500));
  // Far more keys than the cap: the ones beyond it are admitted (local limits apply).
  SharedCounters small(16);  // one key per shard
  int admitted = 0;
  for (int i = 0; i < 100; ++i)
    if (small.admit(T, "fp:k" + std::to_string(i), 60, 1, 0.5, 1, true).ok) ++admitted;
  CHECK(small.size() <= 16);
  CHECK(admitted >= 100 - 16);
}
