#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "gateway/http/usage_scanner.hpp"

using dg::gateway::UsageScanner;

namespace {

/// Feeds `body` in pieces of `size` bytes (the last one shorter).
UsageScanner scan(const std::string& body, UsageScanner::Mode mode, std::size_t size) {
  UsageScanner s(mode);
  for (std::size_t i = 0; i < body.size(); i += size) s.feed(std::string_view(body).substr(i, size));
  s.finish();
  return s;
}

const std::string kOpenAiStream =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello h\xC3\xA9llo\"}}]}\n\n"
    ": a comment\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"}}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":4,\"total_tokens\":16}}\n\n"
    "data: [DONE]\n\n";

const std::string kAnthropicStream =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi there\"}}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

const std::string kResponsesStream =
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"abc\"}\n\n"
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":7,\"output_tokens\":9}}}\n\n";

}  // namespace

TEST_CASE("usage scanner: OpenAI chat stream usage, in fragments of every size", "[unit][usage]") {
  for (std::size_t size = 1; size <= kOpenAiStream.size(); ++size) {
    auto s = scan(kOpenAiStream, UsageScanner::Mode::Sse, size);
    const auto u = s.usage();
    INFO("fragment size " << size);
    REQUIRE(u.prompt_tokens == 12);
    REQUIRE(u.completion_tokens == 4);
    REQUIRE_FALSE(u.estimated);
    REQUIRE(s.text_chars() == 17);  // "Hello héllo" (11 code points) + " world" (6)
  }
}

TEST_CASE("usage scanner: Anthropic message_start / message_delta, in fragments of every size", "[unit][usage]") {
  for (std::size_t size = 1; size <= kAnthropicStream.size(); ++size) {
    const auto u = scan(kAnthropicStream, UsageScanner::Mode::Sse, size).usage();
    INFO("fragment size " << size);
    REQUIRE(u.prompt_tokens == 25);
    REQUIRE(u.completion_tokens == 15);
    REQUIRE_FALSE(u.estimated);
  }
}

TEST_CASE("usage scanner: Responses API response.completed", "[unit][usage]") {
  for (std::size_t size : {1, 2, 3, 7, 64, 4096}) {
    const auto u = scan(kResponsesStream, UsageScanner::Mode::Sse, size).usage();
    CHECK(u.prompt_tokens == 7);
    CHECK(u.completion_tokens == 9);
  }
}

TEST_CASE("usage scanner: estimates completion tokens when none are reported", "[unit][usage]") {
  std::string body;
  for (int i = 0; i < 10; ++i) body += "data: {\"choices\":[{\"delta\":{\"content\":\"abcdefgh\"}}]}\n\n";
  body += "data: [DONE]\n\n";
  for (std::size_t size : {1, 5, 13, 1000}) {
    const auto u = scan(body, UsageScanner::Mode::Sse, size).usage();
    CHECK(u.estimated);
    CHECK(u.completion_tokens == 20);  // 80 characters / 4
    CHECK(u.prompt_tokens == 0);
  }
  // Legacy completions stream the text in choices[].text.
  const auto c = scan("data: {\"choices\":[{\"text\":\"12345678\"}]}\n\n", UsageScanner::Mode::Sse, 3).usage();
  CHECK(c.completion_tokens == 2);
}

TEST_CASE("usage scanner: a final event without a trailing blank line still counts", "[unit][usage]") {
  const auto u = scan("data: {\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5}}", UsageScanner::Mode::Sse, 4).usage();
  CHECK(u.completion_tokens == 5);
}

TEST_CASE("usage scanner: non-streaming JSON bodies, whole or in pieces", "[unit][usage]") {
  const std::string chat = R"({"id":"x","choices":[{"message":{"role":"assistant","content":"hi"}}],"usage":{"prompt_tokens":8,"completion_tokens":2}})";
  for (std::size_t size = 1; size <= chat.size(); size += 3) {
    const auto u = scan(chat, UsageScanner::Mode::Json, size).usage();
    REQUIRE(u.prompt_tokens == 8);
    REQUIRE(u.completion_tokens == 2);
  }
  const std::string anthropic = R"({"content":[{"type":"text","text":"12345678"}],"usage":{"input_tokens":4,"output_tokens":6}})";
  CHECK(scan(anthropic, UsageScanner::Mode::Json, 10).usage().completion_tokens == 6);
  const std::string no_usage = R"({"choices":[{"message":{"content":"1234567890123456"}}]})";
  const auto est = scan(no_usage, UsageScanner::Mode::Json, 5).usage();
  CHECK(est.estimated);
  CHECK(est.completion_tokens == 4);
}

TEST_CASE("usage scanner: a JSON body beyond the copy cap is not parsed", "[unit][usage]") {
  UsageScanner s(UsageScanner::Mode::Json, 16);
  s.feed(R"({"usage":{"prompt_tokens":8,"completion_tokens":2}})");
  s.finish();
  CHECK(s.usage().estimated);
  CHECK(UsageScanner::mode_for("text/event-stream; charset=utf-8") == UsageScanner::Mode::Sse);
  CHECK(UsageScanner::mode_for("application/json") == UsageScanner::Mode::Json);
  CHECK(UsageScanner::mode_for("text/html") == UsageScanner::Mode::Other);
}

TEST_CASE("usage scanner: the budget cuts just after the event that reaches it", "[unit][usage][budget]") {
  std::string event = "data: {\"choices\":[{\"delta\":{\"content\":\"" + std::string(40, 'x') + "\"}}]}\n\n";  // 10 tokens
  std::string body;
  for (int i = 0; i < 6; ++i) body += event;
  for (std::size_t size : {std::size_t{1}, std::size_t{7}, event.size(), body.size()}) {
    UsageScanner s(UsageScanner::Mode::Sse);
    std::size_t forwarded = 0;
    for (std::size_t i = 0; i < body.size() && !s.budget_reached(); i += size) forwarded += s.feed(std::string_view(body).substr(i, size), 25);
    INFO("fragment size " << size);
    CHECK(s.budget_reached());
    CHECK(forwarded == 3 * event.size());  // 30 >= 25 after the third event
  }
}

TEST_CASE("usage scanner: embeddings usage (prompt only) is exact, not estimated", "[unit][usage]") {
  const auto u = scan(R"({"object":"list","data":[],"usage":{"prompt_tokens":5,"total_tokens":5}})", UsageScanner::Mode::Json, 7).usage();
  CHECK(u.prompt_tokens == 5);
  CHECK(u.completion_tokens == 0);
  CHECK_FALSE(u.estimated);
}
