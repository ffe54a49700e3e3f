#pragma once
/// Bodies of the errors the proxy itself produces, in the OpenAI shape
/// {"error": {"message", "type", ["param",] "code"}} so that clients show something useful.

#include <string>
#include <string_view>

namespace dg::gateway {

/// JSON text of an OpenAI-style error object; `param` (the request field at
/// fault) is written only when not empty.
std::string openai_error_body(std::string_view message, std::string_view type, std::string_view code,
                              std::string_view param = {});

/// One SSE event carrying the error, followed by the `[DONE]` terminator: how a
/// stream that must end early (output-token budget) is closed cleanly.
std::string openai_error_sse(std::string_view message, std::string_view type, std::string_view code);

}  // namespace dg::gateway
