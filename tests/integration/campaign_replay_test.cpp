// Replays the simulator's campaign scenario (hydra + mixed extraction + key
// rotation on top of the standard benign/look-alike/distiller population)
// through the real feature extraction, prompt analyzer and campaign linker,
// in event time, and checks the issue-4 targets.
//
// Blocking is modelled by an oracle policy: a key labelled distiller or
// rotation is "blocked" (note_actioned) at its 300th request, as the per-key
// detectors and policy would do for a high-volume extractor.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "detectors/campaign_linker.hpp"
#include "detectors/prompt_analyzer.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/request_features.hpp"
#include "sim/campaign_scenarios.hpp"
#include "sim/data_set.hpp"
#include "tests/shared_data_dir.hpp"

namespace json = boost::json;
using namespace dg;

TEST_CASE("simulated campaigns: hydra found within 24 h, rotated keys within 50 requests, no benign key linked",
          "[campaign][integration]") {
  auto data = sim::DataSet::load_or_builtin(dg::test::shared_data_dir());
  // Larger experiments without editing the test:
  //   DG_CAMPAIGN_SEED=7 DG_CAMPAIGN_HOURS=168 DG_CAMPAIGN_BENIGN=1000 dg_integration_tests "[campaign]"
  auto env_number = [](const char* name, double fallback) {
    const char* v = std::getenv(name);
    return v ? std::stod(v) : fallback;
  };
  sim::ScenarioOptions opts;
  opts.seed = static_cast<std::uint64_t>(env_number("DG_CAMPAIGN_SEED", 2026));
  opts.duration_s = env_number("DG_CAMPAIGN_HOURS", 30) * 3600.0;  // the hydra launches at +3 h: 27 h of campaign
  opts.benign = static_cast<int>(env_number("DG_CAMPAIGN_BENIGN", opts.benign));
  opts.extra["hydra_keys"] = "240";
  sim::Population pop(opts.seed);
  sim::build_campaigns_scenario(opts, *data, pop);
  std::ostringstream traffic, labels_out;
  auto gen = sim::generate(opts, *data, pop, traffic, labels_out);
  REQUIRE(gen.records > 10'000);

  // Ground truth by fingerprint.
  std::map<std::string, std::string> persona_of;  // fp -> persona
  std::map<std::string, std::string> class_of;
  const json::value labels_json = json::parse(labels_out.str());
  for (const auto& [key, v] : labels_json.as_object()) {
    auto fp = gateway::key_fingerprint(key);
    persona_of[fp] = json::value_to<std::string>(v.as_object().at("persona"));
    class_of[fp] = json::value_to<std::string>(v.as_object().at("class"));
  }
  std::set<std::string> hydra, rotation, innocent;
  for (const auto& [fp, persona] : persona_of) {
    if (persona == "campaign/hydra") hydra.insert(fp);
    if (persona == "campaign/rotation") rotation.insert(fp);
    if (class_of[fp] == "benign" || class_of[fp] == "lookalike") innocent.insert(fp);
  }
  REQUIRE(hydra.size() == 240);
  REQUIRE(rotation.size() >= 2);

  detectors::PromptAnalyzer analyzer(detectors::ReasoningLexicon::defaults());
  detectors::CampaignLinker linker;
  std::map<std::string, std::uint64_t> requests;
  std::map<std::string, double> first_seen;
  double first_block = std::numeric_limits<double>::infinity();
  std::set<std::string> blocked, innocent_flagged, rotation_seen_after_block;
  std::map<std::string, std::uint64_t> rotation_flagged_at;  // new rotation key -> its request count when linked
  const double launch = opts.start + 3 * 3600;
  double detected_at = -1;
  double recall_at_24h = -1;
  const std::string_view text = traffic.view();
  std::size_t pos = 0;
  std::string_view line;
  std::uint64_t records = 0;
  std::clock_t cluster_cpu = 0, record_cpu = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    auto rec = json::parse(line).as_object();
    detectors::Exchange ex;
    ex.ts = rec.at("ts").to_number<double>();
    ex.key_fp = gateway::key_fingerprint(json::value_to<std::string>(rec.at("key")));
    if (auto* ip = rec.if_contains("client_ip")) ex.client_ip = json::value_to<std::string>(*ip);
    if (auto* ua = rec.if_contains("user_agent")) ex.user_agent = json::value_to<std::string>(*ua);
    auto extracted = gateway::extract_request_features(ex.path, json::serialize(rec.at("request")));
    ex.request = std::move(extracted.features);
    ex.request.prompt = analyzer.analyze(extracted.text);

    std::clock_t c0 = std::clock();
    bool clustered = linker.maybe_cluster(ex.ts);
    std::clock_t c1 = std::clock();
    cluster_cpu += c1 - c0;
    if (clustered) {
      std::size_t flagged = 0;
      for (const auto& fp : hydra)
        if (linker.membership(fp)) ++flagged;
      if (detected_at < 0 && flagged * 100 >= hydra.size() * 95) detected_at = ex.ts;
      if (recall_at_24h < 0 && ex.ts >= launch + 24 * 3600) recall_at_24h = static_cast<double>(flagged) / hydra.size();
      for (const auto& fp : innocent)
        if (auto m = linker.membership(fp); m && innocent_flagged.insert(fp).second && innocent_flagged.size() <= 12) {
          std::cout << "  FALSE LINK " << persona_of[fp] << " " << fp << " in " << m->campaign_id << " (" << m->members
                    << " keys) at +" << (ex.ts - opts.start) / 3600 << " h:";
          for (const auto& e : m->evidence) std::cout << " | " << e;
          std::cout << "\n";
        }
    }
    std::clock_t r0 = std::clock();
    linker.record(ex);
    record_cpu += std::clock() - r0;
    ++records;
    auto n = ++requests[ex.key_fp];
    first_seen.try_emplace(ex.key_fp, ex.ts);
    if (rotation.count(ex.key_fp) && !blocked.empty() && !blocked.count(ex.key_fp) && !rotation_flagged_at.count(ex.key_fp) &&
        linker.membership(ex.key_fp))
      rotation_flagged_at[ex.key_fp] = n;
    bool extractor = class_of[ex.key_fp] == "distiller" || rotation.count(ex.key_fp);
    if (extractor && n == 300) {
      linker.note_actioned(ex.key_fp, "block", ex.ts);
      if (rotation.count(ex.key_fp)) {
        blocked.insert(ex.key_fp);
        first_block = std::min(first_block, ex.ts);
      }
    }
  }
  linker.cluster(opts.end());
  for (const auto& fp : innocent)
    if (linker.membership(fp)) innocent_flagged.insert(fp);

  // Rotated keys: every rotation key whose first request came after an earlier one was blocked.
  std::size_t rotated = 0, rotated_in_50 = 0;
  for (const auto& fp : rotation) {
    if (!first_seen.count(fp) || first_seen[fp] < first_block) continue;
    ++rotated;
    if (rotation_flagged_at.count(fp) && rotation_flagged_at[fp] <= 50) ++rotated_in_50;
    else std::cout << "  rotation key " << fp << " (" << requests[fp] << " requests, blocked " << blocked.count(fp)
                   << ") not linked within 50 requests\n";
  }
  auto campaigns = linker.campaigns();
  std::size_t hydra_campaigns = 0;
  for (const auto& c : campaigns) {
    std::size_t in_hydra = 0;
    for (const auto& fp : c.member_fps) in_hydra += hydra.count(fp);
    if (in_hydra * 2 > c.member_fps.size()) ++hydra_campaigns;
  }
  std::cout << "campaign replay: " << records << " records, " << persona_of.size() << " keys, " << campaigns.size()
            << " campaigns (" << hydra_campaigns << " hydra)\n"
            << "  hydra member recall at launch+24h: " << recall_at_24h * 100 << "%\n"
            << "  hours from launch to >=95% member recall: " << (detected_at - launch) / 3600 << "\n"
            << "  rotated keys flagged within 50 requests: " << rotated_in_50 << "/" << rotated << "\n"
            << "  linker CPU per 1,000 requests: cluster() " << 1e3 * cluster_cpu / CLOCKS_PER_SEC / (records / 1000.0)
            << " ms, record() " << 1e3 * record_cpu / CLOCKS_PER_SEC / (records / 1000.0) << " ms ("
            << linker.stats().cluster_runs << " cluster runs)\n"
            << "  benign/look-alike keys ever linked: " << innocent_flagged.size() << "/" << innocent.size() << "\n";
  for (const auto& c : campaigns) {
    std::cout << "  " << c.campaign_id << " (" << c.member_fps.size() << " keys, score " << c.score << ")\n";
    for (const auto& e : c.evidence) std::cout << "    - " << e << "\n";
  }
  for (const auto& [fp, n] : rotation_flagged_at) {
    auto m = linker.membership(fp);
    if (m) std::cout << "  rotation " << fp << " linked at request " << n << ": " << m->evidence.front() << "\n";
  }

  CHECK(hydra_campaigns >= 1);
  CHECK(detected_at > 0);
  CHECK(detected_at - launch <= 24 * 3600);
  CHECK(recall_at_24h >= 0.95);
  CHECK(innocent_flagged.empty());
  CHECK(rotated >= 1);
  CHECK(rotated_in_50 == rotated);
}
