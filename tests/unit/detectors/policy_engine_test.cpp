#include <catch2/catch.hpp>

#include <map>

#include "detectors/policy_engine.hpp"

using namespace dg::detectors;

namespace {

const std::string kFp = "fp:00000000000000aa";
const std::string kOther = "fp:00000000000000bb";

/// The latest decision per key, as the decision table keeps it.
struct MemoryView final : DecisionView {
  std::map<std::string, Decision, std::less<>> latest_;
  std::optional<Decision> latest(std::string_view fp) const override {
    auto it = latest_.find(fp);
    if (it == latest_.end()) return std::nullopt;
    return it->second;
  }
  void put(const Decision& d) { latest_[d.key_fp] = d; }
};

KeyAssessment assess(const std::string& fp, double risk, std::vector<Finding> scores = {}, std::string campaign = {}) {
  KeyAssessment a;
  a.key_fp = fp;
  a.risk = risk;
  a.scores = scores;
  for (auto& s : scores)
    if (s.score >= 0.5) a.findings.push_back({s.detector, s.score, {"evidence of " + s.detector}});
  a.campaign = std::move(campaign);
  a.request_index = 100;
  return a;
}

Rule rule(std::string name, Action action, double min_risk) {
  Rule r;
  r.name = std::move(name);
  r.action = action;
  r.when.min_risk = min_risk;
  return r;
}

Policy base_policy() {
  Policy p;
  p.rules.push_back(rule("watch", Action::Shadow, 0.5));
  p.rules.push_back(rule("throttle", Action::Throttle, 0.7));
  p.rules.push_back(rule("block", Action::Block, 0.9));
  p.rules[1].throttle = {6, 2};
  p.block = {100, 2, 350};
  p.default_ttl_s = 50;
  return p;
}

}  // namespace

TEST_CASE("policy: the most severe matching rule wins", "[policy]") {
  const Policy p = base_policy();
  MemoryView view;
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.4), "", 10, view));

  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.6), "", 10, view);
  REQUIRE(d);
  CHECK(d->action == Action::Shadow);
  CHECK(d->rule == "watch");

  d = PolicyEngine::evaluate(p, assess(kFp, 0.75), "", 10, view);
  REQUIRE(d);
  CHECK(d->action == Action::Throttle);
  CHECK(d->throttle_rpm == 6);
  CHECK(d->throttle_burst == 2);
  CHECK(d->expires == 60);
  CHECK(d->origin == Origin::Detector);
  CHECK(d->reason.find("risk 0.75 >= 0.70") != std::string::npos);

  d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 10, view);
  REQUIRE(d);
  CHECK(d->action == Action::Block);
  CHECK(d->expires == 110);
  CHECK(d->block_count == 1);
}

TEST_CASE("policy: detector scores and campaign membership", "[policy]") {
  Policy p;
  Rule r;
  r.name = "logprobs";
  r.action = Action::Degrade;
  r.when.detectors = {{"logprob_harvesting", 0.8}};
  p.rules.push_back(r);
  Rule c;
  c.name = "campaign";
  c.action = Action::Block;
  c.when.campaign = true;
  c.when.min_risk = 0.3;
  p.rules.push_back(c);
  MemoryView view;

  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.2, {{"logprob_harvesting", 0.7, {}}}), "", 1, view));
  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.2, {{"logprob_harvesting", 0.85, {}}}), "", 1, view);
  REQUIRE(d);
  CHECK(d->action == Action::Degrade);
  REQUIRE_FALSE(d->evidence.empty());
  CHECK(d->evidence[0] == "logprob_harvesting: evidence of logprob_harvesting");

  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.4), "", 1, view));
  d = PolicyEngine::evaluate(p, assess(kFp, 0.4, {}, "c-17"), "", 1, view);
  REQUIRE(d);
  CHECK(d->action == Action::Block);
  CHECK(d->campaign == "c-17");
}

TEST_CASE("policy: scopes by tenant and key group", "[policy]") {
  Policy p;
  p.key_groups["trial"] = {kFp};
  Rule r = rule("trial", Action::Block, 0.5);
  r.scope.tenants = {"acme"};
  r.scope.key_groups = {"trial"};
  p.rules.push_back(r);
  MemoryView view;
  CHECK(PolicyEngine::evaluate(p, assess(kFp, 0.9), "acme", 1, view));
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.9), "globex", 1, view));
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kOther, 0.9), "acme", 1, view));
}

TEST_CASE("policy: allowlisted keys are never actioned", "[policy]") {
  Policy p = base_policy();
  p.allowlist.insert(kFp);
  MemoryView view;
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 1.0), "", 1, view));
  CHECK(PolicyEngine::evaluate(p, assess(kOther, 1.0), "", 1, view));
}

TEST_CASE("policy: shadow globally and per rule records the intended action", "[policy]") {
  Policy p = base_policy();
  p.shadow = true;
  MemoryView view;
  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 1, view);
  REQUIRE(d);
  CHECK(d->action == Action::Shadow);
  CHECK(d->intended == Action::Block);
  CHECK(d->block_count == 0);

  p.shadow = false;
  p.rules[2].shadow = true;  // only the block rule is shadowed
  d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 1, view);
  REQUIRE(d);
  // A shadowed rule never weakens enforcement: the real throttle applies.
  CHECK(d->action == Action::Throttle);
  CHECK(d->rule == "throttle");

  // Only shadowed rules match: shadow with the intended action.
  p.rules.erase(p.rules.begin() + 1);
  d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 1, view);
  REQUIRE(d);
  CHECK(d->action == Action::Shadow);
  CHECK(d->intended == Action::Block);
}

TEST_CASE("policy: repeat offenders get longer blocks up to the cap", "[policy]") {
  const Policy p = base_policy();  // block ttl 100, growth 2, cap 350
  MemoryView view;
  double now = 1000;
  std::vector<double> ttls;
  for (int i = 0; i < 4; ++i) {
    auto d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", now, view);
    REQUIRE(d);
    REQUIRE(d->action == Action::Block);
    ttls.push_back(d->expires - now);
    CHECK(d->offense_count == static_cast<std::uint32_t>(i + 1));
    view.put(*d);
    // While the block holds, nothing changes.
    CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.99), "", now + 1, view));
    now = d->expires + 1;
  }
  CHECK(ttls == std::vector<double>{100, 200, 350, 350});
}

TEST_CASE("policy: escalation memory forgets old offenses", "[policy]") {
  Policy p = base_policy();
  p.escalation.memory_s = 1000;
  MemoryView view;
  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 0, view);
  view.put(*d);
  d = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 5000, view);
  REQUIRE(d);
  CHECK(d->offense_count == 1);
  CHECK(d->expires - 5000 == 100);
}

TEST_CASE("policy: block_after_offenses turns a repeat throttle into a block", "[policy]") {
  Policy p = base_policy();
  p.escalation.block_after_offenses = 2;
  MemoryView view;
  double now = 0;
  std::vector<Action> actions;
  for (int i = 0; i < 3; ++i) {
    auto d = PolicyEngine::evaluate(p, assess(kFp, 0.75), "", now, view);
    REQUIRE(d);
    actions.push_back(d->action);
    view.put(*d);
    now = d->expires + 1;
  }
  CHECK(actions == std::vector<Action>{Action::Throttle, Action::Throttle, Action::Block});
}

TEST_CASE("policy: no downgrade while active, upgrade allowed", "[policy]") {
  const Policy p = base_policy();
  MemoryView view;
  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.75), "", 0, view);
  REQUIRE(d);
  view.put(*d);
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.75), "", 1, view));  // same action: no repeat
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.55), "", 1, view));  // shadow would downgrade
  auto up = PolicyEngine::evaluate(p, assess(kFp, 0.95), "", 2, view);
  REQUIRE(up);
  CHECK(up->action == Action::Block);
  CHECK(up->offense_count == 2);
}

TEST_CASE("policy: an operator decision wins until it ends", "[policy]") {
  const Policy p = base_policy();
  MemoryView view;
  auto lift = PolicyEngine::operator_decision(p, kFp, Action::Allow, "false positive", 0, 100);
  CHECK(lift.origin == Origin::Operator);
  CHECK(lift.offense_count == 0);
  view.put(lift);
  CHECK_FALSE(PolicyEngine::evaluate(p, assess(kFp, 0.99), "", 50, view));
  auto d = PolicyEngine::evaluate(p, assess(kFp, 0.99), "", 150, view);
  REQUIRE(d);
  CHECK(d->action == Action::Block);
  CHECK(d->offense_count == 1);  // the lift forgave earlier offenses

  auto block = PolicyEngine::operator_decision(p, kFp, Action::Block, "manual", 0);
  CHECK(block.expires == p.block.ttl_s);
  auto forever = PolicyEngine::operator_decision(p, kFp, Action::Block, "manual", 0, 0.0);
  CHECK(forever.expires == 0);
  CHECK(forever.active(1e12));
}

TEST_CASE("policy: the engine swaps snapshots atomically", "[policy]") {
  PolicyEngine engine(std::make_shared<const Policy>(base_policy()));
  MemoryView view;
  CHECK(engine.evaluate(assess(kFp, 0.95), "", 1, view));
  auto empty = std::make_shared<Policy>();
  empty->version = 7;
  engine.set_policy(empty);
  CHECK(engine.policy()->version == 7);
  CHECK_FALSE(engine.evaluate(assess(kFp, 0.95), "", 1, view));
}
