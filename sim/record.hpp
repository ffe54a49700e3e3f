#pragma once
/// One simulated exchange, written as a traffic-format.md JSON line.

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>

namespace dg::sim {

struct SimRecord {
  double ts = 0;                  ///< Unix seconds; written with millisecond precision
  std::string key;                ///< the API key in clear (simulated keys only)
  std::string client_ip;
  std::string user_agent;
  std::string path = "/v1/chat/completions";
  boost::json::object request;    ///< the request body as the client sent it
  int status = 200;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  double latency_ms = 0;
};

/// Appends `r` as one JSON line (with the trailing newline) to `out`.
void append_record_line(const SimRecord& r, std::string& out);

/// Rough token count of text as an OpenAI tokenizer would report it
/// (~4 characters per token for English; at least 1 for non-empty text).
std::uint64_t estimate_tokens(std::string_view text);

/// Prompt tokens of a chat/completions/messages body: the text of every
/// message (and declared tools) plus a few tokens of per-message overhead.
std::uint64_t estimate_prompt_tokens(const boost::json::object& body);

}  // namespace dg::sim
