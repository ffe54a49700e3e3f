// The `distillguard replay` command line: exit codes, FILE:LINE messages,
// output files.
#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/json_number_checks.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Run run(const fs::path& dir, const std::string& args) {
  const auto out = dir / "stdout.txt", err = dir / "stderr.txt";
  const std::string cmd = std::string(DG_BINARY_DIR) + "/distillguard replay " + args + " >" + out.string() + " 2>" +
                          err.string() + " </dev/null";
  const int rc = std::system(cmd.c_str());
  Run r;
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

fs::path temp_dir() {
  const auto dir = fs::temp_directory_path() / ("dg-replay-cmd-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string good_line(double ts, const std::string& key) {
  return R"({"ts":)" + std::to_string(ts) + R"(,"key":")" + key +
         R"(","request":{"model":"m","messages":[{"role":"user","content":"hello there"}]},"response":{"status":200,"prompt_tokens":3,"completion_tokens":5}})";
}

}  // namespace

TEST_CASE("replay command: bad lines are reported as FILE:LINE and make the exit status non-zero",
          "[replay][command]") {
  const auto dir = temp_dir();
  const auto config = dir / "config.yaml";
  write(config, "detection: {}\n");
  const auto traffic = dir / "traffic.jsonl";
  write(traffic, good_line(1000, "sk-one") + "\n" + "{broken\n" + good_line(999, "sk-one") + "\n" +
                     good_line(1001, "sk-two") + "\n" + R"({"ts":1002,"key":"sk-two","response":{"status":200}})" + "\n");

  const auto r = run(dir, "--config " + config.string() + " " + traffic.string());
  CHECK(r.status == 1);
  CHECK_THAT(r.err, Catch::Contains(traffic.string() + ":2: invalid JSON"));
  CHECK_THAT(r.err, Catch::Contains(traffic.string() + ":5: missing required field 'request'"));
  CHECK_THAT(r.err, Catch::Contains("skipped 2 bad line(s)"));
  CHECK_THAT(r.out, Catch::Contains("3 records"));  // 999 after 1000 is within the disorder window
  CHECK(r.out.find("sk-one") == std::string::npos);  // keys only as fingerprints

  const auto skip = run(dir, "--skip-bad-lines --config " + config.string() + " " + traffic.string());
  CHECK(skip.status == 0);
  CHECK_THAT(skip.err, Catch::Contains(":2: invalid JSON"));

  const auto strict = run(dir, "--max-disorder 0 --config " + config.string() + " " + traffic.string());
  CHECK(strict.status == 1);
  CHECK_THAT(strict.err, Catch::Contains(traffic.string() + ":3: timestamp 999.000 is 1 s earlier"));
  CHECK(run(dir, "--max-disorder -5 --config " + config.string() + " " + traffic.string()).status == 2);
  fs::remove_all(dir);
}

TEST_CASE("replay command: the proxy's own capture log replays (records written when exchanges end)",
          "[replay][command]") {
  // A slow stream that arrived first is written after the fast requests that
  // followed it; one far-future line does not make the rest unreadable.
  const auto dir = temp_dir();
  const auto config = dir / "config.yaml";
  write(config, "detection: {}\n");
  const auto traffic = dir / "capture.jsonl";
  write(traffic, good_line(1001, "sk-fast") + "\n" + good_line(1002, "sk-fast") + "\n" + good_line(1000, "sk-slow") +
                     "\n" + good_line(1003, "sk-fast") + "\n");
  const auto r = run(dir, "--config " + config.string() + " " + traffic.string());
  CHECK(r.status == 0);
  CHECK_THAT(r.out, Catch::Contains("4 records (0 without a key)"));
  // Its 401s and 400s carry "key": "": counted, no key of their own, not a bad line.
  const auto anonymous = dir / "anonymous.jsonl";
  write(anonymous, good_line(1000, "sk-a") + "\n" + good_line(1001, "") + "\n" + good_line(1002, "sk-a") + "\n");
  const auto a = run(dir, "--config " + config.string() + " " + anonymous.string());
  CHECK(a.status == 0);
  CHECK_THAT(a.out, Catch::Contains("1 keys, 3 records (1 without a key)"));
  CHECK(a.err.find("bad line") == std::string::npos);
  const auto future = dir / "future.jsonl";
  write(future, good_line(1000, "sk-a") + "\n" + good_line(99999999999, "sk-a") + "\n" + good_line(1001, "sk-a") + "\n" +
                    good_line(1002, "sk-a") + "\n");
  const auto f = run(dir, "--config " + config.string() + " " + future.string());
  CHECK(f.status == 1);
  CHECK_THAT(f.err, Catch::Contains(future.string() + ":2: timestamp"));
  CHECK_THAT(f.err, Catch::Contains("skipped 1 bad line(s)"));
  CHECK_THAT(f.out, Catch::Contains("3 records"));
  fs::remove_all(dir);
}

TEST_CASE("replay command: output files, usage errors, invalid config", "[replay][command]") {
  const auto dir = temp_dir();
  const auto config = dir / "config.yaml";
  write(config, "detection: {}\n");
  const auto traffic = dir / "traffic.jsonl";
  std::string text;
  for (int i = 0; i < 50; ++i) text += good_line(1000 + i, i % 2 ? "sk-a" : "sk-b") + "\n";
  write(traffic, text);

  const auto ok = run(dir, "--config " + config.string() + " --output " + (dir / "out.jsonl").string() +
                               " --summary-json " + (dir / "summary.json").string() + " " + traffic.string());
  REQUIRE(ok.status == 0);
  CHECK(fs::exists(dir / "out.jsonl"));
  const auto summary = json::parse(slurp(dir / "summary.json")).as_object();
  CHECK(summary.at("stats").at("records").to_number<std::int64_t>() == 50);
  CHECK(summary.at("keys").as_array().size() == 2);
  CHECK(slurp(dir / "summary.json").find("sk-a") == std::string::npos);
  // Numbers as a person writes them (no 1.7E9 timestamps, no 5E1 counts).
  CHECK_FALSE(dg::test::has_exponent_number(slurp(dir / "summary.json")));
  CHECK_THAT(ok.out, Catch::Contains("2 keys, 50 records"));  // the totals are printed beside --summary-json
  const auto quiet = run(dir, "--quiet --config " + config.string() + " " + traffic.string());
  CHECK(quiet.status == 0);
  CHECK(quiet.out.empty());
  const auto top1 = run(dir, "--top 1 --config " + config.string() + " " + traffic.string());
  CHECK_THAT(top1.out, Catch::Contains("... 1 more keys"));
  CHECK(run(dir, "--top -3 --config " + config.string() + " " + traffic.string()).status == 2);

  CHECK(run(dir, traffic.string()).status == 2);                        // no --config
  CHECK(run(dir, "--config " + config.string()).status == 2);           // no traffic
  CHECK(run(dir, "--bogus --config " + config.string()).status == 2);   // unknown option
  const auto missing = run(dir, "--config " + config.string() + " " + (dir / "nope.jsonl").string());
  CHECK(missing.status == 1);
  CHECK_THAT(missing.err, Catch::Contains("nope.jsonl"));

  write(dir / "bad.yaml", "detection: [unclosed\n");
  const auto bad = run(dir, "--config " + (dir / "bad.yaml").string() + " " + traffic.string());
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains("bad.yaml:"));
  fs::remove_all(dir);
}
