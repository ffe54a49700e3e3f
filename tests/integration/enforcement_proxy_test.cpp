// Enforcement through the real proxy (ProxyServer) against the scripted fake
// upstream: throttle then block, degrade, mid-stream budget cut, a block that
// survives kill -9, invalid reload, operator unblock.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "gateway/admin/admin_routes.hpp"
#include "gateway/enforce/enforcer.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/admin_client.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::KeyAssessment;
using dg::detectors::PolicyEngine;
using dg::test::FakeUpstream;
using dg::test::make_request;
using dg::test::request;
using dg::test::test_proxy_config;
using dg::test::wait_until;
namespace json = boost::json;

namespace {

const std::string kDistillerKey = "sk-distiller-0001";
const std::string kBenignKey = "sk-benign-0002";
const std::string kChat =
    R"({"model":"gpt-4o","messages":[{"role":"user","content":"Explain the reasoning behind the answer 42"}],"max_tokens":50})";
const std::string kChatStream = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Say hello"}]})";
const std::string kAdminToken = "integration-admin-token";

/// Scripted detection: the distiller's risk climbs with its exchanges.
struct ScriptedDetection final : AssessmentSource {
  std::function<double(int)> distiller_risk = [](int n) { return n >= 6 ? 0.95 : n >= 2 ? 0.75 : 0.1; };
  std::string distiller_fp = key_fingerprint(kDistillerKey);
  mutable std::mutex mutex;
  std::map<std::string, int> counts;
  std::atomic<int> observed{0};

  KeyAssessment observe(const dg::detectors::Exchange& ex) override {
    int n;
    {
      std::lock_guard lock(mutex);
      n = ++counts[ex.key_fp];
    }
    auto a = make(ex.key_fp, n);
    ++observed;
    return a;
  }
  KeyAssessment peek(const std::string& fp, double) const override {
    std::lock_guard lock(mutex);
    auto it = counts.find(fp);
    return make(fp, it == counts.end() ? 0 : it->second);
  }
  KeyAssessment make(const std::string& fp, int n) const {
    KeyAssessment a;
    a.key_fp = fp;
    a.request_index = static_cast<std::uint64_t>(n);
    a.risk = fp == distiller_fp ? distiller_risk(n) : 0.05;
    if (a.risk >= 0.7) a.findings.push_back({"reasoning_elicitation", a.risk, {"asks for the reasoning behind given answers"}});
    return a;
  }
};

std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("dg-enf-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

const char* kPolicy = R"(
throttle: {requests_per_minute: 1, burst: 2}
block: {ttl: 1h, growth_factor: 2, max_ttl: 1d}
rules:
  - name: throttle-risky
    when: {risk: 0.7}
    action: throttle
  - name: block-distillers
    when: {risk: 0.9}
    action: block
)";

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Policy + store + enforcer + proxy (+ optional admin API) in one process.
struct Stack {
  std::filesystem::path dir;
  FakeUpstream upstream;
  PolicyEngine policy{nullptr};
  boost::asio::io_context admin_ioc;
  std::unique_ptr<PolicyReloader> reloader;
  std::unique_ptr<DecisionStore> store;
  ScriptedDetection detection;
  std::shared_ptr<Enforcer> enforcer;
  std::unique_ptr<ProxyServer> proxy;
  std::unique_ptr<AdminServer> admin;
  std::thread admin_thread;
  std::uint16_t port = 0;

  explicit Stack(const std::string& name, const std::string& policy_text = kPolicy, bool keep_dir = false) {
    dir = keep_dir ? std::filesystem::temp_directory_path() / ("dg-enf-" + name + "-" + std::to_string(::getpid()))
                   : temp_dir(name);
    if (!keep_dir) std::ofstream(dir / "policy.yaml") << policy_text;
    reloader = std::make_unique<PolicyReloader>(admin_ioc, dg::config::PolicySource{(dir / "policy.yaml").string(), ""}, policy);
    reloader->load_initial(wall_now());
    DecisionStoreOptions o;
    o.journal.path = (dir / "decisions.jsonl").string();
    o.audit_path = (dir / "audit.jsonl").string();
    store = std::make_unique<DecisionStore>(o);
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store->open(wall_now(), w, e));
    enforcer = std::make_shared<Enforcer>(policy, *store, &detection);
    proxy = std::make_unique<ProxyServer>(test_proxy_config(upstream.url()), enforcer);
    port = proxy->start();
  }
  void start_admin() {
    AdminOptions ao;
    ao.token = kAdminToken;
    admin = std::make_unique<AdminServer>(admin_ioc, ao);
    AdminContext ctx;
    ctx.policy = &policy;
    ctx.store = store.get();
    ctx.reloader = reloader.get();
    ctx.detection = &detection;
    register_admin_routes(*admin, ctx);
    std::string error;
    REQUIRE(admin->start(error));
    admin_thread = std::thread([this] { admin_ioc.run(); });
  }
  ~Stack() {
    proxy->stop(std::chrono::milliseconds(2000));
    if (admin) {
      admin->stop();
      admin_ioc.stop();
      admin_thread.join();
    }
    std::filesystem::remove_all(dir);
  }
  /// One request; waits until detection has seen its exchange (the proxy
  /// reports an exchange after the client may already have the response).
  dg::test::Response send(const std::string& key, const std::string& target = "/v1/chat/completions",
                          const std::string& body = kChat) {
    const int before = detection.observed.load();
    auto res = request(port, make_request(target, body, {}, key));
    wait_until([&] { return detection.observed.load() > before; });
    return res;
  }
};

}  // namespace

TEST_CASE("a distiller is throttled (429 + Retry-After) then blocked, a benign key keeps 200",
          "[integration][enforcement]") {
  Stack s("throttle");
  std::vector<int> distiller, benign;
  std::map<std::string, std::string> throttled_headers;
  std::string throttled_body, blocked_body;
  for (int i = 0; i < 8; ++i) {
    auto d = s.send(kDistillerKey);
    distiller.push_back(d.status);
    if (d.status == 429 && throttled_headers.empty()) {
      throttled_headers = d.headers;
      throttled_body = d.body;
    }
    if (d.status == 403) blocked_body = d.body;
    benign.push_back(s.send(kBenignKey).status);
  }
  // 2 exchanges -> throttle (burst 2, 1/min), 6 exchanges -> block.
  CHECK(distiller == std::vector<int>{200, 200, 200, 200, 429, 429, 403, 403});
  CHECK(benign == std::vector<int>(8, 200));
  CHECK(throttled_headers["retry-after"] == "60");
  CHECK(throttled_headers["x-ratelimit-limit-requests"] == "1");
  CHECK(throttled_headers["x-ratelimit-remaining-requests"] == "0");
  CHECK(throttled_headers.count("x-ratelimit-reset-requests") == 1);
  auto e = json::parse(throttled_body);
  CHECK(e.at("error").at("type") == "rate_limit_exceeded");
  auto b = json::parse(blocked_body);
  CHECK(b.at("error").at("type") == "permission_denied");
  CHECK(b.at("error").at("code") == "key_blocked");
  const auto block = s.store->table().active(key_fingerprint(kDistillerKey), wall_now());
  REQUIRE(block);
  CHECK(block->action == Action::Block);
  CHECK(block->rule == "block-distillers");
  CHECK(s.upstream.requests() == 4 + 8);  // rejected requests never reach the upstream
}

TEST_CASE("degrade strips logprobs, logit_bias, n and caps max tokens before the upstream sees them",
          "[integration][enforcement]") {
  Stack s("degrade");
  const auto fp = key_fingerprint(kDistillerKey);
  s.store->apply(PolicyEngine::operator_decision(*s.policy.policy(), fp, Action::Degrade, "test", wall_now()),
                 "operator", wall_now());
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":20,)"
      R"("logit_bias":{"50256":-100},"n":5,"max_tokens":4000})";
  auto res = s.send(kDistillerKey, "/echo", body);
  REQUIRE(res.status == 200);
  auto seen = json::parse(json::parse(res.body).at("body").as_string()).as_object();
  CHECK_FALSE(seen.contains("logprobs"));
  CHECK_FALSE(seen.contains("top_logprobs"));
  CHECK_FALSE(seen.contains("logit_bias"));
  CHECK(seen.at("n").as_int64() == 1);
  CHECK(seen.at("max_tokens").as_int64() == 256);
  // The benign key's body goes through untouched.
  res = s.send(kBenignKey, "/echo", body);
  CHECK(json::parse(res.body).at("body").as_string() == body);
}

TEST_CASE("the output-token budget ends a stream mid-way, then refuses the key", "[integration][enforcement]") {
  Stack s("budget", "output_budget: {tokens: 30, window: 1h}\nallow_empty: true\n");
  auto res = s.send(kDistillerKey, "/sse-long?n=200", kChatStream);
  REQUIRE(res.status == 200);
  CHECK(res.body.find(R"("code":"output_token_budget")") != std::string::npos);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  auto next = s.send(kDistillerKey, "/sse-long?n=200", kChatStream);
  CHECK(next.status == 429);
  CHECK(json::parse(next.body).at("error").at("code") == "output_token_budget_exceeded");
  CHECK(next.headers.count("retry-after") == 1);
  CHECK(s.send(kBenignKey).status == 200);
}

TEST_CASE("concurrent streams of one key share its output-token budget", "[integration][enforcement]") {
  // Two endless streams at once (an event of 1 token every 2 ms): each used
  // to get the whole remainder known at admission, so together they spent
  // the budget twice. Now what one relays the other loses.
  Stack s("shared-budget", "output_budget: {tokens: 100, window: 1h}\nallow_empty: true\n");
  dg::test::Response first, second;
  std::thread a([&] { first = s.send(kDistillerKey, "/endless", kChatStream); });
  std::thread b([&] { second = s.send(kDistillerKey, "/endless", kChatStream); });
  a.join();
  b.join();
  auto events = [](const dg::test::Response& r) {
    std::size_t n = 0;
    for (auto at = r.body.find("tick"); at != std::string::npos; at = r.body.find("tick", at + 4)) ++n;
    return n;
  };
  INFO("first " << first.status << ": " << events(first) << " events; second " << second.status << ": "
                << events(second) << " events");
  // Both were admitted (or the later one found the budget spent), and the
  // streams that ran were cut with the budget error event.
  for (const auto* r : {&first, &second}) {
    CHECK((r->status == 200 || r->status == 429));
    if (r->status == 200) CHECK(r->body.find(R"("code":"output_token_budget")") != std::string::npos);
  }
  // Together at most the budget, plus the one event each stream may finish.
  CHECK(events(first) + events(second) <= 102);
  CHECK(events(first) + events(second) >= 90);
}

TEST_CASE("a block survives kill -9 and a restart", "[integration][enforcement]") {
  const auto dir = temp_dir("kill9");
  std::ofstream(dir / "policy.yaml") << kPolicy;
  const auto fp = key_fingerprint(kDistillerKey);
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child decides a block through the enforcer, says so, and is killed.
    ::close(ready[0]);
    PolicyEngine policy(nullptr);
    policy.set_policy(std::make_shared<dg::detectors::Policy>(
        dg::config::load_policy({(dir / "policy.yaml").string(), ""})));
    DecisionStoreOptions o;
    o.journal.path = (dir / "decisions.jsonl").string();
    DecisionStore store(o);
    std::vector<std::string> w;
    std::string e;
    if (!store.open(wall_now(), w, e)) ::_exit(3);
    ScriptedDetection detection;
    detection.distiller_risk = [](int) { return 0.99; };
    Enforcer enforcer(policy, store, &detection);
    dg::detectors::Exchange ex;
    ex.ts = wall_now();
    ex.key_fp = fp;
    enforcer.on_exchange(ex, {});
    // The journal write is queued to the store's writer (the detection path
    // acknowledges to no one); the kill comes once it is done.
    store.flush();
    const char c = store.table().active(fp, wall_now()) ? 'b' : 'x';
    if (::write(ready[1], &c, 1) != 1) ::_exit(4);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  ::close(ready[0]);
  CHECK(c == 'b');
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  CHECK(WIFSIGNALED(status));

  Stack s("kill9", kPolicy, /*keep_dir=*/true);  // restarts on the same journal
  auto res = request(s.port, make_request("/v1/chat/completions", kChat, {}, kDistillerKey));
  CHECK(res.status == 403);
  CHECK(request(s.port, make_request("/v1/chat/completions", kChat, {}, kBenignKey)).status == 200);
}

TEST_CASE("an invalid policy reload keeps the old policy and reports the line", "[integration][enforcement]") {
  Stack s("reload");
  s.start_admin();
  std::ofstream(s.dir / "policy.yaml") << "rules:\n  - name: broken\n    when: {risk: high}\n    action: block\n";
  auto r = dg::test::http_request(s.admin->port(), "POST", "/v1/policy/reload", kAdminToken);
  REQUIRE(r.status == 422);
  const auto message = std::string(json::parse(r.body).at("error").at("message").as_string());
  CHECK(message.find("policy.yaml:3:") != std::string::npos);
  CHECK(s.reloader->reloads_failed() == 1);
  CHECK(s.policy.policy()->version == 1);
  // The old rules still act: the distiller is throttled and then blocked.
  int last = 0;
  for (int i = 0; i < 8; ++i) last = s.send(kDistillerKey).status;
  CHECK(last == 403);
}

TEST_CASE("an operator's unblock takes effect on the next request", "[integration][enforcement]") {
  Stack s("unblock");
  s.start_admin();
  s.detection.distiller_risk = [](int) { return 0.95; };
  CHECK(s.send(kDistillerKey).status == 200);  // its exchange triggers the block
  CHECK(s.send(kDistillerKey).status == 403);
  const auto fp = key_fingerprint(kDistillerKey);
  CHECK(dg::test::http_request(s.admin->port(), "DELETE", "/v1/decisions/" + fp, "wrong-token").status == 401);
  CHECK(s.send(kDistillerKey).status == 403);
  auto r = dg::test::http_request(s.admin->port(), "DELETE", "/v1/decisions/" + fp, kAdminToken,
                                  R"({"reason":"customer verified"})");
  REQUIRE(r.status == 200);
  CHECK(s.send(kDistillerKey).status == 200);
  CHECK(s.send(kDistillerKey).status == 200);  // detection still fires, the lift holds
}

TEST_CASE("a blocked key cannot pass behind a dummy Authorization, a Connection header or a second key",
          "[integration][enforcement][identity]") {
  Stack s("identity");
  s.detection.distiller_risk = [](int) { return 0.95; };
  CHECK(s.send(kDistillerKey).status == 200);  // its exchange triggers the block
  auto blocked_in_x_api_key = [&](std::vector<std::pair<std::string, std::string>> extra) {
    extra.emplace_back("x-api-key", kDistillerKey);
    return request(s.port, make_request("/v1/chat/completions", kChat, extra, ""));
  };
  const int upstream_before = s.upstream.requests();
  CHECK(blocked_in_x_api_key({}).status == 403);
  // The dummy was fingerprinted, then stripped as hop-by-hop: the upstream saw only the blocked key.
  const auto hop = blocked_in_x_api_key({{"Authorization", "Bearer DUMMY"}, {"Connection", "authorization"}});
  CHECK(hop.status == 400);
  CHECK(hop.body.find("invalid_connection_header") != std::string::npos);
  // Rotating Authorization values over a fixed x-api-key: two keys, refused.
  for (const auto* dummy : {"Bearer rot-1", "Bearer rot-2", "Basic cm90OjM="}) {
    const auto rot = blocked_in_x_api_key({{"Authorization", dummy}});
    CHECK(rot.status == 401);
    CHECK(rot.body.find("ambiguous_api_key") != std::string::npos);
  }
  // Two Authorization headers.
  auto two = make_request("/v1/chat/completions", kChat, {}, kBenignKey);
  two.insert(http::field::authorization, "Bearer " + kDistillerKey);
  CHECK(request(s.port, std::move(two)).status == 401);
  CHECK(s.upstream.requests() == upstream_before);  // none of them reached the upstream
  // The same key in two headers is one key: still blocked, not ambiguous.
  CHECK(blocked_in_x_api_key({{"Authorization", "Bearer " + kDistillerKey}}).status == 403);
  CHECK(s.send(kBenignKey).status == 200);
}

TEST_CASE("a blocked or rate-limited key is answered on its head: no 100 Continue, its body never read",
          "[integration][enforcement][hardening]") {
  Stack s("head-gate");
  s.detection.distiller_risk = [](int) { return 0.95; };
  CHECK(s.send(kDistillerKey).status == 200);  // its exchange triggers the block
  const int observed = s.detection.observed.load();
  const int upstream_before = s.upstream.requests();
  // A 6 MB body announced, waiting for 100-continue: the answer is the 403
  // itself, and the connection closes without the body being sent.
  const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + kDistillerKey +
                           "\r\nContent-Type: application/json\r\nContent-Length: 6000000\r\n"
                           "Expect: 100-continue\r\n\r\n";
  const auto r = dg::test::raw_exchange(s.port, head);
  CHECK(r.closed);
  REQUIRE(r.received.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(r.received.find("100 Continue") == std::string::npos);
  CHECK(r.received.find("key_blocked") != std::string::npos);
  CHECK(r.received.find("Connection: close") != std::string::npos);
  CHECK(s.proxy->stats().key_refused_on_head == 1);
  CHECK(s.upstream.requests() == upstream_before);
  // Without Expect, a body sent after the head is not waited for either.
  const auto r2 = dg::test::raw_exchange(s.port, head.substr(0, head.find("Expect:")) + "\r\n" + std::string(64 * 1024, 'x'));
  CHECK(r2.closed);
  CHECK(r2.received.rfind("HTTP/1.1 403", 0) == 0);
  CHECK(s.proxy->stats().key_refused_on_head == 2);
  // The refused heads are not exchanges detection learns from; a whole
  // request of the same key still reaches the request hook and is refused there.
  CHECK(request(s.port, make_request("/v1/chat/completions", kChat, {}, kDistillerKey)).status == 403);
  CHECK(wait_until([&] { return s.detection.observed.load() == observed + 1; }));
  CHECK(s.detection.observed.load() == observed + 1);
  // Another key's announced body is read as usual.
  CHECK(s.send(kBenignKey).status == 200);
}

TEST_CASE("a rate-limited key's large body is refused on its head, its small ones still feed detection",
          "[integration][enforcement][hardening]") {
  Stack s("head-gate-throttle");
  s.detection.distiller_risk = [](int) { return 0.75; };  // throttle (1 rpm, burst 2), never block
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(s.send(kDistillerKey).status);
  CHECK(statuses == std::vector<int>{200, 200, 200, 429});  // the decision after the first, then its burst
  const int observed = s.detection.observed.load();
  const std::string large = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                            kDistillerKey + "\r\nContent-Length: 6000000\r\n\r\n";
  const auto r = dg::test::raw_exchange(s.port, large);
  CHECK(r.closed);
  CHECK(r.received.rfind("HTTP/1.1 429", 0) == 0);
  CHECK(r.received.find("x-ratelimit-limit-requests") != std::string::npos);
  CHECK(s.proxy->stats().key_refused_on_head == 1);
  // A small body is read: refused by the request hook, seen by detection.
  CHECK(s.send(kDistillerKey).status == 429);
  CHECK(s.detection.observed.load() == observed + 1);
  CHECK(s.proxy->stats().key_refused_on_head == 1);
}
