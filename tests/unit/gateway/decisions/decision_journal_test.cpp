#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway/decisions/decision_journal.hpp"
#include "gateway/decisions/decision_store.hpp"

using dg::detectors::Action;
using dg::detectors::Decision;
using dg::detectors::Origin;
using namespace dg::gateway;

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dg-journal-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

Decision make(std::string fp, Action a, double created, double expires) {
  Decision d;
  d.key_fp = std::move(fp);
  d.action = a;
  d.intended = a;
  d.created = created;
  d.expires = expires;
  d.reason = "rule 'x': risk 0.95 >= 0.90";
  d.evidence = {"reasoning_elicitation: 71% of 1,340 requests"};
  d.throttle_rpm = 6;
  d.throttle_burst = 2;
  d.offense_count = 2;
  d.block_count = 1;
  return d;
}

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t count_lines(const std::filesystem::path& p) {
  auto text = read_all(p);
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

DecisionStoreOptions options(const std::filesystem::path& dir) {
  DecisionStoreOptions o;
  o.journal.path = (dir / "decisions.jsonl").string();
  o.journal.fsync = FsyncPolicy::Always;
  o.audit_path = (dir / "audit.jsonl").string();
  o.memory_s = 1000;
  return o;
}

}  // namespace

TEST_CASE("journal: decisions survive a restart with every field", "[decision][journal]") {
  auto dir = temp_dir("restart");
  {
    DecisionStore store(options(dir));
    std::vector<std::string> warnings;
    std::string error;
    REQUIRE(store.open(0, warnings, error));
    CHECK(store.apply(make("fp:00000000000000a1", Action::Block, 10, 1e9), "detector", 10));
    CHECK(store.apply(make("fp:00000000000000a2", Action::Throttle, 10, 1e9), "detector", 10));
    auto lift = make("fp:00000000000000a2", Action::Allow, 20, 1e9);
    lift.origin = Origin::Operator;
    CHECK(store.apply(lift, "operator", 20));
    // No close, no flush beyond what apply did: like kill -9.
  }
  DecisionStore again(options(dir));
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(again.open(30, warnings, error));
  CHECK(warnings.empty());
  auto b = again.table().active("fp:00000000000000a1", 30);
  REQUIRE(b);
  CHECK(b->action == Action::Block);
  CHECK(b->reason == "rule 'x': risk 0.95 >= 0.90");
  CHECK(b->evidence.size() == 1);
  CHECK(b->offense_count == 2);
  CHECK(b->block_count == 1);
  auto l = again.table().active("fp:00000000000000a2", 30);
  REQUIRE(l);
  CHECK(l->action == Action::Allow);
  CHECK(l->origin == Origin::Operator);

  // The audit log has one line per change, lift marked as such.
  auto audit = read_all(dir / "audit.jsonl");
  CHECK(count_lines(dir / "audit.jsonl") == 3);
  CHECK(audit.find("\"event\":\"lift\"") != std::string::npos);
  CHECK(audit.find("\"previous_action\":\"throttle\"") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("journal: a torn last line is skipped and reported as file:line", "[decision][journal]") {
  auto dir = temp_dir("torn");
  const auto path = dir / "decisions.jsonl";
  {
    DecisionStore store(options(dir));
    std::vector<std::string> warnings;
    std::string error;
    REQUIRE(store.open(0, warnings, error));
    store.apply(make("fp:00000000000000b1", Action::Block, 10, 1e9), "detector", 10);
    store.apply(make("fp:00000000000000b2", Action::Block, 10, 1e9), "detector", 10);
  }
  {  // a crash in the middle of the third record
    std::ofstream out(path, std::ios::app);
    out << R"({"op":"put","decision":{"key_fp":"fp:00000000000000b3","act)";
  }
  auto loaded = DecisionJournal::load(path.string());
  CHECK(loaded.decisions.size() == 2);
  REQUIRE(loaded.warnings.size() == 1);
  CHECK(loaded.warnings[0] == path.string() + ":3: torn last line (incomplete write before a crash), skipped");

  DecisionStore again(options(dir));
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(again.open(20, warnings, error));
  CHECK(warnings.size() == 1);
  CHECK(again.table().active("fp:00000000000000b1", 20));
  CHECK(again.table().active("fp:00000000000000b2", 20));
  // Compaction at start rewrote the file without the torn line.
  CHECK(DecisionJournal::load(path.string()).warnings.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("journal: compaction keeps the latest state of each key", "[decision][journal]") {
  auto dir = temp_dir("compact");
  auto opts = options(dir);
  opts.journal.compact_threshold_bytes = 4096;
  DecisionStore store(opts);
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(store.open(0, warnings, error));
  for (int i = 0; i < 200; ++i) {
    auto d = make("fp:00000000000000c" + std::to_string(i % 4), i % 2 ? Action::Block : Action::Throttle, i, 1e9);
    d.offense_count = static_cast<std::uint32_t>(i);
    store.apply(d, "detector", i);
  }
  const auto path = dir / "decisions.jsonl";
  CHECK(std::filesystem::file_size(path) < 4096 + 1024);  // compacted along the way
  CHECK_FALSE(std::filesystem::exists(dir / "decisions.jsonl.tmp"));
  auto loaded = DecisionJournal::load(path.string());
  CHECK(loaded.warnings.empty());
  REQUIRE(loaded.decisions.size() == 4);
  for (const auto& d : loaded.decisions) {
    const int last = 196 + (d.key_fp.back() - '0');
    CHECK(d.offense_count == static_cast<std::uint32_t>(last));
    CHECK(d.action == (last % 2 ? Action::Block : Action::Throttle));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("journal: expired decisions past the memory are dropped at start", "[decision][journal]") {
  auto dir = temp_dir("expire");
  {
    DecisionStore store(options(dir));
    std::vector<std::string> warnings;
    std::string error;
    REQUIRE(store.open(0, warnings, error));
    store.apply(make("fp:00000000000000d1", Action::Block, 0, 100), "detector", 0);
    store.apply(make("fp:00000000000000d2", Action::Block, 0, 5000), "detector", 0);
  }
  DecisionStore again(options(dir));  // memory 1000 s
  std::vector<std::string> warnings;
  std::string error;
  REQUIRE(again.open(2000, warnings, error));
  CHECK_FALSE(again.table().latest("fp:00000000000000d1"));
  CHECK(again.table().active("fp:00000000000000d2", 2000));
  CHECK(count_lines(dir / "decisions.jsonl") == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("journal: a state directory this user cannot write is reported with the uid to give it", "[journal]") {
  const auto dir = std::filesystem::temp_directory_path() / ("dg-journal-ro-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                        std::filesystem::perms::group_read | std::filesystem::perms::others_read |
                                        std::filesystem::perms::others_exec | std::filesystem::perms::group_exec);
  // As root the permission bits do not bind: try as an unprivileged user in a child.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::geteuid() == 0 && ::setuid(65534) != 0) ::_exit(3);
    dg::gateway::DecisionJournal journal({(dir / "decisions.jsonl").string()});
    std::string error;
    const bool opened = journal.compact({}, error);
    const bool hinted = error.find("must be writable by uid " + std::to_string(::geteuid())) != std::string::npos &&
                        error.find("chown") != std::string::npos && error.find(dir.string()) != std::string::npos;
    ::_exit(opened ? 1 : hinted ? 0 : 2);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  std::filesystem::remove_all(dir);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("journal: a full disk fails the write, counted, with the decision still in force", "[journal][faults]") {
  const auto dir = temp_dir("full");
  const auto path = (dir / "decisions.jsonl").string();
  std::filesystem::create_symlink("/dev/full", path);  // every write fails with ENOSPC
  DecisionStoreOptions o;
  o.journal.path = path;
  o.journal.fsync = FsyncPolicy::Never;
  o.audit_path = (dir / "audit.jsonl").string();
  DecisionStore store(o);  // not open(): its compaction would replace the link by a file
  const auto d = make("fp:00000000000000f1", Action::Block, 100, 0);
  CHECK_FALSE(store.apply(d, "operator", 100));
  CHECK(store.journal_failures() == 1);
  CHECK(store.table().active(d.key_fp, 101));
  // The next change fails the same way; nothing throws.
  CHECK_FALSE(store.apply(make("fp:00000000000000f2", Action::Throttle, 101, 0), "operator", 101));
  CHECK(store.journal_failures() == 2);
  std::filesystem::remove_all(dir);
}

TEST_CASE("audit log: reopen() follows a rotation by path", "[journal][operations]") {
  const auto dir = temp_dir("audit");
  const auto path = (dir / "audit.jsonl").string();
  AuditLog audit(path);
  REQUIRE(audit.record("decision", make("fp:00000000000000a1", Action::Block, 1, 0), "operator", 1));
  std::filesystem::rename(path, path + ".1");
  REQUIRE(audit.reopen());
  REQUIRE(audit.record("decision", make("fp:00000000000000a2", Action::Block, 2, 0), "operator", 2));
  std::ifstream now(path), before(path + ".1");
  std::stringstream a, b;
  a << now.rdbuf();
  b << before.rdbuf();
  CHECK(a.str().find("fp:00000000000000a2") != std::string::npos);
  CHECK(a.str().find("fp:00000000000000a1") == std::string::npos);
  CHECK(b.str().find("fp:00000000000000a2") == std::string::npos);
  std::filesystem::remove_all(dir);
}
