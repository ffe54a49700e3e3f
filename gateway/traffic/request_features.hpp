#pragma once
/// Feature extraction from OpenAI / Anthropic request bodies, shared by the
/// live proxy (from the raw body) and replay (from the parsed record).
/// A body that is not JSON yields `body_is_json == false`; never throws.

#include <string_view>

#include "detectors/features.hpp"

namespace simdjson::dom {
class element;
}

namespace dg::gateway {

/// Request features plus the prompt text they were read from. The text is
/// handed to detectors::PromptAnalyzer and then dropped.
struct ExtractedRequest {
  detectors::RequestFeatures features;
  detectors::PromptText text;
};

/// Parses `body` (may be empty or not JSON) sent to `path`, with a
/// thread-local simdjson parser (gateway/simd_json.hpp: same documents
/// accepted as with boost::json).
ExtractedRequest extract_request_features(std::string_view path, std::string_view body);

/// Same, from an already parsed body (replay). Resets `out` and refills it,
/// reusing the capacity of its strings: a replay loop that keeps one
/// ExtractedRequest does not allocate per record for the prompt text.
/// Duplicate keys: the last one counts, as boost::json kept it.
void extract_request_features(std::string_view path, simdjson::dom::element body, ExtractedRequest& out);

/// Convenience: a fresh ExtractedRequest.
ExtractedRequest extract_request_features(std::string_view path, simdjson::dom::element body);

}  // namespace dg::gateway
