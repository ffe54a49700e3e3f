#include "sim/api_format.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace dg::sim {
namespace {

namespace json = boost::json;

std::string content_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  std::string out;
  if (v.is_array())
    for (const auto& part : v.as_array())
      if (part.is_object())
        if (const auto* t = part.as_object().if_contains("text"); t && t->is_string()) {
          if (!out.empty()) out += "\n";
          out += t->as_string();
        }
  return out;
}

std::optional<std::int64_t> take_int(json::object& body, std::string_view name) {
  auto it = body.find(name);
  if (it == body.end()) return std::nullopt;
  std::optional<std::int64_t> v;
  if (it->value().is_int64()) v = it->value().as_int64();
  body.erase(it);
  return v;
}

std::optional<std::int64_t> take_max_tokens(json::object& body) {
  auto a = take_int(body, "max_completion_tokens");
  auto b = take_int(body, "max_tokens");
  return a ? a : b;
}

/// Chat tools ({type: function, function: {...}}) as the Responses API and
/// Anthropic declare them.
json::array convert_tools(const json::array& tools, bool anthropic) {
  json::array out;
  for (const auto& t : tools) {
    if (!t.is_object()) continue;
    const auto* fn = t.as_object().if_contains("function");
    if (!fn || !fn->is_object()) continue;
    const auto& f = fn->as_object();
    json::object o;
    if (!anthropic) o["type"] = "function";
    if (const auto* n = f.if_contains("name")) o["name"] = *n;
    if (const auto* d = f.if_contains("description")) o["description"] = *d;
    if (const auto* p = f.if_contains("parameters")) o[anthropic ? "input_schema" : "parameters"] = *p;
    out.push_back(std::move(o));
  }
  return out;
}

void to_responses(json::object& body, const FormatOptions& o) {
  json::array messages = body.contains("messages") ? body.at("messages").as_array() : json::array{};
  body.erase("messages");
  std::string instructions;
  json::array input;
  std::size_t user_turns = 0;
  for (auto& m : messages) {
    if (!m.is_object()) continue;
    auto& mo = m.as_object();
    const std::string role = mo.contains("role") ? std::string(mo.at("role").as_string()) : "user";
    if (role == "system" || role == "developer") {
      if (!instructions.empty()) instructions += "\n";
      instructions += content_text(mo.at("content"));
      continue;
    }
    if (role == "tool") {
      input.push_back(json::object{{"type", "function_call_output"},
                                   {"call_id", mo.contains("tool_call_id") ? mo.at("tool_call_id") : json::value("call")},
                                   {"output", content_text(mo.at("content"))}});
      continue;
    }
    if (const auto* calls = mo.if_contains("tool_calls"); calls && calls->is_array()) {
      for (const auto& c : calls->as_array()) {
        const auto& co = c.as_object();
        const auto& fn = co.at("function").as_object();
        input.push_back(json::object{{"type", "function_call"},
                                     {"call_id", co.at("id")},
                                     {"name", fn.at("name")},
                                     {"arguments", fn.at("arguments")}});
      }
      continue;
    }
    if (role == "user") ++user_turns;
    input.push_back(json::object{{"role", role}, {"content", content_text(mo.at("content"))}});
  }
  if (!instructions.empty()) body["instructions"] = instructions;
  if (input.size() == 1 && user_turns == 1) body["input"] = input[0].as_object().at("content");
  else body["input"] = std::move(input);
  if (auto mt = take_max_tokens(body)) body["max_output_tokens"] = *mt;
  const bool logprobs = body.contains("logprobs") && body.at("logprobs").is_bool() && body.at("logprobs").as_bool();
  body.erase("logprobs");
  auto top = take_int(body, "top_logprobs");
  if (logprobs || top) {
    body["top_logprobs"] = top.value_or(0);
    body["include"] = json::array{"message.output_text.logprobs"};
  }
  body.erase("n");         // the Responses API has no n
  body.erase("logit_bias");
  body.erase("seed");
  if (!o.reasoning_effort.empty()) {
    body["reasoning"] = json::object{{"effort", o.reasoning_effort}, {"summary", "auto"}};
    body.erase("temperature");  // reasoning models take no sampling temperature
    body.erase("top_p");
  }
  if (auto it = body.find("tools"); it != body.end() && it->value().is_array())
    it->value() = convert_tools(it->value().as_array(), false);
  body.erase("stream_options");
}

void to_messages(json::object& body, const FormatOptions& o) {
  json::array messages = body.contains("messages") ? body.at("messages").as_array() : json::array{};
  std::string system;
  json::array out;
  for (auto& m : messages) {
    if (!m.is_object()) continue;
    auto& mo = m.as_object();
    const std::string role = mo.contains("role") ? std::string(mo.at("role").as_string()) : "user";
    if (role == "system" || role == "developer") {
      if (!system.empty()) system += "\n";
      system += content_text(mo.at("content"));
      continue;
    }
    if (role == "tool") {
      out.push_back(json::object{
          {"role", "user"},
          {"content", json::array{json::object{{"type", "tool_result"},
                                                {"tool_use_id", mo.contains("tool_call_id") ? mo.at("tool_call_id")
                                                                                            : json::value("toolu")},
                                                {"content", content_text(mo.at("content"))}}}}});
      continue;
    }
    if (const auto* calls = mo.if_contains("tool_calls"); calls && calls->is_array()) {
      json::array blocks;
      for (const auto& c : calls->as_array()) {
        const auto& co = c.as_object();
        const auto& fn = co.at("function").as_object();
        json::value input = json::object{};
        if (fn.at("arguments").is_string()) {
          boost::system::error_code ec;
          auto parsed = json::parse(fn.at("arguments").as_string(), ec);
          if (!ec) input = std::move(parsed);
        }
        blocks.push_back(json::object{{"type", "tool_use"}, {"id", co.at("id")}, {"name", fn.at("name")},
                                      {"input", std::move(input)}});
      }
      out.push_back(json::object{{"role", "assistant"}, {"content", std::move(blocks)}});
      continue;
    }
    out.push_back(json::object{{"role", role == "assistant" ? "assistant" : "user"},
                               {"content", content_text(mo.at("content"))}});
  }
  body.erase("messages");
  std::int64_t max_tokens = take_max_tokens(body).value_or(4096);
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(out);
  if (o.thinking_budget > 0) {
    // budget_tokens must be below max_tokens (the answer comes after the thinking).
    max_tokens = std::max<std::int64_t>(max_tokens, o.thinking_budget + 1024);
    body["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", o.thinking_budget}};
    body.erase("temperature");  // thinking requires the default temperature
    body.erase("top_p");
  }
  body["max_tokens"] = max_tokens;
  for (const char* gone : {"logprobs", "top_logprobs", "logit_bias", "n", "seed", "stream_options", "tool_choice",
                           "reasoning_effort", "response_format"})
    body.erase(gone);
  if (auto it = body.find("tools"); it != body.end() && it->value().is_array())
    it->value() = convert_tools(it->value().as_array(), true);
}

void to_completions(json::object& body, const FormatOptions& o) {
  json::array messages = body.contains("messages") ? body.at("messages").as_array() : json::array{};
  body.erase("messages");
  // A completion model continues text: the system text, earlier turns as a
  // transcript, then the last user turn.
  std::string system, transcript, last;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& mo = messages[i].as_object();
    const std::string role = mo.contains("role") ? std::string(mo.at("role").as_string()) : "user";
    const std::string text = mo.contains("content") ? content_text(mo.at("content")) : "";
    if (role == "system" || role == "developer") system += (system.empty() ? "" : "\n") + text;
    else if (i + 1 == messages.size()) last = text;
    else transcript += (role == "assistant" ? "Assistant: " : "User: ") + text + "\n\n";
  }
  std::string prompt;
  if (!system.empty()) prompt = system + "\n\n";
  prompt += transcript;
  prompt += last;
  body["prompt"] = prompt;
  if (auto mt = take_max_tokens(body)) body["max_tokens"] = *mt;
  const bool logprobs = body.contains("logprobs") && body.at("logprobs").is_bool() && body.at("logprobs").as_bool();
  body.erase("logprobs");
  const auto top = take_int(body, "top_logprobs");
  int n = o.completions_logprobs;
  if (n == 0 && (logprobs || top)) n = static_cast<int>(std::clamp<std::int64_t>(top.value_or(1), 1, 5));
  if (n > 0) body["logprobs"] = n;
  if (o.echo) body["echo"] = true;
  for (const char* gone : {"tools", "tool_choice", "reasoning_effort", "response_format", "stream_options"})
    body.erase(gone);
}

}  // namespace

std::string_view to_string(ApiFormat f) noexcept {
  switch (f) {
    case ApiFormat::Chat: return "chat";
    case ApiFormat::Responses: return "responses";
    case ApiFormat::Completions: return "completions";
    case ApiFormat::Messages: return "messages";
  }
  return "chat";
}

std::optional<ApiFormat> parse_api_format(std::string_view name) noexcept {
  for (auto f : kApiFormats)
    if (to_string(f) == name) return f;
  return std::nullopt;
}

std::string_view api_path(ApiFormat f) noexcept {
  switch (f) {
    case ApiFormat::Chat: return "/v1/chat/completions";
    case ApiFormat::Responses: return "/v1/responses";
    case ApiFormat::Completions: return "/v1/completions";
    case ApiFormat::Messages: return "/v1/messages";
  }
  return "/v1/chat/completions";
}

void to_format(SimRecord& r, ApiFormat f, const FormatOptions& o) {
  r.path = std::string(api_path(f));
  if (!o.model.empty()) r.request["model"] = o.model;
  switch (f) {
    case ApiFormat::Chat:
      if (!o.reasoning_effort.empty()) {
        r.request["reasoning_effort"] = o.reasoning_effort;
        // o-series models take max_completion_tokens and no temperature.
        if (auto mt = take_int(r.request, "max_tokens")) r.request["max_completion_tokens"] = *mt;
        r.request.erase("temperature");
      }
      break;
    case ApiFormat::Responses: to_responses(r.request, o); break;
    case ApiFormat::Completions: to_completions(r.request, o); break;
    case ApiFormat::Messages: to_messages(r.request, o); break;
  }
}

std::string format_model(ApiFormat f, bool reasoning, Rng& rng) {
  switch (f) {
    case ApiFormat::Messages: {
      static constexpr std::array<const char*, 5> kClaude = {"claude-sonnet-4-5", "claude-opus-4-1",
                                                             "claude-3-7-sonnet-latest", "claude-haiku-4-5",
                                                             "claude-sonnet-4-20250514"};
      return kClaude[rng.weighted({35, 15, 20, reasoning ? 5.0 : 25.0, 15})];
    }
    case ApiFormat::Completions: {
      static constexpr std::array<const char*, 4> kLegacy = {"gpt-3.5-turbo-instruct", "davinci-002", "babbage-002",
                                                             "meta-llama/Llama-3.1-8B"};
      return kLegacy[rng.weighted({60, 15, 10, 15})];
    }
    case ApiFormat::Chat:
    case ApiFormat::Responses:
      if (reasoning) {
        static constexpr std::array<const char*, 6> kReasoning = {"o3", "o4-mini", "o3-mini", "gpt-5", "gpt-5-mini",
                                                                  "o1"};
        return kReasoning[rng.weighted({20, 25, 10, 20, 20, 5})];
      }
      return random_model_name(rng);
  }
  return "gpt-4o";
}

std::string random_model_name(Rng& rng) {
  static constexpr std::array<const char*, 7> kModels = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini",
                                                         "gpt-4o-2024-08-06", "gpt-4.1-nano", "gpt-5-mini"};
  return kModels[rng.weighted({30, 30, 15, 15, 5, 5, 5})];
}

std::string sdk_user_agent(ApiFormat f, Rng& rng) {
  char buf[64];
  if (f == ApiFormat::Messages) {
    switch (rng.weighted({55, 25, 10, 10})) {
      case 0: std::snprintf(buf, sizeof buf, "Anthropic/Python 0.%d.%d", static_cast<int>(rng.between(39, 69)),
                            static_cast<int>(rng.between(0, 2))); break;
      case 1: std::snprintf(buf, sizeof buf, "Anthropic/JS 0.%d.%d", static_cast<int>(rng.between(30, 65)),
                            static_cast<int>(rng.between(0, 3))); break;
      case 2: std::snprintf(buf, sizeof buf, "python-httpx/0.%d.%d", static_cast<int>(rng.between(25, 28)),
                            static_cast<int>(rng.between(0, 1))); break;
      default: std::snprintf(buf, sizeof buf, "ai-sdk/anthropic 1.%d.%d", static_cast<int>(rng.between(0, 2)),
                             static_cast<int>(rng.between(0, 20))); break;
    }
    return buf;
  }
  switch (rng.weighted({50, 20, 10, 8, 6, 6})) {
    case 0: std::snprintf(buf, sizeof buf, "OpenAI/Python 1.%d.%d", static_cast<int>(rng.between(40, 108)),
                          static_cast<int>(rng.between(0, 4))); break;
    case 1: std::snprintf(buf, sizeof buf, "OpenAI/JS 4.%d.%d", static_cast<int>(rng.between(50, 104)),
                          static_cast<int>(rng.between(0, 3))); break;
    case 2: std::snprintf(buf, sizeof buf, "AsyncOpenAI/Python 1.%d.%d", static_cast<int>(rng.between(40, 108)),
                          static_cast<int>(rng.between(0, 4))); break;
    case 3: std::snprintf(buf, sizeof buf, "python-httpx/0.%d.%d", static_cast<int>(rng.between(25, 28)),
                          static_cast<int>(rng.between(0, 1))); break;
    case 4: std::snprintf(buf, sizeof buf, "python-requests/2.%d.%d", static_cast<int>(rng.between(28, 32)),
                          static_cast<int>(rng.between(0, 3))); break;
    default: std::snprintf(buf, sizeof buf, "langchain-openai/0.%d.%d", static_cast<int>(rng.between(1, 3)),
                           static_cast<int>(rng.between(0, 30))); break;
  }
  return buf;
}

/// The format options of an extraction key on format `f` (reasoning where
/// the format has it; legacy completions echo the prompt with logprobs).
FormatOptions extraction_format(ApiFormat f, Rng& rng) {
  FormatOptions fo;
  switch (f) {
    case ApiFormat::Chat:
      if (rng.chance(0.3)) {
        fo.reasoning_effort = "high";
        fo.model = format_model(f, true, rng);
      }
      break;
    case ApiFormat::Responses:
      fo.reasoning_effort = rng.chance(0.7) ? "high" : "medium";
      fo.model = format_model(f, true, rng);
      break;
    case ApiFormat::Completions:
      fo.echo = true;
      fo.completions_logprobs = 5;
      fo.model = format_model(f, false, rng);
      break;
    case ApiFormat::Messages:
      fo.thinking_budget = rng.chance(0.5) ? 16000 : 8000;
      fo.model = format_model(f, true, rng);
      break;
  }
  return fo;
}

/// Completion tokens of an extraction answer: long, plus the reasoning the
/// format bills as output.
std::uint64_t extraction_completion(const FormatOptions& fo, double median, Rng& rng) {
  double c = rng.lognormal(median, 0.4);
  if (fo.reasons()) c += rng.lognormal(2500, 0.5);
  return static_cast<std::uint64_t>(c);
}

std::vector<double> parse_format_weights(std::string_view spec) {
  std::vector<double> w(std::size(kApiFormats), 0.0);
  std::size_t pos = 0;
  bool any = false;
  while (pos <= spec.size()) {
    auto end = spec.find_first_of(",+", pos);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    double weight = 1;
    if (auto colon = item.find(':'); colon != std::string_view::npos) {
      weight = std::stod(std::string(item.substr(colon + 1)));
      item = item.substr(0, colon);
    }
    const auto f = parse_api_format(item);
    if (!f) throw std::invalid_argument("unknown format '" + std::string(item) + "' (chat, responses, completions, messages)");
    w[static_cast<std::size_t>(*f)] += weight;
    any = true;
  }
  if (!any) w[0] = 1;
  return w;
}

}  // namespace dg::sim
