#pragma once
/// The fleet's wire form of a decision: one JSON text, the same bytes in the
/// Redis hash of current decisions and in the PUBLISH message
/// (docs/fleet.md, "Wire format"):
///
///   {"v":1,"instance":"api-1","actor":"operator","decision":{...decision_to_json...}}
///
/// Keys appear only as fingerprints (decision_to_json). Pure functions, no I/O.

#include <optional>
#include <string>
#include <string_view>

#include "detectors/decision.hpp"

namespace dg::gateway::fleet {

inline constexpr int kWireVersion = 1;

/// A decision as one instance shared it.
struct WireDecision {
  std::string instance;  ///< the instance that made it (state.instance)
  std::string actor;     ///< "detector" or "operator" on that instance
  detectors::Decision decision;
};

std::string encode_decision(const WireDecision& w);

/// Parses what encode_decision wrote. A message of another wire version, or
/// malformed, returns nullopt and sets `error` (never the message's text:
/// it is counted and logged by reason only).
std::optional<WireDecision> decode_decision(std::string_view text, std::string& error);

/// The actor recorded in this instance's audit log for a decision received
/// from `instance`: "fleet/<instance>/<actor>". DecisionStore listeners use
/// is_fleet_actor to tell received decisions from local ones (no re-publish,
/// no second alert).
std::string fleet_actor(std::string_view instance, std::string_view actor);
bool is_fleet_actor(std::string_view actor) noexcept;

}  // namespace dg::gateway::fleet
