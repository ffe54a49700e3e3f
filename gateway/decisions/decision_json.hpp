#pragma once
/// JSON form of a Decision, shared by the journal, the audit log, the admin
/// API and replay output. Keys are fingerprints only.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>

#include "detectors/decision.hpp"

namespace dg::gateway {

boost::json::object decision_to_json(const detectors::Decision& d);

/// Parses what decision_to_json wrote; on failure returns nullopt and sets `error`.
std::optional<detectors::Decision> decision_from_json(const boost::json::value& v, std::string& error);

}  // namespace dg::gateway
