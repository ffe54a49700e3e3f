#include "demo/demo_request.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include "demo/api_format.hpp"

using namespace dg::demo;
namespace json = boost::json;

namespace {
std::optional<DemoRequest> parse(Api api, std::string_view body, std::string& error) {
  return parse_demo_request(api, json::parse(body), error);
}
}  // namespace

TEST_CASE("demo request: each API's prompt and parameters are understood", "[demo]") {
  std::string error;
  auto chat = parse(Api::ChatCompletions,
                    R"({"model":"m","messages":[{"role":"system","content":"abcd"},
                        {"role":"user","content":[{"type":"text","text":"efgh"}]}],
                        "max_completion_tokens":9,"n":2,"logprobs":true,"top_logprobs":50,"stream":true,
                        "stream_options":{"include_usage":true}})",
                    error);
  REQUIRE(chat);
  CHECK(chat->prompt_chars == 8);
  CHECK(chat->max_tokens == 9);
  CHECK(chat->n == 2);
  CHECK(chat->logprobs);
  CHECK(chat->top_logprobs == 20);  // clamped like the real API's maximum
  CHECK(chat->stream);
  CHECK(chat->include_usage);

  auto legacy = parse(Api::Completions, R"({"model":"m","prompt":["ab","cd"],"logprobs":3})", error);
  REQUIRE(legacy);
  CHECK(legacy->prompt_chars == 4);
  CHECK(legacy->logprobs);
  CHECK(legacy->top_logprobs == 3);

  auto resp = parse(Api::Responses,
                    R"({"model":"m","instructions":"be nice","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],
                        "max_output_tokens":4})",
                    error);
  REQUIRE(resp);
  CHECK(resp->prompt_chars == 9);
  CHECK(resp->max_tokens == 4);

  auto emb = parse(Api::Embeddings, R"({"model":"m","input":[[1,2,3],[4]],"encoding_format":"base64","dimensions":3})",
                   error);
  REQUIRE(emb);
  CHECK(emb->inputs.size() == 2);
  CHECK(emb->prompt_chars == 16);
  CHECK(emb->base64);
  CHECK(emb->dimensions == 3);

  auto msgs = parse(Api::Messages, R"({"model":"c","max_tokens":5,"system":"sys","messages":[{"role":"user","content":"q"}]})",
                    error);
  REQUIRE(msgs);
  CHECK(msgs->prompt_chars == 4);
}

TEST_CASE("demo request: requests the real APIs refuse are refused", "[demo]") {
  std::string error;
  CHECK_FALSE(parse(Api::ChatCompletions, R"({"messages":[]})", error));
  CHECK(error.find("model") != std::string::npos);
  CHECK_FALSE(parse(Api::ChatCompletions, R"({"model":"m"})", error));
  CHECK_FALSE(parse(Api::ChatCompletions, R"({"model":"m","messages":[],"n":0})", error));
  CHECK_FALSE(parse(Api::Messages, R"({"model":"m","messages":[]})", error));  // max_tokens is required
  CHECK_FALSE(parse(Api::Embeddings, R"({"model":"m","input":[]})", error));
  CHECK_FALSE(parse(Api::Completions, R"([1,2])", error));
}

TEST_CASE("demo request: the record keeps parameters as sent, absent stays absent", "[demo]") {
  ReceivedRequest r;
  record_body_parameters(json::parse(R"({"model":"m","max_tokens":7,"n":3,"logprobs":false,"logit_bias":{"1":2}})"), r);
  CHECK(r.model == "m");
  CHECK(r.max_tokens == 7);
  CHECK(r.n == 3);
  CHECK(r.logprobs == 0);
  CHECK_FALSE(r.top_logprobs.has_value());
  CHECK(r.logit_bias_size == 1u);
  const auto j = to_json(r);
  CHECK(j.at("top_logprobs").is_null());
  CHECK(j.at("logit_bias_size").to_number<int>() == 1);
}

TEST_CASE("demo generation: max_tokens caps the answer and marks it truncated", "[demo]") {
  std::string error;
  auto r = parse(Api::ChatCompletions, R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":3,"n":2})",
                 error);
  REQUIRE(r);
  const auto g = generate(*r, 10, 0);
  REQUIRE(g.choices.size() == 2);
  CHECK(g.choices[0].tokens.size() == 3);
  CHECK(g.choices[0].truncated);
  CHECK(g.completion_tokens == 6);
  const auto free_len = generate(*r, std::nullopt, 0);
  CHECK(free_len.completion_tokens <= 6);
  const auto body = json::parse(response_body(*r, g));
  CHECK(body.at("choices").at(1).at("finish_reason") == "length");
}
