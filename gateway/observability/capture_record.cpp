#include "gateway/observability/capture_record.hpp"

#include <cstdio>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <cmath>

#include "gateway/files/json_text.hpp"
#include "gateway/traffic/simd_json.hpp"

namespace dg::gateway {

namespace json = boost::json;

namespace {

/// Top-level parameters kept as sent when they are scalars (a string only
/// when it is a short identifier: model names, effort levels, tiers).
constexpr std::array<std::string_view, 28> kScalarParameters{
    "model", "temperature", "top_p", "top_k", "n", "best_of", "max_tokens", "max_completion_tokens",
    "max_output_tokens", "logprobs", "top_logprobs", "stream", "seed", "presence_penalty", "frequency_penalty",
    "echo", "store", "parallel_tool_calls", "service_tier", "reasoning_effort", "truncation", "background",
    "min_p", "repetition_penalty", "max_tool_calls", "verbosity", "modalities", "tool_choice"};

/// Top-level parameters whose objects are kept, with the same rule inside
/// (their keys are the API's own; their strings identifiers).
constexpr std::array<std::string_view, 7> kStructuredParameters{
    "reasoning", "thinking", "stream_options", "response_format", "include", "text", "audio"};

/// Keys of the message and content structure: kept as keys (their values are
/// still redacted, except roles and part types).
constexpr std::array<std::string_view, 34> kStructuralKeys{
    "messages", "input", "prompt", "system", "instructions", "content", "role", "type", "text", "name",
    "tool_calls", "tool_call_id", "function", "arguments", "id", "call_id", "output", "image_url", "url",
    "detail", "source", "media_type", "data", "input_text", "tool_use_id", "is_error", "cache_control",
    "tools", "functions", "description", "parameters", "input_schema", "refusal", "summary"};

/// Keys inside the structured parameters whose identifier values are kept
/// (`reasoning.effort`, `response_format.type`...), and which are kept as keys.
constexpr std::array<std::string_view, 9> kOptionKeys{
    "type", "effort", "summary", "generate_summary", "voice", "format", "budget_tokens", "include_usage", "strict"};

constexpr std::array<std::string_view, 6> kRoles{"system", "user", "assistant", "tool", "developer", "function"};

constexpr std::array<std::string_view, 22> kPartTypes{
    "text", "image_url", "input_text", "output_text", "input_image", "input_file", "input_audio", "image",
    "document", "tool_use", "tool_result", "function", "function_call", "function_call_output", "message",
    "thinking", "redacted_thinking", "reasoning", "file", "refusal", "custom", "web_search"};

template <std::size_t N>
bool in(const std::array<std::string_view, N>& set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

/// A short identifier ("gpt-4o", "high", "claude-3-5-sonnet-20241022"):
/// no spaces, nothing a sentence is made of.
bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == ':' || c == '/' || c == '@';
  });
}

json::string redacted(std::size_t size) { return json::string("<redacted:" + std::to_string(size) + " chars>"); }

enum class Keep : std::uint8_t { Nothing, Identifiers };

/// Redacts `v` in place: strings (unless `keep` allows identifiers: then
/// identifiers stay, in arrays and under kOptionKeys), and object keys outside
/// the structural and option vocabularies.
void redact_value(json::value& v, Keep keep) {
  switch (v.kind()) {
    case json::kind::string:
      if (keep != Keep::Identifiers || !is_identifier(v.get_string())) v = redacted(v.get_string().size());
      return;
    case json::kind::array:
      for (auto& item : v.get_array()) redact_value(item, keep);
      return;
    case json::kind::object: {
      json::object out;
      std::size_t index = 0;
      for (auto& kv : v.get_object()) {
        const std::string_view key = kv.key();
        json::value value = std::move(kv.value());
        const bool enum_valued = (key == "role" && value.is_string() && in(kRoles, value.get_string())) ||
                                 (key == "type" && value.is_string() && in(kPartTypes, value.get_string()));
        const bool option = keep == Keep::Identifiers && in(kOptionKeys, key);
        if (!enum_valued) redact_value(value, option ? Keep::Identifiers : Keep::Nothing);
        const bool key_kept = in(kStructuralKeys, key) || option;
        out[key_kept ? json::string(key) : json::string("<redacted-key:" + std::to_string(index) + ">")] = std::move(value);
        ++index;
      }
      v = std::move(out);
      return;
    }
    default:
      return;  // numbers, booleans, null
  }
}

/// boost::json writes infinities (1e400 reads as one) as `Infinity`, which
/// is not JSON: written as the strings simd_json.hpp reads them as.
void finite_numbers(json::value& v) {
  if (v.is_double() && !std::isfinite(v.get_double())) v = v.get_double() > 0 ? "Infinity" : "-Infinity";
  else if (v.is_array())
    for (auto& item : v.get_array()) finite_numbers(item);
  else if (v.is_object())
    for (auto& kv : v.get_object()) finite_numbers(kv.value());
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void redact_request(json::value& body) {
  if (!body.is_object()) {
    redact_value(body, Keep::Nothing);
    return;
  }
  json::object out;
  std::size_t index = 0;
  for (auto& kv : body.get_object()) {
    const std::string_view key = kv.key();
    json::value value = std::move(kv.value());
    std::string out_key(key);
    if (in(kScalarParameters, key)) {
      if (value.is_string()) {
        if (!is_identifier(value.get_string())) value = redacted(value.get_string().size());
      } else if (!value.is_primitive()) {
        redact_value(value, Keep::Identifiers);
      }
    } else if (in(kStructuredParameters, key)) {
      redact_value(value, Keep::Identifiers);
    } else if (key == "logit_bias" && value.is_object()) {
      // Token ids and biases: what logit_bias detection reads, no text.
      json::object bias;
      for (auto& b : value.get_object())
        if (all_digits(b.key()) && b.value().is_number()) bias[b.key()] = b.value();
      value = std::move(bias);
    } else {
      redact_value(value, Keep::Nothing);
      if (!in(kStructuralKeys, key)) out_key = "<redacted-key:" + std::to_string(index) + ">";
    }
    out[out_key] = std::move(value);
    ++index;
  }
  body = std::move(out);
}

namespace {

json::object prompt_features_json(const detectors::RequestFeatures& r) {
  const auto hex = [](std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return json::string(buf);
  };
  const auto& p = r.prompt;
  json::object o;
  o["template_signature"] = hex(p.template_signature);
  o["system_prompt_hash"] = hex(p.system_prompt_hash);
  o["content_hash"] = hex(p.content_hash);
  o["normalized_chars"] = p.normalized_chars;
  o["reasoning_markers"] = p.reasoning_markers;
  o["asks_reasoning_for_answer"] = p.asks_reasoning_for_answer;
  o["states_answer"] = p.states_answer;
  o["prompt_chars"] = r.prompt_chars;
  return o;
}

}  // namespace

std::string make_traffic_record(const detectors::Exchange& ex, std::string_view body, bool include_content,
                                std::string_view request_id) {
  json::object rec;
  rec["ts"] = ex.ts;
  if (!request_id.empty()) rec["request_id"] = request_id;
  rec["key"] = ex.key_fp;
  if (!ex.client_ip.empty()) rec["client_ip"] = ex.client_ip;
  if (!ex.user_agent.empty()) rec["user_agent"] = ex.user_agent;
  rec["method"] = ex.method;
  rec["path"] = ex.path;
  if (!ex.tenant.empty()) rec["tenant"] = ex.tenant;
  json::value request = json::object();
  if (!body.empty()) {
    // As extraction reads it: nesting far beyond boost::json's default of 32,
    // exponents beyond its range (simd_json.hpp).
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = kJsonMaxDepth - 1;
    const auto clamped = clamp_extreme_exponents(body);
    json::value parsed = json::parse(clamped ? std::string_view(*clamped) : body, ec, {}, options);
    if (!ec && parsed.is_object()) request = std::move(parsed);
  }
  if (!include_content) {
    redact_request(request);
    // What detection derived from the text, so replaying the redacted
    // capture sees the same prompt features as the proxy did.
    rec["redacted"] = true;
    rec["prompt_features"] = prompt_features_json(ex.request);
  }
  finite_numbers(request);
  rec["request"] = std::move(request);
  json::object resp;
  resp["status"] = ex.response.status;
  resp["prompt_tokens"] = ex.response.prompt_tokens;
  resp["completion_tokens"] = ex.response.completion_tokens;
  if (ex.response.usage_estimated) resp["usage_estimated"] = true;
  resp["latency_ms"] = ex.response.latency_ms;
  rec["response"] = std::move(resp);
  return to_json_text(rec);
}

}  // namespace dg::gateway
