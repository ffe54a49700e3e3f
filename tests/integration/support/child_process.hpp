#pragma once
/// Child processes for the tests of the `distillguard` executable: spawn with
/// stdout/stderr to files and extra environment variables, wait with a
/// deadline (killed when it passes), run to completion.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace dg::test {

struct ChildProcess {
  pid_t pid = -1;
  std::string stdout_path, stderr_path;
};

/// `env` adds or replaces variables of the test's environment; the value
/// kUnset removes one. The same path for stdout and stderr: one file, both
/// streams appended in order.
ChildProcess spawn_process(const std::vector<std::string>& args, const std::string& stdout_path,
                           const std::string& stderr_path,
                           const std::vector<std::pair<std::string, std::string>>& env = {});

/// Exit status, or -1 when it did not exit within `deadline` (then killed) or was signalled.
int wait_process(pid_t pid, std::chrono::milliseconds deadline = std::chrono::seconds(15));

inline constexpr const char* kUnset = "\x01unset";

struct RunResult {
  int status = -1;
  std::string out, err;
};

/// Spawns, waits (deadline), and returns the exit status with stdout and stderr.
RunResult run_process(const std::vector<std::string>& args,
                      const std::vector<std::pair<std::string, std::string>>& env = {},
                      std::chrono::milliseconds deadline = std::chrono::seconds(15));

std::string slurp_file(const std::string& path);

}  // namespace dg::test
