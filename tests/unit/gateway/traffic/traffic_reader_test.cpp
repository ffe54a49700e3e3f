#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>
#include <unistd.h>

#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/traffic/traffic_reader.hpp"
#include "gateway/replay/replay_runner.hpp"
#include "gateway/traffic/request_features.hpp"

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

TEST_CASE("traffic reader: an empty key is a record no key owns, a key that is no string is a bad line", "[replay]") {
  // The proxy's capture writes its 401s and 400s (no accepted credential) with "key": "".
  const auto path = write_temp("anon.jsonl", R"({"ts": 1, "key": "", "request": {}, "response": {"status": 401}})" "\n"
                                             R"({"ts": 2, "key": 7, "request": {}, "response": {"status": 200}})" "\n");
  TrafficReader r;
  REQUIRE(r.open(path));
  TrafficRecord rec;
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  CHECK(rec.key.empty());
  CHECK(rec.status == 401);
  REQUIRE(r.next(rec) == TrafficReader::Result::BadLine);
  CHECK_THAT(r.error(), Catch::Contains("'key' must be a string"));
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
                                                R"({"ts": 300, "key": "k", "request": {}, "response": {"status": 200}})" "\n"
                                                R"({"ts": 5.2e78, "key": "k", "request": {}, "response": {"status": 200}})" "\n"  // 10
                                                R"({"ts": -2e11, "key": "k", "request": {}, "response": {"status": 200}})" "\n");
  TrafficReader r;
  r.set_max_disorder(10);
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
  REQUIRE(bad.size() == 9);
  CHECK(bad[7].first == 10);  // a time no clock gives (it overflowed the linker's buckets)
  CHECK_THAT(bad[7].second, Catch::Contains("'ts' must be a Unix time in seconds"));
  CHECK_THAT(bad[8].second, Catch::Contains("'ts' must be a Unix time in seconds"));
  CHECK(bad[0].first == 2);
  CHECK_THAT(bad[0].second, Catch::Contains("invalid JSON"));
  CHECK_THAT(bad[1].second, Catch::Contains("'ts'"));
  CHECK_THAT(bad[2].second, Catch::Contains("'key'"));
  CHECK_THAT(bad[3].second, Catch::Contains("'request' must be an object"));
  CHECK_THAT(bad[4].second, Catch::Contains("response.status"));
  CHECK_THAT(bad[5].second, Catch::Contains("'ts' must be a number"));
  CHECK(bad[6].first == 8);
  CHECK_THAT(bad[6].second, Catch::Contains("timestamp 50.000 is 50 s earlier than an earlier line's 100.500"));
}

TEST_CASE("traffic reader: a redacted capture's prompt features are read, malformed ones are bad lines", "[replay]") {
  const std::string features =
      R"("template_signature": "00000000deadbeef", "system_prompt_hash": "0", "content_hash": "FFFFFFFFFFFFFFFF",)"
      R"( "normalized_chars": 120, "reasoning_markers": 3, "asks_reasoning_for_answer": true, "states_answer": false,)"
      R"( "prompt_chars": 140)";
  const std::string head = R"({"ts": 1, "key": "k", "request": {}, "response": {"status": 200}, "redacted": true)";
  const auto path = write_temp(
      "features.jsonl", head + R"(, "prompt_features": {)" + features + "}}\n" +         // 1: good
                            head + R"(, "prompt_features": {"template_signature": "x"}})" "\n" +  // 2: incomplete
                            head + R"(, "prompt_features": {)" + features + R"(, "reasoning_markers": 300}})" "\n" +
                            R"({"ts": 1, "key": "k", "request": {}, "response": {"status": 200}, "redacted": "yes"})" "\n" +
                            head + R"(, "prompt_features": {)" + features.substr(0, 39) + R"(beef0"}})" "\n" +
                            kGood + "\n");
  TrafficReader r;
  REQUIRE(r.open(path));
  TrafficRecord rec;
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  CHECK(rec.redacted);
  REQUIRE(rec.prompt_features);
  CHECK(rec.prompt_features->template_signature == 0xdeadbeefULL);
  CHECK(rec.prompt_features->system_prompt_hash == 0);
  CHECK(rec.prompt_features->content_hash == ~0ULL);
  CHECK(rec.prompt_features->normalized_chars == 120);
  CHECK(rec.prompt_features->reasoning_markers == 3);
  CHECK(rec.prompt_features->asks_reasoning_for_answer);
  CHECK_FALSE(rec.prompt_features->states_answer);
  CHECK(*rec.prompt_chars == 140);
  for (int i = 0; i < 4; ++i) {
    CHECK(r.next(rec) == TrafficReader::Result::BadLine);
    CHECK_THAT(r.error(), Catch::Contains(i == 2 ? "'redacted' must be a boolean" : "'prompt_features'"));
  }
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  CHECK_FALSE(rec.redacted);
  CHECK_FALSE(rec.prompt_features);
}

namespace {

struct ReadAll {
  std::vector<double> ts;                                  ///< good records, in the order returned
  std::vector<std::pair<std::uint64_t, std::string>> bad;  ///< line, reason
  std::uint64_t reordered = 0;
};

ReadAll read_all(const std::string& name, const std::vector<double>& stamps, double max_disorder = 3600) {
  std::string text;
  for (double ts : stamps) {
    char line[160];
    std::snprintf(line, sizeof line, R"({"ts": %.3f, "key": "k", "request": {}, "response": {"status": 200}})", ts);
    text += std::string(line) + "\n";
  }
  TrafficReader r;
  r.set_max_disorder(max_disorder);
  REQUIRE(r.open(write_temp(name, text)));
  ReadAll out;
  TrafficRecord rec;
  for (;;) {
    const auto res = r.next(rec);
    if (res == TrafficReader::Result::End) break;
    if (res == TrafficReader::Result::BadLine) out.bad.emplace_back(r.line(), r.error());
    else out.ts.push_back(rec.ts);
  }
  out.reordered = r.reordered();
  return out;
}

}  // namespace

TEST_CASE("traffic reader: a capture log's disorder (records written when exchanges end) is read whole", "[replay]") {
  // A 90 s stream that arrived at 1000 is written after the fast requests of 1001-1089.
  const auto got = read_all("capture.jsonl", {1001, 1002, 1050, 1000, 1089, 1090});
  CHECK(got.bad.empty());
  CHECK(got.ts == std::vector<double>{1001, 1002, 1050, 1000, 1089, 1090});
  CHECK(got.reordered == 1);
}

TEST_CASE("traffic reader: one far-future timestamp is one bad line, not every later one", "[replay]") {
  const auto got = read_all("future.jsonl", {1000, 1001, 9e9, 1002, 1003});
  REQUIRE(got.bad.size() == 1);
  CHECK(got.bad[0].first == 3);
  CHECK_THAT(got.bad[0].second, Catch::Contains("after the lines around it"));
  CHECK(got.ts == std::vector<double>{1000, 1001, 1002, 1003});
  // The line that decides may itself come a little out of order.
  const auto between = read_all("future-between.jsonl", {1000, 9e9, -1, 1001});
  CHECK(between.ts == std::vector<double>{1000, -1, 1001});  // within the window of 1000; 9e9 is the odd one
  REQUIRE(between.bad.size() == 1);
  CHECK(between.bad[0].first == 2);
}

TEST_CASE("traffic reader: a real jump forward is confirmed by the next line, also at the end of a file", "[replay]") {
  const auto got = read_all("jump.jsonl", {1000, 1001, 200000, 200001, 200002});
  CHECK(got.bad.empty());
  CHECK(got.ts == std::vector<double>{1000, 1001, 200000, 200001, 200002});
  const auto last = read_all("jump-last.jsonl", {1000, 200000});
  CHECK(last.bad.empty());
  CHECK(last.ts == std::vector<double>{1000, 200000});
  // Beyond the window, earlier lines are bad (and do not move the clock back).
  const auto late = read_all("late.jsonl", {1000, 1010, 5000, 5001, 1100, 5002}, 60);
  REQUIRE(late.bad.size() == 1);
  CHECK(late.bad[0].first == 5);
  CHECK_THAT(late.bad[0].second, Catch::Contains("earlier than an earlier line's"));
  CHECK(late.ts == std::vector<double>{1000, 1010, 5000, 5001, 5002});
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

namespace {

/// Every record of `path` read with a buffer of `chunk` bytes: (line, ts, key, prompt) or (line, error).
std::vector<std::string> read_all(const std::string& path, std::size_t chunk) {
  TrafficReader r(chunk);
  REQUIRE(r.open(path));
  TrafficRecord rec;
  std::vector<std::string> seen;
  for (;;) {
    const auto res = r.next(rec);
    if (res == TrafficReader::Result::End) break;
    if (res == TrafficReader::Result::BadLine) {
      seen.push_back(std::to_string(r.line()) + " bad: " + r.error());
      continue;
    }
    const auto extracted = dg::gateway::extract_request_features(rec.path, rec.request);
    seen.push_back(std::to_string(r.line()) + " " + std::to_string(rec.ts) + " " + std::string(rec.key) + " " +
                   extracted.text.last_user);
  }
  CHECK(r.bytes_read() == std::filesystem::file_size(path));
  return seen;
}

std::string line_with(double ts, const std::string& key, const std::string& text) {
  return R"({"ts": )" + std::to_string(ts) + R"(, "key": ")" + key +
         R"(", "request": {"messages": [{"role": "user", "content": ")" + text +
         R"("}]}, "response": {"status": 200}})";
}

}  // namespace

TEST_CASE("traffic reader: lines longer than the buffer, and any buffer size, read the same records", "[replay]") {
  const std::string long_text(5000, 'x');
  const std::string last = line_with(4, "sk-d", "last");  // no newline after it
  const auto path = write_temp("sizes.jsonl", line_with(1, "sk-a", "first") + "\r\n\n" + line_with(2, "sk-b", long_text) +
                                                  "\n{\"ts\": 3, \"key\": \"k\", \"request\": {}, \"resp\n" +  // truncated
                                                  line_with(3, "sk-c", "third") + "\n" + last);
  const auto reference = read_all(path, TrafficReader::kDefaultChunk);
  REQUIRE(reference.size() == 5);
  CHECK(reference[0] == "1 1.000000 sk-a first");
  CHECK(reference[1] == "3 2.000000 sk-b " + long_text);
  CHECK_THAT(reference[2], Catch::StartsWith("4 bad: invalid JSON: "));
  CHECK(reference[3] == "5 3.000000 sk-c third");
  CHECK(reference[4] == "6 4.000000 sk-d last");
  // Chunks smaller than one line (the buffer grows), and chunks that end
  // exactly where a line or the file ends.
  const auto size = std::filesystem::file_size(path);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}, last.size(),
                            size - 1, size, size + 1}) {
    INFO("chunk " << chunk);
    CHECK(read_all(path, chunk) == reference);
  }
}

TEST_CASE("traffic reader: a line that ends exactly where the file ends, without a newline", "[replay]") {
  const std::string line = line_with(7, "sk-e", "only");
  const auto path = write_temp("exact.jsonl", line);
  for (std::size_t chunk : {line.size(), line.size() - 1, line.size() + 1, TrafficReader::kDefaultChunk})
    CHECK(read_all(path, chunk) == std::vector<std::string>{"1 7.000000 sk-e only"});
}

TEST_CASE("traffic reader: invalid UTF-8, truncated JSON, big numbers, odd requests", "[replay]") {
  const std::string ok = R"("request": {}, "response": {"status": 200}})";
  const auto path = write_temp(
      "odd.jsonl",
      std::string("{\"ts\": 1, \"key\": \"k\xff\", ") + ok + "\n" +  // 1: invalid UTF-8
          R"({"ts": 1, "key": "k", "request": {"messages": [)" + "\n" +                                   // 2
          R"({"ts": 1, "key": "k", "seed": 100000000000000000000, "neg": -9223372036854775809, )" + ok + "\n" +  // 3
          R"({"ts": 10000000000, "key": "k", )" + ok + "\n" +                                   // 4: 1e10
          R"({"ts": 5, "key": "k", )" + ok + "\n" +                                                        // 5: out of order
          R"({"ts": 1e400, "key": "k", )" + ok + "\n" +                                                    // 6
          R"({"ts": 1e10, "key": "k", "request": [1], "response": {"status": 200}})" "\n"                 // 7
          R"({"ts": 1e10, "key": "k", "request": null, "response": {"status": 200}})" "\n"                // 8
          R"({"ts": 1e10, "key": "a", "key": "b", "request": {}, "response": {"status": 404, "status": 200}})" "\n"  // 9
          R"({"ts": 1e10, "key": "k", "request": {}, "response": {"status": 200, "prompt_tokens": -1}})" "\n"  // 10
          R"([1, 2])" "\n"                                                                               // 11
          R"({"ts": 1e10, "key": "k", "request": {}, "response": {"status": 200, "completion_tokens": 1e26}})" "\n");  // 12
  TrafficReader r;
  REQUIRE(r.open(path));
  TrafficRecord rec;
  std::vector<std::pair<std::uint64_t, std::string>> bad;
  std::vector<std::pair<std::uint64_t, double>> good;
  std::string last_key;
  int last_status = 0;
  for (;;) {
    const auto res = r.next(rec);
    if (res == TrafficReader::Result::End) break;
    if (res == TrafficReader::Result::BadLine) {
      bad.emplace_back(r.line(), r.error());
    } else {
      good.emplace_back(r.line(), rec.ts);
      last_key = rec.key;
      last_status = rec.status;
    }
  }
  REQUIRE(good.size() == 3);
  CHECK(good[0] == std::pair<std::uint64_t, double>{3, 1.0});
  CHECK(good[1] == std::pair<std::uint64_t, double>{5, 5.0});  // line 4's 1e10 is the odd one out
  CHECK(good[2].first == 9);
  CHECK(last_key == "b");
  CHECK(last_status == 200);
  REQUIRE(bad.size() == 9);
  CHECK(bad[0] == std::pair<std::uint64_t, std::string>{1, "invalid JSON: The input is not valid UTF-8"});
  CHECK(bad[1].first == 2);
  CHECK_THAT(bad[1].second, Catch::StartsWith("invalid JSON: "));
  CHECK(bad[2].first == 4);
  CHECK_THAT(bad[2].second, Catch::Contains("after the lines around it"));
  CHECK(bad[3] == std::pair<std::uint64_t, std::string>{6, "field 'ts' must be a number (Unix seconds)"});
  CHECK(bad[4] == std::pair<std::uint64_t, std::string>{7, "field 'request' must be an object"});
  CHECK(bad[5] == std::pair<std::uint64_t, std::string>{8, "field 'request' must be an object"});
  CHECK(bad[6] == std::pair<std::uint64_t, std::string>{10, "field 'response.prompt_tokens' must be a non-negative integer"});
  CHECK(bad[7] == std::pair<std::uint64_t, std::string>{11, "line is not a JSON object"});
  // Beyond 2^64 a token count cannot be represented: an error, not a wrapped value.
  CHECK(bad[8] == std::pair<std::uint64_t, std::string>{12, "field 'response.completion_tokens' must be a non-negative integer"});
}

TEST_CASE("traffic reader: an open stream is read and left open, after a file", "[replay]") {
  TrafficReader r(16);  // lines longer than a read: the buffer grows
  REQUIRE(r.open(write_temp("first.jsonl", std::string(kGood) + "\n")));
  TrafficRecord rec;
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  std::string text = std::string(kGood) + "\nnot json\n";
  std::FILE* stream = ::fmemopen(text.data(), text.size(), "rb");
  REQUIRE(stream);
  r.open(stream, "memory.jsonl");
  CHECK(r.path() == "memory.jsonl");
  REQUIRE(r.next(rec) == TrafficReader::Result::Record);
  CHECK(rec.key == "sk-a");
  CHECK(r.line() == 1);
  CHECK(r.next(rec) == TrafficReader::Result::BadLine);
  CHECK(r.line() == 2);
  CHECK(r.next(rec) == TrafficReader::Result::End);
  CHECK(std::fseek(stream, 0, SEEK_SET) == 0);  // still open: the reader does not own it
  std::fclose(stream);
}
