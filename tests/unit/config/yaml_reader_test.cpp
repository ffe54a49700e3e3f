#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "config/yaml_reader.hpp"

using dg::config::ConfigError;
using dg::config::load_yaml_text;
using dg::config::YamlSection;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("YamlSection reads typed values and defaults") {
  YamlSection s(load_yaml_text("port: 8080\nname: x\nratio: 0.5\non: true\n", "t.yaml"), "t.yaml");
  CHECK(s.get<int>("port", 1) == 8080);
  CHECK(s.get<std::string>("name", "") == "x");
  CHECK(s.get<double>("ratio", 0) == 0.5);
  CHECK(s.get<bool>("on", false));
  CHECK(s.get<int>("absent", 7) == 7);
  CHECK_NOTHROW(s.finish());
}

TEST_CASE("YamlSection reports wrong types with file:line:column") {
  auto root = load_yaml_text("a: 1\nport: eighty\n", "cfg.yaml");
  YamlSection s(root, "cfg.yaml");
  // Recorded, not thrown: reading goes on with the default...
  CHECK(s.get<int>("port", 1) == 1);
  CHECK(s.get<int>("a", 0) == 1);
  CHECK_FALSE(s.ok());
  // ... and the root's finish() throws it.
  CHECK(error_of([&] { s.finish(); }) == "cfg.yaml:2:7: 'port' must be a whole number, got 'eighty'");
}

TEST_CASE("YamlSection reports unknown keys, nested ones with their path") {
  auto root = load_yaml_text("upstream:\n  url: http://x\n  tiemout: 3\n", "cfg.yaml");
  YamlSection s(root, "cfg.yaml");
  auto up = s.child("upstream");
  REQUIRE(up);
  CHECK(up->get<std::string>("url", "") == "http://x");
  CHECK_NOTHROW(up->finish());  // a child records; the root throws
  CHECK(error_of([&] { s.finish(); }) == "cfg.yaml:3:3: unknown key 'upstream.tiemout'");
}

TEST_CASE("unknown keys suggest the closest key the reader knows", "[config][didyoumean]") {
  auto root = load_yaml_text("upstream:\n  url: http://x\n  tiemout: 3\n  Tls_verify: true\n  zzz: 1\n", "cfg.yaml");
  YamlSection s(root, "cfg.yaml");
  auto up = s.child("upstream");
  REQUIRE(up);
  (void)up->get<std::string>("url", "");
  (void)up->get<int>("timeout", 1);
  (void)up->get<bool>("tls_verify", false);
  up->finish();
  CHECK(error_of([&] { s.finish(); }) ==
        "cfg.yaml:3:3: unknown key 'upstream.tiemout' (did you mean 'timeout'?)\n"
        "cfg.yaml:4:3: unknown key 'upstream.Tls_verify' (did you mean 'tls_verify'?)\n"
        "cfg.yaml:5:3: unknown key 'upstream.zzz'");
}

TEST_CASE("closest_match: typos within a third of the word, prefixes, case slips", "[config][didyoumean]") {
  const std::vector<std::string> names{"action", "name", "when", "scope", "logprob_harvesting", "ttl"};
  CHECK(dg::config::closest_match("acton", names) == "action");
  CHECK(dg::config::closest_match("actoin", names) == "action");  // transposition
  CHECK(dg::config::closest_match("logprob_harvest", names) == "logprob_harvesting");
  CHECK(dg::config::closest_match("Name", names) == "name");
  CHECK(dg::config::closest_match("tl", names) == "ttl");
  CHECK_FALSE(dg::config::closest_match("z", {"a", "b"}));  // one letter is no typo of another
  CHECK_FALSE(dg::config::closest_match("colour", names));
  CHECK_FALSE(dg::config::closest_match("x", names));
  CHECK(dg::config::did_you_mean("wehn", names) == " (did you mean 'when'?)");
  CHECK(dg::config::did_you_mean("banana", names).empty());
  // A long word: no suggestion, however close (keys are short; the edit
  // distance is quadratic); 64 letters still get one.
  const std::string long_key(64, 'k');
  CHECK(dg::config::closest_match(long_key + "x", {long_key}) == std::nullopt);
  CHECK(dg::config::closest_match(long_key.substr(1) + "x", {long_key}) == long_key);
}

TEST_CASE("a missing required key next to a typo of it is reported as that unknown key", "[config][didyoumean]") {
  YamlSection s(load_yaml_text("name: r\nacton: block\n", "p.yaml"), "p.yaml");
  (void)s.get<std::string>("name", "");
  CHECK(error_of([&] { s.require<std::string>("action"); }) == "p.yaml:2:1: unknown key 'acton' (did you mean 'action'?)");
  YamlSection t(load_yaml_text("name: r\n", "p.yaml"), "p.yaml");
  CHECK(error_of([&] { t.require<std::string>("action"); }) == "p.yaml:1:1: missing required key 'action'");
}

TEST_CASE("duplicate mapping keys are errors at the second one", "[config][duplicates]") {
  const std::string text = "listen: {port: 1}\nupstream:\n  url: a\n  url: b\nlisten: {port: 2}\nrules:\n  - {name: a, name: b}\n";
  CHECK(error_of([&] { load_yaml_text(text, "d.yaml"); }) ==
        "d.yaml:4:3: duplicate key 'upstream.url' (first at line 3)\n"
        "d.yaml:5:1: duplicate key 'listen' (first at line 1)\n"
        "d.yaml:7:15: duplicate key 'rules[0].name' (first at line 7)");
  std::vector<dg::config::Diagnostic> found;
  auto root = load_yaml_text(text, "d.yaml", &found);  // collected instead of thrown
  CHECK(root.IsMap());
  CHECK(found.size() == 3);
  // Aliases are walked once (a billion-laughs document stays cheap) and are not duplicates.
  CHECK_NOTHROW(load_yaml_text("a: &x {k: 1}\nb: *x\nc: [*x, *x]\n", "a.yaml"));
}

TEST_CASE("an empty file is an error, not a config with every default", "[config]") {
  const auto path = std::filesystem::temp_directory_path() / ("dg-empty-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "# nothing here yet\n\n";
  CHECK(error_of([&] { dg::config::load_yaml_file(path.string()); }) ==
        path.string() + ":1:1: the file is empty (no settings)");
  std::filesystem::remove(path);
}

TEST_CASE("errors are collected across sections and sorted by position", "[config]") {
  YamlSection s(load_yaml_text("b: x\na: {c: y}\nz: 1\n", "m.yaml"), "m.yaml");
  if (auto a = s.child("a")) {
    (void)a->get<int>("c", 0);
    a->finish();
  }
  (void)s.get<int>("b", 0);
  // A structural error thrown inside recover() is recorded; reading goes on.
  CHECK_FALSE(s.recover([&] { s.fail(s.node(), "first key is wrong too"); }));
  try {
    s.finish();
    FAIL("finish() did not throw");
  } catch (const ConfigError& e) {
    REQUIRE(e.diagnostics().size() == 4);
    CHECK(std::string(e.what()) ==
          "m.yaml:1:1: first key is wrong too\n"
          "m.yaml:1:4: 'b' must be a whole number, got 'x'\n"
          "m.yaml:2:8: 'a.c' must be a whole number, got 'y'\n"
          "m.yaml:3:1: unknown key 'z'");
    CHECK(e.diagnostics()[3].line == 3);
    CHECK(e.diagnostics()[3].message == "unknown key 'z'");
  }
}

namespace {

struct EnvVar {
  std::string name;
  EnvVar(std::string n, const char* value) : name(std::move(n)) {
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
  }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

std::optional<std::string> secret_of(const std::string& text, std::string* error = nullptr) {
  YamlSection s(load_yaml_text(text, "s.yaml"), "s.yaml", "alerts");
  try {
    auto v = s.secret("secret");
    s.finish();
    return v;
  } catch (const ConfigError& e) {
    if (error) *error = e.what();
    return std::nullopt;
  }
}

}  // namespace

TEST_CASE("secrets: inline, from an environment variable or from a file, exactly one", "[config][secrets]") {
  CHECK(secret_of("{}\n") == std::nullopt);
  CHECK(secret_of("secret: s3cret\n") == "s3cret");

  EnvVar var("DG_TEST_SECRET_VALUE", "from-env\n");
  CHECK(secret_of("secret_env: DG_TEST_SECRET_VALUE\n") == "from-env");

  const auto file = std::filesystem::temp_directory_path() / ("dg-secret-" + std::to_string(::getpid()));
  std::ofstream(file) << "from-file\r\n";
  CHECK(secret_of("secret_file: " + file.string() + "\n") == "from-file");  // trailing newline trimmed

  std::string err;
  CHECK_FALSE(secret_of("secret: a\nsecret_env: DG_TEST_SECRET_VALUE\n", &err));
  CHECK(err == "s.yaml:2:1: give only one of 'alerts.secret', 'alerts.secret_env' and 'alerts.secret_file'");
  CHECK_FALSE(secret_of("secret_env: DG_TEST_SECRET_VALUE\nsecret_file: /x\n", &err));
  CHECK(err.starts_with("s.yaml:2:1: give only one of"));

  EnvVar unset("DG_TEST_SECRET_UNSET", nullptr);
  CHECK_FALSE(secret_of("secret_env: DG_TEST_SECRET_UNSET\n", &err));
  CHECK(err == "s.yaml:1:13: environment variable 'DG_TEST_SECRET_UNSET' (from 'alerts.secret_env') is not set or empty");
  EnvVar empty("DG_TEST_SECRET_EMPTY", "");
  CHECK_FALSE(secret_of("secret_env: DG_TEST_SECRET_EMPTY\n", &err));
  CHECK(err.find("is not set or empty") != std::string::npos);

  CHECK_FALSE(secret_of("secret_file: /nonexistent/dg-secret\n", &err));
  CHECK(err == "s.yaml:1:14: cannot read '/nonexistent/dg-secret' (from 'alerts.secret_file'): No such file or directory");
  std::ofstream(file) << "\n";
  CHECK_FALSE(secret_of("secret_file: " + file.string() + "\n", &err));
  CHECK(err == "s.yaml:1:14: file '" + file.string() + "' (from 'alerts.secret_file') is empty");
  std::filesystem::remove(file);
}

TEST_CASE("YAML syntax errors carry their position") {
  CHECK(error_of([] { load_yaml_text("a: [1, 2\n", "bad.yaml"); }).rfind("bad.yaml:", 0) == 0);
}
