#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/observability/capture_log.hpp"

using namespace dg::gateway;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path = fs::temp_directory_path() / ("dg-capture-" + std::to_string(::getpid()));
  Dir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~Dir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string record(int i) { return R"({"i":)" + std::to_string(i) + R"(,"pad":")" + std::string(80, 'x') + R"("})"; }

}  // namespace

TEST_CASE("capture log: size-based rotation keeps whole records in path.1 .. path.keep", "[capture][operations]") {
  Dir d;
  const auto path = d.file("capture.jsonl");
  {
    CaptureLog log(CaptureOptions{path, false, 1000, 2});
    for (int i = 0; i < 60; ++i) log.append(record(i));
    log.flush();
    CHECK(log.rotations() >= 3);
    CHECK(log.write_failures() == 0);
  }
  CHECK(fs::exists(path + ".1"));
  CHECK(fs::exists(path + ".2"));
  CHECK_FALSE(fs::exists(path + ".3"));
  REQUIRE(fs::file_size(path + ".1") >= 1000);
  CHECK(fs::file_size(path + ".1") < 1000 + 100);
  // The newest records are in path, the next older ones in path.1.
  CHECK(slurp(path).find(R"({"i":59,)") != std::string::npos);
  const auto older = slurp(path + ".1");
  CHECK(older.back() == '\n');
  CHECK(older.find(R"({"i":59,)") == std::string::npos);
}

TEST_CASE("capture log: reopen() starts a new file at the path after a move", "[capture][operations]") {
  Dir d;
  const auto path = d.file("capture.jsonl");
  CaptureLog log(path, false);
  log.append(record(1));
  log.flush();
  fs::rename(path, path + ".old");
  log.append(record(2));  // still the moved file: nobody asked for a reopen
  log.flush();
  log.reopen();
  log.append(record(3));
  log.flush();
  CHECK(log.reopens() == 1);
  const auto old = slurp(path + ".old");
  CHECK(old.find(R"({"i":1,)") != std::string::npos);
  CHECK(old.find(R"({"i":2,)") != std::string::npos);
  CHECK(slurp(path) == record(3) + "\n");
}

TEST_CASE("capture log: a full disk loses records, counted, and never throws", "[capture][operations][faults]") {
  Dir d;
  const auto path = d.file("capture.jsonl");
  fs::create_symlink("/dev/full", path);  // every write fails with ENOSPC
  CaptureLog log(path, false);
  for (int i = 0; i < 5; ++i) CHECK(log.append(record(i)));
  log.flush();
  CHECK(log.write_failures() == 5);
  CHECK(log.dropped() == 0);  // the queue never overflowed
}
