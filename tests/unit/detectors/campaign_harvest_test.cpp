// The harvesting-shape link of the campaign linker: keys on their own
// networks, started at unrelated times, sharing one frame, linked only when
// none of them converses and their answers are several times their prompts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "detectors/campaign_linker.hpp"
#include "tests/unit/detectors/campaign_test_support.hpp"

using dg::detectors::CampaignConfig;
using dg::detectors::CampaignLinker;
using dg::detectors::Exchange;
namespace t = dg::detectors::test;

namespace {

struct Shape {
  double conversation_share = 0;  ///< requests that continue a conversation
  std::uint64_t prompt_tokens = 100;
  std::uint64_t completion_tokens = 450;
};

/// `keys` keys, each on its own /24 with its own client version, starting at
/// random times over two days, ~12 requests a day under one frame.
std::vector<Exchange> one_network_per_key(const std::string& prefix, int keys, const Shape& shape, int seed) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::uniform_real_distribution<double> u(0, 1);
  const std::uint64_t frame = rng() | 1;
  std::vector<std::pair<double, Exchange>> out;
  for (int k = 0; k < keys; ++k) {
    const double start = t::kT0 + 4 * 3600 + u(rng) * 2 * 86400;
    const std::string ip = t::ip4(20 + k / 200, (k * 7) % 250 + 1, k % 250 + 1, 10);
    const std::string ua = "OpenAI/Python 1." + std::to_string(30 + k % 25) + "." + std::to_string(k % 7);
    for (double ts = start; ts < t::kT0 + 4 * 86400; ts += -std::log(1 - u(rng)) * 86400 / 12) {
      t::Event e;
      e.ts = ts;
      e.key_fp = t::fp_of(prefix, k);
      e.ip = ip;
      e.ua = ua;
      e.tmpl = t::slot_variant(frame, rng);
      e.temperature = 0.7;
      e.max_tokens = 2048;
      Exchange ex = t::make(e);
      if (u(rng) < shape.conversation_share) ex.request.assistant_turns = 1;
      ex.response.prompt_tokens = shape.prompt_tokens;
      ex.response.completion_tokens = shape.completion_tokens;
      out.emplace_back(ts, std::move(ex));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Exchange> ex;
  for (auto& [ts, e] : out) ex.push_back(std::move(e));
  return ex;
}

/// Replays the stream and returns, per campaign id, its members and score.
std::map<std::string, std::pair<std::size_t, double>> campaigns_after(const std::vector<Exchange>& stream,
                                                                      CampaignLinker& linker) {
  for (const auto& ex : stream) {
    linker.record(ex);
    linker.maybe_cluster(ex.ts);
  }
  linker.cluster(stream.back().ts);
  std::map<std::string, std::pair<std::size_t, double>> out;
  for (const auto& c : linker.campaigns()) out[c.campaign_id] = {c.member_fps.size(), c.score};
  return out;
}

}  // namespace

TEST_CASE("campaign: keys without shared networks or timing are linked by a harvesting shape, below blocking",
          "[campaign]") {
  CampaignLinker linker{CampaignConfig{}};
  const auto stream = one_network_per_key("aa", 60, Shape{}, 1);
  const auto found = campaigns_after(stream, linker);
  REQUIRE(found.size() == 1);
  const auto& [members, score] = found.begin()->second;
  CHECK(members >= 57);  // >= 95% of the keys
  CHECK(score <= CampaignConfig{}.harvest_max_score);
  CHECK(score >= CampaignConfig{}.base_score);
  const auto summary = linker.campaigns().front();
  bool said = false;
  for (const auto& e : summary.evidence)
    said = said || e.find("only single-shot prompts") != std::string::npos;
  CHECK(said);
}

TEST_CASE("campaign: an app's users who converse, or get answers as long as their asks, are not linked", "[campaign]") {
  SECTION("a BYOK chat app: some requests continue a conversation") {
    CampaignLinker linker{CampaignConfig{}};
    CHECK(campaigns_after(one_network_per_key("bb", 60, Shape{.conversation_share = 0.3}, 2), linker).empty());
  }
  SECTION("a rewriting app: single-shot, the answer about as long as the text") {
    CampaignLinker linker{CampaignConfig{}};
    CHECK(campaigns_after(one_network_per_key("cc", 60, Shape{.prompt_tokens = 300, .completion_tokens = 330}, 3),
                          linker)
              .empty());
  }
  SECTION("the link can be switched off") {
    CampaignConfig c;
    c.harvest_min_keys = 1'000'000;
    CampaignLinker linker{c};
    CHECK(campaigns_after(one_network_per_key("dd", 60, Shape{}, 4), linker).empty());
  }
}
