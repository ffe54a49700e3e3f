#include "demo/demo_request.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dg::demo {
namespace json = boost::json;
namespace {

std::optional<std::int64_t> int_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_bool()) return v->as_bool() ? 1 : 0;
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return std::nullopt;
}

bool bool_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v && v->is_bool() && v->as_bool();
}

std::string string_field(const json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string{};
}

// Appends the text of an OpenAI/Anthropic "content" value: a string, or an
// array of parts whose text lives in "text" (input_text, text, output_text).
void append_content(const json::value& content, DemoRequest& r) {
  if (content.is_string()) {
    r.prompt.append(content.as_string().data(), content.as_string().size());
    r.prompt += '\n';
    r.prompt_chars += content.as_string().size();
    return;
  }
  if (!content.is_array()) return;
  for (const auto& part : content.as_array()) {
    if (part.is_string()) {
      append_content(part, r);
    } else if (part.is_object()) {
      if (const auto* t = part.as_object().if_contains("text")) append_content(*t, r);
    }
  }
}

void append_messages(const json::value& messages, DemoRequest& r) {
  if (!messages.is_array()) return;
  for (const auto& m : messages.as_array()) {
    if (!m.is_object()) continue;
    if (const auto* c = m.as_object().if_contains("content")) append_content(*c, r);
  }
}

// A prompt for /v1/completions or an input for /v1/embeddings: a string, an
// array of strings, an array of token ids or an array of such arrays.
void collect_inputs(const json::value& v, std::vector<std::string>& inputs, std::size_t& chars) {
  if (v.is_string()) {
    inputs.emplace_back(v.as_string());
    chars += v.as_string().size();
    return;
  }
  if (!v.is_array()) return;
  const auto& a = v.as_array();
  if (!a.empty() && (a[0].is_int64() || a[0].is_uint64())) {
    inputs.push_back(json::serialize(v));
    chars += 4 * a.size();  // pre-tokenised: four characters per token
    return;
  }
  for (const auto& e : a) collect_inputs(e, inputs, chars);
}

}  // namespace

std::optional<Api> api_for_path(std::string_view path) noexcept {
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (path == "/v1/chat/completions") return Api::ChatCompletions;
  if (path == "/v1/completions") return Api::Completions;
  if (path == "/v1/responses") return Api::Responses;
  if (path == "/v1/embeddings") return Api::Embeddings;
  if (path == "/v1/messages") return Api::Messages;
  return std::nullopt;
}

std::optional<DemoRequest> parse_demo_request(Api api, const json::value& body, std::string& error) {
  if (!body.is_object()) {
    error = "request body must be a JSON object";
    return std::nullopt;
  }
  const auto& o = body.as_object();
  DemoRequest r;
  r.api = api;
  r.model = string_field(o, "model");
  if (r.model.empty()) {
    error = "you must provide a model parameter";
    return std::nullopt;
  }
  r.stream = bool_field(o, "stream");
  if (const auto* so = o.if_contains("stream_options"); so && so->is_object())
    r.include_usage = bool_field(so->as_object(), "include_usage");
  if (auto n = int_field(o, "n")) {
    if (*n < 1 || *n > 128) {
      error = "n must be between 1 and 128";
      return std::nullopt;
    }
    r.n = *n;
  }
  r.max_tokens = int_field(o, "max_completion_tokens");
  if (!r.max_tokens) r.max_tokens = int_field(o, "max_tokens");
  if (!r.max_tokens) r.max_tokens = int_field(o, "max_output_tokens");
  if (r.max_tokens && *r.max_tokens < 1) {
    error = "max_tokens must be at least 1";
    return std::nullopt;
  }
  if (auto t = int_field(o, "top_logprobs")) r.top_logprobs = std::clamp<std::int64_t>(*t, 0, 20);

  switch (api) {
    case Api::ChatCompletions: {
      const auto* messages = o.if_contains("messages");
      if (!messages || !messages->is_array()) {
        error = "'messages' is a required property";
        return std::nullopt;
      }
      append_messages(*messages, r);
      r.logprobs = bool_field(o, "logprobs");
      break;
    }
    case Api::Completions: {
      const auto* prompt = o.if_contains("prompt");
      if (!prompt) {
        error = "'prompt' is a required property";
        return std::nullopt;
      }
      std::vector<std::string> parts;
      collect_inputs(*prompt, parts, r.prompt_chars);
      for (const auto& p : parts) r.prompt += p + '\n';
      // The legacy API's "logprobs" is the number of alternatives wanted.
      if (auto lp = int_field(o, "logprobs"); lp && !o.at("logprobs").is_bool()) {
        r.logprobs = true;
        r.top_logprobs = std::clamp<std::int64_t>(*lp, 0, 5);
      }
      break;
    }
    case Api::Responses: {
      const auto* input = o.if_contains("input");
      if (!input) {
        error = "'input' is a required property";
        return std::nullopt;
      }
      if (const auto* ins = o.if_contains("instructions")) append_content(*ins, r);
      if (input->is_array()) {
        for (const auto& item : input->as_array()) {
          if (item.is_object()) {
            if (const auto* c = item.as_object().if_contains("content")) append_content(*c, r);
          } else {
            append_content(item, r);
          }
        }
      } else {
        append_content(*input, r);
      }
      if (const auto* inc = o.if_contains("include"); inc && inc->is_array())
        for (const auto& e : inc->as_array())
          if (e.is_string() && e.as_string() == "message.output_text.logprobs") r.logprobs = true;
      if (o.contains("top_logprobs")) r.logprobs = true;
      r.n = 1;
      break;
    }
    case Api::Embeddings: {
      const auto* input = o.if_contains("input");
      if (!input) {
        error = "'input' is a required property";
        return std::nullopt;
      }
      collect_inputs(*input, r.inputs, r.prompt_chars);
      if (r.inputs.empty()) {
        error = "'input' must be a non-empty string or array";
        return std::nullopt;
      }
      for (const auto& i : r.inputs) r.prompt += i + '\n';
      if (auto d = int_field(o, "dimensions")) {
        if (*d < 1 || *d > 4096) {
          error = "dimensions must be between 1 and 4096";
          return std::nullopt;
        }
        r.dimensions = static_cast<std::size_t>(*d);
      }
      r.base64 = string_field(o, "encoding_format") == "base64";
      r.stream = false;
      r.n = 1;
      break;
    }
    case Api::Messages: {
      if (!r.max_tokens) {
        error = "max_tokens: Field required";
        return std::nullopt;
      }
      if (const auto* sys = o.if_contains("system")) append_content(*sys, r);
      const auto* messages = o.if_contains("messages");
      if (!messages || !messages->is_array()) {
        error = "messages: Field required";
        return std::nullopt;
      }
      append_messages(*messages, r);
      r.n = 1;
      break;
    }
  }
  return r;
}

void record_body_parameters(const json::value& body, ReceivedRequest& out) {
  out.body_is_json = true;
  if (!body.is_object()) return;
  const auto& o = body.as_object();
  out.model = string_field(o, "model");
  out.max_tokens = int_field(o, "max_tokens");
  if (!out.max_tokens) out.max_tokens = int_field(o, "max_output_tokens");
  out.max_completion_tokens = int_field(o, "max_completion_tokens");
  out.n = int_field(o, "n");
  out.logprobs = int_field(o, "logprobs");
  out.top_logprobs = int_field(o, "top_logprobs");
  if (const auto* lb = o.if_contains("logit_bias"))
    out.logit_bias_size = lb->is_object() ? lb->as_object().size() : 0;
  out.stream = bool_field(o, "stream");
}

json::object to_json(const ReceivedRequest& r) {
  auto opt = [](const auto& v) -> json::value {
    if (v) return json::value(*v);
    return nullptr;
  };
  json::object o;
  o["method"] = r.method;
  o["path"] = r.path;
  o["model"] = r.model;
  o["max_tokens"] = opt(r.max_tokens);
  o["max_completion_tokens"] = opt(r.max_completion_tokens);
  o["n"] = opt(r.n);
  o["logprobs"] = opt(r.logprobs);
  o["top_logprobs"] = opt(r.top_logprobs);
  o["logit_bias_size"] = opt(r.logit_bias_size);
  o["stream"] = r.stream;
  o["has_authorization"] = r.has_authorization;
  o["has_api_key_header"] = r.has_api_key_header;
  o["user_agent"] = r.user_agent;
  o["x_forwarded_for"] = r.x_forwarded_for;
  o["body_bytes"] = r.body_bytes;
  o["body_is_json"] = r.body_is_json;
  return o;
}

}  // namespace dg::demo
