#include "gateway/decisions/decision_json.hpp"

#include <boost/json/serialize.hpp>

namespace dg::gateway {

namespace json = boost::json;
using detectors::Decision;

json::object decision_to_json(const Decision& d) {
  json::object o;
  o["key_fp"] = d.key_fp;
  o["action"] = detectors::to_string(d.action);
  if (d.intended != d.action) o["intended"] = detectors::to_string(d.intended);
  if (!d.rule.empty()) o["rule"] = d.rule;
  o["reason"] = d.reason;
  json::array ev;
  for (const auto& e : d.evidence) ev.emplace_back(e);
  o["evidence"] = std::move(ev);
  o["origin"] = detectors::to_string(d.origin);
  o["created"] = d.created;
  o["expires"] = d.expires;
  o["offense_count"] = d.offense_count;
  o["block_count"] = d.block_count;
  o["risk"] = d.risk;
  if (!d.campaign.empty()) o["campaign"] = d.campaign;
  if (d.action == detectors::Action::Throttle || d.intended == detectors::Action::Throttle) {
    o["throttle_rpm"] = d.throttle_rpm;
    o["throttle_burst"] = d.throttle_burst;
  }
  if (d.action == detectors::Action::Degrade || d.intended == detectors::Action::Degrade) {
    json::object g;
    g["max_tokens"] = d.degrade.max_tokens;
    g["strip_logprobs"] = d.degrade.strip_logprobs;
    g["strip_logit_bias"] = d.degrade.strip_logit_bias;
    g["force_single_choice"] = d.degrade.force_single_choice;
    o["degrade"] = std::move(g);
  }
  if (d.output_token_budget > 0) o["output_token_budget"] = d.output_token_budget;
  return o;
}

namespace {

double num(const json::object& o, std::string_view k, double fallback = 0) {
  auto it = o.find(k);
  if (it == o.end()) return fallback;
  if (auto d = it->value().if_double()) return *d;
  if (auto i = it->value().if_int64()) return static_cast<double>(*i);
  if (auto u = it->value().if_uint64()) return static_cast<double>(*u);
  return fallback;
}

std::string str(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

bool flag(const json::object& o, std::string_view k, bool fallback) {
  auto it = o.find(k);
  if (it == o.end() || !it->value().is_bool()) return fallback;
  return it->value().get_bool();
}

}  // namespace

std::optional<Decision> decision_from_json(const json::value& v, std::string& error) {
  const auto* o = v.if_object();
  if (!o) {
    error = "decision is not a JSON object";
    return std::nullopt;
  }
  Decision d;
  d.key_fp = str(*o, "key_fp");
  if (d.key_fp.empty()) {
    error = "decision without key_fp";
    return std::nullopt;
  }
  auto action = detectors::action_from_string(str(*o, "action"));
  if (!action) {
    error = "decision with unknown action '" + str(*o, "action") + "'";
    return std::nullopt;
  }
  d.action = *action;
  d.intended = detectors::action_from_string(str(*o, "intended")).value_or(d.action);
  d.rule = str(*o, "rule");
  d.reason = str(*o, "reason");
  if (auto it = o->find("evidence"); it != o->end() && it->value().is_array())
    for (const auto& e : it->value().get_array())
      if (e.is_string()) d.evidence.emplace_back(e.get_string());
  d.origin = detectors::origin_from_string(str(*o, "origin")).value_or(detectors::Origin::Detector);
  d.created = num(*o, "created");
  d.expires = num(*o, "expires");
  d.offense_count = static_cast<std::uint32_t>(num(*o, "offense_count", 1));
  d.block_count = static_cast<std::uint32_t>(num(*o, "block_count", 0));
  d.risk = num(*o, "risk");
  d.campaign = str(*o, "campaign");
  d.throttle_rpm = num(*o, "throttle_rpm");
  d.throttle_burst = num(*o, "throttle_burst");
  if (auto it = o->find("degrade"); it != o->end() && it->value().is_object()) {
    const auto& g = it->value().get_object();
    d.degrade.max_tokens = static_cast<std::int64_t>(num(g, "max_tokens", 0));
    d.degrade.strip_logprobs = flag(g, "strip_logprobs", true);
    d.degrade.strip_logit_bias = flag(g, "strip_logit_bias", true);
    d.degrade.force_single_choice = flag(g, "force_single_choice", true);
  }
  d.output_token_budget = static_cast<std::uint64_t>(num(*o, "output_token_budget", 0));
  return d;
}

}  // namespace dg::gateway
