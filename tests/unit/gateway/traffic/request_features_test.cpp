#include <catch2/catch.hpp>

#include "gateway/traffic/request_features.hpp"
#include "gateway/traffic/simd_json.hpp"

#include <cstdint>
#include <string>

using dg::detectors::Endpoint;
using dg::gateway::extract_request_features;

TEST_CASE("chat completions: parameters, roles and prompt text", "[features]") {
  auto r = extract_request_features("/v1/chat/completions", R"({
    "model": "gpt-4o", "temperature": 0, "top_p": 0.9, "n": 3, "stream": true,
    "max_completion_tokens": 4096, "logprobs": true, "top_logprobs": 20,
    "logit_bias": {"1734": -100, "99": 5}, "reasoning_effort": "high",
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "first"},
      {"role": "assistant", "content": "ok"},
      {"role": "user", "content": [{"type": "text", "text": "Explain why"}, {"type": "image_url", "image_url": {}}]}
    ]})");
  const auto& f = r.features;
  CHECK(f.body_is_json);
  CHECK(f.endpoint == Endpoint::ChatCompletions);
  CHECK(f.model == "gpt-4o");
  CHECK(f.temperature == 0.0);
  CHECK(f.top_p == 0.9);
  CHECK(f.n == 3);
  CHECK(f.stream);
  CHECK(f.max_tokens == 4096);
  CHECK(f.logprobs);
  CHECK(f.top_logprobs == 20);
  CHECK(f.logit_bias_size == 2);
  CHECK(f.logit_bias_hash != 0);
  CHECK(f.reasoning_effort == "high");
  CHECK(f.messages == 4);
  CHECK(f.system_turns == 1);
  CHECK(f.user_turns == 2);
  CHECK(f.assistant_turns == 1);
  CHECK(f.prompt_chars == std::string("You are terse.firstokExplain why").size());
  CHECK(r.text.system == "You are terse.");
  CHECK(r.text.last_user == "Explain why");
}

TEST_CASE("logit_bias hash ignores key order and changes with the token set", "[features]") {
  auto a = extract_request_features("/v1/chat/completions", R"({"logit_bias": {"1": 1, "2": 1}})");
  auto b = extract_request_features("/v1/chat/completions", R"({"logit_bias": {"2": 5, "1": -5}})");
  auto c = extract_request_features("/v1/chat/completions", R"({"logit_bias": {"1": 1, "3": 1}})");
  CHECK(a.features.logit_bias_hash == b.features.logit_bias_hash);
  CHECK(a.features.logit_bias_hash != c.features.logit_bias_hash);
  auto none = extract_request_features("/v1/chat/completions", R"({"model": "m"})");
  CHECK(none.features.logit_bias_hash == 0);
}

TEST_CASE("legacy completions: integer logprobs and best_of", "[features]") {
  auto r = extract_request_features("/v1/completions",
                                    R"({"model": "davinci", "prompt": "Say hi", "logprobs": 5, "max_tokens": 1, "best_of": 4})");
  CHECK(r.features.logprobs);
  CHECK(r.features.top_logprobs == 5);
  CHECK(r.features.max_tokens == 1);
  CHECK(r.features.n == 4);
  CHECK(r.features.user_turns == 1);
  CHECK(r.text.last_user == "Say hi");
}

TEST_CASE("responses API: instructions, input items, reasoning effort", "[features]") {
  auto r = extract_request_features("/v1/responses", R"({
    "model": "o3", "instructions": "Be exact.", "max_output_tokens": 900,
    "reasoning": {"effort": "medium"}, "include": ["message.output_text.logprobs"], "top_logprobs": 3,
    "input": [{"role": "user", "content": [{"type": "input_text", "text": "Q1"}]},
              {"type": "function_call_output", "call_id": "c", "output": "42"},
              {"role": "user", "content": "Q2"}]})");
  const auto& f = r.features;
  CHECK(f.endpoint == Endpoint::Responses);
  CHECK(f.system_turns == 1);
  CHECK(f.user_turns == 2);
  CHECK(f.tool_turns == 1);
  CHECK(f.max_tokens == 900);
  CHECK(f.reasoning_effort == "medium");
  CHECK(f.logprobs);
  CHECK(f.top_logprobs == 3);
  CHECK(r.text.system == "Be exact.");
  CHECK(r.text.last_user == "Q2");

  auto s = extract_request_features("/v1/responses", R"({"input": "just text"})");
  CHECK(s.features.user_turns == 1);
  CHECK(s.text.last_user == "just text");
}

TEST_CASE("Anthropic messages: system blocks, tool results, thinking budget", "[features]") {
  auto r = extract_request_features("/v1/messages", R"({
    "model": "claude", "max_tokens": 2048, "system": [{"type": "text", "text": "Sys"}],
    "thinking": {"type": "enabled", "budget_tokens": 16000},
    "tools": [{"name": "run"}],
    "messages": [{"role": "user", "content": "Fix the bug"},
                 {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "run", "input": {}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "exit 1"}]}]})");
  const auto& f = r.features;
  CHECK(f.endpoint == Endpoint::Messages);
  CHECK(f.system_turns == 1);
  CHECK(f.user_turns == 1);
  CHECK(f.assistant_turns == 1);
  CHECK(f.tool_turns == 1);
  CHECK(f.has_tools);
  CHECK(f.thinking_budget == 16000);
  CHECK(f.reasoning_effort == "enabled");
  CHECK(r.text.system == "Sys");
  CHECK(r.text.last_user == "Fix the bug");
}

TEST_CASE("embeddings: batch input counted", "[features]") {
  auto r = extract_request_features("/v1/embeddings", R"({"model": "e", "input": ["ab", "cde"]})");
  CHECK(r.features.endpoint == Endpoint::Embeddings);
  CHECK(r.features.messages == 2);
  CHECK(r.features.prompt_chars == 5);
}

TEST_CASE("bodies that are not JSON objects are flagged, never thrown on", "[features]") {
  for (std::string_view body : {"", "not json", "{\"a\": ", "[1,2]", "\"str\"", "{\"messages\": 5}"}) {
    auto r = extract_request_features("/v1/chat/completions", body);
    CHECK(r.features.endpoint == Endpoint::ChatCompletions);
    CHECK(r.features.messages == 0);
  }
  CHECK_FALSE(extract_request_features("/v1/chat/completions", "not json").features.body_is_json);
  CHECK_FALSE(extract_request_features("/v1/chat/completions", "[1]").features.body_is_json);
  CHECK(extract_request_features("/v1/chat/completions", "{\"messages\": 5}").features.body_is_json);
}

TEST_CASE("wrongly typed fields are ignored", "[features]") {
  auto r = extract_request_features("/v1/chat/completions",
                                    R"({"model": 5, "n": "many", "max_tokens": "big", "temperature": "hot",
                                        "messages": [7, {"role": "user", "content": {"weird": true}}]})");
  CHECK(r.features.body_is_json);
  CHECK(r.features.model.empty());
  CHECK(r.features.n == 1);
  CHECK_FALSE(r.features.max_tokens);
  CHECK_FALSE(r.features.temperature);
  CHECK(r.features.messages == 2);
  CHECK(r.features.user_turns == 1);
}

namespace {

/// The replay path: a body parsed by simdjson, extracted into a reused `out`.
void extract_into(simdjson::dom::parser& parser, std::string_view path, std::string_view body,
                  dg::gateway::ExtractedRequest& out) {
  simdjson::dom::element root;
  REQUIRE(dg::gateway::parse_json(parser, body, /*padded=*/false, root) == simdjson::SUCCESS);
  extract_request_features(path, root, out);
}

}  // namespace

TEST_CASE("a reused ExtractedRequest carries nothing over from the previous record", "[features]") {
  simdjson::dom::parser parser;
  REQUIRE(dg::gateway::prepare_json_parser(parser) == simdjson::SUCCESS);
  dg::gateway::ExtractedRequest out;
  extract_into(parser, "/v1/chat/completions", R"({
    "model": "gpt-4o", "temperature": 0.2, "n": 2, "max_tokens": 9, "logprobs": true, "top_logprobs": 5,
    "logit_bias": {"1": 1, "2": -1}, "tools": [{"name": "t"}], "reasoning_effort": "high", "stream": true,
    "messages": [{"role": "system", "content": "Be brief and always exact in every single answer."},
                 {"role": "user", "content": "A first question that is long enough to leave the small-string buffer."},
                 {"role": "assistant", "content": "ok"}, {"role": "tool", "content": "r"}]})",
               out);
  CHECK(out.features.user_turns == 1);
  CHECK(out.features.logit_bias_size == 2);
  const char* user_buffer = out.text.last_user.data();

  extract_into(parser, "/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Short one"}]})", out);
  const auto& f = out.features;
  CHECK(f.body_is_json);
  CHECK(f.model.empty());
  CHECK_FALSE(f.temperature);
  CHECK(f.n == 1);
  CHECK_FALSE(f.max_tokens);
  CHECK_FALSE(f.logprobs);
  CHECK(f.top_logprobs == 0);
  CHECK(f.logit_bias_size == 0);
  CHECK(f.logit_bias_hash == 0);
  CHECK_FALSE(f.has_tools);
  CHECK_FALSE(f.stream);
  CHECK(f.reasoning_effort.empty());
  CHECK(f.messages == 1);
  CHECK(f.system_turns == 0);
  CHECK(f.user_turns == 1);
  CHECK(f.assistant_turns == 0);
  CHECK(f.tool_turns == 0);
  CHECK(f.prompt_chars == 9);
  CHECK(out.text.system.empty());
  CHECK(out.text.last_user == "Short one");
  CHECK(out.text.last_user.data() == user_buffer);  // assigned into the same buffer, no new string

  // A record that is not an object (or has no messages) clears the text too.
  extract_into(parser, "/v1/embeddings", "[1, 2]", out);
  CHECK_FALSE(out.features.body_is_json);
  CHECK(out.features.endpoint == Endpoint::Embeddings);
  CHECK(out.features.user_turns == 0);
  CHECK(out.text.last_user.empty());
}

TEST_CASE("duplicate keys: the last one counts, as boost::json kept it", "[features]") {
  auto r = extract_request_features("/v1/chat/completions", R"({"model": "a", "model": "b",
    "logit_bias": {"7": 1, "8": 1, "7": -1},
    "messages": [{"role": "user", "role": "system", "content": "x", "content": "sys"}]})");
  CHECK(r.features.model == "b");
  CHECK(r.features.system_turns == 1);
  CHECK(r.features.user_turns == 0);
  CHECK(r.text.system == "sys");
  CHECK(r.features.logit_bias_size == 2);  // distinct token ids
  CHECK(r.features.logit_bias_hash ==
        extract_request_features("/v1/chat/completions", R"({"logit_bias": {"8": 0, "7": 0}})").features.logit_bias_hash);
}

TEST_CASE("numbers simdjson cannot hold do not turn a body into 'not JSON'", "[features]") {
  // boost::json read integers beyond 64 bits as doubles and 1e400 as an
  // infinity; simdjson rejects both, so parse_json falls back.
  auto r = extract_request_features("/v1/chat/completions", R"({"model": "m", "seed": 100000000000000000000,
    "user_id": -9223372036854775809, "temperature": 100000000000000000000, "top_p": 1e400,
    "max_tokens": 18446744073709551615, "messages": [{"role": "user", "content": "hi"}]})");
  CHECK(r.features.body_is_json);
  CHECK(r.features.model == "m");
  CHECK(r.features.temperature == 1e20);
  CHECK_FALSE(r.features.top_p);  // an infinity, read as absent
  CHECK(r.features.max_tokens == INT64_MAX);
  CHECK(r.text.last_user == "hi");
  // Numbers that are not JSON stay errors.
  CHECK_FALSE(extract_request_features("/v1/chat/completions", R"({"n": 01})").features.body_is_json);
  CHECK_FALSE(extract_request_features("/v1/chat/completions", R"({"n": 1.})").features.body_is_json);
}

TEST_CASE("a deeply nested dummy field does not hide a request from extraction, encoding errors do", "[features]") {
  const auto nested = [](int depth) {  // `depth` non-empty containers, the body included
    std::string s = R"({"model": "m", "messages": [{"role": "user", "content": "Explain why the answer is 4."}], "x": )";
    for (int i = 1; i < depth; ++i) s += "[";
    s += "1";
    for (int i = 1; i < depth; ++i) s += "]";
    return s + "}";
  };
  for (int depth : {33, 200, 1024}) {
    const auto r = extract_request_features("/v1/chat/completions", nested(depth));
    INFO("depth " << depth);
    CHECK(r.features.body_is_json);
    CHECK(r.text.last_user == "Explain why the answer is 4.");
  }
  CHECK_FALSE(extract_request_features("/v1/chat/completions", nested(1025)).features.body_is_json);
  CHECK_FALSE(extract_request_features("/v1/chat/completions", "{\"model\": \"\xff\"}").features.body_is_json);
  CHECK_FALSE(extract_request_features("/v1/chat/completions", R"({"model": "\ud800"})").features.body_is_json);
  auto r = extract_request_features("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "a\u0000b \u00e9"}]})");
  CHECK(r.text.last_user == std::string("a\0b \xc3\xa9", 6));
}

TEST_CASE("numbers beyond the integer range saturate instead of overflowing", "[features]") {
  auto r = extract_request_features("/v1/chat/completions", R"({"max_tokens": 1e300, "n": -1e300, "top_logprobs": 1e19})");
  REQUIRE(r.features.max_tokens);
  CHECK(*r.features.max_tokens == INT64_MAX);
  CHECK(r.features.n == 1);  // negative n is ignored
  CHECK(r.features.top_logprobs == UINT32_MAX);
}

TEST_CASE("a number out of every parser's range does not hide a request from extraction", "[features]") {
  // Python and Node upstreams accept these bodies (1e9999999999 reads as
  // infinity), so the features must be read from them too.
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "{\"d\":";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += "}";
  for (const std::string& pad : {std::string("1e9999999999"), std::string("-1e-99999999999999"), deep}) {
    auto r = extract_request_features("/v1/chat/completions",
                                      R"({"model":"gpt-4o","logprobs":true,"top_logprobs":20,"pad":)" + pad +
                                          R"(,"messages":[{"role":"user","content":"Explain why"}]})");
    CHECK(r.features.body_is_json);
    CHECK(r.features.model == "gpt-4o");
    CHECK(r.features.logprobs);
    CHECK(r.features.top_logprobs == 20);
    CHECK(r.text.last_user == "Explain why");
  }
}
