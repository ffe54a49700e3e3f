#include "gateway/fleet/decision_wire.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/decisions/decision_json.hpp"

namespace dg::gateway::fleet {

namespace json = boost::json;

namespace {
constexpr std::string_view kActorPrefix = "fleet/";
}

std::string encode_decision(const WireDecision& w) {
  json::object o;
  o["v"] = kWireVersion;
  o["instance"] = w.instance;
  o["actor"] = w.actor;
  o["decision"] = decision_to_json(w.decision);
  return json::serialize(o);
}

std::optional<WireDecision> decode_decision(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  const auto& o = v.get_object();
  const auto* version = o.if_contains("v");
  if (!version || !version->is_int64() || version->get_int64() != kWireVersion) {
    error = "unknown wire version";
    return std::nullopt;
  }
  const auto* instance = o.if_contains("instance");
  const auto* actor = o.if_contains("actor");
  const auto* decision = o.if_contains("decision");
  if (!instance || !instance->is_string() || instance->get_string().empty() || !actor || !actor->is_string() ||
      !decision) {
    error = "missing instance, actor or decision";
    return std::nullopt;
  }
  auto d = decision_from_json(*decision, error);
  if (!d) return std::nullopt;
  if (d->key_fp.empty()) {
    error = "decision without key_fp";
    return std::nullopt;
  }
  WireDecision w;
  w.instance = std::string(instance->get_string());
  w.actor = std::string(actor->get_string());
  w.decision = std::move(*d);
  return w;
}

std::string fleet_actor(std::string_view instance, std::string_view actor) {
  std::string out(kActorPrefix);
  out.append(instance).append("/").append(actor);
  return out;
}

bool is_fleet_actor(std::string_view actor) noexcept { return actor.starts_with(kActorPrefix); }

}  // namespace dg::gateway::fleet
