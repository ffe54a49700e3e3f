#pragma once
/// The degrade action's request rewrite: remove what distils best
/// (log probabilities, logit_bias, extra samples) and cap the output length.

#include <optional>
#include <string>
#include <string_view>

#include "detectors/decision.hpp"

namespace dg::gateway {

/// Rewrites a JSON request body sent to `path`. Returns nullopt when the body
/// is not a JSON object (it is then forwarded untouched). Strips `logprobs`,
/// `top_logprobs`, `logit_bias` (and Responses' `include` of output logprobs),
/// forces `n` to 1, and caps `max_tokens`, `max_completion_tokens` and
/// `max_output_tokens`, adding the field of the endpoint when none was given.
std::optional<std::string> degrade_body(std::string_view path, std::string_view body,
                                        const detectors::DegradeParams& params);

}  // namespace dg::gateway
