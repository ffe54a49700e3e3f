#pragma once
// Fleet-mode test support: a real redis-server on a free loopback port (no
// persistence: --save '' --appendonly no), stopped at the end, restartable on
// the same port; and a `distillguard` child process in fleet mode with the
// admin API. Built only where redis-server is installed (tests/CMakeLists.txt).

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/child_process.hpp"
#include "tests/integration/support/test_client.hpp"

namespace dg::test::fleet {

inline const std::string kToken = "fleet-test-admin-token";

inline std::uint16_t free_port() {
  net::io_context io;
  tcp::acceptor a(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

/// A child that did not come up is killed before the test fails: a failed
/// REQUIRE in a constructor skips the destructor that would stop it.
inline void require_started(ChildProcess& child, bool up, const std::string& what) {
  if (up) return;
  if (child.pid > 0) {
    ::kill(child.pid, SIGKILL);
    wait_process(child.pid);
    child.pid = -1;
  }
  FAIL(what << " did not come up");
}

/// `redis-cli -p port args...` (its stdout; "" when it failed).
inline std::string redis_cli(std::uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(), {DG_REDIS_CLI, "-h", "127.0.0.1", "-p", std::to_string(port)});
  auto r = run_process(args, {}, std::chrono::seconds(5));
  return r.status == 0 ? r.out : "";
}

class RedisServer {
 public:
  explicit RedisServer(std::filesystem::path dir) : dir_(std::move(dir)), port_(free_port()) {
    std::filesystem::create_directories(dir_);
    start();
  }
  ~RedisServer() { stop(); }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

  void start() {
    child_ = spawn_process({DG_REDIS_SERVER, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--dir", dir_.string(), "--protected-mode", "no"},
                           (dir_ / "redis.log").string(), (dir_ / "redis.log").string());
    REQUIRE(child_.pid > 0);
    require_started(child_, wait_until([&] { return redis_cli(port_, {"PING"}) == "PONG\n"; }),
                    "redis-server on port " + std::to_string(port_));
  }
  /// SIGKILL: Redis dies as in a crash (no persistence: it comes back empty).
  void kill_hard() {
    if (child_.pid <= 0) return;
    ::kill(child_.pid, SIGKILL);
    wait_process(child_.pid);
    child_.pid = -1;
  }
  void stop() {
    if (child_.pid <= 0) return;
    ::kill(child_.pid, SIGTERM);
    wait_process(child_.pid);
    child_.pid = -1;
  }
  /// Calls of one command since start (INFO commandstats), 0 when none.
  std::uint64_t calls(const std::string& command) const {
    const auto info = redis_cli(port_, {"INFO", "commandstats"});
    std::smatch m;
    if (std::regex_search(info, m, std::regex("cmdstat_" + command + ":calls=(\\d+)")))
      return std::stoull(m[1].str());
    return 0;
  }

 private:
  std::filesystem::path dir_;
  std::uint16_t port_;
  ChildProcess child_;
};

/// A `distillguard --config` in fleet mode (or any `state:` given), stopped
/// (SIGTERM, exit 0) at the end.
class Instance {
 public:
  Instance(std::filesystem::path dir, const std::string& name, const std::string& upstream_url,
           const std::string& state_yaml)
      : dir_(std::move(dir)), name_(name) {
    std::filesystem::create_directories(dir_);
    port_ = free_port();
    admin_port_ = free_port();
    const auto config = (dir_ / "distillguard.yaml").string();
    std::ofstream(config) << "listen: {address: 127.0.0.1, port: " << port_ << "}\nupstream: {url: '" << upstream_url
                          << "'}\nworkers: 1\ntimeouts: {shutdown_grace_ms: 2000}\n"
                          << "identity: {fingerprint_salt: fleet-salt}\n"
                          << "admin: {listen: 127.0.0.1, port: " << admin_port_ << ", token: " << kToken
                          << ", audit_log: '" << (dir_ / "audit.jsonl").string() << "', decisions: {journal: '"
                          << (dir_ / "decisions.jsonl").string() << "'}}\n"
                          << state_yaml;
    child_ = spawn_process({std::string(DG_BINARY_DIR) + "/distillguard", "--config", config},
                           (dir_ / "out.log").string(), (dir_ / "err.log").string());
    REQUIRE(child_.pid > 0);
    require_started(child_,
                    wait_until([&] { return http_request(admin_port_, "GET", "/healthz", "", "", 1).status == 200; }),
                    "distillguard instance " + name_ + " (see " + (dir_ / "err.log").string() + ")");
  }
  ~Instance() {
    ::kill(child_.pid, SIGTERM);
    CHECK(wait_process(child_.pid) == 0);
  }
  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  pid_t pid() const { return child_.pid; }
  std::string log() const { return slurp_file((dir_ / "err.log").string()) + slurp_file((dir_ / "out.log").string()); }
  std::string audit() const { return slurp_file((dir_ / "audit.jsonl").string()); }

  /// One metric's value from /metrics (-1 when absent).
  double metric(const std::string& series) const {
    const auto m = http_request(admin_port_, "GET", "/metrics", kToken, "", 2);
    const auto at = m.body.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(m.body.substr(at + series.size() + 2));
  }
  bool connected() const { return metric("dg_fleet_connected") == 1; }

  /// POST /v1/decisions; returns the HTTP status.
  int decide(const std::string& fp, const std::string& action) const {
    return http_request(admin_port_, "POST", "/v1/decisions", kToken,
                        R"({"key_fp":")" + fp + R"(","action":")" + action + R"(","reason":"fleet test","ttl_s":3600})")
        .status;
  }
  int lift(const std::string& fp) const {
    return http_request(admin_port_, "DELETE", "/v1/decisions/" + fp, kToken, R"({"reason":"fleet test lift"})").status;
  }
  /// A chat completion with `key`; the HTTP status.
  int call(const std::string& key) const {
    return request(port_, make_request("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"hi"}]})",
                                       {}, key))
        .status;
  }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::uint16_t port_ = 0, admin_port_ = 0;
  ChildProcess child_;
};

}  // namespace dg::test::fleet
