// `distillguard decisions` against a real running `distillguard --config`:
// list, add, lift, show and campaigns as an operator types them, the token
// from DG_ADMIN_TOKEN or --token-file, HTTP errors as clear messages with a
// non-zero exit. And the machine output of the same binary: JSON log lines
// with one numeric `ts` type, request ids in access lines, dg_build_info and
// process_* on /metrics.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/traffic/key_fingerprint.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/child_process.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
namespace json = boost::json;

namespace {

const std::string kToken = "cli-test-token-0123";

std::string distillguard() { return std::string(DG_BINARY_DIR) + "/distillguard"; }

std::uint16_t free_port() {
  net::io_context io;
  tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

/// A running proxy with the admin API, stopped (SIGTERM, exit 0) at the end.
struct RunningProxy {
  std::filesystem::path dir;
  FakeUpstream upstream;
  std::uint16_t port = 0, admin_port = 0;
  std::string config;
  ChildProcess child;

  explicit RunningProxy(const std::string& extra_config = {}) {
    dir = std::filesystem::temp_directory_path() / ("dg-cli-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    port = free_port();
    admin_port = free_port();
    config = (dir / "distillguard.yaml").string();
    std::ofstream(config) << "listen: {address: 127.0.0.1, port: " << port << "}\nupstream: {url: '"
                          << upstream.url() << "'}\nworkers: 1\ntimeouts: {shutdown_grace_ms: 5000}\n"
                          << "identity: {fingerprint_salt: cli-salt}\n"
                          << "admin: {listen: 127.0.0.1, port: " << admin_port << ", token: " << kToken
                          << ", decisions: {journal: '" << (dir / "decisions.jsonl").string() << "'}}\n"
                          << extra_config;
    child = spawn_process({distillguard(), "--config", config}, (dir / "out.log").string(),
                          (dir / "err.log").string());
    REQUIRE(child.pid > 0);
    REQUIRE(wait_until([&] { return http_request(admin_port, "GET", "/healthz", "", "", 1).status == 200; }));
  }
  ~RunningProxy() {
    kill(child.pid, SIGTERM);
    CHECK(wait_process(child.pid) == 0);
    std::filesystem::remove_all(dir);
  }

  RunResult cli(std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {}) const {
    args.insert(args.begin(), {distillguard(), "decisions"});
    if (env.empty()) env = {{"DG_ADMIN_TOKEN", kToken}};
    return run_process(args, env);
  }
};

}  // namespace

TEST_CASE("distillguard decisions: list, add, show, lift, campaigns against a running proxy",
          "[integration][cli][binary]") {
  RunningProxy p;
  const auto fp = dg::gateway::key_fingerprint("sk-cli-key", "cli-salt");
  const auto url = "http://127.0.0.1:" + std::to_string(p.admin_port);
  REQUIRE(request(p.port, make_request("/v1/chat/completions", R"({"model":"m"})", {}, "sk-cli-key")).status == 200);

  auto r = p.cli({"list", "--config", p.config});  // the URL from the config's admin listener
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out == "No decisions in force.\n");

  // A raw key is fingerprinted with the config's salt; --url wins over the config.
  r = p.cli({"add", "sk-cli-key", "--config", p.config, "--url", url, "--action", "throttle", "--ttl", "1h",
             "--rpm", "30", "--reason", "ticket SEC-9"});
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.starts_with(fp + ": throttle 30 rpm, operator, expires in 59m"));
  CHECK(r.out.find("ticket SEC-9") != std::string::npos);
  CHECK(r.err.empty());

  r = p.cli({"list", "--url", url});
  REQUIRE(r.status == 0);
  CHECK(r.out.starts_with("KEY "));
  CHECK(r.out.find(fp) != std::string::npos);
  CHECK(r.out.find("throttle") != std::string::npos);
  CHECK(r.out.find("ticket SEC-9") != std::string::npos);
  r = p.cli({"list", "--url", url, "--json"});
  REQUIRE(r.status == 0);
  const auto list = json::parse(r.out);
  REQUIRE(list.at("data").as_array().size() == 1);
  CHECK(list.at("data").at(0).at("key_fp") == fp.c_str());
  CHECK(list.at("data").at(0).at("throttle_rpm").to_number<double>() == 30);

  r = p.cli({"show", fp, "--url", url});
  REQUIRE(r.status == 0);
  CHECK(r.out.find("key:         " + fp) != std::string::npos);
  CHECK(r.out.find("decision:    throttle 30 rpm") != std::string::npos);
  CHECK(r.out.find("risk:") != std::string::npos);
  r = p.cli({"show", fp, "--url", url, "--json"});
  REQUIRE(r.status == 0);
  CHECK(json::parse(r.out).at("key_fp") == fp.c_str());

  r = p.cli({"campaigns", "--url", url});
  CHECK(r.status == 0);
  CHECK(r.out == "No campaigns.\n");

  // The API's refusals: exit 1 with the API's message and field.
  r = p.cli({"add", fp, "--url", url, "--action", "throttle", "--rpm", "-3"});
  CHECK(r.status == 1);
  CHECK(r.err.find("HTTP 400") != std::string::npos);
  CHECK(r.err.find("requests_per_minute") != std::string::npos);
  r = p.cli({"add", fp, "--url", url, "--action", "block", "--ttl", "99999d"});
  CHECK(r.status == 1);
  CHECK(r.err.find("(field 'ttl_s')") != std::string::npos);

  // The token from a file; a wrong one is a 401.
  const auto token_file = (p.dir / "token").string();
  std::ofstream(token_file) << kToken << "\n";
  r = p.cli({"lift", fp, "--url", url, "--token-file", token_file, "--reason", "false positive"},
            {{"DG_ADMIN_TOKEN", kUnset}});
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.starts_with(fp + ": lifted throttle"));
  r = p.cli({"lift", fp, "--url", url});  // nothing left to lift
  CHECK(r.status == 1);
  CHECK(r.err.find("HTTP 404") != std::string::npos);
  r = p.cli({"list", "--url", url}, {{"DG_ADMIN_TOKEN", "wrong"}});
  CHECK(r.status == 1);
  CHECK(r.err.find("HTTP 401") != std::string::npos);

  // Usage errors exit 2 before any request.
  CHECK(p.cli({"list", "--url", url}, {{"DG_ADMIN_TOKEN", kUnset}}).status == 2);
  CHECK(p.cli({"add", fp, "--url", url, "--action", "block", "--ttl", "soon"}).status == 2);
  CHECK(p.cli({"add", fp, "--url", url}).status == 2);
  CHECK(p.cli({"frobnicate", "--url", url}).status == 2);
  CHECK(p.cli({"list", "--url", "https://127.0.0.1:1"}).status == 2);
  // Nothing listening: exit 1 with the reason.
  r = p.cli({"list", "--url", "http://127.0.0.1:" + std::to_string(free_port()), "--timeout", "2"});
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot connect") != std::string::npos);
}

TEST_CASE("JSON logs: service and access lines share a numeric ts, and access lines carry the request id",
          "[integration][binary][logs]") {
  RunningProxy p("log: {level: info, format: json}\n");
  auto req = make_request("/v1/chat/completions", R"({"model":"m"})", {{"x-request-id", "client-req-42"}});
  auto res = request(p.port, req);
  REQUIRE(res.status == 200);
  CHECK(res.headers["x-request-id"] == "client-req-42");
  res = request(p.port, make_request("/v1/chat/completions", R"({"model":"m"})"));
  REQUIRE(res.status == 200);
  const auto generated = res.headers["x-request-id"];
  CHECK(generated.size() == 32);

  std::string out;
  REQUIRE(wait_until([&] {
    out = slurp_file(p.child.stdout_path) + slurp_file(p.child.stderr_path);
    return out.find(generated) != std::string::npos;
  }));
  int service = 0, access = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    boost::system::error_code ec;
    const auto v = json::parse(line, ec);
    REQUIRE_FALSE(ec);  // every line is one JSON object
    const auto& o = v.as_object();
    REQUIRE(o.at("ts").is_number());
    CHECK(o.at("ts").to_number<double>() > 1.7e9);
    // Unix seconds with milliseconds, never an exponent ("1.76E9") or a date string.
    REQUIRE(line.starts_with("{\"ts\":"));
    const auto ts_text = line.substr(6, line.find(',') - 6);
    CHECK(ts_text.find_first_not_of("0123456789.") == std::string::npos);
    CHECK(ts_text.size() == 14);
    if (o.contains("msg")) ++service;
    if (o.contains("request_id")) {
      ++access;
      const auto id = std::string(o.at("request_id").as_string());
      CHECK((id == "client-req-42" || id == generated));
    }
  }
  CHECK(service >= 2);  // "listening on" lines
  CHECK(access == 2);

  // /metrics: the build and the process, read from /proc at the scrape.
  const auto m = http_request(p.admin_port, "GET", "/metrics", kToken);
  REQUIRE(m.status == 200);
  CHECK(m.body.find("dg_build_info{version=\"") != std::string::npos);
  CHECK(m.body.find(",commit=\"") != std::string::npos);
  CHECK(m.body.find("# TYPE process_cpu_seconds_total counter") != std::string::npos);
  auto value = [&](const std::string& name) {
    const auto at = m.body.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stod(m.body.substr(at + name.size() + 2));
  };
  CHECK(value("process_resident_memory_bytes") > 1e6);
  CHECK(value("process_open_fds") >= 3);
  CHECK(value("process_start_time_seconds") > 1.7e9);
  CHECK(value("process_start_time_seconds") <= static_cast<double>(std::time(nullptr)) + 1);
  CHECK(value("process_cpu_seconds_total") >= 0);
}
