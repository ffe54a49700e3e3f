#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>

#include "gateway/decisions/decision_json.hpp"
#include "gateway/net/openai_error.hpp"
#include "gateway/enforce/degrade_rewrite.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/traffic/request_features.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::Decision;
using dg::detectors::KeyAssessment;
using dg::detectors::Policy;
using dg::detectors::PolicyEngine;
namespace json = boost::json;

namespace {

const std::string kBad = "fp:00000000000000e1";
const std::string kGood = "fp:00000000000000e2";

/// Scripted detection: a fixed risk per key; can be told to throw.
struct FakeDetection final : AssessmentSource {
  std::map<std::string, double> risk;
  bool fail = false;
  int observed = 0;
  std::vector<std::uint64_t> signatures;  // template signatures seen by observe
  std::optional<dg::detectors::PromptFeatures> analyze(const dg::detectors::PromptText& text) const override {
    dg::detectors::PromptFeatures f;
    f.template_signature = text.last_user.size();
    return f;
  }
  KeyAssessment observe(const dg::detectors::Exchange& ex) override {
    if (fail) throw std::runtime_error("engine unavailable");
    signatures.push_back(ex.request.prompt.template_signature);
    ++observed;
    return peek(ex.key_fp, ex.ts);
  }
  KeyAssessment peek(const std::string& fp, double) const override {
    KeyAssessment a;
    a.key_fp = fp;
    auto it = risk.find(fp);
    a.risk = it == risk.end() ? 0 : it->second;
    a.findings.push_back({"reasoning_elicitation", a.risk, {"asks for the reasoning"}});
    a.request_index = 50;
    return a;
  }
};

std::shared_ptr<Policy> policy_with_rules() {
  auto p = std::make_shared<Policy>();
  dg::detectors::Rule t;
  t.name = "throttle";
  t.action = Action::Throttle;
  t.when.min_risk = 0.7;
  t.throttle = {60, 2};
  dg::detectors::Rule b;
  b.name = "block";
  b.action = Action::Block;
  b.when.min_risk = 0.9;
  p->rules = {t, b};
  p->block.ttl_s = 600;
  return p;
}

struct Fixture {
  std::filesystem::path dir;
  PolicyEngine policy{policy_with_rules()};
  std::unique_ptr<DecisionStore> store;
  FakeDetection detection;
  std::unique_ptr<Enforcer> enforcer;

  explicit Fixture(bool journal = false, std::size_t max_keys = Enforcer::kDefaultMaxKeys) {
    DecisionStoreOptions o;
    if (journal) {
      dir = std::filesystem::temp_directory_path() / ("dg-enforcer-" + std::to_string(::getpid()));
      std::filesystem::remove_all(dir);
      std::filesystem::create_directories(dir);
      o.journal.path = (dir / "decisions.jsonl").string();
      o.journal.fsync = FsyncPolicy::Never;
    }
    store = std::make_unique<DecisionStore>(o);
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store->open(0, w, e));
    enforcer = std::make_unique<Enforcer>(policy, *store, &detection, max_keys);
  }
  ~Fixture() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }

  GateVerdict request(const std::string& fp, double now, std::string_view body = {},
                      std::string_view path = "/v1/chat/completions") {
    RequestInfo info;
    info.now = now;
    info.key_fp = fp;
    info.path = path;
    info.method = "POST";
    info.body = body;
    RequestState state;
    enforcer->on_request(info, state);
    return std::move(state.verdict);
  }

  /// The head hook's verdict (the body not read yet).
  GateVerdict head(const std::string& fp, double now) {
    RequestInfo info;
    info.now = now;
    info.key_fp = fp;
    info.path = "/v1/chat/completions";
    info.method = "POST";
    RequestState state;
    enforcer->on_head(info, state);
    return std::move(state.verdict);
  }

  void exchange(const std::string& fp, double ts, std::uint64_t completion_tokens = 10,
                const RequestState& state = {}) {
    dg::detectors::Exchange ex;
    ex.ts = ts;
    ex.key_fp = fp;
    ex.response.status = 200;
    ex.response.completion_tokens = completion_tokens;
    enforcer->on_exchange(ex, state);
  }

  void operator_decision(const std::string& fp, Action a, double now) {
    auto d = PolicyEngine::operator_decision(*policy.policy(), fp, a, "test", now);
    d.throttle_rpm = 60;
    d.throttle_burst = 2;
    store->apply(d, "operator", now);
  }
};

std::string header(const GateVerdict& v, std::string_view name) {
  for (const auto& [k, val] : v.headers)
    if (k == name) return val;
  return "<absent>";
}

}  // namespace

TEST_CASE("enforcer: throttle answers 429 with Retry-After and x-ratelimit headers", "[enforcer]") {
  Fixture f;
  f.operator_decision(kBad, Action::Throttle, 100);
  CHECK(f.request(kBad, 100).kind == GateVerdict::Kind::Forward);
  CHECK(f.request(kBad, 100).action == GateAction::Throttle);
  auto v = f.request(kBad, 100);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 429);
  CHECK(v.error_type == "rate_limit_exceeded");
  CHECK(header(v, "Retry-After") == "1");
  CHECK(header(v, "retry-after-ms") == "1000");
  CHECK(header(v, "x-ratelimit-limit-requests") == "60");
  CHECK(header(v, "x-ratelimit-remaining-requests") == "0");
  CHECK(header(v, "x-ratelimit-reset-requests") == "2s");
  CHECK(f.enforcer->stats().throttled == 1);
  CHECK(f.request(kBad, 101).kind == GateVerdict::Kind::Forward);  // one token back after 1 s
  CHECK(f.request(kGood, 101).kind == GateVerdict::Kind::Forward);
}

TEST_CASE("enforcer: block answers 403 permission_denied with the remaining TTL", "[enforcer]") {
  Fixture f;
  f.operator_decision(kBad, Action::Block, 100);  // policy block ttl 600 s
  auto v = f.request(kBad, 160);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 403);
  CHECK(v.error_type == "permission_denied");
  CHECK(v.error_code == "key_blocked");
  CHECK(v.message.find("9m0s") != std::string::npos);
  CHECK(header(v, "Retry-After") == "540");
  CHECK(f.request(kBad, 701).kind == GateVerdict::Kind::Forward);  // expired
}

TEST_CASE("enforcer: the head hook refuses a costly body of what any body would be refused for, and takes nothing",
          "[enforcer][hardening]") {
  Fixture f;
  // Unknown, allowed and anonymous keys: nothing on the head, nothing counted.
  CHECK(f.head(kGood, 100).kind == GateVerdict::Kind::Forward);
  CHECK(f.head("", 100).kind == GateVerdict::Kind::Forward);
  CHECK(f.enforcer->stats().requests == 0);

  // A block: refused on the head, counted once.
  f.operator_decision(kBad, Action::Block, 100);
  auto v = f.head(kBad, 160);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 403);
  CHECK(v.error_code == "key_blocked");
  CHECK(header(v, "Retry-After") == "540");
  CHECK(f.enforcer->stats().requests == 1);
  CHECK(f.enforcer->stats().blocked == 1);

  // A throttle (burst 2): peeking on the head takes no token, so a head
  // check before each of two requests still lets both through.
  f.operator_decision(kGood, Action::Throttle, 100);
  for (int i = 0; i < 2; ++i) {
    CHECK(f.head(kGood, 100).kind == GateVerdict::Kind::Forward);
    CHECK(f.head(kGood, 100).kind == GateVerdict::Kind::Forward);
    CHECK(f.request(kGood, 100).kind == GateVerdict::Kind::Forward);
  }
  // Spent: refused on the head with the rate-limit headers.
  CHECK(f.enforcer->stats().throttled == 0);
  v = f.head(kGood, 100);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 429);
  CHECK(header(v, "x-ratelimit-remaining-requests") == "0");
  CHECK(f.enforcer->stats().throttled == 1);
  CHECK(f.request(kGood, 101).kind == GateVerdict::Kind::Forward);  // one token back after 1 s

  // A degrade and a shadow need the body: the head passes, nothing counted.
  const std::string other = "fp:00000000000000e3";
  f.operator_decision(other, Action::Degrade, 100);
  CHECK(f.head(other, 100).kind == GateVerdict::Kind::Forward);
  CHECK(f.enforcer->stats().degraded == 0);
}

TEST_CASE("enforcer: a spent output budget is refused on the head and an exchange refused there teaches nothing",
          "[enforcer][budget][hardening]") {
  Fixture f;
  auto p = std::make_shared<Policy>();
  p->output_budget = {100, 60};
  f.policy.set_policy(p);
  CHECK(f.head(kBad, 0).kind == GateVerdict::Kind::Forward);
  f.exchange(kBad, 1, 150);
  auto v = f.head(kBad, 2);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.error_code == "output_token_budget_exceeded");
  CHECK(f.enforcer->stats().budget_rejected == 1);

  const int observed = f.detection.observed;
  RequestState refused;
  refused.refused_on_head = true;
  refused.verdict = v;
  f.exchange(kBad, 3, 0, refused);
  CHECK(f.detection.observed == observed);  // detection did not see the empty request
  f.exchange(kBad, 4, 0);
  CHECK(f.detection.observed == observed + 1);
}

TEST_CASE("enforcer: degrade really strips the distillable parameters", "[enforcer][degrade]") {
  Fixture f;
  f.operator_decision(kBad, Action::Degrade, 100);  // policy degrade cap 256
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":20,)"
      R"("logit_bias":{"1234":100},"n":8,"max_tokens":4096,"max_completion_tokens":100,"temperature":0})";
  auto v = f.request(kBad, 100, body);
  REQUIRE(v.kind == GateVerdict::Kind::Forward);
  CHECK(v.action == GateAction::Degrade);
  REQUIRE(v.rewritten_body);
  auto o = json::parse(*v.rewritten_body).as_object();
  CHECK_FALSE(o.contains("logprobs"));
  CHECK_FALSE(o.contains("top_logprobs"));
  CHECK_FALSE(o.contains("logit_bias"));
  CHECK(o.at("n").as_int64() == 1);
  CHECK(o.at("max_tokens").as_int64() == 256);
  CHECK(o.at("max_completion_tokens").as_int64() == 100);  // already under the cap
  CHECK(o.at("messages").as_array().size() == 1);
  CHECK(o.at("temperature").as_int64() == 0);

  // Not a JSON object: it cannot be degraded, so it is refused, not forwarded.
  const auto refused = f.request(kBad, 100, "not json");
  CHECK(refused.kind == GateVerdict::Kind::Reject);
  CHECK(refused.status == 400);
  CHECK_FALSE(refused.rewritten_body);
  // The undegraded key is untouched.
  CHECK_FALSE(f.request(kGood, 100, body).rewritten_body);
}

TEST_CASE("degrade: adds a cap when none is given, per endpoint", "[enforcer][degrade]") {
  dg::detectors::DegradeParams p;
  p.max_tokens = 64;
  auto chat = json::parse(*degrade_body("/v1/chat/completions", R"({"messages":[]})", p)).as_object();
  CHECK(chat.at("max_tokens").as_int64() == 64);
  auto resp = json::parse(*degrade_body("/v1/responses",
                                        R"({"input":"x","top_logprobs":5,"include":["message.output_text.logprobs","reasoning.encrypted_content"]})",
                                        p))
                  .as_object();
  CHECK(resp.at("max_output_tokens").as_int64() == 64);
  CHECK_FALSE(resp.contains("top_logprobs"));
  CHECK(resp.at("include").as_array().size() == 1);
  auto emb = json::parse(*degrade_body("/v1/embeddings", R"({"input":"x"})", p)).as_object();
  CHECK_FALSE(emb.contains("max_tokens"));
}

TEST_CASE("degrade: no nesting depth or number magnitude lets the distillable fields through", "[enforcer][degrade]") {
  // Each of these bodies used to make the rewrite fail (boost::json: depth 32,
  // exponent overflow), and the body was then forwarded with its logprobs.
  dg::detectors::DegradeParams p;
  p.max_tokens = 64;
  std::string deep;
  for (int i = 0; i < 33; ++i) deep += "[";
  for (int i = 0; i < 33; ++i) deep += "]";
  for (const std::string& pad : {deep, std::string("1e9999999999"), std::string("-1e-99999999999"), std::string("NaN")}) {
    const std::string body = R"({"model":"m","pad":)" + pad +
                             R"(,"logprobs":true,"top_logprobs":20,"n":8,"max_tokens":1e9999,"logit_bias":{"1":100},)"
                             R"("messages":[{"role":"user","content":"x"}]})";
    const auto out = degrade_body("/v1/chat/completions", body, p);
    REQUIRE(out);
    CHECK(out->find("logprobs") == std::string::npos);
    CHECK(out->find("logit_bias") == std::string::npos);
    CHECK(out->find(R"("n":1)") != std::string::npos);
    CHECK(out->find(R"("max_tokens":64)") != std::string::npos);
    CHECK(out->find(R"("pad":)" + pad) != std::string::npos);  // copied as sent
  }
}

TEST_CASE("degrade: escaped and duplicate keys are handled as the upstream reads them", "[enforcer][degrade]") {
  dg::detectors::DegradeParams p;
  p.max_tokens = 64;
  const auto out = degrade_body("/v1/chat/completions",
                                R"({"logprobs":true,"top_logprobs":5,"top_logprobs":20,"n":4,"n":9,)"
                                R"("max_tokens":10,"max_tokens":100000,"messages":[]})",
                                p);
  REQUIRE(out);
  auto o = json::parse(*out).as_object();  // boost::json keeps the last duplicate
  CHECK_FALSE(o.contains("logprobs"));
  CHECK(out->find("log\u0070robs") == std::string::npos);
  CHECK_FALSE(o.contains("top_logprobs"));
  CHECK(o.at("n").as_int64() == 1);
  CHECK(o.at("max_tokens").as_int64() == 64);
  CHECK(out->find(R"("max_tokens":10,)") != std::string::npos);  // under the cap: kept as sent
}

TEST_CASE("degrade: an Anthropic thinking budget the cap cannot hold is dropped", "[enforcer][degrade]") {
  dg::detectors::DegradeParams p;
  p.max_tokens = 256;
  auto big = json::parse(*degrade_body("/v1/messages",
                                       R"({"max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000},"messages":[]})", p))
                 .as_object();
  CHECK(big.at("max_tokens").as_int64() == 256);
  CHECK_FALSE(big.contains("thinking"));  // budget_tokens must stay below max_tokens
  auto off = json::parse(*degrade_body("/v1/messages", R"({"max_tokens":100,"thinking":{"type":"disabled"},"messages":[]})", p))
                 .as_object();
  CHECK(off.contains("thinking"));
}

TEST_CASE("degrade: what is not one JSON object cannot be rewritten", "[enforcer][degrade]") {
  dg::detectors::DegradeParams p;
  for (const std::string_view bad : {"not json", "[1,2]", R"({"a":1,})", R"({"a":1}{"b":2})", R"({"a":[1,2})", R"({"a" 1})",
                                     "{\"a\":\"unterminated}", "", R"({"\x":1})"})
    CHECK_FALSE(degrade_body("/v1/chat/completions", bad, p));
  CHECK(degrade_body("/v1/chat/completions", " {} ", p));
}

TEST_CASE("enforcer: detection creates a block, the benign key keeps going", "[enforcer]") {
  Fixture f(true);
  f.detection.risk[kBad] = 0.8;
  f.detection.risk[kGood] = 0.1;
  f.exchange(kBad, 10);
  f.exchange(kGood, 10);
  auto d = f.store->table().active(kBad, 11);
  REQUIRE(d);
  CHECK(d->action == Action::Throttle);
  CHECK(d->rule == "throttle");
  CHECK(d->evidence.size() == 1);
  CHECK_FALSE(f.store->table().active(kGood, 11));

  f.detection.risk[kBad] = 0.95;
  f.exchange(kBad, 12);
  auto v = f.request(kBad, 13);
  CHECK(v.status == 403);
  CHECK(f.request(kGood, 13).kind == GateVerdict::Kind::Forward);
  CHECK(f.enforcer->stats().decisions == 2);

  // Journaled (by the store's writer, once flushed): a fresh store sees the block.
  f.store->flush();
  DecisionStoreOptions o;
  o.journal.path = (f.dir / "decisions.jsonl").string();
  DecisionStore reopened(o);
  std::vector<std::string> w;
  std::string e;
  REQUIRE(reopened.open(14, w, e));
  REQUIRE(reopened.table().active(kBad, 14));
  CHECK(reopened.table().active(kBad, 14)->action == Action::Block);
}

TEST_CASE("enforcer: an operator lift takes effect on the next request and holds", "[enforcer]") {
  Fixture f;
  f.detection.risk[kBad] = 0.95;
  f.exchange(kBad, 10);
  CHECK(f.request(kBad, 11).status == 403);
  f.operator_decision(kBad, Action::Allow, 12);
  CHECK(f.request(kBad, 12).kind == GateVerdict::Kind::Forward);
  f.exchange(kBad, 13);  // detection still says 0.95, but the lift holds
  CHECK(f.request(kBad, 14).kind == GateVerdict::Kind::Forward);
}

TEST_CASE("enforcer: per-key state obeys the configured key cap, least recently seen first", "[enforcer][hardening]") {
  // Issue #12.8: its own cap of 64 x 16,384 let 50,000 keys grow RSS past
  // detection.store.max_keys = 1,000, with an O(16k) scan once a shard filled.
  Fixture f(false, 1000);
  auto p = std::make_shared<Policy>();
  p->output_budget = {100, 60};
  f.policy.set_policy(p);
  CHECK(f.enforcer->key_capacity() <= 1000);
  auto fp = [](int i) {
    char b[32];
    std::snprintf(b, sizeof b, "fp:%016x", i);
    return std::string(b);
  };
  for (int i = 0; i < 50000; ++i) {
    f.request(fp(i), i * 0.001);
    f.exchange(fp(i), i * 0.001, 1);
  }
  CHECK(f.enforcer->keys_tracked() <= 1000);
  CHECK(f.enforcer->keys_tracked() >= 900);  // the cap is used, not collapsed
  CHECK(f.enforcer->stats().keys_evicted.load() >= 49000);
  // A key kept busy is the most recent of its shard and keeps its state while
  // 50,000 others come and go: its budget is still being counted.
  const std::string busy = "fp:00000000000b0b0b";
  for (int i = 0; i < 50000; ++i) {
    if (i % 8 == 0) f.exchange(busy, 100 + i * 0.0001, i < 8 * 90 ? 1 : 0);
    f.exchange(fp(100000 + i), 100 + i * 0.0001, 1);
  }
  CHECK(f.enforcer->budget_used(busy, 106) == Approx(90).margin(1));
  CHECK(f.enforcer->keys_tracked() <= 1000);
}

TEST_CASE("enforcer: output-token budget per sliding window", "[enforcer][budget]") {
  Fixture f;
  auto p = std::make_shared<Policy>();
  p->output_budget = {100, 60};
  p->allowlist.insert(kGood);
  f.policy.set_policy(p);
  auto v = f.request(kBad, 0);
  REQUIRE(v.output_token_budget);
  CHECK(*v.output_token_budget == 100);
  f.exchange(kBad, 1, 80);
  v = f.request(kBad, 2);
  REQUIRE(v.output_token_budget);
  CHECK(*v.output_token_budget == 20);
  f.exchange(kBad, 3, 30);  // the stream was cut at the budget, usage may overshoot a little
  v = f.request(kBad, 4);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 429);
  CHECK(v.error_code == "output_token_budget_exceeded");
  CHECK(header(v, "Retry-After") != "<absent>");
  // Two windows later everything has slid out.
  CHECK(f.request(kBad, 130).kind == GateVerdict::Kind::Forward);
  // Allowlisted keys have no budget.
  f.exchange(kGood, 1, 1000);
  CHECK_FALSE(f.request(kGood, 2).output_token_budget);
}

TEST_CASE("enforcer: streams in flight share their key's output budget", "[enforcer][budget]") {
  Fixture f;
  auto p = std::make_shared<Policy>();
  p->output_budget = {100, 60};
  f.policy.set_policy(p);
  // Three streams admitted at once: each sees the whole budget at admission.
  auto a = f.request(kBad, 0), b = f.request(kBad, 0), c = f.request(kBad, 0);
  REQUIRE(a.stream_budget);
  REQUIRE(b.stream_budget);
  REQUIRE(c.stream_budget);
  CHECK(*b.output_token_budget == 100);
  // As they relay, what one spends the others lose.
  CHECK(a.stream_budget->allowance(0) == 100);
  CHECK(a.stream_budget->allowance(60) == 100);  // 60 relayed, 40 left for anyone
  CHECK(b.stream_budget->allowance(0) == 40);
  CHECK(b.stream_budget->allowance(30) == 40);   // 30 relayed, 10 left
  CHECK(c.stream_budget->allowance(0) == 10);
  CHECK(c.stream_budget->allowance(10) == 10);   // spent: c stops at 10
  CHECK(a.stream_budget->allowance(60) == 60);   // and so does a
  // A new request while they are in flight is refused.
  auto d = f.request(kBad, 1);
  CHECK(d.kind == GateVerdict::Kind::Reject);
  CHECK(d.error_code == "output_token_budget_exceeded");
  CHECK(f.enforcer->budget_used(kBad, 1) == Approx(100));
  // Finished: the exchanges count in the window, the claims end.
  f.exchange(kBad, 2, 60);
  f.exchange(kBad, 2, 30);
  f.exchange(kBad, 2, 10);
  a = b = c = GateVerdict{};
  CHECK(f.enforcer->budget_used(kBad, 2) == Approx(100));
  CHECK(f.request(kBad, 3).kind == GateVerdict::Kind::Reject);
  // Only streams take a claim: a JSON request without "stream" gets the
  // admission remainder alone (no shared object, no lock when it ends).
  for (const auto& [body, streams] : {std::pair{R"({"model":"m","stream":true})", true},
                                      std::pair{R"({"model":"m"})", false}}) {
    const auto extracted = extract_request_features("/v1/chat/completions", std::string_view(body));
    RequestInfo info;
    info.now = 0;
    info.key_fp = kGood;
    info.method = "POST";
    info.path = "/v1/chat/completions";
    info.request = &extracted;
    info.body = body;
    RequestState state;
    f.enforcer->on_request(info, state);
    const auto& v = state.verdict;
    REQUIRE(v.output_token_budget);
    CHECK(static_cast<bool>(v.stream_budget) == streams);
  }
  // A stream cut before relaying anything leaves no claim behind.
  f.exchange(kGood, 0, 0);
  {
    auto e = f.request(kGood, 0);
    REQUIRE(e.stream_budget);
    CHECK(e.stream_budget->allowance(0) == 100);
  }
  CHECK(f.enforcer->budget_used(kGood, 0) == Approx(0));
}

TEST_CASE("enforcer: fail-open serves, fail-closed refuses while detection fails", "[enforcer]") {
  Fixture f;
  f.detection.fail = true;
  f.exchange(kBad, 100);
  CHECK(f.enforcer->stats().detection_failures == 1);
  CHECK(f.request(kBad, 101).kind == GateVerdict::Kind::Forward);  // open by default

  auto closed = std::make_shared<Policy>(*f.policy.policy());
  closed->fail_mode = dg::detectors::FailMode::Closed;
  f.policy.set_policy(closed);
  auto v = f.request(kBad, 101);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 503);
  CHECK(f.enforcer->stats().fail_closed_rejected == 1);
  // Recovered after the hold time and a good observation.
  f.detection.fail = false;
  CHECK(f.request(kBad, 100 + Enforcer::kFailureHoldS + 1).kind == GateVerdict::Kind::Forward);
}

TEST_CASE("enforcer: a fleet-state outage refuses keyed requests under its own counter", "[enforcer][fleet]") {
  Fixture f;
  std::atomic<bool> available{false};
  f.enforcer->set_shared_state_gate(&available);
  auto v = f.request(kGood, 100);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 503);
  CHECK(f.enforcer->stats().fleet_rejected == 1);
  CHECK(f.enforcer->stats().fail_closed_rejected == 0);  // not a detection fail-closed refusal
  CHECK(f.enforcer->stats().detection_failures == 0);
  CHECK(f.request("", 100).kind == GateVerdict::Kind::Forward);  // keyless requests are not gated
  available = true;
  CHECK(f.request(kGood, 101).kind == GateVerdict::Kind::Forward);
  CHECK(f.enforcer->stats().fleet_rejected == 1);

  // Detection failing as well under fail-closed: one refusal, the detection's.
  auto closed = std::make_shared<Policy>(*f.policy.policy());
  closed->fail_mode = dg::detectors::FailMode::Closed;
  f.policy.set_policy(closed);
  f.detection.fail = true;
  f.exchange(kBad, 102);
  available = false;
  REQUIRE(f.request(kBad, 103).status == 503);
  CHECK(f.enforcer->stats().fail_closed_rejected == 1);
  CHECK(f.enforcer->stats().fleet_rejected == 1);
}

TEST_CASE("enforcer: reset format follows OpenAI", "[enforcer]") {
  CHECK(format_reset(0.02) == "20ms");
  CHECK(format_reset(1) == "1s");
  CHECK(format_reset(360) == "6m0s");
  CHECK(format_reset(3725) == "1h2m5s");
}

namespace {

/// A header value that is a non-negative integer no larger than 2^31 - 1 (ms: times 1000).
bool sane_integer_header(const std::string& v, long long max = 2147483647) {
  if (v.empty() || v.size() > 16 || v.find_first_not_of("0123456789") != std::string::npos) return false;
  return std::stoll(v) <= max;
}

}  // namespace

TEST_CASE("enforcer: Retry-After and x-ratelimit-* saturate on absurd TTLs and rates", "[enforcer]") {
  Fixture f;
  // As a journal from before the admin API's range checks could hold them.
  auto block = PolicyEngine::operator_decision(*f.policy.policy(), kBad, Action::Block, "test", 100, 1e20);
  f.store->apply(block, "operator", 100);
  auto v = f.request(kBad, 101);
  REQUIRE(v.status == 403);
  CHECK(sane_integer_header(header(v, "Retry-After")));
  CHECK(header(v, "Retry-After") == "2147483647");
  CHECK(v.message.find('-') == std::string::npos);

  auto slow = PolicyEngine::operator_decision(*f.policy.policy(), kGood, Action::Throttle, "test", 100);
  slow.throttle_rpm = 1e-300;
  slow.throttle_burst = 1;
  f.store->apply(slow, "operator", 100);
  CHECK(f.request(kGood, 100).kind == GateVerdict::Kind::Forward);
  v = f.request(kGood, 100);
  REQUIRE(v.status == 429);
  CHECK(header(v, "Retry-After") == "2147483647");
  CHECK(sane_integer_header(header(v, "retry-after-ms"), 2147483647000LL));
  CHECK(sane_integer_header(header(v, "x-ratelimit-limit-requests")));
  CHECK(sane_integer_header(header(v, "x-ratelimit-remaining-requests")));
  CHECK(header(v, "x-ratelimit-reset-requests").find('-') == std::string::npos);
  CHECK(format_reset(1e300) == format_reset(2147483647));
  CHECK(format_reset(std::numeric_limits<double>::infinity()) == format_reset(2147483647));
}

TEST_CASE("enforcer: errors use the OpenAI error shape", "[enforcer]") {
  auto v = json::parse(openai_error_body("m", "permission_denied", "key_blocked"));
  CHECK(v.at("error").at("message") == "m");
  CHECK(v.at("error").at("type") == "permission_denied");
  CHECK(v.at("error").at("code") == "key_blocked");
}

TEST_CASE("enforcer: a prompt analyzed in on_request reaches its own request's exchange", "[enforcer]") {
  Fixture f;
  ExtractedRequest a, b;
  a.features.body_is_json = b.features.body_is_json = true;
  a.text.last_user = "abc";
  b.text.last_user = "abcdefg";
  RequestState sa, sb, none;
  for (auto [r, state] : {std::pair{&a, &sa}, std::pair{&b, &sb}}) {
    RequestInfo info;
    info.now = 1;
    info.key_fp = kBad;
    info.request = r;
    f.enforcer->on_request(info, *state);
  }
  REQUIRE(sa.prompt);
  REQUIRE(sb.prompt);
  // The second request finishes first (a short answer, or the first
  // client's stream still running): each exchange still gets its own
  // prompt, whatever the order, through its request's state.
  f.exchange(kBad, 2, 10, sb);
  f.exchange(kBad, 3, 10, sa);
  f.exchange(kBad, 4, 10, none);  // a request the enforcer did not analyze: passed through as is
  CHECK(f.detection.signatures == std::vector<std::uint64_t>{7, 3, 0});
  // Keyless requests are not analyzed.
  RequestInfo anonymous;
  anonymous.request = &a;
  RequestState sn;
  f.enforcer->on_request(anonymous, sn);
  CHECK_FALSE(sn.prompt);
  // Off (the proxy analyzes prompts itself): nothing is attached.
  f.enforcer->set_analyze_prompts(false);
  RequestInfo info;
  info.key_fp = kBad;
  info.request = &a;
  RequestState off;
  f.enforcer->on_request(info, off);
  CHECK_FALSE(off.prompt);
}

TEST_CASE("enforcer: with shared counters a throttle holds the fleet's count at the decision's rate",
          "[enforcer][fleet][counters]") {
  Fixture f;
  SharedCounters shared;
  f.enforcer->set_shared_counters(&shared);
  auto d = PolicyEngine::operator_decision(*f.policy.policy(), kBad, Action::Throttle, "test", 100);
  d.throttle_rpm = 10;
  d.throttle_burst = 10;
  f.store->apply(d, "operator", 100);
  // Window [60, 120): the other instances admitted 7 of the key's 10.
  CHECK(f.request(kBad, 100).kind == GateVerdict::Kind::Forward);
  auto sent = shared.take(100.01);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].own == 1);
  shared.settle(sent[0], 7);
  CHECK(f.request(kBad, 100.1).kind == GateVerdict::Kind::Forward);
  CHECK(f.request(kBad, 100.2).kind == GateVerdict::Kind::Forward);
  // The local bucket (burst 10) has tokens left; the fleet has none.
  CHECK(f.head(kBad, 100.3).kind == GateVerdict::Kind::Reject);
  auto v = f.request(kBad, 100.3);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.status == 429);
  CHECK(header(v, "x-ratelimit-remaining-requests") == "0");
  // Room again once the window's 10 weigh 9 or less: a tenth into the next window (120 + 6).
  const double retry = std::stod(header(v, "retry-after-ms")) / 1000;
  CHECK(retry == Approx(126 - 100.3).margin(0.01));
  CHECK(f.enforcer->stats().throttled == 2);
  // The refused requests took nothing: still 3 here.
  CHECK(shared.estimate(SharedCounterKind::Throttle, kBad, 60, 100.3).own == Approx(3));
}

TEST_CASE("enforcer: with shared counters a budget counts the other instances' tokens", "[enforcer][fleet][counters]") {
  auto p = policy_with_rules();
  p->output_budget.tokens = 1000;
  p->output_budget.window_s = 3600;
  Fixture f;
  f.policy.set_policy(p);
  SharedCounters shared;
  f.enforcer->set_shared_counters(&shared);
  f.exchange(kGood, 100, 300);
  auto sent = shared.take(100.01);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].kind == SharedCounterKind::Budget);
  CHECK(sent[0].own == 300);
  CHECK(f.request(kGood, 101).kind == GateVerdict::Kind::Forward);
  shared.settle(sent[0], 700);  // 700 elsewhere: 1000 of 1000 used
  auto v = f.request(kGood, 102);
  REQUIRE(v.kind == GateVerdict::Kind::Reject);
  CHECK(v.action == GateAction::Budget);
  // A key without a budget gets no shared counter.
  p = policy_with_rules();
  f.policy.set_policy(p);
  f.exchange(kBad, 103, 300);
  for (const auto& u : shared.take(103.01)) CHECK(u.key_fp != kBad);
}
