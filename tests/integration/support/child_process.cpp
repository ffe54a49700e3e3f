#include "tests/integration/support/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/support/test_client.hpp"

extern char** environ;

namespace dg::test {

ChildProcess spawn_process(const std::vector<std::string>& args, const std::string& stdout_path,
                           const std::string& stderr_path,
                           const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    const std::string v = *e;
    const auto name = v.substr(0, v.find('='));
    bool replaced = false;
    for (const auto& [k, val] : env) replaced = replaced || k == name;
    if (!replaced) vars.push_back(v);
  }
  for (const auto& [k, val] : env)
    if (val != kUnset) vars.push_back(k + "=" + val);
  std::vector<char*> envp;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (stdout_path == stderr_path) posix_spawn_file_actions_adddup2(&fa, 2, 1);  // one file, one offset
  else posix_spawn_file_actions_addopen(&fa, 1, stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ChildProcess c;
  c.stdout_path = stdout_path;
  c.stderr_path = stderr_path;
  if (posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) c.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

int wait_process(pid_t pid, std::chrono::milliseconds deadline) {
  if (pid <= 0) return -1;
  int status = 0;
  const bool done = wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, deadline);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RunResult run_process(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                      std::chrono::milliseconds deadline) {
  static std::atomic<int> counter{0};
  const auto base = std::filesystem::temp_directory_path() /
                    ("dg_run_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
  const auto out = base.string() + ".out", err = base.string() + ".err";
  auto child = spawn_process(args, out, err, env);
  RunResult r;
  r.status = wait_process(child.pid, deadline);
  r.out = slurp_file(out);
  r.err = slurp_file(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

}  // namespace dg::test
