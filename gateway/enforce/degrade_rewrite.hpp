#pragma once
/// The degrade action's request rewrite: remove what distils best
/// (log probabilities, logit_bias, extra samples, a thinking budget the
/// capped output cannot hold) and cap the output length.

#include <optional>
#include <string>
#include <string_view>

#include "detectors/decision.hpp"

namespace dg::gateway {

/// Rewrites a JSON request body sent to `path`, member by member at the top
/// level (nested values are copied as sent, so no nesting depth or number
/// magnitude can stop the rewrite). Strips `logprobs`, `top_logprobs`,
/// `logit_bias` (and Responses' `include` of output logprobs), forces `n` and
/// `best_of` to 1, caps `max_tokens`, `max_completion_tokens` and
/// `max_output_tokens` (adding the endpoint's field when none was given) and
/// drops an Anthropic `thinking` whose budget the cap cannot hold. Every
/// duplicate of a member is handled, and keys are compared decoded
/// (`"log\u0070robs"` is `logprobs`).
///
/// Returns nullopt when the body is not one JSON object: such a body cannot
/// be degraded, and must not be forwarded as it is.
std::optional<std::string> degrade_body(std::string_view path, std::string_view body,
                                        const detectors::DegradeParams& params);

}  // namespace dg::gateway
