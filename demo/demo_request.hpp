#pragma once
/// What the demo upstream understands of a request body, for each of the
/// APIs it imitates, and the parameter record it keeps of every request so
/// that tests can prove what a proxy forwarded (e.g. that "degrade" stripped
/// `logprobs`).

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dg::demo {

/// The APIs the demo upstream answers.
enum class Api { ChatCompletions, Completions, Responses, Embeddings, Messages };

/// The API served at `path` ("/v1/chat/completions", ...), if any.
std::optional<Api> api_for_path(std::string_view path) noexcept;

/// The normalised request the answer is generated from.
struct DemoRequest {
  Api api = Api::ChatCompletions;
  std::string model;
  std::string prompt;               ///< all prompt text, concatenated; hashed for the answer
  std::size_t prompt_chars = 0;     ///< characters (or 4 per pre-tokenised token)
  std::vector<std::string> inputs;  ///< embeddings: one entry per input
  std::optional<std::int64_t> max_tokens;  ///< max_tokens / max_completion_tokens / max_output_tokens
  std::int64_t n = 1;
  bool stream = false;
  bool include_usage = false;  ///< stream_options.include_usage
  bool logprobs = false;       ///< a logprobs structure is wanted
  std::int64_t top_logprobs = 0;
  std::size_t dimensions = 256;  ///< embeddings
  bool base64 = false;           ///< embeddings: encoding_format "base64"
};

/// Parses `body` for `api`. On a request the API would refuse, returns
/// nothing and sets `error` to a message for a 400 answer.
std::optional<DemoRequest> parse_demo_request(Api api, const boost::json::value& body, std::string& error);

/// The parameters of one received request, as sent (not normalised): absent
/// fields stay absent, so a test can tell "stripped" from "set to zero".
struct ReceivedRequest {
  std::string method;
  std::string path;
  std::string model;
  std::optional<std::int64_t> max_tokens;             ///< "max_tokens" or "max_output_tokens"
  std::optional<std::int64_t> max_completion_tokens;  ///< "max_completion_tokens"
  std::optional<std::int64_t> n;
  std::optional<std::int64_t> logprobs;  ///< chat: true=1/false=0; completions: the integer
  std::optional<std::int64_t> top_logprobs;
  std::optional<std::size_t> logit_bias_size;  ///< entries of "logit_bias", when present
  bool stream = false;
  bool has_authorization = false;   ///< an Authorization header reached the upstream
  bool has_api_key_header = false;  ///< an api-key or x-api-key header reached the upstream
  std::string user_agent;
  std::string x_forwarded_for;
  std::size_t body_bytes = 0;
  bool body_is_json = false;
};

/// Fills the body-derived fields of `out` from `body` (any JSON value).
void record_body_parameters(const boost::json::value& body, ReceivedRequest& out);

/// JSON form used by GET /demo/received.
boost::json::object to_json(const ReceivedRequest& r);

}  // namespace dg::demo
