// dg-play, the traffic player, against the demo upstream: headers carried
// from the records, timing kept at --speed, status counting per key
// fingerprint, and bounded time against a target that never answers.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "demo/demo_upstream.hpp"

namespace {
namespace json = boost::json;
namespace fs = std::filesystem;

struct Run {
  int status = -1;
  std::string out;
  double seconds = 0;
};

// Runs dg-play with `args`; it bounds its own run time (per-request timeouts).
Run run_dg_play(const std::string& args) {
  const fs::path bin = fs::path(DG_BINARY_DIR) / "dg-play";
  REQUIRE(fs::exists(bin));  // build the dg-play target first
  Run r;
  const auto start = std::chrono::steady_clock::now();
  FILE* p = ::popen((bin.string() + " " + args + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p)) r.out += buf;
  r.status = ::pclose(p);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

fs::path temp_file(const std::string& name, const std::string& content) {
  const fs::path path = fs::temp_directory_path() / ("dg_play_test_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << content;
  return path;
}

json::object read_json(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str()).as_object();
}

const char* kTraffic =
    R"({"ts": 1000.0, "key": "sk-alice", "client_ip": "203.0.113.7", "user_agent": "OpenAI/Python 1.54.0", "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}}
{"ts": 1000.25, "key": "sk-bob", "client_ip": "198.51.100.2", "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hey"}], "stream": true}}
{"ts": 1000.5, "key": "sk-alice", "path": "/v1/embeddings", "request": {"model": "e", "input": "x"}}
{"ts": 1000.75, "key": "sk-bob", "path": "/v1/no-such-endpoint", "request": {}}
{"ts": 1001.0, "key": "sk-alice", "request": {"model": "gpt-4o", "messages": [{"role": "user", "content": "bye"}]}}
)";

}  // namespace

TEST_CASE("dg-play: sends records with their headers, keeps timing, counts per key", "[dg-play]") {
  dg::demo::DemoUpstream up;
  const auto traffic = temp_file("traffic.jsonl", kTraffic);
  const auto out = temp_file("out.json", "");
  // One second of traffic at speed 2: at least ~0.5 s.
  const auto run = run_dg_play("--target " + up.base_url() + " --speed 2 --json " + out.string() + " " +
                               traffic.string());
  INFO(run.out);
  CHECK(run.status == 0);
  CHECK(run.seconds >= 0.45);
  CHECK(run.out.find("sk-alice") == std::string::npos);  // keys only as fingerprints
  CHECK(run.out.find("fp:") != std::string::npos);

  const auto doc = read_json(out);
  CHECK(doc.at("totals").at("requests").to_number<int>() == 5);
  CHECK(doc.at("totals").at("200").to_number<int>() == 4);
  CHECK(doc.at("totals").at("other").to_number<int>() == 1);
  CHECK(doc.at("keys").as_array().size() == 2);
  CHECK(doc.at("statuses").at("404").to_number<int>() == 1);

  const auto got = up.received();
  REQUIRE(got.size() == 5);
  CHECK(got[0].has_authorization);
  CHECK(got[0].user_agent == "OpenAI/Python 1.54.0");
  CHECK(got[0].x_forwarded_for == "203.0.113.7");
  CHECK(got[1].x_forwarded_for == "198.51.100.2");
  CHECK(got[1].stream);
  CHECK(got[2].path == "/v1/embeddings");

  // Speed 0: as fast as possible.
  const auto fast = run_dg_play("--target " + up.base_url() + " --speed 0 --concurrency 4 " + traffic.string());
  CHECK(fast.status == 0);
  CHECK(fast.seconds < 0.45 + 5);
  CHECK(up.received_total() == 10);
  fs::remove(traffic);
  fs::remove(out);
}

TEST_CASE("dg-play: bad lines are reported with file:line, silent targets time out", "[dg-play]") {
  const auto traffic = temp_file("bad.jsonl", std::string(kTraffic) + "not json\n{\"ts\": 2000}\n");
  // A listener that never answers: connections complete in the backlog, no reply ever comes.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = silent.local_endpoint().port();
  const auto out = temp_file("silent.json", "");
  const auto run = run_dg_play("--target http://127.0.0.1:" + std::to_string(port) +
                               " --speed 0 --concurrency 5 --timeout-ms 300 --json " + out.string() + " " +
                               traffic.string());
  INFO(run.out);
  CHECK(run.status != 0);  // skipped lines without --skip-bad-lines
  CHECK(run.out.find(traffic.string() + ":6:") != std::string::npos);
  CHECK(run.out.find(traffic.string() + ":7:") != std::string::npos);
  CHECK(run.seconds < 10);
  const auto doc = read_json(out);
  CHECK(doc.at("totals").at("errors").to_number<int>() == 5);
  CHECK(doc.at("skipped_lines").to_number<int>() == 2);
  fs::remove(traffic);
  fs::remove(out);
}
