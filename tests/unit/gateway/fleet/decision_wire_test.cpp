#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "gateway/fleet/decision_wire.hpp"

using namespace dg::gateway::fleet;
using dg::detectors::Action;
using dg::detectors::Decision;
using dg::detectors::Origin;

namespace {

WireDecision sample() {
  WireDecision w;
  w.instance = "api-1";
  w.actor = "operator";
  Decision& d = w.decision;
  d.key_fp = "fp:00000000000000a1";
  d.action = Action::Throttle;
  d.rule = "";
  d.reason = "ticket SEC-9";
  d.evidence = {"312 distinct templates in 1h"};
  d.origin = Origin::Operator;
  d.created = 1764763200.123456;  // sub-second precision survives: instances compare `created`
  d.expires = 1764766800.5;
  d.offense_count = 2;
  d.block_count = 1;
  d.risk = 0.875;
  d.campaign = "c-7";
  d.throttle_rpm = 30;
  d.throttle_burst = 5;
  d.output_token_budget = 50000;
  return w;
}

}  // namespace

TEST_CASE("fleet wire: a decision round-trips with its instance and actor, created exactly", "[fleet][wire]") {
  const auto w = sample();
  const auto text = encode_decision(w);
  const auto v = boost::json::parse(text).as_object();
  CHECK(v.at("v").as_int64() == kWireVersion);
  CHECK(v.at("instance") == "api-1");
  CHECK(v.at("actor") == "operator");
  CHECK(v.at("decision").at("key_fp") == "fp:00000000000000a1");

  std::string error;
  const auto back = decode_decision(text, error);
  REQUIRE(back);
  CHECK(error.empty());
  CHECK(back->instance == "api-1");
  CHECK(back->actor == "operator");
  const auto& d = back->decision;
  CHECK(d.key_fp == w.decision.key_fp);
  CHECK(d.action == Action::Throttle);
  CHECK(d.origin == Origin::Operator);
  CHECK(d.reason == "ticket SEC-9");
  CHECK(d.evidence == w.decision.evidence);
  CHECK(d.created == w.decision.created);  // bit-exact: equal `created` means the same decision
  CHECK(d.expires == w.decision.expires);
  CHECK(d.offense_count == 2);
  CHECK(d.block_count == 1);
  CHECK(d.risk == 0.875);
  CHECK(d.campaign == "c-7");
  CHECK(d.throttle_rpm == 30);
  CHECK(d.throttle_burst == 5);
  CHECK(d.output_token_budget == 50000);
}

TEST_CASE("fleet wire: a block and a lift round-trip", "[fleet][wire]") {
  auto w = sample();
  w.decision.action = Action::Block;
  w.decision.expires = 0;
  std::string error;
  auto back = decode_decision(encode_decision(w), error);
  REQUIRE(back);
  CHECK(back->decision.action == Action::Block);
  CHECK(back->decision.expires == 0);
  w.decision.action = Action::Allow;
  back = decode_decision(encode_decision(w), error);
  REQUIRE(back);
  CHECK(back->decision.action == Action::Allow);
  CHECK(back->decision.origin == Origin::Operator);
}

TEST_CASE("fleet wire: malformed messages and other versions are refused with a reason", "[fleet][wire]") {
  std::string error;
  CHECK_FALSE(decode_decision("", error));
  CHECK(error == "not a JSON object");
  CHECK_FALSE(decode_decision("[1,2]", error));
  CHECK_FALSE(decode_decision(R"({"v":2,"instance":"a","actor":"operator","decision":{}})", error));
  CHECK(error == "unknown wire version");
  CHECK_FALSE(decode_decision(R"({"v":1,"actor":"operator","decision":{"key_fp":"fp:1"}})", error));
  CHECK(error == "missing instance, actor or decision");
  CHECK_FALSE(decode_decision(R"({"v":1,"instance":"","actor":"operator","decision":{"key_fp":"fp:1"}})", error));
  CHECK_FALSE(decode_decision(R"({"v":1,"instance":"a","actor":"operator","decision":{"action":"block"}})", error));
  CHECK(error.find("key_fp") != std::string::npos);
  CHECK_FALSE(decode_decision(R"({"v":1,"instance":"a","actor":"operator","decision":{"key_fp":"fp:1","action":"explode"}})",
                              error));
}

TEST_CASE("fleet wire: received decisions carry a fleet actor naming the origin instance", "[fleet][wire]") {
  CHECK(fleet_actor("api-2", "operator") == "fleet/api-2/operator");
  CHECK(is_fleet_actor(fleet_actor("api-2", "detector")));
  CHECK_FALSE(is_fleet_actor("operator"));
  CHECK_FALSE(is_fleet_actor("detector"));
}
