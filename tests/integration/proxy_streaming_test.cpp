// The real ProxyServer on 127.0.0.1:0 in front of the scripted fake upstream:
// forwarding, streaming, identity, hooks, keep-alive, capture, shutdown.
#include <catch2/catch.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "gateway/observability/capture_log.hpp"
#include "gateway/traffic/key_fingerprint.hpp"
#include "gateway/http/proxy_server.hpp"
#include "tests/integration/support/fake_upstream.hpp"
#include "tests/integration/support/recording_hooks.hpp"
#include "tests/integration/support/test_client.hpp"

using namespace dg::test;
using dg::gateway::GateVerdict;
using dg::gateway::ProxyServer;

namespace {
const std::string kChat = R"({"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"Say hello"}],"max_tokens":50})";
const std::string kChatStream = R"({"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Say hello"}]})";

/// Reads raw bytes from `stream` until `needle` appears (or the deadline).
net::awaitable<bool> read_until(beast::tcp_stream& stream, std::string& got, std::string_view needle) {
  char buf[4096];
  while (got.find(needle) == std::string::npos) {
    stream.expires_after(kDeadline);
    auto [ec, n] = co_await stream.async_read_some(net::buffer(buf), kUse);
    got.append(buf, n);
    if (ec) co_return got.find(needle) != std::string::npos;
  }
  co_return true;
}
}  // namespace

TEST_CASE("non-streaming chat is forwarded and its exchange reported", "[integration][proxy]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  REQUIRE(port != 0);

  auto res = request(port, make_request("/v1/chat/completions", kChat));
  REQUIRE(res.status == 200);
  CHECK(res.body.find("Hello world!") != std::string::npos);
  const auto ex = hooks->wait_for(1);
  CHECK(ex.key_fp == dg::gateway::key_fingerprint("sk-test-1"));
  CHECK(ex.path == "/v1/chat/completions");
  CHECK(ex.client_ip == "127.0.0.1");
  CHECK(ex.user_agent == "dg-test/1");
  CHECK(ex.request.model == "gpt-4o");
  CHECK(ex.request.body_is_json);
  CHECK(ex.response.status == 200);
  CHECK(ex.response.prompt_tokens == 11);
  CHECK(ex.response.completion_tokens == 3);
  CHECK_FALSE(ex.response.usage_estimated);
  CHECK(ex.response.latency_ms > 0);
  // The upstream received the client's key (it authenticates) but no hop-by-hop headers.
  CHECK(up.last_request().headers.at("authorization") == "Bearer sk-test-1");
  CHECK(proxy.stats().responses_2xx.load() == 1);
}

TEST_CASE("a client's Accept-Encoding cannot make the upstream compress what the proxy reads", "[integration][proxy][hardening]") {
  // Issue #12.4: forwarded as it was, `Accept-Encoding: gzip` made the
  // upstream gzip the answer and its usage could not be read.
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  auto res = request(port, make_request("/v1/chat/completions", kChat, {{"Accept-Encoding", "gzip, br"}}));
  REQUIRE(res.status == 200);
  CHECK(up.last_request().headers.at("accept-encoding") == "identity");
  CHECK(res.headers.count("content-encoding") == 0);  // the client gets it uncompressed
  CHECK(res.body.find("Hello world!") != std::string::npos);
  const auto ex = hooks->wait_for(1);
  CHECK(ex.response.prompt_tokens == 11);
  CHECK(ex.response.completion_tokens == 3);
  CHECK_FALSE(ex.response.usage_estimated);
  // A route whose answer the proxy does not read keeps the client's preference.
  auto other = request(port, make_request("/echo", "{}", {{"Accept-Encoding", "gzip"}}));
  REQUIRE(other.status == 200);
  CHECK(up.last_request().headers.at("accept-encoding") == "gzip");
}

TEST_CASE("SSE events reach the client as the upstream sends them", "[integration][proxy][stream]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();

  const bool ok = run_async<bool>([&]() -> net::awaitable<bool> {
    auto stream = co_await connect_to(port);
    if (!stream) co_return false;
    auto req = make_request("/v1/chat/completions", kChatStream, {{"x-test-gate", "1"}});
    stream->expires_after(kDeadline);
    auto [wec, wn] = co_await http::async_write(*stream, req, kUse);
    if (wec) co_return false;
    std::string got;
    // The first event arrives while the upstream is held before the second.
    const bool first = co_await read_until(*stream, got, "\"Hello\"");
    CHECK(first);
    CHECK(up.gated_events_sent() == 1);
    CHECK(got.find("text/event-stream") != std::string::npos);
    CHECK(got.find(" world") == std::string::npos);
    up.release_gate();
    const bool rest = co_await read_until(*stream, got, "0\r\n\r\n");
    CHECK(rest);
    CHECK(got.find("[DONE]") != std::string::npos);
    co_return first && rest;
  });
  CHECK(ok);
  const auto ex = hooks->wait_for(1);
  CHECK(ex.request.stream);
  CHECK(ex.response.status == 200);
  CHECK(ex.response.completion_tokens == 3);  // from the final usage chunk
  CHECK_FALSE(ex.response.usage_estimated);
}

TEST_CASE("200 concurrent streaming clients all complete", "[integration][proxy][stream]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  auto cfg = test_proxy_config(up.url());
  cfg.workers = 2;
  ProxyServer proxy(cfg, hooks);
  const auto port = proxy.start();

  constexpr int kClients = 200;
  const int completed = run_async<int>([&]() -> net::awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    int done = 0, finished = 0;
    net::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < kClients; ++i) {
      net::co_spawn(ex, [&, i]() -> net::awaitable<void> {
        auto stream = co_await connect_to(port);
        if (stream) {
          beast::flat_buffer buffer;
          auto res = co_await exchange(*stream, buffer, make_request("/v1/chat/completions", kChatStream, {}, "sk-client-" + std::to_string(i % 20)));
          if (res.status == 200 && res.body.find("[DONE]") != std::string::npos && res.body.find("\"!\"") != std::string::npos) ++done;
        }
        if (++finished == kClients) all_done.cancel();
      }, net::detached);
    }
    net::steady_timer deadline(ex, std::chrono::seconds(60));
    // The handler may run after this frame is gone (aborted): touch nothing then.
    deadline.async_wait([&](boost::system::error_code ec) {
      if (!ec) all_done.cancel();
    });
    co_await all_done.async_wait(kUse);
    deadline.cancel();
    co_return done;
  });
  CHECK(completed == kClients);
  CHECK(hooks->wait_for(kClients).response.status == 200);
}

TEST_CASE("keep-alive: one client connection and one pooled upstream connection serve many requests", "[integration][proxy]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  const int ok = run_async<int>([&]() -> net::awaitable<int> {
    auto stream = co_await connect_to(port);
    if (!stream) co_return 0;
    beast::flat_buffer buffer;
    int n = 0;
    for (int i = 0; i < 5; ++i) {
      auto res = co_await exchange(*stream, buffer, make_request("/v1/chat/completions", i % 2 ? kChatStream : kChat));
      if (res.status == 200 && res.keep_alive) ++n;
    }
    co_return n;
  });
  CHECK(ok == 5);
  CHECK(up.connections() == 1);
  CHECK(up.requests() == 5);
  CHECK(proxy.stats().connections_accepted.load() == 1);
  CHECK(proxy.stats().upstream_reused.load() == 4);
}

TEST_CASE("an upstream that closes after answering is not reused", "[integration][proxy]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  CHECK(request(port, make_request("/close", "{}")).status == 200);
  CHECK(request(port, make_request("/v1/chat/completions", kChat)).status == 200);
  CHECK(up.connections() == 2);
}

TEST_CASE("hop-by-hop headers are dropped and forwarding headers set", "[integration][proxy][headers]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  auto res = request(port, make_request("/echo?x=1", "{}",
                                        {{"Connection", "keep-alive, X-Secret-Hop"},
                                         {"X-Secret-Hop", "1"},
                                         {"Keep-Alive", "timeout=5"},
                                         {"Proxy-Authorization", "Basic abc"},
                                         {"TE", "trailers"},
                                         {"X-Forwarded-For", "6.6.6.6"},
                                         {"X-Custom", "kept"}}));
  REQUIRE(res.status == 200);
  const auto echo = boost::json::parse(res.body).as_object();
  const auto& h = echo.at("headers").as_object();
  CHECK(echo.at("target").as_string() == "/echo?x=1");
  CHECK_FALSE(h.contains("x-secret-hop"));
  CHECK_FALSE(h.contains("keep-alive"));
  CHECK_FALSE(h.contains("proxy-authorization"));
  CHECK_FALSE(h.contains("te"));
  CHECK(h.at("x-custom").as_string() == "kept");
  // An untrusted peer's X-Forwarded-For is replaced, not believed.
  CHECK(h.at("x-forwarded-for").as_string() == "127.0.0.1");
  CHECK(h.at("x-forwarded-proto").as_string() == "http");
  CHECK(h.at("host").as_string() == "127.0.0.1:" + std::to_string(up.port()));
}

TEST_CASE("forwarding headers from a trusted proxy are believed", "[integration][proxy][headers]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  auto cfg = test_proxy_config(up.url());
  dg::config::Cidr loopback;
  REQUIRE(dg::config::parse_cidr("127.0.0.0/8", loopback));
  cfg.trusted_proxies.push_back(loopback);
  ProxyServer proxy(cfg, hooks);
  const auto port = proxy.start();
  auto res = request(port, make_request("/echo", "{}", {{"X-Forwarded-For", "198.51.100.7"}, {"X-Forwarded-Proto", "https"}}));
  REQUIRE(res.status == 200);
  const auto h = boost::json::parse(res.body).at("headers").as_object();
  CHECK(h.at("x-forwarded-for").as_string() == "198.51.100.7, 127.0.0.1");
  CHECK(h.at("x-forwarded-proto").as_string() == "https");
  CHECK(hooks->wait_for(1).client_ip == "198.51.100.7");
}

TEST_CASE("identity: a request without a key gets 401 unless anonymous traffic is allowed", "[integration][proxy][identity]") {
  FakeUpstream up;
  auto cfg = test_proxy_config(up.url());
  {
    ProxyServer proxy(cfg);
    const auto port = proxy.start();
    auto res = request(port, make_request("/v1/chat/completions", kChat, {}, ""));
    CHECK(res.status == 401);
    const auto err = boost::json::parse(res.body).at("error").as_object();
    CHECK(err.at("type").as_string() == "invalid_request_error");
    CHECK(err.at("code").as_string() == "missing_api_key");
    CHECK(up.requests() == 0);
    auto with_x = request(port, make_request("/v1/chat/completions", kChat, {{"x-api-key", "sk-ant-1"}}, ""));
    CHECK(with_x.status == 200);
    auto with_api = request(port, make_request("/v1/chat/completions", kChat, {{"api-key", "azure-1"}}, ""));
    CHECK(with_api.status == 200);
  }
  cfg.identity.allow_anonymous = true;
  ProxyServer proxy(cfg);
  const auto port = proxy.start();
  CHECK(request(port, make_request("/v1/chat/completions", kChat, {}, "")).status == 200);
}

TEST_CASE("hooks: a rejection is answered by the proxy in the OpenAI shape", "[integration][proxy][hooks]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  hooks->verdict = [](const dg::gateway::RequestInfo&) {
    GateVerdict v;
    v.kind = GateVerdict::Kind::Reject;
    v.action = dg::gateway::GateAction::Throttle;
    v.status = 429;
    v.error_type = "rate_limit_exceeded";
    v.error_code = "key_throttled";
    v.message = "slow down";
    v.headers = {{"Retry-After", "30"}};
    return v;
  };
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  auto res = request(port, make_request("/v1/chat/completions", kChat));
  CHECK(res.status == 429);
  CHECK(res.headers["retry-after"] == "30");
  const auto err = boost::json::parse(res.body).at("error").as_object();
  CHECK(err.at("type").as_string() == "rate_limit_exceeded");
  CHECK(err.at("code").as_string() == "key_throttled");
  CHECK(err.at("message").as_string() == "slow down");
  CHECK(up.requests() == 0);
  CHECK(hooks->wait_for(1).response.status == 429);
}

TEST_CASE("hooks: a rewritten body is what the upstream receives", "[integration][proxy][hooks]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  hooks->verdict = [](const dg::gateway::RequestInfo&) {
    GateVerdict v;
    v.action = dg::gateway::GateAction::Degrade;
    v.rewritten_body = R"({"model":"gpt-4o","n":1})";
    return v;
  };
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  auto res = request(port, make_request("/echo", R"({"model":"gpt-4o","n":8,"logprobs":true})"));
  REQUIRE(res.status == 200);
  CHECK(boost::json::parse(res.body).at("body").as_string() == R"({"model":"gpt-4o","n":1})");
}

TEST_CASE("hooks: an output-token budget ends the stream with an SSE error and drops the upstream connection", "[integration][proxy][hooks][stream]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  hooks->verdict = [](const dg::gateway::RequestInfo&) {
    GateVerdict v;
    v.action = dg::gateway::GateAction::Degrade;
    v.output_token_budget = 30;  // each event is 10 tokens
    return v;
  };
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  auto res = request(port, make_request("/sse-long?n=200", kChatStream));
  REQUIRE(res.status == 200);
  // Exactly three whole events, then the error event and [DONE].
  const std::string delta = "\"content\":\"" + std::string(40, 'x') + "\"";
  std::size_t events = 0;
  for (auto pos = res.body.find(delta); pos != std::string::npos; pos = res.body.find(delta, pos + 1)) ++events;
  CHECK(events == 3);
  CHECK(res.body.find(R"("code":"output_token_budget")") != std::string::npos);
  CHECK(res.body.size() > 10);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  CHECK(proxy.stats().budget_cutoffs.load() == 1);
  CHECK(wait_until([&] { return up.open_connections() == 0; }));  // closed, not pooled
}

TEST_CASE("usage is estimated from streamed text when the upstream reports none", "[integration][proxy][stream]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  REQUIRE(request(port, make_request("/sse-no-usage", kChatStream)).status == 200);
  const auto ex = hooks->wait_for(1);
  CHECK(ex.response.usage_estimated);
  CHECK(ex.response.completion_tokens == 10);  // 40 characters / 4
}

TEST_CASE("a body that is not JSON is forwarded untouched and counted", "[integration][proxy]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  const std::string body = "not json at all \x01\x02 {";
  auto req = make_request("/echo", body);
  req.set(http::field::content_type, "text/plain");
  auto res = request(port, std::move(req));
  REQUIRE(res.status == 200);
  CHECK(boost::json::parse(res.body).at("body").as_string() == body);
  CHECK(proxy.stats().non_json_bodies.load() == 1);
  CHECK_FALSE(hooks->wait_for(1).request.body_is_json);
}

TEST_CASE("every path is forwarded, unknown ones included", "[integration][proxy]") {
  FakeUpstream up;
  ProxyServer proxy(test_proxy_config(up.url()));
  const auto port = proxy.start();
  auto req = make_request("/v1/some/new/endpoint?q=1", "");
  req.method(http::verb::get);
  auto res = request(port, std::move(req));
  CHECK(res.status == 404);  // the upstream's answer, relayed
  CHECK(up.last_request().target == "/v1/some/new/endpoint?q=1");
  CHECK(up.last_request().method == "GET");
}

TEST_CASE("capture log writes one traffic record per exchange, redacted by default", "[integration][proxy][capture]") {
  FakeUpstream up;
  const auto path = std::filesystem::temp_directory_path() / ("dg_capture_" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  auto cfg = test_proxy_config(up.url());
  cfg.capture.enabled = true;
  cfg.capture.path = path.string();
  {
    ProxyServer proxy(cfg);
    const auto port = proxy.start();
    REQUIRE(request(port, make_request("/v1/chat/completions", kChat)).status == 200);
    REQUIRE(request(port, make_request("/v1/chat/completions", kChatStream)).status == 200);
    proxy.stop();
  }
  std::ifstream in(path);
  std::string line;
  std::vector<boost::json::object> records;
  while (std::getline(in, line)) records.push_back(boost::json::parse(line).as_object());
  REQUIRE(records.size() == 2);
  const auto& r = records[0];
  CHECK(r.at("key").as_string() == dg::gateway::key_fingerprint("sk-test-1"));
  CHECK(r.at("path").as_string() == "/v1/chat/completions");
  const auto& req = r.at("request").as_object();
  CHECK(req.at("model").as_string() == "gpt-4o");
  CHECK(req.at("max_tokens").as_int64() == 50);
  const auto text = boost::json::serialize(r);
  CHECK(text.find("Say hello") == std::string::npos);
  CHECK(text.find("be brief") == std::string::npos);
  CHECK(text.find("sk-test-1") == std::string::npos);
  CHECK(r.at("response").at("status").as_int64() == 200);
  CHECK(r.at("response").at("completion_tokens").as_int64() == 3);
  std::filesystem::remove(path);
}

TEST_CASE("graceful stop lets an in-flight stream finish and refuses new connections", "[integration][proxy][shutdown]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  std::string got;
  std::thread client([&] {
    got = run_async<std::string>([&]() -> net::awaitable<std::string> {
      auto stream = co_await connect_to(port);
      if (!stream) co_return std::string();
      auto req = make_request("/v1/chat/completions", kChatStream, {{"x-test-gate", "1"}});
      stream->expires_after(kDeadline);
      co_await http::async_write(*stream, req, kUse);
      std::string data;
      co_await read_until(*stream, data, "0\r\n\r\n");
      co_return data;
    });
  });
  REQUIRE(wait_until([&] { return up.gated_events_sent() == 1; }));
  std::thread stopper([&] { proxy.stop(std::chrono::milliseconds(10000)); });
  // New connections are refused once the listener is closed...
  CHECK(wait_until([&] { return request(port, make_request("/v1/chat/completions", kChat)).status == 0; }));
  // ...while the stream in flight still completes.
  up.release_gate();
  stopper.join();
  client.join();
  CHECK(got.find("[DONE]") != std::string::npos);
  CHECK(hooks->wait_for(1).response.status == 200);
}

TEST_CASE("a non-streaming body is relayed as it arrives, not buffered", "[integration][proxy][stream]") {
  FakeUpstream up;
  auto hooks = std::make_shared<RecordingHooks>();
  ProxyServer proxy(test_proxy_config(up.url()), hooks);
  const auto port = proxy.start();
  const bool ok = run_async<bool>([&]() -> net::awaitable<bool> {
    auto stream = co_await connect_to(port);
    if (!stream) co_return false;
    auto req = make_request("/slow-json", kChat);
    stream->expires_after(kDeadline);
    co_await http::async_write(*stream, req, kUse);
    std::string got;
    const bool first = co_await read_until(*stream, got, "first half, zzz");
    CHECK(first);
    CHECK(up.gated_events_sent() == 1);  // the second half has not been sent yet
    up.release_gate();
    const bool rest = co_await read_until(*stream, got, "\"completion_tokens\":2}}");
    co_return first && rest;
  });
  CHECK(ok);
  const auto ex = hooks->wait_for(1);
  CHECK(ex.response.completion_tokens == 2);  // usage parsed from the relayed copy
}
