#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "gateway/decisions/decision_table.hpp"

using dg::detectors::Action;
using dg::detectors::Decision;
using dg::gateway::DecisionTable;

namespace {
Decision make(std::string fp, Action a, double created, double expires) {
  Decision d;
  d.key_fp = std::move(fp);
  d.action = a;
  d.created = created;
  d.expires = expires;
  return d;
}
}  // namespace

TEST_CASE("decision table: lookup by fingerprint with expiry by event time", "[decision]") {
  DecisionTable t(8);
  t.put(make("fp:0000000000000001", Action::Block, 0, 100));
  t.put(make("fp:0000000000000002", Action::Throttle, 0, 0));  // never expires
  REQUIRE(t.active("fp:0000000000000001", 50));
  CHECK(t.active("fp:0000000000000001", 50)->action == Action::Block);
  CHECK_FALSE(t.active("fp:0000000000000001", 100));  // expired at its expiry
  CHECK(t.latest("fp:0000000000000001"));             // still remembered
  CHECK(t.active("fp:0000000000000002", 1e12));
  CHECK_FALSE(t.active("fp:0000000000000003", 0));
  CHECK(t.active_all(50).size() == 2);
  CHECK(t.active_all(150).size() == 1);

  t.put(make("fp:0000000000000001", Action::Throttle, 120, 200));  // replaces
  CHECK(t.active("fp:0000000000000001", 150)->action == Action::Throttle);
  CHECK(t.size() == 2);

  CHECK(t.sweep(250, 100) == 0);  // expired 50 s ago, remembered 100 s
  CHECK(t.sweep(301, 100) == 1);
  CHECK_FALSE(t.latest("fp:0000000000000001"));
  CHECK(t.erase("fp:0000000000000002"));
  CHECK(t.size() == 0);
}

TEST_CASE("decision table: concurrent writers and readers", "[decision]") {
  DecisionTable t(16);
  std::atomic<int> misses{0};  // Catch2 assertions are not thread-safe
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&t, &misses, w] {
      for (int i = 0; i < 2000; ++i) {
        char fp[32];
        std::snprintf(fp, sizeof fp, "fp:%016x", w * 100000 + i);
        t.put(make(fp, Action::Block, 0, 0));
        if (!t.active(fp, 1)) ++misses;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(misses == 0);
  CHECK(t.size() == 8000);
}
