// The `distillguard` executable itself: a bad config exits 2 with a located
// error before listening; SIGTERM drains and exits 0; `--config` runs the
// whole product (detection, enforcement, admin API with /metrics, alerts);
// check-config validates every section.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/traffic/key_fingerprint.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/child_process.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;

namespace {

std::string distillguard() { return std::string(DG_BINARY_DIR) + "/distillguard"; }

/// `with_stdout`: stdout goes to the same file (the log lines go to stdout).
ChildProcess spawn(const std::vector<std::string>& args, const std::string& stderr_path, bool with_stdout = false) {
  return spawn_process(args, with_stdout ? stderr_path : std::string("/dev/null"), stderr_path);
}

std::filesystem::path temp(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("dg_bin_" + std::to_string(::getpid()) + "_" + name);
}

std::uint16_t free_port() {
  net::io_context io;
  tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

}  // namespace

TEST_CASE("distillguard exits 2 with file:line:column on a bad config", "[integration][proxy][binary]") {
  const auto cfg = temp("bad.yaml");
  std::ofstream(cfg) << "upstream:\n  url: http://127.0.0.1:9\nlisten:\n  prot: 80\n";
  auto child = spawn({distillguard(), "--config", cfg.string()}, temp("bad.err").string());
  REQUIRE(child.pid > 0);
  CHECK(wait_process(child.pid) == 2);
  CHECK(slurp_file(child.stderr_path) == cfg.string() + ":4:3: unknown key 'listen.prot' (did you mean 'port'?)\n");
  auto check = spawn({distillguard(), "check-config", cfg.string()}, temp("check.err").string());
  CHECK(wait_process(check.pid) == 2);
  std::filesystem::remove(cfg);
}

TEST_CASE("distillguard drains on SIGTERM and exits 0", "[integration][proxy][binary][shutdown]") {
  FakeUpstream up;
  const auto port = free_port();
  const auto cfg = temp("ok.yaml");
  std::ofstream(cfg) << "listen: {address: 127.0.0.1, port: " << port << "}\nupstream: {url: '" << up.url()
                     << "'}\nworkers: 2\nlog: {level: warn}\ntimeouts: {shutdown_grace_ms: 5000}\n";
  auto child = spawn({distillguard(), "--config", cfg.string()}, temp("ok.err").string());
  REQUIRE(child.pid > 0);
  REQUIRE(wait_until([&] { return request(port, make_request("/v1/chat/completions", R"({"model":"m"})")).status == 200; }));
  CHECK(kill(child.pid, SIGTERM) == 0);
  CHECK(wait_process(child.pid) == 0);
  CHECK(request(port, make_request("/v1/chat/completions", "{}")).status == 0);  // no longer listening
  std::filesystem::remove(cfg);
}

namespace {

/// A config with every section: detection, policy, admin (with /metrics), alerts.
std::string full_config(std::uint16_t port, std::uint16_t admin_port, const std::string& upstream_url) {
  std::ostringstream o;
  o << "listen: {address: 127.0.0.1, port: " << port << "}\nupstream: {url: '" << upstream_url
    << "'}\nworkers: 1\nlog: {level: info}\ntimeouts: {shutdown_grace_ms: 5000}\n"
    << "detection:\n  combine: {risk_threshold: 0.7}\n"
    << "policy:\n  rules:\n    - {name: block-high, when: {risk: 0.95}, action: block}\n"
    << "admin: {port: " << admin_port << ", token: binary-test-token}\n"
    << "alerts: {queue_capacity: 100, flush_timeout_seconds: 1}\n";
  return o.str();
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("distillguard --config runs detection, enforcement, admin /metrics and alerts",
          "[integration][proxy][binary][wiring]") {
  FakeUpstream up;
  const auto port = free_port(), admin_port = free_port();
  const auto cfg = temp("full.yaml");
  std::ofstream(cfg) << full_config(port, admin_port, up.url());
  auto child = spawn({distillguard(), "--config", cfg.string()}, temp("full.err").string(), true);
  REQUIRE(child.pid > 0);
  const auto body = R"({"model":"m","messages":[{"role":"user","content":"Explain step by step why the sky is blue."}]})";
  REQUIRE(wait_until([&] { return request(port, make_request("/v1/chat/completions", body, {}, "sk-binary")).status == 200; }));
  // The startup lines the e2e test and scripts read (stdout or stderr).
  const auto admin_line = "admin API listening on 127.0.0.1:" + std::to_string(admin_port);
  CHECK(wait_until([&] { return slurp_file(child.stderr_path).find(admin_line) != std::string::npos; }));
  const auto err = slurp_file(child.stderr_path);
  // The proxy's line comes first: scripts take the first "listening on".
  CHECK(err.find("listening on 127.0.0.1:" + std::to_string(port)) < err.find(admin_line));

  // The admin API runs with the proxy: the key is known to the real engine...
  const auto fp = dg::gateway::key_fingerprint("sk-binary");
  dg::test::HttpResult key;
  CHECK(wait_until([&] {
    key = dg::test::http_request(admin_port, "GET", "/v1/keys/" + fp, "binary-test-token");
    return key.status == 200 && key.body.find("\"request_index\":1") != std::string::npos;
  }));
  // ... /metrics counts the request and the latency the proxy added ...
  auto metrics = dg::test::http_request(admin_port, "GET", "/metrics", "binary-test-token");
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("dg_requests_total{") != std::string::npos);
  CHECK(metrics.body.find("dg_added_latency_seconds_count") != std::string::npos);
  CHECK(metrics.body.find("dg_added_latency_seconds_count 0\n") == std::string::npos);
  CHECK(metrics.body.find("dg_keys_tracked 1") != std::string::npos);
  // ... and an operator's block is enforced by the proxy.
  auto b = dg::test::http_request(admin_port, "POST", "/v1/decisions", "binary-test-token",
                                  R"({"key_fp":")" + fp + R"(","action":"block","reason":"binary test"})");
  CHECK(b.status == 201);
  CHECK(request(port, make_request("/v1/chat/completions", body, {}, "sk-binary")).status == 403);

  CHECK(kill(child.pid, SIGTERM) == 0);
  CHECK(wait_process(child.pid) == 0);
  CHECK(dg::test::http_request(admin_port, "GET", "/healthz", "", "", 2).status == 0);  // admin stopped too
  std::filesystem::remove(cfg);
}

TEST_CASE("check-config validates every section", "[integration][proxy][binary][wiring]") {
  const auto cfg = temp("check.yaml");
  const auto out = temp("check.out"), err = temp("check2.err");
  auto run = [&](const std::string& text) {
    std::ofstream(cfg) << text;
    return wait_process(spawn_process({distillguard(), "check-config", cfg.string()}, out.string(), err.string()).pid);
  };
  const auto good = full_config(8080, 9090, "http://127.0.0.1:9");
  CHECK(run(good) == 0);
  CHECK(slurp_file(out.string()) == "ok\n");
  // Every section is validated; each error is located in the file.
  const auto located = [&](int line) { return slurp_file(err.string()).starts_with(cfg.string() + ":" + std::to_string(line) + ":"); };
  CHECK(run(replaced(good, "risk_threshold", "risk_treshold")) == 2);  // detection
  CHECK(located(7));
  CHECK(run(replaced(good, "risk: 0.95", "risk: high")) == 2);  // policy
  CHECK(located(10));
  CHECK(run(replaced(good, "token: binary", "tokn: binary")) == 2);  // admin
  CHECK(located(11));
  CHECK(run(replaced(good, "queue_capacity", "queue_capacityX")) == 2);  // alerts
  CHECK(located(12));
  CHECK(run(good + "campaigns: {min_campaign_keys: 1}\n") == 2);  // campaigns
  CHECK(located(13));
  CHECK(run(good + "campaigns: {min_campaign_keys: 3, ipv4_prefix: 24}\n") == 0);
  // The annotated example (with its campaigns section) is valid.
  CHECK(run(slurp_file(std::string(DG_SOURCE_DIR) + "/config/distillguard.example.yaml")) == 0);
  std::filesystem::remove(cfg);
}

namespace {

/// Runs `distillguard check-config FILE`: the exit status, stdout and stderr.
RunResult check_config(const std::string& file) { return run_process({distillguard(), "check-config", file}); }

}  // namespace

TEST_CASE("check-config accepts a policy file on its own", "[integration][binary][check-config]") {
  // The annotated example's own advice: `distillguard check-config config/policy.example.yaml`.
  auto r = check_config(std::string(DG_SOURCE_DIR) + "/config/policy.example.yaml");
  CHECK(r.status == 0);
  CHECK(r.out == "ok\n");
  CHECK(r.err.empty());
  // Every example file passes (the demo's secrets come from the environment).
  ::setenv("DG_ADMIN_TOKEN", "binary-test-admin-token", 1);
  ::setenv("DG_ALERT_SECRET", "binary-test-alert-secret", 1);
  for (const char* name : {"distillguard.example.yaml", "demo.yaml"})
    CHECK(check_config(std::string(DG_SOURCE_DIR) + "/config/" + name).status == 0);
  ::unsetenv("DG_ADMIN_TOKEN");
  ::unsetenv("DG_ALERT_SECRET");

  const auto file = temp("policy-only.yaml");
  std::ofstream(file) << "rules:\n  - name: a\n    when: {detectors: {logprob_harvest: 0.8}}\n    action: degrade\n";
  r = check_config(file.string());
  CHECK(r.status == 2);
  CHECK(r.err == file.string() +
                     ":3:24: unknown detector 'logprob_harvest' in 'rules[0].when.detectors' (did you mean "
                     "'logprob_harvesting'?)\n");
  std::ofstream(file) << "shadow: true\nrules: []\n";
  r = check_config(file.string());
  CHECK(r.status == 2);
  CHECK(r.err.starts_with(file.string() + ":2:8: the policy has no rules"));
  std::ofstream(file) << "allow_empty: true\nrules: []\n";
  CHECK(check_config(file.string()).status == 0);
  std::filesystem::remove(file);
}

TEST_CASE("check-config reports every error of a run, sorted by line", "[integration][binary][check-config]") {
  const auto dir = temp("every");
  std::filesystem::create_directories(dir);
  const auto main = dir / "main.yaml", policy = dir / "policy.yaml";
  std::ofstream(main) << "listen: {port: 99999}\n"                       // 1 proxy: out of range
                      << "upstream: {url: 'http://127.0.0.1:9'}\n"       // 2
                      << "detection:\n  combine: {risk_treshold: 0.7}\n"  // 3-4 detection: unknown key
                      << "policy: {file: policy.yaml}\n"                 // 5
                      << "admin: {port: 9090, tokn: 0123456789abcdef}\n"  // 6 admin: unknown key (+ no token)
                      << "alerts:\n  sinks:\n    - {type: pager, url: 'http://x/'}\n"  // 7-9 alerts: bad type
                      << "campaigns: {min_campaign_keys: 1}\n"           // 10 campaigns: out of range
                      << "upstream: {url: 'http://127.0.0.1:10'}\n";     // 11 duplicate key
  std::ofstream(policy) << "rules:\n  - {name: a, when: {risk: 0.5}, acton: block}\n";
  auto r = check_config(main.string());
  CHECK(r.status == 2);
  CHECK(r.out.empty());
  const auto m = main.string(), p = policy.string();
  CHECK(r.err == m + ":1:16: 'listen.port' must be between 0 and 65535\n" +
                     m + ":4:13: unknown key 'detection.combine.risk_treshold' (did you mean 'risk_threshold'?)\n" +
                     m + ":6:8: the admin API needs a bearer token of at least 16 characters (token_file, token_env or token)\n" +
                     m + ":6:21: unknown key 'admin.tokn' (did you mean 'token'?)\n" +
                     m + ":9:14: 'alerts.sinks[0].type' must be webhook or slack, got 'pager'\n" +
                     m + ":10:32: 'campaigns.min_campaign_keys' must be between 2 and 1000000, got 1\n" +
                     m + ":11:1: duplicate key 'upstream' (first at line 2)\n" +
                     p + ":2:34: unknown key 'rules[0].acton' (did you mean 'action'?)\n");

  // An empty config is an error, not every default.
  std::ofstream(main) << "# emptied by an editor\n";
  r = check_config(main.string());
  CHECK(r.status == 2);
  CHECK(r.err == m + ":1:1: the file is empty (no settings)\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("distillguard refuses to start on an empty or rule-less policy file", "[integration][binary][check-config]") {
  const auto dir = temp("empty-policy");
  std::filesystem::create_directories(dir);
  const auto main = dir / "main.yaml", policy = dir / "policy.yaml";
  std::ofstream(main) << "listen: {address: 127.0.0.1, port: " << free_port()
                      << "}\nupstream: {url: 'http://127.0.0.1:9'}\npolicy: {file: policy.yaml}\n";
  std::ofstream(policy) << "";
  auto child = spawn({distillguard(), "--config", main.string()}, (dir / "err").string());
  REQUIRE(child.pid > 0);
  CHECK(wait_process(child.pid) == 2);
  CHECK(slurp_file(child.stderr_path).find(policy.string() + ":1:1: the file is empty") != std::string::npos);
  std::filesystem::remove_all(dir);
}
