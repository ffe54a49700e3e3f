#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

#include "gateway/key_fingerprint.hpp"
#include "gateway/replay_reader.hpp"
#include "gateway/replay_runner.hpp"

using dg::gateway::TrafficReader;
using dg::gateway::TrafficRecord;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-reader-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const char* kGood =
    R"({"ts": 100.5, "key": "sk-a", "request": {"model": "m", "messages": []}, "response": {"status": 200}})";

}  // namespace

TEST_CASE("traffic reader: fields, defaults and optional values", "[replay]") {
  const auto path = write_temp(
      "good.jsonl",
      std::string(kGood) + "\r\n\n   \n" +
          R"({"ts": 101, "key": "fp:0123456789abcdef", "client_ip": "203.0.113.7", "user_agent": "curl/8.5.0", "path": "/v1/completions", "request": {"prompt": "x"}, "response": {"status": 429, "prompt_tokens": 3, "completion_tokens": 0, "latency_ms": 12.5}, "future_field": [1,2]})");
  TrafficReader r;
  REQUIRE(r.open(path));
  TrafficRecord rec;
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  CHECK(rec.ts == 100.5);
  CHECK(rec.key == "sk-a");
  CHECK(rec.method == "POST");
  CHECK(rec.path == "/v1/chat/completions");
  CHECK(rec.status == 200);
  CHECK_FALSE(rec.prompt_tokens);
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);  // blank lines skipped, last line without newline
  CHECK(r.line() == 4);
  CHECK(rec.key == "fp:0123456789abcdef");
  CHECK(rec.client_ip == "203.0.113.7");
  CHECK(rec.path == "/v1/completions");
  CHECK(rec.status == 429);
  CHECK(*rec.prompt_tokens == 3);
  CHECK(rec.latency_ms == 12.5);
  CHECK(r.next(rec) == TrafficReader::Result::End);
}

TEST_CASE("traffic reader: bad lines carry their line number and reason", "[replay]") {
  const auto path = write_temp("bad.jsonl", std::string(kGood) + "\n" +
                                                "{not json\n" +                                                  // 2
                                                R"({"key": "k", "request": {}, "response": {"status": 200}})" "\n"  // 3
                                                R"({"ts": 200, "request": {}, "response": {"status": 200}})" "\n"   // 4
                                                R"({"ts": 200, "key": "k", "request": "hi", "response": {"status": 200}})" "\n"
                                                R"({"ts": 200, "key": "k", "request": {}, "response": {}})" "\n"    // 6
                                                R"({"ts": "x", "key": "k", "request": {}, "response": {"status": 200}})" "\n"
                                                R"({"ts": 50, "key": "k", "request": {}, "response": {"status": 200}})" "\n"  // 8: out of order
                                                R"({"ts": 300, "key": "k", "request": {}, "response": {"status": 200}})" "\n");
  TrafficReader r;
  REQUIRE(r.open(path));
  TrafficRecord rec;
  std::vector<std::pair<std::uint64_t, std::string>> bad;
  int good = 0;
  for (;;) {
    auto res = r.next(rec);
    if (res == TrafficReader::Result::End) break;
    if (res == TrafficReader::Result::BadLine) bad.emplace_back(r.line(), r.error());
    else ++good;
  }
  CHECK(good == 2);
  REQUIRE(bad.size() == 7);
  CHECK(bad[0].first == 2);
  CHECK_THAT(bad[0].second, Catch::Contains("invalid JSON"));
  CHECK_THAT(bad[1].second, Catch::Contains("'ts'"));
  CHECK_THAT(bad[2].second, Catch::Contains("'key'"));
  CHECK_THAT(bad[3].second, Catch::Contains("'request' must be an object"));
  CHECK_THAT(bad[4].second, Catch::Contains("response.status"));
  CHECK_THAT(bad[5].second, Catch::Contains("'ts' must be a number"));
  CHECK(bad[6].first == 8);
  CHECK_THAT(bad[6].second, Catch::Contains("earlier than the previous"));
}

TEST_CASE("replay runner: bad lines reported as FILE:LINE, keys only as fingerprints", "[replay]") {
  const auto path = write_temp("mixed.jsonl", std::string(kGood) + "\nnope\n" + kGood + "\n");
  std::ostringstream findings, errors;
  dg::gateway::ReplayRunner runner("", &findings);
  REQUIRE(runner.replay_files({path}, errors));
  CHECK_THAT(errors.str(), Catch::StartsWith(path + ":2: invalid JSON"));
  CHECK(runner.stats().records == 2);
  CHECK(runner.stats().bad_lines == 1);
  const auto rows = runner.summaries();
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].key_fp.rfind("fp:", 0) == 0);
  CHECK(rows[0].requests == 2);
  std::ostringstream json, table;
  dg::gateway::write_summary_json(rows, runner.stats(), runner.alert_threshold(), json);
  dg::gateway::write_summary_table(rows, runner.stats(), table);
  CHECK(json.str().find("sk-a") == std::string::npos);
  CHECK(table.str().find("sk-a") == std::string::npos);
  CHECK(table.str().find(rows[0].key_fp) != std::string::npos);
}

TEST_CASE("replay runner: fingerprints pass through, a configured salt changes them", "[replay]") {
  const auto path = write_temp("fp.jsonl", std::string(R"({"ts": 1, "key": "fp:0123456789abcdef", "request": {}, "response": {"status": 200}})") +
                                               "\n" + kGood + "\n");
  std::ostringstream errors;
  dg::gateway::ReplayRunner plain("", nullptr);
  REQUIRE(plain.replay_files({path}, errors));
  std::set<std::string> fps;
  for (const auto& r : plain.summaries()) fps.insert(r.key_fp);
  CHECK(fps.count("fp:0123456789abcdef"));
  CHECK(fps.count(dg::gateway::key_fingerprint("sk-a")));

  const auto config = write_temp("salted.yaml", "identity:\n  fingerprint_salt: pepper\ndetection: {}\n");
  dg::gateway::ReplayRunner salted(config, nullptr);
  REQUIRE(salted.replay_files({path}, errors));
  fps.clear();
  for (const auto& r : salted.summaries()) fps.insert(r.key_fp);
  CHECK(fps.count("fp:0123456789abcdef"));
  CHECK(fps.count(dg::gateway::key_fingerprint("sk-a", "pepper")));
  CHECK_FALSE(fps.count(dg::gateway::key_fingerprint("sk-a")));
}

TEST_CASE("replay runner: an invalid detection section is a located config error", "[replay]") {
  const auto config = write_temp("invalid.yaml", "detection:\n  no_such_detector: {}\n");
  CHECK_THROWS_WITH(dg::gateway::ReplayRunner(config, nullptr), Catch::Contains("invalid.yaml:2:"));
}
