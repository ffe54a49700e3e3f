#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

#include "config/policy_config.hpp"
#include "detectors/policy_engine.hpp"

using namespace dg::config;
using dg::detectors::Action;
using dg::detectors::FailMode;
using dg::detectors::Rule;

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

const char* const kOneRule = "rules:\n  - {name: a, when: {risk: 0.9}, action: block}\n";

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
  CHECK(p.escalation.block_after_offenses == 0);  // shadow findings never add up to a block
  CHECK(p.output_budget.tokens == 2000000);
  REQUIRE(p.rules.size() == 9);
  auto rule = [&](const std::string& name) -> const Rule& {
    for (const auto& r : p.rules)
      if (r.name == name) return r;
    FAIL("no rule " << name);
    return p.rules.front();
  };
  CHECK(rule("watch-everything").action == Action::Shadow);
  CHECK(rule("degrade-logprob-harvesters").degrade.max_tokens == 16);
  CHECK(rule("degrade-logprob-harvesters").degrade.strip_logprobs);  // inherited from the policy default
  CHECK(rule("degrade-logprob-harvesters").output_token_budget == 50000);
  // Blocks and throttles only on evidence of the attack's nature: no rule acts
  // on risk alone (what reasoning customers, tutors and CoT evals also reach).
  for (const auto& r : p.rules) {
    INFO(r.name);
    if (r.action != Action::Shadow && !r.shadow) CHECK_FALSE(r.when.detectors.empty());
  }
  CHECK(rule("block-campaign-members").when.detectors.at(0).first == "campaign");
  // Extraction inside a customer's key: the key keeps serving, degraded.
  const auto& frames = rule("degrade-frame-rationale-harvesters");
  CHECK(frames.action == Action::Degrade);
  CHECK(frames.degrade.max_tokens == 256);
  CHECK(frames.when.detectors.at(0).first == "frame_substream");
  const auto& automated = rule("throttle-automated-long-answer-harvesters");
  CHECK(automated.action == Action::Throttle);
  CHECK(automated.ttl_s == 7200);
  CHECK(automated.throttle.requests_per_minute == 6);
  CHECK(automated.when.min_requests == 50);
  CHECK(automated.when.detectors.size() == 2);
  CHECK(rule("trial-keys-strict").shadow);
  CHECK(rule("trial-keys-strict").scope.tenants == std::vector<std::string>{"acme", "globex"});
  CHECK(rule("trial-keys-strict").when.detectors.size() == 2);
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
  write(dir / "main.yaml", "listen: {port: 8080}\npolicy:\n  shadow: true\n  allow_empty: true\n");
  auto src = locate_policy((dir / "main.yaml").string());
  CHECK(src.section == "policy");
  CHECK(load_policy(src).shadow);

  write(dir / "main2.yaml", "listen: {port: 8080}\npolicy:\n  file: policies/p.yaml\n");
  std::filesystem::create_directories(dir / "policies");
  write(dir / "policies/p.yaml", "on_failure: closed\nallow_empty: true\n");
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

namespace {

std::string file_error(const std::string& text, const std::string& section = "") {
  try {
    parse_policy_node(load_yaml_text(text, "f.yaml"), PolicySource{"f.yaml", section});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("policy config: an unknown detector name is an error with a suggestion", "[policy][config][didyoumean]") {
  // It used to pass: the rule could then never match.
  CHECK(error_of("rules:\n  - name: a\n    when: {detectors: {logprob_harvest: 0.8}}\n    action: degrade\n") ==
        "p.yaml:3:24: unknown detector 'logprob_harvest' in 'rules[0].when.detectors' (did you mean "
        "'logprob_harvesting'?)");
  // No close name: the known ones are listed, taken from the engine.
  std::string known;
  for (auto n : dg::detectors::rule_detector_names()) known += (known.empty() ? "" : ", ") + std::string(n);
  CHECK(known.find("campaign") != std::string::npos);
  CHECK(error_of("rules:\n  - name: a\n    when: {detectors: {telepathy: 0.8}}\n    action: block\n") ==
        "p.yaml:3:24: unknown detector 'telepathy' in 'rules[0].when.detectors' (known: " + known + ")");
  // Every name the engine produces is accepted.
  for (auto n : dg::detectors::rule_detector_names())
    CHECK(error_of("rules:\n  - name: a\n    when: {detectors: {" + std::string(n) + ": 0.5}}\n    action: block\n")
              .empty());
}

TEST_CASE("policy config: a misspelled key is named as such, not only as what is missing", "[policy][config][didyoumean]") {
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    acton: block\n") ==
        "p.yaml:4:5: unknown key 'rules[0].acton' (did you mean 'action'?)");
  CHECK(error_of("rules:\n  - name: a\n    wehn: {risk: 0.5}\n    action: block\n") ==
        "p.yaml:3:5: unknown key 'rules[0].wehn' (did you mean 'when'?)");
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    action: block\n    shadw: true\n") ==
        "p.yaml:5:5: unknown key 'rules[0].shadw' (did you mean 'shadow'?)");
  CHECK(error_of("shaddow: true\n") == "p.yaml:1:1: unknown key 'shaddow' (did you mean 'shadow'?)");
  CHECK(error_of("rules:\n  - name: a\n    when: {risk: 0.5}\n    action: block\n    scope: {key_groups: [partner]}\n"
                 "key_groups: {partners: []}\n")
            .find("unknown key group 'partner' (did you mean 'partners'?)") != std::string::npos);
}

TEST_CASE("policy config: every error of a policy in one throw, sorted by line", "[policy][config]") {
  const auto err = error_of(
      "shadow: maybe\n"
      "rules:\n"
      "  - {name: a, when: {risk: 2}, action: block}\n"
      "  - {name: b, when: {detectors: {volumee: 0.5}}, acton: block}\n"
      "  - {name: c, when: {risk: 0.5}, action: block, ttl: forever}\n"
      "block: {ttl: 2h, max_ttl: 1h}\n"
      "bogus: 1\n");
  CHECK(err ==
        "p.yaml:1:9: 'shadow' must be a boolean (true/false), got 'maybe'\n"
        "p.yaml:3:28: 'rules[0].when.risk' must be in [0, 1]\n"
        "p.yaml:4:34: unknown detector 'volumee' in 'rules[1].when.detectors' (did you mean 'volume'?)\n"
        "p.yaml:4:50: unknown key 'rules[1].acton' (did you mean 'action'?)\n"
        "p.yaml:5:54: 'rules[2].ttl' must be a duration: seconds, or a number with ms, s, m, h or d (e.g. 30s, 2h)\n"
        "p.yaml:6:27: 'block.max_ttl' must be >= ttl\n"
        "p.yaml:7:1: unknown key 'bogus'");
}

TEST_CASE("policy file: empty or rule-less is an error unless allow_empty", "[policy][config][empty]") {
  CHECK(file_error("") == "f.yaml:1:1: the policy file is empty (no settings); a policy without rules needs "
                          "'allow_empty: true'");
  CHECK(file_error("# all rules removed\n").starts_with("f.yaml:1:1: the policy file is empty"));
  CHECK(file_error("shadow: true\n") ==
        "f.yaml:1:1: the policy has no rules, so nothing would ever be enforced; add rules, or set "
        "'allow_empty: true' to run without any");
  CHECK(file_error("shadow: true\nrules: []\n").starts_with("f.yaml:2:8: the policy has no rules"));
  CHECK(file_error("shadow: true\nrules:\n").starts_with("f.yaml:2:"));
  CHECK(file_error("allow_empty: true\n").empty());
  CHECK(file_error("allow_empty: true\nrules: []\n").empty());
  CHECK(file_error(kOneRule).empty());
  // Inline in the main config: the same, and an empty `policy:` section too.
  CHECK(file_error("listen: {port: 1}\npolicy:\n  shadow: true\n", "policy") ==
        "f.yaml:3:3: 'policy' has no rules, so nothing would ever be enforced; add rules, or set "
        "'allow_empty: true' to run without any");
  CHECK(file_error("listen: {port: 1}\npolicy:\n", "policy").starts_with("f.yaml:2:1: 'policy' is empty"));
  CHECK(file_error("listen: {port: 1}\npolicy: {allow_empty: true}\n", "policy").empty());
  CHECK(file_error("listen: {port: 1}\n", "policy").empty());  // no policy section: nothing to enforce
  // Rules that fail to parse are reported as themselves, not as "no rules".
  CHECK(file_error("rules:\n  - {name: a, when: {risk: 0.5}, action: zap}\n").find("no rules") == std::string::npos);
  // parse_policy itself (the building block) does not require rules.
  CHECK(error_of("shadow: true\n").empty());
}
