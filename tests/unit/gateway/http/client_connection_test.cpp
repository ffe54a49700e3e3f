#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <boost/beast/_experimental/test/stream.hpp>

#include "gateway/http/client_connection.hpp"
#include "tests/unit/gateway/http/http_test_support.hpp"

using namespace dg::gateway;
using dg::gateway::testing::count_of;
using dg::gateway::testing::responses_in;
using dg::gateway::testing::spawn_into;
using dg::gateway::testing::TestWorker;
namespace test = boost::beast::test;

namespace {

/// Refuses every request with a 429 that names the body it read, so a test
/// sees which request each response answers without any upstream.
class RefusingHooks final : public ProxyHooks {
 public:
  void on_request(const RequestInfo& info, RequestState& state) override {
    ++requests;
    state.verdict.kind = GateVerdict::Kind::Reject;
    state.verdict.action = GateAction::Throttle;
    state.verdict.status = 429;
    state.verdict.error_type = "rate_limit_exceeded";
    state.verdict.headers.emplace_back("x-seen-body", std::string(info.body));
  }
  void on_exchange(const dg::detectors::Exchange&, const RequestState& state) override {
    ++exchanges;
    actions.push_back(state.verdict.action);
  }
  int requests = 0;
  int exchanges = 0;
  std::vector<GateAction> actions;  ///< what each exchange reached the hook with
};

std::string chat(std::string_view body, std::string_view extra_headers = "") {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer sk-test\r\n"
         "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" + std::string(body);
}

/// A session on a test stream: `server` is the proxy's side, `peer` what the
/// client receives.
struct Session {
  RefusingHooks hooks;
  TestWorker w{&hooks};
  test::stream server{w.io};
  test::stream peer{w.io};
  bool finished = false;
  std::exception_ptr error;

  explicit Session(std::uint64_t max_body = 8 * 1024 * 1024) {
    w.cfg.limits.max_body_bytes = max_body;
    server.connect(peer);
  }
  std::string peer_ip = "192.0.2.7";  // outlives the session (it takes a reference)
  void start() { spawn_into(w.io, serve_connection(w.ctx, server, peer_ip), finished, error); }
  bool run_until_finished() {
    const bool done = w.run_until([&] { return finished; });
    if (error) std::rethrow_exception(error);
    return done;
  }
  std::string received() const { return std::string(peer.str()); }
};


}  // namespace

TEST_CASE("client connection: pipelined requests are answered in order on one keep-alive connection",
          "[unit][connection]") {
  Session s;
  s.server.append(chat(R"({"model":"first"})") + chat(R"({"model":"second"})"));
  s.start();
  // Both answered, and the connection stays open for a third.
  REQUIRE(s.w.run_until([&] { return s.hooks.exchanges == 2; }));
  s.w.io.restart();
  s.w.io.poll();  // whatever it would do next without more input (no waiting)
  CHECK(!s.finished);
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].result_int() == 429);
  CHECK(responses[0]["x-seen-body"] == R"({"model":"first"})");
  CHECK(responses[0].keep_alive());
  CHECK(responses[1].result_int() == 429);
  CHECK(responses[1]["x-seen-body"] == R"({"model":"second"})");
  CHECK(responses[1].keep_alive());
  CHECK(responses[0]["x-request-id"] != responses[1]["x-request-id"]);

  // The client leaves between requests: a quiet end, no reply.
  s.server.close_remote();
  REQUIRE(s.run_until_finished());
  CHECK(responses_in(s.w.io, s.received()).size() == 2);
  CHECK(s.hooks.requests == 2);
  CHECK(s.w.stats.requests.load() == 2);
}

TEST_CASE("client connection: Connection: close ends the connection after its response", "[unit][connection]") {
  Session s;
  s.server.append(chat(R"({"model":"first"})", "Connection: close\r\n") + chat(R"({"model":"second"})"));
  s.start();
  REQUIRE(s.run_until_finished());  // without the client closing
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 1);
  CHECK(responses[0]["x-seen-body"] == R"({"model":"first"})");
  CHECK(!responses[0].keep_alive());
  CHECK(s.hooks.requests == 1);  // the pipelined second request is never read
}

TEST_CASE("client connection: an HTTP/1.0 request without keep-alive closes after its response",
          "[unit][connection]") {
  Session s;
  std::string req = chat(R"({"model":"m"})");
  req.replace(req.find("HTTP/1.1"), 8, "HTTP/1.0");
  s.server.append(req);
  s.start();
  REQUIRE(s.run_until_finished());
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].version() == 10);
  CHECK(!responses[0].keep_alive());
}

TEST_CASE("client connection: a Content-Length above the limit gets one 413 and the connection closes",
          "[unit][connection]") {
  Session s(16);
  const std::string body(100, 'x');
  s.server.append(chat(body) + chat(R"({"model":"next"})"));
  s.server.close_remote();  // the client sends nothing more (the lingering close drains the rest)
  s.start();
  REQUIRE(s.run_until_finished());
  const std::string got = s.received();
  CHECK(count_of(got, "HTTP/1.1 413 ") == 1);
  CHECK(count_of(got, "HTTP/1.1 ") == 1);  // one reply, nothing for the request after it
  CHECK(count_of(got, "request_too_large") == 1);
  const auto responses = responses_in(s.w.io, got);
  REQUIRE(responses.size() == 1);
  CHECK(!responses[0].keep_alive());
  CHECK(s.hooks.requests == 0);  // refused before any hook
  CHECK(s.w.stats.responses_4xx.load() == 1);
}

TEST_CASE("client connection: a chunked body that grows past the limit gets one 413", "[unit][connection]") {
  Session s(16);
  s.server.append("POST /v1/chat/completions HTTP/1.1\r\nHost: proxy.test\r\nAuthorization: Bearer sk-test\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"
                  "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
  s.server.close_remote();
  s.start();
  REQUIRE(s.run_until_finished());
  const std::string got = s.received();
  CHECK(count_of(got, "HTTP/1.1 413 ") == 1);
  CHECK(count_of(got, "HTTP/1.1 ") == 1);
  CHECK(s.hooks.requests == 0);
}

TEST_CASE("client connection: a pipelined health probe is answered locally between requests",
          "[unit][connection]") {
  Session s;
  s.server.append(chat(R"({"model":"first"})") + "GET /healthz HTTP/1.1\r\nHost: proxy.test\r\n\r\n" +
                  chat(R"({"model":"third"})", "Connection: close\r\n"));
  s.start();
  REQUIRE(s.run_until_finished());
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 3);
  CHECK(responses[0].result_int() == 429);
  CHECK(responses[1].result_int() == 200);
  CHECK(responses[1].body() == R"({"status":"ok"})");
  CHECK(responses[2]["x-seen-body"] == R"({"model":"third"})");
  CHECK(s.hooks.requests == 2);  // the probe reaches no hook
}

TEST_CASE("client connection: a request without a key is refused on its head and the connection closes",
          "[unit][connection]") {
  Session s;
  std::string req = chat(R"({"model":"m"})");
  req.erase(req.find("Authorization: Bearer sk-test\r\n"), 31);
  s.server.append(req + chat(R"({"model":"next"})"));
  s.server.close_remote();
  s.start();
  REQUIRE(s.run_until_finished());
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].result_int() == 401);
  CHECK(count_of(responses[0].body(), "missing_api_key") == 1);
  CHECK(s.hooks.requests == 0);
  CHECK(s.hooks.exchanges == 1);  // reported, as every answered request is
  CHECK(s.hooks.actions == std::vector<GateAction>{GateAction::Unauthenticated});
}

TEST_CASE("client connection: a Connection header naming the identity header is refused on its head as unauthenticated",
          "[unit][connection]") {
  Session s;
  s.server.append(chat(R"({"model":"m"})", "Connection: authorization\r\n") + chat(R"({"model":"next"})"));
  s.server.close_remote();
  s.start();
  REQUIRE(s.run_until_finished());
  const auto responses = responses_in(s.w.io, s.received());
  REQUIRE(responses.size() == 1);
  CHECK(responses[0].result_int() == 400);
  CHECK(s.hooks.requests == 0);
  CHECK(s.hooks.actions == std::vector<GateAction>{GateAction::Unauthenticated});
}

TEST_CASE("client connection: unreadable requests: which get a reply", "[unit][connection]") {
  using E = boost::system::error_code;
  const auto head = [](E ec, std::size_t n = 0) { return unreadable_request_reply(ec, ReadPhase::Head, n); };
  const auto body = [](E ec) { return unreadable_request_reply(ec, ReadPhase::Body, 0); };
  REQUIRE(head(http::error::body_limit));
  CHECK(head(http::error::body_limit)->status == http::status::payload_too_large);
  REQUIRE(body(http::error::body_limit));
  CHECK(body(http::error::body_limit)->code == head(http::error::body_limit)->code);
  CHECK(head(http::error::header_limit)->status == http::status::request_header_fields_too_large);
  CHECK(!head(http::error::end_of_stream));  // a keep-alive connection ending between requests
  CHECK(!head(beast::error::timeout, 10));
  CHECK(head(http::error::end_of_stream, 10)->status == http::status::bad_request);  // a head cut short
  CHECK(head(http::error::bad_method)->status == http::status::bad_request);
  CHECK(!body(net::error::connection_reset));
  CHECK(body(http::error::bad_chunk)->status == http::status::bad_request);
}
