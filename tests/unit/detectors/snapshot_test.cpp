#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "detectors/snapshot.hpp"

using dg::detectors::Snapshot;

TEST_CASE("snapshot: a store is seen by the next load, in this thread and others", "[snapshot]") {
  Snapshot<int> s(std::make_shared<const int>(1));
  CHECK(*s.load() == 1);
  const auto held = s.load();
  s.store(std::make_shared<const int>(2));
  CHECK(*s.load() == 2);
  CHECK(*held == 1);  // a reader keeps the snapshot it loaded
  int seen = 0;
  std::thread([&] { seen = *s.load(); }).join();
  CHECK(seen == 2);
}

TEST_CASE("snapshot: per-thread caches never mix instances, also one at a destroyed one's address", "[snapshot]") {
  Snapshot<int> a(std::make_shared<const int>(10));
  Snapshot<int> b(std::make_shared<const int>(20));
  for (int i = 0; i < 3; ++i) {
    CHECK(*a.load() == 10);
    CHECK(*b.load() == 20);
  }
  // Same storage, new object: the thread's cache still names that address.
  std::optional<Snapshot<int>> slot;
  slot.emplace(std::make_shared<const int>(1));
  CHECK(*slot->load() == 1);
  slot.reset();
  slot.emplace(std::make_shared<const int>(2));
  CHECK(*slot->load() == 2);
}

TEST_CASE("snapshot: readers racing a writer only ever see published, non-decreasing values", "[snapshot]") {
  Snapshot<int> s(std::make_shared<const int>(0));
  constexpr int kStores = 2000;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done.load(std::memory_order_acquire)) {
        const int v = *s.load();
        if (v < last || v > kStores) bad.fetch_add(1);
        last = v;
      }
    });
  }
  for (int i = 1; i <= kStores; ++i) s.store(std::make_shared<const int>(i));
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  CHECK(bad.load() == 0);
  CHECK(*s.load() == kStores);
}
