#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gateway/decisions/decision_store.hpp"
#include "tests/test_files.hpp"

using dg::detectors::Action;
using dg::detectors::Decision;
using namespace dg::gateway;

namespace {

std::filesystem::path temp_dir(const std::string& name) { return dg::test::fresh_temp_dir("store-" + name); }

Decision block(int i, double created) {
  char fp[32];
  std::snprintf(fp, sizeof fp, "fp:%016x", static_cast<unsigned>(0x1000 + i));
  Decision d;
  d.key_fp = fp;
  d.action = Action::Block;
  d.intended = Action::Block;
  d.created = created;
  d.expires = created + 600;
  d.reason = "rule 'x'";
  return d;
}

DecisionStoreOptions options(const std::filesystem::path& dir) {
  DecisionStoreOptions o;
  o.journal.path = (dir / "decisions.jsonl").string();
  o.journal.fsync = FsyncPolicy::Always;  // slow writes: the queue is still full at shutdown
  o.audit_path = (dir / "audit.jsonl").string();
  return o;
}

std::size_t count_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  const auto text = s.str();
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_CASE("decision store: posted decisions are in force at once and a shutdown writes them all",
          "[unit][decisions][journal]") {
  const auto dir = temp_dir("flush");
  constexpr int kN = 200;
  {
    DecisionStore store(options(dir));
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store.open(0, w, e));
    for (int i = 0; i < kN; ++i) {
      store.post(block(i, 10), "detector", 10);
      CHECK(store.table().active(block(i, 10).key_fp, 11));  // before any write is known to be done
    }
    // No flush: the destructor (shutdown) drains the queue.
  }
  CHECK(count_lines(dir / "audit.jsonl") == kN);
  DecisionStore again(options(dir));
  std::vector<std::string> w;
  std::string e;
  REQUIRE(again.open(11, w, e));
  CHECK(w.empty());
  CHECK(again.table().size() == kN);
  for (int i = 0; i < kN; ++i) CHECK(again.table().active(block(i, 10).key_fp, 11));
}

TEST_CASE("decision store: apply returns once its journal write is done, in order with posted ones",
          "[unit][decisions][journal]") {
  const auto dir = temp_dir("ack");
  DecisionStore store(options(dir));
  std::vector<std::string> w;
  std::string e;
  REQUIRE(store.open(0, w, e));
  for (int i = 0; i < 20; ++i) store.post(block(i, 10), "detector", 10);
  auto lift = block(3, 20);
  lift.action = Action::Allow;
  lift.origin = dg::detectors::Origin::Operator;
  lift.expires = 0;
  REQUIRE(store.apply(lift, "operator", 20));
  // Acknowledged: on disk already, after the 20 queued before it (a fresh
  // reader sees every one of them, and the lift last for its key).
  const auto loaded = DecisionJournal::load((dir / "decisions.jsonl").string());
  CHECK(loaded.decisions.size() == 20);
  CHECK(loaded.lines == 21);
  const auto lifted = std::find_if(loaded.decisions.begin(), loaded.decisions.end(),
                                   [&](const auto& d) { return d.key_fp == lift.key_fp; });
  REQUIRE(lifted != loaded.decisions.end());
  CHECK(lifted->action == Action::Allow);
  CHECK(count_lines(dir / "audit.jsonl") == 21);
}

TEST_CASE("decision store: a sweep queues its removals and they survive a restart", "[unit][decisions][journal]") {
  const auto dir = temp_dir("sweep");
  auto o = options(dir);
  o.memory_s = 100;
  {
    DecisionStore store(o);
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store.open(0, w, e));
    store.post(block(1, 0), "detector", 0);    // expires 600
    store.post(block(2, 500), "detector", 500);  // expires 1100
    CHECK(store.sweep(800) == 1);
    CHECK(store.table().size() == 1);
  }
  const auto loaded = DecisionJournal::load((dir / "decisions.jsonl").string());
  REQUIRE(loaded.decisions.size() == 1);
  CHECK(loaded.decisions.front().key_fp == block(2, 500).key_fp);
  CHECK(count_lines(dir / "audit.jsonl") == 3);  // two decisions, one expiry
}

TEST_CASE("decision store: post_if_newer applies only a newer decision", "[unit][decisions][fleet]") {
  DecisionStore store(DecisionStoreOptions{});
  int heard = 0;
  store.set_fleet_listener([&](const Decision&, std::string_view) { ++heard; });
  const auto fp = block(1, 0).key_fp;
  CHECK(store.post_if_newer(block(1, 100), "fleet/a/detector", 100));  // none yet
  CHECK_FALSE(store.post_if_newer(block(1, 50), "fleet/a/detector", 100));   // older
  CHECK_FALSE(store.post_if_newer(block(1, 100), "fleet/a/detector", 100));  // the same
  CHECK(store.table().latest(fp)->created == 100);
  CHECK(store.post_if_newer(block(1, 150), "fleet/b/operator", 150));
  CHECK(store.table().latest(fp)->created == 150);
  CHECK(heard == 2);  // listeners run for applied changes only
  CHECK(store.changes() == 2);
}

TEST_CASE("decision store: post_if_newer racing a newer change never leaves the older decision",
          "[unit][decisions][fleet]") {
  // Two threads per key: one applies the newer decision, the other tries the
  // older one. Compared outside the store's lock, the older could be
  // written after the newer and stay (check-then-act); each round is a new key.
  const auto dir = temp_dir("newer-race");
  auto run = [](DecisionStore& store, int rounds) {
    int wrong = 0;
    for (int r = 0; r < rounds; ++r) {
      std::atomic<int> ready{0};
      auto go = [&](double created) {
        ready.fetch_add(1);
        while (ready.load() < 2) {
        }
        store.post_if_newer(block(r, created), "fleet/x/detector", created);
      };
      std::thread older(go, 1000.0 + 2 * r);
      std::thread newer(go, 1001.0 + 2 * r);
      older.join();
      newer.join();
      if (store.table().latest(block(r, 0).key_fp)->created != 1001.0 + 2 * r) ++wrong;
    }
    return wrong;
  };
  SECTION("in memory (no writer thread)") {
    DecisionStore store(DecisionStoreOptions{});
    CHECK(run(store, 3000) == 0);
  }
  SECTION("with a journal (changes ordered by the writer's queue)") {
    auto o = options(dir);
    o.journal.fsync = FsyncPolicy::Never;
    DecisionStore store(o);
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store.open(0, w, e));
    CHECK(run(store, 3000) == 0);
  }
}
