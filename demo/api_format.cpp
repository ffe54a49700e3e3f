#include "demo/api_format.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>

#include "demo/text_model.hpp"

namespace dg::demo {
namespace json = boost::json;
namespace {

constexpr std::string_view kFingerprint = "fp_demo0001";

std::string hex_id(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

json::array token_bytes(const std::string& token) {
  json::array a;
  for (unsigned char c : token) a.push_back(c);
  return a;
}

const char* finish_reason(const GeneratedChoice& c) { return c.truncated ? "length" : "stop"; }

// Chat logprobs entry: {"token","logprob","bytes","top_logprobs":[...]}.
json::object chat_logprob_entry(const GeneratedChoice& c, std::size_t i, std::int64_t top) {
  const auto& token = c.tokens[i];
  json::object e;
  e["token"] = token;
  e["logprob"] = token_logprob(c.seed, static_cast<std::int64_t>(i));
  e["bytes"] = token_bytes(token);
  json::array alts;
  for (const auto& alt : top_alternatives(c.seed, static_cast<std::int64_t>(i), token, top)) {
    json::object a;
    a["token"] = alt.token;
    a["logprob"] = alt.logprob;
    a["bytes"] = token_bytes(alt.token);
    alts.push_back(std::move(a));
  }
  e["top_logprobs"] = std::move(alts);
  return e;
}

json::object chat_logprobs(const GeneratedChoice& c, std::size_t from, std::size_t to, std::int64_t top) {
  json::array content;
  for (std::size_t i = from; i < to; ++i) content.push_back(chat_logprob_entry(c, i, top));
  json::object o;
  o["content"] = std::move(content);
  o["refusal"] = nullptr;
  return o;
}

// Legacy completions logprobs: parallel arrays, alternatives as {token: lp}.
json::object completion_logprobs(const GeneratedChoice& c, std::size_t from, std::size_t to, std::int64_t top,
                                 std::size_t offset) {
  json::array tokens, lps, tops, offsets;
  for (std::size_t i = from; i < to; ++i) {
    tokens.push_back(json::string(c.tokens[i]));
    lps.push_back(token_logprob(c.seed, static_cast<std::int64_t>(i)));
    json::object alts;
    for (const auto& alt : top_alternatives(c.seed, static_cast<std::int64_t>(i), c.tokens[i], top))
      alts[alt.token] = alt.logprob;
    tops.push_back(std::move(alts));
    offsets.push_back(offset);
    offset += c.tokens[i].size();
  }
  json::object o;
  o["tokens"] = std::move(tokens);
  o["token_logprobs"] = std::move(lps);
  o["top_logprobs"] = std::move(tops);
  o["text_offset"] = std::move(offsets);
  return o;
}

json::object chat_usage(const Generation& g) {
  json::object u;
  u["prompt_tokens"] = g.prompt_tokens;
  u["completion_tokens"] = g.completion_tokens;
  u["total_tokens"] = g.prompt_tokens + g.completion_tokens;
  json::object ptd;
  ptd["cached_tokens"] = 0;
  u["prompt_tokens_details"] = std::move(ptd);
  json::object ctd;
  ctd["reasoning_tokens"] = 0;
  u["completion_tokens_details"] = std::move(ctd);
  return u;
}

json::object responses_usage(const Generation& g) {
  json::object u;
  u["input_tokens"] = g.prompt_tokens;
  json::object itd;
  itd["cached_tokens"] = 0;
  u["input_tokens_details"] = std::move(itd);
  u["output_tokens"] = g.completion_tokens;
  json::object otd;
  otd["reasoning_tokens"] = 0;
  u["output_tokens_details"] = std::move(otd);
  u["total_tokens"] = g.prompt_tokens + g.completion_tokens;
  return u;
}

json::array responses_logprobs(const GeneratedChoice& c, std::size_t from, std::size_t to, std::int64_t top) {
  json::array a;
  for (std::size_t i = from; i < to; ++i) a.push_back(chat_logprob_entry(c, i, top));
  return a;
}

// The Responses API "response" object; `done` selects the final form.
json::object response_object(const DemoRequest& r, const Generation& g, bool done) {
  json::object resp;
  resp["id"] = "resp_" + g.id;
  resp["object"] = "response";
  resp["created_at"] = g.created;
  resp["status"] = done ? "completed" : "in_progress";
  resp["error"] = nullptr;
  resp["incomplete_details"] = nullptr;
  resp["model"] = r.model;
  json::array output;
  if (done) {
    const auto& c = g.choices.front();
    json::object part;
    part["type"] = "output_text";
    part["text"] = c.text();
    part["annotations"] = json::array{};
    part["logprobs"] = r.logprobs ? responses_logprobs(c, 0, c.tokens.size(), r.top_logprobs) : json::array{};
    json::object item;
    item["id"] = "msg_" + g.id;
    item["type"] = "message";
    item["status"] = "completed";
    item["role"] = "assistant";
    item["content"] = json::array{std::move(part)};
    output.push_back(std::move(item));
    if (c.truncated) {
      resp["status"] = "incomplete";
      json::object details;
      details["reason"] = "max_output_tokens";
      resp["incomplete_details"] = std::move(details);
    }
  }
  resp["output"] = std::move(output);
  resp["max_output_tokens"] = r.max_tokens ? json::value(*r.max_tokens) : json::value(nullptr);
  resp["usage"] = done ? json::value(responses_usage(g)) : json::value(nullptr);
  return resp;
}

json::object anthropic_usage(std::int64_t input, std::int64_t output) {
  json::object u;
  u["input_tokens"] = input;
  u["cache_creation_input_tokens"] = 0;
  u["cache_read_input_tokens"] = 0;
  u["output_tokens"] = output;
  return u;
}

std::string data_event(const json::value& v) { return "data: " + json::serialize(v) + "\n\n"; }

std::string named_event(std::string_view name, const json::value& v) {
  std::string out = "event: ";
  out += name;
  out += "\ndata: ";
  out += json::serialize(v);
  out += "\n\n";
  return out;
}

void chat_stream(const DemoRequest& r, const Generation& g, std::vector<SseEvent>& out) {
  const bool chat = r.api == Api::ChatCompletions;
  auto chunk = [&](json::array choices) {
    json::object o;
    o["id"] = (chat ? "chatcmpl-" : "cmpl-") + g.id;
    o["object"] = chat ? "chat.completion.chunk" : "text_completion";
    o["created"] = g.created;
    o["model"] = r.model;
    if (chat) o["system_fingerprint"] = kFingerprint;
    o["choices"] = std::move(choices);
    if (r.include_usage) o["usage"] = nullptr;
    return o;
  };
  auto choice = [&](std::size_t index, json::value delta_or_text, json::value logprobs, json::value finish) {
    json::object c;
    c["index"] = index;
    if (chat) {
      c["delta"] = std::move(delta_or_text);
    } else {
      c["text"] = std::move(delta_or_text);
    }
    c["logprobs"] = std::move(logprobs);
    c["finish_reason"] = std::move(finish);
    return c;
  };
  if (chat) {  // The real service opens each choice with the role.
    for (std::size_t i = 0; i < g.choices.size(); ++i) {
      json::object delta;
      delta["role"] = "assistant";
      delta["content"] = "";
      delta["refusal"] = nullptr;
      out.push_back({data_event(chunk(json::array{choice(i, std::move(delta), nullptr, nullptr)})), false});
    }
  }
  std::vector<std::size_t> offsets(g.choices.size(), 0);
  for (std::int64_t t = 0; t < g.longest_choice; ++t) {
    bool first_in_round = true;
    for (std::size_t i = 0; i < g.choices.size(); ++i) {
      const auto& c = g.choices[i];
      const auto ti = static_cast<std::size_t>(t);
      if (ti >= c.tokens.size()) continue;
      json::value lp = nullptr;
      if (r.logprobs)
        lp = chat ? json::value(chat_logprobs(c, ti, ti + 1, r.top_logprobs))
                  : json::value(completion_logprobs(c, ti, ti + 1, r.top_logprobs, offsets[i]));
      offsets[i] += c.tokens[ti].size();
      json::value payload;
      if (chat) {
        json::object delta;
        delta["content"] = c.tokens[ti];
        payload = std::move(delta);
      } else {
        payload = json::string(c.tokens[ti]);
      }
      out.push_back({data_event(chunk(json::array{choice(i, std::move(payload), std::move(lp), nullptr)})),
                     first_in_round});
      first_in_round = false;
    }
  }
  for (std::size_t i = 0; i < g.choices.size(); ++i) {
    json::value payload = chat ? json::value(json::object{}) : json::value(json::string{});
    out.push_back(
        {data_event(chunk(json::array{choice(i, std::move(payload), nullptr, finish_reason(g.choices[i]))})), false});
  }
  if (r.include_usage) {  // OpenAI: a last chunk with no choices carries the usage.
    auto o = chunk(json::array{});
    o["usage"] = chat_usage(g);
    out.push_back({data_event(o), false});
  }
  out.push_back({"data: [DONE]\n\n", false});
}

void responses_stream(const DemoRequest& r, const Generation& g, std::vector<SseEvent>& out) {
  std::int64_t seq = 0;
  auto emit = [&](std::string_view type, json::object o, bool paced = false) {
    json::object e;
    e["type"] = type;
    e["sequence_number"] = seq++;
    for (auto& kv : o) e[kv.key()] = std::move(kv.value());
    out.push_back({named_event(type, e), paced});
  };
  const auto& c = g.choices.front();
  const std::string item_id = "msg_" + g.id;
  emit("response.created", json::object{{"response", response_object(r, g, false)}});
  emit("response.in_progress", json::object{{"response", response_object(r, g, false)}});
  json::object item{{"id", item_id}, {"type", "message"}, {"status", "in_progress"}, {"role", "assistant"},
                    {"content", json::array{}}};
  emit("response.output_item.added", json::object{{"output_index", 0}, {"item", item}});
  json::object empty_part{{"type", "output_text"}, {"text", ""}, {"annotations", json::array{}}, {"logprobs", json::array{}}};
  emit("response.content_part.added",
       json::object{{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"part", empty_part}});
  for (std::size_t i = 0; i < c.tokens.size(); ++i) {
    json::object d{{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"delta", c.tokens[i]}};
    d["logprobs"] = r.logprobs ? responses_logprobs(c, i, i + 1, r.top_logprobs) : json::array{};
    emit("response.output_text.delta", std::move(d), true);
  }
  const std::string text = c.text();
  json::object done_text{{"item_id", item_id}, {"output_index", 0}, {"content_index", 0}, {"text", text}};
  done_text["logprobs"] = r.logprobs ? responses_logprobs(c, 0, c.tokens.size(), r.top_logprobs) : json::array{};
  emit("response.output_text.done", std::move(done_text));
  auto final_resp = response_object(r, g, true);
  const auto& final_item = final_resp.at("output").as_array().at(0);
  emit("response.content_part.done",
       json::object{{"item_id", item_id}, {"output_index", 0}, {"content_index", 0},
                    {"part", final_item.as_object().at("content").as_array().at(0)}});
  emit("response.output_item.done", json::object{{"output_index", 0}, {"item", final_item}});
  const bool incomplete = c.truncated;
  emit(incomplete ? "response.incomplete" : "response.completed", json::object{{"response", std::move(final_resp)}});
}

json::object anthropic_message(const DemoRequest& r, const Generation& g, bool done) {
  json::object m;
  m["id"] = "msg_" + g.id;
  m["type"] = "message";
  m["role"] = "assistant";
  m["model"] = r.model;
  const auto& c = g.choices.front();
  json::array content;
  if (done) content.push_back(json::object{{"type", "text"}, {"text", c.text()}});
  m["content"] = std::move(content);
  m["stop_reason"] = done ? json::value(c.truncated ? "max_tokens" : "end_turn") : json::value(nullptr);
  m["stop_sequence"] = nullptr;
  m["usage"] = anthropic_usage(g.prompt_tokens, done ? g.completion_tokens : 1);
  return m;
}

void messages_stream(const DemoRequest& r, const Generation& g, std::vector<SseEvent>& out) {
  const auto& c = g.choices.front();
  out.push_back({named_event("message_start",
                             json::object{{"type", "message_start"}, {"message", anthropic_message(r, g, false)}}),
                 false});
  out.push_back({named_event("content_block_start",
                             json::object{{"type", "content_block_start"},
                                          {"index", 0},
                                          {"content_block", json::object{{"type", "text"}, {"text", ""}}}}),
                 false});
  out.push_back({named_event("ping", json::object{{"type", "ping"}}), false});
  for (const auto& token : c.tokens) {
    out.push_back({named_event("content_block_delta",
                               json::object{{"type", "content_block_delta"},
                                             {"index", 0},
                                             {"delta", json::object{{"type", "text_delta"}, {"text", token}}}}),
                   true});
  }
  out.push_back({named_event("content_block_stop", json::object{{"type", "content_block_stop"}, {"index", 0}}), false});
  out.push_back({named_event("message_delta",
                             json::object{{"type", "message_delta"},
                                          {"delta", json::object{{"stop_reason", c.truncated ? "max_tokens" : "end_turn"},
                                                                 {"stop_sequence", nullptr}}},
                                          {"usage", json::object{{"output_tokens", g.completion_tokens}}}}),
                 false});
  out.push_back({named_event("message_stop", json::object{{"type", "message_stop"}}), false});
}

}  // namespace

std::string GeneratedChoice::text() const {
  std::string s;
  for (const auto& t : tokens) s += t;
  return s;
}

Generation generate(const DemoRequest& r, std::optional<std::int64_t> forced_tokens, std::int64_t created) {
  Generation g;
  g.seed = hash_text(r.prompt, hash_text(r.model));
  g.id = hex_id(mix64(g.seed));
  g.created = created;
  g.prompt_tokens = estimate_tokens(r.prompt_chars);
  for (std::int64_t i = 0; i < r.n; ++i) {
    GeneratedChoice c;
    c.seed = mix64(g.seed + static_cast<std::uint64_t>(i));
    std::int64_t want = forced_tokens ? std::max<std::int64_t>(0, *forced_tokens) : default_completion_tokens(c.seed);
    if (r.max_tokens && want > *r.max_tokens) {
      want = *r.max_tokens;
      c.truncated = true;
    }
    c.tokens = generate_tokens(c.seed, want);
    g.completion_tokens += want;
    g.longest_choice = std::max(g.longest_choice, want);
    g.choices.push_back(std::move(c));
  }
  return g;
}

std::string response_body(const DemoRequest& r, const Generation& g) {
  switch (r.api) {
    case Api::ChatCompletions: {
      json::array choices;
      for (std::size_t i = 0; i < g.choices.size(); ++i) {
        const auto& c = g.choices[i];
        json::object message{{"role", "assistant"}, {"content", c.text()}, {"refusal", nullptr}};
        json::object choice{{"index", i}, {"message", std::move(message)}};
        choice["logprobs"] = r.logprobs ? json::value(chat_logprobs(c, 0, c.tokens.size(), r.top_logprobs))
                                        : json::value(nullptr);
        choice["finish_reason"] = finish_reason(c);
        choices.push_back(std::move(choice));
      }
      json::object o{{"id", "chatcmpl-" + g.id}, {"object", "chat.completion"}, {"created", g.created},
                     {"model", r.model},          {"choices", std::move(choices)}, {"usage", chat_usage(g)},
                     {"system_fingerprint", kFingerprint}};
      return json::serialize(o);
    }
    case Api::Completions: {
      json::array choices;
      for (std::size_t i = 0; i < g.choices.size(); ++i) {
        const auto& c = g.choices[i];
        json::object choice{{"text", c.text()}, {"index", i}};
        choice["logprobs"] = r.logprobs ? json::value(completion_logprobs(c, 0, c.tokens.size(), r.top_logprobs, 0))
                                        : json::value(nullptr);
        choice["finish_reason"] = finish_reason(c);
        choices.push_back(std::move(choice));
      }
      json::object usage{{"prompt_tokens", g.prompt_tokens},
                         {"completion_tokens", g.completion_tokens},
                         {"total_tokens", g.prompt_tokens + g.completion_tokens}};
      json::object o{{"id", "cmpl-" + g.id}, {"object", "text_completion"}, {"created", g.created},
                     {"model", r.model},      {"choices", std::move(choices)}, {"usage", std::move(usage)}};
      return json::serialize(o);
    }
    case Api::Responses:
      return json::serialize(response_object(r, g, true));
    case Api::Messages:
      return json::serialize(anthropic_message(r, g, true));
    case Api::Embeddings:
      return embeddings_body(r);
  }
  return "{}";
}

std::vector<SseEvent> stream_events(const DemoRequest& r, const Generation& g) {
  std::vector<SseEvent> out;
  switch (r.api) {
    case Api::ChatCompletions:
    case Api::Completions:
      chat_stream(r, g, out);
      break;
    case Api::Responses:
      responses_stream(r, g, out);
      break;
    case Api::Messages:
      messages_stream(r, g, out);
      break;
    case Api::Embeddings:
      break;
  }
  return out;
}

std::string embeddings_body(const DemoRequest& r) {
  json::array data;
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < r.inputs.size(); ++i) {
    const auto& input = r.inputs[i];
    const auto v = embed_text(input, r.dimensions);
    json::object e{{"object", "embedding"}, {"index", i}};
    if (r.base64) {
      // float32 little-endian, as the real API encodes it (x86/ARM are LE).
      e["embedding"] = base64_encode(v.data(), v.size() * sizeof(float));
    } else {
      json::array a;
      a.reserve(v.size());
      for (float x : v) a.push_back(static_cast<double>(x));
      e["embedding"] = std::move(a);
    }
    data.push_back(std::move(e));
    tokens += std::max<std::int64_t>(1, estimate_tokens(input.size()));
  }
  json::object o{{"object", "list"},
                 {"data", std::move(data)},
                 {"model", r.model},
                 {"usage", json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return json::serialize(o);
}

std::string models_body(const std::vector<std::string>& models, std::int64_t created) {
  json::array data;
  for (const auto& m : models)
    data.push_back(json::object{{"id", m}, {"object", "model"}, {"created", created}, {"owned_by", "distillguard-demo"}});
  return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string error_body(std::string_view message, std::string_view type, std::string_view code) {
  return json::serialize(json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}});
}

}  // namespace dg::demo
