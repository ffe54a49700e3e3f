#include <catch2/catch.hpp>

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gateway/admin/admin_routes.hpp"
#include "tests/integration/support/admin_client.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::KeyAssessment;
using dg::detectors::PolicyEngine;
using dg::test::http_request;
namespace json = boost::json;

namespace {

const std::string kToken = "admin-s3cret-token";
const std::string kFp = "fp:00000000000000f1";

struct StaticDetection final : AssessmentSource {
  KeyAssessment observe(const dg::detectors::Exchange& ex) override { return peek(ex.key_fp, ex.ts); }
  KeyAssessment peek(const std::string& fp, double) const override {
    KeyAssessment a;
    a.key_fp = fp;
    a.risk = 0.42;
    a.scores = {{"coverage", 0.42, {}}};
    a.findings = {{"coverage", 0.42, {"312 distinct templates in 1h"}}};
    a.request_index = 7;
    return a;
  }
};

/// Admin server + enforcer in one process, the server on its own thread.
struct AdminFixture {
  std::filesystem::path dir;
  PolicyEngine policy{nullptr};
  std::unique_ptr<DecisionStore> store;
  StaticDetection detection;
  std::unique_ptr<Enforcer> enforcer;
  boost::asio::io_context ioc;
  std::unique_ptr<PolicyReloader> reloader;
  std::unique_ptr<AdminServer> server;
  std::thread thread;

  AdminFixture() {
    dir = std::filesystem::temp_directory_path() / ("dg-admin-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "policy.yaml") << "block: {ttl: 1h}\nrules:\n  - {name: r1, when: {risk: 0.9}, action: block}\n";
    DecisionStoreOptions o;
    o.journal.path = (dir / "decisions.jsonl").string();
    o.audit_path = (dir / "audit.jsonl").string();
    store = std::make_unique<DecisionStore>(o);
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store->open(now(), w, e));
    reloader = std::make_unique<PolicyReloader>(ioc, dg::config::PolicySource{(dir / "policy.yaml").string(), ""}, policy);
    reloader->load_initial(now());
    enforcer = std::make_unique<Enforcer>(policy, *store, &detection);
    AdminOptions ao;
    ao.token = kToken;
    server = std::make_unique<AdminServer>(ioc, ao);
    AdminContext ctx;
    ctx.policy = &policy;
    ctx.store = store.get();
    ctx.reloader = reloader.get();
    ctx.detection = &detection;
    register_admin_routes(*server, ctx);
    // Another module's route (e.g. /metrics) plugs into the same table.
    server->add_route(boost::beast::http::verb::get, "/metrics", [](const AdminRequest&) {
      AdminResponse r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = "dg_test_metric 1\n";
      return r;
    });
    std::string error;
    REQUIRE(server->start(error));
    thread = std::thread([this] { ioc.run(); });
  }
  ~AdminFixture() {
    server->stop();
    ioc.stop();
    thread.join();
    std::filesystem::remove_all(dir);
  }
  static double now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  std::uint16_t port() const { return server->port(); }
  GateVerdict request(const std::string& fp) {
    RequestInfo info;
    info.now = now();
    info.key_fp = fp;
    info.path = "/v1/chat/completions";
    RequestState state;
    enforcer->on_request(info, state);
    return state.verdict;
  }
};

json::value body_of(const dg::test::HttpResult& r) {
  INFO(r.error << " " << r.body);
  return json::parse(r.body);
}

}  // namespace

TEST_CASE("admin API refuses missing and wrong tokens", "[admin][integration]") {
  AdminFixture f;
  auto r = http_request(f.port(), "GET", "/v1/decisions");
  REQUIRE(r.status == 401);
  CHECK(r.headers["www-authenticate"] == "Bearer");
  auto e = body_of(r);
  CHECK(e.at("error").at("type") == "invalid_request_error");
  CHECK(e.at("error").at("code") == "invalid_api_key");
  CHECK(e.at("error").at("message").as_string().size() > 0);

  CHECK(http_request(f.port(), "GET", "/v1/decisions", "wrong-token").status == 401);
  CHECK(http_request(f.port(), "GET", "/v1/decisions", kToken + "x").status == 401);
  CHECK(http_request(f.port(), "POST", "/v1/decisions", "",
                     R"({"key_fp":")" + kFp + R"(","action":"block","reason":"x"})").status == 401);
  CHECK_FALSE(f.store->table().active(kFp, AdminFixture::now()));
  CHECK(http_request(f.port(), "GET", "/nope").status == 401);  // unknown routes do not leak either

  CHECK(http_request(f.port(), "GET", "/healthz").status == 200);  // probes are public
  CHECK(http_request(f.port(), "GET", "/readyz").status == 200);
  CHECK(http_request(f.port(), "GET", "/metrics").status == 401);
  r = http_request(f.port(), "GET", "/metrics", kToken);
  CHECK(r.status == 200);
  CHECK(r.body == "dg_test_metric 1\n");
  CHECK(http_request(f.port(), "GET", "/nope", kToken).status == 404);
  CHECK(http_request(f.port(), "PUT", "/v1/decisions", kToken).status == 405);
}

TEST_CASE("admin API refuses two Authorization headers, whichever holds the token", "[admin][integration]") {
  AdminFixture f;
  const std::string body = R"({"key_fp":")" + kFp + R"(","action":"block","reason":"x"})";
  for (const auto& second : {std::string("Bearer wrong"), "Bearer " + kToken}) {
    auto r = http_request(f.port(), "POST", "/v1/decisions", kToken, body, 10, {{"Authorization", second}});
    REQUIRE(r.status == 400);
    CHECK(body_of(r).at("error").at("code") == "ambiguous_authorization");
  }
  CHECK_FALSE(f.store->table().active(kFp, AdminFixture::now()));
  CHECK(http_request(f.port(), "GET", "/v1/decisions", kToken).status == 200);
}

TEST_CASE("operator block then lift takes effect through the enforcer", "[admin][integration]") {
  AdminFixture f;
  CHECK(f.request(kFp).kind == GateVerdict::Kind::Forward);

  auto r = http_request(f.port(), "POST", "/v1/decisions", kToken,
                        R"({"key_fp":")" + kFp + R"(","action":"block","reason":"ticket SEC-42"})");
  REQUIRE(r.status == 201);
  auto d = body_of(r);
  CHECK(d.at("action") == "block");
  CHECK(d.at("origin") == "operator");
  CHECK(d.at("persisted") == true);

  auto v = f.request(kFp);
  CHECK(v.status == 403);
  CHECK(v.error_type == "permission_denied");

  r = http_request(f.port(), "GET", "/v1/decisions", kToken);
  REQUIRE(r.status == 200);
  auto list = body_of(r);
  REQUIRE(list.at("data").as_array().size() == 1);
  CHECK(list.at("data").at(0).at("key_fp").as_string() == kFp);
  CHECK(http_request(f.port(), "GET", "/v1/decisions/" + kFp, kToken).status == 200);

  r = http_request(f.port(), "DELETE", "/v1/decisions/" + kFp, kToken, R"({"reason":"false positive"})");
  REQUIRE(r.status == 200);
  CHECK(body_of(r).at("action") == "allow");
  CHECK(f.request(kFp).kind == GateVerdict::Kind::Forward);  // the very next request

  // Every change is in the audit log, by the operator, with the reason.
  std::ifstream in(f.dir / "audit.jsonl");
  std::stringstream audit;
  audit << in.rdbuf();
  CHECK(audit.str().find("ticket SEC-42") != std::string::npos);
  CHECK(audit.str().find("\"event\":\"lift\"") != std::string::npos);
  CHECK(audit.str().find("\"actor\":\"operator\"") != std::string::npos);

  // Validation.
  CHECK(http_request(f.port(), "POST", "/v1/decisions", kToken, R"({"key_fp":"sk-123","action":"block","reason":"x"})")
            .status == 400);
  CHECK(http_request(f.port(), "POST", "/v1/decisions", kToken, R"({"key_fp":")" + kFp + R"(","action":"block"})")
            .status == 400);
  CHECK(http_request(f.port(), "POST", "/v1/decisions", kToken, "{not json").status == 400);
}

TEST_CASE("admin API: per-key state, campaigns, policy and reload", "[admin][integration]") {
  AdminFixture f;
  auto r = http_request(f.port(), "GET", "/v1/keys/" + kFp, kToken);
  REQUIRE(r.status == 200);
  auto k = body_of(r);
  CHECK(k.at("assessment").at("risk").as_double() == Approx(0.42));
  CHECK(k.at("assessment").at("findings").at(0).at("evidence").at(0) == "312 distinct templates in 1h");
  CHECK(k.at("decision").is_null());

  r = http_request(f.port(), "GET", "/v1/campaigns", kToken);
  REQUIRE(r.status == 200);
  CHECK(body_of(r).at("data").as_array().empty());

  r = http_request(f.port(), "GET", "/v1/policy", kToken);
  REQUIRE(r.status == 200);
  auto p = body_of(r);
  CHECK(p.at("version") == 1);
  CHECK(p.at("rules") == 1);

  // An invalid policy is refused with its location; the running one stays.
  std::ofstream(f.dir / "policy.yaml") << "rules:\n  - {name: r1, when: {risk: 2}, action: block}\n";
  r = http_request(f.port(), "POST", "/v1/policy/reload", kToken);
  REQUIRE(r.status == 422);
  CHECK(body_of(r).at("error").at("message").as_string().find("policy.yaml:2:") != std::string::npos);
  CHECK(f.policy.policy()->version == 1);
  CHECK(f.policy.policy()->rules.size() == 1);

  std::ofstream(f.dir / "policy.yaml") << "shadow: true\nallow_empty: true\n";
  r = http_request(f.port(), "POST", "/v1/policy/reload", kToken);
  REQUIRE(r.status == 200);
  CHECK(body_of(r).at("version") == 2);
  CHECK(f.policy.policy()->shadow);
  p = body_of(http_request(f.port(), "GET", "/v1/policy", kToken));
  CHECK(p.at("reloads_failed") == 1);
}
