// The `distillguard` executable itself: a bad config exits 2 with a located
// error before listening; SIGTERM drains and exits 0.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

extern char** environ;

using namespace dg::test;

namespace {

std::string distillguard() { return std::string(DG_BINARY_DIR) + "/distillguard"; }

struct Child {
  pid_t pid = -1;
  std::string stderr_path;
};

Child spawn(const std::vector<std::string>& args, const std::string& stderr_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Child c;
  c.stderr_path = stderr_path;
  if (posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

/// Waits for the child with a deadline; returns its exit status or -1.
int wait_exit(pid_t pid, std::chrono::milliseconds deadline = std::chrono::seconds(15)) {
  int status = 0;
  const bool done = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, deadline);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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
  CHECK(wait_exit(child.pid) == 2);
  CHECK(slurp(child.stderr_path) == cfg.string() + ":4:3: unknown key 'listen.prot'\n");
  auto check = spawn({distillguard(), "check-config", cfg.string()}, temp("check.err").string());
  CHECK(wait_exit(check.pid) == 2);
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
  CHECK(wait_exit(child.pid) == 0);
  CHECK(request(port, make_request("/v1/chat/completions", "{}")).status == 0);  // no longer listening
  std::filesystem::remove(cfg);
}
