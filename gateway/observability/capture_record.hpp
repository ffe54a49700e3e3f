#pragma once
/// The traffic record (docs/traffic-format.md) the capture log writes for one
/// finished exchange, and the redaction that keeps prompt text out of it.

#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "detectors/features.hpp"

namespace dg::gateway {

/// Redacts a request body by allow-list: only the parameters replay and the
/// detectors read keep their values (model, sampling and length parameters,
/// logprob options, logit_bias token ids and biases, reasoning and thinking
/// options, streaming options), and of the message structure only roles and
/// part types from a fixed vocabulary. Every other string becomes
/// "<redacted:N chars>" (N its length, so prompt sizes survive), and every
/// object key outside the structural vocabulary becomes "<redacted-key:I>"
/// (I its position): tool arguments, tool descriptions, `user`, `metadata`,
/// `stop`, `suffix`, `prediction`, names, outputs, whatever a future API adds.
/// Numbers and booleans are kept (token ids, indices, budgets).
void redact_request(boost::json::value& body);

/// One traffic record line (no trailing newline). `body` is the request body as
/// sent by the client (read at any nesting depth and number magnitude); not a
/// JSON object -> "request": {}. Without `include_content` it is redacted.
/// `request_id` (the exchange's x-request-id) is written when not empty.
std::string make_traffic_record(const detectors::Exchange& ex, std::string_view body, bool include_content,
                                std::string_view request_id = {});

}  // namespace dg::gateway
