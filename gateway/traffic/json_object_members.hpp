#pragma once
/// The top-level members of a JSON object, split without parsing the values:
/// each member's key is decoded (escapes included, so `"log\u0070robs"` is
/// `logprobs`), its value kept as the raw text the client sent. Nested values
/// are skipped by matching brackets outside strings, so no nesting depth or
/// number magnitude can make an object unreadable here (boost::json stops at
/// depth 32 and at exponents beyond 2^31; upstream servers need not).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dg::gateway {

struct JsonMember {
  std::string key;             ///< decoded (UTF-8)
  std::string_view raw_key;    ///< as sent, quotes included
  std::string_view raw_value;  ///< as sent, without surrounding whitespace
};

/// Members of the object `text` (whitespace around it allowed), in order,
/// duplicates kept. nullopt when `text` is not exactly one JSON object whose
/// keys are valid strings and whose values are balanced (a string, an object
/// or array with matching brackets, or a run of other characters).
std::optional<std::vector<JsonMember>> split_object_members(std::string_view text);

/// Decodes the JSON string literal `quoted` (with its quotes). nullopt when it
/// is not a valid literal (bad escape, unescaped control character, missing quote).
std::optional<std::string> decode_json_string(std::string_view quoted);

}  // namespace dg::gateway
