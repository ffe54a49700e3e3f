#include <catch2/catch.hpp>

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
  CHECK(error_of([&] { s.get<int>("port", 1); }) == "cfg.yaml:2:7: 'port' must be a whole number, got 'eighty'");
}

TEST_CASE("YamlSection reports unknown keys, nested ones with their path") {
  auto root = load_yaml_text("upstream:\n  url: http://x\n  tiemout: 3\n", "cfg.yaml");
  YamlSection s(root, "cfg.yaml");
  auto up = s.child("upstream");
  REQUIRE(up);
  CHECK(up->get<std::string>("url", "") == "http://x");
  CHECK(error_of([&] { up->finish(); }) == "cfg.yaml:3:3: unknown key 'upstream.tiemout'");
  CHECK_NOTHROW(s.finish());
}

TEST_CASE("YAML syntax errors carry their position") {
  CHECK(error_of([] { load_yaml_text("a: [1, 2\n", "bad.yaml"); }).rfind("bad.yaml:", 0) == 0);
}
