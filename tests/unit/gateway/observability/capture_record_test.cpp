#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "gateway/observability/capture_record.hpp"
#include "tests/json_number_checks.hpp"

using namespace dg::gateway;

namespace {

dg::detectors::Exchange exchange() {
  dg::detectors::Exchange ex;
  ex.ts = 1732264800.5;
  ex.key_fp = "fp:0123456789abcdef";
  ex.client_ip = "203.0.113.7";
  ex.response.status = 200;
  ex.response.prompt_tokens = 10;
  ex.response.completion_tokens = 20;
  return ex;
}

}  // namespace

TEST_CASE("capture records redact prompt text but keep parameters", "[unit][capture]") {
  const auto ex = exchange();
  const std::string body =
      R"({"model":"gpt-4o","messages":[{"role":"system","content":"SECRET SYSTEM"},{"role":"user","content":[{"type":"text","text":"SECRET USER"}]}],)"
      R"("logprobs":true,"top_logprobs":5,"max_tokens":100,"temperature":0.2,"logit_bias":{"1734":-100},"reasoning_effort":"high"})";
  const auto line = make_traffic_record(ex, body, false);
  CHECK(line.find("SECRET") == std::string::npos);
  const auto rec = boost::json::parse(line).as_object();
  CHECK(rec.at("key").as_string() == "fp:0123456789abcdef");
  CHECK(rec.at("ts").as_double() == 1732264800.5);
  const auto& req = rec.at("request").as_object();
  CHECK(req.at("model").as_string() == "gpt-4o");
  CHECK(req.at("top_logprobs").as_int64() == 5);
  CHECK(req.at("logprobs").as_bool());
  CHECK(req.at("max_tokens").as_int64() == 100);
  CHECK(req.at("logit_bias").at("1734").as_int64() == -100);
  CHECK(req.at("reasoning_effort").as_string() == "high");
  const auto& messages = req.at("messages").as_array();
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].at("role").as_string() == "system");
  CHECK(messages[0].at("content").as_string() == "<redacted:13 chars>");
  CHECK(messages[1].at("content").as_array()[0].at("type").as_string() == "text");
  CHECK(rec.at("response").at("completion_tokens").as_int64() == 20);
  // Numbers as a person writes them: the timestamp in fixed point, no exponent anywhere.
  CHECK(line.find(R"("ts":1732264800.5,)") != std::string::npos);
  CHECK_FALSE(dg::test::has_exponent_number(line));
  CHECK(dg::test::has_exponent_number(R"({"ts":1.7322648005E9})"));  // what boost::json::serialize wrote
  CHECK_FALSE(dg::test::has_exponent_number(R"({"key":"fp:1e51e5","n":true})"));

  CHECK(make_traffic_record(ex, body, true).find("SECRET USER") != std::string::npos);
  const auto not_json = boost::json::parse(make_traffic_record(ex, "plain text", false)).as_object();
  CHECK(not_json.at("request").as_object().empty());
}

TEST_CASE("redaction is by allow-list: no text of any field reaches the capture", "[unit][capture]") {
  // Every field here carries text the client wrote; each used to reach the
  // redacted capture (a deny-list of prompt fields missed them).
  const std::string body = R"({
    "model": "gpt-4o",
    "messages": [
      {"role": "user", "name": "S1-name", "content": {"type": "text", "text": "S2-object-content"}},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "S3-fn", "arguments": "{\"q\": \"S4-arguments\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "S5-tool-output"},
      {"role": "S6-invented-role", "content": "x"}
    ],
    "input": [{"type": "function_call_output", "call_id": "c", "output": "S7-fco-output"},
              {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "S8-input"}]}],
    "prediction": {"type": "content", "content": "S9-prediction"},
    "suffix": "S10-suffix",
    "tools": [{"type": "function", "function": {"name": "S11-tool", "description": "S12-description",
               "parameters": {"type": "object", "properties": {"S13-property": {"type": "string", "description": "S14"}}}}}],
    "user": "S15-user",
    "metadata": {"S16-meta-key": "S17-meta-value"},
    "stop": ["S18-stop", "S19-stop"],
    "system": [{"type": "text", "text": "S20-system"}],
    "S21-unknown-field": "S22-unknown-value",
    "tool_choice": {"type": "function", "function": {"name": "S23-choice"}},
    "response_format": {"type": "json_schema", "json_schema": {"name": "S24-schema", "schema": {"description": "S25 text"}}},
    "model_extra": "S26 long text with spaces",
    "anthropic": [{"type": "tool_use", "id": "tu", "name": "S27-tool-use", "input": {"S28-arg": "S29-value", "n": 3}}]
  })";
  const auto line = make_traffic_record(exchange(), body, false);
  for (int i = 1; i <= 29; ++i) {
    const std::string marker = "S" + std::to_string(i) + (i == 14 || i == 25 ? "" : "-");
    INFO(marker);
    CHECK(line.find(marker) == std::string::npos);
  }
  const auto req = boost::json::parse(line).at("request").as_object();
  CHECK(req.at("model").as_string() == "gpt-4o");
  CHECK(req.at("messages").as_array().size() == 4);
  CHECK(req.at("messages").as_array()[2].at("role").as_string() == "tool");
  CHECK(req.at("input").as_array()[0].at("type").as_string() == "function_call_output");
  CHECK(req.at("response_format").at("type").as_string() == "json_schema");
  // Numbers inside content stay (indices, counts): they are not prose.
  CHECK(line.find("\"n\":3") == std::string::npos);  // its key is client-chosen, so renamed
  CHECK(line.find(":3") != std::string::npos);
}

TEST_CASE("capture reads a body at any nesting depth and number magnitude", "[unit][capture]") {
  std::string deep = "1";
  for (int i = 0; i < 40; ++i) deep = "[" + deep + "]";
  const std::string body = R"({"model":"m","max_tokens":7,"pad":1e9999999999,"deep":)" + deep + "}";
  boost::json::parse_options deeper;
  deeper.max_depth = 64;
  const auto line = make_traffic_record(exchange(), body, false);
  const auto req = boost::json::parse(line, {}, deeper).at("request").as_object();
  CHECK(req.at("model").as_string() == "m");
  CHECK(line.find(R"(:"Infinity")") != std::string::npos);  // valid JSON, read back as extraction reads it
  CHECK(req.at("max_tokens").as_int64() == 7);
}
