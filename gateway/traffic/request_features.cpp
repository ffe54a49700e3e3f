#include "gateway/traffic/request_features.hpp"

#include "detectors/hash.hpp"
#include "gateway/traffic/simd_json.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dg::gateway {
using detectors::Endpoint;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

// Accessors for elements whose type was checked: get() cannot fail then.
std::string_view as_string(element e) noexcept {
  std::string_view s;
  return e.get(s) == simdjson::SUCCESS ? s : std::string_view{};
}
array as_array(element e) noexcept { return json_as<array>(e); }
object as_object(element e) noexcept { return json_as<object>(e); }
bool is(const element* v, element_type t) noexcept { return v && v->type() == t; }
bool is_empty(array a) noexcept { return a.begin() == a.end(); }

struct Body {
  enum : std::size_t {
    Model, Temperature, TopP, Stream, N, MaxCompletionTokens, MaxTokens, MaxOutputTokens, Tools, Functions,
    LogitBias, Messages, Logprobs, TopLogprobs, ReasoningEffort, Prompt, BestOf, Instructions, Input, Include,
    Reasoning, System, Thinking, Count
  };
  static constexpr std::array<std::string_view, Count> kNames = {
      "model", "temperature", "top_p", "stream", "n", "max_completion_tokens", "max_tokens", "max_output_tokens",
      "tools", "functions", "logit_bias", "messages", "logprobs", "top_logprobs", "reasoning_effort", "prompt",
      "best_of", "instructions", "input", "include", "reasoning", "system", "thinking"};
};
using BodyFields = JsonFields<Body::Count>;

std::optional<double> number(const element* v) noexcept {
  if (!v) return std::nullopt;
  switch (v->type()) {
    case element_type::DOUBLE: return json_as<double>(*v);
    case element_type::INT64: return static_cast<double>(json_as<std::int64_t>(*v));
    case element_type::UINT64: return static_cast<double>(json_as<std::uint64_t>(*v));
    default: return std::nullopt;
  }
}

std::optional<std::int64_t> integer(const element* v) noexcept {
  if (!v) return std::nullopt;
  switch (v->type()) {
    case element_type::INT64: return json_as<std::int64_t>(*v);
    case element_type::UINT64:
      return static_cast<std::int64_t>(std::min<std::uint64_t>(json_as<std::uint64_t>(*v), INT64_MAX));
    case element_type::DOUBLE: {
      // Saturate: casting a double outside int64's range is undefined.
      const double d = json_as<double>(*v);
      if (d >= 9223372036854775807.0) return INT64_MAX;
      if (d <= -9223372036854775808.0) return INT64_MIN;
      return static_cast<std::int64_t>(d);
    }
    default: return std::nullopt;
  }
}

bool truthy(const element* v) noexcept {
  if (!v) return false;
  if (v->type() == element_type::BOOL) return json_as<bool>(*v);
  if (auto n = number(v)) return *n != 0;
  return false;
}

std::string_view str(const element* v) noexcept {
  return is(v, element_type::STRING) ? as_string(*v) : std::string_view{};
}

void append_text(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out.push_back('\n');
  out.append(text);
}

/// Appends the text of a content value: a string, or an array of parts
/// ({"type":"text","text":...}, {"type":"input_text",...}, Anthropic blocks
/// including tool_result whose content nests again).
void collect_text(element content, std::string& out, int depth = 0) {
  if (depth > 8) return;  // hostile nesting
  switch (content.type()) {
    case element_type::STRING: append_text(out, as_string(content)); return;
    case element_type::ARRAY:
      for (const element part : as_array(content)) collect_text(part, out, depth + 1);
      return;
    case element_type::OBJECT: {
      const JsonFields<2> part(as_object(content), {"text", "content"});
      if (auto t = str(part[0]); !t.empty()) append_text(out, t);
      if (const element* c = part[1]) collect_text(*c, out, depth + 1);
      return;
    }
    default: return;
  }
}

void count_role(detectors::RequestFeatures& f, std::string_view role) {
  if (same_key(role, "system") || same_key(role, "developer")) ++f.system_turns;
  else if (same_key(role, "user")) ++f.user_turns;
  else if (same_key(role, "assistant") || same_key(role, "model")) ++f.assistant_turns;
  else if (same_key(role, "tool") || same_key(role, "function")) ++f.tool_turns;
}

/// Anthropic user turns that only carry tool_result blocks are tool turns.
bool is_tool_result_turn(element content) noexcept {
  if (content.type() != element_type::ARRAY) return false;
  const array parts = as_array(content);
  if (is_empty(parts)) return false;
  for (const element part : parts) {
    if (part.type() != element_type::OBJECT) return false;
    const JsonFields<1> type(as_object(part), {"type"});
    if (str(type[0]) != "tool_result") return false;
  }
  return true;
}

/// The text of one message, reused across messages and records: the replay
/// loop makes no allocation per message once it has seen the longest one.
std::string& scratch_text() {
  thread_local std::string text;
  return text;
}

/// Chat-style message list (chat/completions, messages, responses input items).
void read_messages(array messages, ExtractedRequest& out) {
  auto& f = out.features;
  std::string& text = scratch_text();
  for (const element m : messages) {
    ++f.messages;
    if (m.type() != element_type::OBJECT) {
      if (m.type() == element_type::STRING) {  // responses `input` may list bare strings
        const std::string_view s = as_string(m);
        ++f.user_turns;
        out.text.last_user.assign(s);
        f.prompt_chars += s.size();
      }
      continue;
    }
    enum : std::size_t { Role, Type, Content, Output };
    const JsonFields<4> o(as_object(m), {"role", "type", "content", "output"});
    std::string_view role = str(o[Role]);
    const std::string_view type = str(o[Type]);
    if (role.empty() && (same_key(type, "function_call_output") || same_key(type, "function_call"))) role = "tool";
    const element* content = o[Content];
    if (same_key(role, "user") && content && is_tool_result_turn(*content)) role = "tool";
    count_role(f, role);
    const element* output = o[Output];
    const bool tool_output = output && same_key(role, "tool");
    std::string_view turn;
    if (content && content->type() == element_type::STRING && !tool_output) {
      turn = as_string(*content);  // the common case: no copy (earlier turns are only counted)
    } else {
      text.clear();
      if (content) collect_text(*content, text);
      if (tool_output) collect_text(*output, text);
      turn = text;
    }
    f.prompt_chars += turn.size();
    if (same_key(role, "system") || same_key(role, "developer")) append_text(out.text.system, turn);
    else if (same_key(role, "user")) out.text.last_user.assign(turn);
  }
}

/// Distinct keys of logit_bias (boost::json kept one of duplicate keys).
void read_logit_bias(const BodyFields& body, detectors::RequestFeatures& f) {
  const element* lb = body[Body::LogitBias];
  if (!is(lb, element_type::OBJECT)) return;
  thread_local std::vector<std::string_view> keys;
  keys.clear();
  for (const auto kv : as_object(*lb)) keys.push_back(kv.key);
  if (keys.size() > 1) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  }
  std::uint64_t h = 0;
  for (std::string_view key : keys) {
    // Sum of per-token hashes: independent of key order. hash_bytes is
    // stable across builds (capture logs are replayed by later versions).
    h += detectors::hash_bytes(key);
  }
  f.logit_bias_size = static_cast<std::uint32_t>(keys.size());
  f.logit_bias_hash = f.logit_bias_size ? (h | 1) : 0;
}

bool non_empty_array(const element* v) noexcept { return is(v, element_type::ARRAY) && !is_empty(as_array(*v)); }

void read_common(const BodyFields& body, detectors::RequestFeatures& f) {
  f.model.assign(str(body[Body::Model]));
  f.temperature = number(body[Body::Temperature]);
  f.top_p = number(body[Body::TopP]);
  f.stream = truthy(body[Body::Stream]);
  if (auto n = integer(body[Body::N]); n && *n > 0)
    f.n = static_cast<std::uint32_t>(std::min<std::int64_t>(*n, 1 << 20));
  for (auto name : {Body::MaxCompletionTokens, Body::MaxTokens, Body::MaxOutputTokens}) {
    if (auto v = integer(body[name])) {
      f.max_tokens = v;
      break;
    }
  }
  if (non_empty_array(body[Body::Tools]) || non_empty_array(body[Body::Functions])) f.has_tools = true;
  read_logit_bias(body, f);
}

void read_chat(const BodyFields& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (const element* m = body[Body::Messages]; is(m, element_type::ARRAY)) read_messages(as_array(*m), out);
  f.logprobs = truthy(body[Body::Logprobs]);
  if (auto v = integer(body[Body::TopLogprobs]); v && *v > 0) {
    f.top_logprobs = static_cast<std::uint32_t>(std::min<std::int64_t>(*v, UINT32_MAX));
    f.logprobs = true;
  }
  f.reasoning_effort.assign(str(body[Body::ReasoningEffort]));
}

void read_completions(const BodyFields& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (const element* p = body[Body::Prompt]) {
    std::string& text = out.text.last_user;
    text.clear();
    if (p->type() == element_type::STRING) {
      text.assign(as_string(*p));
    } else if (p->type() == element_type::ARRAY) {
      const array items = as_array(*p);
      for (const element item : items)
        if (item.type() == element_type::STRING) text.assign(as_string(item));  // the last prompt of a batch
      f.messages = static_cast<std::uint32_t>(array_size(items));
    }
    f.prompt_chars = text.size();
    if (!f.messages) f.messages = 1;
    f.user_turns = 1;
  }
  // Legacy completions: `logprobs` is an integer (the number of top tokens).
  if (auto v = integer(body[Body::Logprobs]); v && *v > 0) {
    f.logprobs = true;
    f.top_logprobs = static_cast<std::uint32_t>(std::min<std::int64_t>(*v, UINT32_MAX));
  }
  if (auto best_of = integer(body[Body::BestOf]); best_of && *best_of > static_cast<std::int64_t>(f.n))
    f.n = static_cast<std::uint32_t>(std::min<std::int64_t>(*best_of, 1 << 20));
}

void read_responses(const BodyFields& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto instr = str(body[Body::Instructions]); !instr.empty()) {
    ++f.system_turns;
    out.text.system.assign(instr);
    f.prompt_chars += instr.size();
  }
  if (const element* in = body[Body::Input]) {
    if (in->type() == element_type::STRING) {
      const std::string_view s = as_string(*in);
      f.messages = 1;
      f.user_turns = 1;
      out.text.last_user.assign(s);
      f.prompt_chars += s.size();
    } else if (in->type() == element_type::ARRAY) {
      read_messages(as_array(*in), out);
    }
  }
  if (auto v = integer(body[Body::TopLogprobs]); v && *v > 0) {
    f.top_logprobs = static_cast<std::uint32_t>(std::min<std::int64_t>(*v, UINT32_MAX));
    f.logprobs = true;
  }
  if (const element* include = body[Body::Include]; is(include, element_type::ARRAY)) {
    for (const element item : as_array(*include))
      if (item.type() == element_type::STRING && as_string(item).find("logprobs") != std::string_view::npos)
        f.logprobs = true;
  }
  if (const element* r = body[Body::Reasoning]; is(r, element_type::OBJECT)) {
    const JsonFields<1> reasoning(as_object(*r), {"effort"});
    f.reasoning_effort.assign(str(reasoning[0]));
  }
}

void read_embeddings(const BodyFields& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (const element* in = body[Body::Input]) {
    std::string& text = out.text.last_user;
    text.clear();
    if (in->type() == element_type::STRING) {
      text.assign(as_string(*in));
      f.messages = 1;
      f.prompt_chars = text.size();
    } else if (in->type() == element_type::ARRAY) {
      const array items = as_array(*in);
      f.messages = static_cast<std::uint32_t>(array_size(items));
      for (const element item : items) {
        if (item.type() == element_type::STRING) {
          const std::string_view s = as_string(item);
          f.prompt_chars += s.size();
          text.assign(s);
        }
      }
    }
    f.user_turns = f.messages;
  }
}

void read_anthropic(const BodyFields& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (const element* sys = body[Body::System]) {
    std::string& text = scratch_text();
    text.clear();
    collect_text(*sys, text);
    if (!text.empty()) {
      ++f.system_turns;
      f.prompt_chars += text.size();
      out.text.system.assign(text);
    }
  }
  if (const element* m = body[Body::Messages]; is(m, element_type::ARRAY)) read_messages(as_array(*m), out);
  if (const element* t = body[Body::Thinking]; is(t, element_type::OBJECT)) {
    const JsonFields<2> th(as_object(*t), {"type", "budget_tokens"});
    if (str(th[0]) == "enabled") {
      auto budget = integer(th[1]).value_or(0);
      f.thinking_budget = static_cast<std::uint32_t>(std::clamp<std::int64_t>(budget, 0, UINT32_MAX));
      if (f.reasoning_effort.empty()) f.reasoning_effort = "enabled";
    }
  }
}

/// Back to a default ExtractedRequest, keeping the strings' buffers.
void reset(ExtractedRequest& out) noexcept {
  auto& f = out.features;
  std::string model = std::move(f.model), effort = std::move(f.reasoning_effort);
  f = detectors::RequestFeatures{};
  model.clear();
  effort.clear();
  f.model = std::move(model);
  f.reasoning_effort = std::move(effort);
  out.text.system.clear();
  out.text.last_user.clear();
}

}  // namespace

void extract_request_features(std::string_view path, element body, ExtractedRequest& out) {
  reset(out);
  auto& f = out.features;
  f.endpoint = detectors::endpoint_from_path(path);
  if (body.type() != element_type::OBJECT) return;
  f.body_is_json = true;
  const BodyFields o(as_object(body), Body::kNames);
  read_common(o, f);
  switch (f.endpoint) {
    case Endpoint::ChatCompletions: read_chat(o, out); break;
    case Endpoint::Completions: read_completions(o, out); break;
    case Endpoint::Responses: read_responses(o, out); break;
    case Endpoint::Embeddings: read_embeddings(o, out); break;
    case Endpoint::Messages: read_anthropic(o, out); break;
    case Endpoint::Models:
    case Endpoint::Other:
      // Unknown endpoints: best effort on the common chat shape.
      if (o[Body::Messages]) read_chat(o, out);
      break;
  }
}

ExtractedRequest extract_request_features(std::string_view path, element body) {
  ExtractedRequest out;
  extract_request_features(path, body, out);
  return out;
}

ExtractedRequest extract_request_features(std::string_view path, std::string_view body) {
  ExtractedRequest out;
  out.features.endpoint = detectors::endpoint_from_path(path);
  if (body.empty()) return out;
  // One parser per worker thread, reused. The body has no padding, so
  // simdjson copies it once into the parser's buffer.
  // A parser keeps ~15 bytes per byte of its largest document (tape, string
  // buffer, structural indexes, the copy): a body larger than
  // kReusedParserMaxBytes (limits.max_body_bytes allows 8 MB and more) gets a
  // parser of its own, released at once, so that no worker holds ~120 MB
  // after one big request.
  constexpr std::size_t kReusedParserMaxBytes = 512 * 1024;
  thread_local simdjson::dom::parser reused;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser* parser = &reused;
  if (body.size() > kReusedParserMaxBytes) parser = &own.emplace();
  if (parser->max_depth() != kJsonMaxDepth &&
      prepare_json_parser(*parser, own ? body.size() : 64 * 1024) != simdjson::SUCCESS)
    return out;
  element parsed;
  if (parse_json(*parser, body, /*padded=*/false, parsed) != simdjson::SUCCESS) return out;
  extract_request_features(path, parsed, out);
  // The same for the message scratch buffer.
  if (std::string& text = scratch_text(); text.capacity() > kReusedParserMaxBytes) std::string().swap(text);
  return out;
}

}  // namespace dg::gateway
