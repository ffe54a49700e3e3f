#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "detectors/campaign_engine_adapter.hpp"
#include "detectors/campaign_linker.hpp"
#include "campaign_test_support.hpp"

using namespace dg::detectors;
using namespace dg::detectors::test;

namespace {

bool any_contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const auto& l : lines)
    if (l.find(needle) != std::string::npos) return true;
  return false;
}

std::set<std::string> keys_with_label(const std::vector<Event>& ev, int label) {
  std::set<std::string> out;
  for (const auto& e : ev)
    if (e.label == label) out.insert(e.key_fp);
  return out;
}

std::size_t flagged(const CampaignLinker& linker, const std::set<std::string>& keys) {
  std::size_t n = 0;
  for (const auto& k : keys)
    if (linker.membership(k)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a hydra campaign is found within 24 simulated hours with >= 95% of its keys", "[campaign]") {
  std::mt19937_64 rng(42);
  std::vector<Event> ev;
  add_hydra(ev, rng, "aa", 220, 3, 3, 26, kT0 + 2 * 3600, 2.0);
  add_benign(ev, rng, "bb", 300, 20, kT0, 2.0, /*nat_keys=*/40);
  sort_events(ev);
  auto hydra = keys_with_label(ev, 1);
  auto benign = keys_with_label(ev, 0);
  REQUIRE(hydra.size() == 220);

  CampaignLinker linker;
  double detected_at = -1;
  std::size_t benign_flagged_max = 0;
  for (const auto& e : ev) {
    if (linker.maybe_cluster(e.ts)) {
      if (detected_at < 0 && flagged(linker, hydra) * 100 >= hydra.size() * 95) detected_at = e.ts;
      benign_flagged_max = std::max(benign_flagged_max, flagged(linker, benign));
    }
    linker.record(make(e));
  }
  linker.cluster(ev.back().ts);
  INFO("hours to >= 95% member recall: " << (detected_at - (kT0 + 2 * 3600)) / 3600);
  REQUIRE(detected_at > 0);
  CHECK(detected_at - (kT0 + 2 * 3600) <= 24 * 3600);
  CHECK(benign_flagged_max == 0);

  auto campaigns = linker.campaigns();
  REQUIRE(campaigns.size() == 1);
  CHECK(campaigns[0].member_fps.size() >= 209);
  CHECK(campaigns[0].score >= 0.6);
  for (const auto& fp : campaigns[0].member_fps) CHECK(hydra.count(fp) == 1);
  auto m = linker.membership(*hydra.begin());
  REQUIRE(m);
  CHECK(m->campaign_id == campaigns[0].campaign_id);
  CHECK(m->members == campaigns[0].member_fps.size());
  CHECK(any_contains(m->evidence, "keys share template T:"));
  CHECK(any_contains(m->evidence, "come from 3 client networks (45.90."));
  CHECK(any_contains(m->evidence, "use the same user agent"));
  CHECK(any_contains(m->evidence, "requests per key"));
  for (const auto& line : m->evidence) INFO(line);

  // The engine adapter turns the membership into a finding on every member.
  std::size_t sunk = 0;
  auto n = forward_campaign_findings(linker, ev.back().ts, [&](const std::string& fp, const Finding& f, double until) {
    CHECK(hydra.count(fp) == 1);
    CHECK(f.detector == "campaign");
    CHECK(f.evidence.front().find("member of campaign " + campaigns[0].campaign_id) == 0);
    CHECK(until == Approx(ev.back().ts + linker.config()->finding_ttl_s));
    ++sunk;
  });
  CHECK(n == sunk);
  CHECK(n == campaigns[0].member_fps.size());
}

TEST_CASE("campaign ids are stable across cluster runs and replay is deterministic", "[campaign]") {
  auto run = [] {
    std::mt19937_64 rng(7);
    std::vector<Event> ev;
    add_hydra(ev, rng, "aa", 60, 2, 1, 26, kT0, 1.0);
    add_hydra(ev, rng, "cc", 40, 2, 2, 26, kT0, 1.0, 20);
    add_benign(ev, rng, "bb", 100, 20, kT0, 1.0);
    sort_events(ev);
    CampaignLinker linker;
    replay(linker, ev);
    auto before = linker.campaigns();
    linker.cluster(ev.back().ts + 1);
    auto after = linker.campaigns();
    REQUIRE(before.size() == 2);
    REQUIRE(after.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(before[i].campaign_id == after[i].campaign_id);
    return after;
  };
  auto a = run();
  auto b = run();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].campaign_id == b[i].campaign_id);
    CHECK(a[i].member_fps == b[i].member_fps);
    CHECK(a[i].evidence == b[i].evidence);
  }
  CHECK(a[0].campaign_id != a[1].campaign_id);
}

TEST_CASE("keys started together are linked by timing even across many networks", "[campaign]") {
  // 30 keys, each from its own /24, same template, launched within minutes
  // of each other well after the linker started: timing corroborates.
  std::mt19937_64 rng(3);
  std::vector<Event> ev;
  add_benign(ev, rng, "bb", 50, 20, kT0, 2.0);
  std::uint64_t sig = rng();
  for (int k = 0; k < 30; ++k)
    for (int r = 0; r < 40; ++r) {
      Event e;
      e.ts = kT0 + 86400 + k * 20 + r * 1800 + static_cast<double>(rng() % 600);
      e.key_fp = fp_of("dd", k);
      e.ip = ip4(60 + k, 1, 2, 3);
      e.tmpl = slot_variant(sig, rng);
      e.label = 1;
      ev.push_back(e);
    }
  sort_events(ev);
  CampaignLinker linker;
  replay(linker, ev);
  linker.cluster(ev.back().ts);
  auto hydra = keys_with_label(ev, 1);
  CHECK(flagged(linker, hydra) >= 29);
  CHECK(flagged(linker, keys_with_label(ev, 0)) == 0);
  auto m = linker.membership(*hydra.begin());
  REQUIRE(m);
  CHECK(any_contains(m->evidence, "started within 30 min of a sibling key"));
}

TEST_CASE("a rotated key inherits suspicion within its first 50 requests, naming the old key", "[campaign]") {
  CampaignLinker linker;
  std::mt19937_64 rng(11);
  std::uint64_t sig = rng();
  auto ev_for = [&](const std::string& fp, double ts, const std::string& ip, std::uint64_t tmpl, bool logprobs) {
    Event e;
    e.ts = ts;
    e.key_fp = fp;
    e.ip = ip;
    e.tmpl = tmpl;
    e.temperature = 0.0;
    e.max_tokens = 1;
    e.logprobs = logprobs;
    e.top_logprobs = logprobs ? 20 : 0;
    return make(e);
  };
  const std::string old_fp = "fp:0ld0ld0ld0ld0ld0";
  double t = kT0;
  // A key seen before the block with the same features: not a rotation.
  for (int r = 0; r < 20; ++r) linker.record(ev_for("fp:e4r1y0000000000a", t + r, ip4(45, 77, 1, 9), slot_variant(sig, rng), true));
  for (int r = 0; r < 500; ++r, t += 30) linker.record(ev_for(old_fp, t, ip4(45, 77, 1, 10), slot_variant(sig, rng), true));
  linker.note_actioned(old_fp, "shadow", t);  // kept as a flagged key (succession), replaced by the block
  CHECK(linker.stats().actioned_tracked == 1);
  linker.note_actioned(old_fp, "block", t);
  CHECK(linker.stats().actioned_tracked == 1);

  const double later = t + 2 * 3600;
  // Different parameters (no logprobs): not linked.
  for (int r = 0; r < 60; ++r) linker.record(ev_for("fp:d1ffpar000000000", later + r, ip4(45, 77, 1, 11), slot_variant(sig, rng), false));
  // Different network: not linked.
  for (int r = 0; r < 60; ++r) linker.record(ev_for("fp:d1ffnet000000000", later + r, ip4(45, 78, 1, 11), slot_variant(sig, rng), true));
  // Different template: not linked.
  for (int r = 0; r < 60; ++r) linker.record(ev_for("fp:d1fftmp000000000", later + r, ip4(45, 77, 1, 11), rng(), true));
  // The rotated key: same template (slots differ), same /24, same parameters.
  const std::string new_fp = "fp:n3wn3wn3wn3wn3w0";
  int linked_at = 0;
  for (int r = 1; r <= 50 && !linked_at; ++r) {
    linker.record(ev_for(new_fp, later + 100 + r * 60, ip4(45, 77, 1, 200), slot_variant(sig, rng), true));
    if (linker.membership(new_fp)) linked_at = r;
  }
  INFO("linked after " << linked_at << " requests");
  REQUIRE(linked_at > 0);
  CHECK(linked_at <= 50);
  auto m = linker.membership(new_fp);
  REQUIRE(m);
  CHECK(m->score >= 0.8);
  CHECK(m->campaign_id == "r-" + old_fp);
  CHECK(any_contains(m->evidence, "likely rotation of " + old_fp + " (block at "));
  CHECK(any_contains(m->evidence, "45.77.1.0/24"));
  CHECK_FALSE(linker.membership("fp:d1ffpar000000000"));
  CHECK_FALSE(linker.membership("fp:d1ffnet000000000"));
  CHECK_FALSE(linker.membership("fp:d1fftmp000000000"));
  CHECK_FALSE(linker.membership("fp:e4r1y0000000000a"));
  CHECK_FALSE(linker.membership(old_fp));
  CHECK(linker.stats().rotation_links == 1);

  // The adapter forwards rotation links too.
  std::size_t n = forward_campaign_findings(linker, later, [&](const std::string& fp, const Finding& f, double) {
    CHECK(fp == new_fp);
    CHECK(f.evidence.front().find("linked to an actioned key (" + old_fp + ")") == 0);
  });
  CHECK(n == 1);
  // Rotation links expire with the rotation window.
  linker.cluster(later + linker.config()->rotation_window_s + 86400);
  CHECK_FALSE(linker.membership(new_fp));
}

TEST_CASE("benign guardrail: one customer's batch template on one key is not a campaign", "[campaign]") {
  CampaignLinker linker;
  std::mt19937_64 rng(5);
  std::uint64_t sig = rng();
  for (int r = 0; r < 5000; ++r) {
    Event e;
    e.ts = kT0 + r * 10.0;
    e.key_fp = "fp:ba7c40000000000b";
    e.ip = ip4(192, 0, 2, 1 + r % 8);
    e.tmpl = slot_variant(sig, rng);
    e.temperature = 0.0;
    linker.maybe_cluster(e.ts);
    linker.record(make(e));
  }
  linker.cluster(kT0 + 50000);
  CHECK_FALSE(linker.membership("fp:ba7c40000000000b"));
  CHECK(linker.campaigns().empty());
}

TEST_CASE("benign guardrail: a shared corporate NAT alone is not a campaign", "[campaign]") {
  std::mt19937_64 rng(6);
  std::vector<Event> ev;
  add_benign(ev, rng, "ee", 80, 40, kT0, 3.0, /*nat_keys=*/80);  // all 80 keys behind one /24, same office hours
  // 12 of the employees also use the company's internal tool (one long template).
  const std::uint64_t tool = rng();
  for (int k = 0; k < 12; ++k)
    for (int r = 0; r < 30; ++r) {
      Event e;
      e.ts = kT0 + (r % 3) * 86400.0 + 9 * 3600 + static_cast<double>(rng() % (9 * 3600));
      e.key_fp = fp_of("ee", k);
      e.ip = ip4(198, 51, 100, 1 + k % 3);
      e.tmpl = slot_variant(tool, rng);
      ev.push_back(e);
    }
  sort_events(ev);
  CampaignLinker linker;
  replay(linker, ev);
  linker.cluster(ev.back().ts);
  CHECK(flagged(linker, keys_with_label(ev, 0)) == 0);
  CHECK(linker.campaigns().empty());
}

TEST_CASE("benign guardrail: an API router (one key, many sources) is not a campaign", "[campaign]") {
  CampaignLinker linker;
  std::mt19937_64 rng(8);
  std::uint64_t sig = rng();
  for (int r = 0; r < 3000; ++r) {
    Event e;
    e.ts = kT0 + r * 20.0;
    e.key_fp = "fp:r0u7e40000000000";
    e.ip = ip4(static_cast<int>(1 + rng() % 220), static_cast<int>(rng() % 250), static_cast<int>(rng() % 250), 7);
    e.tmpl = r % 3 == 0 ? slot_variant(sig, rng) : rng();
    e.ua = "router/" + std::to_string(r % 50);
    linker.maybe_cluster(e.ts);
    linker.record(make(e));
  }
  linker.cluster(kT0 + 61000);
  CHECK_FALSE(linker.membership("fp:r0u7e40000000000"));
  CHECK(linker.campaigns().empty());
}

TEST_CASE("benign guardrail: a popular SDK user agent and default parameters never link keys", "[campaign]") {
  // 1,000 unrelated keys, identical user agent and default parameters, some of
  // them sharing networks and office hours: no shared content, no campaign.
  std::mt19937_64 rng(9);
  std::vector<Event> ev;
  add_benign(ev, rng, "ff", 1000, 15, kT0, 2.0, /*nat_keys=*/60);
  sort_events(ev);
  CampaignLinker linker;
  replay(linker, ev);
  linker.cluster(ev.back().ts);
  CHECK(flagged(linker, keys_with_label(ev, 0)) == 0);
  CHECK(linker.campaigns().empty());
}

TEST_CASE("benign guardrail: generic templates do not link thousands of keys", "[campaign]") {
  std::mt19937_64 rng(10);
  std::vector<Event> ev;
  const std::uint64_t hello = rng(), popular = rng();
  std::uniform_real_distribution<double> u(0, 1);
  for (int k = 0; k < 2000; ++k) {
    // Keys in groups of 5 behind a shared NAT, 400 networks in all.
    std::string ip_prefix = std::to_string(100 + k / 5 / 250) + "." + std::to_string((k / 5) % 250) + ".7.";
    for (int r = 0; r < 12; ++r) {
      Event e;
      e.ts = kT0 + u(rng) * 2 * 86400;
      e.key_fp = fp_of("9e", k);
      e.ip = ip_prefix + std::to_string(1 + r);
      if (r % 2 == 0) {
        e.tmpl = hello;  // "hello": far too short to be template evidence
        e.chars = 5;
      } else {
        e.tmpl = slot_variant(popular, rng);  // a popular tool's long template
        e.chars = 300;
      }
      ev.push_back(e);
    }
  }
  sort_events(ev);
  CampaignLinker linker;
  replay(linker, ev);
  linker.cluster(ev.back().ts);
  CHECK(flagged(linker, keys_with_label(ev, 0)) == 0);
  CHECK(linker.campaigns().empty());
  CHECK(linker.stats().generic_families >= 1);
}

TEST_CASE("keys flagged one after another in succession link on the chain's third key, not before",
          "[campaign][rotation]") {
  CampaignLinker linker;  // rotation_chain_keys 3, rotation_chain_score 0.5, warm-up 3 h
  std::mt19937_64 rng(21);
  const std::uint64_t sig = rng();
  auto ev_for = [&](const std::string& fp, double ts, std::uint8_t host) {
    Event e;
    e.ts = ts;
    e.key_fp = fp;
    e.ip = ip4(45, 77, 1, host);
    e.tmpl = slot_variant(sig, rng);
    e.temperature = 0.0;
    e.max_tokens = 1024;
    e.logprobs = true;
    e.top_logprobs = 5;
    return make(e);
  };
  // Observation begins; a key already running then is not a start.
  linker.record(ev_for("fp:0bserver00000000", kT0, 1));
  // Each key sends 60 requests a minute apart, is flagged after 30, goes
  // silent; the next starts 20 minutes later. The linker clusters (and so
  // refreshes what it knows of flagged keys) every 5 minutes of event time.
  double t = kT0 + 4 * 3600;
  std::vector<std::optional<CampaignMembership>> links;
  for (int k = 0; k < 4; ++k) {
    const std::string fp = fp_of("ch", k);
    std::optional<CampaignMembership> link;
    for (int r = 0; r < 60; ++r, t += 60) {
      linker.maybe_cluster(t);
      linker.record(ev_for(fp, t, static_cast<std::uint8_t>(10 + k)));
      if (!link) link = linker.membership(fp);
      if (r == 29) linker.note_actioned(fp, "shadow", t);
    }
    links.push_back(link);
    t += 20 * 60;
  }
  CHECK_FALSE(links[0]);
  CHECK_FALSE(links[1]);  // a key replaced once is what customers do too
  REQUIRE(links[2]);
  CHECK(links[2]->score == Approx(0.5));
  CHECK(links[2]->members == 3);
  CHECK(links[2]->campaign_id == "r-" + fp_of("ch", 1));
  CHECK(any_contains(links[2]->evidence, "key 3 of a succession from client network 45.77.1.0/24"));
  REQUIRE(links[3]);
  CHECK(links[3]->members == 4);
}

TEST_CASE("campaign state is bounded and evictions are counted", "[campaign]") {
  CampaignConfig cfg;
  cfg.max_keys = 64;
  cfg.shards = 4;
  cfg.max_campaigns = 1;
  cfg.max_actioned = 2;
  CampaignLinker linker(cfg);
  std::mt19937_64 rng(12);
  for (int k = 0; k < 1000; ++k) {
    Event e;
    e.ts = kT0 + k;
    e.key_fp = fp_of("ca", k);
    e.ip = ip4(10, 0, 0, 1);
    e.tmpl = rng();
    linker.record(make(e));
  }
  auto s = linker.stats();
  CHECK(s.keys_tracked <= 64);
  CHECK(s.keys_tracked >= 60);
  CHECK(s.keys_evicted_cap + s.keys_tracked == 1000);
  CHECK(s.exchanges_recorded == 1000);

  // Actioned prints are capped too.
  for (int k = 990; k < 1000; ++k) linker.note_actioned(fp_of("ca", k), "block", kT0 + 1000);
  s = linker.stats();
  CHECK(s.actioned_tracked <= 2);
  CHECK(s.actioned_evicted + s.actioned_tracked >= 8);

  // Idle keys are evicted by cluster().
  linker.cluster(kT0 + 1000 + cfg.key_idle_ttl_s + 1);
  s = linker.stats();
  CHECK(s.keys_tracked == 0);
  CHECK(s.keys_evicted_idle >= 60);

  // Two campaigns, room for one: the other is dropped and counted.
  std::vector<Event> ev;
  add_hydra(ev, rng, "aa", 20, 2, 1, 26, kT0 + 10 * 86400, 1.0);
  add_hydra(ev, rng, "cc", 20, 2, 1, 26, kT0 + 10 * 86400, 1.0, 30);
  sort_events(ev);
  CampaignConfig big;
  big.max_campaigns = 1;
  CampaignLinker two(big);
  replay(two, ev);
  two.cluster(ev.back().ts);
  CHECK(two.campaigns().size() == 1);
  CHECK(two.stats().campaigns_dropped_cap >= 1);
}

TEST_CASE("linker is safe to feed from several threads while clustering", "[campaign]") {
  CampaignLinker linker;
  std::mt19937_64 seed(13);
  std::vector<Event> ev;
  add_hydra(ev, seed, "aa", 40, 2, 1, 26, kT0, 1.0);
  sort_events(ev);
  std::vector<std::thread> workers;
  std::atomic<std::size_t> next{0};
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&] {
      for (std::size_t i = next++; i < ev.size(); i = next++) {
        linker.record(make(ev[i]));
        (void)linker.membership(ev[i].key_fp);
      }
    });
  for (int c = 0; c < 20; ++c) linker.cluster(kT0 + 86400);
  for (auto& t : workers) t.join();
  linker.cluster(kT0 + 86400);
  CHECK(linker.stats().exchanges_recorded == ev.size());
  CHECK(flagged(linker, keys_with_label(ev, 1)) == 40);
}

TEST_CASE("two actors using one public template from their own networks and clients stay two campaigns", "[campaign]") {
  std::mt19937_64 rng(21);
  std::vector<Event> ev;
  add_hydra(ev, rng, "aa", 30, 2, 1, 26, kT0, 1.5);
  add_hydra(ev, rng, "cc", 30, 2, 1, 26, kT0, 1.5, 30);
  // Give the second actor the first actor's template, but its own client and parameters.
  std::uint64_t first_sig = 0;
  for (const auto& e : ev)
    if (e.key_fp.rfind("fp:aa", 0) == 0) {
      first_sig = e.tmpl;
      break;
    }
  for (auto& e : ev)
    if (e.key_fp.rfind("fp:cc", 0) == 0) {
      e.tmpl = slot_variant(first_sig, rng);
      e.ua = "Go-http-client/2.0";
      e.temperature = 0.0;
      e.max_tokens = 512;
    }
  sort_events(ev);
  CampaignLinker linker;
  replay(linker, ev);
  linker.cluster(ev.back().ts);
  auto cs = linker.campaigns();
  REQUIRE(cs.size() == 2);
  for (const auto& c : cs) {
    CHECK(c.member_fps.size() == 30);
    std::set<std::string> prefixes;
    for (const auto& fp : c.member_fps) prefixes.insert(fp.substr(0, 5));
    CHECK(prefixes.size() == 1);
  }
}
