#include "gateway/traffic/traffic_record.hpp"

#include "gateway/traffic/simd_json.hpp"

#include <cmath>
#include <cstdint>

namespace dg::gateway {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr double kMaxAbsTs = 1e11;

bool is_null(const element* v) noexcept { return v->type() == element_type::NULL_VALUE; }

// simdjson types integers as int64 when they fit, else uint64; anything with
// a fraction or exponent is a double, as boost::json does.
bool number_of(element v, double& out) noexcept {
  switch (v.type()) {
    case element_type::DOUBLE: out = json_as<double>(v); break;
    case element_type::INT64: out = static_cast<double>(json_as<std::int64_t>(v)); break;
    case element_type::UINT64: out = static_cast<double>(json_as<std::uint64_t>(v)); break;
    default: return false;
  }
  return std::isfinite(out);
}

bool count_of(element v, std::uint64_t& out) noexcept {
  switch (v.type()) {
    case element_type::INT64: {
      const auto i = json_as<std::int64_t>(v);
      if (i < 0) return false;
      out = static_cast<std::uint64_t>(i);
      return true;
    }
    case element_type::UINT64: out = json_as<std::uint64_t>(v); return true;
    case element_type::DOUBLE: {
      const auto d = json_as<double>(v);
      // 2^64 and above do not fit (the cast would be undefined): an error.
      if (!(d >= 0) || !(d < 18446744073709551616.0)) return false;
      out = static_cast<std::uint64_t>(d);
      return true;
    }
    default: return false;
  }
}

bool optional_string(const element* v, std::string_view name, std::string_view& out, std::string& error) {
  if (!v || is_null(v)) return true;
  if (v->type() != element_type::STRING) {
    error = "field '" + std::string(name) + "' must be a string";
    return false;
  }
  out = json_as<std::string_view>(*v);
  return true;
}

struct Line {
  enum : std::size_t { Ts, Key, Request, Response, ClientIp, UserAgent, Method, Path, Redacted, Features, Count };
  static constexpr std::array<std::string_view, Count> kNames = {
      "ts", "key", "request", "response", "client_ip", "user_agent", "method", "path", "redacted", "prompt_features"};
};

struct Features {
  enum : std::size_t { Template, System, Content, Normalized, Markers, AsksReasoning, StatesAnswer, PromptChars, Count };
  static constexpr std::array<std::string_view, Count> kNames = {
      "template_signature", "system_prompt_hash", "content_hash",  "normalized_chars",
      "reasoning_markers",  "asks_reasoning_for_answer", "states_answer", "prompt_chars"};
};

/// 1 to 16 hex digits.
bool hex64_of(const element* v, std::uint64_t& out) noexcept {
  if (!v || v->type() != element_type::STRING) return false;
  const auto s = json_as<std::string_view>(*v);
  if (s.empty() || s.size() > 16) return false;
  out = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    out = out << 4 | static_cast<std::uint64_t>(d);
  }
  return true;
}

bool bool_of(const element* v, bool& out) noexcept {
  if (!v || v->type() != element_type::BOOL) return false;
  out = json_as<bool>(*v);
  return true;
}

/// `prompt_features` as make_traffic_record writes it; every field required.
bool read_prompt_features(element v, TrafficRecord& out, std::string& error) {
  object o;
  if (v.get(o) != simdjson::SUCCESS) {
    error = "field 'prompt_features' must be an object";
    return false;
  }
  const JsonFields<Features::Count> f(o, Features::kNames);
  detectors::PromptFeatures p;
  std::uint64_t normalized = 0, markers = 0, chars = 0;
  const bool ok = hex64_of(f[Features::Template], p.template_signature) &&
                  hex64_of(f[Features::System], p.system_prompt_hash) &&
                  hex64_of(f[Features::Content], p.content_hash) && f[Features::Normalized] &&
                  count_of(*f[Features::Normalized], normalized) && normalized <= UINT32_MAX &&
                  f[Features::Markers] && count_of(*f[Features::Markers], markers) && markers <= 255 &&
                  bool_of(f[Features::AsksReasoning], p.asks_reasoning_for_answer) &&
                  bool_of(f[Features::StatesAnswer], p.states_answer) && f[Features::PromptChars] &&
                  count_of(*f[Features::PromptChars], chars);
  if (!ok) {
    error = "field 'prompt_features' must hold the fields the capture writes (hashes as hex strings, counts, flags)";
    return false;
  }
  p.normalized_chars = static_cast<std::uint32_t>(normalized);
  p.reasoning_markers = static_cast<std::uint8_t>(markers);
  out.prompt_features = p;
  out.prompt_chars = chars;
  return true;
}

struct Response {
  enum : std::size_t { Status, PromptTokens, CompletionTokens, LatencyMs, Count };
  static constexpr std::array<std::string_view, Count> kNames = {"status", "prompt_tokens", "completion_tokens",
                                                                 "latency_ms"};
};

}  // namespace

bool read_traffic_record(element line, TrafficRecord& out, std::string& error) {
  out = TrafficRecord{};
  object root;
  if (line.get(root) != simdjson::SUCCESS) {
    error = "line is not a JSON object";
    return false;
  }
  const JsonFields<Line::Count> o(root, Line::kNames);
  const element* ts = o[Line::Ts];
  if (!ts) {
    error = "missing required field 'ts'";
    return false;
  }
  if (!number_of(*ts, out.ts)) {
    error = "field 'ts' must be a number (Unix seconds)";
    return false;
  }
  // Detection turns times into integer buckets, dates and counts: a time
  // beyond any clock (5e78 s) would overflow them. 1e11 s is about 3,000 years.
  if (std::abs(out.ts) > kMaxAbsTs) {
    error = "field 'ts' must be a Unix time in seconds (at most 1e11 in magnitude)";
    return false;
  }
  const element* key = o[Line::Key];
  if (!key) {
    error = "missing required field 'key'";
    return false;
  }
  // "" is an exchange without an accepted credential (the proxy's capture
  // writes its 401s and 400s so): a valid record that no key owns.
  if (key->type() != element_type::STRING) {
    error = "field 'key' must be a string";
    return false;
  }
  out.key = json_as<std::string_view>(*key);
  const element* request = o[Line::Request];
  if (!request) {
    error = "missing required field 'request'";
    return false;
  }
  if (request->type() != element_type::OBJECT) {
    error = "field 'request' must be an object";
    return false;
  }
  out.request = *request;
  const element* response = o[Line::Response];
  if (!response) {
    error = "missing required field 'response'";
    return false;
  }
  object response_object;
  if (response->get(response_object) != simdjson::SUCCESS) {
    error = "field 'response' must be an object";
    return false;
  }
  const JsonFields<Response::Count> ro(response_object, Response::kNames);
  const element* status = ro[Response::Status];
  std::uint64_t st = 0;
  if (!status) {
    error = "missing required field 'response.status'";
    return false;
  }
  if (!count_of(*status, st) || st > 999) {
    error = "field 'response.status' must be an HTTP status code";
    return false;
  }
  out.status = static_cast<int>(st);
  std::uint64_t n = 0;
  if (const element* pt = ro[Response::PromptTokens]; pt && !is_null(pt)) {
    if (!count_of(*pt, n)) {
      error = "field 'response.prompt_tokens' must be a non-negative integer";
      return false;
    }
    out.prompt_tokens = n;
  }
  if (const element* ct = ro[Response::CompletionTokens]; ct && !is_null(ct)) {
    if (!count_of(*ct, n)) {
      error = "field 'response.completion_tokens' must be a non-negative integer";
      return false;
    }
    out.completion_tokens = n;
  }
  if (const element* lat = ro[Response::LatencyMs]; lat && !is_null(lat)) {
    if (!number_of(*lat, out.latency_ms)) {
      error = "field 'response.latency_ms' must be a number";
      return false;
    }
  }
  if (const element* r = o[Line::Redacted]; r && !is_null(r) && !bool_of(r, out.redacted)) {
    error = "field 'redacted' must be a boolean";
    return false;
  }
  if (const element* pf = o[Line::Features]; pf && !is_null(pf) && !read_prompt_features(*pf, out, error)) return false;
  return optional_string(o[Line::ClientIp], "client_ip", out.client_ip, error) &&
         optional_string(o[Line::UserAgent], "user_agent", out.user_agent, error) &&
         optional_string(o[Line::Method], "method", out.method, error) &&
         optional_string(o[Line::Path], "path", out.path, error);
}

}  // namespace dg::gateway
