#include <catch2/catch.hpp>

#include <string>

#include "detectors/rotation_tracker.hpp"

using dg::detectors::CampaignConfig;
using dg::detectors::network_of;
using namespace dg::detectors::campaign;

namespace {

constexpr double kT0 = 1'795'392'000.0;  // 2026-11-23 00:00 UTC
constexpr std::uint64_t kTmpl = 0x0F0F'1234'5678'9ABCULL;

ActionedPrint print(const std::string& fp) {
  ActionedPrint p;
  p.key_fp = fp;
  p.templates = {kTmpl, 0};
  p.ntemplates = 1;
  p.net = network_of("203.0.113.7", 24, 48);
  p.params = 0x51;
  return p;
}

}  // namespace

TEST_CASE("print_of keeps a key's two most counted templates, its top network and parameters", "[campaign]") {
  KeySketch sk;
  sk.templates[0] = Slot{11, 2};
  sk.templates[1] = Slot{22, 9};
  sk.templates[2] = Slot{33, 5};
  sk.networks[0] = NetSlot{network_of("198.51.100.1", 24, 48), 1};
  sk.networks[1] = NetSlot{network_of("203.0.113.1", 24, 48), 4};
  sk.params[0] = Slot{0x51, 3};
  const auto p = print_of("fp:a", sk);
  CHECK(p.key_fp == "fp:a");
  CHECK(p.ntemplates == 2);
  CHECK(p.templates[0] == 22);
  CHECK(p.templates[1] == 33);
  CHECK(p.net == network_of("203.0.113.9", 24, 48));
  CHECK(p.params == 0x51);
  CHECK(print_of("fp:b", KeySketch{}).ntemplates == 0);
}

TEST_CASE("a young key may rotate from an actioned one: same network, parameters and template, in the window", "[campaign]") {
  const CampaignConfig c;  // slack 1 h before, window 7 d after, template_max_hamming 3
  ActionedPrint old = print("fp:old");
  old.ts = kT0;
  old.action = "block";
  const ActionedPrint mine = print("fp:new");
  CHECK(may_rotate_from(old, mine, kT0 + 600, 0, c));
  CHECK(may_rotate_from(old, mine, kT0 - 1800, 0, c));               // started a little before the block
  CHECK_FALSE(may_rotate_from(old, mine, kT0 - 7200, 0, c));         // long before it
  CHECK_FALSE(may_rotate_from(old, mine, kT0 + 8 * 86'400.0, 0, c));  // after the window
  CHECK_FALSE(may_rotate_from(old, print("fp:old"), kT0 + 600, 0, c));  // the actioned key itself

  ActionedPrint other = mine;
  other.params = 0x53;
  CHECK_FALSE(may_rotate_from(old, other, kT0 + 600, 0, c));
  other = mine;
  other.net = network_of("198.51.100.7", 24, 48);
  CHECK_FALSE(may_rotate_from(old, other, kT0 + 600, 0, c));
  other = mine;
  other.templates[0] = kTmpl ^ 0x7ULL;  // 3 bits: the same template
  CHECK(may_rotate_from(old, other, kT0 + 600, 0, c));
  other.templates[0] = kTmpl ^ 0xFULL;  // 4 bits: another one
  CHECK_FALSE(may_rotate_from(old, other, kT0 + 600, 0, c));
  other.templates[1] = kTmpl;  // but its second template matches
  other.ntemplates = 2;
  CHECK(may_rotate_from(old, other, kT0 + 600, 0, c));
}

TEST_CASE("a rotation membership names the old key and its action, never more than two members", "[campaign]") {
  const CampaignConfig c;
  ActionedPrint old = print("fp:old");
  old.ts = kT0;
  old.action = "block";
  const auto m = rotation_membership(old, print("fp:new"), kT0 + 2 * 3600.0, 12, c);
  CHECK(m.campaign_id == "r-fp:old");
  CHECK(m.score == c.rotation_score);
  CHECK(m.members == 2);
  REQUIRE(m.evidence.size() == 2);
  CHECK(m.evidence[0].find("likely rotation of fp:old (block at 2026-11-23 00:00 UTC): same template T:0f0f1234") == 0);
  CHECK(m.evidence[1].find(" after that action; linked after 12 requests") != std::string::npos);
  const auto before = rotation_membership(old, print("fp:new"), kT0 - 600, 3, c);
  CHECK(before.evidence[1].find(" before that action") != std::string::npos);
}

TEST_CASE("a flagged key is succeeded only by a key that starts after it went silent, past the warm-up",
          "[campaign][rotation]") {
  const CampaignConfig c;  // timing_warmup_s 3 h, rotation_chain_keys 3
  ActionedPrint old = print("fp:old");
  old.action = "shadow";
  old.ts = kT0;               // flagged
  old.last_seen = kT0 + 600;  // its last request
  old.refreshed = kT0 + 3600;
  const ActionedPrint mine = print("fp:new");
  const double observed_from = kT0 - 86'400;
  CHECK(may_rotate_from(old, mine, kT0 + 1200, observed_from, c));
  CHECK_FALSE(may_rotate_from(old, mine, kT0 + 300, observed_from, c));  // began while the old key ran
  CHECK_FALSE(may_rotate_from(old, mine, kT0 - 300, observed_from, c));  // began before the finding
  CHECK_FALSE(may_rotate_from(old, mine, kT0 + 4000, observed_from, c));  // not known silent since: not refreshed after
  CHECK_FALSE(may_rotate_from(old, mine, kT0 + 1200, kT0 - 3600, c));     // within the warm-up: maybe no start
  old.action = "block";  // an actioned key needs none of that
  CHECK(may_rotate_from(old, mine, kT0 + 300, kT0 - 3600, c));

  old.action = "shadow";
  old.chain = 1;
  auto m = rotation_membership(old, mine, kT0 + 1200, 5, c);
  CHECK(m.score == 0);  // the second key: a succession too short to count
  CHECK(m.members == 2);
  old.chain = 2;
  m = rotation_membership(old, mine, kT0 + 1200, 5, c);
  CHECK(m.score == c.rotation_chain_score);
  CHECK(m.members == 3);
  REQUIRE(m.evidence.size() == 2);
  CHECK(m.evidence[0].find("key 3 of a succession from client network 203.0.113.0/24") == 0);
}
