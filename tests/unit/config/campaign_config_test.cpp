#include <catch2/catch.hpp>

#include "config/campaign_config.hpp"

using dg::config::ConfigError;
using dg::config::load_yaml_text;
using dg::config::parse_campaign_config;
using dg::config::YamlSection;

namespace {
std::string parse_error(const std::string& text) {
  auto root = load_yaml_text(text, "c.yaml");
  YamlSection top(root, "c.yaml");
  auto s = top.child("campaign");
  try {
    parse_campaign_config(*s);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("campaign config: defaults and overrides", "[campaign][config]") {
  auto root = load_yaml_text(
      "campaign:\n  max_keys: 5000\n  ipv6_prefix: 64\n  min_campaign_keys: 20\n  enabled: false\n"
      "  harvest_min_elaboration: 4\n  harvest_max_score: 0.5\n",
      "c.yaml");
  YamlSection top(root, "c.yaml");
  auto s = top.child("campaign");
  REQUIRE(s);
  auto c = parse_campaign_config(*s);
  CHECK(c.max_keys == 5000);
  CHECK(c.ipv6_prefix == 64);
  CHECK(c.min_campaign_keys == 20);
  CHECK_FALSE(c.enabled);
  CHECK(c.harvest_min_elaboration == 4);
  CHECK(c.harvest_max_score == 0.5);
  dg::detectors::CampaignConfig d;
  CHECK(c.harvest_single_shot_share == d.harvest_single_shot_share);
  CHECK(c.ipv4_prefix == d.ipv4_prefix);
  CHECK(c.cluster_interval_s == d.cluster_interval_s);
}

TEST_CASE("campaign config: errors carry file:line:column", "[campaign][config]") {
  CHECK(parse_error("campaign:\n  ipv6_prefix: 96\n") == "c.yaml:2:16: 'campaign.ipv6_prefix' must be between 16 and 64, got 96");
  CHECK(parse_error("campaign:\n  max_kyes: 5\n") == "c.yaml:2:3: unknown key 'campaign.max_kyes' (did you mean 'max_keys'?)");
  CHECK(parse_error("campaign:\n  timing_min_jaccard: lots\n").rfind("c.yaml:2:23: 'campaign.timing_min_jaccard' must be a number", 0) == 0);
  CHECK(parse_error("campaign:\n  rotation_min_requests: 10\n  rotation_max_requests: 5\n").rfind("c.yaml:3:26:", 0) == 0);
}
