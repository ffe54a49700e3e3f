#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

#include "config/policy_config.hpp"

using namespace dg::config;
using dg::detectors::Action;
using dg::detectors::FailMode;

namespace {

dg::detectors::Policy parse(const std::string& text) {
  YamlSection s(load_yaml_text(text, "p.yaml"), "p.yaml");
  return parse_policy(s);
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dg-policy-config-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

}  // namespace

TEST_CASE("policy config: the annotated example parses and means what it says", "[policy][config]") {
  PolicySource src{std::string(DG_SOURCE_DIR) + "/config/policy.example.yaml", ""};
  auto p = load_policy(src);
  CHECK_FALSE(p.shadow);
  CHECK(p.fail_mode == FailMode::Open);
  CHECK(p.allowlisted("fp:0123456789abcdef"));
  CHECK(p.key_groups.at("partners").size() == 2);
  CHECK(p.default_ttl_s == 3600);
  CHECK(p.operator_lift_grace_s == 86400);
  CHECK(p.throttle.requests_per_minute == 10);
  CHECK(p.degrade.max_tokens == 256);
  CHECK(p.block.ttl_s == 3600);
  CHECK(p.block.growth_factor == 2);
  CHECK(p.block.max_ttl_s == 7 * 86400);
  CHECK(p.escalation.block_after_offenses == 3);
  CHECK(p.output_budget.tokens == 2000000);
  REQUIRE(p.rules.size() == 6);
  CHECK(p.rules[1].name == "throttle-risky");
  CHECK(p.rules[1].action == Action::Throttle);
  CHECK(p.rules[1].ttl_s == 7200);
  CHECK(p.rules[1].throttle.requests_per_minute == 6);
  CHECK(p.rules[1].when.min_requests == 20);
  CHECK(p.rules[2].degrade.max_tokens == 16);
  CHECK(p.rules[2].degrade.strip_logprobs);  // inherited from the policy default
  CHECK(p.rules[2].output_token_budget == 50000);
  CHECK(p.rules[4].when.campaign == true);
  CHECK(p.rules[5].shadow);
  CHECK(p.rules[5].scope.tenants == std::vector<std::string>{"acme", "globex"});
  CHECK(p.rules[5].when.detectors.size() == 2);
}

TEST_CASE("policy config: errors name file:line:column", "[policy][config]") {
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    action: explode\n") ==
        "p.yaml:4:13: 'rules[0].action' must be one of shadow, throttle, degrade, block; got 'explode'");
  CHECK(error_of("shadow: maybe\n").rfind("p.yaml:1:9: 'shadow' must be a boolean", 0) == 0);
  CHECK(error_of("bogus: 1\n").find("p.yaml:1:1") == 0);
  CHECK(error_of("block:\n  ttl: 5 parsecs\n").rfind("p.yaml:2:8: 'block.ttl' must be a duration", 0) == 0);
  CHECK(error_of("allowlist: [sk-live-123]\n").rfind("p.yaml:1:13: 'allowlist' entries must be key fingerprints", 0) == 0);
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 1.5}\n    action: block\n") == "p.yaml:3:18: 'rules[0].when.risk' must be in [0, 1]");
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    action: block\n    scope: {key_groups: [nope]}\n")
            .find("unknown key group 'nope'") != std::string::npos);
  CHECK(error_of("rules:\n  - {name: a, when: {risk: 0.5}, action: block}\n  - {name: a, when: {risk: 0.5}, action: block}\n")
            .find("duplicate rule name 'a'") != std::string::npos);
  CHECK(error_of("rules:\n  - name: a\n    when: {min_requests: 3}\n    action: block\n")
            .find("needs risk, detectors or campaign") != std::string::npos);
  CHECK(error_of("on_failure: sideways\n").rfind("p.yaml:1:13: 'on_failure' must be open or closed", 0) == 0);
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    action: block\n    colour: red\n").find("colour") !=
        std::string::npos);
}

TEST_CASE("policy config: durations", "[policy][config]") {
  auto p = parse("block: {ttl: 90m, max_ttl: 2d}\ndefaults: {decision_ttl: 1500ms}\noutput_budget: {window: 30}\n");
  CHECK(p.block.ttl_s == 5400);
  CHECK(p.block.max_ttl_s == 172800);
  CHECK(p.default_ttl_s == Approx(1.5));
  CHECK(p.output_budget.window_s == 30);
  CHECK(error_of("block: {ttl: 2d, max_ttl: 1h}\n").find("must be >= ttl") != std::string::npos);
}

TEST_CASE("policy config: inline section or a separate file named by the main config", "[policy][config]") {
  auto dir = temp_dir("locate");
  write(dir / "main.yaml", "listen: {port: 8080}\npolicy:\n  shadow: true\n");
  auto src = locate_policy((dir / "main.yaml").string());
  CHECK(src.section == "policy");
  CHECK(load_policy(src).shadow);

  write(dir / "main2.yaml", "listen: {port: 8080}\npolicy:\n  file: policies/p.yaml\n");
  std::filesystem::create_directories(dir / "policies");
  write(dir / "policies/p.yaml", "on_failure: closed\n");
  src = locate_policy((dir / "main2.yaml").string());
  CHECK(src.section.empty());
  CHECK(src.file == (dir / "policies/p.yaml").string());
  CHECK(load_policy(src).fail_mode == FailMode::Closed);

  write(dir / "main3.yaml", "policy:\n  file: p.yaml\n  shadow: true\n");
  CHECK_THROWS_AS(locate_policy((dir / "main3.yaml").string()), ConfigError);

  write(dir / "main4.yaml", "listen: {port: 8080}\n");
  src = locate_policy((dir / "main4.yaml").string());
  CHECK(load_policy(src).rules.empty());
  std::filesystem::remove_all(dir);
}
