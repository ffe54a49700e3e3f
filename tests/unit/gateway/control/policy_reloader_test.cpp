#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/yaml_reader.hpp"
#include "gateway/control/policy_reloader.hpp"
#include "tests/test_files.hpp"

using namespace dg::gateway;
using dg::detectors::PolicyEngine;

namespace {

std::filesystem::path temp_dir(const std::string& name) { return dg::test::fresh_temp_dir("reload-" + name); }

void write(const std::filesystem::path& p, const std::string& text) {
  // Write then rename, as editors and config management do.
  auto tmp = p.string() + ".new";
  std::ofstream(tmp) << text;
  std::filesystem::rename(tmp, p);
}

std::filesystem::path written(const std::filesystem::path& p, const std::string& text) {
  write(p, text);
  return p;
}

/// Runs the io_context until `done` or a 5 s deadline.
template <class F>
bool run_until(boost::asio::io_context& ioc, F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(20));
  }
  return done();
}

const char* kValid = "shadow: false\nrules:\n  - name: block-high\n    when: {risk: 0.9}\n    action: block\n";

/// A policy file holding kValid in its own directory (removed at the end),
/// an engine and a reloader watching the file.
struct ReloadRig {
  std::filesystem::path dir;
  std::filesystem::path file;
  boost::asio::io_context ioc;
  PolicyEngine engine{nullptr};
  PolicyReloader reloader;

  explicit ReloadRig(const std::string& name)
      : dir(temp_dir(name)), file(written(dir / "policy.yaml", kValid)), reloader(ioc, {file.string(), ""}, engine) {}
  ~ReloadRig() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("reload: an invalid file keeps the running policy and reports file:line:column", "[policy][reload]") {
  ReloadRig rig("invalid");
  const auto& file = rig.file;
  auto& engine = rig.engine;
  auto& reloader = rig.reloader;
  reloader.load_initial(1);
  CHECK(engine.policy()->version == 1);
  CHECK(engine.policy()->rules.size() == 1);
  CHECK(engine.policy()->source == file.string());

  write(file, "shadow: false\nrules:\n  - name: block-high\n    when: {risk: 0.9}\n    action: obliterate\n");
  auto r = reloader.reload(2, false);
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind(file.string() + ":5:13: 'rules[0].action' must be one of", 0) == 0);
  CHECK(engine.policy()->version == 1);
  CHECK(engine.policy()->rules[0].name == "block-high");
  CHECK(reloader.reloads_failed() == 1);
  CHECK(reloader.last_error() == r.error);

  // The same bad content is not reported again on every poll.
  reloader.reload(3, false);
  CHECK(reloader.reloads_failed() == 1);

  write(file, "shadow: true\nallow_empty: true\n");
  r = reloader.reload(4, false);
  CHECK(r.ok);
  CHECK(engine.policy()->version == 2);
  CHECK(engine.policy()->shadow);
  CHECK(reloader.last_error().empty());
}

TEST_CASE("reload: the poller picks up a changed file, SIGHUP forces a reload", "[policy][reload]") {
  auto dir = temp_dir("poll");
  const auto main = dir / "distillguard.yaml";
  write(main, std::string("listen: {port: 8080}\npolicy:\n  shadow: false\n  allow_empty: true\n"));
  boost::asio::io_context ioc;
  PolicyEngine engine(nullptr);
  PolicyReloader reloader(ioc, dg::config::locate_policy(main.string()), engine, std::chrono::milliseconds(20));
  int callbacks = 0;
  reloader.set_on_reload([&](const dg::detectors::Policy&) { ++callbacks; });
  reloader.load_initial(1);
  reloader.start(true);
  CHECK_FALSE(engine.policy()->shadow);

  write(main, std::string("listen: {port: 8080}\npolicy:\n  shadow: true\n  allow_empty: true\n"));
  CHECK(run_until(ioc, [&] { return engine.policy()->shadow; }));
  CHECK(engine.policy()->version == 2);

  const auto before = reloader.reloads_ok();
  std::raise(SIGHUP);
  CHECK(run_until(ioc, [&] { return reloader.reloads_ok() > before; }));
  CHECK(engine.policy()->version == 3);
  CHECK(callbacks == 3);
  reloader.stop();
  ioc.restart();
  ioc.run_for(std::chrono::milliseconds(50));
  std::filesystem::remove_all(dir);
}

TEST_CASE("reload: every prepare step validates before any commit runs, one failure rejects the reload",
          "[policy][reload]") {
  ReloadRig rig("prepare");
  const auto& file = rig.file;
  auto& engine = rig.engine;
  auto& reloader = rig.reloader;
  std::vector<std::string> log;
  bool fail_second = false;
  reloader.add_prepare([&](const YAML::Node&) -> std::function<void()> {
    log.push_back("prepare 1");
    return [&] { log.push_back("commit 1"); };
  });
  reloader.add_prepare([&](const YAML::Node&) -> std::function<void()> {
    log.push_back("prepare 2");
    if (fail_second) throw dg::config::ConfigError(file.string() + ":1:1: second step says no");
    return {};  // nothing to apply
  });
  reloader.load_initial(1);
  CHECK(log == std::vector<std::string>{"prepare 1", "prepare 2", "commit 1"});

  log.clear();
  fail_second = true;
  auto r = reloader.reload(2, true);
  CHECK_FALSE(r.ok);
  CHECK(r.error == file.string() + ":1:1: second step says no");
  CHECK(log == std::vector<std::string>{"prepare 1", "prepare 2"});  // no commit ran
  CHECK(engine.policy()->version == 1);
}

TEST_CASE("reload: an emptied or rule-less policy file keeps the running policy", "[policy][reload][empty]") {
  ReloadRig rig("empty");
  const auto& file = rig.file;
  auto& engine = rig.engine;
  auto& reloader = rig.reloader;
  reloader.load_initial(1);
  REQUIRE(engine.policy()->rules.size() == 1);

  // An editor that truncates before it writes: refused, the rules stay.
  write(file, "");
  auto r = reloader.reload(2, false);
  CHECK_FALSE(r.ok);
  CHECK(r.error.starts_with(file.string() + ":1:1: the policy file is empty"));
  CHECK(engine.policy()->rules.size() == 1);

  write(file, "shadow: false\nrules: []\n");
  r = reloader.reload(3, false);
  CHECK_FALSE(r.ok);
  CHECK(r.error.starts_with(file.string() + ":2:8: the policy has no rules"));
  CHECK(engine.policy()->version == 1);
  CHECK(engine.policy()->rules[0].name == "block-high");

  // A duplicate key is refused too (the second `rules:` would be ignored).
  write(file, std::string(kValid) + "rules: []\n");
  r = reloader.reload(4, false);
  CHECK_FALSE(r.ok);
  CHECK(r.error == file.string() + ":6:1: duplicate key 'rules' (first at line 2)");
  CHECK(reloader.reloads_failed() == 3);

  // Said on purpose: accepted.
  write(file, "allow_empty: true\nrules: []\n");
  r = reloader.reload(5, false);
  CHECK(r.ok);
  CHECK(engine.policy()->rules.empty());
}

TEST_CASE("start-up: an empty or rule-less policy file is an error", "[policy][reload][empty]") {
  auto dir = temp_dir("empty-start");
  const auto file = dir / "policy.yaml";
  boost::asio::io_context ioc;
  PolicyEngine engine(nullptr);
  write(file, "\n");
  PolicyReloader empty(ioc, {file.string(), ""}, engine);
  CHECK_THROWS_AS(empty.load_initial(1), dg::config::ConfigError);
  write(file, "shadow: true\n");
  PolicyReloader rule_less(ioc, {file.string(), ""}, engine);
  CHECK_THROWS_AS(rule_less.load_initial(1), dg::config::ConfigError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("reload: a policy path that reads without end (a device) or past the size limit is refused, bounded",
          "[policy][reload]") {
  ReloadRig rig("endless");
  const auto& file = rig.file;
  auto& engine = rig.engine;
  auto& reloader = rig.reloader;
  reloader.load_initial(1);

  // Past the limit by one byte: a comment, valid YAML, still refused.
  write(file, std::string(kValid) + "#" + std::string(dg::config::kMaxConfigFileBytes - std::string(kValid).size(), 'x'));
  REQUIRE(std::filesystem::file_size(file) == dg::config::kMaxConfigFileBytes + 1);
  auto r = reloader.reload(2, false);
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("larger than 4194304 bytes"));
  CHECK(engine.policy()->rules.size() == 1);

  // A symlink to /dev/zero reports size 0 and never ends: read up to the limit, refused.
  REQUIRE(std::filesystem::exists("/dev/zero"));
  std::filesystem::remove(file);
  std::filesystem::create_symlink("/dev/zero", file);
  r = reloader.reload(3, false);
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.error, Catch::Contains("larger than"));
  CHECK(engine.policy()->version == 1);
}
