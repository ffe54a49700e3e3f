// CampaignLinker::reconfigure: live fields take effect for the next call,
// restart-only fields are kept and reported, and a reconfigure racing the hot
// path is safe (also built with -fsanitize=thread, see the report of the
// change that added it).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "detectors/campaign_linker.hpp"
#include "campaign_test_support.hpp"

using namespace dg::detectors;
using namespace dg::detectors::test;

namespace {

std::vector<Event> hydra_events() {
  std::mt19937_64 seed(13);
  std::vector<Event> ev;
  add_hydra(ev, seed, "aa", 40, 2, 1, 26, kT0, 1.0);
  sort_events(ev);
  return ev;
}

std::size_t flagged(const CampaignLinker& linker, const std::vector<Event>& ev) {
  std::set<std::string> keys;
  for (const auto& e : ev)
    if (linker.membership(e.key_fp)) keys.insert(e.key_fp);
  return keys.size();
}

}  // namespace

TEST_CASE("reconfigure: a new threshold applies to the next cluster run", "[campaign][reload]") {
  const auto ev = hydra_events();
  CampaignLinker linker;
  for (const auto& e : ev) linker.record(make(e));
  linker.cluster(kT0 + 86400);
  REQUIRE(flagged(linker, ev) == 40);

  CampaignConfig stricter;
  stricter.min_campaign_keys = 41;  // one more than the hydra has
  CHECK(linker.reconfigure(stricter).empty());
  CHECK(linker.config()->min_campaign_keys == 41);
  linker.cluster(kT0 + 86400);
  CHECK(linker.campaigns().empty());
  CHECK(flagged(linker, ev) == 0);

  CHECK(linker.reconfigure(CampaignConfig{}).empty());
  linker.cluster(kT0 + 86400);
  CHECK(flagged(linker, ev) == 40);
}

TEST_CASE("reconfigure: enabled false stops record and cluster and drops state, true starts afresh",
          "[campaign][reload]") {
  const auto ev = hydra_events();
  CampaignLinker linker;
  for (const auto& e : ev) linker.record(make(e));
  linker.cluster(kT0 + 86400);
  REQUIRE(flagged(linker, ev) == 40);
  const auto before = linker.stats();

  CampaignConfig off;
  off.enabled = false;
  CHECK(linker.reconfigure(off).empty());
  linker.record(make(ev.front()));
  linker.cluster(kT0 + 86400);
  const auto disabled = linker.stats();
  CHECK(disabled.exchanges_recorded == before.exchanges_recorded);
  CHECK(disabled.cluster_runs == before.cluster_runs);
  CHECK(disabled.keys_tracked == 0);
  CHECK(disabled.campaigns == 0);
  CHECK(linker.campaigns().empty());
  CHECK(flagged(linker, ev) == 0);
  CHECK_FALSE(linker.maybe_cluster(kT0 + 10 * 86400));
  CHECK(linker.stats().cluster_runs == before.cluster_runs);

  CHECK(linker.reconfigure(CampaignConfig{}).empty());
  for (const auto& e : ev) linker.record(make(e));
  linker.cluster(kT0 + 86400);
  CHECK(linker.stats().exchanges_recorded == before.exchanges_recorded + ev.size());
  CHECK(flagged(linker, ev) == 40);
}

TEST_CASE("reconfigure: fields that shape the state keep their start-up values and are reported",
          "[campaign][reload]") {
  CampaignLinker linker;
  CampaignConfig next;
  next.max_keys = 10;
  next.shards = 4;
  next.bucket_seconds = 60;
  next.ipv4_prefix = 16;
  next.ipv6_prefix = 64;
  next.min_campaign_keys = 9;
  next.live_cluster_interval_s = 2;
  const auto ignored = linker.reconfigure(next);
  CHECK(ignored == std::vector<std::string>{"max_keys", "shards", "bucket_seconds", "ipv4_prefix", "ipv6_prefix"});
  const auto c = linker.config();
  const CampaignConfig defaults;
  CHECK(c->max_keys == defaults.max_keys);
  CHECK(c->shards == defaults.shards);
  CHECK(c->bucket_seconds == defaults.bucket_seconds);
  CHECK(c->ipv4_prefix == defaults.ipv4_prefix);
  CHECK(c->ipv6_prefix == defaults.ipv6_prefix);
  CHECK(c->min_campaign_keys == 9);
  CHECK(c->live_cluster_interval_s == 2);
  // Unchanged restart-only fields are not reported.
  CHECK(linker.reconfigure(*c).empty());
  CHECK(*linker.config() == *c);
}

TEST_CASE("reconfigure is safe while workers record, note actions and a thread clusters", "[campaign][reload]") {
  const auto ev = hydra_events();
  CampaignLinker linker;
  std::atomic<std::size_t> next{0};
  std::atomic<int> running{4};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w)
    threads.emplace_back([&] {
      for (std::size_t i = next++; i < ev.size(); i = next++) {
        linker.record(make(ev[i]));
        (void)linker.membership(ev[i].key_fp);
        if (i % 97 == 0) linker.note_actioned(ev[i].key_fp, "block", ev[i].ts);
        (void)linker.config()->min_campaign_keys;
      }
      --running;
    });
  threads.emplace_back([&] {
    for (int c = 0; c < 30; ++c) {
      linker.cluster(kT0 + 86400);
      (void)linker.campaigns();
      (void)linker.stats();
    }
    --running;
  });
  // Reconfigure until every other thread is done (bounded: they finish after
  // a fixed amount of work), toggling live fields and `enabled`.
  std::size_t rounds = 0;
  while (running.load() > 0 || rounds < 100) {
    CampaignConfig c;
    c.min_campaign_keys = 8 + rounds % 5;
    c.template_max_hamming = static_cast<int>(rounds % 4);
    c.rotation_max_requests = 20 + static_cast<std::uint32_t>(rounds % 30);
    c.max_actioned = 1 + rounds % 3;
    c.enabled = rounds % 7 != 3;
    c.shards = 1 + rounds % 3;  // restart-only: ignored every time
    CHECK(linker.reconfigure(c) == std::vector<std::string>{"shards"});
    ++rounds;
    REQUIRE(rounds < 10'000'000);
  }
  for (auto& t : threads) t.join();
  CHECK(linker.config()->shards == CampaignConfig{}.shards);

  // Off and on again (fresh state), fed once more from one thread: the
  // linker still works.
  CampaignConfig off;
  off.enabled = false;
  CHECK(linker.reconfigure(off).empty());
  CHECK(linker.reconfigure(CampaignConfig{}).empty());
  for (const auto& e : ev) linker.record(make(e));
  linker.cluster(kT0 + 86400);
  CHECK(flagged(linker, ev) == 40);
}
