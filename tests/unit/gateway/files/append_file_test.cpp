// AppendFile: whole lines or nothing, sizes that follow the file, reopening by
// path after a rotation.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gateway/files/append_file.hpp"

using dg::gateway::AppendFile;

namespace {

std::filesystem::path temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-append-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("append file: a write cut short by the file size limit is cut off again", "[files][faults]") {
  const auto path = temp_path("limited.log");
  std::filesystem::remove(path);
  // In a child: the limit is per process, and exceeding it raises SIGXFSZ.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{16, 16};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(3);
    AppendFile f(path.string());
    const bool first = f.append("line one\n");          // 9 bytes: fits
    const bool second = !f.append("line number two\n");  // 16 more: cut at 16, then cut back to 9
    const bool size_kept = f.size() == 9;
    const bool third = f.append("three\n");             // 15 bytes in all: fits again
    ::_exit(first && second && size_kept && third ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(path) == "line one\nthree\n");  // no half line glued to the next one
}

TEST_CASE("append file: size counts what was there, open() follows a rotation", "[files]") {
  const auto path = temp_path("rotated.log");
  std::filesystem::remove(path);
  std::ofstream(path) << "old\n";
  AppendFile f(path.string());
  REQUIRE(f.open());
  CHECK(f.size() == 4);
  REQUIRE(f.append("a\n"));
  CHECK(f.size() == 6);
  std::filesystem::rename(path, path.string() + ".1");
  REQUIRE(f.open());
  CHECK(f.size() == 0);
  REQUIRE(f.append("b\n"));
  CHECK(slurp(path) == "b\n");
  CHECK(slurp(path.string() + ".1") == "old\na\n");
  // A path that cannot be opened: false, closed, and the next append tries again.
  AppendFile missing((path.parent_path() / "no-such-dir" / "x.log").string());
  CHECK_FALSE(missing.open());
  CHECK_FALSE(missing.is_open());
  CHECK_FALSE(missing.append("x\n"));
  std::filesystem::remove_all(path.parent_path());
}
