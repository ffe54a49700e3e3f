#include "gateway/request_features.hpp"

#include "detectors/hash.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <string>

namespace dg::gateway {
namespace json = boost::json;
using detectors::Endpoint;

namespace {

const json::value* field(const json::object& o, std::string_view name) noexcept {
  return o.if_contains(name);
}

std::optional<double> number(const json::value* v) noexcept {
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

std::optional<std::int64_t> integer(const json::value* v) noexcept {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
  if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
  return std::nullopt;
}

bool truthy(const json::value* v) noexcept {
  if (!v) return false;
  if (v->is_bool()) return v->get_bool();
  if (auto n = number(v)) return *n != 0;
  return false;
}

std::string_view str(const json::value* v) noexcept {
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view{};
}

void append_text(std::string& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty()) out.push_back('\n');
  out.append(text);
}

/// Appends the text of a content value: a string, or an array of parts
/// ({"type":"text","text":...}, {"type":"input_text",...}, Anthropic blocks
/// including tool_result whose content nests again). Returns chars seen.
void collect_text(const json::value& content, std::string& out, int depth = 0) {
  if (depth > 8) return;  // hostile nesting
  if (content.is_string()) {
    append_text(out, content.get_string());
    return;
  }
  if (content.is_array()) {
    for (const auto& part : content.get_array()) collect_text(part, out, depth + 1);
    return;
  }
  if (content.is_object()) {
    const auto& o = content.get_object();
    if (auto t = str(field(o, "text")); !t.empty()) append_text(out, t);
    if (auto* c = field(o, "content")) collect_text(*c, out, depth + 1);
  }
}

void count_role(detectors::RequestFeatures& f, std::string_view role) {
  if (role == "system" || role == "developer") ++f.system_turns;
  else if (role == "user") ++f.user_turns;
  else if (role == "assistant" || role == "model") ++f.assistant_turns;
  else if (role == "tool" || role == "function") ++f.tool_turns;
}

/// Anthropic user turns that only carry tool_result blocks are tool turns.
bool is_tool_result_turn(const json::value& content) {
  if (!content.is_array() || content.get_array().empty()) return false;
  for (const auto& part : content.get_array()) {
    if (!part.is_object() || str(field(part.get_object(), "type")) != "tool_result") return false;
  }
  return true;
}

/// Chat-style message list (chat/completions, messages, responses input items).
void read_messages(const json::array& messages, ExtractedRequest& out) {
  auto& f = out.features;
  std::string all;
  for (const auto& m : messages) {
    ++f.messages;
    if (!m.is_object()) {
      if (m.is_string()) {  // responses `input` may list bare strings
        ++f.user_turns;
        out.text.last_user.assign(m.get_string());
        f.prompt_chars += m.get_string().size();
      }
      continue;
    }
    const auto& o = m.get_object();
    std::string_view role = str(field(o, "role"));
    const std::string_view type = str(field(o, "type"));
    if (role.empty() && (type == "function_call_output" || type == "function_call")) role = "tool";
    const json::value* content = field(o, "content");
    if (role == "user" && content && is_tool_result_turn(*content)) role = "tool";
    count_role(f, role);
    std::string text;
    if (content) collect_text(*content, text);
    if (auto* output = field(o, "output"); output && role == "tool") collect_text(*output, text);
    f.prompt_chars += text.size();
    if (role == "system" || role == "developer") append_text(out.text.system, text);
    else if (role == "user") out.text.last_user = std::move(text);
  }
}

void read_logit_bias(const json::object& body, detectors::RequestFeatures& f) {
  auto* lb = field(body, "logit_bias");
  if (!lb || !lb->is_object()) return;
  std::uint64_t h = 0;
  for (const auto& kv : lb->get_object()) {
    // Sum of per-token hashes: independent of key order. hash_bytes is
    // stable across builds (capture logs are replayed by later versions).
    h += detectors::hash_bytes(kv.key());
    ++f.logit_bias_size;
  }
  f.logit_bias_hash = f.logit_bias_size ? (h | 1) : 0;
}

void read_common(const json::object& body, detectors::RequestFeatures& f) {
  f.model = std::string(str(field(body, "model")));
  f.temperature = number(field(body, "temperature"));
  f.top_p = number(field(body, "top_p"));
  f.stream = truthy(field(body, "stream"));
  if (auto n = integer(field(body, "n")); n && *n > 0) f.n = static_cast<std::uint32_t>(std::min<std::int64_t>(*n, 1 << 20));
  for (auto name : {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
    if (auto v = integer(field(body, name))) {
      f.max_tokens = v;
      break;
    }
  }
  if (auto* tools = field(body, "tools"); tools && tools->is_array() && !tools->get_array().empty()) f.has_tools = true;
  if (auto* fns = field(body, "functions"); fns && fns->is_array() && !fns->get_array().empty()) f.has_tools = true;
  read_logit_bias(body, f);
}

void read_chat(const json::object& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto* m = field(body, "messages"); m && m->is_array()) read_messages(m->get_array(), out);
  f.logprobs = truthy(field(body, "logprobs"));
  if (auto v = integer(field(body, "top_logprobs")); v && *v > 0) {
    f.top_logprobs = static_cast<std::uint32_t>(*v);
    f.logprobs = true;
  }
  f.reasoning_effort = std::string(str(field(body, "reasoning_effort")));
}

void read_completions(const json::object& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto* p = field(body, "prompt")) {
    std::string text;
    if (p->is_string()) text.assign(p->get_string());
    else if (p->is_array()) {
      for (const auto& item : p->get_array())
        if (item.is_string()) text.assign(item.get_string());  // the last prompt of a batch
      f.messages = static_cast<std::uint32_t>(p->get_array().size());
    }
    f.prompt_chars = text.size();
    if (!f.messages) f.messages = 1;
    f.user_turns = 1;
    out.text.last_user = std::move(text);
  }
  // Legacy completions: `logprobs` is an integer (the number of top tokens).
  if (auto v = integer(field(body, "logprobs")); v && *v > 0) {
    f.logprobs = true;
    f.top_logprobs = static_cast<std::uint32_t>(*v);
  }
  if (auto best_of = integer(field(body, "best_of")); best_of && *best_of > static_cast<std::int64_t>(f.n))
    f.n = static_cast<std::uint32_t>(std::min<std::int64_t>(*best_of, 1 << 20));
}

void read_responses(const json::object& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto instr = str(field(body, "instructions")); !instr.empty()) {
    ++f.system_turns;
    out.text.system.assign(instr);
    f.prompt_chars += instr.size();
  }
  if (auto* in = field(body, "input")) {
    if (in->is_string()) {
      f.messages = 1;
      f.user_turns = 1;
      out.text.last_user.assign(in->get_string());
      f.prompt_chars += in->get_string().size();
    } else if (in->is_array()) {
      read_messages(in->get_array(), out);
    }
  }
  if (auto v = integer(field(body, "top_logprobs")); v && *v > 0) {
    f.top_logprobs = static_cast<std::uint32_t>(*v);
    f.logprobs = true;
  }
  if (auto* include = field(body, "include"); include && include->is_array()) {
    for (const auto& item : include->get_array())
      if (item.is_string() && std::string_view(item.get_string()).find("logprobs") != std::string_view::npos)
        f.logprobs = true;
  }
  if (auto* r = field(body, "reasoning"); r && r->is_object())
    f.reasoning_effort = std::string(str(field(r->get_object(), "effort")));
}

void read_embeddings(const json::object& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto* in = field(body, "input")) {
    std::string text;
    if (in->is_string()) {
      text.assign(in->get_string());
      f.messages = 1;
    } else if (in->is_array()) {
      f.messages = static_cast<std::uint32_t>(in->get_array().size());
      for (const auto& item : in->get_array()) {
        if (item.is_string()) {
          f.prompt_chars += item.get_string().size();
          text.assign(item.get_string());
        }
      }
    }
    if (in->is_string()) f.prompt_chars = text.size();
    f.user_turns = f.messages;
    out.text.last_user = std::move(text);
  }
}

void read_anthropic(const json::object& body, ExtractedRequest& out) {
  auto& f = out.features;
  if (auto* sys = field(body, "system")) {
    std::string text;
    collect_text(*sys, text);
    if (!text.empty()) {
      ++f.system_turns;
      f.prompt_chars += text.size();
      out.text.system = std::move(text);
    }
  }
  if (auto* m = field(body, "messages"); m && m->is_array()) read_messages(m->get_array(), out);
  if (auto* t = field(body, "thinking"); t && t->is_object()) {
    const auto& th = t->get_object();
    if (str(field(th, "type")) == "enabled") {
      auto budget = integer(field(th, "budget_tokens")).value_or(0);
      f.thinking_budget = static_cast<std::uint32_t>(std::clamp<std::int64_t>(budget, 0, UINT32_MAX));
      if (f.reasoning_effort.empty()) f.reasoning_effort = "enabled";
    }
  }
}

}  // namespace

ExtractedRequest extract_request_features(std::string_view path, const json::value& body) {
  ExtractedRequest out;
  auto& f = out.features;
  f.endpoint = detectors::endpoint_from_path(path);
  if (!body.is_object()) return out;
  f.body_is_json = true;
  const auto& o = body.get_object();
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
      if (o.contains("messages")) read_chat(o, out);
      break;
  }
  return out;
}

ExtractedRequest extract_request_features(std::string_view path, std::string_view body) {
  if (body.empty()) {
    ExtractedRequest out;
    out.features.endpoint = detectors::endpoint_from_path(path);
    return out;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec) {
    ExtractedRequest out;
    out.features.endpoint = detectors::endpoint_from_path(path);
    return out;
  }
  return extract_request_features(path, parsed);
}

}  // namespace dg::gateway
