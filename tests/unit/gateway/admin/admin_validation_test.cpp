// The admin API's strict validation, through AdminServer::dispatch (routing
// and auth as on the wire, no sockets): unknown fields with a did-you-mean,
// wrong types, ranges, a lift of nothing, 405 with Allow.
#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include "gateway/admin/admin_routes.hpp"
#include "gateway/files/json_text.hpp"
#include "tests/json_number_checks.hpp"

using namespace dg::gateway;
using dg::detectors::Action;
using dg::detectors::Policy;
using dg::detectors::PolicyEngine;
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

const std::string kToken = "admin-unit-token";
const std::string kFp = "fp:00000000000000a1";
constexpr double kNow = 1764691200.5;

struct Admin {
  boost::asio::io_context ioc;
  PolicyEngine policy{std::make_shared<Policy>()};
  DecisionStore store{DecisionStoreOptions{}};
  AdminServer server{ioc, AdminOptions{.token = kToken}};

  Admin() {
    std::vector<std::string> w;
    std::string e;
    REQUIRE(store.open(kNow, w, e));
    AdminContext ctx;
    ctx.policy = &policy;
    ctx.store = &store;
    ctx.clock = [] { return kNow; };
    register_admin_routes(server, ctx);
  }

  AdminResponse call(http::verb method, std::string target, std::string body = {}) {
    AdminRequest req;
    req.method = method;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.body = std::move(body);
    return server.dispatch(std::move(req), "Bearer " + kToken);
  }
  AdminResponse post(const std::string& body) { return call(http::verb::post, "/v1/decisions", body); }
};

json::object error_of(const AdminResponse& r) {
  INFO(r.body);
  return json::parse(r.body).at("error").as_object();
}

std::string block_with(const std::string& extra) {
  return R"({"key_fp":")" + kFp + R"(","action":"block","reason":"ticket 7")" + extra + "}";
}

std::string header(const AdminResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

}  // namespace

TEST_CASE("admin POST /v1/decisions: an unknown field is named, with a did-you-mean", "[admin][validation]") {
  Admin a;
  auto r = a.post(block_with(R"(,"ttl":"1h")"));
  REQUIRE(r.status == 400);
  auto e = error_of(r);
  CHECK(e.at("type") == "invalid_request_error");
  CHECK(e.at("param") == "ttl");
  const std::string message(e.at("message").as_string());
  CHECK(message.find("'ttl'") != std::string::npos);
  CHECK(message.find("did you mean 'ttl_s'") != std::string::npos);
  CHECK(a.store.table().size() == 0);  // nothing applied

  e = error_of(a.post(block_with(R"(,"requests_per_minut":5)")));
  CHECK(std::string(e.at("message").as_string()).find("did you mean 'requests_per_minute'") != std::string::npos);
  e = error_of(a.post(block_with(R"(,"colour":1)")));
  CHECK(e.at("param") == "colour");
  CHECK(std::string(e.at("message").as_string()).find("did you mean") == std::string::npos);
}

TEST_CASE("admin POST /v1/decisions: wrong types and ranges are 400 naming the field", "[admin][validation]") {
  Admin a;
  const auto throttle = [](const std::string& extra) {
    return R"({"key_fp":")" + kFp + R"(","action":"throttle","reason":"r")" + extra + "}";
  };
  struct Case {
    std::string body;
    std::string param;
  };
  const std::vector<Case> cases = {
      {throttle(R"(,"requests_per_minute":-3)"), "requests_per_minute"},
      {throttle(R"(,"requests_per_minute":0)"), "requests_per_minute"},
      {throttle(R"(,"requests_per_minute":"five")"), "requests_per_minute"},
      {throttle(R"(,"requests_per_minute":1e-300)"), "requests_per_minute"},
      {throttle(R"(,"requests_per_minute":1000001)"), "requests_per_minute"},
      {throttle(R"(,"requests_per_minute":1e400)"), "requests_per_minute"},
      {block_with(R"(,"requests_per_minute":10)"), "requests_per_minute"},  // not a throttle
      {block_with(R"(,"ttl_s":1e20)"), "ttl_s"},
      {block_with(R"(,"ttl_s":-1)"), "ttl_s"},
      {block_with(R"(,"ttl_s":315360001)"), "ttl_s"},
      {block_with(R"(,"ttl_s":"3600")"), "ttl_s"},
      {block_with(R"(,"ttl_s":null)"), "ttl_s"},
      {R"({"key_fp":")" + kFp + R"(","action":"block","reason":7})", "reason"},
      {R"({"key_fp":")" + kFp + R"(","action":"block","reason":""})", "reason"},
      {R"({"key_fp":")" + kFp + R"(","action":"banish","reason":"r"})", "action"},
      {R"({"key_fp":"sk-live-123","action":"block","reason":"r"})", "key_fp"},
      {R"({"key_fp":")" + kFp + R"(","action":true,"reason":"r"})", "action"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = a.post(c.body);
    CHECK(r.status == 400);
    CHECK(error_of(r).at("param").as_string() == std::string_view(c.param));
  }
  CHECK(a.post("{not json").status == 400);
  CHECK(a.post("[1]").status == 400);
  CHECK(a.store.table().size() == 0);

  // In range: accepted, and the rate is the one enforced.
  auto r = a.post(throttle(R"(,"requests_per_minute":0.01,"ttl_s":315360000)"));
  REQUIRE(r.status == 201);
  auto d = json::parse(r.body);
  CHECK(d.at("throttle_rpm").as_double() == Approx(0.01));
  CHECK(a.store.table().latest(kFp)->throttle_rpm == Approx(0.01));
  CHECK(a.post(block_with(R"(,"ttl_s":0)")).status == 201);
}

TEST_CASE("admin DELETE /v1/decisions/{key_fp}: lifts only what is in force", "[admin][validation]") {
  Admin a;
  auto r = a.call(http::verb::delete_, "/v1/decisions/" + kFp);
  CHECK(r.status == 404);
  CHECK(error_of(r).at("code") == "not_found");
  CHECK_FALSE(a.store.table().latest(kFp));  // no allow was created

  REQUIRE(a.post(block_with("")).status == 201);
  CHECK(a.call(http::verb::delete_, "/v1/decisions/" + kFp, R"({"reasn":"x"})").status == 400);
  r = a.call(http::verb::delete_, "/v1/decisions/" + kFp, R"({"reason":"false positive"})");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body).at("action") == "allow");
  CHECK(json::parse(r.body).at("lifted_action") == "block");
  // Lifted: a second lift has nothing to lift (the allow stays as it was).
  const auto allow = a.store.table().latest(kFp);
  CHECK(a.call(http::verb::delete_, "/v1/decisions/" + kFp).status == 404);
  CHECK(a.store.table().latest(kFp)->created == allow->created);
  CHECK(a.call(http::verb::delete_, "/v1/decisions/sk-123").status == 400);
}

TEST_CASE("admin API: query parameters are checked, 405 carries Allow", "[admin][validation]") {
  Admin a;
  CHECK(a.call(http::verb::get, "/v1/decisions?all=true").status == 200);
  CHECK(a.call(http::verb::get, "/v1/decisions?all=0").status == 200);
  auto r = a.call(http::verb::get, "/v1/decisions?al=true");
  CHECK(r.status == 400);
  CHECK(error_of(r).at("param") == "al");
  CHECK(std::string(error_of(r).at("message").as_string()).find("did you mean 'all'") != std::string::npos);
  CHECK(a.call(http::verb::get, "/v1/decisions?all=maybe").status == 400);

  r = a.call(http::verb::put, "/v1/decisions");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "GET, POST");
  r = a.call(http::verb::patch, "/v1/decisions/" + kFp);
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "DELETE, GET");
  r = a.call(http::verb::get, "/v1/policy/reload");
  CHECK(r.status == 405);
  CHECK(header(r, "Allow") == "POST");
  CHECK(a.call(http::verb::get, "/v1/nothing").status == 404);
}

TEST_CASE("admin and journal JSON: integral numbers never use exponent notation", "[admin][json]") {
  CHECK(to_json_text(json::value(1764691200.0)) == "1764691200");
  CHECK(to_json_text(json::value(1764691200.25)) == "1764691200.25");
  CHECK(to_json_text(json::value(3.0)) == "3");
  CHECK(to_json_text(json::value(0.1)) == "0.1");
  CHECK(to_json_text(json::value(1e20)) == "100000000000000000000");
  CHECK(to_json_text(json::value(std::numeric_limits<double>::infinity())) == "null");
  CHECK(to_json_text(json::parse(R"({"a":[1,-2,"x\"y"],"b":{"c":true,"d":null}})")) ==
        R"({"a":[1,-2,"x\"y"],"b":{"c":true,"d":null}})");

  Admin a;
  REQUIRE(a.post(block_with(R"(,"ttl_s":3600)")).status == 201);
  const auto r = a.call(http::verb::get, "/v1/decisions");
  REQUIRE(r.status == 200);
  CHECK_FALSE(dg::test::has_exponent_number(r.body));
  CHECK(r.body.find("\"created\":1764691200.5") != std::string::npos);
  CHECK(r.body.find("\"expires\":1764694800.5") != std::string::npos);
}
