// A capture written without content (`capture.include_content: false`)
// replays to the same results as one with content: the record keeps the
// prompt features detection derived from the text. A redacted capture
// without them (an older version) replays with a warning naming what is blind.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <unistd.h>

#include "detectors/engine_config.hpp"
#include "detectors/prompt_analyzer.hpp"
#include "gateway/observability/capture_record.hpp"
#include "gateway/traffic/request_features.hpp"
#include "tests/integration/support/child_process.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

dg::test::RunResult replay(const fs::path& dir, const fs::path& traffic, const fs::path& summary) {
  return dg::test::run_process({std::string(DG_BINARY_DIR) + "/distillguard", "replay", "--config",
                                (dir / "c.yaml").string(), "--summary-json", summary.string(), traffic.string()});
}

/// key -> (max risk, first finding index, per-detector maxima) from a summary file.
std::map<std::string, std::tuple<double, std::int64_t, std::string>> results(const fs::path& summary) {
  std::map<std::string, std::tuple<double, std::int64_t, std::string>> out;
  const auto root = json::parse(dg::test::slurp_file(summary.string())).as_object();
  for (const auto& k : root.at("keys").as_array()) {
    const auto& o = k.as_object();
    const auto* first = o.if_contains("first_finding_request_index");
    out[std::string(o.at("key").as_string())] = {o.at("max_risk").to_number<double>(),
                                                 first ? first->to_number<std::int64_t>() : 0,
                                                 json::serialize(o.at("max_scores"))};
  }
  return out;
}

}  // namespace

TEST_CASE("replay: a capture without content replays like one with content (it keeps the prompt features)",
          "[replay][capture]") {
  const auto dir = fs::temp_directory_path() / ("dg-replay-redacted-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "c.yaml") << "detection: {}\n";
  const dg::detectors::EngineConfig cfg;
  dg::detectors::PromptAnalyzer analyzer(cfg.lexicon, cfg.max_scan_bytes);

  // A rationale harvester walking a wrapper over numbered problems, and a
  // customer asking varied questions: the text is what tells them apart.
  std::ofstream with(dir / "with.jsonl"), without(dir / "without.jsonl"), old(dir / "old.jsonl");
  for (int i = 0; i < 300; ++i) {
    const bool harvester = i % 2 == 0;
    const std::string text =
        harvester ? "Problem " + std::to_string(i * 7) + ": a shop sells " + std::to_string(i) +
                        " pens at 3 dollars. The answer is " + std::to_string(i * 3) +
                        ". Explain step by step, showing your reasoning in detail, why this is the answer."
                  : "what should I cook tonight with " + std::to_string(i) + " eggs and some rice? thanks";
    json::object body{{"model", "m"},
                      {"max_tokens", harvester ? 4000 : 300},
                      {"messages", json::array{json::object{{"role", "system"}, {"content", "You are a tutor."}},
                                               json::object{{"role", "user"}, {"content", text}}}}};
    const std::string raw = json::serialize(body);
    dg::detectors::Exchange ex;
    ex.ts = 1'700'000'000.0 + i * 20;
    ex.key_fp = harvester ? "fp:00000000000000aa" : "fp:00000000000000bb";
    ex.path = "/v1/chat/completions";
    const auto extracted = dg::gateway::extract_request_features(ex.path, raw);
    ex.request = extracted.features;
    ex.request.prompt = analyzer.analyze(extracted.text);
    ex.response.status = 200;
    ex.response.prompt_tokens = 60;
    ex.response.completion_tokens = harvester ? 1500 : 120;
    with << dg::gateway::make_traffic_record(ex, raw, true) << "\n";
    const std::string redacted = dg::gateway::make_traffic_record(ex, raw, false);
    REQUIRE(redacted.find("Explain step by step") == std::string::npos);
    REQUIRE(redacted.find("eggs") == std::string::npos);
    without << redacted << "\n";
    auto older = json::parse(redacted).as_object();
    older.erase("prompt_features");
    older.erase("redacted");
    old << json::serialize(older) << "\n";
  }
  with.close();
  without.close();
  old.close();

  const auto a = replay(dir, dir / "with.jsonl", dir / "a.json");
  const auto b = replay(dir, dir / "without.jsonl", dir / "b.json");
  REQUIRE(a.status == 0);
  REQUIRE(b.status == 0);
  const auto ra = results(dir / "a.json"), rb = results(dir / "b.json");
  REQUIRE(ra.size() == 2);
  CHECK(ra == rb);
  CHECK(std::get<0>(ra.at("fp:00000000000000aa")) > std::get<0>(ra.at("fp:00000000000000bb")));
  CHECK_THAT(b.err, Catch::Contains("300 record(s) had their text redacted"));
  CHECK(b.err.find("warning") == std::string::npos);
  CHECK_THAT(b.out, Catch::Contains("300 records"));  // totals printed beside --summary-json

  const auto c = replay(dir, dir / "old.jsonl", dir / "c.json");
  REQUIRE(c.status == 0);
  CHECK_THAT(c.err, Catch::Contains("warning: 300 record(s) had their text redacted and carry no prompt_features"));
  CHECK(results(dir / "c.json") != ra);  // without the features the text's evidence is gone
  fs::remove_all(dir);
}
