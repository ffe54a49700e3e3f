#pragma once
/// Feature extraction from OpenAI / Anthropic request bodies, shared by the
/// live proxy (from the raw body) and replay (from the parsed record).
/// A body that is not JSON yields `body_is_json == false`; never throws.

#include <boost/json/fwd.hpp>

#include <string_view>

#include "detectors/features.hpp"

namespace dg::gateway {

/// Request features plus the prompt text they were read from. The text is
/// handed to detectors::PromptAnalyzer and then dropped.
struct ExtractedRequest {
  detectors::RequestFeatures features;
  detectors::PromptText text;
};

/// Parses `body` (may be empty or not JSON) sent to `path`.
ExtractedRequest extract_request_features(std::string_view path, std::string_view body);

/// Same, from an already parsed body (replay).
ExtractedRequest extract_request_features(std::string_view path, const boost::json::value& body);

}  // namespace dg::gateway
