#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "detectors/campaign_clustering.hpp"

using dg::detectors::CampaignConfig;
using dg::detectors::network_of;
using namespace dg::detectors::campaign;

namespace {

constexpr double kT0 = 1'795'392'000.0;  // 2026-11-23 00:00 UTC

Node node(int i, std::uint64_t tmpl = 0) {
  Node n;
  n.fp = "fp:" + std::to_string(1000 + i);
  n.first_seen = kT0;
  n.last_seen = kT0 + 3600;
  n.requests = 20;
  if (tmpl != 0) {
    n.templates[0] = tmpl;
    n.ntemplates = 1;
  }
  return n;
}

std::vector<std::uint32_t> members_of(UnionFind& uf, std::size_t n, std::uint32_t x) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < n; ++i)
    if (uf.find(i) == uf.find(x)) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("union-find: the smallest index is the root whatever the order of unions", "[campaign]") {
  UnionFind uf(6);
  uf.unite(5, 4);
  uf.unite(4, 3);
  uf.unite(2, 5);
  CHECK(uf.find(5) == 2);
  CHECK(uf.find(3) == 2);
  CHECK(uf.find(0) == 0);
  uf.unite(5, 0);
  CHECK(uf.find(2) == 0);
  CHECK(uf.find(1) == 1);
}

TEST_CASE("template groups unite signatures within template_max_hamming, not beyond", "[campaign]") {
  const CampaignConfig c;  // template_max_hamming = 3
  REQUIRE(c.template_max_hamming == 3);
  const std::uint64_t a = 0x0123456789ABCDEFULL;
  // Three flips touch at most three of the four 16-bit bands: a band always matches.
  std::vector<Node> nodes{node(0, a), node(1, a ^ 0x1ULL), node(2, a ^ 0x8000'0000'0001'0001ULL),
                          node(3, a ^ 0x0F00ULL),  // 4 bits from a (and farther from 1 and 2), shares three bands with a
                          node(4, ~a), node(5)};
  auto uf = template_groups(nodes, c);
  CHECK(members_of(uf, nodes.size(), 0) == std::vector<std::uint32_t>{0, 1, 2});
  CHECK(members_of(uf, nodes.size(), 3) == std::vector<std::uint32_t>{3});
  CHECK(members_of(uf, nodes.size(), 4) == std::vector<std::uint32_t>{4});
  CHECK(members_of(uf, nodes.size(), 5) == std::vector<std::uint32_t>{5});
}

TEST_CASE("candidate families: template groups, shared system prompts, rare harvesting-shaped parameters", "[campaign]") {
  CampaignConfig c;
  c.params_max_population_share = 0.02;
  std::vector<Node> nodes;
  for (int i = 0; i < 100; ++i) nodes.push_back(node(i));
  nodes[10].templates[0] = nodes[11].templates[0] = 0xAAAA'BBBB'CCCC'DDDDULL;
  nodes[10].ntemplates = nodes[11].ntemplates = 1;
  nodes[12].templates[0] = 0x1111'2222'3333'4444ULL;  // a template of one key: no family
  nodes[12].ntemplates = 1;
  nodes[20].system = nodes[21].system = nodes[22].system = 77;
  nodes[23].system = 78;
  nodes[30].params = nodes[31].params = 0x51;  // odd: shaped for harvesting, 2 of 100 keys
  nodes[40].params = nodes[41].params = 0x50;  // even: ordinary parameters never make a family
  nodes[50].params = nodes[51].params = nodes[52].params = 0x53;  // odd, but 3 > 2% of 100 keys

  auto uf = template_groups(nodes, c);
  const auto families = candidate_families(nodes, uf, c);
  REQUIRE(families.size() == 3);
  CHECK(families[0].kind == FamilyKind::Template);
  CHECK(families[0].nodes == std::vector<std::uint32_t>{10, 11});
  CHECK(families[1].kind == FamilyKind::System);
  CHECK(families[1].nodes == std::vector<std::uint32_t>{20, 21, 22});
  CHECK(families[2].kind == FamilyKind::Params);
  CHECK(families[2].nodes == std::vector<std::uint32_t>{30, 31});
}

TEST_CASE("corroboration: a shared network links family keys, a generic family's networks do not", "[campaign]") {
  const CampaignConfig c;
  const auto net_a = network_of("203.0.113.7", 24, 48), net_b = network_of("198.51.100.9", 24, 48);

  SECTION("two keys of a family on one network are linked, the third elsewhere is not") {
    std::vector<Node> nodes{node(0), node(1), node(2)};
    nodes[0].net = nodes[1].net = net_a;
    nodes[2].net = net_b;
    const std::vector<Family> fams{Family{FamilyKind::System, {0, 1, 2}}};
    auto out = corroborate(nodes, fams, kT0, c);
    CHECK(out.generic_families == 0);
    CHECK(nodes[0].via_network);
    CHECK(nodes[1].via_network);
    CHECK_FALSE(nodes[2].via_network);
    CHECK(out.campaigns.find(1) == out.campaigns.find(0));
    CHECK(out.campaigns.find(2) == 2);
  }

  SECTION("the family must hold at least network_min_family_share of the network's keys") {
    // Net A holds five keys, two of them in the family: a NAT, not a campaign.
    std::vector<Node> nodes{node(0), node(1), node(2), node(3), node(4)};
    for (auto& n : nodes) n.net = net_a;
    const std::vector<Family> fams{Family{FamilyKind::System, {0, 1}}};
    auto out = corroborate(nodes, fams, kT0, c);
    CHECK_FALSE(nodes[0].via_network);
    CHECK(out.campaigns.find(1) == 1);
  }

  SECTION("a family spread over generic_min_networks networks or more is generic") {
    std::vector<Node> nodes;
    Family fam{FamilyKind::Template, {}};
    for (int i = 0; i < 22; ++i) {
      nodes.push_back(node(i));
      // 21 networks: keys 0 and 1 share one.
      nodes.back().net = network_of("10.0." + std::to_string(i == 1 ? 0 : i) + ".1", 24, 48);
      fam.nodes.push_back(static_cast<std::uint32_t>(i));
    }
    REQUIRE(c.generic_min_networks <= 21);
    auto out = corroborate(nodes, {fam}, kT0, c);
    CHECK(out.generic_families == 1);
    CHECK_FALSE(nodes[0].via_network);
    CHECK(out.campaigns.find(1) == 1);
  }
}

TEST_CASE("corroboration: keys that start together with overlapping activity are linked by timing", "[campaign]") {
  const CampaignConfig c;  // warmup 3 h, sync window 30 min, >= 8 active buckets, Jaccard >= 0.6
  const double first_event = kT0;
  std::vector<Node> nodes{node(0), node(1), node(2), node(3)};
  const double start = kT0 + 10 * 3600.0;  // well after the warmup
  for (auto& n : nodes) {
    n.first_seen = start;
    n.last_seen = start + 6 * 3600.0;
    n.requests = 200;  // inter-arrival ~108 s: the start is a real start
    n.activity = 0xFFFF;  // 16 buckets
  }
  nodes[1].first_seen = start + 600;   // within the window of node 0
  nodes[2].first_seen = start + 3000;  // too late for node 0's group
  nodes[3].first_seen = start + 900;
  nodes[3].activity = 0xFF0000;  // in the window, but no overlap
  const std::vector<Family> fams{Family{FamilyKind::Template, {0, 1, 2, 3}}};
  auto out = corroborate(nodes, fams, first_event, c);
  CHECK(nodes[0].via_timing);
  CHECK(nodes[1].via_timing);
  CHECK_FALSE(nodes[2].via_timing);
  CHECK_FALSE(nodes[3].via_timing);
  CHECK(out.campaigns.find(1) == 0);
  CHECK(out.campaigns.find(2) == 2);

  SECTION("keys already running when the linker started say nothing by their first request") {
    std::vector<Node> early = nodes;
    for (auto& n : early) {
      n.first_seen -= 9 * 3600.0;  // one hour after the first event: inside the warmup
      n.via_timing = false;
    }
    corroborate(early, fams, first_event, c);
    for (const auto& n : early) CHECK_FALSE(n.via_timing);
  }
}

TEST_CASE("harvesting shape: established single-shot keys with long answers, enough of them", "[campaign]") {
  const CampaignConfig c;  // >= 8 keys of >= 10 requests, 90% single-shot, median elaboration >= 3
  std::vector<Node> nodes;
  std::vector<std::uint32_t> fam;
  for (int i = 0; i < 10; ++i) {
    nodes.push_back(node(i));
    nodes.back().single_shot_only = true;
    nodes.back().elaboration = 4.0;
    fam.push_back(static_cast<std::uint32_t>(i));
  }
  CHECK(harvesting_shape(nodes, fam, c));
  nodes[0].single_shot_only = false;  // 9 of 10 still single-shot
  CHECK(harvesting_shape(nodes, fam, c));
  nodes[1].single_shot_only = false;  // 8 of 10: below the 90% share
  CHECK_FALSE(harvesting_shape(nodes, fam, c));
  nodes[0].single_shot_only = nodes[1].single_shot_only = true;
  for (int i = 0; i < 6; ++i) nodes[static_cast<std::size_t>(i)].elaboration = 2.0;  // median below 3
  CHECK_FALSE(harvesting_shape(nodes, fam, c));
}

TEST_CASE("assembled campaigns: small components dropped, behaviour-only links capped, best first", "[campaign]") {
  CampaignConfig c;
  c.min_campaign_keys = 3;
  c.base_score = 0.9;  // high enough for the cap on behaviour-only links to bind
  const auto net = network_of("203.0.113.7", 24, 48);
  std::vector<Node> nodes;
  for (int i = 0; i < 9; ++i) nodes.push_back(node(i, 0xABCD'0000'1234'5678ULL));
  UnionFind templates(nodes.size()), links(nodes.size());
  for (std::uint32_t i = 1; i < 9; ++i) templates.unite(0, i);
  // Keys 0-3: one network. Keys 4-6: harvesting shape only. Keys 7-8: too few.
  for (std::uint32_t i = 0; i < 4; ++i) {
    nodes[i].net = net;
    nodes[i].via_network = true;
    links.unite(0, i);
  }
  for (std::uint32_t i = 4; i < 7; ++i) {
    nodes[i].via_harvest = true;
    nodes[i].elaboration = 5.0;
    links.unite(4, i);
  }
  nodes[7].via_network = nodes[8].via_network = true;
  links.unite(7, 8);

  const auto drafts = assemble_campaigns(nodes, templates, links, c);
  REQUIRE(drafts.size() == 2);
  CHECK(drafts[0].size == 4);
  CHECK(drafts[0].summary.member_fps == std::vector<std::string>{"fp:1000", "fp:1001", "fp:1002", "fp:1003"});
  CHECK(drafts[0].summary.campaign_id.empty());
  CHECK(drafts[0].summary.evidence.front().find("4 of 4 keys share template T:abcd0000") == 0);
  CHECK(drafts[1].size == 3);
  CHECK(drafts[1].summary.score == Approx(c.harvest_max_score));
  CHECK(drafts[0].summary.score > 0.9);
  bool behaviour_link = false;
  for (const auto& e : drafts[1].summary.evidence) behaviour_link |= e.find("a behaviour link") != std::string::npos;
  CHECK(behaviour_link);
}

TEST_CASE("corroboration: one client's keys used one after another on its network are not shared infrastructure",
          "[campaign][rotation]") {
  const CampaignConfig c;
  const auto net = network_of("203.0.113.7", 24, 48);
  // Five keys of one network, each live for a day; the next starts 3 h before
  // the last stops (a rotation with a switch-over).
  std::vector<Node> nodes;
  Family fam{FamilyKind::System, {}};
  for (int i = 0; i < 5; ++i) {
    nodes.push_back(node(i));
    nodes.back().net = net;
    nodes.back().first_seen = kT0 + i * 21 * 3600.0;
    nodes.back().last_seen = nodes.back().first_seen + 24 * 3600.0;
    fam.nodes.push_back(static_cast<std::uint32_t>(i));
  }
  SECTION("in succession: not linked by the network") {
    auto out = corroborate(nodes, {fam}, kT0, c);
    for (const auto& n : nodes) CHECK_FALSE(n.via_network);
    CHECK(out.campaigns.find(4) == 4);
  }
  SECTION("side by side (two live through the same day): linked") {
    nodes[3].first_seen = nodes[2].first_seen + 3600;
    auto out = corroborate(nodes, {fam}, kT0, c);
    CHECK(nodes[2].via_network);
    CHECK(nodes[3].via_network);
    CHECK(out.campaigns.find(3) == out.campaigns.find(2));
  }
}

TEST_CASE("assembled campaigns: keys never min_campaign_keys live at once score as a succession", "[campaign][rotation]") {
  CampaignConfig c;
  c.min_campaign_keys = 4;
  c.base_score = 0.9;
  const auto net = network_of("203.0.113.7", 24, 48);
  std::vector<Node> nodes;
  UnionFind templates(6), links(6);
  for (std::uint32_t i = 0; i < 6; ++i) {
    nodes.push_back(node(static_cast<int>(i), 0xABCD'0000'1234'5678ULL));
    nodes[i].net = net;
    nodes[i].via_network = true;
    templates.unite(0, i);
    links.unite(0, i);
  }
  SECTION("all six live together: a campaign's score") {
    const auto drafts = assemble_campaigns(nodes, templates, links, c);
    REQUIRE(drafts.size() == 1);
    CHECK(drafts[0].summary.score > 0.9);
  }
  SECTION("at most three live at once (two customers rotating keys): capped at rotation_chain_score") {
    for (std::uint32_t i = 0; i < 6; ++i) {
      nodes[i].first_seen = kT0 + (i / 2) * 86400.0 + (i % 2) * 3600.0;
      nodes[i].last_seen = nodes[i].first_seen + 86400.0 + 1800.0;  // outlives the next start by 30 min
    }
    const auto drafts = assemble_campaigns(nodes, templates, links, c);
    REQUIRE(drafts.size() == 1);
    CHECK(drafts[0].summary.score == Approx(c.rotation_chain_score));
    bool said = false;
    for (const auto& e : drafts[0].summary.evidence) said |= e == "at most 3 of them live at once: keys used one after another";
    CHECK(said);
  }
}
