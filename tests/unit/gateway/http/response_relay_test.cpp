#include <catch2/catch.hpp>

#include <string>

#include <boost/beast/_experimental/test/stream.hpp>

#include "gateway/http/response_relay.hpp"
#include "tests/unit/gateway/http/http_test_support.hpp"

using namespace dg::gateway;
using dg::gateway::testing::count_of;
using dg::gateway::testing::responses_in;
using dg::gateway::testing::spawn_into;
using dg::gateway::testing::TestWorker;
namespace test = boost::beast::test;

namespace {

http::request<http::string_body> chat_request() {
  http::request<http::string_body> req{http::verb::post, "/v1/chat/completions", 11};
  req.set(http::field::host, "upstream.test");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"model":"m","stream":true})";
  req.prepare_payload();
  return req;
}

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

const std::string kEvent1 = "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n\n";
const std::string kEvent2 = "data: {\"choices\":[{\"delta\":{\"content\":\" world\"}}]}\n\n";
const std::string kUsage = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7}}\n\n";
const std::string kDone = "data: [DONE]\n\n";

std::string sse_response() {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
         "x-request-id: req_upstream\r\n\r\n" +
         chunk(kEvent1) + chunk(kEvent2) + chunk(kUsage) + chunk(kDone) + "0\r\n\r\n";
}

/// One relay between test streams: the upstream's bytes are `upstream_bytes`
/// (read `read_size` at a time), the client side is `client`.
struct Relay {
  TestWorker w;
  test::stream upstream{w.io};
  test::stream upstream_peer{w.io};  // what the upstream received
  test::stream client_peer{w.io};    // what the client received
  beast::flat_buffer upstream_buffer;
  http::request<http::string_body> up_req = chat_request();
  std::optional<RelayResult> result;
  std::exception_ptr error;

  explicit Relay(const std::string& upstream_bytes, std::size_t read_size = 1 << 20) {
    upstream.connect(upstream_peer);
    upstream.append(upstream_bytes);
    upstream.read_size(read_size);
  }

  bool run(test::stream& client, unsigned client_version = 11, bool client_keep_alive = true) {
    client.connect(client_peer);
    spawn_into(w.io,
               forward_and_relay(w.ctx, upstream, upstream_buffer, up_req, client, client_version, client_keep_alive,
                                 false, std::nullopt, nullptr, "rid-1"),
               result, error);
    const bool done = w.run_until([&] { return result.has_value() || error; });
    if (error) std::rethrow_exception(error);
    return done;
  }
};


}  // namespace

TEST_CASE("relay: a chunked SSE response after 100 Continue and 103 Early Hints", "[unit][relay]") {
  Relay relay("HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" +
                  sse_response(),
              37);  // partial reads: heads and events split across reads
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client));
  const auto& r = *relay.result;

  // The upstream got the request as given.
  CHECK(relay.upstream_peer.str().starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
  CHECK(relay.upstream_peer.str().ends_with(R"({"model":"m","stream":true})"));

  const std::string got(relay.client_peer.str());
  CHECK(count_of(got, "100 Continue") == 0);  // belongs to this hop
  const auto hints = got.find("HTTP/1.1 103 Early Hints\r\n");
  const auto final_head = got.find("HTTP/1.1 200 OK\r\n");
  REQUIRE(hints != std::string::npos);
  REQUIRE(final_head != std::string::npos);
  CHECK(hints < final_head);

  const auto responses = responses_in(relay.w.io, got);
  REQUIRE(responses.size() == 2);
  CHECK(responses[0].result_int() == 103);
  CHECK(responses[0][http::field::link] == "</style.css>; rel=preload");
  CHECK(responses[1].result_int() == 200);
  CHECK(responses[1].chunked());
  CHECK(responses[1]["x-request-id"] == "rid-1");
  CHECK(responses[1]["x-upstream-request-id"] == "req_upstream");
  CHECK(responses[1].body() == kEvent1 + kEvent2 + kUsage + kDone);

  CHECK(r.status == 200);
  CHECK(!r.error);
  CHECK(r.response_started);
  CHECK(r.client_ok);
  CHECK(!r.client_gone);
  CHECK(r.upstream_reusable);
  CHECK(r.bytes_out == got.size());
  CHECK(r.usage.prompt_tokens == 5);
  CHECK(r.usage.completion_tokens == 7);
  CHECK(r.usage.completion_reported);
}

TEST_CASE("relay: an HTTP/1.0 client gets no interim head and a body ended by the close", "[unit][relay]") {
  Relay relay("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + sse_response());
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client, 10, true));
  const auto& r = *relay.result;
  const std::string got(relay.client_peer.str());
  CHECK(count_of(got, "103") == 0);
  CHECK(got.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(count_of(got, "chunked") == 0);
  CHECK(got.ends_with(kEvent1 + kEvent2 + kUsage + kDone));
  CHECK(r.status == 200);
  CHECK(!r.client_ok);  // the close ends the body
  CHECK(r.upstream_reusable);
}

TEST_CASE("relay: an upstream that closes mid-body cuts the client's response short", "[unit][relay]") {
  Relay relay("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
              "{\"id\":\"partial");
  relay.upstream_peer.close();  // after the bytes above: end of stream
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client));
  const auto& r = *relay.result;
  const std::string got(relay.client_peer.str());
  CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(count_of(got, "Content-Length: 100") == 1);
  CHECK(got.ends_with("\r\n\r\n{\"id\":\"partial"));  // what arrived, and no more
  CHECK(r.status == 502);
  CHECK(!r.error);  // the head was sent: no error reply can follow
  CHECK(r.response_started);
  CHECK(!r.client_ok);  // closing is how the client learns the body is cut
  CHECK(!r.upstream_reusable);
  CHECK(relay.w.stats.upstream_errors.load() == 1);
}

TEST_CASE("relay: an upstream that closes before its head is a 502 to answer", "[unit][relay]") {
  Relay relay("HTTP/1.1 200 OK\r\nContent-Ty");
  relay.upstream_peer.close();
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client));
  const auto& r = *relay.result;
  CHECK(relay.client_peer.str().empty());
  REQUIRE(r.error);
  CHECK(r.error->status == http::status::bad_gateway);
  CHECK(r.error->code == "upstream_bad_response");
  CHECK(!r.response_started);
  CHECK(!r.upstream_reusable);
}

TEST_CASE("relay: a client that leaves mid-stream stops the relay", "[unit][relay]") {
  Relay relay(sse_response(), 16);
  test::fail_count second_write_fails(2);
  test::stream client(relay.w.io, second_write_fails);
  REQUIRE(relay.run(client));
  const auto& r = *relay.result;
  const std::string got(relay.client_peer.str());
  CHECK(got.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(count_of(got, "[DONE]") == 0);  // nothing after the failed write
  CHECK(r.status == 200);
  CHECK(r.response_started);
  CHECK(r.client_gone);
  CHECK(!r.client_ok);
  CHECK(!r.upstream_reusable);  // mid-response: never pooled
  CHECK(r.bytes_out == got.size());
}

TEST_CASE("relay: more interim heads than allowed is a broken upstream", "[unit][relay]") {
  std::string heads;
  for (int i = 0; i <= kMaxInterimHeads; ++i) heads += "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n";
  Relay relay(heads + sse_response());
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client));
  const auto& r = *relay.result;
  REQUIRE(r.error);
  CHECK(r.error->status == http::status::bad_gateway);
  CHECK(count_of(relay.client_peer.str(), "HTTP/1.1 103 Early Hints") == static_cast<std::size_t>(kMaxInterimHeads + 1));
  CHECK(count_of(relay.client_peer.str(), "200 OK") == 0);
}

TEST_CASE("relay: a 103 and a 204 go out without the Content-Length an upstream put on them", "[unit][relay]") {
  // A lenient client would wait for the bytes, or take the next response as them.
  Relay relay("HTTP/1.1 103 Early Hints\r\nContent-Length: 5\r\nLink: </a.css>\r\n\r\n"
              "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\nx-a: 1\r\n\r\n");
  test::stream client(relay.w.io);
  REQUIRE(relay.run(client));
  const std::string got(relay.client_peer.str());
  CHECK(got.starts_with("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\n"));
  CHECK(count_of(got, "x-a: 1") == 1);
  CHECK(count_of(got, "Content-Length") == 0);
  CHECK(got.ends_with("\r\n\r\n"));
  CHECK(relay.result->status == 204);
}
