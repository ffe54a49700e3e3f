#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "gateway/alerts/alert.hpp"
#include "gateway/alerts/alert_grouping.hpp"
#include "gateway/alerts/alert_signature.hpp"

using namespace dg::gateway;

namespace {
Alert make(AlertEvent e, std::string key, double ts, std::string campaign = {}) {
  Alert a;
  a.event = e;
  a.key_fp = std::move(key);
  a.ts = ts;
  a.campaign = std::move(campaign);
  return a;
}
}  // namespace

TEST_CASE("alert signature: known vector and rotation", "[alerts-unit]") {
  // HMAC-SHA256 test vector (Wikipedia "HMAC" examples).
  CHECK(hmac_sha256_hex("key", "The quick brown fox jumps over the lazy dog") ==
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
  auto sig = sign_alert("k", "1700000000", R"({"a":1})");
  CHECK(sig.starts_with("v1="));
  CHECK(sig.size() == 3 + 64);
  CHECK(verify_alert_signature("k", "1700000000", R"({"a":1})", sig));
  CHECK(verify_alert_signature("k", "1700000000", R"({"a":1})", "v1=00, " + sig));
  CHECK_FALSE(verify_alert_signature("k", "1700000001", R"({"a":1})", sig));
  CHECK_FALSE(verify_alert_signature("k", "1700000000", R"({"a":2})", sig));
  CHECK_FALSE(verify_alert_signature("k", "1700000000", R"({"a":1})", ""));
}

TEST_CASE("alert grouping: the documented rule", "[alerts-unit]") {
  AlertGrouper g(300);
  auto a1 = make(AlertEvent::DecisionCreated, "fp:a", 0);
  CHECK(g.admit(a1));
  auto a2 = make(AlertEvent::DecisionCreated, "fp:a", 299);
  CHECK_FALSE(g.admit(a2));
  auto lifted = make(AlertEvent::DecisionLifted, "fp:a", 299.5);
  CHECK(g.admit(lifted));
  CHECK(lifted.grouped_count == 1);
  auto a3 = make(AlertEvent::DecisionCreated, "fp:a", 500);  // within 300 s of the lift
  CHECK_FALSE(g.admit(a3));
  auto a4 = make(AlertEvent::DecisionCreated, "fp:a", 600);
  CHECK(g.admit(a4));
  CHECK(a4.grouped_count == 1);
  // Campaign members share one group; a campaign_detected of the same campaign too.
  auto c1 = make(AlertEvent::CampaignDetected, "", 10, "c1");
  CHECK(g.admit(c1));
  auto k1 = make(AlertEvent::DecisionCreated, "fp:k1", 20, "c1");
  CHECK_FALSE(g.admit(k1));
  AlertGrouper off(0);
  auto x = make(AlertEvent::DecisionCreated, "fp:a", 0);
  CHECK(off.admit(x));
  CHECK(off.admit(x));
}

TEST_CASE("alert payloads: JSON schema fields and Slack blocks", "[alerts-unit]") {
  Alert a = make(AlertEvent::DecisionEscalated, "fp:0123456789abcdef", 1700000000, "cmp-1");
  a.id = new_alert_id();
  CHECK(a.id.size() == 32);
  a.campaign_keys = {"fp:0123456789abcdef", "fp:1111111111111111"};
  a.decision = AlertDecision{"block", "throttle", "repeat offender", "detector", false, 1700000000, 0};
  a.findings.push_back({"campaign", 0.8, {"18 other keys send the same template"}});
  auto j = boost::json::parse(alert_to_json(a)).as_object();
  CHECK(j.at("event") == "decision_escalated");
  CHECK(j.at("decision").at("previous_action") == "throttle");
  CHECK(j.at("decision").at("expires").is_null());
  CHECK(j.at("campaign_keys").as_array().size() == 2);
  CHECK(j.at("summary").as_string().find("throttle -> block") != boost::json::string::npos);
  auto s = boost::json::parse(alert_to_slack(a)).as_object();
  CHECK(s.at("text").as_string().find("escalated fp:0123456789abcdef") != boost::json::string::npos);
  CHECK(s.at("blocks").as_array().at(0).at("type") == "header");
}

TEST_CASE("alert summaries say what a shadow decision would have done", "[alerts-unit]") {
  dg::gateway::Alert a;
  a.key_fp = "fp:0123456789abcdef";
  a.decision = dg::gateway::AlertDecision{};
  a.decision->shadow = true;
  a.decision->action = "shadow:block";
  CHECK(dg::gateway::alert_summary(a).rfind("shadow (would block) ", 0) == 0);
  a.decision->action = "shadow";
  const auto plain = dg::gateway::alert_summary(a);
  CHECK(plain.rfind("shadow ", 0) == 0);
  CHECK(plain.find("shadow:") == std::string::npos);
  CHECK(plain.find("(shadow)") == std::string::npos);
}
