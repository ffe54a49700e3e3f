// Hidden benchmark ([.bench]): memory of the linker at 100,000 keys, hot-path
// cost of record(), and CPU time of cluster() per 1,000 requests.
//   ./build/tests/dg_unit_tests "[campaign_bench]"
#include <catch2/catch.hpp>

#include <malloc.h>

#include <chrono>
#include <ctime>
#include <iostream>

#include "detectors/campaign_linker.hpp"
#include "campaign_test_support.hpp"

using namespace dg::detectors;
using namespace dg::detectors::test;

TEST_CASE("campaign linker: memory at 100k keys and cluster CPU per 1,000 requests", "[.bench][campaign_bench]") {
  constexpr int kKeys = 100'000;
  constexpr int kRequests = 1'000'000;  // one simulated day, ~10 requests per key
  std::mt19937_64 rng(1);
  const std::uint64_t hydra_sig = rng();
  std::vector<Event> ev;
  ev.reserve(kRequests);
  std::uniform_real_distribution<double> u(0, 1);
  for (int r = 0; r < kRequests; ++r) {
    Event e;
    int k = static_cast<int>(rng() % kKeys);
    e.ts = kT0 + 86400.0 * r / kRequests;
    e.key_fp = fp_of("be", k);
    bool hydra = k < 5000;
    e.ip = hydra ? ip4(45, 90, k % 20, 9) : ip4(100 + k % 100, (k / 100) % 250, (k / 25000) % 250, 1 + r % 200);
    e.tmpl = hydra ? slot_variant(hydra_sig, rng) : rng();
    ev.push_back(std::move(e));
  }
  std::vector<Exchange> exchanges;
  exchanges.reserve(ev.size());
  for (const auto& e : ev) exchanges.push_back(make(e));
  ev.clear();
  ev.shrink_to_fit();

  auto heap_before = mallinfo2().uordblks;
  CampaignLinker linker;
  std::clock_t c0 = std::clock();
  for (const auto& ex : exchanges) linker.record(ex);
  std::clock_t c1 = std::clock();
  auto heap_after = mallinfo2().uordblks;
  auto s = linker.stats();
  REQUIRE(s.keys_tracked > 99'000);

  // cluster() over all 100k keys, a few runs.
  constexpr int kRuns = 5;
  std::clock_t c2 = std::clock();
  for (int i = 0; i < kRuns; ++i) linker.cluster(kT0 + 86400 + i);
  std::clock_t c3 = std::clock();
  double record_ns = 1e9 * static_cast<double>(c1 - c0) / CLOCKS_PER_SEC / kRequests;
  double cluster_ms = 1e3 * static_cast<double>(c3 - c2) / CLOCKS_PER_SEC / kRuns;
  double interval = linker.config()->cluster_interval_s;
  // Requests arriving between two cluster() runs at this load: kRequests per day.
  double requests_per_interval = kRequests / 86400.0 * interval;
  double bytes = static_cast<double>(heap_after - heap_before);
  std::cout << "keys tracked: " << s.keys_tracked << "\n"
            << "heap for 100k keys: " << bytes / 1e6 << " MB (" << bytes / static_cast<double>(s.keys_tracked)
            << " B/key; approx_bytes_per_key " << CampaignLinker::approx_bytes_per_key() << ")\n"
            << "record(): " << record_ns << " ns CPU per exchange\n"
            << "cluster() over 100k keys: " << cluster_ms << " ms CPU per run\n"
            << "cluster() CPU per 1,000 requests at 1M requests/day, every " << interval
            << " s: " << cluster_ms / (requests_per_interval / 1000.0) << " ms\n"
            << "cluster() CPU per 1,000 keys clustered: " << cluster_ms / (s.keys_tracked / 1000.0) << " ms\n"
            << "campaigns: " << linker.campaigns().size() << "\n";
  auto cs = linker.campaigns();
  REQUIRE_FALSE(cs.empty());
  std::cout << cs[0].campaign_id << " (" << cs[0].member_fps.size() << " keys, score " << cs[0].score << ")\n";
  for (const auto& line : cs[0].evidence) std::cout << "  - " << line << "\n";
}
