// The demo upstream over real loopback HTTP: every endpoint, streamed and
// not, in each API's wire format; pacing visible in arrival times; the
// per-request overrides; and the record of what it received.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "demo/demo_upstream.hpp"

// GCC 12 at -O2 reports a false -Wmismatched-new-delete on Asio's coroutine
// frame allocator (GCC bug 109224) once a coroutine is inlined into a test.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kToken = net::as_tuple(net::use_awaitable);

/// What a request got back, with the arrival time of each body piece.
struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<double> piece_ms;  ///< arrival of each non-empty body read, ms after the request was sent
  double header_ms = -1;
  std::string error;
};

net::awaitable<void> fetch(std::uint16_t port, http::request<http::string_body> req, Reply& out) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  stream.expires_after(std::chrono::seconds(20));
  if (auto [ec] = co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), kToken); ec) {
    out.error = "connect: " + ec.message();
    co_return;
  }
  req.set(http::field::host, "127.0.0.1");
  req.prepare_payload();
  const auto start = Clock::now();
  auto ms = [&] { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); };
  if (auto [ec, n] = co_await http::async_write(stream, req, kToken); ec) {
    out.error = "write: " + ec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  // Trap 1: read the header, then the body piece by piece, to see pacing.
  if (auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, kToken); ec) {
    out.error = "read header: " + ec.message();
    co_return;
  }
  out.header_ms = ms();
  out.status = parser.get().result_int();
  for (const auto& f : parser.get()) out.headers[std::string(f.name_string())] = std::string(f.value());
  char piece[16 * 1024];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof piece;
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, kToken);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      out.error = "read body: " + ec.message();
      co_return;
    }
    const std::size_t got = sizeof piece - parser.get().body().size;
    if (got > 0) {
      out.body.append(piece, got);
      out.piece_ms.push_back(ms());
    }
  }
}

/// Runs requests concurrently on one thread; every run has a deadline.
std::vector<Reply> fetch_all(std::uint16_t port, const std::vector<http::request<http::string_body>>& reqs) {
  net::io_context ioc;
  std::vector<Reply> replies(reqs.size());
  for (std::size_t i = 0; i < reqs.size(); ++i)
    net::co_spawn(ioc, fetch(port, reqs[i], replies[i]), [](std::exception_ptr) {});
  ioc.run_for(std::chrono::seconds(30));
  return replies;
}

http::request<http::string_body> post(std::string target, const json::value& body,
                                      std::map<std::string, std::string> headers = {}) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = json::serialize(body);
  return req;
}

Reply fetch_one(std::uint16_t port, http::request<http::string_body> req) {
  auto r = fetch_all(port, {std::move(req)});
  REQUIRE(r[0].error.empty());
  return r[0];
}

struct SseEvent {
  std::string event;
  std::string data;
};

std::vector<SseEvent> parse_sse(const std::string& body) {
  std::vector<SseEvent> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto end = body.find("\n\n", pos);
    const std::string block = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? body.size() : end + 2;
    SseEvent e;
    std::size_t lp = 0;
    while (lp < block.size()) {
      auto le = block.find('\n', lp);
      if (le == std::string::npos) le = block.size();
      const std::string line = block.substr(lp, le - lp);
      if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
      if (line.rfind("data: ", 0) == 0) e.data += line.substr(6);
      lp = le + 1;
    }
    if (!e.data.empty() || !e.event.empty()) out.push_back(std::move(e));
  }
  return out;
}

json::object chat_body(std::string prompt, bool stream) {
  json::object b{{"model", "gpt-4o-mini"},
                 {"messages", json::array{json::object{{"role", "user"}, {"content", prompt}}}},
                 {"stream", stream}};
  return b;
}

std::int64_t as_int(const json::value& v) { return v.to_number<std::int64_t>(); }

}  // namespace

TEST_CASE("demo upstream: chat completions, plain and streamed, agree", "[demo]") {
  dg::demo::DemoUpstream up;
  const std::string prompt(400, 'x');  // 400 chars -> 100 prompt tokens
  auto plain = fetch_one(up.port(), post("/v1/chat/completions", chat_body(prompt, false)));
  REQUIRE(plain.status == 200);
  auto v = json::parse(plain.body).as_object();
  CHECK(v.at("object") == "chat.completion");
  const std::string text(v.at("choices").at(0).at("message").at("content").as_string());
  CHECK(!text.empty());
  CHECK(as_int(v.at("usage").at("prompt_tokens")) == 100);
  const auto completion = as_int(v.at("usage").at("completion_tokens"));
  CHECK(completion >= 20);
  CHECK(completion < 80);
  CHECK(v.at("choices").at(0).at("finish_reason") == "stop");

  // Deterministic: the same request gives the same answer.
  auto again = fetch_one(up.port(), post("/v1/chat/completions", chat_body(prompt, false)));
  CHECK(json::parse(again.body).at("choices").at(0).at("message").at("content").as_string() == text);
  auto other = fetch_one(up.port(), post("/v1/chat/completions", chat_body(prompt + "y", false)));
  CHECK(json::parse(other.body).at("choices").at(0).at("message").at("content").as_string() != text);

  auto body = chat_body(prompt, true);
  body["stream_options"] = json::object{{"include_usage", true}};
  auto streamed = fetch_one(up.port(), post("/v1/chat/completions", body));
  REQUIRE(streamed.status == 200);
  CHECK(streamed.headers["Content-Type"].starts_with("text/event-stream"));
  const auto events = parse_sse(streamed.body);
  REQUIRE(events.size() >= 4);
  CHECK(events.back().data == "[DONE]");
  std::string joined;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto chunk = json::parse(events[i].data).as_object();
    CHECK(chunk.at("object") == "chat.completion.chunk");
    for (const auto& c : chunk.at("choices").as_array())
      if (const auto* content = c.at("delta").as_object().if_contains("content"))
        joined += std::string(content->as_string());
  }
  CHECK(joined == text);
  const auto usage_chunk = json::parse(events[events.size() - 2].data).as_object();
  CHECK(usage_chunk.at("choices").as_array().empty());
  CHECK(as_int(usage_chunk.at("usage").at("completion_tokens")) == completion);
  CHECK(as_int(usage_chunk.at("usage").at("prompt_tokens")) == 100);

  // Without include_usage there is no usage chunk.
  auto no_usage = fetch_one(up.port(), post("/v1/chat/completions", chat_body(prompt, true)));
  CHECK(no_usage.body.find("\"usage\"") == std::string::npos);
}

TEST_CASE("demo upstream: max_tokens, n and logprobs are honoured", "[demo]") {
  dg::demo::DemoUpstream up;
  auto body = chat_body("Explain step by step", false);
  body["max_tokens"] = 5;
  body["n"] = 3;
  body["logprobs"] = true;
  body["top_logprobs"] = 4;
  auto r = fetch_one(up.port(), post("/v1/chat/completions", body, {{"x-demo-completion-tokens", "40"}}));
  REQUIRE(r.status == 200);
  auto v = json::parse(r.body).as_object();
  const auto& choices = v.at("choices").as_array();
  REQUIRE(choices.size() == 3);
  for (const auto& c : choices) {
    CHECK(c.at("finish_reason") == "length");
    const auto& content = c.at("logprobs").at("content").as_array();
    REQUIRE(content.size() == 5);
    for (const auto& e : content) {
      CHECK(e.at("top_logprobs").as_array().size() == 4);
      CHECK(e.at("logprob").as_double() <= 0.0);
    }
  }
  CHECK(as_int(v.at("usage").at("completion_tokens")) == 15);
  CHECK(choices[0].at("message").at("content") != choices[1].at("message").at("content"));

  // Legacy completions: logprobs is the number of alternatives.
  json::object legacy{{"model", "demo-model"}, {"prompt", "Once upon"}, {"max_tokens", 7}, {"logprobs", 2}};
  auto lr = fetch_one(up.port(), post("/v1/completions", legacy));
  REQUIRE(lr.status == 200);
  auto lv = json::parse(lr.body).as_object();
  CHECK(lv.at("object") == "text_completion");
  const auto& lp = lv.at("choices").at(0).at("logprobs").as_object();
  CHECK(lp.at("tokens").as_array().size() <= 7);
  CHECK(lp.at("top_logprobs").at(0).as_object().size() == 2);
  CHECK(as_int(lv.at("usage").at("completion_tokens")) == static_cast<std::int64_t>(lp.at("tokens").as_array().size()));
}

TEST_CASE("demo upstream: completions stream with usage and [DONE]", "[demo]") {
  dg::demo::DemoUpstream up;
  json::object body{{"model", "demo-model"}, {"prompt", "Tell me"}, {"stream", true},
                    {"stream_options", json::object{{"include_usage", true}}}};
  auto r = fetch_one(up.port(), post("/v1/completions", body, {{"x-demo-completion-tokens", "6"}}));
  REQUIRE(r.status == 200);
  auto events = parse_sse(r.body);
  REQUIRE(events.size() == 6 + 1 + 1 + 1);  // tokens, finish, usage, [DONE]
  CHECK(events.back().data == "[DONE]");
  CHECK(json::parse(events[0].data).at("object") == "text_completion");
  CHECK(as_int(json::parse(events[7].data).at("usage").at("completion_tokens")) == 6);
}

TEST_CASE("demo upstream: Responses API, plain and streamed", "[demo]") {
  dg::demo::DemoUpstream up;
  json::object body{{"model", "gpt-4o"}, {"input", "Summarise the plot"}, {"instructions", "Be brief"}};
  auto plain = fetch_one(up.port(), post("/v1/responses", body, {{"x-demo-completion-tokens", "12"}}));
  REQUIRE(plain.status == 200);
  auto v = json::parse(plain.body).as_object();
  CHECK(v.at("object") == "response");
  CHECK(v.at("status") == "completed");
  const std::string text(v.at("output").at(0).at("content").at(0).at("text").as_string());
  CHECK(as_int(v.at("usage").at("output_tokens")) == 12);

  body["stream"] = true;
  auto s = fetch_one(up.port(), post("/v1/responses", body, {{"x-demo-completion-tokens", "12"}}));
  REQUIRE(s.status == 200);
  auto events = parse_sse(s.body);
  REQUIRE(!events.empty());
  CHECK(events.front().event == "response.created");
  CHECK(events.back().event == "response.completed");
  std::string joined;
  int deltas = 0;
  for (const auto& e : events) {
    CHECK(json::parse(e.data).at("type").as_string() == e.event);
    if (e.event == "response.output_text.delta") {
      joined += std::string(json::parse(e.data).at("delta").as_string());
      ++deltas;
    }
  }
  CHECK(deltas == 12);
  CHECK(joined == text);
  const auto done = json::parse(events.back().data);
  CHECK(as_int(done.at("response").at("usage").at("output_tokens")) == 12);
  CHECK(as_int(done.at("response").at("usage").at("input_tokens")) > 0);
}

TEST_CASE("demo upstream: Anthropic messages, plain and streamed", "[demo]") {
  dg::demo::DemoUpstream up;
  json::object body{{"model", "claude-3-5-sonnet-latest"},
                    {"max_tokens", 8},
                    {"system", "You are terse."},
                    {"messages", json::array{json::object{{"role", "user"}, {"content", "Why is the sky blue?"}}}}};
  auto plain = fetch_one(up.port(), post("/v1/messages", body, {{"x-demo-completion-tokens", "30"}}));
  REQUIRE(plain.status == 200);
  auto v = json::parse(plain.body).as_object();
  CHECK(v.at("type") == "message");
  CHECK(v.at("stop_reason") == "max_tokens");
  CHECK(as_int(v.at("usage").at("output_tokens")) == 8);

  body["stream"] = true;
  auto s = fetch_one(up.port(), post("/v1/messages", body, {{"x-demo-completion-tokens", "30"}}));
  auto events = parse_sse(s.body);
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e.event);
  REQUIRE(kinds.size() == 3 + 8 + 3);
  CHECK(kinds.front() == "message_start");
  CHECK(kinds[3] == "content_block_delta");
  CHECK(kinds[kinds.size() - 2] == "message_delta");
  CHECK(kinds.back() == "message_stop");
  const auto delta = json::parse(events[events.size() - 2].data);
  CHECK(as_int(delta.at("usage").at("output_tokens")) == 8);
  CHECK(delta.at("delta").at("stop_reason") == "max_tokens");
}

TEST_CASE("demo upstream: embeddings as floats and as base64, and the model list", "[demo]") {
  dg::demo::DemoUpstream up;
  json::object body{{"model", "text-embedding-3-small"}, {"input", json::array{"alpha", "beta gamma"}}, {"dimensions", 8}};
  auto r = fetch_one(up.port(), post("/v1/embeddings", body));
  REQUIRE(r.status == 200);
  auto v = json::parse(r.body).as_object();
  REQUIRE(v.at("data").as_array().size() == 2);
  double norm = 0;
  for (const auto& x : v.at("data").at(0).at("embedding").as_array()) norm += x.to_number<double>() * x.to_number<double>();
  CHECK(norm == Approx(1.0).epsilon(1e-3));
  CHECK(as_int(v.at("usage").at("prompt_tokens")) > 0);

  body["encoding_format"] = "base64";
  auto b = fetch_one(up.port(), post("/v1/embeddings", body));
  const std::string b64(json::parse(b.body).at("data").at(1).at("embedding").as_string());
  CHECK(b64.size() == (8 * 4 + 2) / 3 * 4);  // 8 float32 values

  http::request<http::string_body> models{http::verb::get, "/v1/models", 11};
  auto m = fetch_one(up.port(), models);
  REQUIRE(m.status == 200);
  CHECK(json::parse(m.body).at("data").as_array().size() >= 1);
}

TEST_CASE("demo upstream: latency and token pace are visible in arrival times", "[demo]") {
  dg::demo::DemoUpstream up;
  // 10 tokens 60 ms apart after 150 ms: the first token cannot come before
  // ~210 ms, the last not before ~750 ms; generous upper bounds for a loaded box.
  auto r = fetch_one(up.port(), post("/v1/chat/completions", chat_body("pace me", true),
                                     {{"x-demo-latency-ms", "150"},
                                      {"x-demo-token-interval-ms", "60"},
                                      {"x-demo-completion-tokens", "10"}}));
  REQUIRE(r.status == 200);
  CHECK(r.header_ms >= 140);
  REQUIRE(r.piece_ms.size() >= 5);  // events arrive separately, not in one buffer
  CHECK(r.piece_ms.back() >= 140 + 9 * 60);
  CHECK(r.piece_ms.back() - r.piece_ms.front() >= 8 * 60);
  CHECK(r.piece_ms.back() < 10000);

  // Server options set the default pace; a non-streamed answer arrives after
  // the whole generation time.
  dg::demo::DemoUpstreamOptions o;
  o.latency = std::chrono::milliseconds(100);
  o.token_interval = std::chrono::milliseconds(20);
  o.completion_tokens = 10;
  dg::demo::DemoUpstream paced(o);
  auto p = fetch_one(paced.port(), post("/v1/chat/completions", chat_body("pace me", false)));
  REQUIRE(p.status == 200);
  CHECK(p.header_ms >= 100 + 10 * 20 - 10);
  CHECK(as_int(json::parse(p.body).at("usage").at("completion_tokens")) == 10);
}

TEST_CASE("demo upstream: injected errors and bad requests use the OpenAI error shape", "[demo]") {
  dg::demo::DemoUpstream up;
  auto e = fetch_one(up.port(), post("/v1/chat/completions", chat_body("x", false), {{"x-demo-status", "500"}}));
  CHECK(e.status == 500);
  CHECK(json::parse(e.body).at("error").at("type") == "server_error");
  auto e429 = fetch_one(up.port(), post("/v1/chat/completions", chat_body("x", false), {{"x-demo-status", "429"}}));
  CHECK(e429.status == 429);

  http::request<http::string_body> bad{http::verb::post, "/v1/chat/completions", 11};
  bad.body() = "{not json";
  auto b = fetch_one(up.port(), bad);
  CHECK(b.status == 400);
  CHECK(json::parse(b.body).at("error").at("type") == "invalid_request_error");

  auto nf = fetch_one(up.port(), post("/v1/nothing", json::object{}));
  CHECK(nf.status == 404);
  CHECK(json::parse(nf.body).at("error").at("code") == "unknown_url");
}

TEST_CASE("demo upstream: records the parameters it received", "[demo]") {
  dg::demo::DemoUpstreamOptions o;
  o.record_capacity = 3;
  dg::demo::DemoUpstream up(o);
  auto body = chat_body("harvest", false);
  body["max_tokens"] = 4096;
  body["n"] = 4;
  body["logprobs"] = true;
  body["top_logprobs"] = 20;
  body["logit_bias"] = json::object{{"1234", -100}, {"5678", 5}};
  fetch_one(up.port(), post("/v1/chat/completions", body,
                            {{"authorization", "Bearer sk-test"}, {"x-forwarded-for", "203.0.113.7"},
                             {"user-agent", "OpenAI/Python 1.54.0"}, {"x-demo-completion-tokens", "1"}}));
  fetch_one(up.port(), post("/v1/chat/completions", chat_body("plain", false), {{"x-demo-completion-tokens", "1"}}));

  const auto got = up.received();
  REQUIRE(got.size() == 2);
  const auto& first = got[0];
  CHECK(first.path == "/v1/chat/completions");
  CHECK(first.model == "gpt-4o-mini");
  CHECK(first.max_tokens == 4096);
  CHECK(first.n == 4);
  CHECK(first.logprobs == 1);
  CHECK(first.top_logprobs == 20);
  CHECK(first.logit_bias_size == 2u);
  CHECK(first.has_authorization);
  CHECK(first.x_forwarded_for == "203.0.113.7");
  CHECK(first.user_agent == "OpenAI/Python 1.54.0");
  const auto& second = got[1];
  CHECK_FALSE(second.max_tokens.has_value());
  CHECK_FALSE(second.n.has_value());
  CHECK_FALSE(second.logprobs.has_value());
  CHECK_FALSE(second.logit_bias_size.has_value());
  CHECK_FALSE(second.has_authorization);

  // The same over HTTP; the ring keeps only the last `record_capacity`.
  for (int i = 0; i < 3; ++i)
    fetch_one(up.port(), post("/v1/embeddings", json::object{{"model", "e"}, {"input", "x"}}));
  http::request<http::string_body> list{http::verb::get, "/demo/received", 11};
  auto r = fetch_one(up.port(), list);
  REQUIRE(r.status == 200);
  auto v = json::parse(r.body).as_object();
  CHECK(as_int(v.at("total")) == 5);
  const auto& reqs = v.at("requests").as_array();
  REQUIRE(reqs.size() == 3);
  for (const auto& q : reqs) CHECK(q.at("path") == "/v1/embeddings");
  CHECK(up.received_total() == 5);
  up.clear_received();
  CHECK(up.received().empty());
}

TEST_CASE("demo upstream: many concurrent streams on several workers, then a clean stop", "[demo]") {
  dg::demo::DemoUpstreamOptions o;
  o.workers = 2;
  o.token_interval = std::chrono::milliseconds(5);
  o.completion_tokens = 10;
  dg::demo::DemoUpstream up(o);
  std::vector<http::request<http::string_body>> reqs;
  for (int i = 0; i < 100; ++i) reqs.push_back(post("/v1/chat/completions", chat_body("c" + std::to_string(i), true)));
  const auto replies = fetch_all(up.port(), reqs);
  int complete = 0;
  for (const auto& r : replies)
    if (r.error.empty() && r.status == 200 && r.body.ends_with("data: [DONE]\n\n")) ++complete;
  CHECK(complete == 100);
  CHECK(up.received_total() == 100);
  up.stop();
  up.stop();  // idempotent
  // A stopped server refuses connections.
  auto after = fetch_all(up.port(), {post("/v1/chat/completions", chat_body("late", false))});
  CHECK_FALSE(after[0].error.empty());
}

TEST_CASE("demo upstream: stop() with answers still pending closes their connections promptly", "[demo]") {
  dg::demo::DemoUpstream up;
  net::io_context ioc;
  std::vector<Reply> replies(3);
  for (auto& r : replies)
    net::co_spawn(ioc,
                  fetch(up.port(), post("/v1/chat/completions", chat_body("slow", true), {{"x-demo-latency-ms", "20000"}}),
                        r),
                  [](std::exception_ptr) {});
  // Let the requests reach the server, which now waits 20 s before answering.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (up.received_total() < 3 && Clock::now() < deadline) ioc.run_for(std::chrono::milliseconds(20));
  REQUIRE(up.received_total() == 3);
  const auto t0 = Clock::now();
  up.stop();
  CHECK(Clock::now() - t0 < std::chrono::seconds(3));
  ioc.run_for(std::chrono::seconds(10));
  for (const auto& r : replies) CHECK_FALSE(r.error.empty());  // closed, not answered
  CHECK(Clock::now() - t0 < std::chrono::seconds(8));
}

TEST_CASE("demo upstream: a stream can be cut on request, and a client leaving is noticed", "[demo]") {
  dg::demo::DemoUpstream up;
  // The upstream drops the connection after 3 of 20 tokens.
  auto cut = fetch_all(up.port(), {post("/v1/chat/completions", chat_body("cut", true),
                                        {{"x-demo-completion-tokens", "20"}, {"x-demo-abort-after-tokens", "3"}})});
  CHECK_FALSE(cut[0].error.empty());
  CHECK(cut[0].status == 200);
  CHECK(parse_sse(cut[0].body).size() >= 3);
  CHECK(cut[0].body.find("[DONE]") == std::string::npos);
  CHECK(up.stats().streams_aborted == 1);

  // The client reads the header and leaves; the upstream's next write fails.
  net::io_context ioc;
  net::co_spawn(
      ioc,
      [&]() -> net::awaitable<void> {
        beast::tcp_stream stream(co_await net::this_coro::executor);
        stream.expires_after(std::chrono::seconds(10));
        co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), up.port()), kToken);
        auto req = post("/v1/chat/completions", chat_body("leave", true),
                        {{"x-demo-completion-tokens", "200"}, {"x-demo-token-interval-ms", "20"}});
        req.set(http::field::host, "127.0.0.1");
        req.prepare_payload();
        co_await http::async_write(stream, req, kToken);
        beast::flat_buffer buffer;
        http::response_parser<http::empty_body> parser;
        co_await http::async_read_header(stream, buffer, parser, kToken);
        stream.socket().close();
      },
      [](std::exception_ptr) {});
  ioc.run_for(std::chrono::seconds(10));
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while ((up.stats().streams_aborted < 2 || up.stats().connections_open > 0) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // poll interval, bounded by the deadline
  const auto st = up.stats();
  CHECK(st.streams_aborted == 2);
  CHECK(st.streams_completed == 0);
  CHECK(st.connections_open == 0);
  CHECK(st.connections_total == 2);
}
