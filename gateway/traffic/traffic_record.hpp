#pragma once
/// One line of a traffic file (traffic-format.md), read without copying: the
/// views point into the simdjson document of the line, which must outlive
/// the record (TrafficReader: until its next line).

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "detectors/features.hpp"

namespace dg::gateway {

struct TrafficRecord {
  double ts = 0;
  std::string_view key;         ///< a key in clear or already a fingerprint
  std::string_view client_ip;   ///< empty when absent
  std::string_view user_agent;  ///< empty when absent
  std::string_view method = "POST";
  std::string_view path = "/v1/chat/completions";
  simdjson::dom::element request;  ///< the request body (an object)
  int status = 0;
  std::optional<std::uint64_t> prompt_tokens;
  std::optional<std::uint64_t> completion_tokens;
  double latency_ms = 0;
  /// The capture wrote the request with its text redacted (`"redacted": true`).
  bool redacted = false;
  /// What detection derived from the text before it was redacted
  /// (`prompt_features`), to be used instead of analysing the redacted body.
  std::optional<detectors::PromptFeatures> prompt_features;
  std::optional<std::uint64_t> prompt_chars;  ///< from `prompt_features`
};

/// Reads the fields of one parsed line. Returns false and sets `error` (a
/// reason without location, e.g. "missing required field 'ts'") when a
/// required field is absent or has the wrong type. Unknown fields are
/// ignored; of duplicate keys the last one counts (as with boost::json).
bool read_traffic_record(simdjson::dom::element line, TrafficRecord& out, std::string& error);

}  // namespace dg::gateway
